"""The delay model's prediction endpoint as a Ray Serve application: POST /v1/predict/delay.

    curl -s 127.0.0.1:8000/v1/predict/delay -d '{"records": [{"year": 2013, "month": 1, "day": 1,
      "sched_dep_time": 515, "carrier": "UA", "origin": "EWR", "dest": "IAH", "distance": 1400}]}'

Records are typed and checked by the same code as the ETL (`pipelines.records`), and
featurised by the same feature module; a record that lacks a field or breaks a rule makes
the request a 422 that names the record and the field. Other Ray code calls `predict` through
the application's handle (`serve.get_app_handle("delay")`).
"""

# No `from __future__ import annotations`: FastAPI must see `Request` as a class, not a string.

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve

from pipelines.features import CATEGORICAL
from pipelines.records import FEATURE_INPUTS, records_to_table
from serve.prediction import PredictionError, score_records

http = FastAPI(title="rayline delay model", docs_url=None, redoc_url=None)
MAX_RECORDS = 10_000


# Defined before the deployment: `serve.ingress` captures the routes when the class is created.
def _error(status: int, message: str, param: str | None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                   "code": "invalid_json" if status == 400 else "invalid_value"}},
                        status_code=status)


@serve.deployment(name="DelayModel")
@serve.ingress(http)
class DelayPredictor:
    """One replica holds the registered model and its vocabularies."""

    def __init__(self, model_dir: str):
        from pipelines.model_registry import load_registered_model

        self._model, self._prep = load_registered_model(model_dir)
        self._vocab = {name: tuple(self._prep["vocabulary"][name]) for name in CATEGORICAL}

    @http.post("/delay")
    async def predict_http(self, request: Request):
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError) as e:  # bad JSON or UTF-8, 4,300+ digit ints, deep nesting
            return _error(400, f"the request body is not valid JSON: {str(e)[:200]}", None)
        records = body.get("records") if isinstance(body, dict) else body
        if not isinstance(records, list) or not records:
            return _error(422, "records: send a non-empty list of flight records "
                               "(a JSON list, or an object with a 'records' list)", "records")
        if len(records) > MAX_RECORDS:
            return _error(422, f"records: at most {MAX_RECORDS} per request, got {len(records)}", "records")
        try:
            return self.predict(records)
        except PredictionError as e:
            return JSONResponse({"error": {"message": str(e), "type": "invalid_request_error",
                                           "param": e.param, "code": "invalid_value",
                                           "records": e.errors}}, status_code=422)

    def predict(self, records: list[dict]) -> dict:
        """Probabilities that each flight arrives more than 15 minutes late."""
        typed = records_to_table(records, FEATURE_INPUTS, required=FEATURE_INPUTS)
        probabilities = score_records(self._model, self._vocab, typed)
        return {"model": self._prep["run_id"], "rows_in": len(records), "rows_scored": len(probabilities),
                "predictions": [{"index": i, "probability": p} for i, p in enumerate(probabilities)]}

    @http.get("/healthz")
    async def healthz(self) -> dict:
        return {"status": "ok", "model": self._prep["run_id"]}


def build_delay_app(model_dir: str, num_cpus: float = 0.25) -> serve.Application:
    return DelayPredictor.options(ray_actor_options={"num_cpus": num_cpus},
                                  max_ongoing_requests=32).bind(model_dir)

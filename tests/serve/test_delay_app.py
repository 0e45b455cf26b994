"""The delay model's endpoint on the real flights rows, and its bad-input answers."""

from __future__ import annotations

import numpy as np
import pyarrow.dataset as pads
import pytest
import requests
import torch

from pipelines.delay_model import batch_tensors
from pipelines.features import CODE_COLUMNS, LABEL, NUMERIC_FEATURES
from pipelines.model_registry import load_registered_model
from serve.client import read_csv_records

pytestmark = pytest.mark.slow

KEYS = ("year", "month", "day", "flight", "carrier", "sched_dep_time", "origin")


def predict(url: str, body) -> requests.Response:
    return requests.post(f"{url}/v1/predict/delay", json=body, timeout=60)


def test_real_rows_score_like_the_etl_features(serve_url, flights_csv, flights_etl, trained_model):
    records = read_csv_records(str(flights_csv), 200)
    body = predict(serve_url, {"records": records}).json()
    assert body["rows_in"] == body["rows_scored"] == 200
    served = [p["probability"] for p in body["predictions"]]
    assert all(0 < p < 1 for p in served)
    # The same flights as the batch ETL featurised them, through the same model:
    model, _ = load_registered_model(str(trained_model[1] / "latest"))
    etl = pads.dataset(str(flights_etl), format="parquet").to_table().to_pylist()
    by_key = {tuple(r[k] for k in KEYS): r for r in etl}
    labelled = [(i, by_key[tuple(rec[k] for k in KEYS)]) for i, rec in enumerate(records)
                if rec["arr_delay"] is not None]
    assert len(labelled) > 150
    batch = {c: np.array([row[c] for _, row in labelled]) for c in (*CODE_COLUMNS, *NUMERIC_FEATURES)}
    batch[LABEL] = np.zeros(len(labelled))
    codes, numeric, _ = batch_tensors(batch)
    with torch.inference_mode():
        expected = torch.sigmoid(model(codes, numeric)).tolist()
    assert [served[i] for i, _ in labelled] == pytest.approx(expected, abs=1e-6)


def test_a_record_without_a_field_is_a_422_naming_it(serve_url, flights_csv):
    records = read_csv_records(str(flights_csv), 3)
    del records[1]["carrier"]
    response = predict(serve_url, records)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["param"] == "records[1].carrier" and "missing field 'carrier'" in error["message"]


@pytest.mark.parametrize(("body", "status", "param"), [
    ({"records": []}, 422, "records"),
    ({"rows": [1]}, 422, "records"),
    ([{"year": 2013}], 422, "records[0].month"),
    ([{"year": 2013, "month": 13, "day": 1, "sched_dep_time": 500, "carrier": "UA", "origin": "EWR",
       "dest": "IAH", "distance": 1400}], 422, "records[0].month"),
    ([{"year": "2013", "month": 1, "day": 1, "sched_dep_time": 500, "carrier": "UA", "origin": "EWR",
       "dest": "IAH", "distance": 1400}], 422, "records[0].year"),
    (["not a record"], 422, "records[0]"),
])
def test_bad_prediction_requests(serve_url, body, status, param):
    response = predict(serve_url, body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param


def test_invalid_json_is_400(serve_url):
    response = requests.post(f"{serve_url}/v1/predict/delay", data=b"{oops", timeout=30)
    assert response.status_code == 400

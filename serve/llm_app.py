"""The OpenAI-compatible LLM endpoint as a Ray Serve application (FastAPI ingress).

    rayline serve start            # deploys it on 127.0.0.1:8000 (see serve/deploy.py)
    curl -s 127.0.0.1:8000/v1/chat/completions -d '{"messages": [{"role": "user", "content": "Hi"}]}'

Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /healthz.
The replica loads the model in `__init__` and hands requests to a `BatchingEngine`, which
decodes concurrent requests together. HTTP glue only here; rules live in openai_protocol.
"""

# No `from __future__ import annotations`: FastAPI must see `Request` as a class, not a string.

from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from ray import serve
from ray.serve.config import BackpressureConfig

from serve import openai_protocol as api
from serve.llm_config import LlmSpec
from serve.llm_engine import BatchingEngine, Piece
from serve.llm_model import load_model

http = FastAPI(title="rayline LLM", docs_url=None, redoc_url=None)


@serve.deployment(name="LLM")
@serve.ingress(http)
class LlmServer:
    """One replica: a model, its batching engine, and the OpenAI routes."""

    def __init__(self, spec: LlmSpec):
        self._spec = spec
        self._loaded = load_model(spec)
        self._engine = BatchingEngine(self._loaded, spec.max_batch_size, spec.batch_wait_timeout_s,
                                      spec.batch_max_wait_s).start()
        self._created = api.now()

    def __del__(self):
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.close()

    @http.get("/healthz")
    async def healthz(self) -> dict:
        return {"status": "ok", "model": self._loaded.name, "device": self._loaded.device,
                **self._engine.stats()}

    @http.get("/v1/models")
    async def models(self) -> dict:
        return api.models_body(self._loaded.name, self._created)

    @http.post("/v1/chat/completions")
    async def chat_completions(self, request: Request):
        return await self._complete(request, "chat")

    @http.post("/v1/completions")
    async def completions(self, request: Request):
        return await self._complete(request, "completion")

    async def _complete(self, request: Request, kind: str):
        try:
            body = api.parse_json_object(await request.body())
            req = api.parse_completion(body, kind, self._loaded.name, self._spec)
            prompt_ids = self._prompt_ids(req)
        except api.ApiError as e:
            return JSONResponse(e.body(), status_code=e.status)
        rid, created = api.new_id(kind), api.now()
        if req.stream:
            return StreamingResponse(self._events(req, prompt_ids, rid, created),
                                     media_type="text/event-stream")
        parts, last = await self._collect(req, prompt_ids)
        if last.finish_reason == "error":
            return JSONResponse(api.ApiError(500, f"generation failed: {last.error}").body(), status_code=500)
        counts = api.usage(last.prompt_tokens, last.completion_tokens)
        body = api.completion_body(req, rid, created, "".join(parts), last.finish_reason, counts)
        return JSONResponse(body)

    def _prompt_ids(self, req: api.CompletionRequest) -> list[int]:
        """Token ids of the prompt (the chat template for chat); 422 if it leaves no room to answer."""
        tokenizer = self._loaded.tokenizer
        if req.kind == "chat":
            ids = tokenizer.apply_chat_template(list(req.messages), add_generation_prompt=True,
                                                tokenize=True, return_dict=True)["input_ids"]
        else:
            ids = tokenizer(req.prompt)["input_ids"]
        if not ids:
            raise api.ApiError(422, "prompt is empty", "prompt")
        room = self._loaded.context_length - len(ids)
        if req.params.max_tokens > room:
            field = "messages" if req.kind == "chat" else "prompt"
            raise api.ApiError(422, f"max_tokens {req.params.max_tokens} + {len(ids)} prompt tokens exceed "
                                    f"the model's context of {self._loaded.context_length}",
                               "max_tokens" if room > 0 else field)
        return list(ids)

    async def _collect(self, req: api.CompletionRequest, prompt_ids: list[int]) -> tuple[list[str], Piece]:
        parts = []
        async for piece in self._engine.generate(prompt_ids, req.params):
            parts.append(piece.text)
            last = piece
        return parts, last

    async def _events(self, req: api.CompletionRequest, prompt_ids: list[int], rid: str,
                      created: int) -> AsyncIterator[str]:
        """Server-sent events in OpenAI's chunk format, ending with `data: [DONE]`."""
        yield api.sse(api.chunk_body(req, rid, created, "", first=True))
        async for piece in self._engine.generate(prompt_ids, req.params):
            if piece.finish_reason == "error":
                yield api.sse(api.ApiError(500, f"generation failed: {piece.error}").body())
                return
            if piece.text:
                yield api.sse(api.chunk_body(req, rid, created, piece.text))
            if piece.finish_reason is not None:
                yield api.sse(api.chunk_body(req, rid, created, None, piece.finish_reason))
                if req.include_usage:
                    counts = api.usage(piece.prompt_tokens, piece.completion_tokens)
                    yield api.sse(api.usage_chunk(req, rid, created, counts))
        yield api.sse("[DONE]")


def build_llm_app(spec: LlmSpec, num_gpus: float = 0.0) -> serve.Application:
    """The application with this spec's batching, limits and autoscaling."""
    deployment = LlmServer.options(
        max_ongoing_requests=spec.max_ongoing_requests,
        max_queued_requests=spec.max_queued_requests,
        backpressure_config=BackpressureConfig(status_code=503, retry_after_s=1),
        autoscaling_config=spec.autoscaling_config(),
        ray_actor_options={"num_cpus": spec.num_cpus, "num_gpus": num_gpus},
        health_check_period_s=10, graceful_shutdown_timeout_s=5,
    )
    return deployment.bind(spec)

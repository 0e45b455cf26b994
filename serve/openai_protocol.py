"""The OpenAI wire format: request validation and response bodies (pure; no HTTP, no model).

Every bad request becomes an `ApiError` with the HTTP status and the field it is about, in
OpenAI's error shape, so the official `openai` client raises its usual exceptions.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from serve.llm_config import LlmSpec
from serve.llm_engine import SamplingParams

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_STOP_STRINGS = 4


class ApiError(Exception):
    """A request the server refuses: HTTP status, message and the offending field."""

    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param

    def body(self) -> dict:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        code = {400: "invalid_json", 404: "model_not_found", 422: "invalid_value"}.get(self.status)
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": code}}


@dataclass(frozen=True)
class CompletionRequest:
    """A validated chat or text completion request."""

    kind: str  # "chat" or "completion"
    model: str
    messages: tuple[dict, ...] | None
    prompt: str | None
    params: SamplingParams
    stream: bool
    include_usage: bool


def parse_json_object(raw: bytes) -> dict:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as e:  # bad JSON or UTF-8, 4,300+ digit ints, deep nesting
        raise ApiError(400, f"the request body is not valid JSON: {str(e)[:200]}") from e
    if not isinstance(body, dict):
        raise ApiError(400, f"the request body must be a JSON object, not {type(body).__name__}")
    return body


def parse_completion(body: dict, kind: str, served_model: str, spec: LlmSpec) -> CompletionRequest:
    """Validate a /v1/chat/completions (kind 'chat') or /v1/completions body."""
    model = body.get("model", served_model)
    if not isinstance(model, str) or model != served_model:
        raise ApiError(404, f"model {model!r} is not served here (GET /v1/models lists {served_model!r})",
                       "model")
    _refuse_unsupported(body)
    messages = _messages(body) if kind == "chat" else None
    prompt = _prompt(body) if kind == "completion" else None
    stream = _bool(body, "stream", False)
    options = body.get("stream_options")
    options = {} if options is None else options
    if not isinstance(options, dict):
        raise ApiError(422, "stream_options must be an object", "stream_options")
    token_field = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    params = SamplingParams(
        max_tokens=_int(body, token_field, spec.default_max_tokens, 1, spec.max_tokens_limit),
        temperature=_number(body, "temperature", 1.0, 0.0, 2.0),
        top_p=_top_p(body), stop=_stop(body), seed=_seed(body))
    return CompletionRequest(kind, served_model, messages, prompt, params, stream,
                             stream and _bool(options, "include_usage", False, "stream_options."))


UNSUPPORTED = ("tools", "tool_choice", "functions", "function_call", "logit_bias")


def _refuse_unsupported(body: dict) -> None:
    """What would change the answer's meaning and is not implemented is refused, not ignored."""
    for name in ("n", "best_of"):
        value = body.get(name)
        if value is not None and (type(value) is not int or value != 1):
            raise ApiError(422, f"{name}: only 1 is supported, got {value!r}", name)
    for name in UNSUPPORTED:
        if body.get(name) not in (None, [], {}):
            raise ApiError(422, f"{name} is not supported by this server", name)
    response_format = body.get("response_format")
    if response_format not in (None, {"type": "text"}):
        raise ApiError(422, "response_format: only plain text is supported", "response_format")
    for name in ("presence_penalty", "frequency_penalty"):
        value = body.get(name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and not (number and value == 0):
            raise ApiError(422, f"{name} is not supported (only 0), got {value!r}", name)
    if body.get("echo"):
        raise ApiError(422, "echo is not supported", "echo")
    if body.get("logprobs") not in (None, False, 0):
        raise ApiError(422, "logprobs are not supported", "logprobs")


def _messages(body: dict) -> tuple[dict, ...]:
    if "messages" not in body:
        raise ApiError(422, "messages: a chat completion needs a list of messages", "messages")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise ApiError(422, "messages must be a non-empty list", "messages")
    out = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise ApiError(422, f"{where} must be an object with role and content", where)
        role = message.get("role")
        if role not in ROLES:
            raise ApiError(422, f"{where}.role must be one of {', '.join(ROLES)}, got {role!r}",
                           f"{where}.role")
        out.append({"role": "system" if role == "developer" else role,
                    "content": _content(message.get("content"), f"{where}.content")})
    return tuple(out)


def _content(content: object, where: str) -> str:
    """A message's text: a string, or a list of {"type": "text", "text": ...} parts."""
    if isinstance(content, str):
        return _unicode(content, where)
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                         and isinstance(p.get("text"), str) for p in content):
        return _unicode("".join(p["text"] for p in content), where)
    raise ApiError(422, f"{where} must be a string or a list of text parts", where)


def _unicode(text: str, where: str) -> str:
    """JSON can carry lone surrogates (\ud800) that no tokenizer takes: a 422, not a crash."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ApiError(422, f"{where} is not valid Unicode ({e.reason})", where) from e
    return text


def _prompt(body: dict) -> str:
    if "prompt" not in body:
        raise ApiError(422, "prompt: a completion needs a prompt", "prompt")
    prompt = body["prompt"]
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ApiError(422, "prompt must be a string (one prompt per request)", "prompt")
    return _unicode(prompt, "prompt")


def _int(body: dict, name: str, default: int, low: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(422, f"{name} must be an integer, got {value!r}", name)
    if not low <= value <= high:
        raise ApiError(422, f"{name} must be between {low} and {high}, got {value}", name)
    return value


def _optional_int(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ApiError(422, f"{name} must be an integer, got {value!r}", name)
    return value


def _seed(body: dict) -> int | None:
    seed = _optional_int(body, "seed")
    if seed is not None and not 0 <= seed < 2**63:
        raise ApiError(422, f"seed must be between 0 and 2**63-1, got {seed}", "seed")
    return seed


def _number(body: dict, name: str, default: float, low: float, high: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ApiError(422, f"{name} must be a number, got {value!r}", name)
    if not low <= value <= high:
        raise ApiError(422, f"{name} must be between {low:g} and {high:g}, got {value}", name)
    return float(value)


def _top_p(body: dict) -> float:
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    if top_p == 0:
        raise ApiError(422, "top_p must be greater than 0 and at most 1, got 0", "top_p")
    return top_p


def _stop(body: dict) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if (not isinstance(stops, list) or len(stops) > MAX_STOP_STRINGS
            or not all(isinstance(s, str) and s for s in stops)):
        raise ApiError(422, f"stop must be a non-empty string or a list of up to {MAX_STOP_STRINGS} of them",
                       "stop")
    return tuple(_unicode(s, "stop") for s in stops)


def _bool(body: dict, name: str, default: bool, prefix: str = "") -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(422, f"{prefix}{name} must be true or false, got {value!r}", prefix + name)
    return value


# --- responses -----------------------------------------------------------------------------

def new_id(kind: str) -> str:
    return ("chatcmpl-" if kind == "chat" else "cmpl-") + uuid.uuid4().hex[:24]


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion_body(req: CompletionRequest, rid: str, created: int, text: str, finish_reason: str,
                    counts: dict) -> dict:
    """The whole (non-streamed) answer."""
    if req.kind == "chat":
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "finish_reason": finish_reason, "logprobs": None}
        return {"id": rid, "object": "chat.completion", "created": created, "model": req.model,
                "choices": [choice], "usage": counts}
    choice = {"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}
    return {"id": rid, "object": "text_completion", "created": created, "model": req.model,
            "choices": [choice], "usage": counts}


def chunk_body(req: CompletionRequest, rid: str, created: int, text: str | None,
               finish_reason: str | None = None, first: bool = False) -> dict:
    """One streamed chunk; the chat format opens with the assistant role."""
    if req.kind == "chat":
        delta = {"role": "assistant", "content": text or ""} if first else \
            ({"content": text} if text else {})
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        kind = "chat.completion.chunk"
    else:
        choice = {"index": 0, "text": text or "", "finish_reason": finish_reason, "logprobs": None}
        kind = "text_completion"
    return {"id": rid, "object": kind, "created": created, "model": req.model, "choices": [choice]}


def usage_chunk(req: CompletionRequest, rid: str, created: int, counts: dict) -> dict:
    kind = "chat.completion.chunk" if req.kind == "chat" else "text_completion"
    return {"id": rid, "object": kind, "created": created, "model": req.model, "choices": [], "usage": counts}


def models_body(served_model: str, created: int) -> dict:
    return {"object": "list",
            "data": [{"id": served_model, "object": "model", "created": created, "owned_by": "rayline"}]}


def sse(payload: dict | str) -> str:
    """One server-sent event; the stream ends with `sse("[DONE]")`."""
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n"


def now() -> int:
    return int(time.time())

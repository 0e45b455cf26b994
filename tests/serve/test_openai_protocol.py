"""Request validation of the OpenAI routes (pure; the HTTP answers are tested in test_llm_app)."""

from __future__ import annotations

import pytest

from serve.llm_config import LlmSpec
from serve.openai_protocol import ApiError, chunk_body, parse_completion, parse_json_object, sse

SPEC = LlmSpec()
MODEL = SPEC.model
HI = [{"role": "user", "content": "hi"}]


def parse(body: dict, kind: str = "chat"):
    return parse_completion(body, kind, MODEL, SPEC)


def test_defaults_and_fields():
    req = parse({"messages": HI, "max_tokens": 7, "temperature": 0, "top_p": 0.5, "stop": "x", "seed": 3,
                 "stream": True, "stream_options": {"include_usage": True}})
    assert (req.params.max_tokens, req.params.temperature, req.params.top_p) == (7, 0.0, 0.5)
    assert req.params.stop == ("x",) and req.params.seed == 3 and req.stream and req.include_usage
    assert parse({"messages": HI}).params.max_tokens == SPEC.default_max_tokens
    assert parse({"messages": HI, "max_completion_tokens": 9}).params.max_tokens == 9
    text_parts = parse({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                                 {"type": "text", "text": "b"}]}]})
    assert text_parts.messages[0]["content"] == "ab"
    assert parse({"prompt": ["one"]}, "completion").prompt == "one"


@pytest.mark.parametrize(("body", "param"), [
    ({"messages": HI, "max_tokens": True}, "max_tokens"),
    ({"messages": HI, "temperature": float("nan")}, "temperature"),
    ({"messages": HI, "top_p": 1.5}, "top_p"),
    ({"messages": HI, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"messages": HI, "stop": ""}, "stop"),
    ({"messages": HI, "seed": "1"}, "seed"),
    ({"messages": HI, "stream": True, "stream_options": {"include_usage": "y"}},
     "stream_options.include_usage"),
    ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ({"messages": ["hi"]}, "messages[0]"),
    ({"messages": HI, "logprobs": True}, "logprobs"),
    ({"messages": HI, "seed": 2**64}, "seed"),
    ({"messages": HI, "n": True}, "n"),
    ({"messages": HI, "tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
    ({"messages": HI, "response_format": {"type": "json_object"}}, "response_format"),
    ({"messages": HI, "frequency_penalty": "x"}, "frequency_penalty"),
    ({"messages": [{"role": "user", "content": "\ud800"}]}, "messages[0].content"),
    ({"messages": HI, "stop": ["\udfff"]}, "stop"),
    ({"messages": HI, "stream": True, "stream_options": []}, "stream_options"),
])
def test_each_bad_field_is_named(body, param):
    with pytest.raises(ApiError) as err:
        parse(body)
    assert err.value.status == 422 and err.value.param == param
    assert err.value.body()["error"]["param"] == param


def test_body_must_be_a_json_object():
    huge_int, deep = b'{"max_tokens": 1' + b"0" * 5000 + b"}", b"[" * 100_000
    for raw in (b"", b"{", b"\xff", b"[1]", b"null", huge_int, deep):
        with pytest.raises(ApiError) as err:
            parse_json_object(raw)
        assert err.value.status == 400


def test_sse_keeps_unicode_whole_and_the_first_chat_chunk_has_the_role():
    req = parse({"messages": HI, "stream": True})
    first = chunk_body(req, "id", 1, "", first=True)
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert sse({"t": "😀"}) == 'data: {"t": "😀"}\n\n' and sse("[DONE]") == "data: [DONE]\n\n"

"""The OpenAI-compatible LLM endpoint on a real local Ray Serve with the real SmolLM2 model."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from serve.llm_config import BUNDLED_MODEL

pytestmark = pytest.mark.slow

PARIS = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def chat(url: str, timeout: float = 120, **body) -> requests.Response:
    return requests.post(f"{url}/v1/chat/completions", json=body, timeout=timeout)


def stats(url: str) -> dict:
    return requests.get(f"{url}/healthz", timeout=10).json()


def test_paris_at_temperature_zero_with_usage(serve_url):
    response = chat(serve_url, messages=PARIS, temperature=0, max_tokens=20)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Paris" in body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 10 and 0 < usage["completion_tokens"] <= 20
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    again = chat(serve_url, messages=PARIS, temperature=0, max_tokens=20).json()
    assert again["choices"][0]["message"] == body["choices"][0]["message"]  # greedy is deterministic


def test_openai_client_stream_equals_answer(serve_url):
    from openai import OpenAI

    client = OpenAI(base_url=f"{serve_url}/v1", api_key="not-needed")
    [model] = client.models.list().data
    assert model.id == BUNDLED_MODEL
    whole = client.chat.completions.create(model=model.id, messages=PARIS, temperature=0, max_tokens=24)
    answer = whole.choices[0].message.content
    assert "Paris" in answer
    chunks = list(client.chat.completions.create(model=model.id, messages=PARIS, temperature=0,
                                                 max_tokens=24, stream=True,
                                                 stream_options={"include_usage": True}))
    joined = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert joined == answer
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    text = client.completions.create(model=model.id, prompt="The capital of France is", temperature=0,
                                     max_tokens=8)
    streamed = client.completions.create(model=model.id, prompt="The capital of France is", temperature=0,
                                         max_tokens=8, stream=True)
    assert "".join(c.choices[0].text for c in streamed) == text.choices[0].text
    assert text.usage.completion_tokens == 8 and text.choices[0].finish_reason == "length"


def test_stop_strings_end_the_answer_before_them(serve_url):
    body = chat(serve_url, messages=[{"role": "user", "content": "Count from 1 to 10, one per line."}],
                temperature=0, max_tokens=60, stop=["4"]).json()
    text = body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "stop"
    assert "3" in text and "4" not in text


@pytest.mark.parametrize(("body", "status", "param"), [
    (b"{not json", 400, None),
    (b'["a", "list"]', 400, None),
    ({"max_tokens": 5}, 422, "messages"),
    ({"messages": []}, 422, "messages"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, 422, "messages[0].role"),
    ({"messages": PARIS, "max_tokens": 0}, 422, "max_tokens"),
    ({"messages": PARIS, "max_tokens": -3}, 422, "max_tokens"),
    ({"messages": PARIS, "max_tokens": "10"}, 422, "max_tokens"),
    ({"messages": PARIS, "max_tokens": 2.5}, 422, "max_tokens"),
    ({"messages": PARIS, "max_tokens": 10**9}, 422, "max_tokens"),
    ({"messages": PARIS, "temperature": 2.5}, 422, "temperature"),
    ({"messages": PARIS, "temperature": -0.1}, 422, "temperature"),
    ({"messages": PARIS, "temperature": "hot"}, 422, "temperature"),
    ({"messages": PARIS, "top_p": 0}, 422, "top_p"),
    ({"messages": PARIS, "stop": [1, 2]}, 422, "stop"),
    ({"messages": PARIS, "stream": "yes"}, 422, "stream"),
    ({"messages": PARIS, "n": 3}, 422, "n"),
    ({"messages": PARIS, "model": "gpt-4"}, 404, "model"),
])
def test_bad_chat_requests_are_4xx_naming_the_field(serve_url, body, status, param):
    if isinstance(body, bytes):
        response = requests.post(f"{serve_url}/v1/chat/completions", data=body,
                                 headers={"content-type": "application/json"}, timeout=30)
    else:
        response = chat(serve_url, timeout=30, **body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param
    if param:
        assert param.split("[")[0] in error["message"]


def test_bad_completion_requests_and_the_replica_survives(serve_url):
    post = lambda body: requests.post(f"{serve_url}/v1/completions", json=body, timeout=30)  # noqa: E731
    assert post({"max_tokens": 5}).json()["error"]["param"] == "prompt"
    assert post({"prompt": [1, 2, 3]}).status_code == 422
    assert post({"prompt": "hi", "max_tokens": 0}).json()["error"]["param"] == "max_tokens"
    assert requests.get(f"{serve_url}/v1/nowhere", timeout=10).status_code == 404
    assert stats(serve_url)["status"] == "ok"


def test_unicode_round_trips_and_no_chunk_splits_a_character(serve_url):
    unicode_prompt = [{"role": "system", "content": "Tu es un assistant. 🤖"},
                      {"role": "user", "content": "Repeat exactly: 😀 café naïve 日本語"}]
    echoed = chat(serve_url, messages=unicode_prompt, temperature=0, max_tokens=12).json()
    assert "naïve" in echoed["choices"][0]["message"]["content"]  # the prompt's text came through intact
    messages = unicode_prompt[1:]  # without the system message the model answers in emoji (4 bytes each)
    whole = chat(serve_url, messages=messages, temperature=0, max_tokens=21).json()
    answer = whole["choices"][0]["message"]["content"]
    assert sum(ord(ch) > 0xFFFF for ch in answer) >= 5
    assert "\ufffd" not in answer  # the 21-token limit cuts an emoji: its stray bytes are dropped
    pieces = []
    with requests.post(f"{serve_url}/v1/chat/completions", stream=True, timeout=120,
                       json={"messages": messages, "temperature": 0, "max_tokens": 21, "stream": True}) as r:
        for line in r.iter_lines():
            if line.startswith(b"data: {"):
                line.decode("utf-8")  # every event is whole UTF-8
                delta = json.loads(line[6:])["choices"][0]["delta"]
                pieces.append(delta.get("content") or "")
            elif line:
                assert line == b"data: [DONE]"
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) == answer


def test_client_disconnect_stops_its_generation(serve_url):
    before = stats(serve_url)
    body = {"messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
            "temperature": 0, "max_tokens": 1500, "stream": True}
    with requests.post(f"{serve_url}/v1/chat/completions", json=body, stream=True, timeout=60) as r:
        lines = r.iter_lines()
        received = [next(lines) for _ in range(8)]
    assert any(b"content" in line for line in received)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = stats(serve_url)
        if now["requests_cancelled"] > before["requests_cancelled"] and now["running"] == 0:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the abandoned request kept running: {now}")
    assert now["tokens_generated"] - before["tokens_generated"] < 1000  # stopped long before 1500


def test_a_request_arriving_mid_generation_joins_the_running_batch(serve_url):
    import threading

    solo = chat(serve_url, messages=PARIS, temperature=0, max_tokens=20).json()["choices"][0]["message"]
    body = {"messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
            "temperature": 0, "max_tokens": 400, "stream": True}
    started, long_done = threading.Event(), threading.Event()

    def long_request() -> None:
        with requests.post(f"{serve_url}/v1/chat/completions", json=body, stream=True, timeout=300) as r:
            for line in r.iter_lines():
                if b'"content"' in line:
                    started.set()
        long_done.set()

    worker = threading.Thread(target=long_request)
    worker.start()
    assert started.wait(120)
    joined = chat(serve_url, messages=PARIS, temperature=0, max_tokens=20).json()["choices"][0]["message"]
    still_running = not long_done.is_set()
    worker.join(300)
    assert still_running  # the short request did not wait for the long one to finish
    assert joined == solo  # and joining a batch does not change a greedy answer


def test_burst_of_32_is_answered_and_decoded_in_batches(serve_url):
    questions = [f"Give one word that rhymes with '{w}'." for w in
                 ("cat", "dog", "sun", "tree", "blue", "red", "light", "rain")] * 4

    def ask(question: str) -> requests.Response:
        return chat(serve_url, messages=[{"role": "user", "content": question}], temperature=0, max_tokens=12)

    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(ask, questions))
    assert [r.status_code for r in responses] == [200] * 32
    assert all(r.json()["choices"][0]["message"]["content"] for r in responses)
    assert stats(serve_url)["largest_batch"] == 16  # 16 running per replica, decoded together


def test_past_the_queue_limit_requests_get_503_at_once(serve_url):
    # 16 running + 24 queued fit; of 100 sent at once, the rest are refused without waiting
    # (answers take seconds, so none finishes while the burst is still being sent).
    def ask(_):
        started = time.monotonic()
        r = chat(serve_url, messages=PARIS, temperature=0, max_tokens=48)
        return r.status_code, time.monotonic() - started

    with ThreadPoolExecutor(100) as pool:
        results = list(pool.map(ask, range(100)))
    codes = [c for c, _ in results]
    assert set(codes) <= {200, 503} and codes.count(503) >= 30 and codes.count(200) >= 16
    fastest_answer = min(seconds for c, seconds in results if c == 200)
    assert max(seconds for c, seconds in results if c == 503) < fastest_answer  # refused, not queued
    assert stats(serve_url)["status"] == "ok"

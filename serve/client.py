"""A small HTTP client of rayline's endpoints, for `rayline prompt` and `rayline predict`.

    rayline prompt "What is the capital of France?" [--stream]
    rayline predict --csv data/raw/flights.csv --rows 5
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from cluster.errors import ClusterError, InputError

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class PromptSettings:
    """One chat request: the question and how to decode the answer."""

    prompt: str
    system: str | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    url: str = DEFAULT_URL
    timeout_s: float = 300.0

    def body(self, stream: bool) -> dict:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": self.prompt})
        return {"messages": messages, "max_tokens": self.max_tokens, "temperature": self.temperature,
                "stream": stream, **({"stream_options": {"include_usage": True}} if stream else {})}


def ask(settings: PromptSettings) -> dict:
    """The whole answer of /v1/chat/completions as its JSON body."""
    response = _post(f"{settings.url}/v1/chat/completions", settings.body(False), settings.timeout_s)
    return response.json()


def ask_streaming(settings: PromptSettings) -> Iterator[str]:
    """The answer's text pieces as the server sends them."""
    response = _post(f"{settings.url}/v1/chat/completions", settings.body(True), settings.timeout_s,
                     stream=True)
    with response:
        for line in response.iter_lines(decode_unicode=False):
            if not line.startswith(b"data: "):
                continue
            data = line[len(b"data: "):]
            if data == b"[DONE]":
                return
            event = json.loads(data)
            if "error" in event:
                raise ClusterError(f"the server failed mid-answer: {event['error']['message']}")
            for choice in event.get("choices", []):
                if text := choice.get("delta", {}).get("content"):
                    yield text


def predict(records: list[dict], url: str = DEFAULT_URL, timeout_s: float = 60.0) -> dict:
    """POST records to /v1/predict/delay; returns the JSON body."""
    return _post(f"{url}/v1/predict/delay", {"records": records}, timeout_s).json()


def read_csv_records(path: str, rows: int, null_values: tuple[str, ...] = ("NA", "")) -> list[dict]:
    """The first `rows` records of a flights CSV as JSON-ready dicts (numbers as numbers)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            return [{k: _json_value(v, null_values) for k, v in row.items()}
                    for _, row in zip(range(rows), reader, strict=False)]
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from e


def _json_value(text: str, null_values: tuple[str, ...]) -> object:
    if text in null_values:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _post(url: str, body: dict, timeout_s: float, stream: bool = False) -> requests.Response:
    try:
        response = requests.post(url, json=body, timeout=timeout_s, stream=stream)
    except requests.ConnectionError as e:
        raise ClusterError(f"nothing answers at {url} (start it: `rayline serve start`)") from e
    except requests.Timeout as e:
        raise ClusterError(f"{url} did not answer within {timeout_s:g} s") from e
    if response.status_code >= 400:
        error = InputError if response.status_code < 500 else ClusterError
        raise error(f"{url} answered {response.status_code}: {_error_message(response)}")
    return response


def _error_message(response: requests.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]

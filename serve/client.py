"""A small HTTP client of rayline's endpoints, for `rayline prompt` and `rayline predict`.

    rayline prompt "What is the capital of France?" [--stream]
    rayline predict --csv data/raw/flights.csv --rows 5
"""

from __future__ import annotations

import csv
import json
import math
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
    body = _json(response)
    if not (isinstance(body, dict) and body.get("choices") and "usage" in body):
        raise ClusterError(f"{settings.url} did not answer like an OpenAI endpoint: {str(body)[:200]}")
    return body


def ask_streaming(settings: PromptSettings) -> Iterator[str]:
    """The answer's text pieces as the server sends them."""
    response = _post(f"{settings.url}/v1/chat/completions", settings.body(True), settings.timeout_s,
                     stream=True)
    with response:
        try:
            for line in response.iter_lines(decode_unicode=False):
                if not line.startswith(b"data: "):
                    continue
                data = line[len(b"data: "):]
                if data == b"[DONE]":
                    return
                yield from _stream_texts(json.loads(data))
        except (requests.RequestException, ValueError, TypeError, AttributeError) as e:
            raise ClusterError(f"the answer stream broke off: {e}") from e
    raise ClusterError("the answer stream ended without `data: [DONE]` (the server stopped mid-answer?)")


def _stream_texts(event: dict) -> Iterator[str]:
    if "error" in event:
        raise ClusterError(f"the server failed mid-answer: {event['error'].get('message', event['error'])}")
    for choice in event.get("choices", []):
        if text := choice.get("delta", {}).get("content"):
            yield text


def predict(records: list[dict], url: str = DEFAULT_URL, timeout_s: float = 60.0) -> dict:
    """POST records to /v1/predict/delay; returns the JSON body."""
    return _json(_post(f"{url}/v1/predict/delay", {"records": records}, timeout_s))


def read_csv_records(path: str, rows: int, null_values: tuple[str, ...] = ("NA", "")) -> list[dict]:
    """The first `rows` records of a flights CSV as JSON-ready dicts (numbers as numbers)."""
    records = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            for row in reader:
                if len(records) == rows:
                    break
                if None in row or None in row.values():
                    width = len(reader.fieldnames or [])
                    raise InputError(f"{path}, line {reader.line_num}: the header has {width} columns, "
                                     "this row another number")
                records.append({k: _json_value(v, null_values) for k, v in row.items()})
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from e
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"cannot read {path} as UTF-8 CSV: {e}") from e
    return records


def _json_value(text: str, null_values: tuple[str, ...]) -> object:
    if text in null_values:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text  # NaN/inf are not JSON: the server says why


def _post(url: str, body: dict, timeout_s: float, stream: bool = False) -> requests.Response:
    try:
        response = requests.post(url, json=body, timeout=timeout_s, stream=stream)
    except requests.ConnectionError as e:
        raise ClusterError(f"nothing answers at {url} (start it: `rayline serve start`)") from e
    except requests.Timeout as e:
        raise ClusterError(f"{url} did not answer within {timeout_s:g} s") from e
    except (requests.RequestException, ValueError) as e:  # a malformed URL, a body that is not JSON
        raise InputError(f"cannot send to {url}: {e}") from e
    if response.status_code >= 400:
        error = InputError if response.status_code < 500 else ClusterError
        raise error(f"{url} answered {response.status_code}: {_error_message(response)}")
    return response


def _json(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError as e:
        raise ClusterError(f"{response.url} answered {response.status_code} with no JSON: "
                           f"{response.text[:200]!r}") from e


def _error_message(response: requests.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]

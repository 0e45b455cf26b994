"""`rayline bench serve`: the LLM endpoint under 1, 4 and 16 concurrent clients against a baseline
of one sequential `generate()` per request in one process, same model, measured in the same run.

    rayline bench serve [--concurrency 1,4,16] [--max-tokens 64] [--json]

Each client sends fixed prompts (greedy, max_tokens 64) one after another, streaming, so the
time to first token is measured too. `ratio` = endpoint output tokens/s / baseline tokens/s.
The endpoint runs on a private in-process Ray (one replica, every CPU for torch); the baseline
runs afterwards as a fresh process, so the two never share the CPUs.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import requests

from benchmarks.results_dir import results_folder
from benchmarks.serve_prompts import PROMPTS, chat_messages
from cluster.errors import ConfigError, PipelineError
from cluster.ports import free_loopback_port


@dataclass(frozen=True)
class ServeBenchSettings:
    concurrency: tuple[int, ...] = (1, 4, 16)
    max_tokens: int = 64
    requests_per_client: int = 2  # at least len(PROMPTS) requests per level in all
    results_dir: str = "benchmarks/results"

    def __post_init__(self) -> None:
        if not self.concurrency or min(self.concurrency) < 1 or self.max_tokens < 1:
            raise ConfigError("--concurrency needs client counts >= 1 and --max-tokens >= 1")


def run_serve_benchmark(settings: ServeBenchSettings, log: Callable[[str], None] = print) -> dict:
    """Measure the endpoint at each concurrency, then the baseline; save JSON and a PNG."""
    results_folder(settings.results_dir)  # a bad folder fails now, not after the run
    levels = _measure_endpoint(settings, log)
    log("baseline: sequential generate() in one process ...")
    baseline = _run_baseline(settings)
    for level in levels:
        level["baseline_tokens_per_s"] = baseline["tokens_per_s"]
        level["ratio"] = round(level["tokens_per_s"] / baseline["tokens_per_s"], 3)
    result = {"benchmark": "serve", "model": "SmolLM2-135M-Instruct", "max_tokens": settings.max_tokens,
              "cpus": os.cpu_count(), "levels": levels,
              "per_concurrency": {str(level["concurrency"]): level for level in levels},
              "baseline": baseline, "settings": asdict(settings)}
    _write(settings, result)
    return result


def _measure_endpoint(settings: ServeBenchSettings, log: Callable[[str], None]) -> list[dict]:
    import ray
    from ray import serve

    from serve.deploy import deploy_apps
    from serve.llm_config import LlmSpec, ServeSpec

    port = free_loopback_port()
    ray.init(address="local", include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    try:
        log("deploying the LLM endpoint on an in-process Ray ...")
        deploy_apps(ServeSpec(port=port, delay_model=None), LlmSpec(max_queued_requests=256))
        url = f"http://127.0.0.1:{port}"
        _one_request(url, PROMPTS[0], settings.max_tokens)  # warm-up
        levels = []
        for clients in settings.concurrency:
            levels.append(_measure_level(url, clients, settings))
            log(f"{clients} clients: {levels[-1]['tokens_per_s']:.1f} tokens/s, "
                f"p50 {levels[-1]['p50_ms']:.0f} ms, TTFT {levels[-1]['ttft_ms']:.0f} ms")
        return levels
    finally:
        serve.shutdown()
        ray.shutdown()


def _measure_level(url: str, clients: int, settings: ServeBenchSettings) -> dict:
    total = max(clients * settings.requests_per_client, len(PROMPTS))
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(total)]
    per_client = [prompts[c::clients] for c in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        runs = list(pool.map(lambda mine: [_one_request(url, p, settings.max_tokens) for p in mine],
                             per_client))
    seconds = time.perf_counter() - started
    samples = [s for run in runs for s in run]
    tokens = sum(s["tokens"] for s in samples)
    latencies = [s["latency_ms"] for s in samples]
    return {"concurrency": clients, "requests": len(samples), "tokens": tokens, "seconds": round(seconds, 3),
            "tokens_per_s": round(tokens / seconds, 2), "p50_ms": round(_pct(latencies, 50), 1),
            "p95_ms": round(_pct(latencies, 95), 1),
            "ttft_ms": round(_pct([s["ttft_ms"] for s in samples], 50), 1),
            "ttft_p95_ms": round(_pct([s["ttft_ms"] for s in samples], 95), 1)}


def _one_request(url: str, prompt: str, max_tokens: int) -> dict:
    body = {"messages": chat_messages(prompt), "temperature": 0, "max_tokens": max_tokens, "stream": True,
            "stream_options": {"include_usage": True}}
    started = time.perf_counter()
    first, tokens = None, None
    with requests.post(f"{url}/v1/chat/completions", json=body, stream=True, timeout=600) as response:
        if response.status_code != 200:
            raise PipelineError(f"the endpoint answered {response.status_code}: {response.text[:300]}")
        for line in response.iter_lines():
            if not line.startswith(b"data: {"):
                continue
            event = json.loads(line[6:])
            if first is None and any(c["delta"].get("content") for c in event["choices"]):
                first = time.perf_counter()
            if event.get("usage"):
                tokens = event["usage"]["completion_tokens"]
    done = time.perf_counter()
    if tokens is None:
        raise PipelineError("the stream ended without its usage chunk")
    return {"tokens": tokens, "latency_ms": (done - started) * 1000,
            "ttft_ms": ((first or done) - started) * 1000}


def _run_baseline(settings: ServeBenchSettings) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.llm_baseline", "--max-tokens", str(settings.max_tokens)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(f"LLM baseline failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _pct(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _write(settings: ServeBenchSettings, result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = results_folder(settings.results_dir)
    (out / "serve.json").write_text(json.dumps(result, indent=1))
    levels = result["levels"]
    names = [str(level["concurrency"]) for level in levels]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.plot(names, [level["tokens_per_s"] for level in levels], "o-", color="#2a7",
              label="Ray Serve endpoint")
    left.axhline(result["baseline"]["tokens_per_s"], color="#999", ls="--", label="sequential generate()")
    left.set_xlabel("concurrent clients")
    left.set_ylabel("output tokens/s")
    left.legend()
    right.plot(names, [level["p50_ms"] for level in levels], "o-", label="p50 latency")
    right.plot(names, [level["p95_ms"] for level in levels], "o-", label="p95 latency")
    right.plot(names, [level["ttft_ms"] for level in levels], "o-", label="time to first token")
    right.set_xlabel("concurrent clients")
    right.set_ylabel("ms")
    right.legend()
    fig.suptitle(f"{result['model']}, max_tokens {result['max_tokens']}, {result['cpus']} CPUs")
    fig.tight_layout()
    fig.savefig(out / "serve.png", dpi=100)
    plt.close(fig)

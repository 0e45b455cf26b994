"""`rayline bench stream`: end-to-end records/s of the consumer actors (broker -> actor -> Parquet,
committed) with 1 and 2 actors, against a plain kafka-python loop that only reads and discards,
measured in the same run on the same topic.

    rayline bench stream [--events 50000] [--json]

Throughput is measured on a backlog (the events are produced first), from the first record
read to the last offset committed, as the baseline loop is; the start-up (actors, joining the
consumer group) is reported apart. Latency (produce time -> offset committed) is measured in a
second phase with 2 actors that have joined their group, while a producer sends a live feed at
a quarter of the measured throughput (at most 2,000 events/s).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from actors.flight_producer import ProduceSpec, flight_events, produce_flights
from actors.kafka_admin import ensure_topic, partition_offsets
from actors.kafka_broker import BrokerSettings, start_broker, stop_broker
from actors.kafka_config import KafkaSettings, StreamSpec
from actors.stream import start_stream
from benchmarks.results_dir import results_folder
from cluster.errors import PipelineError
from cluster.ports import free_loopback_port


@dataclass(frozen=True)
class StreamBenchSettings:
    events: int = 50_000
    partitions: int = 2
    source: str = "data/raw/flights.csv"
    latency_seconds: float = 10.0
    results_dir: str = "benchmarks/results"


def run_stream_benchmark(settings: StreamBenchSettings, log: Callable[[str], None] = print) -> dict:
    """Own broker, own Ray: produce, baseline loop, 1 actor, 2 actors, latency; save JSON + PNG."""
    results_folder(settings.results_dir)  # a bad folder fails now, not after the run
    import ray

    work = Path(tempfile.mkdtemp(prefix="rayline-stream-bench-"))
    broker = BrokerSettings(port=free_loopback_port(), state_dir=str(work / "kafka"))
    state, _ = start_broker(broker)
    kafka = KafkaSettings(bootstrap_servers=state.bootstrap)
    ray.init(address="local", include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        log(f"producing {settings.events:,} flight events ...")
        produce_flights(ProduceSpec(settings.source, "bench", None, settings.events, settings.partitions),
                        kafka)
        log("baseline: a plain kafka-python loop that reads and discards ...")
        baseline = _baseline_loop(kafka, "bench", settings.events)
        runs = {}
        for actors in (1, 2):
            log(f"{actors} consumer actor(s) ...")
            runs[actors] = _actor_run(kafka, settings, actors, work)
        log("latency with 2 actors on a live feed ...")
        latency = _latency_run(kafka, settings, work, rate=min(2000.0, runs[2]["records_per_s"] / 4))
    finally:
        ray.shutdown()
        stop_broker(broker)
        shutil.rmtree(work, ignore_errors=True)
    result = {"benchmark": "stream", "events": settings.events, "partitions": settings.partitions,
              "cpus": os.cpu_count(), "baseline_records_per_s": baseline,
              "records_per_s": {str(k): v["records_per_s"] for k, v in runs.items()},
              "ratio": round(runs[2]["records_per_s"] / baseline, 3), "runs": runs,
              "latency_p50_ms": latency["latency_p50_ms"], "latency_p95_ms": latency["latency_p95_ms"],
              "latency_feed_rate": latency["rate"], "settings": asdict(settings)}
    _write(settings, result)
    return result


def _baseline_loop(kafka: KafkaSettings, topic: str, expected: int) -> float:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, **kafka.client_kwargs(), group_id="bench-baseline",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    seen, started = 0, None
    try:
        while seen < expected:
            for records in consumer.poll(timeout_ms=1000).values():
                started = started or time.perf_counter()
                seen += len(records)
    finally:
        consumer.close()
    return round(seen / (time.perf_counter() - started), 1)


def _actor_run(kafka: KafkaSettings, settings: StreamBenchSettings, actors: int, work: Path) -> dict:
    spec = StreamSpec(topic="bench", consumers=actors, group_id=f"bench-{actors}",
                      lake=str(work / f"lake{actors}"), vocabulary="data/processed/flights/_vocab.json",
                      score=False)
    started = time.time()
    handle = start_stream(spec, kafka)
    try:
        _wait_committed(kafka, spec, settings.events)
        stats = handle.stats()
    finally:
        final = handle.stop()
    # Like the baseline loop, the clock starts at the first record: joining the consumer group
    # (about 3 s here) and starting the actors are reported apart, as start-up.
    first = min(s["first_record_at"] for s in stats if s["first_record_at"])
    last = max(s["last_commit_at"] for s in stats if s["last_commit_at"])
    return {"actors": actors, "seconds": round(last - first, 2), "startup_seconds": round(first - started, 2),
            "records_per_s": round(settings.events / (last - first), 1),
            "records_per_s_with_startup": round(settings.events / (last - started), 1),
            "rows_written": sum(s["rows_written"] for s in final), "dlq": sum(s["dlq"] for s in final)}


def _latency_run(kafka: KafkaSettings, settings: StreamBenchSettings, work: Path, rate: float) -> dict:
    from kafka import KafkaProducer

    spec = StreamSpec(topic="live", consumers=2, lake=str(work / "live"), vocabulary=None, score=False,
                      batch_ms=100)
    ensure_topic(kafka, "live", settings.partitions)
    handle = start_stream(spec, kafka)
    deadline = time.monotonic() + 60
    while sum(len(s["assigned"]) for s in handle.stats()) < settings.partitions:  # group joined
        if time.monotonic() > deadline:
            raise PipelineError("the consumers did not join their group within 60 s")
        time.sleep(0.2)
    count = int(rate * settings.latency_seconds)
    events = [value for _, value in flight_events(settings.source, count)]
    producer = KafkaProducer(**kafka.client_kwargs(), linger_ms=5)

    def send() -> None:
        begin = time.perf_counter()
        for i, value in enumerate(events):
            producer.send("live", value=value, key=str(i).encode())
            ahead = (i + 1) / rate - (time.perf_counter() - begin)
            if ahead > 0:
                time.sleep(ahead)
        producer.flush()

    sender = threading.Thread(target=send)
    sender.start()
    sender.join()
    try:
        _wait_committed(kafka, spec, len(events))
    finally:
        final = handle.stop()
        producer.close()
    measured = [s for s in final if s["latency_samples"]]
    if not measured:
        raise PipelineError("no latency samples were recorded")
    # The slower actor's percentiles: conservative, as each actor only knows its own records.
    return {"rate": round(rate, 1), "latency_p50_ms": max(s["latency_p50_ms"] for s in measured),
            "latency_p95_ms": max(s["latency_p95_ms"] for s in measured)}


def _wait_committed(kafka: KafkaSettings, spec: StreamSpec, expected: int, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(p["committed"] for p in partition_offsets(kafka, spec.topic, spec.group)) >= expected:
            return
        time.sleep(0.25)
    raise PipelineError(f"the consumers of {spec.topic} did not commit {expected} records "
                        f"in {timeout_s:.0f} s")


def _write(settings: StreamBenchSettings, result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = results_folder(settings.results_dir)
    (out / "stream.json").write_text(json.dumps(result, indent=1))
    names = ["kafka-python loop\n(read, discard)", "1 actor\n(to Parquet)", "2 actors\n(to Parquet)"]
    values = [result["baseline_records_per_s"], result["records_per_s"]["1"], result["records_per_s"]["2"]]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.bar(names, values, color=["#999", "#7bc", "#2a7"])
    ax.set_ylabel("records/s, committed")
    ax.set_title(f"{result['events']:,} flight events: ratio {result['ratio']:.2f}; "
                 f"p50 {result['latency_p50_ms']:.0f} ms, p95 {result['latency_p95_ms']:.0f} ms")
    fig.tight_layout()
    fig.savefig(out / "stream.png", dpi=100)
    plt.close(fig)

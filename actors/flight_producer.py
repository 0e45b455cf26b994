"""Replay the real flights as a live feed: JSON events keyed by tail number, in time order.

    rayline produce flights --topic flights [--rate 2000] [--limit 10000] [--partitions 2]

The topic is created with P partitions if it is missing. `--rate` paces the feed (events
per second); without it events go as fast as the broker takes them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from actors.kafka_admin import ensure_topic
from actors.kafka_config import KafkaSettings, check_topic_name
from cluster.errors import ClusterError, ConfigError, InputError


@dataclass(frozen=True)
class ProduceSpec:
    source: str = "data/raw/flights.csv"
    topic: str = "flights"
    rate: float | None = None  # events per second; None: as fast as possible
    limit: int | None = None
    partitions: int = 2

    def __post_init__(self) -> None:
        check_topic_name(self.topic)
        if self.partitions < 1 or (self.limit is not None and self.limit < 1):
            raise ConfigError("--partitions and --limit must be at least 1")
        if self.rate is not None and not (math.isfinite(self.rate) and self.rate > 0):
            raise ConfigError(f"--rate must be a number of events per second > 0, got {self.rate}")


def flight_events(source: str, limit: int | None = None) -> Iterator[tuple[bytes | None, bytes]]:
    """(key, value) of each valid flight in time order; the key is the tail number."""
    return _events(load_flights(source, limit))


def load_flights(source: str, limit: int | None = None):
    """The valid flights of `source` as a table in time order (read eagerly: errors come first)."""
    import pyarrow as pa

    from pipelines.csv_chunk import CsvOptions, parse_chunk
    from pipelines.csv_sources import plan_input

    opts = CsvOptions()
    plan = plan_input(source, opts, chunk_bytes=1 << 30)
    tables = []
    for chunk in plan.chunks:
        with plan.filesystem.open_input_file(chunk.source) as f:
            f.seek(chunk.start)
            tables.append(parse_chunk(f.read(chunk.end - chunk.start), chunk, opts).table)
    if not tables:
        raise InputError(f"no flights in {source}")
    table = pa.concat_tables(tables)
    table = table.sort_by([("time_hour", "ascending"), ("sched_dep_time", "ascending")])
    if limit is not None:
        table = table.slice(0, limit)
    if table.num_rows == 0:
        raise InputError(f"no valid flights in {source}")
    return table


def _events(table) -> Iterator[tuple[bytes | None, bytes]]:
    for row in table.to_pylist():
        row["time_hour"] = _iso(row["time_hour"])
        tail = row.get("tailnum")
        yield (tail.encode() if tail else None), json.dumps(row, separators=(",", ":")).encode()


def produce_flights(spec: ProduceSpec, kafka: KafkaSettings,
                    on_progress: Callable[[int], None] | None = None) -> dict:
    """Send the events; returns how many, how fast, and whether the topic was created."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    events = flight_events(spec.source, spec.limit)  # the file is read and checked before the topic exists
    created = ensure_topic(kafka, spec.topic, spec.partitions)
    producer = KafkaProducer(**kafka.client_kwargs(), acks="all", linger_ms=5, batch_size=64 << 10,
                             max_request_size=16 << 20)
    sent, started, failed = 0, None, []
    try:
        for key, value in events:
            started = started or time.perf_counter()
            producer.send(spec.topic, key=key, value=value).add_errback(failed.append)
            sent += 1
            if spec.rate:
                ahead = sent / spec.rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
            if on_progress and sent % 1000 == 0:
                on_progress(sent)
        producer.flush()
        if failed:
            raise ClusterError(f"the broker refused {len(failed)} of {sent} events, e.g.: {failed[0]}")
    except KafkaError as e:
        raise ClusterError(f"producing to {spec.topic} failed after {sent} events: {e}") from e
    finally:
        producer.close(timeout=10)
    started = started or time.perf_counter()
    seconds = time.perf_counter() - started
    return {"topic": spec.topic, "events": sent, "seconds": round(seconds, 2),
            "events_per_s": round(sent / seconds, 1) if seconds else None,
            "topic_created": "yes" if created else "no",
            "partitions": spec.partitions}


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None

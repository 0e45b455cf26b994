"""What a consumer actor does with one micro-batch: lake, dead letters, online scoring.

`BatchSinks.handle` returns only once every sink has confirmed (files renamed into place,
dead letters acknowledged by the broker), so the caller may then commit the offsets.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from actors import lake
from actors.events import Message, decode_batch
from actors.kafka_config import StreamSpec
from cluster.errors import ConfigError
from pipelines.features import CATEGORICAL, Vocabulary
from pipelines.records import FEATURE_INPUTS

log = logging.getLogger(__name__)
DELAY_APP = "delay"  # the delay model's Serve application (serve/deploy.py deploys it)
SCORER_RETRY_S = 30.0


@dataclass
class BatchResult:
    next_offsets: dict[int, int]  # partition -> offset to commit
    timestamps_ms: list[int]
    records: int
    rows_written: int
    dead_letters: int
    skipped: int  # already in the lake (a replay after a restart)
    scored: int
    per_partition: dict[int, int]
    dlq_per_partition: dict[int, int]


def load_vocabulary(path: str | None) -> Vocabulary:
    """The batch ETL's vocabularies, so streamed codes match; empty (all codes 0) without one."""
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                columns = json.load(f)["columns"]
            return {name: tuple(columns[name]) for name in CATEGORICAL}
        except FileNotFoundError:
            log.warning("no vocabulary at %s: carrier/origin/dest codes are 0 (run the ETL first)", path)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"--vocabulary {path} is not an ETL vocabulary (_vocab.json): {e!r}") from e
    return {name: () for name in CATEGORICAL}


class BatchSinks:
    """The sinks of one consumer; `handle` is called from its worker thread only."""

    def __init__(self, spec: StreamSpec, vocab: Vocabulary, producer, scorer_factory=None):
        self._spec, self._vocab, self._producer = spec, vocab, producer
        self._scorer_factory, self._scorer, self._scorer_retry_at = scorer_factory, None, 0.0
        self.scoring_errors = 0
        self._marks: dict[int, int] = {}
        self._lock = threading.Lock()

    def _current_scorer(self):
        """The scoring function; looked up again (at most every SCORER_RETRY_S) while there is none."""
        if self._scorer is None and self._scorer_factory and time.monotonic() >= self._scorer_retry_at:
            self._scorer = self._scorer_factory()
            self._scorer_retry_at = time.monotonic() + SCORER_RETRY_S
        return self._scorer

    def forget(self, partitions: list[int]) -> None:
        """Re-read the lake's high-water marks of these partitions (they changed owner)."""
        with self._lock:
            for p in partitions:
                self._marks.pop(p, None)

    def handle(self, records: list) -> BatchResult:
        by_partition: dict[int, list] = defaultdict(list)
        for record in records:
            by_partition[record.partition].append(record)
        fresh, next_offsets, skipped = [], {}, 0
        for partition, items in by_partition.items():
            mark = self._mark(partition)
            next_offsets[partition] = max(r.offset for r in items) + 1
            keep = [r for r in items if r.offset > mark]
            skipped += len(items) - len(keep)
            fresh += [Message(r.partition, r.offset, r.timestamp, r.value) for r in keep]
        decoded = decode_batch(fresh, self._vocab)
        dead = self._dead_letters(decoded.rejects, records)
        written, scored = self._write(decoded.table, fresh)
        dlq_counts: dict[int, int] = defaultdict(int)
        for message, _ in decoded.rejects:
            dlq_counts[message.partition] += 1
        return BatchResult(next_offsets, [r.timestamp for r in records], len(records), written, dead,
                           skipped, scored, {p: len(v) for p, v in by_partition.items()}, dict(dlq_counts))

    def _mark(self, partition: int) -> int:
        with self._lock:
            if partition not in self._marks:
                self._marks[partition] = lake.high_water(self._spec.lake_dir, self._spec.topic, partition)
            return self._marks[partition]

    def _write(self, table: pa.Table, messages: list[Message]) -> tuple[int, int]:
        """One lake file per partition (named by the batch's offset range), then its predictions."""
        written = scored = 0
        ranges: dict[int, tuple[int, int]] = {}
        for m in messages:
            first, last = ranges.get(m.partition, (m.offset, m.offset))
            ranges[m.partition] = (min(first, m.offset), max(last, m.offset))
        for partition, (first, last) in sorted(ranges.items()):
            rows = table.filter(pc.equal(table.column("kafka_partition"), partition))
            name = lake.file_name(self._spec.topic, partition, first, last)
            if rows.num_rows:
                # Predictions first: the lake file is what marks these offsets done.
                scored += self._score(rows, name)
                lake.write_atomically(self._spec.lake_dir, name, rows.sort_by("kafka_offset"))
                written += rows.num_rows
            with self._lock:
                self._marks[partition] = last
        return written, scored

    def _score(self, rows: pa.Table, name: str) -> int:
        scorer = self._current_scorer()
        if scorer is None:
            return 0
        records = rows.select(list(FEATURE_INPUTS)).to_pylist()
        try:
            body = scorer(records)
        except Exception as e:  # the app is away or restarting: keep the lake going, retry later
            log.warning("online scoring failed (retrying in %.0f s): %s", SCORER_RETRY_S, e)
            self._scorer, self._scorer_retry_at = None, time.monotonic() + SCORER_RETRY_S
            self.scoring_errors += 1
            return 0
        predictions = rows.select(["kafka_partition", "kafka_offset", "year", "month", "day", "carrier",
                                   "flight", "origin", "dest"])
        predictions = predictions.append_column(
            "probability", pa.array([p["probability"] for p in body["predictions"]], pa.float64()))
        predictions = predictions.append_column("model", pa.array([body["model"]] * rows.num_rows))
        lake.write_atomically(self._spec.predictions_dir, name, predictions)
        return rows.num_rows

    def _dead_letters(self, rejects: list, records: list) -> int:
        """Send each rejected record to `<topic>.dlq` with why and where it came from; wait for acks."""
        if not rejects:
            return 0
        keys = {(r.partition, r.offset): r.key for r in records}
        futures = []
        for message, reason in rejects:
            headers = [("reason", reason.encode()), ("source_topic", self._spec.topic.encode()),
                       ("source_partition", str(message.partition).encode()),
                       ("source_offset", str(message.offset).encode())]
            futures.append(self._producer.send(self._spec.dlq_topic, value=message.value,
                                               key=keys.get((message.partition, message.offset)),
                                               headers=headers))
        self._producer.flush()
        for future in futures:
            future.get(timeout=30)  # raises if the broker refused one: then nothing is committed
        return len(rejects)


def serve_scorer():
    """A function that scores records with the delay model's Serve app, or None if it is not deployed."""
    try:
        from ray import serve

        handle = serve.get_app_handle(DELAY_APP)
    except Exception:  # Serve not running, or no such application
        return None
    return lambda records: handle.predict.remote(records).result(timeout_s=60)

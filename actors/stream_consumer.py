"""One Kafka consumer as a long-lived Ray actor: a poll loop with a stop flag.

The poll thread only talks to Kafka: it gathers micro-batches (`batch_records` or `batch_ms`),
hands them to a worker thread through a bounded queue, and commits the offsets of batches the
worker has finished (lake written, dead letters acknowledged, predictions written): at-least-
once, and the lake's offset-named files make replays idempotent. When the queue is full the
consumer pauses its partitions (and keeps polling, so it stays in the group) until the worker
catches up: memory stays bounded. The loop starts in `__init__`, so an actor that Ray restarts
(max_restarts) resumes by itself from the committed offsets. A sink failure ends the process,
which is exactly such a restart.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque

from kafka import ConsumerRebalanceListener

from actors.kafka_config import KafkaSettings, StreamSpec
from actors.stream_sinks import BatchResult, BatchSinks, load_vocabulary, serve_scorer

log = logging.getLogger(__name__)


class StreamConsumer:
    """Made a Ray actor by `actors.stream`; its methods are safe to call while the loop runs."""

    def __init__(self, spec: StreamSpec, kafka: KafkaSettings, member: int):
        self._spec, self._kafka, self._member = spec, kafka, member
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._sinks: BatchSinks | None = None
        self._work: queue.Queue = queue.Queue(maxsize=spec.max_inflight_batches)
        self._done: deque[BatchResult] = deque()
        self._lock = threading.Lock()
        self._latencies: deque[float] = deque(maxlen=50_000)
        self._counts = {"records": 0, "rows_written": 0, "dlq": 0, "skipped": 0, "scored": 0, "batches": 0,
                        "pauses": 0, "commits": 0}
        self._by_partition: dict[int, dict] = {}
        self._started = time.time()
        self._first_record_at: float | None = None
        self._last_commit_at: float | None = None
        self._error: str | None = None
        self._buffer: list = []  # polled records not yet handed to the worker (poll thread only)
        self._assigned: list[int] = []
        self._loop = threading.Thread(target=self._poll_loop, name="kafka-poll", daemon=True)
        self._loop.start()

    def ready(self, timeout_s: float = 60) -> int:
        """Returns once the consumer has subscribed; raises if its set-up failed."""
        if not self._subscribed.wait(timeout_s):
            raise RuntimeError(f"consumer {self._member} did not subscribe within {timeout_s:.0f} s: "
                               f"{self._error or 'no error recorded'}")
        return self._member

    def stop(self, timeout_s: float = 120) -> dict:
        """Drain the in-flight batches, commit, close; returns the final stats."""
        self._stop.set()
        self._loop.join(timeout_s)
        return self.stats()

    def stats(self) -> dict:
        with self._lock:
            latencies = sorted(self._latencies)
            return {"member": self._member, "pid": os.getpid(), **self._counts,
                    "partitions": {p: dict(v) for p, v in self._by_partition.items()},
                    "seconds": round(time.time() - self._started, 3), "running": self._loop.is_alive(),
                    "error": self._error, "assigned": list(self._assigned),
                    "scoring_errors": self._sinks.scoring_errors if self._sinks else 0,
                    "first_record_at": self._first_record_at, "last_commit_at": self._last_commit_at,
                    "latency_p50_ms": _pct(latencies, 0.50),
                    "latency_p95_ms": _pct(latencies, 0.95), "latency_samples": len(latencies)}

    # --- the poll thread ---------------------------------------------------------------

    def _poll_loop(self) -> None:
        """Everything, set-up included, under one guard: a failure ends the process so Ray restarts it."""
        try:
            self._consume()
        except Exception as e:
            log.exception("the poll loop failed; ending this process so that Ray restarts the actor")
            with self._lock:
                self._error = f"{type(e).__name__}: {e}"
            os._exit(1)

    def _consume(self) -> None:
        from kafka import KafkaConsumer, KafkaProducer

        spec = self._spec
        consumer = KafkaConsumer(
            **self._kafka.client_kwargs(), group_id=spec.group, enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=spec.batch_records,
            max_partition_fetch_bytes=spec.max_partition_fetch_bytes, session_timeout_ms=6000,
            heartbeat_interval_ms=1000, max_poll_interval_ms=300_000, client_id=f"rayline-{self._member}")
        producer = KafkaProducer(**self._kafka.client_kwargs(), acks="all", linger_ms=5,
                                 max_request_size=16 << 20)
        sinks = BatchSinks(spec, load_vocabulary(spec.vocabulary), producer,
                           serve_scorer if spec.score else None)
        self._sinks = sinks
        worker = threading.Thread(target=self._work_loop, args=(sinks,), name="sinks", daemon=True)
        worker.start()
        consumer.subscribe([spec.topic], listener=_Rebalance(self, consumer, sinks))
        self._subscribed.set()
        try:
            self._run(consumer)
        finally:
            self._work.put(None)
            worker.join(timeout=60)
            consumer.close(autocommit=False)
            producer.close(timeout=10)

    def _run(self, consumer) -> None:
        spec, opened = self._spec, 0.0
        while not self._stop.is_set():
            self._commit(consumer)
            polled = consumer.poll(timeout_ms=100)
            for records in polled.values():
                if not self._buffer:
                    opened = time.monotonic()
                self._first_record_at = self._first_record_at or time.time()
                self._buffer.extend(records)
            full = len(self._buffer) >= spec.batch_records
            due = self._buffer and (full or time.monotonic() - opened >= spec.batch_ms / 1000)
            if due and self._offer(self._buffer):
                self._buffer = []
            self._flow_control(consumer)
        self._drain(consumer)

    def _offer(self, batch: list) -> bool:
        try:
            self._work.put_nowait(batch)
            return True
        except queue.Full:
            return False

    def _flow_control(self, consumer) -> None:
        """Pause every assigned partition while the worker's queue is full; resume when it has room."""
        paused = consumer.paused()
        if self._work.full() and not paused:
            consumer.pause(*consumer.assignment())
            with self._lock:
                self._counts["pauses"] += 1
        elif paused and not self._work.full():
            consumer.resume(*paused)

    def _drain(self, consumer) -> None:
        """Hand over what was polled, wait until the worker has finished it all, commit."""
        if self._buffer:
            self._work.put(self._buffer)
            self._buffer = []
        self._work.join()
        self._commit(consumer)

    def _commit(self, consumer) -> None:
        from kafka import TopicPartition
        from kafka.errors import CommitFailedError
        from kafka.structs import OffsetAndMetadata

        while self._done:
            result = self._done.popleft()
            offsets = {TopicPartition(self._spec.topic, p): OffsetAndMetadata(o, "", -1)
                       for p, o in result.next_offsets.items()}
            try:
                consumer.commit(offsets)
            except CommitFailedError as e:  # the partitions moved: their new owner re-reads them,
                log.warning("commit refused after a rebalance: %s", e)  # and the lake skips repeats
                continue
            now = time.time() * 1000
            with self._lock:
                self._last_commit_at = now / 1000
                self._counts["commits"] += 1
                self._latencies.extend(now - t for t in result.timestamps_ms)
                for p, o in result.next_offsets.items():
                    row = self._by_partition.setdefault(p, {"records": 0, "dlq": 0})
                    row["committed"] = o
                    row["records"] += result.per_partition.get(p, 0)
                    row["dlq"] += result.dlq_per_partition.get(p, 0)

    # --- the worker thread -------------------------------------------------------------

    def _work_loop(self, sinks: BatchSinks) -> None:
        while True:
            batch = self._work.get()
            if batch is None:
                self._work.task_done()
                return
            try:
                result = sinks.handle(batch)
            except Exception as e:
                log.exception("a sink failed; ending this process so that Ray restarts the actor")
                with self._lock:
                    self._error = f"{type(e).__name__}: {e}"
                os._exit(1)
            self._record(result)
            self._done.append(result)
            self._work.task_done()

    def _record(self, result: BatchResult) -> None:
        with self._lock:
            for key in ("records", "rows_written", "skipped", "scored"):
                self._counts[key] += getattr(result, key)
            self._counts["dlq"] += result.dead_letters
            self._counts["batches"] += 1


class _Rebalance(ConsumerRebalanceListener):
    """Before partitions move to another member: finish and commit what was taken from them."""

    def __init__(self, owner: StreamConsumer, consumer, sinks: BatchSinks):
        self._owner, self._consumer, self._sinks = owner, consumer, sinks

    def on_partitions_revoked(self, revoked) -> None:
        self._owner._drain(self._consumer)

    def on_partitions_assigned(self, assigned) -> None:
        partitions = sorted(tp.partition for tp in assigned)
        self._sinks.forget(partitions)
        self._owner._assigned = partitions


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)

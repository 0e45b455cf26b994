"""The consumer actors against the real embedded broker, on the session's local Ray."""

from __future__ import annotations

import json
import time
import uuid

import pyarrow.dataset as pads
import pytest

from actors import kafka_admin
from actors.kafka_config import KafkaSettings, StreamSpec
from actors.stream import start_stream, stream_status

pytestmark = pytest.mark.slow


def new_topic(kafka: KafkaSettings, partitions: int) -> str:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    kafka_admin.ensure_topic(kafka, topic, partitions)
    return topic


def produce(kafka: KafkaSettings, topic: str, values: list[bytes], keys=None) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(**kafka.client_kwargs(), linger_ms=5, max_request_size=16 << 20)
    for i, value in enumerate(values):
        producer.send(topic, value=value, key=(keys[i] if keys else str(i % 97).encode()))
    producer.flush()
    producer.close()


def event(flight: int, **extra) -> bytes:
    row = {"year": 2013, "month": 1, "day": 1 + flight % 28, "dep_time": 517, "sched_dep_time": 515,
           "dep_delay": 2.0, "arr_time": 830, "sched_arr_time": 819,
           "arr_delay": 11.0 if flight % 2 else None, "carrier": "UA", "flight": flight, "tailnum": "N14228",
           "origin": "EWR", "dest": "IAH", "air_time": 227.0, "distance": 1400.0, "hour": 5, "minute": 15,
           "time_hour": "2013-01-01T10:00:00Z"}
    return json.dumps({**row, **extra}).encode()


def wait_caught_up(spec: StreamSpec, kafka: KafkaSettings, produced: int, timeout_s: float = 120) -> dict:
    """Until every produced record is committed and is a lake row or a dead letter."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = stream_status(spec, kafka, None)
        ends = sum(p["end"] for p in status["partitions"])
        if ends == produced and status["lag"] == 0 and status["rows_written"] + status["dlq"] == produced:
            return status
        time.sleep(0.5)
    pytest.fail(f"the consumers did not catch up: {status}")


def one_topic_through(kafka: KafkaSettings, tmp_path, values: list[bytes], **spec_fields) -> tuple:
    """A 1-partition topic holding `values`, streamed by one actor until caught up: (spec, status, stats)."""
    topic = new_topic(kafka, 1)
    produce(kafka, topic, values)
    spec = StreamSpec(topic=topic, consumers=1, lake=str(tmp_path / "lake"), vocabulary=None, score=False,
                      **spec_fields)
    handle = start_stream(spec, kafka)
    try:
        status = wait_caught_up(spec, kafka, len(values))
        [stats] = handle.stats()
    finally:
        handle.stop()
    return spec, status, stats


def lake_offsets(spec: StreamSpec) -> list[tuple[int, int]]:
    table = pads.dataset(spec.lake_dir, format="parquet").to_table(
        columns=["kafka_partition", "kafka_offset"])
    return list(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))


@pytest.fixture
def kafka(kafka_broker) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=kafka_broker)


def test_10000_events_through_2_actors_give_10000_distinct_rows(ray_local, kafka, tmp_path):
    topic = new_topic(kafka, 2)
    produce(kafka, topic, [event(i + 1) for i in range(10_000)])
    spec = StreamSpec(topic=topic, consumers=2, lake=str(tmp_path / "lake"), vocabulary=None,
                      batch_records=1000, score=False)
    handle = start_stream(spec, kafka)
    try:
        status = wait_caught_up(spec, kafka, 10_000)
        stats = handle.stats()
    finally:
        final = handle.stop()
    offsets = lake_offsets(spec)
    assert len(offsets) == len(set(offsets)) == 10_000
    assert status["rows_written"] == 10_000 and status["dlq"] == 0
    assert sum(s["records"] for s in final) == 10_000
    assert all(s["records"] > 0 for s in stats)  # both actors took a partition
    assert {p["partition"] for p in status["partitions"]} == {0, 1}


def test_an_actor_killed_mid_stream_loses_nothing(ray_local, kafka, tmp_path):
    import ray

    topic = new_topic(kafka, 2)
    produce(kafka, topic, [event(i + 1) for i in range(10_000)])
    spec = StreamSpec(topic=topic, consumers=2, lake=str(tmp_path / "lake"), vocabulary=None,
                      batch_records=500, score=False)
    handle = start_stream(spec, kafka)
    try:
        deadline = time.monotonic() + 60
        while sum(s["rows_written"] for s in handle.stats()) < 1500 and time.monotonic() < deadline:
            time.sleep(0.1)
        victim = handle.actors[0]
        pid_before = ray.get(victim.stats.remote())["pid"]
        ray.kill(victim, no_restart=False)  # Ray restarts it (max_restarts); it resumes by itself
        wait_caught_up(spec, kafka, 10_000)
        assert ray.get(victim.stats.remote())["pid"] != pid_before
    finally:
        handle.stop()
    offsets = lake_offsets(spec)
    duplicates = len(offsets) - len(set(offsets))
    assert len(set(offsets)) == 10_000  # every event is there
    assert duplicates <= spec.batch_records  # at most one batch twice (the lake skips replays: 0 here)


def test_a_truncated_record_goes_to_the_dlq_and_never_blocks(ray_local, kafka, tmp_path):
    from kafka import KafkaConsumer

    spec, status, _ = one_topic_through(kafka, tmp_path, [event(1), event(2)[:40], event(3)])
    assert status["rows_written"] == 2 and status["dlq"] == 1
    assert status["partitions"] == [{"partition": 0, "committed": 3, "end": 3, "lag": 0,
                                     "records_per_s": 0.0, "dlq": 0}]
    assert sorted(lake_offsets(spec)) == [(0, 0), (0, 2)]
    dlq = KafkaConsumer(spec.dlq_topic, **kafka.client_kwargs(), auto_offset_reset="earliest",
                        consumer_timeout_ms=5000)
    [dead] = list(dlq)
    dlq.close()
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers["source_partition"] == "0" and headers["source_offset"] == "1"
    assert headers["reason"].startswith("not valid JSON") and dead.value == event(2)[:40]


def test_a_record_larger_than_the_fetch_size_is_handled_in_order(ray_local, kafka, tmp_path):
    big = event(2, notes="x" * 2_500_000)
    assert len(big) > StreamSpec().max_partition_fetch_bytes
    spec, _, _ = one_topic_through(kafka, tmp_path, [event(1), big, event(3)])
    table = pads.dataset(spec.lake_dir, format="parquet").to_table().sort_by("kafka_offset")
    assert table.column("flight").to_pylist() == [1, 2, 3]


def test_a_slow_sink_pauses_the_partitions(ray_local, kafka, tmp_path):
    _, _, stats = one_topic_through(kafka, tmp_path, [event(i + 1) for i in range(3000)],
                                    batch_records=50, max_inflight_batches=1)
    assert stats["pauses"] > 0 and stats["rows_written"] == 3000


def test_missing_topic_and_dead_broker_fail_fast(ray_local, kafka, tmp_path):
    from cluster.errors import ClusterError, InputError

    with pytest.raises(InputError, match="topic 'nope' does not exist"):
        start_stream(StreamSpec(topic="nope", lake=str(tmp_path)), kafka)
    with pytest.raises(ClusterError, match="cannot reach Kafka at 127.0.0.1:9"):
        start_stream(StreamSpec(topic="flights", lake=str(tmp_path)), KafkaSettings("127.0.0.1:9"))
    topic = new_topic(kafka, 1)
    too_big = StreamSpec(topic=topic, lake=str(tmp_path / "l2"), vocabulary=None, cpus_per_consumer=64,
                         start_timeout_s=5)
    with pytest.raises(ClusterError, match="did not start within 5 s: each needs 64 CPU"):
        start_stream(too_big, kafka)  # more than the cluster has: an error, not a hang


def test_poison_records_are_dead_lettered_and_the_lake_keeps_its_topic(ray_local, kafka, tmp_path):
    from cluster.errors import ConfigError

    poison = [event(2, tailnum="\ud800"),  # JSON escapes a lone surrogate: valid JSON, not valid text
              event(3).replace(b'"distance": 1400.0', b'"distance": 1' + b"0" * 400),  # too big for a float
              b"[" * 50_000]  # nested past the parser's depth
    spec, status, _ = one_topic_through(kafka, tmp_path, [event(1), *poison, event(5)])
    assert status["rows_written"] == 2 and status["dlq"] == 3 and status["partitions"][0]["committed"] == 5
    other = new_topic(kafka, 1)
    produce(kafka, other, [event(i) for i in range(1, 10)])
    with pytest.raises(ConfigError, match="another incarnation"):
        start_stream(StreamSpec(topic=other, lake=spec.lake_dir, vocabulary=None), kafka)

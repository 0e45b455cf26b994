"""Kafka checks and metadata: broker reachable, topic present (or created), offsets and lag.

Every check answers within seconds with a clear error instead of hanging on a dead broker.
"""

from __future__ import annotations

from contextlib import contextmanager

from actors.kafka_config import KafkaSettings
from cluster.errors import ClusterError, InputError


@contextmanager
def admin_client(kafka: KafkaSettings):
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        client = KafkaAdminClient(**kafka.client_kwargs())
    except KafkaError as e:
        raise ClusterError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {e} "
                           "(local broker: `rayline kafka start`)") from e
    try:
        yield client
    finally:
        client.close()


@contextmanager
def metadata_consumer(kafka: KafkaSettings):
    """A consumer outside any group, for metadata and end offsets."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    except KafkaError as e:
        raise ClusterError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {e} "
                           "(local broker: `rayline kafka start`)") from e
    try:
        yield consumer
    finally:
        consumer.close()


def ensure_topic(kafka: KafkaSettings, topic: str, partitions: int) -> bool:
    """Create `topic` with `partitions` if it is missing; returns whether it was created."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    with admin_client(kafka) as admin:
        if topic in admin.list_topics():
            return False
        try:
            admin.create_topics([NewTopic(topic, partitions, 1)])
        except TopicAlreadyExistsError:
            return False
    return True


def topic_partitions(kafka: KafkaSettings, topic: str) -> list[int]:
    """The partitions of `topic`; InputError if it does not exist."""
    with metadata_consumer(kafka) as consumer:
        partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise InputError(f"topic '{topic}' does not exist on {kafka.bootstrap_servers} "
                         f"(create it: `rayline produce flights --topic {topic}`)")
    return sorted(partitions)


def partition_offsets(kafka: KafkaSettings, topic: str, group: str) -> list[dict]:
    """Per partition: the group's committed offset, the end offset and the lag."""
    from kafka import TopicPartition

    partitions = [TopicPartition(topic, p) for p in topic_partitions(kafka, topic)]
    with metadata_consumer(kafka) as consumer:
        ends = {tp: _true_end(consumer, tp, end) for tp, end in consumer.end_offsets(partitions).items()}
    with admin_client(kafka) as admin:
        committed = admin.list_group_offsets({group: partitions}).get(group, {})
    rows = []
    for tp in partitions:
        done = committed.get(tp)
        offset = done.offset if done is not None and done.offset >= 0 else 0
        rows.append({"partition": tp.partition, "committed": offset, "end": ends[tp],
                     "lag": max(ends[tp] - offset, 0)})
    return rows


def topic_size(kafka: KafkaSettings, topic: str) -> int:
    """Messages in `topic` (sum of end offsets), 0 if it does not exist."""
    from kafka import TopicPartition

    with metadata_consumer(kafka) as consumer:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return 0
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return sum(_true_end(consumer, tp, end) for tp, end in ends.items())


def _true_end(consumer, tp, reported: int) -> int:
    """The offset after the last record. Real Kafka reports exactly that; tansu 0.6 reports the
    base offset of the last record batch, so read on from there to find the real end."""
    consumer.assign([tp])
    consumer.seek(tp, reported)
    end = reported
    while records := consumer.poll(timeout_ms=500, max_records=10_000).get(tp):
        end = records[-1].offset + 1
    return end


def first_records(kafka: KafkaSettings, topic: str) -> dict[int, tuple[int, int]]:
    """Per non-empty partition: (earliest offset, that record's timestamp in ms)."""
    from kafka import TopicPartition

    with metadata_consumer(kafka) as consumer:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        firsts = consumer.beginning_offsets(partitions)
        return {tp.partition: (offset, ts) for tp, offset in firsts.items()
                if (ts := _timestamp_at(consumer, tp, offset)) is not None}


def record_timestamp(kafka: KafkaSettings, topic: str, partition: int, offset: int) -> int | None:
    """The timestamp of the record at `offset`, or None if that offset holds none (any more)."""
    from kafka import TopicPartition

    with metadata_consumer(kafka) as consumer:
        return _timestamp_at(consumer, TopicPartition(topic, partition), offset)


def _timestamp_at(consumer, tp, offset: int) -> int | None:
    consumer.assign([tp])
    consumer.seek(tp, offset)
    records = consumer.poll(timeout_ms=2000, max_records=1).get(tp)
    return records[0].timestamp if records and records[0].offset == offset else None

"""Start, inspect and stop the consumer actors of a topic.

    rayline stream start --topic flights --consumers 2 [--lake DIR]
    rayline stream status [--json]   |   rayline stream stop

`start` checks the broker and the topic first (a clear error within seconds), then starts C
`StreamConsumer` actors in one consumer group, named `stream:<topic>:<i>` in the `rayline`
namespace. From the CLI they are detached, so they outlive the command (on a running
cluster); tests keep them in their own Ray session. Offsets, lag and the dead-letter count
come from Kafka itself, so `status` works whether or not the actors run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from actors import kafka_admin, lake
from actors.kafka_config import KafkaSettings, StreamSpec
from actors.stream_consumer import StreamConsumer
from cluster.errors import ClusterError

log = logging.getLogger(__name__)
NAMESPACE = "rayline"


@dataclass
class StreamHandle:
    """The running consumer actors of one topic."""

    spec: StreamSpec
    actors: list = field(default_factory=list)

    def stats(self) -> list[dict]:
        import ray

        return ray.get([a.stats.remote() for a in self.actors])

    def stop(self) -> list[dict]:
        """Each actor drains its in-flight batch and commits; then the actors are removed."""
        import ray

        final = ray.get([a.stop.remote() for a in self.actors])
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        return final


def actor_name(topic: str, member: int) -> str:
    return f"stream:{topic}:{member}"


def start_stream(spec: StreamSpec, kafka: KafkaSettings, detached: bool = False) -> StreamHandle:
    """Check Kafka, then start the consumer actors; returns once each has started its loop."""
    import ray

    from actors.stream_sinks import load_vocabulary

    spec = spec.resolved()
    load_vocabulary(spec.vocabulary)  # a bad vocabulary file fails here, not in every actor
    partitions = kafka_admin.topic_partitions(kafka, spec.topic)
    _check_lake_matches_topic(spec, kafka)
    if spec.consumers > len(partitions):
        log.warning("%d consumers for %d partitions: %d will stay idle", spec.consumers, len(partitions),
                    spec.consumers - len(partitions))
    kafka_admin.ensure_topic(kafka, spec.dlq_topic, 1)
    existing = [m for m in range(spec.consumers) if _lookup(spec.topic, m) is not None]
    if existing:
        from cluster.errors import ConfigError

        raise ConfigError(f"consumers of '{spec.topic}' already run (stop them: `rayline stream stop "
                          f"--topic {spec.topic}`)")
    actor_class = ray.remote(StreamConsumer)
    actors = [actor_class.options(name=actor_name(spec.topic, m), namespace=NAMESPACE,
                                  lifetime="detached" if detached else None, max_restarts=spec.max_restarts,
                                  max_concurrency=4, num_cpus=spec.cpus_per_consumer).remote(spec, kafka, m)
              for m in range(spec.consumers)]
    handle = StreamHandle(spec, actors)
    try:
        ray.get([a.ready.remote() for a in actors], timeout=spec.start_timeout_s)
    except ray.exceptions.GetTimeoutError as e:
        for actor in actors:
            ray.kill(actor, no_restart=True)
        free = ray.available_resources().get("CPU", 0)
        raise ClusterError(f"the {spec.consumers} consumer actors did not start within "
                           f"{spec.start_timeout_s:.0f} s: each needs {spec.cpus_per_consumer} CPU and the "
                           f"cluster has {free:g} free") from e
    except ray.exceptions.RayError as e:
        for actor in actors:
            ray.kill(actor, no_restart=True)
        raise ClusterError(f"a consumer actor failed to start: {e}") from e
    return handle


def find_stream(topic: str, consumers_max: int = 64) -> StreamHandle | None:
    """The running consumers of `topic` in the connected cluster, if any."""
    actors = []
    for member in range(consumers_max):
        actor = _lookup(topic, member)
        if actor is None:
            break
        actors.append(actor)
    return StreamHandle(StreamSpec(topic=topic, consumers=max(len(actors), 1)), actors) if actors else None


def stream_status(spec: StreamSpec, kafka: KafkaSettings, handle: StreamHandle | None) -> dict:
    """Per partition: committed, end, lag, records/s and DLQ count; totals for rows and DLQ."""
    partitions = kafka_admin.partition_offsets(kafka, spec.topic, spec.group)
    stats = handle.stats() if handle else []
    per_partition: dict[int, dict] = {}
    for s in stats:
        for p, row in s["partitions"].items():
            per_partition[int(p)] = {**row, "seconds": s["seconds"]}
    for row in partitions:
        seen = per_partition.get(row["partition"], {})
        row["records_per_s"] = round(seen["records"] / seen["seconds"], 1) if seen.get("seconds") else 0.0
        row["dlq"] = seen.get("dlq", 0)
    return {
        "topic": spec.topic, "group": spec.group, "running_consumers": len(stats),
        "partitions": partitions, "lag": sum(r["lag"] for r in partitions),
        "rows_written": lake.lake_rows(spec.lake_dir), "lake": spec.lake_dir,
        "rows_scored": lake.lake_rows(spec.predictions_dir), "predictions": spec.predictions_dir,
        "dlq": kafka_admin.topic_size(kafka, spec.dlq_topic), "dlq_topic": spec.dlq_topic,
        "consumers": stats,
    }


def _check_lake_matches_topic(spec: StreamSpec, kafka: KafkaSettings) -> None:
    """The lake skips offsets it already holds, so it must belong to this very topic: a topic
    deleted and made again (or a restarted in-memory broker) restarts its offsets at 0 and would
    be swallowed. The lake records the first record (offset, timestamp) of each partition it saw
    and compares them; it also refuses marks past the topic's end."""
    from cluster.errors import ConfigError

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"{spec.lake_dir} was written from another incarnation of '{spec.topic}' ({why}); "
                           "use a new --lake or remove that folder")

    for row in kafka_admin.partition_offsets(kafka, spec.topic, spec.group):
        mark = lake.high_water(spec.lake_dir, spec.topic, row["partition"])
        if mark >= row["end"]:
            raise refuse(f"it holds offset {mark} of partition {row['partition']}, "
                         f"the topic ends at {row['end']}")
    known = lake.read_anchors(spec.lake_dir)
    if known.get("topic", spec.topic) != spec.topic:
        raise refuse(f"it holds topic '{known['topic']}'")
    recorded = known.get("anchors", {})
    for partition, (offset, timestamp) in recorded.items():
        now = kafka_admin.record_timestamp(kafka, spec.topic, int(partition), offset)
        if now is not None and now != timestamp:
            raise refuse(f"the record at offset {offset} of partition {partition} is not the one it saw")
    anchors = {str(p): list(first) for p, first in kafka_admin.first_records(kafka, spec.topic).items()}
    lake.write_anchors(spec.lake_dir, {"topic": spec.topic, "anchors": {**anchors, **recorded}})


def _lookup(topic: str, member: int):
    import ray

    try:
        return ray.get_actor(actor_name(topic, member), namespace=NAMESPACE)
    except ValueError:
        return None

"""Decode and validate a micro-batch of Kafka flight events (pure: no Kafka, no Ray, no I/O).

An event is one JSON object per message with the flights columns. It is typed and checked
by the ETL's own rules (`pipelines.records`) and featurised by the ETL's feature module; a
live event may have no arrival delay yet, so its label is simply null. A message that is not
JSON, not an object, or breaks a rule is rejected with the reason, for the dead-letter topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa

from pipelines.features import FeatureSpec, Vocabulary, add_features
from pipelines.flights_schema import COLUMN_NAMES, FLIGHTS_COLUMNS
from pipelines.records import records_to_table

REQUIRED = tuple(c.name for c in FLIGHTS_COLUMNS if not c.nullable)
LINEAGE = ("kafka_partition", "kafka_offset", "kafka_timestamp_ms")


@dataclass(frozen=True)
class Message:
    """What the decoder needs of a Kafka record."""

    partition: int
    offset: int
    timestamp_ms: int
    value: bytes | None


@dataclass
class DecodedBatch:
    """Featurised rows (with their partition/offset) and the rejected messages with reasons."""

    table: pa.Table
    rejects: list[tuple[Message, str]]


def decode_batch(messages: list[Message], vocab: Vocabulary, spec: FeatureSpec | None = None) -> DecodedBatch:
    """Every message ends up either as a row of `table` or in `rejects`."""
    parsed, kept, rejects = [], [], []
    for message in messages:
        try:
            parsed.append(json.loads(message.value or b""))
            kept.append(message)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, bad UTF-8, 4,300+ digit ints, nesting
            rejects.append((message, f"not valid JSON: {str(e)[:200]}"))
    try:
        typed = records_to_table(parsed, COLUMN_NAMES, required=REQUIRED)
    except ValueError:  # a value the checks missed: type one by one so only that record is rejected
        if len(kept) <= 1:
            raise
        return _decode_one_by_one(kept, rejects, vocab, spec)
    for error in typed.errors:
        where = f"field '{error.field}': " if error.field and not error.reason.startswith("field") else ""
        rejects.append((kept[error.index], where + error.reason))
    good = [kept[i] for i in typed.indices]
    table = add_features(typed.table, vocab, spec or FeatureSpec())
    table = table.append_column(LINEAGE[0], pa.array([m.partition for m in good], pa.int32()))
    table = table.append_column(LINEAGE[1], pa.array([m.offset for m in good], pa.int64()))
    table = table.append_column(LINEAGE[2], pa.array([m.timestamp_ms for m in good], pa.int64()))
    rejects.sort(key=lambda r: (r[0].partition, r[0].offset))
    return DecodedBatch(table, rejects)


def _decode_one_by_one(kept: list[Message], rejects: list, vocab: Vocabulary,
                       spec: FeatureSpec | None) -> DecodedBatch:
    tables = []
    for message in kept:
        try:
            decoded = decode_batch([message], vocab, spec)
        except ValueError as e:
            rejects.append((message, f"could not be typed: {str(e)[:200]}"))
            continue
        tables.append(decoded.table)
        rejects.extend(decoded.rejects)
    table = pa.concat_tables(tables) if tables else decode_batch([], vocab, spec).table
    rejects.sort(key=lambda r: (r[0].partition, r[0].offset))
    return DecodedBatch(table, rejects)

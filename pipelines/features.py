"""Features of the flight-delay model: ONE module for the batch ETL, streaming and serving.

A row gives the same features whichever path it took: the label `delayed`
(`arr_delay` > 15), scheduled departure hour and weekday, distance, integer codes for
carrier, origin and dest (0 = not in the vocabulary), and a deterministic train/valid split.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CATEGORICAL = ("carrier", "origin", "dest")
CODE_COLUMNS = tuple(f"{name}_code" for name in CATEGORICAL)
NUMERIC_FEATURES = ("dep_hour", "dep_weekday", "distance")
LABEL = "delayed"
SPLIT = "split"
FEATURE_COLUMNS = (LABEL, "dep_hour", "dep_weekday", *CODE_COLUMNS, SPLIT)
UNKNOWN_CODE = 0

Vocabulary = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class FeatureSpec:
    """Settings of the feature code; stored in manifests and model metadata."""

    delay_threshold_minutes: float = 15.0
    valid_fraction: float = 0.2
    split_seed: int = 13


def distinct_categories(table: pa.Table) -> dict[str, set[str]]:
    """The non-null values of each categorical column of `table`."""
    return {name: {v for v in pc.unique(table.column(name)).to_pylist() if v is not None}
            for name in CATEGORICAL}


def build_vocabulary(values: Mapping[str, Iterable[str]]) -> Vocabulary:
    """A sorted vocabulary per categorical column; code = position + 1."""
    return {name: tuple(sorted(set(values.get(name, ())))) for name in CATEGORICAL}


def vocabulary_to_json(vocab: Vocabulary) -> str:
    return json.dumps({"unknown_code": UNKNOWN_CODE,
                       "columns": {k: list(v) for k, v in vocab.items()}}, indent=1)


def vocabulary_from_json(text: str) -> Vocabulary:
    data = json.loads(text)
    return {name: tuple(data["columns"][name]) for name in CATEGORICAL}


def has_label(table: pa.Table) -> pa.Array:
    """Rows that carry a label (an arrival delay); cancelled flights do not."""
    return pc.is_valid(table.column("arr_delay"))


def add_features(table: pa.Table, vocab: Vocabulary, spec: FeatureSpec) -> pa.Table:
    """Append the feature columns to a typed, validated flights table."""
    delayed = pc.greater(table.column("arr_delay"), spec.delay_threshold_minutes)
    days = _days_since_epoch(table)
    columns = [delayed, _dep_hour(table), _weekday(days)]
    columns += [encode(table.column(name), vocab[name]) for name in CATEGORICAL]
    columns.append(_split_column(table, days, spec))
    for name, values in zip(FEATURE_COLUMNS, columns, strict=True):
        table = table.append_column(name, values)
    return table


def model_inputs(table: pa.Table, vocab: Vocabulary) -> dict[str, np.ndarray]:
    """The model's input columns (codes and numerics) of a typed table, as `add_features` makes them.

    Serving and streaming call this on records that have no label yet.
    """
    columns = {f"{name}_code": encode(table.column(name), vocab[name]) for name in CATEGORICAL}
    columns |= {"dep_hour": _dep_hour(table), "dep_weekday": _weekday(_days_since_epoch(table)),
                "distance": table.column("distance")}
    return {name: _numpy(values) for name, values in columns.items()}


def _dep_hour(table: pa.Table) -> pa.Array:
    return pc.cast(pc.divide(table.column("sched_dep_time"), 100), pa.int32())


def _weekday(days: np.ndarray) -> pa.Array:
    return pa.array(((days + 3) % 7).astype(np.int32))


def _numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return np.array(values.to_numpy(zero_copy_only=False))  # writable: torch wraps it


def encode(values: pa.ChunkedArray | pa.Array, vocabulary: tuple[str, ...]) -> pa.Array:
    """Integer codes of `values` in `vocabulary`, 0 for values it does not hold."""
    index = pc.index_in(values, value_set=pa.array(vocabulary, type=pa.string()))
    return pc.cast(pc.fill_null(pc.add(index, 1), UNKNOWN_CODE), pa.int32())


def _days_since_epoch(table: pa.Table) -> np.ndarray:
    year = _ints(table, "year")
    month = _ints(table, "month")
    day = _ints(table, "day")
    months = ((year - 1970) * 12 + (month - 1)).astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64) + (day - 1)


def _ints(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy().astype(np.int64)


def _split_column(table: pa.Table, days: np.ndarray, spec: FeatureSpec) -> pa.Array:
    """'valid' for a stable hashed fraction of flights, else 'train'."""
    h = np.full(len(days), spec.split_seed, dtype=np.uint64)
    parts = [days, _ints(table, "sched_dep_time"), _ints(table, "flight"),
             _string_hash(table.column("carrier")), _string_hash(table.column("origin"))]
    for part in parts:
        h = _mix(h ^ part.astype(np.uint64))
    valid = (h % np.uint64(1_000_000)) < np.uint64(round(spec.valid_fraction * 1_000_000))
    return pc.if_else(pa.array(valid), "valid", "train")


def _string_hash(values: pa.ChunkedArray) -> np.ndarray:
    encoded = values.combine_chunks().dictionary_encode()
    table = np.array([zlib.crc32(s.encode()) for s in encoded.dictionary.to_pylist()] or [0],
                     dtype=np.uint64)
    return table[pc.fill_null(encoded.indices, 0).to_numpy()]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fixed, well-spread 64-bit mix (wraps on purpose)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


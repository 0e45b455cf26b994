"""JSON flight records (dicts) to a typed, validated Arrow table: serving and streaming share it.

The batch ETL parses CSV text; a prediction request or a Kafka event carries JSON objects.
Both end in the same typed columns and the same row rules (`pipelines.validate`), so a
record is accepted or rejected for the same reason whichever path it took. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from pipelines.flights_schema import COLUMNS_BY_NAME, Column
from pipelines.validate import find_violations

_YEARS = (int(COLUMNS_BY_NAME["year"].min_value), int(COLUMNS_BY_NAME["year"].max_value))

# What the model's features are computed from: a prediction needs only these fields.
FEATURE_INPUTS = ("year", "month", "day", "sched_dep_time", "carrier", "origin", "dest", "distance")


@dataclass(frozen=True)
class RecordError:
    """Why record number `index` (0-based, in the order given) was not accepted."""

    index: int
    field: str | None
    reason: str

    def to_json(self) -> dict:
        return {"index": self.index, "field": self.field, "reason": self.reason}


@dataclass
class TypedRecords:
    """The accepted records as a typed table, their indices in the input, and the rejected ones."""

    table: pa.Table
    indices: list[int]
    errors: list[RecordError]


def records_to_table(records: Sequence[object], columns: Sequence[str],
                     required: Sequence[str] = ()) -> TypedRecords:
    """Type `columns` of each record, then apply the schema's row rules.

    A field in `required` must be present (it may still be null where the schema allows);
    others may be absent and are then null. Fields not in `columns` are ignored.
    """
    specs = [COLUMNS_BY_NAME[name] for name in columns]
    plan = [(c.name, c.kind, c.name in set(required)) for c in specs]  # `kind` once, not per value
    values: dict[str, list] = {c.name: [] for c in specs}
    indices, errors = [], []
    for index, record in enumerate(records):
        row, error = _type_record(index, record, plan)
        if error:
            errors.append(error)
            continue
        indices.append(index)
        for c in specs:
            values[c.name].append(row[c.name])
    table = _build_table(specs, values)
    violations = find_violations(table)
    if violations:
        bad = {v.row for v in violations}
        errors += [RecordError(indices[v.row], v.field, v.reason) for v in violations]
        keep = np.array([i not in bad for i in range(table.num_rows)], dtype=bool)
        table = table.filter(pa.array(keep))
        indices = [idx for i, idx in enumerate(indices) if i not in bad]
    errors.sort(key=lambda e: e.index)
    return TypedRecords(table, indices, errors)


def _build_table(specs: Sequence[Column], values: dict[str, list]) -> pa.Table:
    try:
        return pa.table({c.name: pa.array(values[c.name], type=c.type) for c in specs})
    except (pa.ArrowException, ValueError, OverflowError) as e:  # _typed_value should prevent this
        raise ValueError(f"typed values did not fit the schema: {e}") from e


def _type_record(index: int, record: object,
                 plan: list[tuple[str, str, bool]]) -> tuple[dict, RecordError | None]:
    if not isinstance(record, Mapping):
        return {}, RecordError(index, None, f"a record must be a JSON object, not {type(record).__name__}")
    row = {}
    for name, kind, required in plan:
        if name not in record:
            if required:
                return {}, RecordError(index, name, f"missing field '{name}'")
            row[name] = None
            continue
        try:
            row[name] = _typed_value(record[name], kind)
        except ValueError as e:
            return {}, RecordError(index, name, f"field '{name}': {e}")
    return row, None


def _typed_value(value: object, kind: str) -> object:
    """The Python value of `value` for a column of this kind; ValueError says what is wrong."""
    if value is None:
        return None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected an integer, got {_short(value)}")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"expected an integer, got {_short(value)}")
        if abs(value) >= 2**31:
            raise ValueError(f"{_short(value)} does not fit in 32 bits")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {_short(value)}")
        try:
            return float(value)
        except OverflowError as e:
            raise ValueError(f"{_short(value)} is too large for a float") from e
    if kind == "timestamp":
        return _timestamp(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {_short(value)}")
    _check_unicode(value)
    return value


def _check_unicode(text: str) -> None:
    """JSON may carry lone surrogates (\ud800), which no UTF-8 column can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{_short(text)} is not valid Unicode ({e.reason})") from e


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 time with a zone, got {_short(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        raise ValueError(f"{_short(value)} is not an ISO-8601 time") from e
    if parsed.tzinfo is None:
        raise ValueError(f"{_short(value)} has no time zone")
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError as e:
        raise ValueError(f"{_short(value)} is out of range") from e
    if not _YEARS[0] <= utc.year <= _YEARS[1]:
        raise ValueError(f"{_short(value)} is outside the years {_YEARS[0]}..{_YEARS[1]}")
    return utc

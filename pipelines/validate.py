"""Row rules of the flights schema, applied to typed Arrow tables (vectorised, pure).

The batch ETL and the streaming consumer both call `find_violations`, so a record is
accepted or rejected for the same reason whichever path it took.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.flights_schema import FLIGHTS_COLUMNS, Column

_DAYS_IN_MONTH = pa.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], type=pa.int32())
_CLOCK_COLUMNS = ("dep_time", "sched_dep_time", "arr_time", "sched_arr_time")


@dataclass(frozen=True)
class Violation:
    """The first rule a row breaks."""

    row: int
    field: str
    value: str | None
    reason: str


def find_violations(table: pa.Table) -> list[Violation]:
    """Every row of `table` that breaks a rule, with the first rule it breaks.

    `table` may hold a subset of the schema's columns (serving needs only the features'
    inputs); the rules of the columns it holds are applied.
    """
    checks = _rule_masks(table)
    if not checks:
        return []
    any_bad = np.zeros(table.num_rows, dtype=bool)
    for _, _, mask in checks:
        any_bad |= mask
    violations = []
    for row in np.flatnonzero(any_bad):
        for name, describe, mask in checks:
            if mask[row]:
                value = table.column(name)[int(row)].as_py()
                violations.append(Violation(int(row), name, _text(value), describe(value)))
                break
    return violations


def _rule_masks(table: pa.Table) -> list[tuple[str, object, np.ndarray]]:
    """(field, describe(value) -> reason, bad-row mask) for each rule some row breaks."""
    checks = []
    present = set(table.column_names)
    for column in (c for c in FLIGHTS_COLUMNS if c.name in present):
        values = table.column(column.name)
        if not column.nullable:
            checks.append((column.name, lambda v: "missing required value", _mask(pc.is_null(values))))
        if column.min_value is not None:
            checks.append((column.name, _range_reason(column), _mask(_out_of_range(values, column))))
        if column.code_length is not None:
            checks.append((column.name, _code_reason(column.code_length), _mask(_bad_code(values, column))))
    for name in (n for n in _CLOCK_COLUMNS if n in present):
        minutes = pc.fill_null(pc.greater_equal(pc.remainder(table.column(name), 100), 60), False)
        checks.append((name, lambda v: f"{v} is not a clock time (minutes must be < 60)", _mask(minutes)))
    if {"year", "month", "day"} <= present:
        past_end = _mask(_day_past_month_end(table))
        checks.append(("day", lambda v: f"day {v} is past the end of its month", past_end))
    return [(name, describe, mask) for name, describe, mask in checks if mask.any()]


def _out_of_range(values: pa.ChunkedArray, column: Column) -> pa.ChunkedArray:
    low = pc.less(values, column.min_value)
    high = pc.greater(values, column.max_value)
    bad = pc.or_(low, high)
    if pa.types.is_floating(column.type):
        bad = pc.or_(bad, pc.is_nan(values))
    return pc.fill_null(bad, False)


def _bad_code(values: pa.ChunkedArray, column: Column) -> pa.ChunkedArray:
    wrong_length = pc.not_equal(pc.utf8_length(values), column.code_length)
    bad = pc.or_(wrong_length, pc.invert(pc.ascii_is_alnum(values)))
    return pc.fill_null(bad, False)


def _code_reason(length: int):
    def describe(value: object) -> str:
        return f"{value!r} is not a code of {length} ASCII letters or digits"
    return describe


def _range_reason(column: Column):
    def describe(value: object) -> str:
        return f"{_text(value)} is outside [{_text(column.min_value)}, {_text(column.max_value)}]"
    return describe


def _day_past_month_end(table: pa.Table) -> pa.ChunkedArray:
    year, month, day = (table.column(n) for n in ("year", "month", "day"))
    valid_month = pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12))
    index = pc.subtract(pc.if_else(pc.fill_null(valid_month, False), month, 1), 1)
    days = pc.take(_DAYS_IN_MONTH, index)
    leap = pc.and_(pc.equal(pc.remainder(year, 4), 0),
                   pc.or_(pc.not_equal(pc.remainder(year, 100), 0), pc.equal(pc.remainder(year, 400), 0)))
    days = pc.if_else(pc.and_(pc.equal(month, 2), leap), 29, days)
    return pc.fill_null(pc.greater(day, days), False)


def _mask(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

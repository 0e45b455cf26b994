"""The explicit, versioned schema of the nycflights13 `flights` table, and its row rules.

Shared by every path that reads flights (the batch ETL, the streaming consumer, serving):
no engine guesses types. Bump SCHEMA_VERSION whenever a column, type or rule changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

SCHEMA_NAME = "flights"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    """One input column: its Arrow type, whether it may be null, and its allowed range."""

    name: str
    type: pa.DataType
    nullable: bool = False
    min_value: float | None = None
    max_value: float | None = None
    code_length: int | None = None  # text codes: exactly this many ASCII letters or digits

    @property
    def kind(self) -> str:
        """'int', 'float', 'string' or 'timestamp': how text in this column is parsed."""
        if pa.types.is_integer(self.type):
            return "int"
        if pa.types.is_floating(self.type):
            return "float"
        if pa.types.is_timestamp(self.type):
            return "timestamp"
        return "string"


_I32, _F64, _STR = pa.int32(), pa.float64(), pa.string()
_UTC_SECONDS = pa.timestamp("s", tz="UTC")

FLIGHTS_COLUMNS: tuple[Column, ...] = (
    Column("year", _I32, min_value=1900, max_value=2200),
    Column("month", _I32, min_value=1, max_value=12),
    Column("day", _I32, min_value=1, max_value=31),
    Column("dep_time", _I32, nullable=True, min_value=0, max_value=2400),
    Column("sched_dep_time", _I32, min_value=0, max_value=2359),
    Column("dep_delay", _F64, nullable=True, min_value=-1440, max_value=2880),
    Column("arr_time", _I32, nullable=True, min_value=0, max_value=2400),
    Column("sched_arr_time", _I32, min_value=0, max_value=2359),
    Column("arr_delay", _F64, nullable=True, min_value=-1440, max_value=2880),
    Column("carrier", _STR, code_length=2),
    Column("flight", _I32, min_value=1, max_value=99999),
    Column("tailnum", _STR, nullable=True),
    Column("origin", _STR, code_length=3),
    Column("dest", _STR, code_length=3),
    Column("air_time", _F64, nullable=True, min_value=0, max_value=1440),
    Column("distance", _F64, min_value=1, max_value=20000),
    Column("hour", _I32, min_value=0, max_value=23),
    Column("minute", _I32, min_value=0, max_value=59),
    Column("time_hour", _UTC_SECONDS),
)

COLUMNS_BY_NAME: dict[str, Column] = {c.name: c for c in FLIGHTS_COLUMNS}
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in FLIGHTS_COLUMNS)


def check_header(names: list[str]) -> tuple[list[str], list[str]]:
    """Return (missing, unexpected) column names of a CSV header against the schema."""
    seen = set(names)
    missing = [n for n in COLUMN_NAMES if n not in seen]
    unexpected = [n for n in names if n not in COLUMNS_BY_NAME]
    return missing, unexpected


def schema_description() -> dict:
    """A JSON-ready description of the schema, stored in manifests."""
    return {
        "name": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "columns": [
            {"name": c.name, "type": str(c.type), "nullable": c.nullable,
             "min": c.min_value, "max": c.max_value}
            for c in FLIGHTS_COLUMNS
        ],
    }

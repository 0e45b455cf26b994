"""Parse one byte range of a CSV file into a typed Arrow table plus the rows it rejects.

The fast path is pyarrow's multithreaded typed reader. When it cannot take a chunk whole
(a ragged row, text in a numeric column, bytes that are not valid in the encoding), the
chunk is parsed again row by row so that every bad row is rejected with its line number
and reason while every good row still comes through. Pure: no Ray, no files written.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from pipelines.flights_schema import COLUMNS_BY_NAME, FLIGHTS_COLUMNS, Column

_INT_RE = r"^[+-]?[0-9]{1,18}$"
_FLOAT_RE = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_INT32_LIMIT = 2**31


@dataclass(frozen=True)
class CsvOptions:
    """How the CSV text is read: null markers, text encoding and delimiter."""

    null_values: tuple[str, ...] = ("NA", "")
    encoding: str = "utf-8"
    delimiter: str = ","


@dataclass(frozen=True)
class ChunkRef:
    """A byte range [start, end) of one source file holding whole CSV records."""

    source: str
    file_index: int
    chunk_index: int
    start: int
    end: int
    first_line: int
    column_names: tuple[str, ...]


@dataclass(frozen=True)
class Reject:
    """One input record that did not pass: where it was and why."""

    source: str
    line: int
    reason: str
    field: str | None = None
    value: str | None = None
    raw: str | None = None

    def to_json(self) -> dict:
        return {"source": self.source, "line": self.line, "field": self.field,
                "value": self.value, "reason": self.reason, "raw": self.raw}


@dataclass
class ParsedChunk:
    """The typed rows of a chunk, the first line number of each, and the rejected records."""

    table: pa.Table
    row_lines: np.ndarray
    rejects: list[Reject] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return self.table.num_rows + len(self.rejects)


def parse_chunk(data: bytes, chunk: ChunkRef, opts: CsvOptions) -> ParsedChunk:
    """Parse `data` (the bytes of `chunk`) into canonical typed columns and rejects."""
    table = _read_typed(data, chunk.column_names, opts)
    if table is not None:
        lines = _fast_row_lines(data, table.num_rows, chunk.first_line)
        if lines is None:
            lines = record_lines(data, chunk.first_line, opts)
        return ParsedChunk(_canonical(table), lines)
    return read_rowwise(data, chunk, opts)


def raw_lines(data: bytes, chunk: ChunkRef, lines: list[int], encoding: str) -> list[str]:
    """The text of the given physical lines of the chunk, for quarantine records."""
    if not lines:
        return []
    offsets = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    texts = []
    for line in lines:
        rel = line - chunk.first_line
        begin = 0 if rel == 0 else int(offsets[rel - 1]) + 1
        end = int(offsets[rel]) if rel < len(offsets) else len(data)
        texts.append(data[begin:end].rstrip(b"\r").decode(encoding, errors="backslashreplace"))
    return texts


def record_lines(data: bytes, first_line: int, opts: CsvOptions) -> np.ndarray:
    """The physical line on which each CSV record of `data` starts (blank lines skipped)."""
    if b'"' not in data:
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        starts = np.concatenate(([0], ends + 1))
        stops = np.concatenate((ends, [len(data)]))
        stripped = stops - (np.frombuffer(data, dtype=np.uint8)[np.maximum(stops - 1, 0)] == 13)
        non_empty = stripped > starts
        return first_line + np.flatnonzero(non_empty).astype(np.int64)
    text = data.decode(opts.encoding, errors="surrogateescape")
    reader = csv.reader(_physical_lines(text), delimiter=opts.delimiter, strict=False)
    lines = []
    while True:
        line = first_line + reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            row = [""]
        if row:
            lines.append(line)
    return np.array(lines, dtype=np.int64)


def _read_typed(data: bytes, names: tuple[str, ...], opts: CsvOptions) -> pa.Table | None:
    """pyarrow's typed reader over the whole chunk, or None when any row needs a closer look."""
    invalid_rows: list[pa_csv.InvalidRow] = []
    types = {n: COLUMNS_BY_NAME[n].type for n in names}
    try:
        table = _pyarrow_read(data, names, types, opts, invalid_rows, use_threads=True)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    return None if invalid_rows else table


def _pyarrow_read(data: bytes, names: tuple[str, ...], types: dict[str, pa.DataType],
                  opts: CsvOptions, invalid_rows: list, use_threads: bool) -> pa.Table:
    def on_invalid(row: pa_csv.InvalidRow) -> str:
        invalid_rows.append(row)
        return "skip"

    read_options = pa_csv.ReadOptions(column_names=list(names), encoding=opts.encoding,
                                      block_size=8 << 20, use_threads=use_threads)
    parse_options = pa_csv.ParseOptions(delimiter=opts.delimiter, invalid_row_handler=on_invalid,
                                        newlines_in_values=b'"' in data)
    convert_options = pa_csv.ConvertOptions(column_types=types, null_values=list(opts.null_values),
                                            strings_can_be_null=True, quoted_strings_can_be_null=True)
    return pa_csv.read_csv(pa.BufferReader(data), read_options=read_options,
                           parse_options=parse_options, convert_options=convert_options)


def _fast_row_lines(data: bytes, num_rows: int, first_line: int) -> np.ndarray | None:
    """Line numbers of rows when each row is exactly one line, else None."""
    lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    if lines != num_rows:
        return None
    return np.arange(first_line, first_line + num_rows, dtype=np.int64)


def _canonical(table: pa.Table) -> pa.Table:
    """Columns in schema order with schema types."""
    return table.select([c.name for c in FLIGHTS_COLUMNS])


def read_rowwise(data: bytes, chunk: ChunkRef, opts: CsvOptions) -> ParsedChunk:
    """The slow path: every field read as bytes, so each bad record or value is found on its own."""
    names = chunk.column_names
    invalid_rows: list[pa_csv.InvalidRow] = []
    table = _pyarrow_read(data, names, {n: pa.binary() for n in names}, opts, invalid_rows,
                          use_threads=False)
    lines = record_lines(data, chunk.first_line, opts)
    if len(lines) != table.num_rows + len(invalid_rows):
        raise ValueError(f"{chunk.source}: found {len(lines)} records but parsed "
                         f"{table.num_rows + len(invalid_rows)} near line {chunk.first_line}")
    ragged = np.array([r.number - 1 for r in invalid_rows], dtype=np.int64)
    rejects = [Reject(chunk.source, int(lines[i]), f"expected {len(names)} fields, found "
                      f"{r.actual_columns}", raw=r.text) for i, r in zip(ragged, invalid_rows, strict=True)]
    keep = np.ones(len(lines), dtype=bool)
    keep[ragged] = False
    return _convert_rows(table, lines[keep], chunk, opts, rejects, data)


def _physical_lines(text: str):
    """Yield the text line by line, splitting on '\\n' only (as line numbers count them)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _convert_rows(binary: pa.Table, lines: np.ndarray, chunk: ChunkRef, opts: CsvOptions,
                  rejects: list[Reject], data: bytes) -> ParsedChunk:
    """Decode byte columns to text, then convert them; a record with any bad field is rejected."""
    texts: dict[str, pa.Array] = {}
    decode_errors: dict[str, list[tuple[int, str]]] = {}
    for name in chunk.column_names:
        texts[name], decode_errors[name] = _decode_column(binary.column(name).combine_chunks(), opts.encoding)
    raw_values = {name: binary.column(name) for name in chunk.column_names}
    return convert_text_columns(texts, lines, chunk, opts, rejects, data, decode_errors, raw_values)


def convert_text_columns(texts: dict[str, pa.Array], lines: np.ndarray, chunk: ChunkRef, opts: CsvOptions,
                         rejects: list[Reject], data: bytes,
                         earlier_errors: dict[str, list[tuple[int, str]]] | None = None,
                         raw_values: dict[str, pa.ChunkedArray] | None = None) -> ParsedChunk:
    """Text columns (nulls already marked) to the schema's types, with Arrow's own parsers (the
    same ones pyarrow's CSV reader uses); every record with a field that does not convert is
    rejected with its line number. Shared by the row-wise path and the pandas reader."""
    bad: dict[int, tuple[str, str | None, str]] = {}
    arrays: dict[str, pa.Array] = {}
    for name in chunk.column_names:
        arrays[name], conversion_errors = _convert_column(texts[name], COLUMNS_BY_NAME[name])
        for i, message in (earlier_errors or {}).get(name, []) + conversion_errors:
            value = raw_values[name][i].as_py() if raw_values else texts[name][i].as_py()
            bad.setdefault(i, (name, _value_text(value), message))
    keep = np.ones(len(lines), dtype=bool)
    bad_rows = sorted(bad)
    raws = raw_lines(data, chunk, [int(lines[i]) for i in bad_rows], opts.encoding)
    for i, raw in zip(bad_rows, raws, strict=True):
        name, value, message = bad[i]
        keep[i] = False
        rejects.append(Reject(chunk.source, int(lines[i]), f"field '{name}': {message}",
                              field=name, value=value, raw=raw))
    table = pa.table([arrays[c.name] for c in FLIGHTS_COLUMNS],
                     names=[c.name for c in FLIGHTS_COLUMNS])
    rejects.sort(key=lambda r: r.line)
    return ParsedChunk(table.filter(pa.array(keep)), lines[keep], rejects)


def _value_text(value: bytes | str | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return value


def _decode_column(values: pa.Array, encoding: str) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Bytes to text; each value that is not valid text becomes null and an error."""
    try:
        return pc.cast(values, pa.string()), []
    except pa.ArrowInvalid:
        pass
    texts: list[str | None] = []
    errors: list[tuple[int, str]] = []
    for i, value in enumerate(values.to_pylist()):
        try:
            texts.append(None if value is None else value.decode("utf-8"))
        except UnicodeDecodeError as e:
            texts.append(None)
            errors.append((i, f"byte 0x{value[e.start]:02X} at position {e.start + 1} is not "
                              f"valid {encoding} (pass --encoding, e.g. latin-1)"))
    return pa.array(texts, type=pa.string()), errors


def _convert_column(strings: pa.Array, column: Column) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Typed array (bad values null) and (row, message) for every value that did not convert.

    Arrow's cast decides, as pyarrow's CSV reader would (which also trims spaces and tabs
    around numbers); a regular expression only narrows down where to look when it fails.
    """
    kind = column.kind
    if kind == "string":
        return strings, []
    if kind == "timestamp":
        return _convert_timestamps(strings, column.type)
    strings = pc.utf8_trim(strings, " \t")
    target = pa.int64() if kind == "int" else column.type
    try:
        values, errors = pc.cast(strings, target), []
    except pa.ArrowInvalid:
        values, errors = _cast_each_bad_value(strings, target, _INT_RE if kind == "int" else _FLOAT_RE, kind)
    if kind == "float":
        return values, errors
    too_big = pc.fill_null(pc.greater_equal(pc.abs(values), _INT32_LIMIT), False)
    for i in np.flatnonzero(too_big.to_numpy(zero_copy_only=False)):
        errors.append((int(i), f"{values[int(i)].as_py()} is out of range for a 32-bit integer"))
    return pc.cast(pc.if_else(too_big, None, values), column.type), errors


def _cast_each_bad_value(strings: pa.Array, target: pa.DataType, pattern: str,
                         kind: str) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Cast a column in which some value fails: values the pattern doubts are cast one by one."""
    ok = pc.fill_null(pc.match_substring_regex(strings, pattern), True).to_numpy(zero_copy_only=False)
    try:
        pc.cast(pc.if_else(pa.array(ok), strings, None), target)
    except pa.ArrowInvalid:
        ok = np.zeros(len(strings), dtype=bool)  # the pattern let a bad value through: check all
        ok[np.flatnonzero(pc.is_null(strings).to_numpy(zero_copy_only=False))] = True
    errors = []
    for i in np.flatnonzero(~ok):
        text = strings[int(i)].as_py()
        try:
            pc.cast(pa.array([text]), target)
            ok[i] = True
        except pa.ArrowInvalid:
            errors.append((int(i), f"'{text}' is not {'an integer' if kind == 'int' else 'a number'}"))
    return pc.cast(pc.if_else(pa.array(ok), strings, None), target), errors


def _convert_timestamps(strings: pa.Array, type_: pa.DataType) -> tuple[pa.Array, list[tuple[int, str]]]:
    try:
        return pc.cast(strings, type_), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[datetime | None] = []
    errors: list[tuple[int, str]] = []
    for i, text in enumerate(strings.to_pylist()):
        values.append(None if text is None else _parse_instant(text))
        if text is not None and values[-1] is None:
            errors.append((i, f"'{text}' is not an ISO-8601 date-time with a zone offset"))
    return pa.array(values, type=type_), errors


def _parse_instant(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return None if value.tzinfo is None else value.astimezone(UTC)

"""Parsing chunks: the fast path, and every bad-input case of the slow path, with exact lines."""

from __future__ import annotations

from conftest import HEADER, good_rows

from pipelines.csv_chunk import ChunkRef, CsvOptions, parse_chunk

NAMES = tuple(HEADER.split(","))


def parse(lines: list[str], opts: CsvOptions | None = None, raw: bytes | None = None):
    data = raw if raw is not None else ("\n".join(lines) + "\n").encode()
    return parse_chunk(data, ChunkRef("f.csv", 0, 0, 0, len(data), 2, NAMES), opts or CsvOptions())


def test_good_rows_take_the_fast_path_with_line_numbers():
    parsed = parse(good_rows(5))
    assert parsed.table.num_rows == 5 and parsed.rejects == []
    assert parsed.row_lines.tolist() == [2, 3, 4, 5, 6]
    assert parsed.table.column("flight").to_pylist() == [1, 2, 3, 4, 5]


def test_null_markers_become_nulls():
    row = good_rows(1)[0].replace(",N14228,", ",NA,").replace(",830,", ",,")
    parsed = parse([row])
    assert parsed.table.column("tailnum").to_pylist() == [None]
    assert parsed.table.column("arr_time").to_pylist() == [None]


def test_ragged_rows_are_rejected_with_their_lines():
    lines = good_rows(6)
    lines[1] = "2013,1,1,517"
    lines[4] = lines[4] + ",extra"
    parsed = parse(lines)
    assert parsed.table.num_rows == 4
    assert [(r.line, r.reason) for r in parsed.rejects] == [
        (3, "expected 19 fields, found 4"), (6, "expected 19 fields, found 20")]
    assert parsed.rejects[0].raw == "2013,1,1,517"
    assert parsed.row_lines.tolist() == [2, 4, 5, 7]


def test_quoted_newline_is_one_row_and_later_lines_stay_exact():
    lines = good_rows(4)
    lines[1] = lines[1].replace(",N14228,", ',"N14\n228",')
    lines[3] = "only,three,fields"
    parsed = parse(lines)
    assert parsed.table.num_rows == 3
    assert parsed.table.column("tailnum").to_pylist()[1] == "N14\n228"
    assert [(r.line, r.reason) for r in parsed.rejects] == [(6, "expected 19 fields, found 3")]
    assert parsed.row_lines.tolist() == [2, 3, 5]


def test_text_far_into_a_numeric_column_rejects_only_that_row():
    lines = good_rows(250_001)
    lines[250_000] = lines[250_000].replace(",1400,", ",OVERRANGE,")
    parsed = parse(lines)
    assert parsed.table.num_rows == 250_000
    assert len(parsed.rejects) == 1
    reject = parsed.rejects[0]
    assert (reject.line, reject.field, reject.value) == (250_002, "distance", "OVERRANGE")
    assert "is not a number" in reject.reason


def test_integer_overflow_is_rejected_not_crashed():
    lines = good_rows(3)
    lines[2] = lines[2].replace(",UA,3,", ",UA,99999999999,")
    parsed = parse(lines)
    assert parsed.table.num_rows == 2
    assert parsed.rejects[0].field == "flight" and "out of range" in parsed.rejects[0].reason


def test_latin1_bytes_without_encoding_are_rejected_naming_the_position():
    data = ("\n".join(good_rows(3)) + "\n").encode().replace(b"N14228", b"N\xe9228", 1)
    parsed = parse([], raw=data)
    assert parsed.table.num_rows == 2
    reject = parsed.rejects[0]
    assert (reject.line, reject.field) == (2, "tailnum")
    assert "0xE9 at position 2" in reject.reason and "--encoding" in reject.reason


def test_latin1_bytes_with_encoding_decode_right():
    data = ("\n".join(good_rows(3)) + "\n").encode().replace(b"N14228", b"N\xe9228", 1)
    parsed = parse([], CsvOptions(encoding="latin-1"), raw=data)
    assert parsed.rejects == []
    assert parsed.table.column("tailnum").to_pylist()[0] == "Né228"


def test_timestamp_without_zone_is_rejected_like_pyarrow_does():
    lines = good_rows(2)
    lines[1] = lines[1].replace("2013-01-01T10:00:00Z", "2013-01-01 10:00:00")
    parsed = parse(lines)
    assert parsed.table.num_rows == 1
    assert parsed.rejects[0].field == "time_hour"

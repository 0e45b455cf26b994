"""Row rules: each broken rule is found, named and explained; real-looking rows pass."""

from __future__ import annotations

import pytest
from conftest import HEADER, good_rows

from pipelines.csv_chunk import ChunkRef, CsvOptions, parse_chunk
from pipelines.validate import find_violations

NAMES = tuple(HEADER.split(","))


def table_of(lines: list[str]):
    data = ("\n".join(lines) + "\n").encode()
    parsed = parse_chunk(data, ChunkRef("f.csv", 0, 0, 0, len(data), 2, NAMES), CsvOptions())
    assert parsed.rejects == []
    return parsed.table


@pytest.mark.parametrize("old,new,field,reason", [
    ("2013,1,1,", "2013,13,1,", "month", "13 is outside [1, 12]"),
    (",1400,", ",-5,", "distance", "-5 is outside [1, 20000]"),
    ("2013,1,1,", "2013,2,30,", "day", "day 30 is past the end of its month"),
    (",UA,", ",NA,", "carrier", "missing required value"),
    (",515,", ",575,", "sched_dep_time", "575 is not a clock time (minutes must be < 60)"),
    (",5,15,", ",24,15,", "hour", "24 is outside [0, 23]"),
])
def test_each_rule_names_field_and_reason(old, new, field, reason):
    lines = good_rows(3)
    lines[1] = lines[1].replace(old, new, 1)
    violations = find_violations(table_of(lines))
    assert [(v.row, v.field, v.reason) for v in violations] == [(1, field, reason)]


def test_leap_day_is_valid_only_in_leap_years():
    leap = good_rows(1)[0].replace("2013,1,1,", "2016,2,29,", 1)
    not_leap = good_rows(1)[0].replace("2013,1,1,", "2015,2,29,", 1)
    assert find_violations(table_of([leap])) == []
    assert [v.field for v in find_violations(table_of([not_leap]))] == ["day"]


def test_valid_rows_pass():
    assert find_violations(table_of(good_rows(50))) == []


@pytest.mark.parametrize("bad", [" UA", "U\x00A", "UAL", "U"])
def test_carrier_must_be_a_two_character_code(bad):
    lines = good_rows(2)
    lines[1] = lines[1].replace(",UA,", f",{bad},")
    [violation] = find_violations(table_of(lines))
    assert (violation.row, violation.field) == (1, "carrier")
    assert "not a code of 2 ASCII letters or digits" in violation.reason

"""Ray Data, Spark, Modin and pandas run the same ETL contract: on the real flights file and on
every bad input of the ETL issue they write the same manifest (engine, dest and times aside),
the same quarantine and the same per-carrier aggregates. Real Ray, real Spark, real Modin."""

from __future__ import annotations

import json

import pytest
from conftest import HEADER, good_rows

from pipelines.csv_chunk import CsvOptions
from pipelines.etl_compare import EngineRun, carrier_aggregates, find_differences, quarantine_records
from pipelines.etl_config import EtlSpec
from pipelines.etl_engines import ENGINES, EngineOptions, run_engine_etl

pytestmark = pytest.mark.slow


@pytest.fixture
def run_all(ray_local, spark_local, tmp_path):
    """Run every engine on `source`; assert they agree; return the ray manifest and folder."""

    def run(source, spec: EtlSpec | None = None, label: str = "out"):
        runs = []
        for engine in ENGINES:
            dest = tmp_path / label / engine
            report = run_engine_etl(engine, str(source), str(dest), spec,
                                    options=EngineOptions(spark_master="local[2]"))
            assert report.manifest["engine"] == engine
            runs.append(EngineRun(engine, str(dest), report.manifest, 0.0, 0.0))
        assert find_differences(runs) == []
        return runs[0].manifest, tmp_path / label / "ray"

    return run


def counts(m: dict) -> tuple[int, int, int, int]:
    return m["rows_in"], m["rows_out"], m["rows_filtered"], m["rows_rejected"]


def test_real_flights_on_every_engine(run_all, flights_csv):
    m, dest = run_all(flights_csv)
    assert counts(m) == (336_776, 327_346, 9_430, 0) and m["rows_delayed"] == 77_630
    aggregates = carrier_aggregates(str(dest))
    assert len(aggregates) == 16 and sum(a[2] for a in aggregates.values()) == 327_346


def test_ragged_rows_over_several_chunks(run_all, write_csv):
    lines = good_rows(4000)
    for i in (10, 1999, 3998):
        lines[i] = "2013,1,1,517,515"
    lines[500] = lines[500] + ",extra"
    m, dest = run_all(write_csv("ragged.csv", lines), EtlSpec(chunk_bytes=64 << 10))
    assert len(m["outputs"]) > 3 and counts(m) == (4000, 3996, 0, 4)
    assert [(r["line"], r["reason"]) for r in quarantine_records(str(dest))] == [
        (12, "expected 19 fields, found 5"), (502, "expected 19 fields, found 20"),
        (2001, "expected 19 fields, found 5"), (4000, "expected 19 fields, found 5")]


def test_rule_breaking_unlabelled_and_unparseable_rows(run_all, write_csv):
    lines = good_rows(9)
    lines[1] = lines[1].replace("2013,1,1,", "2013,13,1,", 1)
    lines[2] = lines[2].replace(",1400,", ",-1400,")
    lines[3] = lines[3].replace(",30,UA,", ",NA,UA,")  # cancelled: no arrival delay
    lines[4] = lines[4].replace(",1400,", ",OVERRANGE,")
    lines[5] = lines[5].replace(",1400,", ",nan,")  # Arrow reads nan as a number: out of range
    lines[6] = lines[6].replace(",1400,", ", 1400 ,")  # padded numbers are numbers, as in pyarrow
    lines[7] = lines[7].replace(",517,", ",9999999999,")
    m, dest = run_all(write_csv("r.csv", lines))
    assert counts(m) == (9, 3, 1, 5)
    assert [(r["line"], r["field"], r["value"]) for r in quarantine_records(str(dest))] == [
        (3, "month", "13"), (4, "distance", "-1400"), (6, "distance", "OVERRANGE"),
        (7, "distance", "nan"), (9, "dep_time", "9999999999")]


def test_empty_header_only_crlf_blank_lines_and_quotes(run_all, write_csv, tmp_path):
    write_csv("in/empty.csv", raw=b"")
    write_csv("in/header_only.csv", [])
    crlf = "\r\n".join([HEADER, *good_rows(5), "", *good_rows(3, start=50)]) + "\r\n"
    write_csv("in/crlf.csv", raw=crlf.encode())
    quoted = [row.replace(",N14228,", ',"N14228",') for row in good_rows(4, start=80)]
    quoted[1] = quoted[1].replace(',"N14228",', ',"N1,4228",')  # a delimiter inside quotes
    write_csv("in/quoted.csv", quoted)
    m, dest = run_all(tmp_path / "in")
    assert counts(m) == (12, 12, 0, 0)
    statuses = sorted(f["status"] for f in m["files"])
    assert statuses == ["empty", "header_only", "ok", "ok"]


def test_latin1_with_and_without_the_encoding_flag(run_all, write_csv):
    raw = ("\n".join([HEADER, *good_rows(4)]) + "\n").encode().replace(b"N14228", b"N\xe9228", 1)
    source = write_csv("l1.csv", raw=raw)
    plain, dest = run_all(source, label="plain")
    assert (plain["rows_out"], plain["rows_rejected"]) == (3, 1)
    [reject] = quarantine_records(str(dest))
    assert reject["line"] == 2 and "0xE9" in reject["reason"]
    decoded, _ = run_all(source, EtlSpec(csv=CsvOptions(encoding="latin-1")), label="latin1")
    assert (decoded["rows_out"], decoded["rows_rejected"]) == (4, 0)


def test_only_empty_files_give_zero_rows_on_every_engine(run_all, write_csv, tmp_path):
    write_csv("in/empty.csv", raw=b"")
    m, dest = run_all(tmp_path / "in")
    assert counts(m) == (0, 0, 0, 0)
    assert json.loads((dest / "_manifest.json").read_text())["rows_in"] == 0


def test_a_disagreement_is_reported_with_a_diff(run_all, write_csv, tmp_path):
    """Doctored on purpose (the engines do agree): one output file of the pandas run loses a row."""
    import pyarrow.parquet as pq

    run_all(write_csv("a.csv", good_rows(30)))
    runs = []
    for engine in ("ray", "pandas"):
        dest = tmp_path / "out" / engine
        runs.append(EngineRun(engine, str(dest), json.loads((dest / "_manifest.json").read_text()), 0, 0))
    part = next((tmp_path / "out" / "pandas").glob("part-*.parquet"))
    pq.write_table(pq.read_table(part).slice(1), part)
    runs[1].manifest["rows_delayed"] += 1
    differences = find_differences(runs)
    assert any(d.startswith("manifest rows_delayed: ray 10, pandas 11") for d in differences)
    assert any(d.startswith("carrier UA") and "29" in d for d in differences)


def test_vocabularies_hold_only_the_values_of_written_rows(run_all, write_csv):
    """A carrier seen only on a rejected row, or only on an unlabelled one, gets no code."""
    lines = good_rows(6)
    lines[1] = lines[1].replace(",UA,", ",ZZ,").replace(",1400,", ",-5,")  # rejected
    lines[3] = lines[3].replace(",UA,", ",YY,").replace(",30,", ",NA,")  # cancelled: filtered
    lines[2] = lines[2].replace(",UA,", ",XX,").replace(",517,", ",5x7,")  # unparseable
    lines[4] = lines[4].replace(",UA,", ",AA,")
    m, dest = run_all(write_csv("v.csv", lines))
    assert counts(m) == (6, 3, 1, 2)
    assert json.loads((dest / "_vocab.json").read_text())["columns"]["carrier"] == ["AA", "UA"]

"""The Ray Data ETL end to end on a real local Ray: real flights counts and every bad input."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from conftest import good_rows

from pipelines.csv_chunk import CsvOptions
from pipelines.etl_config import EtlSpec
from pipelines.etl_ray import run_etl

pytestmark = pytest.mark.slow


def quarantined(dest) -> list[dict]:
    return [json.loads(line) for f in sorted((dest / "_quarantine").glob("*.jsonl"))
            for line in f.read_text().splitlines()]


def test_real_flights_counts_and_outputs(ray_local, flights_csv, tmp_path):
    dest = tmp_path / "out"
    report = run_etl(str(flights_csv), str(dest))
    m = report.manifest
    counts = (m["rows_in"], m["rows_out"], m["rows_filtered"], m["rows_rejected"])
    assert counts == (336_776, 327_346, 9_430, 0)
    assert m["rows_delayed"] == 77_630
    assert m["schema"]["version"] == 1 and m["input_fingerprint"].startswith("sha256:")
    assert m["files"][0]["rows_in"] == 336_776
    table = pq.read_table(dest)
    assert table.num_rows == 327_346
    assert table.column("delayed").to_numpy().sum() == 77_630
    vocab = json.loads((dest / "_vocab.json").read_text())["columns"]
    assert len(vocab["carrier"]) == 16 and vocab["origin"] == ["EWR", "JFK", "LGA"]
    assert table.column("carrier_code").to_numpy().min() >= 1  # every carrier is in the vocabulary
    assert json.loads((dest / "_manifest.json").read_text())["rows_out"] == 327_346


def test_rerun_is_a_noop_and_force_reruns(ray_local, write_csv, tmp_path):
    source = write_csv("a.csv", good_rows(30))
    dest = tmp_path / "out"
    first = run_etl(str(source), str(dest))
    again = run_etl(str(source), str(dest))
    assert not first.skipped and again.skipped
    assert again.manifest["created_at"] == first.manifest["created_at"]
    forced = run_etl(str(source), str(dest), force=True)
    assert not forced.skipped and forced.manifest["rows_out"] == 30
    assert len(list(dest.glob("part-*.parquet"))) == 1
    source.write_text(source.read_text() + good_rows(1, start=99)[0] + "\n")
    changed = run_etl(str(source), str(dest))
    assert not changed.skipped and changed.manifest["rows_in"] == 31


def test_folder_with_good_empty_and_header_only_files(ray_local, write_csv, tmp_path):
    write_csv("in/good.csv", good_rows(10))
    write_csv("in/empty.csv", raw=b"")
    write_csv("in/header_only.csv", [])
    m = run_etl(str(tmp_path / "in"), str(tmp_path / "out")).manifest
    assert (m["rows_in"], m["rows_out"], m["rows_rejected"]) == (10, 10, 0)
    statuses = {f["path"].rsplit("/", 1)[1]: f["status"] for f in m["files"]}
    assert statuses == {"empty.csv": "empty", "good.csv": "ok", "header_only.csv": "header_only"}


def test_folder_of_only_empty_files_gives_zero_rows(write_csv, tmp_path):
    write_csv("in/empty.csv", raw=b"")
    write_csv("in/header_only.csv", [])
    m = run_etl(str(tmp_path / "in"), str(tmp_path / "out")).manifest
    assert (m["rows_in"], m["rows_out"]) == (0, 0)
    assert (tmp_path / "out" / "_manifest.json").is_file()


def test_ragged_rows_in_ray_workers_keep_their_line_numbers(ray_local, write_csv, tmp_path):
    lines = good_rows(4000)
    for i in (10, 1999, 3998):
        lines[i] = "2013,1,1,517,515"
    source = write_csv("ragged.csv", lines)
    spec = EtlSpec(chunk_bytes=64 << 10)  # several chunks, so several Ray tasks
    dest = tmp_path / "out"
    m = run_etl(str(source), str(dest), spec).manifest
    assert len(m["outputs"]) > 3
    assert (m["rows_in"], m["rows_out"], m["rows_rejected"]) == (4000, 3997, 3)
    assert [(r["line"], r["reason"]) for r in quarantined(dest)] == [
        (12, "expected 19 fields, found 5"), (2001, "expected 19 fields, found 5"),
        (4000, "expected 19 fields, found 5")]


def test_overrange_far_into_a_file_is_quarantined_not_lost(ray_local, write_csv, tmp_path):
    lines = good_rows(250_001)
    lines[250_000] = lines[250_000].replace(",1400,", ",OVERRANGE,")
    source = write_csv("long.csv", lines)
    dest = tmp_path / "out"
    m = run_etl(str(source), str(dest)).manifest
    assert (m["rows_in"], m["rows_out"], m["rows_rejected"]) == (250_001, 250_000, 1)
    [reject] = quarantined(dest)
    assert (reject["line"], reject["field"], reject["value"]) == (250_002, "distance", "OVERRANGE")
    assert reject["source"] == str(source)


def test_rule_breaking_rows_and_unlabelled_rows(ray_local, write_csv, tmp_path):
    lines = good_rows(6)
    lines[1] = lines[1].replace("2013,1,1,", "2013,13,1,", 1)
    lines[2] = lines[2].replace(",1400,", ",-1400,")
    lines[3] = lines[3].replace(",30,UA,", ",NA,UA,")  # cancelled: no arrival delay
    dest = tmp_path / "out"
    m = run_etl(str(write_csv("r.csv", lines)), str(dest)).manifest
    assert (m["rows_in"], m["rows_out"], m["rows_filtered"], m["rows_rejected"]) == (6, 3, 1, 2)
    assert [(r["line"], r["field"]) for r in quarantined(dest)] == [(3, "month"), (4, "distance")]


def test_latin1_with_and_without_encoding(ray_local, write_csv, tmp_path):
    raw = ("\n".join(["x"] + good_rows(4)) + "\n").encode().replace(b"N14228", b"N\xe9228", 1)
    header = ("year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,"
              "carrier,flight,tailnum,origin,dest,air_time,distance,hour,minute,time_hour")
    source = write_csv("l1.csv", raw=raw.replace(b"x", header.encode(), 1))
    plain = run_etl(str(source), str(tmp_path / "a")).manifest
    assert (plain["rows_out"], plain["rows_rejected"]) == (3, 1)
    [reject] = quarantined(tmp_path / "a")
    assert reject["line"] == 2 and "0xE9" in reject["reason"]
    spec = EtlSpec(csv=CsvOptions(encoding="latin-1"))
    decoded = run_etl(str(source), str(tmp_path / "b"), spec).manifest
    assert (decoded["rows_out"], decoded["rows_rejected"]) == (4, 0)
    assert "Né228" in pq.read_table(tmp_path / "b").column("tailnum").to_pylist()

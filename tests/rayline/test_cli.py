"""The `rayline` CLI: one clear line and the right exit code on bad input, JSON for scripts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import good_rows

from rayline.cli import main


def test_missing_source_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    dest = tmp_path / "out"
    code = main(["etl", str(tmp_path / "missing.csv"), "--out", str(dest)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "missing.csv" in err
    assert not dest.exists()


def test_glob_matching_nothing_exits_2(tmp_path, capsys):
    code = main(["etl", str(tmp_path / "*.csv"), "--out", str(tmp_path / "out")])
    assert code == 2 and "no files match" in capsys.readouterr().err


def test_bad_encoding_flag_names_the_flag(tmp_path, capsys):
    code = main(["etl", str(tmp_path), "--out", str(tmp_path / "o"), "--encoding", "klingon"])
    assert code == 2 and "--encoding" in capsys.readouterr().err


def test_only_empty_files_exit_3_with_a_clear_message(write_csv, tmp_path, capsys):
    write_csv("in/a.csv", raw=b"")
    code = main(["etl", str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    assert code == 3
    assert "no data rows" in capsys.readouterr().err


@pytest.mark.slow
def test_etl_json_in_a_fresh_process_says_which_ray_it_used(write_csv, tmp_path):
    source = write_csv("a.csv", good_rows(12))
    done = subprocess.run([sys.executable, "-m", "rayline.cli", "etl", str(source), "--out",
                           str(tmp_path / "out"), "--json", "--num-cpus", "1"],
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "RAY_ADDRESS": ""})
    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    assert manifest["rows_out"] == 12
    assert "Ray: in-process" in done.stderr


def test_zero_cpus_is_refused_not_a_hang(write_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    source = write_csv("a.csv", good_rows(3))
    code = main(["etl", str(source), "--out", str(tmp_path / "out"), "--num-cpus", "0"])
    assert code == 2 and "--num-cpus" in capsys.readouterr().err


def test_unreachable_address_fails_fast_with_exit_4(write_csv, tmp_path):
    source = write_csv("a.csv", good_rows(3))
    done = subprocess.run([sys.executable, "-m", "rayline.cli", "etl", str(source), "--out",
                           str(tmp_path / "out"), "--address", "127.0.0.1:1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 4 and "cannot reach Ray at 127.0.0.1:1" in done.stderr


def test_output_that_is_a_file_or_the_input_folder_exits_2(write_csv, tmp_path, capsys):
    source = write_csv("in/a.csv", good_rows(3))
    (tmp_path / "afile").write_text("x")
    assert main(["etl", str(source), "--out", str(tmp_path / "afile")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["etl", str(source), "--out", str(tmp_path / "in")]) == 2
    assert "folder of the input files" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_runs_each_engine_and_prints_the_table(write_csv, tmp_path):
    lines = good_rows(40)
    lines[5] = "2013,1,1,517,515"
    source = write_csv("in/a.csv", lines)
    cmd = [sys.executable, "-m", "rayline.cli", "compare", str(source), "--engines", "ray,spark,modin,pandas",
           "--out", str(tmp_path / "cmp"), "--num-cpus", "2", "--spark-master", "local[2]", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["agree"] and result["differences"] == []
    assert [r["engine"] for r in result["runs"]] == ["ray", "spark", "modin", "pandas"]
    assert {r["manifest"]["rows_rejected"] for r in result["runs"]} == {1}
    assert all(r["peak_rss_mb"] > 0 for r in result["runs"])


def test_unknown_engines_exit_2_naming_them(write_csv, tmp_path, capsys):
    source = write_csv("a.csv", good_rows(3))
    assert main(["compare", str(source), "--engines", "ray,dask"]) == 2
    assert "dask" in capsys.readouterr().err
    assert main(["etl", str(source), "--out", str(tmp_path / "o"), "--engine", "ray,spark"]) == 2
    assert "one engine" in capsys.readouterr().err
    assert main(["etl", str(source), "--out", str(tmp_path / "o"), "--engine", "foo"]) == 2
    assert "--engine 'foo': unknown engine 'foo'; choose from ray" in capsys.readouterr().err
    assert main(["compare", str(source), "--engines", "pandas"]) == 2
    assert "compare needs two engines or more" in capsys.readouterr().err


def test_a_bad_spark_master_fails_naming_the_flag(write_csv, tmp_path):
    source = write_csv("a.csv", good_rows(3))
    cmd = [sys.executable, "-m", "rayline.cli", "etl", str(source), "--out", str(tmp_path / "o"),
           "--engine", "spark", "--spark-master", "nonsense://x"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2
    assert last == ("rayline: error: --spark-master 'nonsense://x': not a Spark master URL; use local, "
                    "local[N], local[*], spark://HOST:PORT[,HOST:PORT...], yarn or k8s://URL")
    assert not (tmp_path / "o" / "_manifest.json").exists()


def test_a_second_spark_master_in_one_process_is_refused(spark_local, write_csv, tmp_path, capsys):
    source = write_csv("a.csv", good_rows(3))
    code = main(["etl", str(source), "--out", str(tmp_path / "o"), "--engine", "spark",
                 "--spark-master", "local[1]"])
    assert code == 2 and "already runs Spark on local[2]" in capsys.readouterr().err


def test_when_every_row_is_rejected_etl_exits_3_pointing_at_the_quarantine(write_csv, tmp_path, capsys):
    source = write_csv("bad.csv", [r.replace("2013,1,", "2013,13,", 1) for r in good_rows(3)])
    code = main(["etl", str(source), "--out", str(tmp_path / "o"), "--engine", "pandas"])
    err = capsys.readouterr().err
    assert code == 3 and "no row of" in err and "3 rejected" in err and "_quarantine" in err
    assert len(list((tmp_path / "o" / "_quarantine").iterdir())) == 1


def test_parquet_files_no_etl_wrote_are_not_replaced(write_csv, tmp_path, capsys):
    source = write_csv("a.csv", good_rows(3))
    theirs = tmp_path / "o" / "part-99999.parquet"
    theirs.parent.mkdir()
    theirs.write_bytes(b"someone else's data")
    code = main(["etl", str(source), "--out", str(tmp_path / "o"), "--engine", "pandas"])
    assert code == 2 and "no rayline ETL wrote (part-99999.parquet" in capsys.readouterr().err
    assert theirs.read_bytes() == b"someone else's data"


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_a_chunk_size_that_is_not_a_number_exits_2(write_csv, tmp_path, capsys, value):
    source = write_csv("a.csv", good_rows(3))
    assert main(["etl", str(source), "--out", str(tmp_path / "o"), "--chunk-mb", value]) == 2
    assert "--chunk-mb must be a number of MiB" in capsys.readouterr().err


def test_compare_checks_the_output_folder_before_running_any_engine(write_csv, tmp_path, capsys):
    source = write_csv("a.csv", good_rows(3))
    (tmp_path / "taken").write_text("a file")
    assert main(["compare", str(source), "--engines", "pandas,ray", "--out", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert "cannot create the output folder" in err and "running" not in err


def test_cluster_start_refuses_flags_it_would_ignore(capsys):
    assert main(["cluster", "start", "--max-workers", "3"]) == 2  # fails before anything starts
    assert "--max-workers: only with --autoscale" in capsys.readouterr().err
    assert main(["cluster", "start", "--num-cpus", "-1"]) == 2
    assert "--num-cpus must be 0 or more, got -1" in capsys.readouterr().err

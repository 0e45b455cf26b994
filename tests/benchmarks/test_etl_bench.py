"""The ETL benchmark runs end to end on a small input and writes its JSON and chart."""

from __future__ import annotations

import json

import pytest

from benchmarks.etl_bench import EtlBenchSettings, run_etl_benchmark

pytestmark = pytest.mark.slow


def test_small_benchmark_reports_both_engines(flights_csv, tmp_path):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "flights.csv").symlink_to(flights_csv)
    settings = EtlBenchSettings(copies=1, files=2, data_dir=str(tmp_path / "data"),
                                results_dir=str(tmp_path / "results"), num_cpus=2)
    result = run_etl_benchmark(settings, log=lambda _m: None)
    for key in ("rayline_seconds", "baseline_seconds", "ratio", "peak_rss_mb"):
        assert result[key] > 0
    assert result["rows_out"] == 327_346
    assert json.loads((tmp_path / "results" / "etl-c1.json").read_text())["ratio"] == result["ratio"]
    assert (tmp_path / "results" / "etl-c1.png").stat().st_size > 1000

"""The ETL benchmark runs every engine and the pyarrow baseline end to end on a small input,
checks they agree, and writes its JSON and chart."""

from __future__ import annotations

import json

import pytest

from benchmarks.etl_bench import EtlBenchSettings, parse_copies, run_etl_benchmark
from cluster.errors import ConfigError

pytestmark = pytest.mark.slow


def test_small_benchmark_reports_every_engine(flights_csv, tmp_path):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "flights.csv").symlink_to(flights_csv)
    settings = EtlBenchSettings(copies=(1,), files=2, data_dir=str(tmp_path / "data"),
                                results_dir=str(tmp_path / "results"), num_cpus=2, spark_master="local[2]")
    result = run_etl_benchmark(settings, log=lambda _m: None)
    assert sorted(r["engine"] for r in result["results"]) == ["modin", "pandas", "pyarrow", "ray", "spark"]
    for entry in result["results"]:
        assert entry["rows_out"] == 327_346 and entry["seconds"] > 0 and entry["peak_rss_mb"] > 0
        assert {"engine", "copies", "seconds", "rows_out", "peak_rss_mb"} <= set(entry)
    for key in ("rayline_seconds", "baseline_seconds", "ratio", "peak_rss_mb"):  # first version's fields
        assert result[key] > 0
    [size] = result["sizes"]
    assert size["fastest_distributed"] in ("ray", "spark", "modin") and size["ray_vs_pyarrow"] > 0
    assert json.loads((tmp_path / "results" / "etl.json").read_text())["ratio"] == result["ratio"]
    assert (tmp_path / "results" / "etl.png").stat().st_size > 1000


def test_bad_settings_name_the_flag():
    with pytest.raises(ConfigError, match="--engines"):
        EtlBenchSettings(engines=("ray", "dask"))
    with pytest.raises(ConfigError, match="--copies"):
        parse_copies("1,ten")
    with pytest.raises(ConfigError, match="--copies"):
        EtlBenchSettings(copies=(0,))
    with pytest.raises(ConfigError, match="a size is named twice in '1,1'"):
        parse_copies("1,1")
    with pytest.raises(ConfigError, match="--files must be 1 or more"):
        EtlBenchSettings(files=0)
    with pytest.raises(ConfigError, match="--engines '': no engine given"):
        EtlBenchSettings(engines=())

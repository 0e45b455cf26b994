"""The real data from the installed package, and scaled copies: exact rows, shifted years."""

from __future__ import annotations

import pytest

from cluster.errors import ConfigError, InputError
from pipelines.sample_data import FLIGHTS_ROWS, fetch_flights_data, scale_flights


def test_fetch_writes_the_five_tables_once(tmp_path):
    first = fetch_flights_data(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "airlines.csv", "airports.csv", "flights.csv", "planes.csv", "weather.csv"]
    with open(tmp_path / "flights.csv", "rb") as f:
        assert sum(1 for _ in f) == FLIGHTS_ROWS + 1
    assert all(f.written for f in first)
    assert not any(f.written for f in fetch_flights_data(tmp_path))


def test_scale_splits_copies_over_files_with_shifted_years(flights_csv, tmp_path):
    out = tmp_path / "scaled"
    files = scale_flights(flights_csv, copies=2, files=3, out_dir=out)
    assert len(files) == 3
    rows, years = 0, set()
    for f in sorted(out.glob("part-*.csv")):
        lines = f.read_text().splitlines()
        assert lines[0].startswith("year,month,day")
        rows += len(lines) - 1
        years |= {line[:4] for line in lines[1:]}
        assert all(line[:4] in line.rsplit(",", 1)[1] for line in lines[1:1000])  # time_hour too
    assert rows == 2 * FLIGHTS_ROWS
    assert years == {"2013", "2014"}
    assert not any(f.written for f in scale_flights(flights_csv, 2, 3, out))


def test_scale_rejects_bad_arguments(flights_csv, tmp_path):
    with pytest.raises(ConfigError, match="--copies"):
        scale_flights(flights_csv, 0, 1, tmp_path)
    with pytest.raises(InputError, match="no such file"):
        scale_flights(tmp_path / "nope.csv", 1, 1, tmp_path)


def test_failed_scale_keeps_nothing_stale(flights_csv, tmp_path):
    out = tmp_path / "scaled"
    scale_flights(flights_csv, 1, 2, out)
    with pytest.raises(ConfigError, match="--files"):
        scale_flights(flights_csv, 1, 10**7, out)
    assert len(list(out.glob("part-*.csv"))) == 2  # checked before anything was deleted
    (out / "part-00000.csv").unlink()
    again = scale_flights(flights_csv, 1, 2, out)
    assert any(f.written for f in again) and len(list(out.glob("part-*.csv"))) == 2

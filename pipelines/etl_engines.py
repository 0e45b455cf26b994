"""The ETL engines by name: the same contract on Ray Data, Spark, Modin and pandas.

    rayline etl SOURCE --out DEST --engine spark        rayline compare --engines ray,spark SOURCE

Each engine module is imported only when it is chosen, so Spark's JVM or Modin cost
nothing to the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from cluster.errors import ConfigError
from pipelines.etl_config import EtlSpec
from pipelines.etl_run import ChunkEngine, EtlReport, run_with_engine

ENGINES = ("ray", "spark", "modin", "pandas")


@dataclass(frozen=True)
class EngineOptions:
    """Where the engines run: a Ray address and CPUs (ray, modin), a Spark master URL (spark)."""

    ray_address: str | None = None
    num_cpus: int | None = None
    spark_master: str = "local[*]"


def parse_engines(text: str, flag: str = "--engines", known: tuple[str, ...] = ENGINES) -> tuple[str, ...]:
    """Engine names from a comma-separated list; ConfigError names the flag and any unknown one."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        what = f"unknown engine {', '.join(repr(n) for n in unknown)}" if unknown else "no engine given"
        raise ConfigError(f"{flag} '{text}': {what}; choose from {', '.join(known)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{flag}: an engine is named twice in '{text}'")
    return names


def make_engine(name: str, options: EngineOptions | None = None) -> ChunkEngine:
    """The engine called `name`."""
    options = options or EngineOptions()
    if name == "ray":
        from pipelines.etl_ray import RayDataEngine

        return RayDataEngine(options.ray_address, options.num_cpus)
    if name == "modin":
        from pipelines.etl_modin import ModinEngine

        return ModinEngine(options.ray_address, options.num_cpus)
    if name == "spark":
        from pipelines.etl_spark import SparkEngine

        return SparkEngine(options.spark_master)
    if name == "pandas":
        from pipelines.etl_pandas import PandasEngine

        return PandasEngine()
    raise ConfigError(f"--engine: unknown engine '{name}'; choose from {', '.join(ENGINES)}")


def run_engine_etl(name: str, source: str, dest: str, spec: EtlSpec | None = None, *,
                   force: bool = False, options: EngineOptions | None = None) -> EtlReport:
    """Run the ETL of `source` into `dest` on the engine called `name`."""
    return run_with_engine(make_engine(name, options), source, dest, spec, force=force)

"""Typed settings of the flights ETL; CLI flags and settings files override the defaults."""

from __future__ import annotations

import codecs
from dataclasses import asdict, dataclass, field

from cluster.errors import ConfigError
from pipelines.csv_chunk import CsvOptions
from pipelines.features import FeatureSpec

DEFAULT_CHUNK_BYTES = 64 << 20


@dataclass(frozen=True)
class EtlSpec:
    """What the ETL reads and how it derives features; everything in it changes the output."""

    csv: CsvOptions = field(default_factory=CsvOptions)
    features: FeatureSpec = field(default_factory=FeatureSpec)
    chunk_bytes: int = DEFAULT_CHUNK_BYTES

    def __post_init__(self) -> None:
        try:
            codec = codecs.lookup(self.csv.encoding)
        except LookupError as e:
            raise ConfigError(f"--encoding: unknown text encoding '{self.csv.encoding}'") from e
        if "\n".encode(codec.name) != b"\n":
            raise ConfigError(f"--encoding: '{self.csv.encoding}' is not ASCII-compatible")
        if len(self.csv.delimiter) != 1:
            raise ConfigError(f"--delimiter must be one character, got '{self.csv.delimiter}'")
        if not 0 <= self.features.valid_fraction < 1:
            raise ConfigError(f"--valid-fraction must be in [0, 1), got {self.features.valid_fraction}")
        if self.chunk_bytes < 1 << 16:
            raise ConfigError(f"--chunk-mb is too small: {self.chunk_bytes} bytes (at least 64 KiB)")

    def to_json(self) -> dict:
        return asdict(self)

"""Typed settings of delay-model training; CLI flags override the defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cluster.errors import ConfigError


@dataclass(frozen=True)
class TrainSpec:
    """How `rayline train` trains; stored with every model in the registry."""

    data: str = "data/processed/flights"
    workers: int = 2
    gpus_per_worker: float = 0.0  # 0: use GPUs when the cluster has them; >0: require them
    use_gpu: bool | None = None  # None: decided from the cluster
    epochs: int = 3
    batch_size: int = 1024  # per worker (Ray Train's convention): one step sees workers x batch_size rows
    learning_rate: float = 3e-3
    embedding_dim: int = 8
    hidden: tuple[int, ...] = (64, 32)
    seed: int = 13
    cache_shard_mb: int = 1024  # keep a worker's shard on its device after epoch 1 if it fits
    storage_path: str = "data/train_runs"
    keep_checkpoints: int = 2
    max_failures: int = 1
    registry: str = "models"
    fail_at_epoch: int | None = None  # fault injection for tests: one worker raises, first attempt only

    def __post_init__(self) -> None:
        for name in ("workers", "epochs", "batch_size", "keep_checkpoints", "embedding_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.gpus_per_worker < 0 or self.learning_rate <= 0 or self.max_failures < 0:
            raise ConfigError("--gpus-per-worker and --max-failures must be >= 0, --lr > 0")

    def to_json(self) -> dict:
        return asdict(self)

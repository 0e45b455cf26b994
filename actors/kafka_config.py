"""Typed settings of the Kafka side: how to reach a broker, and how the stream consumes a topic.

Any Kafka works through `--bootstrap-servers`; the usual security settings pass through to
kafka-python. The password is read from an environment variable, never from a flag or a file
in the repository.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace

from cluster.errors import ConfigError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


_TOPIC_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def check_topic_name(topic: str) -> None:
    """Kafka's rule: 1 to 249 of ASCII letters, digits, '.', '_' and '-'."""
    if not topic or len(topic) > 249 or not set(topic) <= _TOPIC_CHARS or topic in (".", ".."):
        raise ConfigError(f"--topic {topic!r} is not a valid topic name (letters, digits, '.', '_', '-')")


@dataclass(frozen=True)
class KafkaSettings:
    """Connection settings shared by the producer, the consumer actors and the status command."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None  # PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
    sasl_username: str | None = None
    sasl_password_env: str = "RAYLINE_KAFKA_PASSWORD"  # the variable holding the SASL password
    ssl_cafile: str | None = None  # a CA bundle for TLS (SSL, SASL_SSL)
    request_timeout_ms: int = 10_000

    def __post_init__(self) -> None:
        if not self.bootstrap_servers.strip(","):
            raise ConfigError("--bootstrap-servers is empty (host:port[,host:port...])")
        if self.security_protocol not in PROTOCOLS:
            raise ConfigError(f"--security-protocol must be one of {', '.join(PROTOCOLS)}, "
                              f"got {self.security_protocol!r}")
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username):
            raise ConfigError(f"{self.security_protocol} needs --sasl-mechanism and --sasl-username "
                              f"(and the password in ${self.sasl_password_env})")
        if self.ssl_cafile and not os.path.isfile(self.ssl_cafile):
            raise ConfigError(f"--ssl-cafile {self.ssl_cafile}: no such file")

    def client_kwargs(self) -> dict:
        """Keyword arguments every kafka-python client takes."""
        kwargs = {"bootstrap_servers": self.bootstrap_servers.split(","),
                  "security_protocol": self.security_protocol,
                  "request_timeout_ms": self.request_timeout_ms,
                  "bootstrap_timeout_ms": 5_000}
        if self.sasl_mechanism:
            password = os.environ.get(self.sasl_password_env)
            if password is None:
                raise ConfigError("SASL needs the password in the environment variable "
                                  f"${self.sasl_password_env}")
            kwargs |= {"sasl_mechanism": self.sasl_mechanism, "sasl_plain_username": self.sasl_username,
                       "sasl_plain_password": password}
        if self.ssl_cafile:
            kwargs["ssl_cafile"] = self.ssl_cafile
        return kwargs

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StreamSpec:
    """How the consumer actors read a topic and where they write."""

    topic: str = "flights"
    consumers: int = 2
    lake: str | None = None  # default data/lake/<topic>
    group_id: str | None = None  # default rayline-<topic>
    batch_records: int = 2_000  # a micro-batch closes at this many records ...
    batch_ms: int = 500  # ... or this long after its first record
    max_inflight_batches: int = 2  # past this the consumer pauses its partitions
    max_partition_fetch_bytes: int = 1 << 20
    max_restarts: int = 3
    cpus_per_consumer: float = 0.5  # Ray resources of one consumer actor
    start_timeout_s: float = 120.0  # how long `stream start` waits for the actors to be placed
    vocabulary: str | None = "data/processed/flights/_vocab.json"  # codes as the batch ETL gave them
    score: bool = True  # score through the delay model's Serve app when it is deployed

    def __post_init__(self) -> None:
        for name in ("consumers", "batch_records", "batch_ms", "max_inflight_batches",
                     "max_partition_fetch_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        check_topic_name(self.topic)

    def resolved(self) -> StreamSpec:
        """The same spec with absolute paths: actors run in the cluster's working directory."""
        vocabulary = os.path.abspath(self.vocabulary) if self.vocabulary else None
        return replace(self, lake=os.path.abspath(self.lake_dir), vocabulary=vocabulary)

    @property
    def lake_dir(self) -> str:
        return self.lake or f"data/lake/{self.topic}"

    @property
    def predictions_dir(self) -> str:
        """Beside the lake folder, not inside it."""
        return self.lake_dir.rstrip("/") + "-predictions"

    @property
    def group(self) -> str:
        return self.group_id or f"rayline-{self.topic}"

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic}.dlq"

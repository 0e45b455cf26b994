"""Checks a --spark-master URL before Spark starts, so a typo or an unreachable master fails in
a second with one clear line instead of a JVM stack (or a minute of retries, then one)."""

from __future__ import annotations

import re
import socket

from cluster.errors import ConfigError

_LOCAL = re.compile(r"local(\[(\*|\d+)(,\d+)?\])?|local-cluster\[\d+,\d+,\d+\]")
_FORMS = "local, local[N], local[*], spark://HOST:PORT[,HOST:PORT...], yarn or k8s://URL"


def check_spark_master(master: str, timeout_s: float = 5.0) -> None:
    """ConfigError unless `master` is a Spark master URL, and a spark:// one answers on its port."""
    if _LOCAL.fullmatch(master) or master == "yarn" or re.fullmatch(r"k8s://\S+", master):
        return
    hosts = re.fullmatch(r"spark://(\S+)", master)
    if not hosts:
        raise ConfigError(f"--spark-master '{master}': not a Spark master URL; use {_FORMS}")
    for address in hosts.group(1).split(","):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--spark-master '{master}': '{address}' is not HOST:PORT")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
        except OSError as e:
            raise ConfigError(f"--spark-master '{master}': no Spark master answers at {address} "
                              f"({e.strerror or e}); is it running?") from e

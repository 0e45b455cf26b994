"""A free TCP port on the loopback interface, for services started on demand (tests, benchmarks)."""

from __future__ import annotations

import socket


def free_loopback_port() -> int:
    """A port nothing listens on now; the caller binds it soon after (a small race, fine locally)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

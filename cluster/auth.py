"""Ray token authentication: our head nodes keep it on, and our clients send the token.

Ray 2.60 turns token auth on for a new local cluster and stores the token in
~/.ray/auth_token (or RAY_AUTH_TOKEN / RAY_AUTH_TOKEN_PATH). A client only sends it when
RAY_AUTH_MODE=token, so before connecting we set that when a token is available.
`RAY_AUTH_MODE=disabled` in the environment opts out everywhere.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

AUTH_MODE = "RAY_AUTH_MODE"


def token_path() -> Path:
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def token_available() -> bool:
    return bool(os.environ.get("RAY_AUTH_TOKEN")) or token_path().is_file()


def send_token_if_available() -> bool:
    """Make this process (and its children) authenticate to Ray when a token exists."""
    if AUTH_MODE not in os.environ and token_available():
        # Ray caches its config at import; its own helper sets the mode and refreshes that cache.
        # It also warns that token auth is on, which is what we asked for: not worth a line.
        from ray._private.authentication import authentication_token_setup as setup

        log = logging.getLogger(setup.__name__)
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            setup.maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
        finally:
            log.setLevel(level)
    return os.environ.get(AUTH_MODE, "").lower() == "token"


def head_node_env() -> dict[str, str]:
    """Environment for `ray start --head`: token auth on unless the user opted out, and this
    Python's scripts first on PATH, so a job's `rayline ...` entrypoint finds this install."""
    env = dict(os.environ)
    env.setdefault(AUTH_MODE, "token")
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return env

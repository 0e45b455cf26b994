"""One Serve deployment for the serving tests: the real LLM and the delay model trained in-session."""

from __future__ import annotations

import pytest

from cluster.ports import free_loopback_port


@pytest.fixture(scope="session")
def serve_url(ray_local, trained_model) -> str:
    """Base URL of Serve with `llm` at / and `delay` at /v1/predict (the session's trained model)."""
    from ray import serve

    from serve.deploy import deploy_apps
    from serve.llm_config import LlmSpec, ServeSpec

    report, registry = trained_model
    port = free_loopback_port()
    spec = ServeSpec(port=port, delay_model=str(registry / "latest"))
    # Small limits so the back-pressure test can fill them: 16 running + 24 queued. A burst is
    # gathered until 0.3 s pass without a new request: on a busy 2-core machine a burst of 32
    # threads still trickles in over tens of milliseconds.
    deploy_apps(spec, LlmSpec(max_ongoing_requests=16, max_queued_requests=24,
                              batch_wait_timeout_s=0.3, batch_max_wait_s=2.0))
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()

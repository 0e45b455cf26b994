"""Deploy, inspect and remove rayline's Serve applications on a Ray cluster.

    rayline serve start [--model M] [--replicas N]  |  rayline serve status  |  rayline serve stop

Two applications share Serve's HTTP proxy (127.0.0.1:8000 by default): `llm` at `/` (the
OpenAI routes) and `delay` at `/v1/predict` (the delay model, when one is registered).
Serve's controller is detached, so the applications outlive the command that deployed them;
`start_serving` therefore needs a cluster that outlives it too, and starts a local one if none runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from cluster.connect import ensure_ray
from cluster.errors import ClusterError, InputError
from cluster.local import join_persistent_cluster
from serve.llm_config import LlmSpec, ServeSpec

log = logging.getLogger(__name__)

LLM_APP, DELAY_APP = "llm", "delay"
ROUTES = {LLM_APP: "/", DELAY_APP: "/v1/predict"}
DEFAULT_DELAY_MODEL = ServeSpec.delay_model


@dataclass
class ServingReport:
    """What runs: the URL, and each application's status and replicas."""

    url: str | None
    applications: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def start_serving(serve_spec: ServeSpec, llm_spec: LlmSpec, address: str | None = None) -> ServingReport:
    """Join (or start) a persistent cluster, then deploy the applications."""
    notes = join_persistent_cluster(address)
    report = deploy_apps(serve_spec, llm_spec)
    report.notes[:0] = notes
    return report


def deploy_apps(serve_spec: ServeSpec, llm_spec: LlmSpec) -> ServingReport:
    """Deploy on the Ray this process is connected to; returns once replicas are ready."""
    from ray import serve

    from serve.delay_app import build_delay_app
    from serve.llm_app import build_llm_app

    model_dir, notes = _delay_model_dir(serve_spec)
    serve.start(http_options={"host": serve_spec.host, "port": serve_spec.port})
    try:
        if serve_spec.llm:
            serve.run(build_llm_app(llm_spec, _gpus_per_replica(llm_spec)), name=LLM_APP,
                      route_prefix=ROUTES[LLM_APP])
        if model_dir:
            serve.run(build_delay_app(model_dir), name=DELAY_APP, route_prefix=ROUTES[DELAY_APP])
    except RuntimeError as e:
        raise ClusterError(f"deployment failed: {e}") from e
    report = serving_status(connect=False)
    report.notes = notes
    return report


def serving_status(address: str | None = None, connect: bool = True) -> ServingReport:
    """Each application's status and its deployments' replica counts."""
    from ray import serve

    if connect:
        ensure_ray(address, allow_in_process=False, log_to_driver=False)
    status = serve.status()
    apps = {}
    for name, app in status.applications.items():
        deployments = {d: {"status": str(dep.status.value), "replicas": dict(dep.replica_states),
                           "message": dep.message} for d, dep in app.deployments.items()}
        apps[name] = {"status": str(app.status.value), "route": ROUTES.get(name, "?"),
                      "message": app.message, "deployments": deployments}
    http = _http_url() if apps else None
    return ServingReport(http, apps)


def stop_serving(address: str | None = None) -> bool:
    """Remove every Serve application and Serve itself; returns whether any app was running."""
    from ray import serve

    ensure_ray(address, allow_in_process=False, log_to_driver=False)
    had_apps = bool(serve.status().applications)
    serve.shutdown()
    return had_apps


def _delay_model_dir(spec: ServeSpec) -> tuple[str | None, list[str]]:
    """The registry folder to serve (resolved, so the replica pins that version), or why none."""
    if not spec.delay_model:
        return None, []
    path = Path(spec.delay_model)
    if not (path / "model.pt").is_file():
        if spec.delay_model == DEFAULT_DELAY_MODEL:
            return None, [f"no trained model at {spec.delay_model}: /v1/predict/delay is not deployed "
                          "(train one: `rayline train`)"]
        raise InputError(f"--delay-model {spec.delay_model}: no model.pt there (a models/<run_id> folder)")
    return str(path.resolve()), []


def _gpus_per_replica(spec: LlmSpec) -> float:
    """The spec's GPUs, else one GPU per replica when the cluster has GPUs."""
    import ray

    if spec.num_gpus > 0:
        return spec.num_gpus
    return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0


def _http_url() -> str | None:
    from ray.serve.context import _get_global_client

    try:
        options = _get_global_client().http_config
    except Exception:  # Serve not started
        return None
    return f"http://{options.host}:{options.port}"

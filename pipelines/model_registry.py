"""The model registry: `models/<run_id>/` per training run, `models/latest` -> newest success.

Each run folder holds the weights (`model.pt`), the preprocessing the model needs
(`preprocessing.json`: vocabularies, normalisation, feature names), `metrics.json`
(per-epoch history, best epoch, baselines) and `config.json` (the training settings and
the data's fingerprint).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from cluster.errors import InputError
from pipelines.features import CATEGORICAL, CODE_COLUMNS, NUMERIC_FEATURES, Vocabulary

FILES = ("model.pt", "preprocessing.json", "metrics.json", "config.json")


def register_model(registry: str, run_id: str, *, weights: dict, vocab: Vocabulary, means, stds,
                   spec, history: list[dict], best: dict, baselines: dict, data_manifest: dict) -> str:
    """Write one run folder, then point `latest` at it; returns the folder."""
    folder = Path(registry) / run_id
    folder.mkdir(parents=True, exist_ok=False)
    torch.save(weights, folder / "model.pt")
    _write(folder / "preprocessing.json", {
        "categorical": list(CATEGORICAL), "code_columns": list(CODE_COLUMNS),
        "numeric": list(NUMERIC_FEATURES), "means": list(means), "stds": list(stds),
        "vocabulary": {k: list(v) for k, v in vocab.items()}, "unknown_code": 0,
        "architecture": {"embedding_dim": spec.embedding_dim, "hidden": list(spec.hidden)}})
    _write(folder / "metrics.json", {"best": best, "history": history, "baselines": baselines})
    _write(folder / "config.json", {"run_id": run_id, "spec": spec.to_json(),
                                    "data": {k: data_manifest.get(k) for k in
                                             ("dest", "input_fingerprint", "rows_out", "schema")}})
    _point_latest(Path(registry), run_id)
    return str(folder)


def list_models(registry: str) -> list[dict]:
    """Every complete run in the registry, newest first, with its best metrics."""
    root = Path(registry)
    if not root.is_dir():
        raise InputError(f"no model registry at {registry} (train one: `rayline train`)")
    latest = os.readlink(root / "latest") if (root / "latest").is_symlink() else None
    runs = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True):
        if not all((folder / f).is_file() for f in FILES):
            continue
        metrics = json.loads((folder / "metrics.json").read_text())
        runs.append({"run_id": folder.name, "latest": folder.name == latest, **metrics["best"],
                     "logistic_regression_auc": metrics["baselines"]["logistic_regression"]["val_auc"]})
    return runs


def _point_latest(root: Path, run_id: str) -> None:
    tmp = root / f".latest-{run_id}"
    tmp.symlink_to(run_id)
    os.replace(tmp, root / "latest")


def _write(path: Path, content: dict) -> None:
    path.write_text(json.dumps(content, indent=1))


def load_registered_model(folder: str) -> tuple[torch.nn.Module, dict]:
    """The model of one run folder (or `models/latest`) in eval mode, with its preprocessing."""
    from pipelines.delay_model import DelayMLP

    path = Path(folder)
    missing = [f for f in ("model.pt", "preprocessing.json") if not (path / f).is_file()]
    if missing:
        raise InputError(f"{folder} is not a trained model (missing {', '.join(missing)}; "
                         "train one: `rayline train`)")
    prep = json.loads((path / "preprocessing.json").read_text())
    vocab_sizes = [len(prep["vocabulary"][name]) for name in prep["categorical"]]
    arch = prep["architecture"]
    model = DelayMLP(vocab_sizes, prep["means"], prep["stds"], arch["embedding_dim"], tuple(arch["hidden"]))
    model.load_state_dict(torch.load(path / "model.pt", map_location="cpu", weights_only=True))
    prep["run_id"] = path.resolve().name
    return model.eval(), prep

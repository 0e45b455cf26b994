"""Training inputs from the ETL output: checks (before any worker starts), splits, statistics.

The driver reads only the manifest, the vocabulary and one Parquet footer; the rows stay in
Ray Data and are sharded to the workers by the trainer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pyarrow.parquet as pq

from cluster.errors import InputError
from pipelines.delay_model import MODEL_COLUMNS
from pipelines.features import CATEGORICAL, NUMERIC_FEATURES, SPLIT, Vocabulary, vocabulary_from_json


@dataclass(frozen=True)
class TrainingData:
    """What training needs to know about an ETL output folder."""

    path: str
    manifest: dict
    vocab: Vocabulary

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        return tuple(len(self.vocab[c]) for c in CATEGORICAL)


def check_training_data(path: str) -> TrainingData:
    """The ETL output at `path`, or InputError naming what is missing."""
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise InputError(f"no such data folder: {path} (run `rayline etl SOURCE --out {path}` first)")
    manifest_file, vocab_file = os.path.join(path, "_manifest.json"), os.path.join(path, "_vocab.json")
    for required in (manifest_file, vocab_file):
        if not os.path.isfile(required):
            raise InputError(f"{path} is not a finished ETL output: {os.path.basename(required)} is missing")
    with open(manifest_file) as f:
        manifest = json.load(f)
    outputs = [os.path.join(path, o["file"]) for o in manifest.get("outputs", [])]
    if not outputs or manifest.get("rows_out", 0) == 0:
        raise InputError(f"{path} holds no rows to train on")
    columns = set(pq.read_schema(outputs[0]).names)
    missing = [c for c in (*MODEL_COLUMNS, SPLIT) if c not in columns]
    if missing:
        raise InputError(f"{outputs[0]}: missing feature column(s) {missing}")
    with open(vocab_file) as f:
        vocab = vocabulary_from_json(f.read())
    return TrainingData(path, manifest, vocab)


def split_datasets(data: TrainingData, seed: int = 13) -> dict:
    """Ray Datasets of the train and valid splits, holding only the model's columns; the
    training rows are shuffled once (the ETL output is in time order)."""
    import ray.data
    from ray.data.expressions import col

    files = [os.path.join(data.path, o["file"]) for o in data.manifest["outputs"]]
    rows = ray.data.read_parquet(files, columns=[*MODEL_COLUMNS, SPLIT])
    splits = {name: rows.filter(expr=col(SPLIT) == name).select_columns(list(MODEL_COLUMNS))
              for name in ("train", "valid")}
    splits["train"] = splits["train"].random_shuffle(seed=seed)
    return {name: ds.materialize() for name, ds in splits.items()}


def normalisation(train) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Means and standard deviations of the numeric features over the training split."""
    means = train.mean(list(NUMERIC_FEATURES))
    stds = train.std(list(NUMERIC_FEATURES))
    return (tuple(float(means[f"mean({c})"]) for c in NUMERIC_FEATURES),
            tuple(float(stds[f"std({c})"]) for c in NUMERIC_FEATURES))

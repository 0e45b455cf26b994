"""Baselines on the same split, fitted in one process: always-majority and logistic regression.

The logistic regression sees the same inputs as the MLP: one weight per carrier, origin and
dest code (one-hot), plus the normalised numeric features.
"""

from __future__ import annotations

import os

import pyarrow.parquet as pq
import torch
from torch import nn

from pipelines.delay_model import MODEL_COLUMNS, batch_tensors
from pipelines.features import SPLIT
from pipelines.train_data import TrainingData
from pipelines.train_metrics import add_batch, empty_sums, finish


class LogisticRegression(nn.Module):
    def __init__(self, vocab_sizes, means, stds):
        super().__init__()
        self.weights = nn.ModuleList(nn.Embedding(n + 1, 1) for n in vocab_sizes)
        self.linear = nn.Linear(len(means), 1)
        self.register_buffer("mean", torch.tensor(list(means), dtype=torch.float32))
        self.register_buffer("std", torch.tensor([max(s, 1e-6) for s in stds], dtype=torch.float32))

    def forward(self, codes: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        logit = self.linear((numeric - self.mean) / self.std).squeeze(1)
        for i, weight in enumerate(self.weights):
            logit = logit + weight(codes[:, i]).squeeze(1)
        return logit


def load_split(data: TrainingData, split: str) -> tuple[torch.Tensor, ...]:
    """(codes, numeric, label) of one split, read into this process."""
    files = [os.path.join(data.path, o["file"]) for o in data.manifest["outputs"]]
    table = pq.ParquetDataset(files, filters=[(SPLIT, "=", split)]).read(columns=list(MODEL_COLUMNS))
    return batch_tensors({c: table.column(c).to_numpy() for c in MODEL_COLUMNS})


def fit_baselines(data: TrainingData, means, stds, steps: int = 60) -> dict[str, dict]:
    """Validation metrics of the majority baseline and a full-batch L-BFGS logistic regression."""
    train, valid = load_split(data, "train"), load_split(data, "valid")
    rate = float(train[2].mean())
    majority_logit = torch.full_like(valid[2], torch.logit(torch.tensor(rate)).item())
    majority = _evaluate(majority_logit, valid[2])
    majority["val_accuracy"] = float(((rate >= 0.5) == valid[2].bool()).float().mean())
    model = LogisticRegression(data.vocab_sizes, means, stds)
    optimiser = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")
    loss_fn = nn.BCEWithLogitsLoss()

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = loss_fn(model(train[0], train[1]), train[2])
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        logistic = _evaluate(model(valid[0], valid[1]), valid[2])
    return {"majority": majority, "logistic_regression": logistic}


def _evaluate(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    sums = empty_sums()
    add_batch(sums, logits, labels)
    return finish(sums)

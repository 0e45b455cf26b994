"""The flight-delay model: embeddings for carrier/origin/dest codes plus normalised numerics.

Normalisation statistics come from the training split and live in the model as buffers, so
a saved model carries its own preprocessing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pipelines.features import CODE_COLUMNS, LABEL, NUMERIC_FEATURES

MODEL_COLUMNS = (*CODE_COLUMNS, *NUMERIC_FEATURES, LABEL)


class DelayMLP(nn.Module):
    """Logit of P(arrival more than 15 minutes late)."""

    def __init__(self, vocab_sizes: Sequence[int], means: Sequence[float], stds: Sequence[float],
                 embedding_dim: int = 8, hidden: Sequence[int] = (64, 32)):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n + 1, embedding_dim) for n in vocab_sizes)
        self.register_buffer("mean", torch.tensor(list(means), dtype=torch.float32))
        self.register_buffer("std", torch.tensor([max(s, 1e-6) for s in stds], dtype=torch.float32))
        layers: list[nn.Module] = []
        width = embedding_dim * len(vocab_sizes) + len(means)
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, codes: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        parts = [emb(codes[:, i]) for i, emb in enumerate(self.embeddings)]
        parts.append((numeric - self.mean) / self.std)
        return self.mlp(torch.cat(parts, dim=1)).squeeze(1)


def batch_tensors(batch: dict, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
    """(codes, numeric, label) tensors from a batch of feature columns."""
    codes = torch.stack([torch.as_tensor(batch[c]) for c in CODE_COLUMNS], dim=1).long()
    numeric = torch.stack([torch.as_tensor(batch[c]) for c in NUMERIC_FEATURES], dim=1).float()
    label = torch.as_tensor(batch[LABEL]).float()
    return codes.to(device), numeric.to(device), label.to(device)

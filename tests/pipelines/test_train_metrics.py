"""Metrics that add up across workers agree with exact single-process values."""

from __future__ import annotations

import pytest
import torch

from pipelines.delay_model import DelayMLP
from pipelines.train_metrics import add_batch, empty_sums, finish


def exact_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).double().mean()
    ties = (pos[:, None] == neg[None, :]).double().mean()
    return float(greater + 0.5 * ties)


def test_histogram_auc_matches_exact_auc_and_sums_across_shards():
    torch.manual_seed(0)
    labels = (torch.rand(4000) < 0.3).float()
    logits = torch.randn(4000) + 1.2 * labels
    whole, shards = empty_sums(), [empty_sums(), empty_sums()]
    add_batch(whole, logits, labels)
    add_batch(shards[0], logits[:1500], labels[:1500])
    add_batch(shards[1], logits[1500:], labels[1500:])
    combined = finish(shards[0] + shards[1])
    assert combined == pytest.approx(finish(whole), rel=1e-12)
    assert abs(combined["val_auc"] - exact_auc(torch.sigmoid(logits), labels)) < 1e-3
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected_loss = bce(logits.double(), labels.double()).item()
    assert abs(combined["val_log_loss"] - expected_loss) < 1e-9
    assert combined["val_rows"] == 4000


def test_model_normalises_with_its_own_statistics():
    model = DelayMLP([3, 2, 4], means=[10.0, 3.0, 1000.0], stds=[5.0, 2.0, 500.0])
    codes = torch.tensor([[1, 2, 0], [3, 0, 4]])
    numeric = torch.tensor([[10.0, 3.0, 1000.0], [12.0, 1.0, 2000.0]])
    assert model(codes, numeric).shape == (2,)
    state = model.state_dict()
    assert state["mean"].tolist() == [10.0, 3.0, 1000.0]

"""Validation metrics that add up across workers: AUC from score histograms, log loss, accuracy.

Each worker fills `MetricSums` for its shard; the sums are all-reduced, then `finish` turns
them into metrics. Pure torch, no Ray.
"""

from __future__ import annotations

import torch

BINS = 10_000


def empty_sums(device: torch.device | str = "cpu") -> torch.Tensor:
    """[positives per score bin | negatives per score bin | log-loss sum, correct, rows]."""
    return torch.zeros(2 * BINS + 3, dtype=torch.float64, device=device)


def add_batch(sums: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
    """Accumulate one batch of logits and 0/1 labels into `sums`."""
    probs = torch.sigmoid(logits.float()).double()
    labels = labels.double()
    bins = torch.clamp((probs * BINS).long(), max=BINS - 1)
    sums[:BINS] += torch.bincount(bins, weights=labels, minlength=BINS)
    sums[BINS:2 * BINS] += torch.bincount(bins, weights=1 - labels, minlength=BINS)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.double(), labels, reduction="sum")
    sums[-3] += loss
    sums[-2] += ((probs >= 0.5).double() == labels).sum()
    sums[-1] += labels.numel()


def finish(sums: torch.Tensor) -> dict[str, float]:
    """AUC (ties in a bin count half), log loss and accuracy from summed statistics."""
    pos, neg = sums[:BINS], sums[BINS:2 * BINS]
    total_pos, total_neg = pos.sum(), neg.sum()
    neg_below = torch.cumsum(neg, 0) - neg
    auc = ((pos * neg_below).sum() + 0.5 * (pos * neg).sum()) / (total_pos * total_neg)
    rows = sums[-1]
    return {"val_auc": float(auc), "val_log_loss": float(sums[-3] / rows),
            "val_accuracy": float(sums[-2] / rows), "val_rows": int(rows)}

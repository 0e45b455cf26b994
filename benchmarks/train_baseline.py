"""Baseline for `rayline bench train`: the same model, data and batch size in one plain
PyTorch process (no Ray), the training split held in memory as tensors.

    python -m benchmarks.train_baseline DATA_DIR --epochs 2 --batch-size 1024
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from pipelines.baselines import load_split
from pipelines.delay_model import DelayMLP
from pipelines.train_config import TrainSpec
from pipelines.train_data import check_training_data


def run_baseline(data_dir: str, epochs: int, batch_size: int) -> dict:
    """Train for `epochs`; samples/s of each epoch (the data is loaded before the first)."""
    spec = TrainSpec(data=data_dir, workers=1, batch_size=batch_size, epochs=epochs)
    data = check_training_data(data_dir)
    codes, numeric, label = load_split(data, "train")
    means, stds = numeric.mean(0).tolist(), numeric.std(0).tolist()
    torch.manual_seed(spec.seed)
    model = DelayMLP(data.vocab_sizes, means, stds, spec.embedding_dim, spec.hidden)
    optimiser = torch.optim.Adam(model.parameters(), lr=spec.learning_rate)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rates = []
    for _ in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(len(label))
        for begin in range(0, len(label), batch_size):
            index = order[begin:begin + batch_size]
            loss = loss_fn(model(codes[index], numeric[index]), label[index])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        rates.append(len(label) / (time.perf_counter() - started))
    return {"samples_per_s_by_epoch": rates, "rows": len(label), "torch_threads": torch.get_num_threads()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()
    print(json.dumps(run_baseline(args.data, args.epochs, args.batch_size)))

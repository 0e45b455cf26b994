"""Distributed training of the delay model with Ray Train's TorchTrainer.

    rayline train --data data/processed/flights [--workers 2] [--gpus-per-worker 1] [--epochs 3]

N CPU workers and N GPU workers run the same code: DDP over gloo on CPU, NCCL and bf16
autocast on GPU. The ETL's Parquet is read by Ray Data and sharded to the workers by the
trainer. Every epoch reports loss, validation AUC/log loss/accuracy and samples/s, with a
checkpoint (model, optimiser, epoch, history); a replaced worker group resumes from the
latest checkpoint at the next epoch. The best checkpoint goes to the model registry.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass

import torch
import torch.distributed as dist

from cluster.connect import ensure_ray
from cluster.errors import ConfigError, PipelineError
from pipelines.baselines import fit_baselines
from pipelines.delay_model import DelayMLP, batch_tensors
from pipelines.model_registry import register_model
from pipelines.train_config import TrainSpec
from pipelines.train_data import TrainingData, check_training_data, normalisation, split_datasets
from pipelines.train_metrics import add_batch, empty_sums, finish

log = logging.getLogger(__name__)
_STATE = "state.pt"
_FETCH_BATCHES = 64  # mini-batches per block fetched from Ray Data


class InjectedFailure(RuntimeError):
    """A deliberate test fault (TrainSpec.fail_at_epoch): the only way to kill a worker on cue."""


@dataclass(frozen=True)
class TrainReport:
    run_id: str
    model_dir: str
    history: list[dict]
    best: dict
    baselines: dict
    use_gpu: bool
    workers: int


# ---- the loop each worker runs -------------------------------------------------------------

def train_loop_per_worker(config: dict) -> None:
    """Train from the latest checkpoint (if any) to the last epoch, reporting every epoch."""
    import ray.train
    import ray.train.torch

    spec = TrainSpec(**{**config["spec"], "hidden": tuple(config["spec"]["hidden"])})
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    torch.manual_seed(spec.seed)
    model = ray.train.torch.prepare_model(
        DelayMLP(config["vocab_sizes"], config["means"], config["stds"], spec.embedding_dim, spec.hidden),
        # The only buffers are the constant normalisation statistics: no broadcast every step.
        # A static graph and bucket views save a copy and a check per step (measured here:
        # 7.9 ms/step vs 9.3 for plain DDP; 3.3 ms of it is compute, the rest gloo's all-reduce).
        parallel_strategy_kwargs={"broadcast_buffers": False, "static_graph": True,
                                  "gradient_as_bucket_view": True})
    optimiser = torch.optim.Adam(model.parameters(), lr=spec.learning_rate)
    checkpoint = ray.train.get_checkpoint()
    fresh = {"epoch": 0, "history": [], "attempt": 0}
    state = _restore(checkpoint, model, optimiser) if checkpoint else fresh
    attempt = state["attempt"] + (1 if checkpoint else 0)
    train, valid = ray.train.get_dataset_shard("train"), ray.train.get_dataset_shard("valid")
    cache = _ShardCache(spec.cache_shard_mb << 20, _FETCH_BATCHES * spec.batch_size)
    for epoch in range(state["epoch"] + 1, spec.epochs + 1):
        if spec.fail_at_epoch == epoch and checkpoint is None and rank == world - 1:
            raise InjectedFailure(f"injected test fault: worker {rank} at the start of epoch {epoch}")
        metrics = {"epoch": epoch, "attempt": attempt,
                   **_train_epoch(model, optimiser, train, spec, device, cache)}
        metrics.update(_validate(model, valid, spec, device, rank))
        state["history"].append(metrics)
        _report(metrics, model, optimiser, state["history"], attempt, rank)


def _train_epoch(model, optimiser, shard, spec: TrainSpec, device: torch.device,
                 cache: _ShardCache) -> dict:
    """One pass over this worker's shard. The first epoch streams it from Ray Data in large
    blocks (one Arrow-to-tensor conversion each) and keeps it on the device when it fits
    `cache_shard_mb`; later epochs then reshuffle the cached rows instead of re-reading.
    Equal shards give every worker the same number of steps, as DDP needs."""
    model.train()
    loss_fn = torch.nn.BCEWithLogitsLoss()
    sums = torch.zeros(2, dtype=torch.float64, device=device)
    losses: list[torch.Tensor] = []
    step = spec.batch_size
    started = time.perf_counter()
    for codes, numeric, label in cache.blocks(shard, device):
        order = torch.randperm(len(label), device=device)
        for begin in range(0, len(label), step):
            index = order[begin:begin + step]
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = model(codes[index], numeric[index])
            loss = loss_fn(logits.float(), label[index])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            losses = [losses[0] if losses else loss.detach(), loss.detach()]
            sums[0] += loss.detach().double() * len(index)
            sums[1] += len(index)
    first, last = losses or [torch.zeros((), device=device)] * 2
    seconds = torch.tensor([time.perf_counter() - started], dtype=torch.float64, device=device)
    _all_reduce(sums)
    _all_reduce(seconds, dist.ReduceOp.MAX if dist.is_initialized() else None)
    pair = torch.stack([first, last]).float()
    _all_reduce(pair)
    world = dist.get_world_size() if dist.is_initialized() else 1
    return {"train_loss": float(sums[0] / sums[1]), "train_rows": int(sums[1]),
            "first_batch_loss": float(pair[0] / world), "last_batch_loss": float(pair[1] / world),
            "epoch_seconds": float(seconds[0]), "samples_per_s": float(sums[1] / seconds[0]),
            "shard_cached": cache.complete}


class _ShardCache:
    """This worker's training rows as tensors on its device, kept while under a byte budget."""

    def __init__(self, budget_bytes: int, fetch_rows: int):
        self.budget, self.fetch_rows = budget_bytes, fetch_rows
        self.parts: list[tuple[torch.Tensor, ...]] | None = []
        self.complete = False

    def blocks(self, shard, device: torch.device):
        if self.complete:
            yield tuple(torch.cat(column) for column in zip(*self.parts, strict=True))
            return
        used = 0
        for block in shard.iter_torch_batches(batch_size=self.fetch_rows, prefetch_batches=2):
            tensors = batch_tensors(block, device)
            used += sum(t.element_size() * t.numel() for t in tensors)
            if self.parts is not None and used <= self.budget:
                self.parts.append(tensors)
            else:
                self.parts = None  # over budget: later epochs stream again
            yield tensors
        self.complete = self.parts is not None
        if self.complete and len(self.parts) > 1:
            self.parts = [tuple(torch.cat(column) for column in zip(*self.parts, strict=True))]


def _validate(model, dataset, spec: TrainSpec, device: torch.device, rank: int) -> dict:
    """Rank 0 scores the whole validation split (no row dropped to even out shards); the
    other workers wait at the broadcast and receive the same metrics."""
    metrics = [None]
    if rank == 0:
        model.eval()
        sums = empty_sums(device)
        with torch.no_grad():
            for batch in dataset.iter_torch_batches(batch_size=_FETCH_BATCHES * spec.batch_size):
                codes, numeric, label = batch_tensors(batch, device)
                with torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                                    enabled=device.type == "cuda"):
                    logits = _unwrap(model)(codes, numeric)
                add_batch(sums, logits, label)
        metrics = [finish(sums.cpu())]
    if dist.is_initialized():
        dist.broadcast_object_list(metrics, src=0)
    return metrics[0]


def _all_reduce(tensor: torch.Tensor, op=None) -> None:
    if dist.is_initialized():
        dist.all_reduce(tensor, op=op or dist.ReduceOp.SUM)


def _restore(checkpoint, model, optimiser) -> dict:
    with checkpoint.as_directory() as folder:
        state = torch.load(os.path.join(folder, _STATE), map_location="cpu", weights_only=False)
    _unwrap(model).load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimizer"])
    return state


def _report(metrics: dict, model, optimiser, history: list[dict], attempt: int, rank: int) -> None:
    import ray.train

    with tempfile.TemporaryDirectory() as folder:
        checkpoint = None
        if rank == 0:
            torch.save({"model": _unwrap(model).state_dict(), "optimizer": optimiser.state_dict(),
                        "epoch": metrics["epoch"], "metrics": metrics, "history": history,
                        "attempt": attempt}, os.path.join(folder, _STATE))
            checkpoint = ray.train.Checkpoint.from_directory(folder)
        ray.train.report(metrics, checkpoint=checkpoint)


def _unwrap(model):
    return model.module if hasattr(model, "module") else model


# ---- the driver ----------------------------------------------------------------------------

def run_train(spec: TrainSpec, ray_address: str | None = None) -> TrainReport:
    """Check the data, fit the baselines, train on Ray, and register the best model."""
    data = check_training_data(spec.data)
    ensure_ray(ray_address)
    use_gpu = _decide_gpu(spec)
    datasets = split_datasets(data, spec.seed)
    means, stds = normalisation(datasets["train"])
    baselines = _fit_baselines_in_one_process(data, means, stds)
    run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    log.info("training %s: %d %s workers, %d epochs", run_id, spec.workers, "GPU" if use_gpu else "CPU",
             spec.epochs)
    from ray.train import TrainingFailedError

    try:
        result = _trainer(spec, data, means, stds, datasets, use_gpu, run_id).fit()
    except TrainingFailedError as e:
        cause = str(e).strip().splitlines()[-1]  # the worker's exception line, not its traceback
        raise PipelineError(f"training {run_id} failed (max_failures={spec.max_failures}): {cause}") from e
    if result.error:
        raise PipelineError(f"training {run_id} failed: {result.error}") from result.error
    best_checkpoint, best = max(result.best_checkpoints, key=lambda cm: cm[1]["val_auc"])
    with result.checkpoint.as_directory() as folder:
        history = torch.load(os.path.join(folder, _STATE), weights_only=False)["history"]
    with best_checkpoint.as_directory() as folder:
        weights = torch.load(os.path.join(folder, _STATE), weights_only=False)["model"]
    model_dir = register_model(spec.registry, run_id, weights=weights, vocab=data.vocab, means=means,
                               stds=stds, spec=spec, history=history, best=best, baselines=baselines,
                               data_manifest=data.manifest)
    return TrainReport(run_id, model_dir, history, best, baselines, use_gpu, spec.workers)


def _decide_gpu(spec: TrainSpec) -> bool:
    import ray

    gpus = ray.cluster_resources().get("GPU", 0)
    if spec.gpus_per_worker > 0 and gpus < spec.gpus_per_worker * spec.workers:
        raise ConfigError(f"--gpus-per-worker {spec.gpus_per_worker} x --workers {spec.workers} needs "
                          f"{spec.gpus_per_worker * spec.workers:g} GPUs; the cluster has {gpus:g}")
    return spec.use_gpu if spec.use_gpu is not None else gpus > 0


def _fit_baselines_in_one_process(data: TrainingData, means, stds) -> dict:
    import ray

    return ray.get(ray.remote(num_cpus=1)(fit_baselines).remote(data, means, stds))


def _trainer(spec: TrainSpec, data: TrainingData, means, stds, datasets, use_gpu: bool, run_id: str):
    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    resources = {"GPU": spec.gpus_per_worker or 1} if use_gpu else None
    return TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"spec": spec.to_json(), "vocab_sizes": list(data.vocab_sizes),
                           "means": list(means), "stds": list(stds)},
        scaling_config=ScalingConfig(num_workers=spec.workers, use_gpu=use_gpu,
                                     resources_per_worker=resources),
        run_config=RunConfig(
            name=run_id, storage_path=os.path.abspath(spec.storage_path),
            checkpoint_config=CheckpointConfig(num_to_keep=spec.keep_checkpoints,
                                               checkpoint_score_attribute="val_auc",
                                               checkpoint_score_order="max"),
            failure_config=FailureConfig(max_failures=spec.max_failures)),
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        datasets=datasets,
        dataset_config=DataConfig(datasets_to_split=["train"]),  # valid: whole, scored by rank 0
    )

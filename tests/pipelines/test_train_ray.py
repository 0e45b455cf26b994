"""Ray Train on the real flights ETL output: 2 CPU workers, failure and resume, the registry."""

from __future__ import annotations

import json
import os

import pytest

from cluster.errors import InputError
from pipelines.model_registry import list_models
from pipelines.train_config import TrainSpec
from pipelines.train_data import check_training_data
from pipelines.train_ray import run_train

pytestmark = pytest.mark.slow


def spec(tmp_path, data, **kw) -> TrainSpec:
    return TrainSpec(data=str(data), workers=2, use_gpu=False, storage_path=str(tmp_path / "runs"),
                     registry=str(tmp_path / "models"), **kw)


def test_two_cpu_workers_beat_majority_and_register(trained_model):
    report, registry = trained_model
    assert [h["epoch"] for h in report.history] == [1, 2]
    assert report.baselines["majority"]["val_auc"] == 0.5
    assert report.best["val_auc"] > report.baselines["majority"]["val_auc"] + 0.1
    assert report.best["val_rows"] == report.baselines["majority"]["val_rows"]  # no valid row dropped
    folder = registry / report.run_id
    assert sorted(os.listdir(folder)) == ["config.json", "metrics.json", "model.pt", "preprocessing.json"]
    assert os.readlink(registry / "latest") == report.run_id
    pre = json.loads((folder / "preprocessing.json").read_text())
    assert pre["vocabulary"]["origin"] == ["EWR", "JFK", "LGA"] and len(pre["means"]) == 3
    [listed] = list_models(str(registry))
    assert listed["run_id"] == report.run_id and listed["latest"]


def test_worker_failure_resumes_at_the_next_epoch(flights_etl, tmp_path):
    report = run_train(spec(tmp_path, flights_etl, epochs=3, fail_at_epoch=2, max_failures=1))
    history = report.history
    assert [h["epoch"] for h in history] == [1, 2, 3]  # exactly E epochs
    assert [h["attempt"] for h in history] == [0, 1, 1]  # the resume started at epoch 2
    assert history[0]["first_batch_loss"] > 0.6  # a fresh model starts near log(2)
    # The resumed model (epoch 1's checkpoint) is nearer its own validation loss than a fresh model.
    # (Not its last batch's loss: batches come from one block, often one month, and months differ.)
    resumed = history[1]["first_batch_loss"]
    assert abs(resumed - history[0]["val_log_loss"]) < abs(resumed - history[0]["first_batch_loss"])
    assert report.best["val_auc"] > report.baselines["logistic_regression"]["val_auc"]


def test_missing_data_and_missing_column_fail_before_any_worker(flights_etl, tmp_path):
    with pytest.raises(InputError, match="no such data folder: .*nowhere"):
        check_training_data(str(tmp_path / "nowhere"))
    broken = tmp_path / "broken"
    broken.mkdir()
    import pyarrow.parquet as pq

    table = pq.read_table(flights_etl / "part-00000.parquet").drop_columns(["dest_code"])
    pq.write_table(table, broken / "part-00000.parquet")
    for name in ("_manifest.json", "_vocab.json"):
        (broken / name).write_text((flights_etl / name).read_text())
    with pytest.raises(InputError, match=r"missing feature column\(s\) \['dest_code'\]"):
        check_training_data(str(broken))


def test_failure_past_max_failures_is_a_clear_error(flights_etl, tmp_path):
    from cluster.errors import PipelineError

    with pytest.raises(PipelineError, match=r"failed \(max_failures=0\).*injected test fault"):
        run_train(spec(tmp_path, flights_etl, epochs=1, fail_at_epoch=1, max_failures=0))
    assert not (tmp_path / "models" / "latest").exists()

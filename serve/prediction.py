"""Score typed flight records with the delay model (pure: no HTTP, no Ray).

The model inputs come from `pipelines.features.model_inputs`, the code the ETL uses, so a
flight gets the same features in training and in serving.
"""

from __future__ import annotations

import torch

from pipelines.delay_model import batch_tensors
from pipelines.features import LABEL, Vocabulary, model_inputs
from pipelines.records import TypedRecords


class PredictionError(ValueError):
    """Records that cannot be scored; `errors` lists each one, `param` names the first."""

    def __init__(self, errors: list[dict]):
        first = errors[0]
        where = f"records[{first['index']}]" + (f".{first['field']}" if first["field"] else "")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}: {first['reason']}{more}")
        self.errors, self.param = errors, where


def score_records(model: torch.nn.Module, vocab: Vocabulary, typed: TypedRecords) -> list[float]:
    """P(delayed) for each record, in order; PredictionError if any record was rejected."""
    if typed.errors:
        raise PredictionError([e.to_json() for e in typed.errors])
    inputs = model_inputs(typed.table, vocab)
    inputs[LABEL] = torch.zeros(typed.table.num_rows)
    codes, numeric, _ = batch_tensors(inputs)
    with torch.inference_mode():
        return torch.sigmoid(model(codes, numeric)).tolist()

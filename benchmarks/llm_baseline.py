"""The serving benchmark's baseline: one `generate()` per request, one after another, in one process.

    python -m benchmarks.llm_baseline --max-tokens 64      # prints one JSON line

Same model, same loading (serve.llm_model), same prompts and greedy decoding as the endpoint;
torch uses every CPU this process may use.
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.serve_prompts import PROMPTS, chat_messages
from serve.llm_config import LlmSpec
from serve.llm_model import load_model


def run_baseline(max_tokens: int, prompts: tuple[str, ...] = PROMPTS) -> dict:
    import torch

    loaded = load_model(LlmSpec())
    tokenizer, model = loaded.tokenizer, loaded.model
    latencies, tokens = [], 0
    started = time.perf_counter()
    for prompt in prompts:
        t0 = time.perf_counter()
        inputs = tokenizer.apply_chat_template(chat_messages(prompt), add_generation_prompt=True,
                                               return_tensors="pt", return_dict=True)
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=max_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)
        new = out[0, inputs["input_ids"].shape[1]:]
        tokens += int((~torch.isin(new, torch.tensor(loaded.eos_token_ids))).sum())
        latencies.append((time.perf_counter() - t0) * 1000)
    seconds = time.perf_counter() - started
    return {"requests": len(prompts), "tokens": tokens, "seconds": round(seconds, 3),
            "tokens_per_s": round(tokens / seconds, 2), "latencies_ms": [round(x, 1) for x in latencies],
            "torch_threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    print(json.dumps(run_baseline(args.max_tokens)))


if __name__ == "__main__":
    main()

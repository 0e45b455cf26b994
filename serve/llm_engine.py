"""A batching generation engine: requests that arrive together are decoded together.

One background thread owns the model. It takes up to `max_batch_size` waiting requests
(while a burst is still arriving it waits a little, so that the burst lands in one batch), runs one
prefill over the left-padded prompts and then one forward pass per token for the whole batch,
reusing the KV cache. Requests that arrive meanwhile are prefilled between two steps and join
the running batch (continuous batching): nobody waits for a whole batch to finish. Each
request keeps its own temperature, top_p, stop strings and token budget; a finished or cancelled
request leaves the batch at once (its rows are dropped from the cache). Text pieces go back to
the caller through a callback, or `generate()` as an async iterator. No Ray here: the Serve
deployment wraps it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from serve.decode_batch import RunningBatch, sample_row
from serve.llm_model import LoadedModel
from serve.text_stream import TextStream

log = logging.getLogger(__name__)
GREEDY_BELOW = 1e-5  # temperatures under this are decoded greedily (dividing by them overflows)


@dataclass(frozen=True)
class SamplingParams:
    """How one request is decoded; temperature 0 is greedy (deterministic)."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class Piece:
    """Text for one request; the last piece has a finish_reason and the token counts."""

    text: str
    finish_reason: str | None = None  # "stop", "length", "cancelled" or "error"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None


@dataclass
class _Sequence:
    prompt_ids: list[int]
    params: SamplingParams
    sink: Callable[[Piece], None]
    stream: TextStream
    generated: int = 0
    done: bool = False
    sample_error: str | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    generator: object | None = None  # a torch.Generator when the request has a seed

    def cancel(self) -> None:
        self.cancelled.set()


class BatchingEngine:
    """Owns the model and its decode thread; thread-safe `submit`, async `generate`."""

    def __init__(self, loaded: LoadedModel, max_batch_size: int = 16, batch_wait_timeout_s: float = 0.05,
                 batch_max_wait_s: float = 0.25):
        self._loaded = loaded
        self._max_batch = max_batch_size
        self._wait_s, self._max_wait_s = batch_wait_timeout_s, max(batch_max_wait_s, batch_wait_timeout_s)
        self._waiting: deque[_Sequence] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="llm-decode", daemon=True)
        self._stats = {"requests_finished": 0, "requests_cancelled": 0, "tokens_generated": 0,
                       "batches": 0, "largest_batch": 0, "running": 0}

    def start(self) -> BatchingEngine:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=30)

    def stats(self) -> dict:
        with self._cond:
            return {**self._stats, "waiting": len(self._waiting)}

    def submit(self, prompt_ids: list[int], params: SamplingParams,
               sink: Callable[[Piece], None]) -> _Sequence:
        """Queue one request; `sink` receives its pieces on the decode thread."""
        seq = _Sequence(list(prompt_ids), params, sink, TextStream(self._loaded.tokenizer, params.stop))
        with self._cond:
            if self._closed:
                raise RuntimeError("the generation engine is closed")
            self._waiting.append(seq)
            self._cond.notify_all()
        return seq

    async def generate(self, prompt_ids: list[int], params: SamplingParams) -> AsyncIterator[Piece]:
        """Pieces of one request as they are decoded; leaving early cancels the generation."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Piece] = asyncio.Queue()
        seq = self.submit(prompt_ids, params,
                          lambda piece: loop.call_soon_threadsafe(queue.put_nowait, piece))
        try:
            while True:
                piece = await queue.get()
                yield piece
                if piece.finish_reason is not None:
                    return
        finally:
            seq.cancel()  # a no-op once finished; stops the decoding of an abandoned request

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if batch:
                self._decode_safely(batch)

    def _take_batch(self) -> list[_Sequence] | None:
        """Up to max_batch_size live requests, or None once closed."""
        with self._cond:
            while not self._waiting and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            self._gather_burst()
            batch = [self._waiting.popleft() for _ in range(min(self._max_batch, len(self._waiting)))]
        live = [s for s in batch if not s.cancelled.is_set()]
        for seq in batch:
            if seq.cancelled.is_set():
                self._finish(seq, "cancelled")
        return live

    def _gather_burst(self) -> None:
        """Wait (lock held) while requests keep arriving: until the batch is full, no request came
        for `batch_wait_timeout_s`, or `batch_max_wait_s` passed since the first one."""
        now = time.monotonic()
        cap, quiet_until, seen = now + self._max_wait_s, now + self._wait_s, len(self._waiting)
        while len(self._waiting) < self._max_batch:
            left = min(cap, quiet_until) - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(left)
            if len(self._waiting) > seen:
                seen, quiet_until = len(self._waiting), time.monotonic() + self._wait_s

    def _decode_safely(self, batch: list[_Sequence]) -> None:
        active = list(batch)  # every request this run touched, joiners included
        with self._cond:
            self._stats["batches"] += 1
        try:
            self._decode(batch, active)
        except Exception as e:  # a model failure ends these requests, not the engine
            log.exception("generation failed for a batch of %d", len(active))
            for seq in active:
                if not seq.done:
                    self._finish(seq, "error", error=f"{type(e).__name__}: {e}")
        finally:
            with self._cond:
                self._stats["running"] = 0

    def _decode(self, seqs: list[_Sequence], active: list[_Sequence]) -> None:
        """Continuous batching: between two decode steps, waiting requests are prefilled and
        join the running batch (up to max_batch_size), so nobody waits for a whole batch."""
        import torch

        with torch.inference_mode():
            running = self._prefill(seqs)
            while running is not None:
                joiners = self._take_joiners(self._max_batch - len(running.seqs))
                if joiners:
                    active += joiners
                    joined = self._prefill(joiners)
                    running = running.merge(joined) if joined is not None else running
                self._note_running(len(running.seqs))
                running = self._step(running)

    def _take_joiners(self, room: int) -> list[_Sequence]:
        if room <= 0:
            return []
        with self._cond:
            taken = [self._waiting.popleft() for _ in range(min(room, len(self._waiting)))]
        for seq in taken:
            if seq.cancelled.is_set():
                self._finish(seq, "cancelled")
        return [s for s in taken if not s.done]

    def _note_running(self, size: int) -> None:
        with self._cond:
            self._stats["running"] = size
            self._stats["largest_batch"] = max(self._stats["largest_batch"], size)

    def _prefill(self, seqs: list[_Sequence]) -> RunningBatch | None:
        """One forward over the left-padded prompts; each request gets its first token."""
        ids, mask = self._left_pad([s.prompt_ids for s in seqs])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self._loaded.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                                 logits_to_keep=1)
        tokens = self._sample(out.logits[:, -1, :], seqs)
        return self._retire(RunningBatch(seqs, out.cache, mask, positions[:, -1:], tokens))

    def _step(self, running: RunningBatch) -> RunningBatch | None:
        """Feed every running request its last token; each gets its next one."""
        import torch

        mask = torch.cat([running.mask, running.mask.new_ones((len(running.seqs), 1))], dim=1)
        positions = running.positions + 1
        out = self._loaded.model(input_ids=running.tokens[:, None], attention_mask=mask,
                                 position_ids=positions, cache=running.cache, use_cache=True)
        running.mask, running.positions = mask, positions
        running.tokens = self._sample(out.logits[:, -1, :], running.seqs)
        return self._retire(running)

    def _retire(self, running: RunningBatch) -> RunningBatch | None:
        """Hand out the sampled tokens; finished or cancelled requests leave the batch at once."""
        keep = [i for i, (s, t) in enumerate(zip(running.seqs, running.tokens.tolist(), strict=True))
                if not self._advance(s, t)]
        if not keep:
            return None
        if len(keep) < len(running.seqs):
            running.select(keep)
        return running

    def _advance(self, seq: _Sequence, token: int) -> bool:
        """Give `seq` its next token; returns whether it is finished."""
        if seq.cancelled.is_set():
            self._finish(seq, "cancelled")
            return True
        if seq.sample_error:
            self._finish(seq, "error", error=seq.sample_error)
            return True
        if token in self._loaded.eos_token_ids:
            self._finish(seq, "stop", seq.stream.flush())
            return True
        seq.generated += 1
        text, stopped = seq.stream.push(token)
        if stopped:
            self._finish(seq, "stop", text)
            return True
        at_limit = (seq.generated >= seq.params.max_tokens
                    or len(seq.prompt_ids) + seq.generated >= self._loaded.context_length)
        if at_limit:
            self._finish(seq, "length", text + seq.stream.flush())
            return True
        if text:
            seq.sink(Piece(text))
        return False

    def _finish(self, seq: _Sequence, reason: str, text: str = "", error: str | None = None) -> None:
        with self._cond:
            key = "requests_cancelled" if reason == "cancelled" else "requests_finished"
            self._stats[key] += 1
            self._stats["tokens_generated"] += seq.generated
        seq.done = True
        seq.sink(Piece(text, reason, len(seq.prompt_ids), seq.generated, error))

    def _left_pad(self, prompts: list[list[int]]):
        import torch

        width = max(len(p) for p in prompts)
        pad = self._loaded.tokenizer.pad_token_id or 0
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt):] = 1
        device = self._loaded.device
        return ids.to(device), mask.to(device)

    def _sample(self, logits, seqs: list[_Sequence]):
        """Greedy rows by argmax; sampled rows with their own temperature, top_p and seed."""

        tokens = logits.argmax(dim=-1)
        for row, seq in enumerate(seqs):
            if seq.params.temperature < GREEDY_BELOW:
                continue
            try:
                tokens[row] = sample_row(logits[row], seq.params, seq)
            except (RuntimeError, ValueError) as e:  # this request fails, not its batch
                seq.sample_error = f"sampling failed: {e}"
        return tokens

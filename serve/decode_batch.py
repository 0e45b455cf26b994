"""The decoding batch of the LLM engine: its KV cache, mask and positions, and how a row samples.

`RunningBatch.merge` is what makes continuous batching work: the narrower batch is left-padded
(masked out) to the other's width, and the KV caches are concatenated row-wise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunningBatch:
    """The decoding batch: its requests, KV cache, attention mask, last positions, pending tokens."""

    seqs: list
    cache: object
    mask: object  # [batch, width]: 0 marks left padding
    positions: object  # [batch, 1]: position of each row's last token
    tokens: object  # [batch]: the token each row feeds next

    def select(self, rows: list[int]) -> None:
        import torch

        index = torch.tensor(rows, device=self.tokens.device)
        self.cache.batch_select_indices(index)
        self.mask, self.positions, self.tokens = self.mask[index], self.positions[index], self.tokens[index]
        self.seqs = [self.seqs[i] for i in rows]

    def merge(self, other: RunningBatch) -> RunningBatch:
        """One batch of both: the narrower one is left-padded (masked) to the other's width."""
        import torch
        import torch.nn.functional as F

        width = max(self.mask.shape[1], other.mask.shape[1])
        for part in (self, other):
            extra = width - part.mask.shape[1]
            if extra:
                part.mask = F.pad(part.mask, (extra, 0))
                for layer in part.cache.layers:
                    layer.keys = F.pad(layer.keys, (0, 0, extra, 0))
                    layer.values = F.pad(layer.values, (0, 0, extra, 0))
        for mine, theirs in zip(self.cache.layers, other.cache.layers, strict=True):
            mine.keys = torch.cat([mine.keys, theirs.keys], dim=0)
            mine.values = torch.cat([mine.values, theirs.values], dim=0)
        self.mask = torch.cat([self.mask, other.mask], dim=0)
        self.positions = torch.cat([self.positions, other.positions], dim=0)
        self.tokens = torch.cat([self.tokens, other.tokens], dim=0)
        self.seqs = self.seqs + other.seqs
        return self


def sample_row(logits, params, state) -> object:
    """One token from one row's logits with its temperature, top_p and seed; `state.generator`
    keeps a seeded request's random stream across steps."""
    import torch

    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        outside = sorted_probs.cumsum(0) - sorted_probs > params.top_p
        sorted_probs[outside] = 0.0
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
    if params.seed is not None and state.generator is None:
        state.generator = torch.Generator(device=probs.device).manual_seed(params.seed)
    return torch.multinomial(probs, 1, generator=state.generator)[0]

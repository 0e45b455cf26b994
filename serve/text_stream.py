"""Generated token ids to text pieces: never half a character, never part of a stop string.

Byte-level tokenizers split a multi-byte character (an emoji, say) across tokens; decoding
such a prefix ends in U+FFFD. A piece is released only once it is whole, and text that could
be the start of a stop string is held back until it is clear either way. Streaming and
non-streaming answers are both the concatenation of these pieces, so they are identical.
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"


class TextStream:
    """Feed token ids one by one; get back the text that is safe to send."""

    def __init__(self, tokenizer, stop: tuple[str, ...] = ()):
        self._tokenizer = tokenizer
        self._stop = tuple(s for s in stop if s)
        self._ids: list[int] = []
        self._text = ""
        self._sent = 0  # characters of _text already released

    def push(self, token_id: int) -> tuple[str, bool]:
        """Add one token; returns (new text to send, whether a stop string was reached)."""
        self._ids.append(token_id)
        self._text = self._tokenizer.decode(self._ids, skip_special_tokens=True,
                                            clean_up_tokenization_spaces=False)
        cut = self._first_stop()
        if cut is not None:
            return self._release(cut), True
        if self._text.endswith(REPLACEMENT):
            return "", False
        return self._release(len(self._text) - self._held_back()), False

    def flush(self) -> str:
        """The rest of the text at the end of generation; a character cut off by the token
        limit (its bytes incomplete, decoded as U+FFFD) is left out rather than sent broken."""
        return self._release(len(self._text.rstrip(REPLACEMENT)))

    def _first_stop(self) -> int | None:
        hits = [i for s in self._stop if (i := self._text.find(s, self._sent)) >= 0]
        return min(hits) if hits else None

    def _held_back(self) -> int:
        """Length of the longest tail of the text that begins some stop string."""
        tail = self._text[self._sent:]
        for size in range(min(len(tail), max((len(s) for s in self._stop), default=1) - 1), 0, -1):
            if any(s.startswith(tail[-size:]) for s in self._stop):
                return size
        return 0

    def _release(self, end: int) -> str:
        piece = self._text[self._sent:end] if end > self._sent else ""
        self._sent = max(self._sent, end)
        return piece

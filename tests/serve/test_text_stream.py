"""TextStream: pieces never split a character and never leak a stop string (no model needed).

The tokenizer here is a stand-in with one byte per token, which is what makes multi-byte
characters arrive in parts; the real tokenizer is exercised end to end in test_llm_app.
"""

from __future__ import annotations

from serve.text_stream import TextStream


class BytePerToken:
    """A byte-level tokenizer stand-in: token id = one UTF-8 byte."""

    def encode(self, text: str) -> list[int]:
        return list(text.encode())

    def decode(self, ids, skip_special_tokens=True, clean_up_tokenization_spaces=False) -> str:
        return bytes(ids).decode("utf-8", errors="replace")


def run(text: str, stop=(), limit: int | None = None) -> tuple[list[str], bool]:
    tok = BytePerToken()
    stream = TextStream(tok, tuple(stop))
    pieces, stopped = [], False
    for token in tok.encode(text)[:limit]:
        piece, stopped = stream.push(token)
        pieces.append(piece)
        if stopped:
            break
    if not stopped:
        pieces.append(stream.flush())
    return [p for p in pieces if p], stopped


def test_multibyte_characters_arrive_whole():
    pieces, _ = run("a😀b日本")
    assert "".join(pieces) == "a😀b日本"
    assert all("\ufffd" not in p for p in pieces)
    assert "😀" in pieces and "日" in pieces


def test_a_character_cut_by_the_token_limit_is_dropped_not_broken():
    pieces, _ = run("ok😀", limit=4)  # 'o', 'k' and 2 of the emoji's 4 bytes
    assert "".join(pieces) == "ok"


def test_stop_string_ends_the_text_before_it_and_is_never_sent():
    pieces, stopped = run("one two STOP three", stop=["STOP"])
    assert stopped and "".join(pieces) == "one two "
    assert all("S" not in p for p in pieces)


def test_text_that_only_looks_like_a_stop_string_is_released():
    pieces, stopped = run("a STA b", stop=["STOP"])
    assert not stopped and "".join(pieces) == "a STA b"


def test_the_earliest_of_several_stop_strings_wins():
    pieces, stopped = run("x 2 y 1 z", stop=["1", "2"])
    assert stopped and "".join(pieces) == "x "

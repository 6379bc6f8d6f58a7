"""Streamed text: pieces decoded incrementally add up to the whole generation, on every tokenizer."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nai_sdk.presets import build_request
from nai_sdk.resources.text import _Assembler
from nai_sdk.tokenizers import get_tokenizer, tokens_to_b64

#: One text model per tokenizer.
MODELS = ["llama-3-erato-v1", "kayra-v1", "clio-v1", "krake-v2", "euterpe-v2", "genji-jp-6b-v2"]

#: Text with multi-byte characters that byte-level tokenizers split across tokens (CJK, emoji, flags).
TEXTS = st.lists(
    st.sampled_from([*"abc xyz.,\n'é\t", "日本語", "の", "ガ", "😀", "🇯🇵", "ﬁ", "  ", "The", " cat"]),
    min_size=1,
    max_size=30,
).map("".join)


def _stream(model: str, tokens: list[int], sizes: list[int]) -> bytes:
    """`/ai/generate-stream` events carrying `tokens`, split into events of the given sizes."""
    events, start, ptr = [], 0, 0
    while start < len(tokens):
        size = max(1, sizes[ptr % len(sizes)])
        chunk = tokens[start : start + size]
        start += size
        data = {"token": tokens_to_b64(chunk, model), "ptr": ptr, "final": start >= len(tokens)}
        events.append(f"event: newToken\nid: {ptr + 1}\ndata: {json.dumps(data)}\n\n")
        ptr += 1
    return "".join(events).encode()


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS, sizes=st.lists(st.integers(1, 3), min_size=1, max_size=5))
def test_pieces_add_up_to_the_whole_generation(model: str, text: str, sizes: list[int]) -> None:
    tokenizer = get_tokenizer(model)
    tokens = tokenizer.encode(text)
    if not tokens:
        return
    assembler = _Assembler(build_request([1, 2, 3], model))
    pieces = list(assembler.feed(_stream(model, tokens, sizes)))
    assert assembler.finished
    assert pieces[-1].final
    assert [token for p in pieces for token in p.tokens] == tokens
    whole = tokenizer.decode(tokens)
    assert "".join(p.text for p in pieces) == whole
    assert assembler.result().text == whole
    # A piece never shows half a character: U+FFFD only where the whole text has one.
    if "\ufffd" not in whole:
        assert all("\ufffd" not in p.text for p in pieces)


def test_each_event_decodes_a_bounded_window() -> None:
    """Work per event does not grow with the length of the generation (no re-decoding from the start)."""
    model = "kayra-v1"
    tokenizer = get_tokenizer(model)
    tokens = tokenizer.encode("word " * 300)
    decoded: list[int] = []

    def counting(ids: list[int]) -> str:
        decoded.append(len(ids))
        return tokenizer.decode(ids)

    assembler = _Assembler(build_request([1, 2, 3], model))
    assembler._decode = counting
    pieces = list(assembler.feed(_stream(model, tokens, [1])))
    assert len(pieces) == len(tokens) > 250
    assert "".join(piece.text for piece in pieces) == tokenizer.decode(tokens)
    assert max(decoded) <= 2


def test_events_after_the_final_one_are_ignored() -> None:
    model = "kayra-v1"
    tokens = get_tokenizer(model).encode("Hello there")
    assembler = _Assembler(build_request([1, 2, 3], model))
    stream = _stream(model, tokens, [1]) + b'event: newToken\ndata: {"token": "AAA=", "final": true}\n\n'
    pieces = list(assembler.feed(stream))
    assert len(pieces) == len(tokens)
    assert assembler.result().text == "Hello there"

"""Property tests: the base64 token codec and tokenizer round trips, on arbitrary input."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nai_sdk.errors import TokenEncodingError
from nai_sdk.tokenizers import b64_to_tokens, get_tokenizer, tokens_to_b64

WIDTHS = st.sampled_from([2, 4])


@st.composite
def width_and_tokens(draw: st.DrawFn) -> tuple[int, list[int]]:
    width = draw(WIDTHS)
    tokens = draw(st.lists(st.integers(min_value=0, max_value=2 ** (8 * width) - 1), max_size=200))
    return width, tokens


@given(width_and_tokens())
def test_round_trip(case: tuple[int, list[int]]) -> None:
    width, tokens = case
    encoded = tokens_to_b64(tokens, width)
    assert len(base64.b64decode(encoded)) == width * len(tokens)
    assert b64_to_tokens(encoded, width) == tokens
    assert b64_to_tokens(encoded.encode("ascii"), width) == tokens


@given(st.lists(st.integers(min_value=0, max_value=65535), max_size=50))
def test_models_use_their_width(tokens: list[int]) -> None:
    assert tokens_to_b64(tokens, "kayra-v1") == tokens_to_b64(tokens, 2)
    assert tokens_to_b64(tokens, "llama-3-erato-v1") == tokens_to_b64(tokens, 4)
    assert b64_to_tokens(tokens_to_b64(tokens, "erato"), "erato") == tokens


@given(WIDTHS, st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_fail_cleanly(width: int, raw: bytes) -> None:
    data = base64.b64encode(raw)
    if len(raw) % width:
        with pytest.raises(TokenEncodingError, match="multiple of the token width"):
            b64_to_tokens(data, width)
    else:
        tokens = b64_to_tokens(data, width)
        assert len(tokens) == len(raw) // width
        assert tokens_to_b64(tokens, width) == data.decode("ascii")


@given(WIDTHS, st.one_of(st.text(max_size=40), st.binary(max_size=40)))
def test_arbitrary_input_never_crashes(width: int, data: str | bytes) -> None:
    try:
        tokens = b64_to_tokens(data, width)
    except TokenEncodingError:
        return
    assert all(0 <= token < 2 ** (8 * width) for token in tokens)


@given(WIDTHS, st.lists(st.integers(), min_size=1, max_size=20))
def test_tokens_that_do_not_fit_are_named(width: int, tokens: list[int]) -> None:
    limit = 2 ** (8 * width)
    bad = [(index, token) for index, token in enumerate(tokens) if not 0 <= token < limit]
    if not bad:
        assert b64_to_tokens(tokens_to_b64(tokens, width), width) == tokens
        return
    index, token = bad[0]
    with pytest.raises(TokenEncodingError, match=rf"token {token} at index {index} does not fit in {width} bytes"):
        tokens_to_b64(tokens, width)


def test_non_int_tokens_are_named() -> None:
    with pytest.raises(TokenEncodingError, match="index 1 is float"):
        tokens_to_b64([1, 2.0], 2)  # type: ignore[list-item]


@pytest.mark.parametrize("width", [0, 3, True])
def test_unsupported_width(width: int) -> None:
    with pytest.raises(TokenEncodingError, match="width"):
        tokens_to_b64([1], width)


@pytest.mark.parametrize("data", ["AQA", "A=AA", "AQAC\n", "ÄÖÜ="])
def test_invalid_base64(data: str) -> None:
    with pytest.raises(TokenEncodingError, match="base64"):
        b64_to_tokens(data, 2)


# Tokenizers that keep text exactly (no normalization): decode(encode(s)) == s.
@pytest.mark.parametrize("name", ["gpt2", "gpt2-genji", "llama3", "nerdstash_v1", "nerdstash_v2"])
@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=80))
def test_tokenizer_round_trip(name: str, text: str) -> None:
    tokenizer = get_tokenizer(name)
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text
    assert tokenizer.encode_batch([text, text]) == [ids, ids]

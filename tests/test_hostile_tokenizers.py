"""Text no tokenizer can encode (surrogate code points) is a TokenEncodingError on every tokenizer (issue 14)."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nai_sdk.errors import TokenEncodingError
from nai_sdk.tokenizers import TOKENIZER_NAMES, Tokenizer, b64_to_tokens, get_tokenizer, tokens_to_b64

UNENCODABLE = [
    pytest.param("a\ud800b", 1, id="lone high surrogate"),
    pytest.param("\udfff", 0, id="lone low surrogate"),
    pytest.param("\ud83d\ude00", 0, id="a pair left as two code points"),
    pytest.param("ok <|endoftext|> \udc80", 17, id="after a special string"),
]


@functools.cache
def _tokenizer(name: str) -> Tokenizer:
    # Loaded once per module (llama3 takes about half a second).
    return get_tokenizer(name)


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@pytest.mark.parametrize(("text", "index"), UNENCODABLE)
def test_surrogates_are_a_token_encoding_error(name: str, text: str, index: int) -> None:
    tokenizer = _tokenizer(name)
    for allowed in ("all", set()):
        with pytest.raises(TokenEncodingError, match=f"text holds U\\+{ord(text[index]):04X} at index {index}"):
            tokenizer.encode(text, allowed_special=allowed)
    with pytest.raises(TokenEncodingError, match=r"^texts\[1\] holds"):
        tokenizer.encode_batch(["fine", text])
    with pytest.raises(TokenEncodingError):
        tokenizer.count(text)


def test_other_library_errors_are_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only text with a surrogate becomes TokenEncodingError; any other failure keeps its own type."""
    tokenizer = _tokenizer("nerdstash_v2")

    def broken(text: str, allowed: frozenset[str]) -> list[int]:
        raise RuntimeError("the library broke")

    monkeypatch.setattr(tokenizer, "_encode", broken)
    with pytest.raises(RuntimeError, match="the library broke"):
        tokenizer.encode("perfectly good text")


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@settings(max_examples=30, deadline=None)
@given(text=st.text(max_size=24))
def test_any_text_encodes_or_is_refused_for_its_surrogates(name: str, text: str) -> None:
    tokenizer = _tokenizer(name)
    try:
        ids = tokenizer.encode(text)
    except TokenEncodingError:
        assert _has_surrogate(text)
        return
    assert not _has_surrogate(text)
    assert all(isinstance(token, int) and 0 <= token < tokenizer.vocab_size for token in ids)


@settings(max_examples=200, deadline=None)
@given(data=st.text(max_size=24) | st.binary(max_size=24), width=st.sampled_from([1, 2, 4, 8]))
def test_base64_tokens_of_any_text_decode_or_are_refused(data: str | bytes, width: int) -> None:
    try:
        tokens = b64_to_tokens(data, width)
    except TokenEncodingError:
        return
    # Base64 can leave bits unused, so the text need not come back; the tokens always do.
    assert tokens == b64_to_tokens(tokens_to_b64(tokens, width), width)
    assert all(0 <= token < 1 << (8 * width) for token in tokens)

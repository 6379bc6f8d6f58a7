"""Tokenizers built on Hugging Face `tokenizers`: gpt2, gpt2-genji, pile, llama3 (and CLIP, in `_clip`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

import tokenizers

from nai_sdk.tokenizers._base import Tokenizer, encode_with_specials, special_pattern

__all__ = ["HFTokenizer", "load_hf"]


class HFTokenizer(Tokenizer):
    """A tokenizer backed by a `tokenizers.Tokenizer`.

    `encode` calls the library with `add_special_tokens=False`, so post-processors add nothing (llama3's would
    add `<|begin_of_text|>`); special strings in the text are matched by the library itself. Encoding with only
    some special strings allowed uses a second instance with `encode_special_tokens` set, built on first use.
    """

    def __init__(
        self,
        name: str,
        backend: tokenizers.Tokenizer,
        plain_factory: Callable[[], tokenizers.Tokenizer],
        *,
        bos_id: int | None,
        eos_id: int | None,
    ) -> None:
        special = {
            token.content: token_id for token_id, token in backend.get_added_tokens_decoder().items() if token.special
        }
        super().__init__(
            name,
            vocab_size=backend.get_vocab_size(with_added_tokens=True),
            bos_id=bos_id,
            eos_id=eos_id,
            special_tokens=special,
        )
        self._backend = backend
        self._plain_factory = plain_factory
        self._plain: tokenizers.Tokenizer | None = None
        self._plain_lock = threading.Lock()
        self._batch = getattr(backend, "encode_batch_fast", backend.encode_batch)

    def _plain_backend(self) -> tokenizers.Tokenizer:
        """The library tokenizer that reads special strings as text."""
        plain = self._plain
        if plain is None:
            with self._plain_lock:
                plain = self._plain
                if plain is None:
                    plain = self._plain_factory()
                    plain.encode_special_tokens = True
                    self._plain = plain
        return plain

    def _encode(self, text: str, allowed: frozenset[str]) -> list[int]:
        if allowed is self._all_special:
            ids: list[int] = self._backend.encode(text, add_special_tokens=False).ids
            return ids
        return self._encode_batch([text], allowed, None)[0]

    def _encode_batch(self, texts: list[str], allowed: frozenset[str], num_threads: int | None) -> list[list[int]]:
        if allowed is self._all_special:
            return [encoding.ids for encoding in self._batch(texts, add_special_tokens=False)]
        plain = self._plain_backend()
        plain_batch = getattr(plain, "encode_batch_fast", plain.encode_batch)

        def encode_many(pieces: list[str]) -> list[list[int]]:
            return [encoding.ids for encoding in plain_batch(pieces, add_special_tokens=False)]

        if not allowed:
            return encode_many(texts)
        return encode_with_specials(texts, special_pattern(allowed), self.special_tokens, encode_many)

    def _decode(self, ids: list[int], skip_special: bool) -> str:
        text: str = self._backend.decode(ids, skip_special_tokens=skip_special)
        return text


def load_hf(
    name: str,
    read: Callable[[], bytes],
    *,
    bos_id: int | None = None,
    eos_token: str | None = None,
) -> HFTokenizer:
    """Build an `HFTokenizer` from a `tokenizer.json` (its bytes, already verified, come from `read`)."""
    backend = tokenizers.Tokenizer.from_buffer(read())
    special: Mapping[str, int] = {t.content: i for i, t in backend.get_added_tokens_decoder().items()}
    eos_id = special.get(eos_token) if eos_token is not None else None
    return HFTokenizer(name, backend, lambda: tokenizers.Tokenizer.from_buffer(read()), bos_id=bos_id, eos_id=eos_id)

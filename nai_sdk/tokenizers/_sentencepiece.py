"""Tokenizers built on SentencePiece: NovelAI's nerdstash v1 (Clio) and v2 (Kayra)."""

from __future__ import annotations

import re

import sentencepiece

from nai_sdk.tokenizers._base import Tokenizer, encode_with_specials, special_pattern

__all__ = ["SentencePieceTokenizer", "load_sentencepiece"]

# SentencePiece never produces its control ids from text, so NovelAI's client maps these strings onto them. The
# model names id 1 `<|unknown|>`; NovelAI writes `<|unk|>`.
_SPECIAL_STRINGS = {"<|pad|>": 0, "<|unk|>": 1, "<|startoftext|>": 2, "<|endoftext|>": 3}
_LAST_SPECIAL = max(_SPECIAL_STRINGS.values())


class SentencePieceTokenizer(Tokenizer):
    """A SentencePiece model plus NovelAI's special-string mapping.

    Text between special strings is encoded on its own with SentencePiece's plain `encode`, and nothing around
    a special string is lost (novelai-api 0.34.1 drops the character after each one).
    """

    def __init__(self, name: str, processor: sentencepiece.SentencePieceProcessor) -> None:
        super().__init__(
            name,
            vocab_size=processor.GetPieceSize(),
            bos_id=processor.bos_id(),
            eos_id=processor.eos_id(),
            special_tokens=_SPECIAL_STRINGS,
        )
        self._sp = processor
        self._strings = {token_id: string for string, token_id in _SPECIAL_STRINGS.items()}
        self._all_pattern = special_pattern(_SPECIAL_STRINGS)

    def _pattern(self, allowed: frozenset[str]) -> re.Pattern[str]:
        return self._all_pattern if allowed is self._all_special else special_pattern(allowed)

    def _encode(self, text: str, allowed: frozenset[str]) -> list[int]:
        if not allowed or "<|" not in text:
            ids: list[int] = self._sp.EncodeAsIds(text)
            return ids
        return encode_with_specials([text], self._pattern(allowed), _SPECIAL_STRINGS, self._encode_many)[0]

    def _encode_many(self, texts: list[str], num_threads: int | None = None) -> list[list[int]]:
        ids: list[list[int]] = self._sp.Encode(texts, num_threads=num_threads)
        return ids

    def _encode_batch(self, texts: list[str], allowed: frozenset[str], num_threads: int | None) -> list[list[int]]:
        if not allowed or not any("<|" in text for text in texts):
            return self._encode_many(texts, num_threads)
        return encode_with_specials(
            texts, self._pattern(allowed), _SPECIAL_STRINGS, lambda pieces: self._encode_many(pieces, num_threads)
        )

    def _decode(self, ids: list[int], skip_special: bool) -> str:
        strings = self._strings
        if min(ids, default=_LAST_SPECIAL + 1) > _LAST_SPECIAL:
            text: str = self._sp.DecodeIds(ids)
            return text
        # Decode the runs between special ids as wholes: a character may span several byte tokens.
        out: list[str] = []
        start = 0
        for index, token_id in enumerate(ids):
            if token_id in strings:
                out.append(self._sp.DecodeIds(ids[start:index]))
                if not skip_special:
                    out.append(strings[token_id])
                start = index + 1
        out.append(self._sp.DecodeIds(ids[start:]))
        return "".join(out)


def load_sentencepiece(name: str, data: bytes) -> SentencePieceTokenizer:
    """Build a `SentencePieceTokenizer` from the bytes of a `.model` file (already verified)."""
    return SentencePieceTokenizer(name, sentencepiece.SentencePieceProcessor(model_proto=data))

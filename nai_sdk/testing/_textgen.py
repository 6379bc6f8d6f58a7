"""A deterministic stand-in for NovelAI's text models: valid token ids, no language.

Output depends only on the request (model, input, parameters) and the server seed, so a test can compare two runs
byte for byte. Token ids stay inside the model's vocabulary and avoid special tokens, and are packed with the
model's width (FORMATS.md §4.1: 4 bytes for Erato, 2 for every other model).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["TEXT_MODELS", "Generation", "TextModel", "decode_tokens", "encode_tokens", "generate"]


@dataclass(frozen=True)
class TextModel:
    """What the fake needs to know about one text model.

    Attributes:
        width: Bytes per token on the wire.
        vocab: Ids are drawn from ``[first_id, vocab)``; ``vocab`` excludes trailing special tokens.
        first_id: Lowest id drawn (skips the special ids at the start of SentencePiece vocabularies).
    """

    width: int
    vocab: int
    first_id: int = 0


_GPT2 = TextModel(width=2, vocab=50256)  # 50256 is <|endoftext|>
_NERDSTASH = TextModel(width=2, vocab=65535, first_id=4)  # 0-3 are pad/unk/bos/eos
_LLAMA3 = TextModel(width=4, vocab=128000)  # 128000 and up are special tokens

TEXT_MODELS: Mapping[str, TextModel] = {
    "2.7B": _GPT2,
    "6B-v4": _GPT2,
    "euterpe-v2": _GPT2,
    "genji-python-6b": _GPT2,
    "genji-jp-6b": _GPT2,
    "genji-jp-6b-v2": _GPT2,
    "krake-v2": _GPT2,
    "hypebot": _GPT2,
    "infillmodel": _GPT2,
    "cassandra": _GPT2,
    "sigurd-2.9b-v1": _GPT2,
    "blue": _GPT2,
    "red": _GPT2,
    "green": _GPT2,
    "purple": _GPT2,
    "clio-v1": _NERDSTASH,
    "kayra-v1": _NERDSTASH,
    "llama-3-erato-v1": _LLAMA3,
}

_WORDS = (
    "the",
    "night",
    "was",
    "quiet",
    "and",
    "a",
    "lantern",
    "swayed",
    "over",
    "river",
    "she",
    "listened",
    "to",
    "distant",
    "bells",
)


def encode_tokens(tokens: list[int], width: int) -> str:
    """Pack token ids as little-endian unsigned integers of ``width`` bytes, then b64."""
    return base64.b64encode(b"".join(token.to_bytes(width, "little") for token in tokens)).decode("ascii")


def decode_tokens(data: str, width: int) -> list[int]:
    """Inverse of :func:`encode_tokens`.

    Raises:
        ValueError: ``data`` is not b64 or its length is not a multiple of ``width``.
    """
    raw = base64.b64decode(data, validate=True)
    if len(raw) % width:
        raise ValueError(f"{len(raw)} bytes is not a whole number of {width}-byte tokens")
    return [int.from_bytes(raw[i : i + width], "little") for i in range(0, len(raw), width)]


@dataclass(frozen=True)
class Generation:
    """One generated sequence.

    Attributes:
        tokens: The generated ids (empty when ``use_string`` was set).
        pieces: What each step emits on the wire: b64 tokens, or text when ``use_string`` was set.
        logprobs: One NovelAI logprobs entry per step when ``num_logprobs`` > 0, else None.
    """

    tokens: list[int]
    pieces: list[str]
    logprobs: list[dict[str, Any]] | None

    def output(self, model: TextModel) -> str:
        """The whole output as the non-streaming route returns it."""
        if self.tokens:
            return encode_tokens(self.tokens, model.width)
        return "".join(self.pieces)


def _logprob_pair(rng: random.Random) -> list[float]:
    before = -rng.random() * 8
    return [round(before, 4), round(before - rng.random(), 4)]


def generate(model: TextModel, request: Mapping[str, Any], seed: int) -> Generation:
    """Produce a deterministic answer to a validated ``/ai/generate`` request.

    The length is drawn uniformly from ``[min_length, max_length]``.

    Args:
        model: The requested model.
        request: The request body (``input``, ``model``, ``parameters``).
        seed: The server seed, mixed into the request hash.

    Returns:
        The generated sequence.
    """
    parameters: Mapping[str, Any] = request.get("parameters") or {}
    digest = hashlib.sha256(
        json.dumps([seed, request.get("model"), request.get("input"), parameters], sort_keys=True, default=str).encode()
    ).digest()
    rng = random.Random(digest)
    low = max(1, math.ceil(parameters.get("min_length", 1)))
    high = max(low, math.floor(parameters.get("max_length", 40)))
    count = rng.randint(low, high)
    num_logprobs = int(parameters.get("num_logprobs") or 0)
    use_string = bool(parameters.get("use_string"))
    tokens: list[int] = []
    pieces: list[str] = []
    logprobs: list[dict[str, Any]] = []
    for index in range(count):
        if use_string:
            word = rng.choice(_WORDS)
            piece = word if index == 0 else " " + word
            pieces.append(piece)
            token = rng.randrange(model.first_id, model.vocab)
        else:
            token = rng.randrange(model.first_id, model.vocab)
            tokens.append(token)
            pieces.append(encode_tokens([token], model.width))
        if num_logprobs:
            alternatives = [rng.randrange(model.first_id, model.vocab) for _ in range(num_logprobs)]
            logprobs.append(
                {
                    "chosen": [[[token], _logprob_pair(rng)]],
                    "before": [[[alt], _logprob_pair(rng)] for alt in alternatives],
                    "after": [[[alt], _logprob_pair(rng)] for alt in alternatives],
                }
            )
    return Generation(tokens=tokens, pieces=pieces, logprobs=logprobs if num_logprobs else None)

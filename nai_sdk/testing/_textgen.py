"""A deterministic stand-in for NovelAI's text models: valid token ids, no language.

Output depends only on the request (model, input, parameters) and the server seed, so a test can compare two runs
byte for byte. Token ids stay inside the model's vocabulary and avoid special tokens, and are packed with the
model's width (docs/formats.md §4.1: 4 bytes for Erato, 2 for every other model).

The models of the OpenAI-compatible API (``/oa/v1``) take and give text: :func:`chat_text` writes words from a
small list, the same for a request whether it is streamed or not, and :func:`count_tokens` counts a word (with the
space before it) as one token of a made-up id. Neither is GLM's tokenizer, which this project does not have.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHAT_MODELS",
    "TEXT_MODELS",
    "ChatText",
    "Generation",
    "TextModel",
    "chat_text",
    "count_tokens",
    "decode_tokens",
    "encode_tokens",
    "generate",
]


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
"""The text models the fake generates for, by id, with the token width and vocabulary its answers use."""

#: The models of the OpenAI-compatible API and the size of the made-up vocabulary of their ids. Ids: glm-4-6
#: (SillyTavern issues 4575 and 4664), xialong-v1 (a NovelAI userscript's CHANGELOG, 2026-04-01); GLM-4's
#: vocabulary ends below 151329, its <|endoftext|> (the GLM-4 tokenizer_config pages); Xialong's is unknown.
CHAT_MODELS: Mapping[str, int] = {"glm-4-6": 151329, "xialong-v1": 151329}

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


# --- the OpenAI-compatible API --------------------------------------------------------------------------------

#: A word with the spaces before it, or trailing spaces: one made-up token each.
_TOKEN = re.compile(r"\s*\S+|\s+")


def count_tokens(model: str, text: str) -> list[int]:
    """Made-up token ids of ``text`` for a model of :data:`CHAT_MODELS`: one per word, the same for the same word."""
    vocab = CHAT_MODELS[model]
    return [
        int.from_bytes(hashlib.sha256(piece.encode("utf-8", "surrogatepass")).digest()[:4], "big") % vocab
        for piece in _TOKEN.findall(text)
    ]


@dataclass(frozen=True)
class ChatText:
    """An answer of the OpenAI-compatible API.

    Attributes:
        pieces: the answer as streamed, one word a piece; joined, the whole text.
        finish_reason: ``"length"`` when ``max_tokens`` cut it, else ``"stop"``.
    """

    pieces: list[str]
    finish_reason: str

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def chat_text(model: str, prompt: Any, settings: Mapping[str, Any], seed: int) -> ChatText:
    """A deterministic answer to a validated chat or completion request.

    The answer has 8 to 40 words, fewer when ``max_tokens`` is lower (finish reason ``"length"``); it ends before
    the first of the ``stop`` strings it holds (finish reason ``"stop"``).

    Args:
        model: a model of :data:`CHAT_MODELS`.
        prompt: the messages or the prompt, as sent.
        settings: the rest of the request (``stream`` is left out of the seed, so that a streamed request gets the
            same answer as a whole one).
        seed: the server seed.
    """
    mixed = {key: value for key, value in settings.items() if key != "stream"}
    digest = hashlib.sha256(json.dumps([seed, model, prompt, mixed], sort_keys=True, default=str).encode()).digest()
    rng = random.Random(digest)
    natural = rng.randint(8, 40)
    max_tokens = settings.get("max_tokens")
    count = natural if not isinstance(max_tokens, int) else min(natural, max_tokens)
    pieces = [(" " if index else "") + rng.choice(_WORDS) for index in range(count)]
    finish_reason = "length" if count < natural else "stop"
    stop = settings.get("stop")
    stops: Sequence[str] = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    text = "".join(pieces)
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    if cut >= 0:
        kept: list[str] = []
        size = 0
        for piece in pieces:
            if size + len(piece) > cut:
                if cut > size:
                    kept.append(piece[: cut - size])
                break
            kept.append(piece)
            size += len(piece)
        pieces, finish_reason = kept, "stop"
    return ChatText(pieces=pieces, finish_reason=finish_reason)

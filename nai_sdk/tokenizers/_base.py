"""The `Tokenizer` interface shared by every NovelAI tokenizer, and the special-token splitting they share."""

from __future__ import annotations

import abc
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Literal, TypeAlias

from nai_sdk.errors import TokenEncodingError, TokenizerError

__all__ = ["AllowedSpecial", "Tokenizer"]

AllowedSpecial: TypeAlias = Literal["all"] | AbstractSet[str]
"""Which special-token strings `encode` turns into their special ids: "all" of them (the default, what NovelAI does),
or only those in the set; any other special string is encoded as the plain text it is."""


class Tokenizer(abc.ABC):
    """A NovelAI tokenizer: text to token ids and back.

    Get one with `nai_sdk.tokenizers.get_tokenizer`. Instances are immutable after loading and safe to share
    between threads.

    Special tokens. Each tokenizer has a few strings that stand for special ids (`special_tokens`), such as
    `<|endoftext|>`. Like tiktoken's `allowed_special`, `encode(..., allowed_special=...)` says which of them
    are recognised in the text: by default all of them, because that is what NovelAI's own client does and what
    the models saw in training (`"a<|endoftext|>b"` gives `[a, 50256, b]` for GPT-2 models and `[a, 3, b]` for
    Clio and Kayra); pass a smaller set, or `set()`, to have untrusted text encoded as the plain characters it
    is. Strings are looked up exactly as listed; for Clio and Kayra these are `<|pad|>`, `<|unk|>`,
    `<|startoftext|>` and `<|endoftext|>` (ids 0-3), and the character after one is kept.

    `decode` keeps special tokens by default, so that `decode(encode(text)) == text` for every tokenizer that
    does not normalise (Krake's NFC-normalises, CLIP's lower-cases): `skip_special=True` drops them, as
    Hugging Face's tokenizers do by default.

    BOS. `encode` never adds a begin-of-sequence token: NovelAI wants Erato's `<|begin_of_text|>` (128000) at
    the start of a prompt only, not in ban lists, biases or stop sequences. Pass `add_bos=True` when encoding a
    prompt, or prepend `bos_id` yourself.

    Attributes:
        name: the tokenizer's name, e.g. `"nerdstash_v2"`.
        vocab_size: the number of ids, special ones included; every id is in `range(vocab_size)`.
        bos_id: the begin-of-sequence id, or None if the tokenizer has none.
        eos_id: the end-of-text id, or None if the tokenizer has none.
        special_tokens: the special strings `encode` recognises, and their ids.
    """

    name: str
    vocab_size: int
    bos_id: int | None
    eos_id: int | None
    special_tokens: Mapping[str, int]

    def __init__(
        self, name: str, *, vocab_size: int, bos_id: int | None, eos_id: int | None, special_tokens: Mapping[str, int]
    ) -> None:
        self.name = name
        self.vocab_size = vocab_size
        self.bos_id = bos_id
        self.eos_id = eos_id
        self.special_tokens = dict(special_tokens)
        self._special_ids = frozenset(special_tokens.values())
        self._all_special = frozenset(special_tokens)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} vocab_size={self.vocab_size}>"

    # --- the public interface ---------------------------------------------------------------------------------

    def encode(self, text: str, *, add_bos: bool = False, allowed_special: AllowedSpecial = "all") -> list[int]:
        """Encode text into token ids.

        Args:
            text: the text.
            add_bos: put `bos_id` first (for the start of a prompt only).
            allowed_special: which special strings become special ids (see the class docstring).

        Returns:
            The token ids.

        Raises:
            TypeError: `text` is not a string.
            TokenEncodingError: `text` holds a surrogate code point (U+D800 to U+DFFF), which is not a character:
                no tokenizer can encode it.
            TokenizerError: `add_bos` for a tokenizer without BOS, or an unknown string in `allowed_special`.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        allowed = self._allowed(allowed_special)
        try:
            ids = self._encode(text, allowed)
        except (RuntimeError, TypeError, UnicodeError) as exc:
            # What the libraries raise for text they cannot take (sentencepiece's RuntimeError, tokenizers'
            # TypeError); looked into only once encoding failed, so valid text pays nothing for the check.
            error = _unencodable([text], "text")
            if error is None:
                raise
            raise error from exc
        return self._prepend_bos(ids) if add_bos else ids

    def encode_batch(
        self,
        texts: Sequence[str],
        *,
        add_bos: bool = False,
        allowed_special: AllowedSpecial = "all",
        num_threads: int | None = None,
    ) -> list[list[int]]:
        """Encode many texts at once, in parallel where the library can (the same ids as `encode` on each).

        Args:
            texts: the texts.
            add_bos: put `bos_id` first in every result.
            allowed_special: as for `encode`.
            num_threads: the number of threads for SentencePiece tokenizers (default: the library's choice);
                Hugging Face tokenizers use their own pool (`RAYON_NUM_THREADS`).

        Returns:
            One list of ids per text, in order.

        Raises:
            TokenEncodingError: a text holds a surrogate code point (see `encode`).
        """
        texts = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] must be a str, not {type(text).__name__}")
        allowed = self._allowed(allowed_special)
        try:
            batch = self._encode_batch(texts, allowed, num_threads)
        except (RuntimeError, TypeError, UnicodeError) as exc:
            error = _unencodable(texts, "texts")
            if error is None:
                raise
            raise error from exc
        return [self._prepend_bos(ids) for ids in batch] if add_bos else batch

    def decode(self, ids: Iterable[int], *, skip_special: bool = False) -> str:
        """Decode token ids into text.

        Args:
            ids: the token ids.
            skip_special: leave special tokens out instead of writing their strings.

        Returns:
            The text. Byte tokens that do not form valid UTF-8 become U+FFFD.

        Raises:
            TokenEncodingError: an id is not in `range(vocab_size)`.
        """
        id_list = ids if isinstance(ids, list) else list(ids)
        if id_list:
            low, high = min(id_list), max(id_list)
            if low < 0 or high >= self.vocab_size:
                bad = low if low < 0 else high
                raise TokenEncodingError(
                    f"token {bad} is not in the {self.name} vocabulary (ids 0..{self.vocab_size - 1})"
                )
        return self._decode(id_list, skip_special)

    def count(self, text: str, *, allowed_special: AllowedSpecial = "all") -> int:
        """The number of tokens `encode(text)` gives."""
        return len(self.encode(text, allowed_special=allowed_special))

    # --- what each implementation provides ----------------------------------------------------------------------

    @abc.abstractmethod
    def _encode(self, text: str, allowed: frozenset[str]) -> list[int]: ...

    @abc.abstractmethod
    def _encode_batch(self, texts: list[str], allowed: frozenset[str], num_threads: int | None) -> list[list[int]]: ...

    @abc.abstractmethod
    def _decode(self, ids: list[int], skip_special: bool) -> str: ...

    # --- helpers ------------------------------------------------------------------------------------------------

    def _allowed(self, allowed_special: AllowedSpecial) -> frozenset[str]:
        if allowed_special == "all":
            return self._all_special
        if isinstance(allowed_special, str):
            raise TokenizerError(f"allowed_special must be 'all' or a set of strings, not {allowed_special!r}")
        allowed = frozenset(allowed_special)
        unknown = allowed - self._all_special
        if unknown:
            raise TokenizerError(
                f"not special tokens of {self.name}: {', '.join(sorted(map(repr, unknown)))}; "
                f"known: {', '.join(sorted(self._all_special))}"
            )
        return allowed

    def _prepend_bos(self, ids: list[int]) -> list[int]:
        if self.bos_id is None:
            raise TokenizerError(f"the {self.name} tokenizer has no BOS token")
        ids.insert(0, self.bos_id)
        return ids


def _unencodable(texts: list[str], what: str) -> TokenEncodingError | None:
    """The error for the first text holding a surrogate code point, or None if none does.

    Surrogates (U+D800 to U+DFFF) are not characters: UTF-8 cannot encode them, so neither can any tokenizer. They
    get into a str through `surrogateescape`, a JSON `\\ud800` escape, or a UTF-16 string cut in half.
    """
    for index, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            where = what if what == "text" else f"{what}[{index}]"
            return TokenEncodingError(
                f"{where} holds U+{ord(text[exc.start]):04X} at index {exc.start}, a surrogate code point, which is "
                "not a character and cannot be tokenized; replace it first (text.encode('utf-8', 'replace').decode() "
                "turns every one into '?')"
            )
    return None


def special_pattern(strings: Iterable[str]) -> re.Pattern[str]:
    """A pattern that finds any of `strings` (longest first), capturing it."""
    ordered = sorted(strings, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, ordered)) + ")")


def encode_with_specials(
    texts: list[str],
    pattern: re.Pattern[str],
    special_ids: Mapping[str, int],
    encode_many: Callable[[list[str]], list[list[int]]],
) -> list[list[int]]:
    """Encode texts whose special strings must become special ids, the text between them encoded on its own.

    All the plain pieces of all the texts go to `encode_many` in one call, so batching stays parallel.
    """
    split = [pattern.split(text) for text in texts]  # [plain, special, plain, ..., plain] for each text
    pieces = [piece for parts in split for piece in parts[::2]]
    encoded = iter(encode_many(pieces))
    results: list[list[int]] = []
    for parts in split:
        ids = list(next(encoded))
        for index in range(1, len(parts), 2):
            ids.append(special_ids[parts[index]])
            ids.extend(next(encoded))
        results.append(ids)
    return results

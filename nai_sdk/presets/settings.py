"""Account-wide generation settings, ban lists and bias groups, as parameters of a generation request.

Strings in ban lists, bias groups and the repetition-penalty whitelist are tokenized with the model's tokenizer
when the request is built, never with a BOS token: NovelAI wants Erato's `<|begin_of_text|>` at the start of the
prompt only. Tokenizers load on first use.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

import attrs

from nai_sdk.errors import PresetError
from nai_sdk.models import TextModel, get_model
from nai_sdk.presets._checks import shown
from nai_sdk.presets._data import read_json

__all__ = ["BanList", "BiasGroup", "GlobalSettings"]

Entry = str | Sequence[int] | Mapping[str, Any]
"""A ban or bias entry: a phrase (tokenized per model), a token list (sent as it is, so tied to one tokenizer), or
NovelAI's stored form, `{"sequence": ...}` or `{"sequences": [...]}` (whose first item is used: NovelAI stores one
tokenization per entry there)."""

# The dinkus ("***") and asterism ("⁂") bias NovelAI's client applies when asked to, per tokenizer (values as in
# novelai-api 0.34.1's GlobalSettings): none for Genji and Erato; Krake's has no asterism.
_DINKUS_ASTERISM: Final[Mapping[str, tuple[float, tuple[str, ...]]]] = {
    "gpt2": (-0.12, ("***", "⁂")),
    "pile": (-0.12, ("***",)),
    "nerdstash_v1": (-0.08, ("***", "⁂")),
    "nerdstash_v2": (-0.08, ("***", "⁂")),
}


def _encode(model: TextModel, text: str) -> list[int]:
    # Imported here so that importing nai_sdk.presets does not import the tokenizer libraries.
    from nai_sdk.tokenizers import get_tokenizer

    return get_tokenizer(model.tokenizer).encode(text)


@functools.cache
def _whitelist(model_id: str) -> tuple[tuple[int, ...], ...]:
    model = get_model(model_id)
    strings: Mapping[str, list[str]] = read_json("global_settings.json")["rep_pen_whitelist"]
    return tuple(tuple(_encode(model, text)) for text in strings.get(model.tokenizer, ()))


@functools.cache
def whitelist_ids(model_id: str) -> frozenset[int]:
    """Every token id of the model's repetition-penalty whitelist, flattened."""
    return frozenset(token for tokens in _whitelist(model_id) for token in tokens)


def _token_lists(key: str, tokenizer: str) -> list[list[int]]:
    data: Mapping[str, Mapping[str, list[list[int]]]] = read_json("global_settings.json")
    return [list(tokens) for tokens in data[key].get(tokenizer, ())]


def _genji_ambiguous_tokens() -> list[list[int]]:
    data: Mapping[str, list[list[int]]] = read_json("global_settings.json")
    return [list(tokens) for tokens in data["genji_ambiguous_tokens"]]


def _check_int(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < -1:
        raise PresetError(f"{attribute.name} must be an integer >= -1, not {shown(value)}")


def _check_bool(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise PresetError(f"{attribute.name} must be True or False, not {shown(value)}")


@attrs.frozen(kw_only=True)
class GlobalSettings:
    """The account-wide generation settings of NovelAI's client.

    Attributes:
        generate_until_sentence: keep generating (up to 20 tokens) past `max_length` to finish the sentence.
        num_logprobs: how many log-probabilities to return per token; `NO_LOGPROBS` (-1) asks for none.
        ban_brackets: ban the tokens that hold brackets (NovelAI's list per tokenizer).
        bias_dinkus_asterism: bias "***" and "⁂" down (gpt2/pile -0.12, nerdstash -0.08; nothing for the others).
        ban_ambiguous_genji_tokens: ban the tokens Genji misbehaves on (Genji only).
        rep_pen_whitelist: spare NovelAI's whitelist of common tokens from the repetition penalty (Clio, Kayra
            and Erato; the other tokenizers have none). A preset's `repetition_penalty_default_whitelist` turns it
            on for that request.
    """

    NO_LOGPROBS: ClassVar[int] = -1

    generate_until_sentence: bool = attrs.field(default=False, validator=_check_bool)
    num_logprobs: int = attrs.field(default=10, validator=_check_int)
    ban_brackets: bool = attrs.field(default=True, validator=_check_bool)
    bias_dinkus_asterism: bool = attrs.field(default=False, validator=_check_bool)
    ban_ambiguous_genji_tokens: bool = attrs.field(default=True, validator=_check_bool)
    rep_pen_whitelist: bool = attrs.field(default=True, validator=_check_bool)

    def evolve(self, **changes: Any) -> GlobalSettings:
        """A copy with some settings changed."""
        return attrs.evolve(self, **changes)

    def to_settings(self, model: str | TextModel) -> dict[str, Any]:
        """The request parameters these settings stand for, for one model.

        `repetition_penalty_whitelist` is a list of token lists, one per whitelisted string; `bad_words_ids` and
        `logit_bias_exp` are present even when empty (`build_request` removes them then).

        Raises:
            UnknownModelError: no text model has that name.
            PresetError: a vendored data file does not match its manifest.
        """
        text_model = get_model(model)
        settings = self._settings(text_model)
        whitelist = [list(tokens) for tokens in _whitelist(text_model.id)] if self.rep_pen_whitelist else []
        return {**settings, "repetition_penalty_whitelist": whitelist}

    def _settings(self, text_model: TextModel) -> dict[str, Any]:
        """`to_settings` without `repetition_penalty_whitelist` (`build_request` uses `whitelist_ids` instead)."""
        tokenizer = text_model.tokenizer
        settings: dict[str, Any] = {"generate_until_sentence": self.generate_until_sentence}
        if self.num_logprobs != self.NO_LOGPROBS:
            settings["num_logprobs"] = self.num_logprobs
        bad_words: list[list[int]] = []
        if self.ban_brackets:
            bad_words.extend(_token_lists("bracket_ban", tokenizer))
        if self.ban_ambiguous_genji_tokens and tokenizer == "gpt2-genji":
            bad_words.extend(_genji_ambiguous_tokens())
        biases: list[dict[str, Any]] = []
        if self.bias_dinkus_asterism and tokenizer in _DINKUS_ASTERISM:
            bias, phrases = _DINKUS_ASTERISM[tokenizer]
            biases.extend(BiasGroup(bias, *phrases).tokenized(text_model))
        settings.update(
            bad_words_ids=bad_words,
            logit_bias_exp=biases,
            return_full_text=False,
            use_string=False,
            use_cache=False,
        )
        if self.ban_brackets:
            settings["bracket_ban"] = True
        return settings


def entry_of(entry: object, where: str, *, nested: bool = False) -> str | list[int]:
    """An entry (see `Entry`) as a phrase or a token list; PresetError naming `where` if it is neither.

    Shared with build_request's stop sequences.
    """
    if isinstance(entry, str):
        if not entry:
            raise PresetError(f"{where} is an empty string")
        return entry
    if isinstance(entry, Mapping) and not nested:
        if "sequence" in entry:
            return entry_of(entry["sequence"], f"{where}['sequence']", nested=True)
        if "sequences" in entry:
            sequences = entry["sequences"]
            if not isinstance(sequences, list | tuple) or not sequences:
                raise PresetError(f"{where}['sequences'] must be a non-empty list, not {shown(sequences)}")
            return entry_of(sequences[0], f"{where}['sequences'][0]", nested=True)
        raise PresetError(f"{where} has neither 'sequence' nor 'sequences': {shown(entry)}")
    if isinstance(entry, Sequence) and not isinstance(entry, bytes | bytearray):
        tokens = list(entry)
        if not tokens:
            raise PresetError(f"{where} is an empty token list")
        for index, token in enumerate(tokens):
            if not isinstance(token, int) or isinstance(token, bool) or token < 0:
                raise PresetError(f"{where}[{index}] must be a token id (an integer >= 0), not {shown(token)}")
        return tokens
    raise PresetError(f"{where} must be a string, a token list or a sequence object, not {shown(entry)}")


def tokenize_entry(model: TextModel, entry: str | list[int]) -> list[int]:
    """A phrase tokenized for the model (no BOS), or a token list as it is."""
    return _encode(model, entry) if isinstance(entry, str) else list(entry)


@attrs.define(init=False)
class BanList:
    """Phrases or token lists the model must not generate.

    `BanList(" cat", [1, 2], {"sequence": " dog"}, enabled=True)`; `add(...)` appends more.

    Attributes:
        sequences: the entries, as phrases and token lists.
        enabled: a disabled list bans nothing.
    """

    sequences: list[str | list[int]]
    enabled: bool

    def __init__(self, *sequences: Entry, enabled: bool = True) -> None:
        if not isinstance(enabled, bool):
            raise PresetError(f"enabled must be True or False, not {shown(enabled)}")
        self.__attrs_init__([], enabled)
        self.add(*sequences)

    def add(self, *sequences: Entry) -> BanList:
        """Append entries; returns the list itself, for chaining.

        Raises:
            PresetError: an entry is empty or not a phrase, token list or sequence object.
        """
        start = len(self.sequences)
        self.sequences.extend(entry_of(entry, f"ban list entry #{start + i}") for i, entry in enumerate(sequences))
        return self

    def tokenized(self, model: str | TextModel) -> list[list[int]]:
        """The entries as token lists for the model (`bad_words_ids`); none if the list is disabled."""
        if not self.enabled:
            return []
        text_model = get_model(model)
        return [tokenize_entry(text_model, entry) for entry in self.sequences]

    #: The name novelai-api uses for `tokenized`.
    get_tokenized_entries = tokenized


def _check_bias(value: object) -> float:
    # float(value) first: math.isfinite raises OverflowError for an int beyond the float range.
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(_as_float(value)):
        raise PresetError(f"bias must be a finite number, not {shown(value)}")
    return value


def _as_float(value: float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


@attrs.define(init=False)
class BiasGroup:
    """Phrases or token lists made more (bias > 0) or less (bias < 0) likely.

    `BiasGroup(-0.5, " the", ensure_sequence_finish=True)`; `add(...)` appends more phrases.

    Attributes:
        bias: the bias for every phrase of the group.
        sequences: the phrases, as text and token lists.
        ensure_sequence_finish: once a phrase starts, finish it.
        generate_once: bias only the first occurrence.
        enabled: a disabled group biases nothing.
    """

    bias: float
    sequences: list[str | list[int]]
    ensure_sequence_finish: bool
    generate_once: bool
    enabled: bool

    def __init__(
        self,
        bias: float,
        *sequences: Entry,
        ensure_sequence_finish: bool = False,
        generate_once: bool = False,
        enabled: bool = True,
    ) -> None:
        for name, flag in (
            ("ensure_sequence_finish", ensure_sequence_finish),
            ("generate_once", generate_once),
            ("enabled", enabled),
        ):
            if not isinstance(flag, bool):
                raise PresetError(f"{name} must be True or False, not {shown(flag)}")
        self.__attrs_init__(_check_bias(bias), [], ensure_sequence_finish, generate_once, enabled)
        self.add(*sequences)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> BiasGroup:
        """A bias group from NovelAI's stored form (`phraseBiasGroups` of a story, camelCase or snake_case keys).

        Raises:
            PresetError: `bias` is missing or not a number, a flag is not a boolean, or a phrase is malformed.
        """
        if not isinstance(data, Mapping) or "bias" not in data:
            raise PresetError(f"a bias group needs a 'bias', got {shown(data)}")

        def flag(camel: str, snake: str, default: bool) -> Any:
            return data.get(camel, data.get(snake, default))

        phrases = data.get("phrases", [])
        if not isinstance(phrases, list | tuple):
            raise PresetError(f"a bias group's 'phrases' must be a list, not {shown(phrases)}")
        return cls(
            data["bias"],
            *phrases,
            ensure_sequence_finish=flag("ensureSequenceFinish", "ensure_sequence_finish", False),
            generate_once=flag("generateOnce", "generate_once", False),
            enabled=data.get("enabled", True),
        )

    def add(self, *sequences: Entry) -> BiasGroup:
        """Append phrases; returns the group itself, for chaining.

        Raises:
            PresetError: an entry is empty or not a phrase, token list or sequence object.
        """
        start = len(self.sequences)
        self.sequences.extend(entry_of(entry, f"bias group entry #{start + i}") for i, entry in enumerate(sequences))
        return self

    def tokenized(self, model: str | TextModel) -> list[dict[str, Any]]:
        """The group as `logit_bias_exp` entries for the model, one per phrase; none if it is disabled."""
        if not self.enabled:
            return []
        text_model = get_model(model)
        return [
            {
                "bias": self.bias,
                "ensure_sequence_finish": self.ensure_sequence_finish,
                "generate_once": self.generate_once,
                "sequence": tokenize_entry(text_model, entry),
            }
            for entry in self.sequences
        ]

    #: The name novelai-api uses for `tokenized`.
    get_tokenized_entries = tokenized

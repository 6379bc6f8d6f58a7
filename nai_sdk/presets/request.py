"""Assembling the body of a text generation request (`POST /ai/generate`) from a prompt and settings.

Pure: no HTTP here. The client sends `build_request(...)` to `request.url`.
"""

from __future__ import annotations

import copy
import difflib
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Unpack

from nai_sdk.errors import ConfigurationError, PresetError, TokenEncodingError, UnknownSettingError
from nai_sdk.models import TIERS, TextModel, get_model
from nai_sdk.presets.preset import Preset, default_preset_name
from nai_sdk.presets.settings import BanList, BiasGroup, GlobalSettings, entry_of, tokenize_entry, whitelist_ids

if TYPE_CHECKING:
    from nai_client.typed_dicts import GenerationSettingsDict

__all__ = ["GENERATE_PATH", "GenerationRequest", "build_request"]

GENERATE_PATH: Final = "/ai/generate"
"""The route a `GenerationRequest` is sent to."""

# Sigurd and Euterpe take the repetition penalty on another scale than the one presets and NovelAI's interface
# use; NovelAI's client rescales it before sending.
_RESCALED_REPETITION_PENALTY: Final = frozenset({"6B-v4", "euterpe-v2"})


class GenerationRequest(dict[str, Any]):
    """The JSON body of a generation request (a dict: `{"input", "model", "parameters"}`), with where it goes.

    Attributes:
        model: the text model.
        host: `"text"` (https://text.novelai.net) or `"api"` (https://api.novelai.net).
        input_tokens: the prompt's tokens, as sent in `input` (after truncation, BOS included for Erato).
    """

    model: TextModel
    host: str
    input_tokens: list[int]

    def __init__(self, body: Mapping[str, Any], *, model: TextModel, input_tokens: list[int]) -> None:
        super().__init__(body)
        self.model = model
        self.host = model.host
        self.input_tokens = input_tokens

    @property
    def body(self) -> dict[str, Any]:
        """The body as a plain dict (shallow copy)."""
        return dict(self)

    @property
    def url(self) -> str:
        """Where to POST the body (`/ai/generate-stream` on the same host streams instead)."""
        return self.model.base_url + GENERATE_PATH

    def __repr__(self) -> str:
        return f"GenerationRequest({dict.__repr__(self)}, host={self.host!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # dict's own reduction would call __init__ without its arguments, and a TextModel (holding a mappingproxy)
        # cannot be pickled: rebuild through the constructor, naming the model by its id.
        return (_restore, (dict(self), self.model.id, self.input_tokens))


def _restore(body: dict[str, Any], model_id: str, input_tokens: list[int]) -> GenerationRequest:
    return GenerationRequest(body, model=get_model(model_id), input_tokens=input_tokens)


def _as_tuple(value: Any, kind: type[Any], name: str) -> tuple[Any, ...]:
    items = (value,) if isinstance(value, kind) else tuple(value)
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise PresetError(f"{name}[{index}] must be a {kind.__name__}, not {type(item).__name__}")
    return items


def _flatten(whitelist: object) -> set[int]:
    tokens: set[int] = set()
    for item in whitelist if isinstance(whitelist, list | tuple) else ():
        if isinstance(item, list | tuple):
            tokens.update(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            tokens.add(item)
    return tokens


def _prompt_tokens(prompt: str | Sequence[int], model: TextModel) -> list[int]:
    if isinstance(prompt, str):
        from nai_sdk.tokenizers import get_tokenizer  # here: importing nai_sdk.presets loads no tokenizer

        return get_tokenizer(model.tokenizer).encode(prompt)
    if isinstance(prompt, bytes | bytearray) or not isinstance(prompt, Sequence):
        raise TokenEncodingError(f"the prompt must be text or a list of token ids, not {type(prompt).__name__}")
    tokens: list[Any] = list(prompt)
    limit = model.max_token
    # The common case checked in C; the loop below finds the culprit, or accepts int subclasses (an IntEnum).
    if tokens and set(map(type, tokens)) == {int} and min(tokens) >= 0 and max(tokens) <= limit:
        return tokens
    for index, token in enumerate(tokens):
        if not isinstance(token, int) or isinstance(token, bool) or not 0 <= token <= limit:
            raise TokenEncodingError(
                f"prompt token at index {index} is {token!r}, not a token id of {model.name} (0..{limit})"
            )
    return [int(token) for token in tokens]


@functools.lru_cache(maxsize=64)
def _shared_official(model_id: str, name: str | None) -> Preset:
    """An official preset (the default when `name` is None), parsed once; only read here, never handed out."""
    model = get_model(model_id)
    return Preset.official(model, default_preset_name(model) if name is None else name)


@functools.lru_cache(maxsize=64)
def _shared_settings(model_id: str, name: str) -> dict[str, Any]:
    return _shared_official(model_id, name).to_settings()


def _official_settings(model_id: str, name: str) -> dict[str, Any]:
    """`to_settings()` of an official preset, computed once; the caller gets its own copy to change."""
    return {
        key: copy.deepcopy(value) if isinstance(value, list | dict) else value
        for key, value in _shared_settings(model_id, name).items()
    }


def _context_limit(model: TextModel, max_context: int | str | None, max_length: int) -> int | None:
    """How many prompt tokens fit, or None when the model's context size is unknown (no truncation)."""
    if max_context is None:
        if not model.context_tokens:
            return None
        return max(model.context_tokens.values()) - max_length
    if isinstance(max_context, str):
        if max_context not in model.context_tokens:
            where = ", ".join(model.context_tokens) or "none known"
            raise ConfigurationError(
                f"no context size of {model.name} for the tier {max_context!r} (tiers: {', '.join(TIERS)}; "
                f"known for {model.name}: {where})"
            )
        return model.context_tokens[max_context] - max_length
    if isinstance(max_context, int) and not isinstance(max_context, bool) and max_context > 0:
        return max_context
    raise ConfigurationError(f"max_context must be a positive number of tokens or a tier name, not {max_context!r}")


def _truncate(tokens: list[int], limit: int | None, bos: int | None) -> list[int]:
    """Keep the end of the prompt (the most recent text), with the BOS first for models that want one."""
    if bos is not None and tokens[:1] == [bos]:
        tokens = tokens[1:]
    room = None if limit is None else limit - (bos is not None)
    if room is not None:
        if room < 0:
            raise ConfigurationError(f"the context limit ({limit} tokens) leaves no room for the prompt")
        tokens = tokens[len(tokens) - room :] if len(tokens) > room else tokens
    return tokens if bos is None else [bos, *tokens]


@functools.cache
def _known_settings() -> frozenset[str]:
    # Imported on first use: the generated package is not needed to build requests otherwise.
    from nai_client.typed_dicts import GenerationSettingsDict

    return frozenset(GenerationSettingsDict.__annotations__)


def check_settings(settings: Mapping[str, Any]) -> None:
    """Refuse a generation setting that the spec's `AiGenerateParameters` does not know.

    Raises:
        UnknownSettingError: naming the setting and the nearest known one.
    """
    known = _known_settings()
    for name in settings:
        if name not in known:
            nearest = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
            raise UnknownSettingError(
                f"unknown generation setting {name!r}{hint} (nothing was sent)", name, nearest[0] if nearest else None
            )


def build_request(
    prompt: str | Sequence[int],
    model: str | TextModel,
    preset: Preset | str | None = None,
    *,
    global_settings: GlobalSettings | Mapping[str, Any] | None = None,
    ban_lists: BanList | Iterable[BanList] = (),
    bias_groups: BiasGroup | Iterable[BiasGroup] = (),
    stop_sequences: Iterable[str | Sequence[int]] | None = (),
    prefix: str | None = None,
    max_context: int | str | None = None,
    bad_words: BanList | Iterable[BanList] = (),
    biases: BiasGroup | Iterable[BiasGroup] = (),
    **overrides: Unpack[GenerationSettingsDict],
) -> GenerationRequest:
    """The body of `POST /ai/generate` for a prompt, as NovelAI's client builds it.

    Parameters are assembled in this order, later ones winning: the preset's `to_settings()`, the global
    settings' `to_settings(model)`, then `overrides`. The repetition-penalty whitelist is the union of the global
    whitelist (switched on by the preset's `repetition_penalty_default_whitelist`, which is not sent) and the
    preset's own, flattened and sorted. Sigurd's and Euterpe's `repetition_penalty` is rescaled to
    `1 + 0.525 * (p - 1) / 7`. Ban lists and bias groups are appended to `bad_words_ids` and `logit_bias_exp`,
    which are left out when empty. String stop sequences are tokenized; given stop sequences replace the preset's.
    No BOS token is put anywhere but at the start of an Erato prompt.

    The prompt is cut from the top (the oldest text goes) to fit the context: `max_context` tokens, or the
    context of a subscription tier (`"tablet"`, `"opus"`, ...) minus `max_length`; by default the model's largest
    context minus `max_length`. Models whose context size `nai_sdk.models` does not know are not truncated.

    Args:
        prompt: the text, or its token ids (for Erato, a leading BOS is added when missing).
        model: the text model (id, name or `TextModel`).
        preset: a `Preset`, the name of an official preset of the model, or None for the model's default preset.
        global_settings: a `GlobalSettings`, or a mapping of its fields; None for the defaults.
        ban_lists: one `BanList` or several.
        bias_groups: one `BiasGroup` or several.
        stop_sequences: strings or token lists that end the generation.
        prefix: the module (`"vanilla"`, `"special_openings"`, ...); None for `"vanilla"`.
        max_context: the most prompt tokens to send, or a tier name (see above).
        bad_words: more ban lists, under the name novelai-api's `generate` uses (so ported calls do not send
            `bad_words` as a request parameter).
        biases: more bias groups, under novelai-api's name.
        **overrides: request parameters that replace the assembled ones (`max_length=80`, `temperature=1.0`),
            named as in the spec's `AiGenerateParameters` (`nai_client.typed_dicts.GenerationSettingsDict`, which
            mypy checks them against).

    Returns:
        The body, a dict, with `.host`, `.url`, `.model` and `.input_tokens`.

    Raises:
        UnknownModelError: unknown model, or an unknown official preset name.
        PresetError: the preset is for another model, or a setting, ban list, bias group or stop sequence is
            malformed.
        TokenEncodingError: a prompt token does not fit the model's token format.
        ConfigurationError: `max_context` names a tier the model has no context size for, or leaves no room.
        UnknownSettingError: an override the spec does not know (the message names the nearest known one).
    """
    if overrides:
        check_settings(overrides)
    text_model = get_model(model)
    official = preset is None or isinstance(preset, str)
    if preset is None or isinstance(preset, str):
        preset = _shared_official(text_model.id, preset)
    elif not isinstance(preset, Preset):
        raise PresetError(f"preset must be a Preset, an official preset name or None, not {type(preset).__name__}")
    if preset.model != text_model.id:
        raise PresetError(f"preset {preset.name!r} is for {preset.model}, not {text_model.id}")
    if global_settings is None:
        global_settings = GlobalSettings()
    elif isinstance(global_settings, Mapping):
        global_settings = GlobalSettings(**global_settings)
    elif not isinstance(global_settings, GlobalSettings):
        raise PresetError(f"global_settings must be GlobalSettings or a mapping, not {type(global_settings).__name__}")

    preset_params = _official_settings(text_model.id, preset.name) if official else preset.to_settings()
    if preset_params.pop("repetition_penalty_default_whitelist", False):
        global_settings = global_settings.evolve(rep_pen_whitelist=True)
    global_params = global_settings._settings(text_model)
    whitelist = _flatten(preset_params.pop("repetition_penalty_whitelist", []))
    if global_settings.rep_pen_whitelist:
        whitelist |= whitelist_ids(text_model.id)

    params: dict[str, Any] = {"repetition_penalty_whitelist": sorted(whitelist)}
    params.update(preset_params)
    params.update(global_params)
    params.update(overrides)

    if text_model.id in _RESCALED_REPETITION_PENALTY and "repetition_penalty" in params:
        params["repetition_penalty"] = 1 + 0.525 * (params["repetition_penalty"] - 1) / 7
    params["prefix"] = "vanilla" if prefix is None else prefix

    for key, groups, kind in (
        ("bad_words_ids", (ban_lists, bad_words), BanList),
        ("logit_bias_exp", (bias_groups, biases), BiasGroup),
    ):
        entries = list(params.get(key) or [])
        for group in (*_as_tuple(groups[0], kind, key), *_as_tuple(groups[1], kind, key)):
            entries.extend(group.tokenized(text_model))
        if entries:
            params[key] = entries
        else:
            params.pop(key, None)

    if stop_sequences:
        if isinstance(stop_sequences, str):
            raise PresetError("stop_sequences must be a list of strings or token lists, not a single string")
        params["stop_sequences"] = [
            tokenize_entry(text_model, entry_of(sequence, f"stop_sequences[{index}]"))
            for index, sequence in enumerate(stop_sequences)
        ]

    max_length = params.get("max_length")
    limit = _context_limit(text_model, max_context, max_length if isinstance(max_length, int) else 0)
    tokens = _truncate(_prompt_tokens(prompt, text_model), limit, text_model.bos_token)

    from nai_sdk.tokenizers import tokens_to_b64

    body = {"input": tokens_to_b64(tokens, text_model), "model": text_model.id, "parameters": params}
    return GenerationRequest(body, model=text_model, input_tokens=tokens)

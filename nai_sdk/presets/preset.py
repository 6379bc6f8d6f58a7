"""Generation presets: NovelAI's `.preset` files, read, edited, written back and turned into request parameters.

A `.preset` file is JSON: `{"presetVersion", "name", "id", "remoteId", "parameters", "model"}`, where `parameters`
holds the sampler settings and `parameters.order` lists the samplers as `{"id": "top_k", "enabled": true}` in the
order they run. `Preset` keeps every field it does not interpret (`extra`, unknown parameters, unknown sampler ids)
and remembers where the keys were, so a file read and written unchanged comes back byte for byte (or, for files not
laid out as NovelAI lays them out, JSON-equal).

Preset files are input from anywhere: anything malformed in them (wrong types, nesting deeper than
`MAX_PRESET_DEPTH`, integers no JavaScript client can hold) is a `PresetError`.
"""

from __future__ import annotations

import copy
import enum
import functools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Generic, TypeVar, overload

import attrs

from nai_sdk._constants import MAX_PRESET_DEPTH, MAX_SAFE_INTEGER
from nai_sdk._json import loads_strict
from nai_sdk.errors import PresetError, UnknownModelError
from nai_sdk.models import TextModel, get_model
from nai_sdk.presets._checks import check_depth, shown
from nai_sdk.presets._data import data_names, read_data, read_json

__all__ = ["DOCUMENTED_DEFAULTS", "PhraseRepPen", "Preset", "Sampler"]


class Sampler(enum.IntEnum):
    """A sampler, valued as the int NovelAI expects in a request's `order`.

    `Sampler.TFS.id` is the name a `.preset` file uses (`"tfs"`), `Sampler.TFS.settings` the request parameters
    that belong to it (`("tail_free_sampling",)`): they are left out of a request when the sampler is disabled.
    """

    TEMPERATURE = 0
    TOP_K = 1
    TOP_P = 2
    TFS = 3
    TOP_A = 4
    TYPICAL_P = 5
    CFG = 6
    TOP_G = 7
    MIROSTAT = 8
    #: "Unified" sampling in NovelAI's interface; `math1` in files and in the parameter names.
    UNIFIED = 9
    MIN_P = 10

    @property
    def id(self) -> str:
        """The sampler's name in a `.preset` file's `order`."""
        return _SAMPLER_IDS[self]

    @property
    def settings(self) -> tuple[str, ...]:
        """The request parameters that only this sampler reads."""
        return _SAMPLER_SETTINGS[self]

    @classmethod
    def parse(cls, value: Sampler | int | str) -> Sampler:
        """The sampler named by an enum member, an order int (`3`) or a file id (`"tfs"`).

        Raises:
            PresetError: no sampler has that id or int.
        """
        if isinstance(value, Sampler):
            return value
        if isinstance(value, str):
            sampler = _SAMPLERS_BY_ID.get(value)
            if sampler is not None:
                return sampler
        elif isinstance(value, int) and not isinstance(value, bool) and value in cls._value2member_map_:
            return cls(value)
        raise PresetError(f"unknown sampler {shown(value)}; known: {', '.join(_SAMPLERS_BY_ID)}")


_SAMPLER_IDS: Final[Mapping[Sampler, str]] = {
    Sampler.TEMPERATURE: "temperature",
    Sampler.TOP_K: "top_k",
    Sampler.TOP_P: "top_p",
    Sampler.TFS: "tfs",
    Sampler.TOP_A: "top_a",
    Sampler.TYPICAL_P: "typical_p",
    Sampler.CFG: "cfg",
    Sampler.TOP_G: "top_g",
    Sampler.MIROSTAT: "mirostat",
    Sampler.UNIFIED: "math1",
    Sampler.MIN_P: "min_p",
}
_SAMPLERS_BY_ID: Final[Mapping[str, Sampler]] = {name: sampler for sampler, name in _SAMPLER_IDS.items()}
# The parameter names are those of NovelAI's preset files (parameters.*), which are also the API's names.
_SAMPLER_SETTINGS: Final[Mapping[Sampler, tuple[str, ...]]] = {
    Sampler.TEMPERATURE: ("temperature",),
    Sampler.TOP_K: ("top_k",),
    Sampler.TOP_P: ("top_p",),
    Sampler.TFS: ("tail_free_sampling",),
    Sampler.TOP_A: ("top_a",),
    Sampler.TYPICAL_P: ("typical_p",),
    Sampler.CFG: ("cfg_scale", "cfg_uc"),
    Sampler.TOP_G: ("top_g",),
    Sampler.MIROSTAT: ("mirostat_tau", "mirostat_lr"),
    Sampler.UNIFIED: ("math1_temp", "math1_quad", "math1_quad_entropy_scale"),
    Sampler.MIN_P: ("min_p",),
}


class PhraseRepPen(enum.StrEnum):
    """The values of the `phrase_rep_pen` setting."""

    OFF = "off"
    VERY_LIGHT = "very_light"
    LIGHT = "light"
    MEDIUM = "medium"
    AGGRESSIVE = "aggressive"
    VERY_AGGRESSIVE = "very_aggressive"


# What each known parameter must hold. A parameter not listed is kept as it is and sent as it is.
_NUMBERS: Final = frozenset(
    {
        "temperature",
        "top_p",
        "top_a",
        "typical_p",
        "tail_free_sampling",
        "min_p",
        "cfg_scale",
        "mirostat_tau",
        "mirostat_lr",
        "math1_temp",
        "math1_quad",
        "math1_quad_entropy_scale",
        "repetition_penalty",
        "repetition_penalty_slope",
        "repetition_penalty_frequency",
        "repetition_penalty_presence",
        "length_penalty",
        "diversity_penalty",
    }
)
_INTS: Final = frozenset(
    {"textGenerationSettingsVersion", "max_length", "min_length", "top_k", "top_g", "repetition_penalty_range"}
)
_BOOLS: Final = frozenset({"repetition_penalty_default_whitelist"})
_STRINGS: Final = frozenset({"cfg_uc", "phrase_rep_pen"})
_TOKEN_LISTS: Final = frozenset({"stop_sequences", "bad_words_ids"})
_KNOWN: Final = _NUMBERS | _INTS | _BOOLS | _STRINGS | _TOKEN_LISTS | {"repetition_penalty_whitelist"}

# Kept in the preset (and its file) but never sent by to_settings: the file-format version is not an API
# parameter; ban lists and bias groups are the caller's to send (build_request's ban_lists and bias_groups), and
# `logit_bias_groups` is the web client's storage format, not the API's.
_NOT_SENT: Final = frozenset({"textGenerationSettingsVersion", "bad_words_ids", "logit_bias_exp", "logit_bias_groups"})

DOCUMENTED_DEFAULTS: Final[Mapping[str, str]] = {"llama-3-erato-v1": "Dragonfruit"}
"""The default preset of a model whose preset folder has no `default.txt`. Erato: Dragonfruit, the default
SillyTavern's NovelAI settings give Erato (`default_presets` in public/scripts/nai-settings.js) and the first
official Erato preset by name. A model in neither list falls back to its first official preset by name."""

# NovelAI's layout of a .preset file, used for presets made from scratch.
_DEFAULT_KEY_ORDER: Final = ("presetVersion", "name", "id", "remoteId", "parameters", "model")
_OWN_KEYS: Final = ("name", "model", "parameters")


def _is_number(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    # An int is not given to math.isfinite: past the float range it raises OverflowError.
    return _is_int(value)


def _is_int(value: object) -> bool:
    # bool is an int subclass, but `true` is no setting; beyond 2**53 NovelAI's JavaScript client cannot hold it.
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER


def _is_token_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in value)


def check_parameter(key: str, value: object) -> None:
    """Raise PresetError if `value` is not what the known parameter `key` holds (unknown keys pass)."""
    if key in _NUMBERS:
        ok, expected = _is_number(value), "a finite number"
    elif key in _INTS:
        ok, expected = _is_int(value), "an integer within +-2**53"
    elif key in _BOOLS:
        ok, expected = isinstance(value, bool), "true or false"
    elif key == "phrase_rep_pen":
        # The str check first: a list or a dict is not hashable, so `in` would raise TypeError.
        ok = isinstance(value, str) and value in PhraseRepPen._value2member_map_
        expected = f"one of {', '.join(PhraseRepPen)}"
    elif key in _STRINGS:
        ok, expected = isinstance(value, str), "a string"
    elif key in _TOKEN_LISTS:
        ok = isinstance(value, list) and all(_is_token_list(item) for item in value)
        expected = "a list of token lists"
    elif key == "repetition_penalty_whitelist":
        # Tokens, or token lists (one per whitelisted phrase): both are accepted by build_request, which flattens.
        ok = isinstance(value, list) and all(_is_token_list([item]) or _is_token_list(item) for item in value)
        expected = "a list of tokens or token lists"
    else:
        return
    if not ok:
        raise PresetError(f"parameter {key!r} must be {expected}, not {shown(value)}")


def _parse_order(value: object) -> list[tuple[str, bool]]:
    if not isinstance(value, list):
        raise PresetError(f"parameters.order must be a list of {{'id', 'enabled'}} objects, not {shown(value)}")
    order: list[tuple[str, bool]] = []
    for index, entry in enumerate(value):
        if (
            not isinstance(entry, dict)
            or set(entry) != {"id", "enabled"}
            or not isinstance(entry["id"], str)
            or not isinstance(entry["enabled"], bool)
        ):
            raise PresetError(f"parameters.order[{index}] must be {{'id': str, 'enabled': bool}}, not {shown(entry)}")
        order.append((entry["id"], entry["enabled"]))
    _check_order(order)
    return order


def _check_order(order: Sequence[tuple[str, bool]]) -> None:
    seen: set[str] = set()
    for sampler_id, _ in order:
        if sampler_id in seen:
            raise PresetError(f"sampler {shown(sampler_id)} appears twice in the order")
        seen.add(sampler_id)


def _normalise_order(value: Iterable[tuple[Sampler | int | str, bool]]) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for item in value:
        try:
            sampler, enabled = item
        except (TypeError, ValueError) as exc:
            raise PresetError(f"order entries must be (sampler, enabled) pairs, not {shown(item)}") from exc
        if not isinstance(enabled, bool):
            raise PresetError(f"order entry {shown(item)}: enabled must be True or False")
        # Unknown ids are kept (a newer NovelAI may add samplers); ints and enum members must be known.
        order.append((sampler if isinstance(sampler, str) else Sampler.parse(sampler).id, enabled))
    _check_order(order)
    return order


def _model_id(value: str | TextModel) -> str:
    try:
        return get_model(value).id
    except UnknownModelError as exc:
        raise PresetError(f"unknown model {shown(value)} for a preset: {exc}") from exc


_T = TypeVar("_T")


class _Setting(Generic[_T]):
    """`preset.top_k` reads `preset.parameters["top_k"]` (None when unset); assigning checks and stores it.

    Assigning None removes the setting.
    """

    def __init__(self, key: str) -> None:
        self.key = key

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _Setting[_T]: ...

    @overload
    def __get__(self, instance: Preset, owner: type[Any]) -> _T | None: ...

    def __get__(self, instance: Preset | None, owner: type[Any]) -> _Setting[_T] | _T | None:
        if instance is None:
            return self
        value: _T | None = instance.parameters.get(self.key)
        return value

    def __set__(self, instance: Preset, value: _T | None) -> None:
        instance.set(self.key, value)


@attrs.define(eq=True)
class Preset:
    """A generation preset: settings, sampler order, and everything else its file held.

    Attributes:
        name: the preset's name.
        model: the id of the text model it is for (`"kayra-v1"`); a name or `TextModel` is turned into the id.
        parameters: the settings (`parameters` of the file) without `order`, in file order. Unknown settings are
            kept and sent as they are.
        order: the samplers as `(file id, enabled)` pairs, in the order they run. Ids this SDK does not know are
            kept; `to_settings` refuses to send one that is enabled.
        extra: the file's other top-level fields (`presetVersion`, `id`, `remoteId`, ...), kept for writing back.

    Settings read and write as attributes too (`preset.temperature = 1.1`, `preset.top_k`), checked on
    assignment; `preset["key"]` works for any setting.
    """

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    model: str = attrs.field(converter=_model_id)
    parameters: dict[str, Any] = attrs.field(factory=dict)
    order: list[tuple[str, bool]] = attrs.field(factory=list, converter=_normalise_order)
    extra: dict[str, Any] = attrs.field(factory=dict)
    # Where the file had its keys, to write them back in place: not part of the preset's value.
    _key_order: tuple[str, ...] = attrs.field(default=_DEFAULT_KEY_ORDER, eq=False, repr=False, alias="_key_order")
    _order_at: int | None = attrs.field(default=None, eq=False, repr=False, alias="_order_at")

    temperature = _Setting[float]("temperature")
    max_length = _Setting[int]("max_length")
    min_length = _Setting[int]("min_length")
    top_k = _Setting[int]("top_k")
    top_p = _Setting[float]("top_p")
    top_a = _Setting[float]("top_a")
    typical_p = _Setting[float]("typical_p")
    tail_free_sampling = _Setting[float]("tail_free_sampling")
    min_p = _Setting[float]("min_p")
    top_g = _Setting[int]("top_g")
    cfg_scale = _Setting[float]("cfg_scale")
    cfg_uc = _Setting[str]("cfg_uc")
    mirostat_tau = _Setting[float]("mirostat_tau")
    mirostat_lr = _Setting[float]("mirostat_lr")
    math1_temp = _Setting[float]("math1_temp")
    math1_quad = _Setting[float]("math1_quad")
    math1_quad_entropy_scale = _Setting[float]("math1_quad_entropy_scale")
    repetition_penalty = _Setting[float]("repetition_penalty")
    repetition_penalty_range = _Setting[int]("repetition_penalty_range")
    repetition_penalty_slope = _Setting[float]("repetition_penalty_slope")
    repetition_penalty_frequency = _Setting[float]("repetition_penalty_frequency")
    repetition_penalty_presence = _Setting[float]("repetition_penalty_presence")
    repetition_penalty_default_whitelist = _Setting[bool]("repetition_penalty_default_whitelist")
    phrase_rep_pen = _Setting[str]("phrase_rep_pen")
    stop_sequences = _Setting[list[list[int]]]("stop_sequences")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.parameters, dict) or not isinstance(self.extra, dict):
            raise PresetError("parameters and extra must be dicts")
        # Copies and writes recurse through both (deepcopy, json.dumps): bound them before anything does. `extra`
        # stands for the file's top level, `parameters` sits one level below it.
        check_depth(self.parameters, MAX_PRESET_DEPTH - 1, "parameters")
        check_depth(self.extra, MAX_PRESET_DEPTH, "the preset's other fields")
        if "order" in self.parameters:
            raise PresetError("the sampler order goes in Preset.order, not in parameters")
        for key, value in self.parameters.items():
            check_parameter(key, value)

    # --- settings ---------------------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "order":
            raise PresetError("set the sampler order with Preset.order, enable() or disable()")
        check_parameter(key, value)
        self.parameters[key] = value

    def __delitem__(self, key: str) -> None:
        del self.parameters[key]

    def __contains__(self, key: object) -> bool:
        return key in self.parameters

    def set(self, key: str, value: Any) -> None:
        """Set a known setting, checking its value; None removes it.

        Raises:
            PresetError: `key` is not a setting this SDK knows (use `preset[key] = value` for others), or the value
                has the wrong type.
        """
        if key not in _KNOWN:
            raise PresetError(f"unknown setting {key!r}; use preset[{key!r}] = value to set a setting not listed")
        if value is None:
            self.parameters.pop(key, None)
        else:
            self[key] = value

    def evolve(self, **changes: Any) -> Preset:
        """A copy with some fields or settings changed; the preset itself is left as it is.

        Args:
            **changes: `name`, `model`, `order` (pairs of sampler and enabled), `extra`, or any known setting
                (`temperature=1.1`; None removes the setting).

        Returns:
            The new preset.

        Raises:
            PresetError: an unknown setting, or a value of the wrong type.
        """
        fields = {key: changes.pop(key) for key in ("name", "model", "order", "extra") if key in changes}
        new = attrs.evolve(self.copy(), **fields)
        for key, value in changes.items():
            new.set(key, value)
        return new

    def copy(self) -> Preset:
        """A deep copy."""
        return copy.deepcopy(self)

    # --- samplers ---------------------------------------------------------------------------------------------

    def is_enabled(self, sampler: Sampler | int | str) -> bool:
        """Whether the sampler is in the order and enabled."""
        sampler_id = sampler if isinstance(sampler, str) else Sampler.parse(sampler).id
        return any(entry_id == sampler_id and enabled for entry_id, enabled in self.order)

    @property
    def enabled_samplers(self) -> list[Sampler]:
        """The enabled samplers, in the order they run.

        Raises:
            PresetError: an enabled sampler is one this SDK does not know.
        """
        return [Sampler.parse(sampler_id) for sampler_id, enabled in self.order if enabled]

    def enable(self, *samplers: Sampler | int | str) -> None:
        """Enable samplers where they are in the order; a sampler not in it is appended (it runs last)."""
        self._switch(samplers, enabled=True)

    def disable(self, *samplers: Sampler | int | str) -> None:
        """Disable samplers: they keep their place and settings in the file but are not sent."""
        self._switch(samplers, enabled=False)

    def _switch(self, samplers: Iterable[Sampler | int | str], *, enabled: bool) -> None:
        for sampler in samplers:
            sampler_id = Sampler.parse(sampler).id
            for index, (entry_id, _) in enumerate(self.order):
                if entry_id == sampler_id:
                    self.order[index] = (entry_id, enabled)
                    break
            else:
                self.order.append((sampler_id, enabled))

    # --- the request ------------------------------------------------------------------------------------------

    def to_settings(self) -> dict[str, Any]:
        """The preset's parameters for a generation request.

        `order` becomes the ints of the enabled samplers in their order; every setting of a sampler that is not
        enabled (disabled, or not in the order) is left out; `textGenerationSettingsVersion` is dropped;
        `repetition_penalty_range` and `repetition_penalty_slope` are dropped when 0 (the API misbehaves with 0).
        `repetition_penalty_default_whitelist` is kept: `build_request` reads it. A preset with no order at all
        sends no `order` and keeps every setting (the API then uses its default order).

        Returns:
            A new dict, safe to modify.

        Raises:
            PresetError: an enabled sampler is unknown to this SDK, or `phrase_rep_pen` has an unknown value.
        """
        dropped: set[str] = set()
        order: list[int] | None = None
        if self.order:
            enabled = self.enabled_samplers
            order = [int(sampler) for sampler in enabled]
            for sampler in Sampler:
                if sampler not in enabled:
                    dropped.update(sampler.settings)
        settings: dict[str, Any] = {}
        for key, value in self.parameters.items():
            if key in _NOT_SENT or key in dropped:
                continue
            check_parameter(key, value)
            settings[key] = copy.deepcopy(value)
        if order is not None:
            settings["order"] = order
        if "phrase_rep_pen" in settings:
            settings["phrase_rep_pen"] = PhraseRepPen(settings["phrase_rep_pen"]).value
        if settings.get("repetition_penalty_range") == 0:
            del settings["repetition_penalty_range"]
        if settings.get("repetition_penalty_slope") == 0:
            del settings["repetition_penalty_slope"]
        return settings

    # --- files ------------------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preset:
        """A preset from the JSON content of a `.preset` file.

        Args:
            data: the parsed JSON. It is copied, not kept.

        Returns:
            The preset.

        Raises:
            PresetError: `data` is not a preset: not an object, `name` or `model` missing or not strings, an unknown
                model, `parameters` not an object, a malformed `order`, a known setting of the wrong type, or
                nesting deeper than `MAX_PRESET_DEPTH`.
        """
        if not isinstance(data, Mapping):
            raise PresetError(f"a preset must be a JSON object, not {type(data).__name__}")
        data = dict(data)
        # Before deepcopy, which recurses (two frames a level): deep enough JSON would raise RecursionError there.
        check_depth(data, MAX_PRESET_DEPTH, "the preset")
        data = copy.deepcopy(data)
        name, model, parameters = data.get("name"), data.get("model"), data.get("parameters")
        if not isinstance(name, str):
            raise PresetError(f"a preset needs a string 'name', not {shown(name)}")
        if not isinstance(model, str):
            raise PresetError(f"preset {shown(name)} needs a string 'model', not {shown(model)}")
        if not isinstance(parameters, dict):
            raise PresetError(f"preset {shown(name)} needs an object 'parameters', not {shown(parameters)}")
        order_at: int | None = None
        order: list[tuple[str, bool]] = []
        if "order" in parameters:
            order_at = list(parameters).index("order")
            order = _parse_order(parameters.pop("order"))
        try:
            return cls(
                name=name,
                model=model,
                parameters=parameters,
                order=order,
                extra={key: value for key, value in data.items() if key not in _OWN_KEYS},
                _key_order=tuple(data),
                _order_at=order_at,
            )
        except PresetError as exc:
            raise PresetError(f"preset {shown(name)}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The JSON content of the preset's `.preset` file, keys where the file had them."""
        items = list(copy.deepcopy(self.parameters).items())
        if self.order or self._order_at is not None:
            at = len(items) if self._order_at is None else min(self._order_at, len(items))
            items.insert(at, ("order", [{"id": sampler_id, "enabled": on} for sampler_id, on in self.order]))
        own: dict[str, Any] = {"name": self.name, "model": self.model, "parameters": dict(items)}
        extra = copy.deepcopy(self.extra)
        result: dict[str, Any] = {}
        for key in self._key_order:
            if key in own:
                result[key] = own.pop(key)
            elif key in extra:
                result[key] = extra.pop(key)
        result.update(extra)
        result.update(own)
        return result

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Preset:
        """Read a `.preset` file.

        Raises:
            PresetError: the file is not UTF-8 JSON, or not a valid preset (see `from_dict`).
            OSError: the file cannot be read.
        """
        with open(path, "rb") as file:
            content = file.read()
        try:
            return cls.from_dict(_loads(content))
        except PresetError as exc:
            raise PresetError(f"{os.fspath(path)}: {exc}") from exc

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the preset as NovelAI writes `.preset` files: JSON indented by two spaces, UTF-8, final newline.

        Raises:
            PresetError: a setting holds something JSON cannot represent.
        """
        with open(path, "wb") as file:
            file.write(self.to_json())

    def to_json(self) -> bytes:
        """The bytes `to_file` writes.

        Raises:
            PresetError: a setting holds something JSON cannot represent (NaN, a set, a cycle, ...).
        """
        try:
            value = self.to_dict()
            text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:
                # A lone surrogate (read from a `\\udXXX` escape) cannot be UTF-8: escape everything instead.
                return (json.dumps(value, indent=2, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")
        except (TypeError, ValueError, RecursionError) as exc:
            # RecursionError: a setting changed after reading to hold itself, or a very deep value.
            raise PresetError(f"preset {shown(self.name)} cannot be written as JSON: {exc}") from exc

    # --- official presets -------------------------------------------------------------------------------------

    @classmethod
    def officials(cls, model: str | TextModel) -> list[Preset]:
        """Copies of every official preset for the model, sorted by name.

        Raises:
            UnknownModelError: no text model has that name.
            PresetError: a vendored file is missing or does not match the manifest.
        """
        text_model = get_model(model)
        return [cls.from_dict(data) for _, data in sorted(_officials(text_model.preset_folder).items())]

    @classmethod
    def official(cls, model: str | TextModel, name: str) -> Preset:
        """A copy of the official preset with this name (as NovelAI names it, e.g. `"Carefree"`).

        Raises:
            UnknownModelError: no such model, or the model has no official preset of that name.
            PresetError: the vendored file is missing or does not match the manifest.
        """
        text_model = get_model(model)
        presets = _officials(text_model.preset_folder)
        if name not in presets:
            known = ", ".join(sorted(presets))
            raise UnknownModelError(f"{text_model.name} has no official preset {name!r}; known: {known}")
        return cls.from_dict(presets[name])

    @classmethod
    def default(cls, model: str | TextModel) -> Preset:
        """A copy of the model's default preset.

        The default is the one the preset folder's `default.txt` names; for a model without one (Erato), the one
        in `DOCUMENTED_DEFAULTS`, else the first official preset by name.

        Raises:
            UnknownModelError: no text model has that name.
            PresetError: a vendored file is missing or does not match the manifest.
        """
        text_model = get_model(model)
        return cls.official(text_model, default_preset_name(text_model))


def default_preset_name(model: str | TextModel) -> str:
    """The name of the model's default official preset (see `Preset.default`)."""
    text_model = get_model(model)
    folder = text_model.preset_folder
    if f"{folder}/default.txt" in data_names():
        lines = read_data(f"{folder}/default.txt").decode("utf-8").splitlines()
        if lines and lines[0].strip():
            return lines[0].strip()
    if text_model.id in DOCUMENTED_DEFAULTS:
        return DOCUMENTED_DEFAULTS[text_model.id]
    names = sorted(_officials(folder))
    if not names:
        raise UnknownModelError(f"{text_model.name} has no official presets")
    return names[0]


@functools.cache
def _officials(folder: str) -> Mapping[str, Mapping[str, Any]]:
    """Preset name -> parsed file content, for one folder. Callers copy (from_dict does)."""
    presets: dict[str, Mapping[str, Any]] = {}
    for name in data_names():
        if name.startswith(folder + "/") and name.endswith(".preset"):
            data = read_json(name)
            presets[data["name"]] = data
    return presets


def _loads(content: bytes) -> Any:
    try:
        content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PresetError(f"a preset file must be UTF-8: {exc}") from exc
    # The strict reader: NaN and Infinity refused, and a depth bound that holds on every Python and every thread's
    # stack (the C parser's own limit does not: on 3.13 it can crash a thread with a small stack).
    return loads_strict(content.removeprefix(b"\xef\xbb\xbf"), PresetError, "the preset")

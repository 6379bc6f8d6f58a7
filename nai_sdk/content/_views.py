"""Typed read-through views over decrypted story content: lorebook, context entries, phrase bias and bans.

A view holds no data of its own: every property reads the underlying JSON dict (a `storycontent` object's `data`,
or the content of a `.story` file) and every assignment writes it back there, so fields this SDK does not know are
never lost. A view over a `UserObject` marks the object modified on every write, ready for `storage.edit`:

    content = StoryContent.of(story.content)       # a storycontent UserObject
    entry = content.lorebook.add_entry("Mira is the ferry's pilot.", keys=["Mira", "pilot"])
    entry.search_range = 2000
    content.memory.text = "The river never freezes."
    nai.storage.edit(story.content)

A missing field (or a null one) reads as the web client's default for it (see `docs/stories.md`); a field of the
wrong JSON type raises `StoryFileError` naming it, never a silently wrong value. Lists (`keys`, `entries`, ...) are
the live lists inside the data; editing them in place is seen by `UserObject.modified` too.

Field names, types and defaults follow public descriptions of the format: the lorebook and context types of
TaleirOfDeynai/nai-context-userscript (`src/naiModules/Lorebook.d.ts`), the Go structs of
wbrown/novelai-research-tool (`scenario/scenario.go`), and NovelAI's documentation of the lorebook and of context
settings (https://docs.novelai.net/text/lorebook.html, https://docs.novelai.net/text/Editor/advancedsettings.html).
"""

from __future__ import annotations

import copy
import functools
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Generic, TypeVar, overload

from nai_sdk.errors import StoryFileError

if TYPE_CHECKING:
    from nai_sdk.content._objects import UserObject
    from nai_sdk.presets import BanList, BiasGroup

__all__ = [
    "AUTHORS_NOTE_DEFAULTS",
    "EPHEMERAL_DEFAULTS",
    "LORE_DEFAULTS",
    "MEMORY_DEFAULTS",
    "STORY_DEFAULTS",
    "BannedSequenceGroup",
    "Category",
    "ContextConfig",
    "ContextEntry",
    "EphemeralEntry",
    "Lorebook",
    "LorebookEntry",
    "PhraseBiasGroup",
    "StoryContent",
    "story_text",
]

_T = TypeVar("_T")
_V = TypeVar("_V", bound="_View")

#: What the web client's context settings call "all of the context": token budgets and reservations this large
#: never limit anything. Budgets of 1 or less are read as a share of the context instead (see `docs/stories.md`).
MAX_TOKENS: Final = 2048

TRIM_DIRECTIONS: Final = ("trimBottom", "trimTop", "doNotTrim")
SEPARATION_TYPES: Final = ("newline", "sentence", "token")


def _defaults(**values: Any) -> Mapping[str, Any]:
    return MappingProxyType(values)


# The web client's default context settings per kind of entry. The story's are novelai-research-tool's
# (`scenario/scenario.go`, `createStoryContext`: 512 reserved, order 0, trimmed from the top, at -1); the others are
# those files written by the web client and by public scenario tools carry (memory: order 800 at 0; author's note:
# order -400 at -4; lore: order 400 at -1; ephemeral: order -10000 at -2). Budgets and reservations of "everything"
# are written as 1 here (a share of the context, see `docs/stories.md`).
STORY_DEFAULTS: Final = _defaults(
    prefix="",
    suffix="",
    tokenBudget=1,
    reservedTokens=512,
    budgetPriority=0,
    trimDirection="trimTop",
    insertionType="newline",
    maximumTrimType="sentence",
    insertionPosition=-1,
)
MEMORY_DEFAULTS: Final = _defaults(
    prefix="",
    suffix="\n",
    tokenBudget=1,
    reservedTokens=0,
    budgetPriority=800,
    trimDirection="trimBottom",
    insertionType="newline",
    maximumTrimType="sentence",
    insertionPosition=0,
)
AUTHORS_NOTE_DEFAULTS: Final = _defaults(
    prefix="",
    suffix="\n",
    tokenBudget=1,
    reservedTokens=1,
    budgetPriority=-400,
    trimDirection="trimBottom",
    insertionType="newline",
    maximumTrimType="sentence",
    insertionPosition=-4,
)
LORE_DEFAULTS: Final = _defaults(
    prefix="",
    suffix="\n",
    tokenBudget=1,
    reservedTokens=0,
    budgetPriority=400,
    trimDirection="trimBottom",
    insertionType="newline",
    maximumTrimType="sentence",
    insertionPosition=-1,
)
EPHEMERAL_DEFAULTS: Final = _defaults(
    prefix="",
    suffix="\n",
    tokenBudget=1,
    reservedTokens=1,
    budgetPriority=-10000,
    trimDirection="doNotTrim",
    insertionType="newline",
    maximumTrimType="newline",
    insertionPosition=-2,
)


# --- field checks ---------------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    # bool is an int subclass, and JSON's true is not a number.
    return type(value) is int or type(value) is float


def _is_int(value: object) -> bool:
    return type(value) is int or (type(value) is float and value.is_integer())


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_list(value: object) -> bool:
    return isinstance(value, list)


def _is_dict(value: object) -> bool:
    return isinstance(value, dict)


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"[:60]
    if isinstance(value, str):
        return f"the string {value!r}"[:60]
    return {"list": "an array", "dict": "an object"}.get(type(value).__name__, type(value).__name__)


class _Field(Generic[_T]):
    """One JSON field of a view: `view.name` reads it (the default when absent), `view.name = value` writes it."""

    def __init__(
        self,
        key: str,
        check: Callable[[object], bool],
        expected: str,
        default: _T,
        *,
        choices: tuple[str, ...] = (),
    ) -> None:
        self.key = key
        self.check = check
        self.expected = expected
        self.default = default
        self.choices = choices

    def __set_name__(self, owner: type[_View], name: str) -> None:
        owner._fields = (*owner._fields, self)

    def problem(self, value: object) -> str | None:
        """Why `value` cannot be this field, or None."""
        if not self.check(value):
            if isinstance(value, list) and self.check is _is_str_list:
                index, item = next((i, item) for i, item in enumerate(value) if not isinstance(item, str))
                return f"must be {self.expected}, but item {index} is {_kind(item)}"
            return f"must be {self.expected}, not {_kind(value)}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(map(repr, self.choices))}, not {_kind(value)}"
        return None

    @overload
    def __get__(self, view: None, owner: type[Any]) -> _Field[_T]: ...

    @overload
    def __get__(self, view: _View, owner: type[Any]) -> _T: ...

    def __get__(self, view: _View | None, owner: type[Any]) -> _Field[_T] | _T:
        if view is None:
            return self
        data = view._read()
        value = None if data is None else data.get(self.key)
        if value is None:  # absent, or null: the default (JavaScript writes null for some unset fields)
            return view._default(self)
        problem = self.problem(value)
        if problem is not None:
            raise StoryFileError(problem, field=view._at(self.key))
        result: _T = value
        return result

    def __set__(self, view: _View, value: _T) -> None:
        problem = self.problem(value)
        if problem is not None:
            raise StoryFileError(problem, field=view._at(self.key))
        view._write()[self.key] = value
        view._touch()


def _noop() -> None:
    pass


class _View:
    """A window onto one JSON object inside story content.

    The object may not exist yet (a story without a lorebook, an entry without `contextConfig`): it reads as all
    defaults and is created, in its parent, on the first write.
    """

    __slots__ = ("_data", "_key", "_on_write", "_parent", "_where")
    _fields: ClassVar[tuple[_Field[Any], ...]] = ()

    def __init__(
        self,
        data: dict[str, Any] | None,
        *,
        parent: dict[str, Any] | None = None,
        key: str | None = None,
        where: str = "",
        on_write: Callable[[], None] | None = None,
    ) -> None:
        self._data = data
        self._parent = parent
        self._key = key
        self._where = where
        self._on_write = on_write if on_write is not None else _noop

    # -- plumbing shared with the fields --------------------------------------------------------------------------

    def _read(self) -> dict[str, Any] | None:
        if self._data is None and self._parent is not None and self._key is not None:
            found = self._parent.get(self._key)
            if found is not None and not isinstance(found, dict):
                raise StoryFileError(f"must be an object, not {_kind(found)}", field=self._where)
            self._data = found
        return self._data

    def _write(self) -> dict[str, Any]:
        data = self._read()
        if data is None:
            if self._parent is None or self._key is None:  # pragma: no cover - every view has data or a parent
                raise StoryFileError("this view has no data to write to", field=self._where)
            data = self._data = {}
            self._parent[self._key] = data
        return data

    def _touch(self) -> None:
        self._on_write()

    def _default(self, field: _Field[_T]) -> _T:
        # Mutable defaults (an empty list) are copies, so that appending to them cannot change the class.
        return copy.copy(field.default)

    def _at(self, key: str | int) -> str:
        step = f"[{key}]" if isinstance(key, int) else key
        if not self._where:
            return str(step)
        return f"{self._where}{step}" if isinstance(key, int) else f"{self._where}.{step}"

    def _child(self, cls: type[_V], key: str, **extra: Any) -> _V:
        # Through a stand-in parent: when this object does not exist yet either, the child's first write creates
        # both.
        parent = _LazyParent(self)
        return cls(None, parent=parent, key=key, where=self._at(key), on_write=self._on_write, **extra)

    def _items(self, cls: type[_V], key: str, **extra: Any) -> list[_V]:
        data = self._read()
        items = None if data is None else data.get(key)
        if items is None:
            return []
        if not isinstance(items, list):
            raise StoryFileError(f"must be an array, not {_kind(items)}", field=self._at(key))
        views = []
        for index, item in enumerate(items):
            where = f"{self._at(key)}[{index}]"
            if not isinstance(item, dict):
                raise StoryFileError(f"must be an object, not {_kind(item)}", field=where)
            views.append(cls(item, where=where, on_write=self._on_write, **extra))
        return views

    def _list_for_append(self, key: str) -> list[Any]:
        data = self._write()
        items = data.setdefault(key, [])
        if not isinstance(items, list):
            raise StoryFileError(f"must be an array, not {_kind(items)}", field=self._at(key))
        return items

    # -- public --------------------------------------------------------------------------------------------------

    @property
    def data(self) -> dict[str, Any] | None:
        """The underlying JSON object (None while it does not exist yet): edits to it are edits to the story."""
        return self._read()

    @classmethod
    def check(cls, data: object, where: str = "") -> None:
        """Check that `data` can be read through this view: every known field present has the right type.

        Raises:
            StoryFileError: naming the first field that is wrong.
        """
        if not isinstance(data, dict):
            raise StoryFileError(f"must be an object, not {_kind(data)}", field=where)
        for field in cls._fields:
            if data.get(field.key) is not None:
                problem = field.problem(data[field.key])
                if problem is not None:
                    raise StoryFileError(problem, field=f"{where}.{field.key}" if where else field.key)
        cls._check_children(data, where)

    @classmethod
    def _check_children(cls, data: dict[str, Any], where: str) -> None:
        """Check nested objects (overridden by views that have some)."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{field.key}={getattr(self, _attr_name(type(self), field))!r}" for field in self._fields[:4])
        return f"{type(self).__name__}({shown})"


def _attr_name(cls: type[_View], field: _Field[Any]) -> str:
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if value is field:
                return name
    return field.key  # pragma: no cover - every field is a class attribute


class _LazyParent(dict[str, Any]):
    """Stands in for a parent object that does not exist yet: writing a key creates the parent first."""

    def __init__(self, owner: _View) -> None:
        super().__init__()
        self._owner = owner

    def get(self, key: str, default: Any = None) -> Any:
        data = self._owner._read()
        return default if data is None else data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._owner._write()[key] = value


def _check_list(data: dict[str, Any], key: str, where: str, cls: type[_View]) -> None:
    items = data.get(key)
    if items is None:
        return
    path = f"{where}.{key}" if where else key
    if not isinstance(items, list):
        raise StoryFileError(f"must be an array, not {_kind(items)}", field=path)
    for index, item in enumerate(items):
        cls.check(item, f"{path}[{index}]")


def _check_child(data: dict[str, Any], key: str, where: str, cls: type[_View]) -> None:
    if data.get(key) is not None:
        cls.check(data[key], f"{where}.{key}" if where else key)


# --- context settings -----------------------------------------------------------------------------------------


class ContextConfig(_View):
    """Where and how a piece of text goes into the context (`contextConfig`): budget, position, trimming.

    A missing field reads as the default of the kind of entry it belongs to (memory, author's note, lore entry,
    story, ephemeral entry). `token_budget` and `reserved_tokens` of 1 or less are a share of the context (as the
    web client's percentage sliders store them); larger values are token counts.
    """

    __slots__ = ("_defaults_map",)

    prefix = _Field("prefix", _is_str, "a string", "")
    suffix = _Field("suffix", _is_str, "a string", "\n")
    token_budget = _Field[float]("tokenBudget", _is_number, "a number", 1)
    reserved_tokens = _Field[float]("reservedTokens", _is_number, "a number", 0)
    budget_priority = _Field[float]("budgetPriority", _is_number, "a number", 400)
    trim_direction = _Field("trimDirection", _is_str, "a string", "trimBottom", choices=TRIM_DIRECTIONS)
    insertion_type = _Field("insertionType", _is_str, "a string", "newline", choices=SEPARATION_TYPES)
    maximum_trim_type = _Field("maximumTrimType", _is_str, "a string", "sentence", choices=SEPARATION_TYPES)
    insertion_position = _Field[int]("insertionPosition", _is_int, "an integer", -1)

    def __init__(
        self, data: dict[str, Any] | None, *, defaults: Mapping[str, Any] = LORE_DEFAULTS, **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        self._defaults_map = defaults

    def _default(self, field: _Field[_T]) -> _T:
        if field.key in self._defaults_map:
            value: _T = self._defaults_map[field.key]
            return value
        return super()._default(field)

    def resolved(self) -> dict[str, Any]:
        """Every setting, the defaults filled in, as a new dict keyed as in the JSON.

        Raises:
            StoryFileError: a stored setting has the wrong type.
        """
        data = self._read() or {}
        result = {}
        for field in self._fields:
            # The fields' own checks, without a descriptor call each (context building reads hundreds of these).
            value = data.get(field.key)
            if value is not None:
                problem = field.problem(value)
                if problem is not None:
                    raise StoryFileError(problem, field=self._at(field.key))
                result[field.key] = value
            else:
                result[field.key] = self._default(field)
        return result


class ContextEntry(_View):
    """A piece of text with its context settings: the memory, the author's note (`context[0]`, `context[1]`)."""

    __slots__ = ("_config_defaults",)

    text = _Field("text", _is_str, "a string", "")

    def __init__(
        self, data: dict[str, Any] | None, *, defaults: Mapping[str, Any] = MEMORY_DEFAULTS, **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        self._config_defaults = defaults

    @property
    def context_config(self) -> ContextConfig:
        """Its context settings."""
        return self._child(ContextConfig, "contextConfig", defaults=self._config_defaults)

    @classmethod
    def _check_children(cls, data: dict[str, Any], where: str) -> None:
        _check_child(data, "contextConfig", where, ContextConfig)


class EphemeralEntry(ContextEntry):
    """An ephemeral context entry: text that enters the context for some steps of the story only.

    Attributes follow the web client's stored form; how it counts steps is described in `docs/stories.md`.
    """

    __slots__ = ()

    starting_step = _Field[int]("startingStep", _is_int, "an integer", 0)
    delay = _Field[int]("delay", _is_int, "an integer", 0)
    duration = _Field[int]("duration", _is_int, "an integer", 1)
    repeat = _Field("repeat", _is_bool, "a boolean", False)
    reverse = _Field("reverse", _is_bool, "a boolean", False)

    def __init__(self, data: dict[str, Any] | None, **kwargs: Any) -> None:
        kwargs.setdefault("defaults", EPHEMERAL_DEFAULTS)
        super().__init__(data, **kwargs)

    def active_at(self, step: int) -> bool:
        """Whether the entry is in the context at story step `step`.

        The rule (the web client's own is not publicly described, see `docs/stories.md`): in from step
        `starting_step + delay` for `duration` steps; with `repeat`, that window comes back every `delay` steps
        (every `duration` steps when `delay` is 0). `reverse` is not interpreted.
        """
        start = self.starting_step + self.delay
        if step < start:
            return False
        duration = max(0, self.duration)
        if not self.repeat:
            return step < start + duration
        period = self.delay if self.delay > 0 else duration
        return period > 0 and (step - start) % period < duration


# --- phrase bias and bans ---------------------------------------------------------------------------------------


class PhraseBiasGroup(_View):
    """A phrase bias group (`phraseBiasGroups[i]`, or a lore entry's or category's bias groups)."""

    __slots__ = ()

    phrases = _Field[list[Any]]("phrases", _is_list, "an array", [])
    bias = _Field[float]("bias", _is_number, "a number", 0)
    ensure_sequence_finish = _Field("ensureSequenceFinish", _is_bool, "a boolean", False)
    generate_once = _Field("generateOnce", _is_bool, "a boolean", False)
    enabled = _Field("enabled", _is_bool, "a boolean", True)
    when_inactive = _Field("whenInactive", _is_bool, "a boolean", False)

    def _default(self, field: _Field[_T]) -> _T:
        # Older data spells the flags in snake_case (`ensure_sequence_finish`, `generate_once`).
        data = self._read()
        snake = {"ensureSequenceFinish": "ensure_sequence_finish", "generateOnce": "generate_once"}.get(field.key)
        if data is not None and snake is not None and isinstance(data.get(snake), bool):
            value: _T = data[snake]
            return value
        return super()._default(field)

    def to_bias_group(self) -> BiasGroup:
        """The group as a `nai_sdk.presets.BiasGroup` for a generation request.

        Raises:
            PresetError: a phrase is malformed.
        """
        from nai_sdk.presets import BiasGroup

        return BiasGroup(
            self.bias,
            *self.phrases,
            ensure_sequence_finish=self.ensure_sequence_finish,
            generate_once=self.generate_once,
            enabled=self.enabled,
        )


class BannedSequenceGroup(_View):
    """A group of banned sequences (`bannedSequenceGroups[i]`)."""

    __slots__ = ()

    sequences = _Field[list[Any]]("sequences", _is_list, "an array", [])
    enabled = _Field("enabled", _is_bool, "a boolean", True)

    def to_ban_list(self) -> BanList:
        """The group as a `nai_sdk.presets.BanList`.

        Raises:
            PresetError: a sequence is malformed.
        """
        from nai_sdk.presets import BanList

        return BanList(*self.sequences, enabled=self.enabled)


# --- lorebook -------------------------------------------------------------------------------------------------


def new_entry_id() -> str:
    """A fresh lore entry or category id: a random UUID, as the web client gives them."""
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{'89ab'[secrets.randbelow(4)]}{raw[17:20]}-{raw[20:32]}"


class LorebookEntry(ContextEntry):
    """One lore entry: its text, activation keys and context settings."""

    __slots__ = ()

    display_name = _Field("displayName", _is_str, "a string", "")
    keys = _Field[list[str]]("keys", _is_str_list, "an array of strings", [])
    search_range = _Field[int]("searchRange", _is_int, "an integer", 1000)
    enabled = _Field("enabled", _is_bool, "a boolean", True)
    force_activation = _Field("forceActivation", _is_bool, "a boolean", False)
    key_relative = _Field("keyRelative", _is_bool, "a boolean", False)
    non_story_activatable = _Field("nonStoryActivatable", _is_bool, "a boolean", False)
    category = _Field("category", _is_str, "a string", "")
    id = _Field("id", _is_str, "a string", "")
    last_updated_at = _Field[float]("lastUpdatedAt", _is_number, "a number", 0)

    def __init__(self, data: dict[str, Any] | None, **kwargs: Any) -> None:
        kwargs.setdefault("defaults", LORE_DEFAULTS)
        super().__init__(data, **kwargs)

    @property
    def lore_bias_groups(self) -> list[PhraseBiasGroup]:
        """The phrase bias groups active while the entry is (or, `when_inactive`, is not) in the context."""
        return self._items(PhraseBiasGroup, "loreBiasGroups")

    @classmethod
    def _check_children(cls, data: dict[str, Any], where: str) -> None:
        super()._check_children(data, where)
        _check_list(data, "loreBiasGroups", where, PhraseBiasGroup)


class Category(_View):
    """A lorebook category: a name, a switch for all its entries, and optionally a sub-context."""

    __slots__ = ()

    id = _Field("id", _is_str, "a string", "")
    name = _Field("name", _is_str, "a string", "")
    enabled = _Field("enabled", _is_bool, "a boolean", True)
    create_subcontext = _Field("createSubcontext", _is_bool, "a boolean", False)
    use_category_defaults = _Field("useCategoryDefaults", _is_bool, "a boolean", False)

    @property
    def subcontext_settings(self) -> LorebookEntry:
        """The sub-context's settings, as an entry (its `context_config` places the sub-context)."""
        return self._child(LorebookEntry, "subcontextSettings")

    @property
    def category_defaults(self) -> LorebookEntry:
        """The settings new entries of the category start with (the web client's editor uses them)."""
        return self._child(LorebookEntry, "categoryDefaults")

    @property
    def category_bias_groups(self) -> list[PhraseBiasGroup]:
        """Phrase bias groups of the whole category."""
        return self._items(PhraseBiasGroup, "categoryBiasGroups")

    @classmethod
    def _check_children(cls, data: dict[str, Any], where: str) -> None:
        _check_child(data, "subcontextSettings", where, LorebookEntry)
        _check_child(data, "categoryDefaults", where, LorebookEntry)
        _check_list(data, "categoryBiasGroups", where, PhraseBiasGroup)


class _LorebookSettings(_View):
    __slots__ = ()

    order_by_key_locations = _Field("orderByKeyLocations", _is_bool, "a boolean", False)


class Lorebook(_View):
    """A lorebook: entries, categories and settings (a story's `lorebook`, or a whole `.lorebook` file)."""

    __slots__ = ()

    version = _Field[int]("lorebookVersion", _is_int, "an integer", 6)

    @property
    def entries(self) -> list[LorebookEntry]:
        """The entries, in stored order (views: edit them in place)."""
        return self._items(LorebookEntry, "entries")

    @property
    def categories(self) -> list[Category]:
        """The categories, in stored order."""
        return self._items(Category, "categories")

    @property
    def order_by_key_locations(self) -> bool:
        """Break ties of insertion order by where the keys were found (later matches first)."""
        return self._child(_LorebookSettings, "settings").order_by_key_locations

    @order_by_key_locations.setter
    def order_by_key_locations(self, value: bool) -> None:
        self._child(_LorebookSettings, "settings").order_by_key_locations = value

    def entry(self, entry_id: str) -> LorebookEntry | None:
        """The entry with this id, or None."""
        return next((entry for entry in self.entries if entry.id == entry_id), None)

    def category(self, category_id: str) -> Category | None:
        """The category with this id, or None."""
        return next((category for category in self.categories if category.id == category_id), None)

    def __iter__(self) -> Iterator[LorebookEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def add_entry(
        self,
        text: str,
        keys: list[str] | tuple[str, ...] = (),
        *,
        display_name: str | None = None,
        category: str = "",
        force_activation: bool = False,
        **fields: Any,
    ) -> LorebookEntry:
        """Append a new entry and return its view.

        Args:
            text: the entry's text.
            keys: its activation keys (`/regex/flags` for a regular expression).
            display_name: its title (by default, the first key, as the web client names new entries).
            category: the id of its category.
            force_activation: always in the context.
            **fields: more JSON fields to store as they are (`searchRange=2000`, `contextConfig={...}`).

        Raises:
            StoryFileError: a value has the wrong type.
        """
        data: dict[str, Any] = {
            "text": text,
            "contextConfig": dict(LORE_DEFAULTS),
            "lastUpdatedAt": int(time.time() * 1000),
            "displayName": display_name if display_name is not None else (keys[0] if keys else "New Lorebook Entry"),
            "id": new_entry_id(),
            "keys": list(keys),
            "searchRange": 1000,
            "enabled": True,
            "forceActivation": force_activation,
            "keyRelative": False,
            "nonStoryActivatable": False,
            "category": category,
            "loreBiasGroups": [],
        }
        data.update(fields)
        LorebookEntry.check(data, "entry")
        entries = self._list_for_append("entries")
        entries.append(data)
        self._touch()
        return LorebookEntry(data, where=f"{self._at('entries')}[{len(entries) - 1}]", on_write=self._on_write)

    def remove_entry(self, entry: LorebookEntry | str) -> None:
        """Remove an entry (a view, or its id).

        Raises:
            KeyError: no such entry.
        """
        entries = self._list_for_append("entries")
        for index, item in enumerate(entries):
            if (isinstance(entry, str) and isinstance(item, dict) and item.get("id") == entry) or (
                isinstance(entry, LorebookEntry) and item is entry.data
            ):
                del entries[index]
                self._touch()
                return
        raise KeyError(entry if isinstance(entry, str) else entry.id)

    def add_category(self, name: str, *, enabled: bool = True, **fields: Any) -> Category:
        """Append a new category and return its view (its `id` goes into entries' `category`)."""
        data: dict[str, Any] = {
            "name": name,
            "id": new_entry_id(),
            "enabled": enabled,
            "createSubcontext": False,
            "subcontextSettings": {"text": "", "contextConfig": dict(LORE_DEFAULTS), "keys": [], "enabled": True},
            "useCategoryDefaults": False,
            "categoryDefaults": {"text": "", "contextConfig": dict(LORE_DEFAULTS), "keys": [], "enabled": True},
            "categoryBiasGroups": [],
        }
        data.update(fields)
        Category.check(data, "category")
        categories = self._list_for_append("categories")
        categories.append(data)
        self._touch()
        return Category(data, where=f"{self._at('categories')}[{len(categories) - 1}]", on_write=self._on_write)

    @classmethod
    def _check_children(cls, data: dict[str, Any], where: str) -> None:
        _check_list(data, "entries", where, LorebookEntry)
        _check_list(data, "categories", where, Category)
        _check_child(data, "settings", where, _LorebookSettings)


# --- story content ----------------------------------------------------------------------------------------------


class StorySettings(_View):
    """The `settings` of story content: the model, the AI module (`prefix`), the preset and its parameters."""

    __slots__ = ()

    model = _Field("model", _is_str, "a string", "")
    prefix = _Field("prefix", _is_str, "a string", "vanilla")
    preset = _Field("preset", _is_str, "a string", "")
    parameters = _Field[dict[str, Any]]("parameters", _is_dict, "an object", {})


class StoryContent(_View):
    """The content of a story (`storycontent` data, or a `.story` file's `content`), typed.

    Build it with `StoryContent.of(obj)` for a `storycontent` `UserObject` (edits then mark the object modified),
    or `StoryContent(data)` for a plain dict.
    """

    __slots__ = ()

    version = _Field[int]("storyContentVersion", _is_int, "an integer", 6)
    document = _Field[str]("document", _is_str, "a string", "")

    @classmethod
    def of(cls, obj: UserObject) -> StoryContent:
        """The view over a `storycontent` object's data; every write marks the object modified.

        Raises:
            ObjectFormatError: the object could not be read.
        """
        data = obj._readable_data()
        return cls(data, on_write=obj.mark_modified)

    @property
    def memory(self) -> ContextEntry:
        """The memory (`context[0]`)."""
        return self._context_entry(0, MEMORY_DEFAULTS)

    @property
    def authors_note(self) -> ContextEntry:
        """The author's note (`context[1]`)."""
        return self._context_entry(1, AUTHORS_NOTE_DEFAULTS)

    def _context_entry(self, index: int, defaults: Mapping[str, Any]) -> ContextEntry:
        data = self._read()
        context = None if data is None else data.get("context")
        if context is not None and not isinstance(context, list):
            raise StoryFileError(f"must be an array, not {_kind(context)}", field=self._at("context"))
        item = context[index] if context is not None and index < len(context) else None
        where = f"{self._at('context')}[{index}]"
        if item is not None and not isinstance(item, dict):
            raise StoryFileError(f"must be an object, not {_kind(item)}", field=where)
        return ContextEntry(
            item, parent=_ContextSlot(self, index), key="slot", where=where, defaults=defaults, on_write=self._on_write
        )

    @property
    def story_context_config(self) -> ContextConfig:
        """The story text's own context settings (`storyContextConfig`)."""
        return self._child(ContextConfig, "storyContextConfig", defaults=STORY_DEFAULTS)

    @property
    def lorebook(self) -> Lorebook:
        """The lorebook."""
        return self._child(Lorebook, "lorebook")

    @property
    def ephemeral_context(self) -> list[EphemeralEntry]:
        """The ephemeral context entries."""
        return self._items(EphemeralEntry, "ephemeralContext")

    @property
    def phrase_bias_groups(self) -> list[PhraseBiasGroup]:
        """The story's phrase bias groups."""
        return self._items(PhraseBiasGroup, "phraseBiasGroups")

    @property
    def banned_sequence_groups(self) -> list[BannedSequenceGroup]:
        """The story's banned sequences."""
        return self._items(BannedSequenceGroup, "bannedSequenceGroups")

    @property
    def settings(self) -> StorySettings:
        """The story's generation settings: `model`, `prefix` (the module), `preset`, `parameters`."""
        return self._child(StorySettings, "settings")

    @property
    def eos_sequences(self) -> list[Any]:
        """The story's stop sequences (`eosSequences`), as stored."""
        data = self._read()
        value = None if data is None else data.get("eosSequences")
        if value is None:
            return []
        if not isinstance(value, list):
            raise StoryFileError(f"must be an array, not {_kind(value)}", field=self._at("eosSequences"))
        return value

    @property
    def text(self) -> str:
        """The story's text: its document's sections in order, or its older fragments (see `story_text`)."""
        data = self._read()
        return "" if data is None else story_text(data, where=self._where)

    @classmethod
    def _check_children(cls, data: dict[str, Any], where: str) -> None:
        context = data.get("context")
        if context is not None:
            path = f"{where}.context" if where else "context"
            if not isinstance(context, list):
                raise StoryFileError(f"must be an array, not {_kind(context)}", field=path)
            for index, item in enumerate(context):
                ContextEntry.check(item, f"{path}[{index}]")
        _check_child(data, "storyContextConfig", where, ContextConfig)
        _check_child(data, "lorebook", where, Lorebook)
        _check_list(data, "ephemeralContext", where, EphemeralEntry)
        _check_list(data, "phraseBiasGroups", where, PhraseBiasGroup)
        _check_list(data, "bannedSequenceGroups", where, BannedSequenceGroup)
        _check_child(data, "settings", where, StorySettings)
        story = data.get("story")
        if story is not None and not isinstance(story, dict):
            raise StoryFileError(f"must be an object, not {_kind(story)}", field=f"{where}.story" if where else "story")


class _ContextSlot(dict[str, Any]):
    """`context[index]` as the parent of a `ContextEntry`: created (with the entries before it) on first write."""

    def __init__(self, content: StoryContent, index: int) -> None:
        super().__init__()
        self._content = content
        self._index = index

    def get(self, key: str, default: Any = None) -> Any:
        data = self._content._read()
        context = None if data is None else data.get("context")
        if isinstance(context, list) and self._index < len(context):
            return context[self._index]
        return default

    def __setitem__(self, key: str, value: Any) -> None:
        context = self._content._list_for_append("context")
        while len(context) <= self._index:
            defaults = MEMORY_DEFAULTS if len(context) == 0 else AUTHORS_NOTE_DEFAULTS
            context.append({"text": "", "contextConfig": dict(defaults)})
        if isinstance(value, dict) and not value:
            defaults = MEMORY_DEFAULTS if self._index == 0 else AUTHORS_NOTE_DEFAULTS
            value.update(text="", contextConfig=dict(defaults))
        context[self._index] = value


def _document_text(document: str, where: str) -> str | None:
    """The text of a msgpackr story document: its sections' `text`, in `order`, one line each; None if its shape
    is not the one public importers describe (`{sections: Map<id, section>, order: [id, ...]}`)."""
    from nai_sdk.errors import DocumentError

    try:
        return _decoded_text(document)
    except DocumentError as exc:
        raise StoryFileError(f"the document cannot be decoded: {exc}", field=where) from exc


@functools.lru_cache(maxsize=4)
def _decoded_text(document: str) -> str | None:
    # Cached: building a story's context again (every generation) need not decode its document again; a few
    # documents of a few MB at most are kept. Keyed by the document's text, so an edit is never served stale.
    from nai_sdk.content._document import JSMap, NaiExt, decode_document

    value = decode_document(document).root
    if isinstance(value, NaiExt):
        value = value.value
    if not isinstance(value, dict):
        return None
    sections, order = value.get("sections"), value.get("order")
    if not isinstance(sections, JSMap | dict) or not isinstance(order, list):
        return None
    lines = []
    for section_id in order:
        try:
            section = sections.get(section_id)
        except TypeError:  # an unhashable id
            section = None
        if isinstance(section, NaiExt):
            section = section.value
        text = section.get("text") if isinstance(section, dict) else None
        if isinstance(text, str):
            lines.append(text)
    return "\n".join(lines)


def story_text(content: Mapping[str, Any], *, where: str = "") -> str:
    """The text of a story's content.

    Newer content holds a msgpackr `document` (`nai_sdk.content.decode_document`) whose sections, joined by
    newlines in their `order`, are the text (the shape described by public importers that read NovelAI's
    documents); older content holds `story.fragments` (their `data`, joined as they are), and the oldest
    `story.text`.

    Raises:
        StoryFileError: the document cannot be decoded, or `story` is malformed.
    """
    document = content.get("document")
    at = f"{where}.document" if where else "document"
    if isinstance(document, str) and document:
        text = _document_text(document, at)
        if text is not None:
            return text
    story = content.get("story")
    if isinstance(story, dict):
        fragments = story.get("fragments")
        if isinstance(fragments, list):
            parts = []
            for index, fragment in enumerate(fragments):
                data = fragment.get("data") if isinstance(fragment, dict) else None
                if not isinstance(data, str):
                    path = f"{where}.story.fragments[{index}].data" if where else f"story.fragments[{index}].data"
                    raise StoryFileError(f"must be a string, not {_kind(data)}", field=path)
                parts.append(data)
            return "".join(parts)
        text = story.get("text")
        if isinstance(text, str):
            return text
    return ""

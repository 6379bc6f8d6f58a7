"""NovelAI's story files: `.story`, `.scenario` and `.lorebook`, read and written without loss. Pure: no HTTP.

The three formats are JSON (docs/stories.md describes each field this SDK reads):

* `.story`: `{"storyContainerVersion": 1, "metadata": <the stories object's data>, "content": <the storycontent
  object's data>}`;
* `.scenario`: a story template: `scenarioVersion`, `title`, `description`, `prompt`, `tags`, `placeholders`,
  `context` (memory and author's note), `ephemeralContext`, `settings`, `lorebook` (nested), `storyContextConfig`,
  `contextDefaults`, `phraseBiasGroups`, `bannedSequenceGroups`, `eosSequences`, `author`;
* `.lorebook`: `lorebookVersion`, `entries`, `settings`, `categories`.

Public descriptions of these formats, which this module follows (none of their code is used): the file types of
NovelAI's documentation (https://docs.novelai.net/text/lorebook.html), the structs of
wbrown/novelai-research-tool (`scenario/scenario.go`: scenario, lorebook, placeholders), the types of
TaleirOfDeynai/nai-context-userscript (`src/naiModules/Lorebook.d.ts`), and importers that sniff the three kinds by
their version fields. Versions accepted are those these sources show: `storyContainerVersion` 1,
`storyMetadataVersion` 1, `storyContentVersion` 1 to 6, `scenarioVersion` 0 to 3, `lorebookVersion` 1 to 6.

Reading keeps the parsed JSON as it is: fields this SDK does not know, key order, and the story's msgpackr
`document` (an opaque string here) all survive a round trip. What is checked is what the SDK reads: a missing or
unknown version, or a known field of the wrong JSON type, is a `StoryFileError` naming the field and the file, so a
file from another program (a SillyTavern world book, a chat export) is refused before anything uses it.
"""

from __future__ import annotations

import copy
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

import attrs

from nai_sdk._json import dumps_compact, loads_strict
from nai_sdk.content._views import Lorebook, StoryContent, _kind, new_entry_id
from nai_sdk.errors import FormatError, StoryFileError

if TYPE_CHECKING:
    from nai_sdk.content._objects import UserObject

__all__ = [
    "LOREBOOK_VERSIONS",
    "MAX_FILE_SIZE",
    "SCENARIO_VERSIONS",
    "STORY_CONTAINER_VERSIONS",
    "STORY_CONTENT_VERSIONS",
    "AnyStoryFile",
    "LorebookFile",
    "Placeholder",
    "ScenarioFile",
    "StoryFile",
    "fill_placeholders",
    "find_placeholders",
    "loads",
    "read_file",
    "read_lorebook",
    "read_scenario",
    "read_story",
]

STORY_CONTAINER_VERSIONS: Final = (1,)
STORY_METADATA_VERSIONS: Final = (1,)
STORY_CONTENT_VERSIONS: Final = tuple(range(1, 7))
SCENARIO_VERSIONS: Final = tuple(range(0, 4))
LOREBOOK_VERSIONS: Final = tuple(range(1, 7))

#: The largest file read (a story's document can be tens of megabytes; nothing real comes near this).
MAX_FILE_SIZE: Final = 256 * 1024 * 1024

#: The storycontent version a scenario's story is written with (the newest public sources show).
_NEW_CONTENT_VERSION: Final = 6


class _ParseError(StoryFileError):
    """Internal: `loads_strict` wants a FormatError class that takes one message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _version(data: dict[str, Any], key: str, known: tuple[int, ...], where: str, *, required: bool = True) -> None:
    field = f"{where}.{key}" if where else key
    value = data.get(key)
    if value is None:  # absent or null
        if required:
            raise StoryFileError("is missing", field=field)
        return
    if type(value) is not int or value not in known:
        shown = ", ".join(map(str, known))
        raise StoryFileError(f"must be one of the versions this SDK reads ({shown}), not {_kind(value)}", field=field)


def _object(data: dict[str, Any], key: str, where: str = "", *, required: bool = True) -> dict[str, Any] | None:
    field = f"{where}.{key}" if where else key
    value = data.get(key)
    if value is None:
        if required:
            raise StoryFileError("is missing", field=field)
        return None
    if not isinstance(value, dict):
        raise StoryFileError(f"must be an object, not {_kind(value)}", field=field)
    return value


def _string(data: dict[str, Any], key: str, where: str = "", *, required: bool = False) -> None:
    field = f"{where}.{key}" if where else key
    if data.get(key) is None:  # absent or null
        if required:
            raise StoryFileError("is missing", field=field)
        return
    if not isinstance(data[key], str):
        raise StoryFileError(f"must be a string, not {_kind(data[key])}", field=field)


def _strings(data: dict[str, Any], key: str, where: str = "") -> None:
    value = data.get(key)
    field = f"{where}.{key}" if where else key
    if value is None:
        return
    if not isinstance(value, list):
        raise StoryFileError(f"must be an array, not {_kind(value)}", field=field)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise StoryFileError(f"must be a string, not {_kind(item)}", field=f"{field}[{index}]")


def _with_path(check: Callable[[], None], path: str | None) -> None:
    """Run a check, naming the file in its error."""
    try:
        check()
    except StoryFileError as exc:
        if path is None or exc.path is not None:
            raise
        raise StoryFileError(_message(exc), field=exc.field, path=path) from None


def _message(exc: StoryFileError) -> str:
    text = str(exc)
    prefix = f"{exc.field}: " if exc.field else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def _dumps(data: dict[str, Any]) -> bytes:
    return dumps_compact(data, StoryFileError)


def _write(path: str | os.PathLike[str], content: bytes) -> None:
    from nai_sdk._files import write_private

    write_private(Path(path), content)


# --- .story -----------------------------------------------------------------------------------------------------


def _check_content(content: dict[str, Any], where: str) -> None:
    _version(content, "storyContentVersion", STORY_CONTENT_VERSIONS, where, required=False)
    _string(content, "document", where)
    StoryContent.check(content, where)


@attrs.define(eq=False)
class StoryFile:
    """A `.story` file: a story's metadata and content, as NovelAI stores them.

    Attributes:
        data: the whole parsed file (`storyContainerVersion`, `metadata`, `content`, and anything else it had).
        path: the file it was read from, if any (for messages).
    """

    data: dict[str, Any]
    path: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _with_path(lambda: self.check(self.data), self.path)

    @staticmethod
    def check(data: object) -> None:
        """Check that `data` is a `.story` container this SDK reads.

        Raises:
            StoryFileError: naming the first field that is missing, of an unknown version, or of the wrong type.
        """
        if not isinstance(data, dict):
            raise StoryFileError(f"a .story file must hold a JSON object, not {_kind(data)}")
        _version(data, "storyContainerVersion", STORY_CONTAINER_VERSIONS, "")
        metadata = _object(data, "metadata")
        content = _object(data, "content")
        assert metadata is not None and content is not None
        _version(metadata, "storyMetadataVersion", STORY_METADATA_VERSIONS, "metadata", required=False)
        for key in ("title", "description", "textPreview", "id", "remoteStoryId"):
            _string(metadata, key, "metadata")
        _strings(metadata, "tags", "metadata")
        _check_content(content, "content")

    @classmethod
    def new(cls, title: str, text: str = "", *, content: Mapping[str, Any] | None = None) -> StoryFile:
        """A new story file holding `text` (in the fragments form `storage.create_story` also writes)."""
        now = int(time.time() * 1000)
        body: dict[str, Any] = {"storyContentVersion": _NEW_CONTENT_VERSION, "story": {"fragments": [{"data": text}]}}
        body.update(copy.deepcopy(dict(content or {})))
        metadata = {"storyMetadataVersion": 1, "id": new_entry_id(), "title": title, "createdAt": now}
        return cls({"storyContainerVersion": 1, "metadata": metadata, "content": body})

    @classmethod
    def from_objects(cls, story: UserObject, content: UserObject) -> StoryFile:
        """The file of a story read from the account (copies: editing the file leaves the objects alone).

        Raises:
            ObjectFormatError: an object could not be read.
            StoryFileError: their data is not a story this SDK reads.
        """
        return cls(_container(story, content, copy.deepcopy))

    @property
    def metadata(self) -> dict[str, Any]:
        """The `stories` object's data: title, description, tags, ..."""
        value: dict[str, Any] = self.data["metadata"]
        return value

    @property
    def content(self) -> dict[str, Any]:
        """The `storycontent` object's data: document, lorebook, context, settings, ..."""
        value: dict[str, Any] = self.data["content"]
        return value

    @property
    def title(self) -> str:
        """The story's title ("" when it has none)."""
        title = self.metadata.get("title")
        return title if isinstance(title, str) else ""

    @property
    def story_content(self) -> StoryContent:
        """The typed view over `content`: memory, author's note, lorebook, settings, text."""
        return StoryContent(self.content, where="content")

    @property
    def lorebook(self) -> Lorebook:
        """The story's lorebook."""
        return self.story_content.lorebook

    def to_bytes(self) -> bytes:
        """The file's JSON, compact, as NovelAI's client writes it (UTF-8)."""
        return _dumps(self.data)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the file: mode 0600, atomically (a reader sees the old file or the new one)."""
        _write(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoryFile) and self.data == other.data

    def __repr__(self) -> str:
        return f"StoryFile(title={self.title!r}, path={self.path!r})"


def _container(story: UserObject, content: UserObject, copier: Callable[[Any], Any]) -> dict[str, Any]:
    return {
        "storyContainerVersion": 1,
        "metadata": copier(story._readable_data()),
        "content": copier(content._readable_data()),
    }


def story_bytes(story: UserObject, content: UserObject) -> bytes:
    """The `.story` file of two objects, serialised straight from their data (no copy, for export).

    Raises:
        ObjectFormatError: an object could not be read.
        StoryFileError: their data is not a story this SDK reads.
    """
    data = _container(story, content, lambda value: value)
    StoryFile.check(data)
    return _dumps(data)


# --- placeholders -----------------------------------------------------------------------------------------------

# `${name}`: a use. `${2#name[default]:description:long description}`: a definition, which also uses it. The
# syntax is NovelAI's (its documentation's scenario placeholders; novelai-research-tool's scenario.go reads the
# same shapes); the characters a key may not hold (`: @ [ ] ^ { | }`) are those public scenario tools exclude.
_KEY: Final = r"[^:@\[\]^{|}\n]+"
_PART: Final = r"[^:@\[\]^{|}]+"
_DEFINITION = re.compile(rf"\$\{{(?:(\d+)#)?({_KEY})(?:\[({_PART})\])?(?::({_PART}))?(?::({_PART}))?\}}")
_USE = re.compile(rf"\$\{{({_KEY})\}}")
_HEADER = re.compile(r"\A%\{\n?(.*?)\n?\}\n?", re.DOTALL)
_HEADER_LINE = re.compile(rf"^(?:(\d+)#)?({_KEY})(?:\[({_PART})\])?(?::({_PART}))?(?::({_PART}))?$")


@attrs.frozen
class Placeholder:
    """A scenario placeholder: `${key}` in the text, filled in when a story is made from the scenario.

    Attributes:
        key: its name.
        description: the question shown to the user.
        default: the value used when none is given.
        order: where it is asked, among the others (None: after those with an order).
        long_description: more help text.
    """

    key: str
    description: str | None = None
    default: str | None = None
    order: int | None = None
    long_description: str | None = None

    def to_data(self) -> dict[str, Any]:
        """The scenario's JSON form (`placeholders[i]`)."""
        data: dict[str, Any] = {"key": self.key}
        for name, value in (
            ("description", self.description),
            ("defaultValue", self.default),
            ("order", self.order),
            ("longDescription", self.long_description),
        ):
            if value is not None:
                data[name] = value
        return data


def _placeholder(groups: tuple[str | None, ...]) -> Placeholder:
    order, key, default, description, long_description = groups
    return Placeholder(
        key=(key or "").strip(),
        description=description,
        default=default,
        order=int(order) if order else None,
        long_description=long_description.replace("\\n", "\n") if long_description else None,
    )


def _merge(found: dict[str, Placeholder], new: Placeholder) -> None:
    old = found.get(new.key)
    if old is None:
        found[new.key] = new
        return
    # The first definition of each part wins, as a reader of the text top to bottom would expect.
    found[new.key] = Placeholder(
        key=old.key,
        description=old.description if old.description is not None else new.description,
        default=old.default if old.default is not None else new.default,
        order=old.order if old.order is not None else new.order,
        long_description=old.long_description if old.long_description is not None else new.long_description,
    )


def find_placeholders(text: str) -> tuple[str, list[Placeholder]]:
    """The placeholders a text defines or uses, and the text with definitions reduced to plain `${key}` uses.

    A header block `%{` ... `}` at the very start defines one placeholder a line (`2#key[default]:question`) and
    is removed; `${key[default]:question}` in the text defines one where it stands.

    Returns:
        (the text, the placeholders in order of first appearance).
    """
    found: dict[str, Placeholder] = {}
    header = _HEADER.match(text)
    if header is not None:
        for line in header.group(1).split("\n"):
            match = _HEADER_LINE.match(line.strip())
            if match is not None:
                _merge(found, _placeholder(match.groups()))
        text = text[header.end() :]

    def reduce(match: re.Match[str]) -> str:
        placeholder = _placeholder(match.groups())
        _merge(found, placeholder)
        return f"${{{placeholder.key}}}"

    return _DEFINITION.sub(reduce, text), list(found.values())


def fill_placeholders(text: str, values: Mapping[str, str]) -> str:
    """`text` with every `${key}` whose key is in `values` replaced; other uses are left as they are."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1).strip()
        return values[key] if key in values else match.group(0)

    return _USE.sub(fill, text)


def _is_regex_key(key: str) -> bool:
    return len(key) > 2 and key.startswith("/") and re.fullmatch(r"/.+/[a-z]*", key, re.DOTALL) is not None


# --- .scenario ---------------------------------------------------------------------------------------------------


@attrs.define(eq=False)
class ScenarioFile:
    """A `.scenario` file: a story template with a prompt, placeholders, a lorebook and settings.

    Attributes:
        data: the whole parsed file.
        path: the file it was read from, if any.
    """

    data: dict[str, Any]
    path: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _with_path(lambda: self.check(self.data), self.path)

    @staticmethod
    def check(data: object) -> None:
        """Check that `data` is a scenario this SDK reads.

        Raises:
            StoryFileError: naming the first field that is missing, of an unknown version, or of the wrong type.
        """
        if not isinstance(data, dict):
            raise StoryFileError(f"a .scenario file must hold a JSON object, not {_kind(data)}")
        _version(data, "scenarioVersion", SCENARIO_VERSIONS, "")
        _string(data, "prompt", required=True)
        for key in ("title", "description", "author"):
            _string(data, key)
        _strings(data, "tags")
        placeholders = data.get("placeholders")
        if placeholders is not None:
            if not isinstance(placeholders, list):
                raise StoryFileError(f"must be an array, not {_kind(placeholders)}", field="placeholders")
            for index, item in enumerate(placeholders):
                where = f"placeholders[{index}]"
                if not isinstance(item, dict):
                    raise StoryFileError(f"must be an object, not {_kind(item)}", field=where)
                _string(item, "key", where, required=True)
                for key in ("description", "defaultValue", "longDescription"):
                    _string(item, key, where)
        StoryContent.check(data, "")

    @property
    def title(self) -> str:
        """The scenario's title."""
        value = self.data.get("title")
        return value if isinstance(value, str) else ""

    @property
    def prompt(self) -> str:
        """The prompt, as stored (placeholders not filled)."""
        value: str = self.data["prompt"]
        return value

    @property
    def story_content(self) -> StoryContent:
        """A typed view of the scenario's memory, author's note, lorebook and settings (same fields as a story)."""
        return StoryContent(self.data)

    @property
    def lorebook(self) -> Lorebook:
        """The scenario's lorebook."""
        return self.story_content.lorebook

    @property
    def placeholders(self) -> list[Placeholder]:
        """Every placeholder: those listed in `placeholders`, then those defined or used in the texts."""
        found: dict[str, Placeholder] = {}
        for item in self.data.get("placeholders") or []:
            order = item.get("order")
            _merge(
                found,
                Placeholder(
                    key=item["key"],
                    description=item.get("description"),
                    default=item.get("defaultValue"),
                    order=order if type(order) is int else None,
                    long_description=item.get("longDescription"),
                ),
            )
        for text in self._texts():
            for placeholder in find_placeholders(text)[1]:
                _merge(found, placeholder)
        return sorted(found.values(), key=lambda p: (p.order is None, p.order or 0))

    def _texts(self) -> list[str]:
        content = self.story_content
        texts = [self.title, self.data.get("description") or "", self.prompt]
        texts += [content.memory.text, content.authors_note.text]
        texts += [entry.text for entry in content.ephemeral_context]
        for entry in content.lorebook.entries:
            texts += [entry.text, entry.display_name, *(key for key in entry.keys if not _is_regex_key(key))]
        return texts

    def to_story(self, values: Mapping[str, str] | None = None) -> StoryFile:
        """A new story from the scenario, as the web client starts one: placeholders filled in the prompt, memory,
        author's note, ephemeral entries and lore entries (text, title and plain keys).

        Args:
            values: a value per placeholder key; a placeholder without one takes its default, and one without a
                default is left as `${key}`.

        Returns:
            The story (the scenario itself is not changed).
        """
        given = dict(values or {})
        filled = {p.key: given.get(p.key, p.default) for p in self.placeholders}
        filled.update(given)
        replace: dict[str, str] = {key: value for key, value in filled.items() if value is not None}

        def fill(text: str) -> str:
            return fill_placeholders(find_placeholders(text)[0], replace)

        data = copy.deepcopy(self.data)
        content: dict[str, Any] = {"storyContentVersion": _NEW_CONTENT_VERSION}
        for key in (
            "settings",
            "context",
            "ephemeralContext",
            "lorebook",
            "storyContextConfig",
            "contextDefaults",
            "phraseBiasGroups",
            "bannedSequenceGroups",
            "eosSequences",
        ):
            if key in data:
                content[key] = data[key]
        content["story"] = {"fragments": [{"data": fill(self.prompt)}]}
        view = StoryContent(content)
        for entry in (view.memory, view.authors_note, *view.ephemeral_context):
            if entry.data is not None and entry.text:
                entry.text = fill(entry.text)
        for lore in view.lorebook.entries:
            lore.text = fill(lore.text)
            lore.display_name = fill(lore.display_name)
            lore.keys = [key if _is_regex_key(key) else fill(key) for key in lore.keys]
        now = int(time.time() * 1000)
        metadata: dict[str, Any] = {
            "storyMetadataVersion": 1,
            "id": new_entry_id(),
            "title": fill(self.title),
            "description": fill(data.get("description") or ""),
            "tags": list(data.get("tags") or []),
            "createdAt": now,
            "lastUpdatedAt": now,
        }
        return StoryFile({"storyContainerVersion": 1, "metadata": metadata, "content": content})

    def to_bytes(self) -> bytes:
        """The file's JSON, compact (UTF-8)."""
        return _dumps(self.data)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the file: mode 0600, atomically."""
        _write(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScenarioFile) and self.data == other.data

    def __repr__(self) -> str:
        return f"ScenarioFile(title={self.title!r}, path={self.path!r})"


# --- .lorebook ---------------------------------------------------------------------------------------------------


@attrs.define(eq=False)
class LorebookFile:
    """A `.lorebook` file: a lorebook on its own.

    Attributes:
        data: the whole parsed file (`lorebookVersion`, `entries`, `settings`, `categories`, ...).
        path: the file it was read from, if any.
    """

    data: dict[str, Any]
    path: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _with_path(lambda: self.check(self.data), self.path)

    @staticmethod
    def check(data: object) -> None:
        """Check that `data` is a lorebook this SDK reads.

        Raises:
            StoryFileError: naming the first field that is missing, of an unknown version, or of the wrong type.
        """
        if not isinstance(data, dict):
            raise StoryFileError(f"a .lorebook file must hold a JSON object, not {_kind(data)}")
        _version(data, "lorebookVersion", LOREBOOK_VERSIONS, "")
        entries = data.get("entries")
        if not isinstance(entries, list):
            problem = "is missing" if entries is None else f"must be an array, not {_kind(entries)}"
            raise StoryFileError(problem, field="entries")
        Lorebook.check(data, "")

    @classmethod
    def from_lorebook(cls, lorebook: Lorebook | Mapping[str, Any]) -> LorebookFile:
        """A file holding a copy of a lorebook (a story's, say); `lorebookVersion` is set if it had none."""
        source = lorebook.data if isinstance(lorebook, Lorebook) else lorebook
        data = copy.deepcopy(dict(source or {}))
        data.setdefault("lorebookVersion", LOREBOOK_VERSIONS[-1])
        data.setdefault("entries", [])
        return cls(data)

    @property
    def lorebook(self) -> Lorebook:
        """The typed view over the whole file."""
        return Lorebook(self.data)

    def to_bytes(self) -> bytes:
        """The file's JSON, compact (UTF-8)."""
        return _dumps(self.data)

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the file: mode 0600, atomically."""
        _write(path, self.to_bytes())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LorebookFile) and self.data == other.data

    def __repr__(self) -> str:
        return f"LorebookFile(entries={len(self.data.get('entries') or [])}, path={self.path!r})"


# --- reading ----------------------------------------------------------------------------------------------------

AnyStoryFile: TypeAlias = StoryFile | ScenarioFile | LorebookFile
"""What `read_story` returns: a `.story`, `.scenario` or `.lorebook` file, by its content."""

_KINDS: Final[dict[str, type[AnyStoryFile]]] = {
    "storyContainerVersion": StoryFile,
    "scenarioVersion": ScenarioFile,
    "lorebookVersion": LorebookFile,
}
_EXTENSIONS: Final[dict[str, type[AnyStoryFile]]] = {
    ".story": StoryFile,
    ".scenario": ScenarioFile,
    ".lorebook": LorebookFile,
}


def _sniff(data: Any) -> type[AnyStoryFile]:
    if not isinstance(data, dict):
        raise StoryFileError(f"a story, scenario or lorebook file holds a JSON object, not {_kind(data)}")
    for key, kind in _KINDS.items():
        if key in data:
            return kind
    hint = ""
    if isinstance(data.get("entries"), dict) or "spec" in data:
        hint = " (it looks like a SillyTavern world book or character card, which NovelAI's formats are not)"
    raise StoryFileError(
        f"not a NovelAI story, scenario or lorebook: none of 'storyContainerVersion', 'scenarioVersion', "
        f"'lorebookVersion' is there{hint}"
    )


def loads(data: bytes | str, *, path: str | None = None, kind: type[AnyStoryFile] | None = None) -> AnyStoryFile:
    """Parse a story, scenario or lorebook file's content.

    Args:
        data: the file's bytes (UTF-8 JSON) or text.
        path: where it came from, for messages.
        kind: the class expected (`StoryFile`, ...); by default, whichever the version field says.

    Returns:
        The file.

    Raises:
        StoryFileError: not UTF-8 JSON, not one of the three formats (or not `kind`), an unknown version, or a
            field of the wrong type; the message names the field and the file.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_FILE_SIZE:
        raise StoryFileError(f"the file is {len(raw):,} bytes, more than the {MAX_FILE_SIZE:,} read", path=path)
    try:
        parsed = loads_strict(raw, _ParseError, "the file")
    except FormatError as exc:
        raise StoryFileError(str(exc), path=path) from None
    try:
        found = _sniff(parsed)
    except StoryFileError as exc:
        raise StoryFileError(_message(exc), path=path) from None
    if kind is not None and found is not kind:
        expected = next(key for key, value in _KINDS.items() if value is kind)
        raise StoryFileError(
            f"is missing: this is a {found.__name__.removesuffix('File').lower()} file, not a "
            f"{kind.__name__.removesuffix('File').lower()} file",
            field=expected,
            path=path,
        )
    return found(parsed, path=path)


def read_file(path: str | os.PathLike[str]) -> AnyStoryFile:
    """Read a `.story`, `.scenario` or `.lorebook` file (the extension, when it is one of these, must match).

    Raises:
        StoryFileError: see `loads`.
        OSError: the file cannot be read.
    """
    name = os.fspath(path)
    size = os.stat(name).st_size
    if size > MAX_FILE_SIZE:
        raise StoryFileError(f"the file is {size:,} bytes, more than the {MAX_FILE_SIZE:,} read", path=name)
    with open(name, "rb") as file:
        content = file.read(MAX_FILE_SIZE + 1)
    return loads(content, path=name, kind=_EXTENSIONS.get(Path(name).suffix.lower()))


def read_story(path: str | os.PathLike[str]) -> StoryFile:
    """Read a `.story` file (whatever its extension). Raises as `read_file`."""
    return _read_kind(path, StoryFile)


def read_scenario(path: str | os.PathLike[str]) -> ScenarioFile:
    """Read a `.scenario` file (whatever its extension). Raises as `read_file`."""
    return _read_kind(path, ScenarioFile)


def read_lorebook(path: str | os.PathLike[str]) -> LorebookFile:
    """Read a `.lorebook` file (whatever its extension). Raises as `read_file`."""
    return _read_kind(path, LorebookFile)


_F = TypeVar("_F", StoryFile, ScenarioFile, LorebookFile)


def _read_kind(path: str | os.PathLike[str], kind: type[_F]) -> _F:
    name = os.fspath(path)
    with open(name, "rb") as file:
        content = file.read(MAX_FILE_SIZE + 1)
    result = loads(content, path=name, kind=kind)
    assert isinstance(result, kind)
    return result

"""Context building as NovelAI's web client does it: the prompt made of a story, its memory, author's note,
lorebook and ephemeral entries, within a token budget, with a report of what went in and why. Pure: no HTTP.

    from nai_sdk import context

    built = context.build(story.content, "erato", max_tokens=8000)
    built.tokens             # the prompt's token ids (no BOS: build_request adds it for Erato)
    for entry in built.report:
        print(entry.label, entry.included, entry.reason, entry.inserted_tokens)

The steps, and the public descriptions each follows (their code is not used; docs/stories.md says what is known,
what is inferred and what is not known):

1. *Activation.* A lore entry is a candidate when it is enabled, its category is, and it is forced
   (`forceActivation`) or one of its keys is found in the last `searchRange` characters of the story text. A plain
   key matches case-insensitively as a whole word (novelai-research-tool, `scenario/scenario.go`,
   `createLorebookRegexp`); a key written `/pattern/flags` is a regular expression (NovelAI's lorebook
   documentation, https://docs.novelai.net/text/lorebook.html). An entry with cascading activation
   (`nonStoryActivatable`) may also be activated by its keys in the text of the memory, the author's note, active
   ephemeral entries and other activated entries, repeatedly until nothing new activates (the lorebook
   documentation; the "cascading activation" of the AI Dynamic Storytellers wiki, https://aids.miraheze.org/wiki/
   Context). Lines starting with `##` are comments, removed before searching and inserting
   (TaleirOfDeynai/nai-context-userscript, README, "Comment Searching"). An ephemeral entry is a candidate at the
   steps `EphemeralEntry.active_at` gives.
2. *Budget.* The prompt may hold `max_tokens` tokens. Every candidate first reserves `min(reservedTokens, its
   size)`; then candidates are taken by `budgetPriority` ("insertion order"), highest first, each getting at most
   `tokenBudget` tokens and what is left of the budget plus its own reservation; one that does not fit is trimmed
   from `trimDirection`'s side at whole lines, else whole sentences, else tokens, as far as `maximumTrimType`
   allows, or left out (novelai-research-tool's `GenerateContext` and `ResolveTrim`; the context settings of
   https://docs.novelai.net/text/Editor/advancedsettings.html). Ties of insertion order keep the story, memory,
   author's note, ephemeral entries and then lorebook order; with the lorebook's `orderByKeyLocations`, tied lore
   entries whose keys were found later go first (the userscript's `Lorebook.d.ts`).
3. *Assembly.* In the same order, each entry's text (with its `prefix` and `suffix`) is inserted at
   `insertionPosition` counted in units of its `insertionType` (newlines, sentences, words) from the top (0, 1,
   ...) or from the bottom (-1 is the very end, -2 before the last unit, ...) of the context built so far
   (novelai-research-tool's `GenerateContext`). With the defaults, the memory lands on top, lore entries after it,
   the story below them and the author's note three lines above the end. A key-relative entry (`keyRelative`) is
   placed relative to the line of its last key match in the story instead, once the story is in.
4. A lorebook category with a sub-context (`createSubcontext`) gathers its activated entries: they are built
   alone, within the sub-context's own budget, into one entry placed by the category's `subcontextSettings`.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, Unpack

import attrs

from nai_sdk.errors import ConfigurationError, StoryFileError

if TYPE_CHECKING:
    import regex
    from nai_client.typed_dicts import GenerationSettingsDict

    from nai_sdk.content import StoryContent, StoryFile, UserObject
    from nai_sdk.content._views import ContextConfig, LorebookEntry
    from nai_sdk.models import TextModel
    from nai_sdk.presets import BiasGroup, GenerationRequest
    from nai_sdk.resources.storage import Story
    from nai_sdk.tokenizers import Tokenizer

__all__ = ["MODULE_PREFIX_TOKENS", "REGEX_TIME_LIMIT", "Context", "ContextEntryReport", "build", "story_request"]

MODULE_PREFIX_TOKENS: Final = 20
"""Tokens kept free for an AI module's prefix when the story uses one (novelai-research-tool's context.go keeps 20
tokens of the context free for a non-vanilla prefix)."""

REGEX_TIME_LIMIT: Final = 1.0
"""Seconds that the regular-expression keys of one story's lorebook may spend searching, in all, per `build`: a key
written (or planted in a shared file) to backtrack without end raises `StoryFileError` after it, instead of hanging
the program."""

Kind = Literal["story", "memory", "authors_note", "ephemeral", "lore", "subcontext"]

_COMMENT = re.compile(r"^##[^\n]*(?:\n|$)", re.MULTILINE)
# Where units end. Sentences: after terminal punctuation (and closing quotes or brackets) that whitespace follows,
# or after a newline; words: after the last character before whitespace. A space goes with the unit after it, as
# tokenizers attach it to the next word, so that a unit's tokens are the tokens that text has inside the whole.
_SENTENCE_END = re.compile(r"""[.!?…]+["'”’)\]]*(?=[ \t])|\n""")
_WORD_END = re.compile(r"\S(?=\s)")
_BATCH: Final = 48  # units encoded at once while trimming
# Candidates' `index`: their place in the report, and the last tie-break of insertion order.
_LORE_INDEX: Final = 1_000_000
_SUBCONTEXT_INDEX: Final = 2_000_000


@attrs.frozen
class ContextEntryReport:
    """What happened to one piece of text that could have gone into the context.

    Attributes:
        kind: "story", "memory", "authors_note", "ephemeral", "lore" or "subcontext".
        label: the story, memory, author's note, a lore entry's display name, or a category's name.
        id: a lore entry's or category's id ("" otherwise).
        activated: it was a candidate for the context.
        reason: why it was a candidate ("always", "forced", "key", "cascade", "step"), or why not ("disabled",
            "category disabled", "empty", "no key matched", "not this step"); for a candidate left out, why
            ("no room", "does not fit and may not be trimmed").
        included: it is in the context.
        key: the key that activated it, if a key did.
        match_at: where that key was found: a character offset in the story text (for "key"), or None.
        tokens: its size in tokens with prefix and suffix, when it was measured whole (None for a story that was
            only read as far as it fit).
        inserted_tokens: the tokens it takes in the context (0 when left out).
        trimmed: it was cut to fit.
        budget_priority: its insertion order.
        insertion_position: its insertion position.
        reserved: the tokens reserved for it.
        order: the step at which it was inserted (0 first), or None.
        subcontext: the category whose sub-context it went into, or "".
    """

    kind: Kind
    label: str
    id: str = ""
    activated: bool = False
    reason: str = ""
    included: bool = False
    key: str | None = None
    match_at: int | None = None
    tokens: int | None = None
    inserted_tokens: int = 0
    trimmed: bool = False
    budget_priority: float = 0
    insertion_position: int = 0
    reserved: int = 0
    order: int | None = None
    subcontext: str = ""


@attrs.frozen
class Context:
    """A built context.

    Attributes:
        tokens: the prompt's token ids (no BOS).
        text: the prompt's text.
        model: the id of the model whose tokenizer counted it.
        max_tokens: the budget it was built within.
        report: every candidate and every entry that was not one, in this order: story, memory, author's note,
            ephemeral entries, lore entries (lorebook order), sub-contexts.
    """

    tokens: tuple[int, ...]
    text: str
    model: str
    max_tokens: int
    report: tuple[ContextEntryReport, ...]

    @property
    def included(self) -> list[ContextEntryReport]:
        """The entries in the context, in the order they were inserted."""
        return sorted((entry for entry in self.report if entry.included), key=lambda entry: entry.order or 0)

    def entry(self, label: str) -> ContextEntryReport:
        """The report of the first entry with this label (or id).

        Raises:
            KeyError: none has it.
        """
        for entry in self.report:
            if label in (entry.label, entry.id):
                return entry
        raise KeyError(label)


# --- candidates ---------------------------------------------------------------------------------------------------


@attrs.define(eq=False)
class _Candidate:
    kind: Kind
    label: str
    text: str
    config: dict[str, Any]
    id: str = ""
    reason: str = "always"
    key: str | None = None
    match_start: int | None = None
    match_end: int | None = None
    key_relative: bool = False
    category: str = ""
    index: int = 0
    # Filled while budgeting and assembling.
    tokens: list[int] | None = None  # the whole entry (prefix + text + suffix), when measured whole
    reserved: int = 0
    kept: str | None = None  # the text kept (without prefix and suffix)
    kept_from: int = 0  # where `kept` starts in `text`
    count: int = 0
    trimmed: bool = False
    excluded: str = ""
    order: int | None = None
    subcontext: str = ""
    members: list[_Candidate] = attrs.field(factory=list)

    @property
    def prefix(self) -> str:
        value: str = self.config["prefix"]
        return value

    @property
    def suffix(self) -> str:
        value: str = self.config["suffix"]
        return value


def _strip_comments(text: str) -> str:
    return _COMMENT.sub("", text) if "##" in text else text


@functools.lru_cache(maxsize=8192)
def _key_pattern(key: str) -> regex.Pattern[str] | None:
    """The regular expression (a `regex` pattern) of a `/pattern/flags` key; None for a plain key, or for a regular
    expression that does not compile (it never matches).

    The `regex` module, not `re`: its searches take a time limit (`REGEX_TIME_LIMIT`), and it reads JavaScript's
    named groups `(?<name>...)` as they are. Its default (version 0) behaviour is `re`'s.
    """
    import regex

    match = re.fullmatch(r"/(.+)/([a-z]*)", key, re.DOTALL)
    if match is None:
        return None
    source, letters = match.groups()
    flags = 0
    for letter, flag in (("i", regex.IGNORECASE), ("m", regex.MULTILINE), ("s", regex.DOTALL)):
        if letter in letters:
            flags |= flag
    try:
        return regex.compile(source, flags)
    except (regex.error, RecursionError, OverflowError, ValueError):
        return None


def _is_regex_key(key: str) -> bool:
    return len(key) > 2 and key[0] == "/" and re.fullmatch(r"/.+/[a-z]*", key, re.DOTALL) is not None


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _last_plain(needle: str, text: str, folded: str) -> tuple[int, int] | None:
    """The last whole-word, case-insensitive occurrence of `needle` (lower-cased) in `text`; `folded` is
    `text.lower()` (same length)."""
    end = len(folded)
    while True:
        start = folded.rfind(needle, 0, end)
        if start < 0:
            return None
        stop = start + len(needle)
        if (start == 0 or not _word(text[start - 1])) and (stop == len(text) or not _word(text[stop])):
            return start, stop
        end = stop - 1


class _RegexTimeout(Exception):
    """A regular-expression key used up what was left of `REGEX_TIME_LIMIT`."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _last_match(
    keys: Sequence[str], text: str, offset: int, folded: str | None = None, deadline: float | None = None
) -> tuple[str, int, int] | None:
    r"""The key found last in `text` (offsets shifted by `offset`), or None.

    A plain key matches case-insensitively with no letter, digit or `_` right before or after it (the
    `(^|\W)key($|\W)` of novelai-research-tool). `folded`: `text.lower()`, when it has the same length as `text`.
    `deadline` (a `time.monotonic()` value) bounds the regular-expression keys' searches.

    Raises:
        _RegexTimeout: a regular-expression key was still searching at the deadline.
    """
    if folded is None:
        lowered = text.lower()
        folded = lowered if len(lowered) == len(text) else None
    best: tuple[str, int, int] | None = None
    for key in keys:
        if _is_regex_key(key):
            pattern = _key_pattern(key)
            if pattern is None:
                continue
            found = None
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                raise _RegexTimeout(key)
            try:
                for found in pattern.finditer(text, timeout=timeout):  # noqa: B007  (the last one is kept)
                    pass
            except TimeoutError:
                raise _RegexTimeout(key) from None
            span = found.span() if found is not None and found.end() > found.start() else None
        else:
            needle = key.strip().lower()
            if not needle:
                continue
            if folded is not None:
                span = _last_plain(needle, text, folded)
            else:  # lower-casing moved offsets (rare characters): the slow, exact way
                plain = re.compile(rf"(?<!\w){re.escape(key.strip())}(?!\w)", re.IGNORECASE)
                last = None
                for last in plain.finditer(text):  # noqa: B007
                    pass
                span = last.span() if last is not None else None
        if span is not None and (best is None or span[1] + offset > best[2]):
            best = (key, span[0] + offset, span[1] + offset)
    return best


def _config(config: ContextConfig) -> dict[str, Any]:
    return config.resolved()


def _resolve(value: float, total: int) -> int:
    """A token budget or reservation: a share of the context when 1 or less, else a number of tokens."""
    if value <= 0:
        return 0
    if value <= 1:
        return int(value * total)
    return int(value)


def _activate_lore(
    content: StoryContent,
    story: str,
    candidates: list[_Candidate],
    report: list[tuple[int, ContextEntryReport]],
    regex_time_limit: float,
) -> list[_Candidate]:
    deadline = time.monotonic() + regex_time_limit
    try:
        return _activate_lore_within(content, story, candidates, report, deadline)
    except _RegexTimeout as exc:
        entries = content.lorebook.entries
        index = next((i for i, entry in enumerate(entries) if exc.key in entry.keys), None)
        where = f"lorebook.entries[{index}].keys" if index is not None else "lorebook"
        raise StoryFileError(
            f"the regular-expression keys searched for more than {regex_time_limit:g} s in all; the key "
            f"{exc.key[:60]!r} was still searching (a pattern that backtracks without end?): fix or remove it, or "
            "raise regex_time_limit",
            field=where,
        ) from None


def _activate_lore_within(
    content: StoryContent,
    story: str,
    candidates: list[_Candidate],
    report: list[tuple[int, ContextEntryReport]],
    deadline: float,
) -> list[_Candidate]:
    lorebook = content.lorebook
    categories = {category.id: category for category in lorebook.categories}
    # Lower-cased once for the plain keys' quick check; only when lower-casing keeps every offset in place.
    lowered: str | None = story.lower()
    if lowered is not None and len(lowered) != len(story):
        lowered = None
    active: list[_Candidate] = []
    cascading: list[tuple[LorebookEntry, _Candidate]] = []
    windows: dict[int, tuple[str, str | None]] = {}
    for index, entry in enumerate(lorebook.entries):
        config = _config(entry.context_config)
        category = categories.get(entry.category)
        candidate = _Candidate(
            kind="lore",
            label=entry.display_name,
            text=_strip_comments(entry.text),
            config=config,
            id=entry.id,
            key_relative=entry.key_relative,
            category=entry.category,
            index=_LORE_INDEX + index,  # after the other kinds on ties, in lorebook order
        )
        reason = ""
        if not entry.enabled:
            reason = "disabled"
        elif category is not None and not category.enabled:
            reason = "category disabled"
        elif not candidate.text:
            reason = "empty"
        elif entry.force_activation:
            candidate.reason = "forced"
        else:
            search = max(0, entry.search_range)
            cut = max(0, len(story) - search)
            window = windows.get(cut)
            if window is None:  # entries mostly share a few search ranges: each window is cut once
                window = windows[cut] = (story[cut:], lowered[cut:] if lowered is not None else None)
            found = _last_match(entry.keys, window[0], cut, window[1], deadline) if search else None
            if found is not None:
                candidate.reason = "key"
                candidate.key, candidate.match_start, candidate.match_end = found
            elif entry.non_story_activatable:
                cascading.append((entry, candidate))
                continue
            else:
                reason = "no key matched"
        if reason:
            report.append((candidate.index, _report(candidate, activated=False, reason=reason)))
        else:
            active.append(candidate)
    # Cascading activation: keys found in the text of other activated entries, until nothing new activates. Each
    # pass searches only the texts activated by the pass before (the older ones were searched already).
    fresh = [c for c in candidates if c.kind != "story"] + active
    while fresh and cascading:
        searched = "\n".join(other.prefix + other.text + other.suffix for other in fresh)
        folded = searched.lower()
        fresh = []
        for pair in list(cascading):
            entry, candidate = pair
            found = _last_match(entry.keys, searched, 0, folded if len(folded) == len(searched) else None, deadline)
            if found is not None:
                candidate.reason = "cascade"
                candidate.key = found[0]
                active.append(candidate)
                fresh.append(candidate)
                cascading.remove(pair)
    for _, candidate in cascading:
        report.append((candidate.index, _report(candidate, activated=False, reason="no key matched")))
    active.sort(key=lambda candidate: candidate.index)
    return active


def _report(candidate: _Candidate, *, activated: bool, reason: str) -> ContextEntryReport:
    return ContextEntryReport(
        kind=candidate.kind,
        label=candidate.label,
        id=candidate.id,
        activated=activated,
        reason=reason,
        included=activated and not candidate.excluded and candidate.kept is not None,
        key=candidate.key,
        match_at=candidate.match_start if candidate.reason == "key" else None,
        tokens=len(candidate.tokens) if candidate.tokens is not None else None,
        inserted_tokens=candidate.count if activated and candidate.kept is not None else 0,
        trimmed=candidate.trimmed,
        budget_priority=candidate.config["budgetPriority"],
        insertion_position=candidate.config["insertionPosition"],
        reserved=candidate.reserved,
        order=candidate.order,
        subcontext=candidate.subcontext,
    )


# --- trimming -----------------------------------------------------------------------------------------------------


def _cuts(text: str, level: str) -> list[int]:
    """Where the units of `level` (newline, sentence, token) of `text` end, the end of the text included."""
    if level == "newline":
        marks, start = [], text.find("\n")
        while start != -1:
            marks.append(start + 1)
            start = text.find("\n", start + 1)
    else:
        marks = [match.end() for match in (_SENTENCE_END if level == "sentence" else _WORD_END).finditer(text)]
    if not marks or marks[-1] != len(text):
        marks.append(len(text))
    return marks


def _units(text: str, level: str) -> list[str]:
    """`text` cut into units of `level` (empty text: no unit)."""
    if not text:
        return []
    units, start = [], 0
    for end in _cuts(text, level):
        if end > start:
            units.append(text[start:end])
            start = end
    return units


class _Measure:
    """Token counts through one tokenizer, batched."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.encode = tokenizer.encode
        self.encode_batch = tokenizer.encode_batch

    def count(self, text: str) -> int:
        return len(self.encode(text)) if text else 0

    def batch(self, texts: list[str]) -> list[list[int]]:
        return self.encode_batch(texts) if texts else []


def _take(units: list[str], room: int, from_end: bool, measure: _Measure) -> tuple[int, int]:
    """How many units, from the kept end, fit in `room` tokens (counted unit by unit, in batches), and their
    tokens."""
    used = taken = 0
    batch = 8  # growing: a short entry costs one small batch, a long story a few large ones
    start = 0
    while start < len(units):
        chunk = units[len(units) - start - batch : len(units) - start] if from_end else units[start : start + batch]
        if from_end and start + batch > len(units):
            chunk = units[: len(units) - start]
        for tokens in measure.batch(chunk[::-1] if from_end else chunk):
            if used + len(tokens) > room:
                return taken, used
            used += len(tokens)
            taken += 1
        start += len(chunk)
        batch = min(batch * 2, _BATCH * 8)
    return taken, used


def _fit(candidate: _Candidate, limit: int, measure: _Measure) -> None:
    """Keep as much of the candidate's text as fits `limit` tokens (prefix and suffix included), or exclude it."""
    text, direction = candidate.text, candidate.config["trimDirection"]
    if candidate.tokens is not None and len(candidate.tokens) <= limit:
        candidate.kept, candidate.count = text, len(candidate.tokens)
        return
    affix = measure.count(candidate.prefix) + measure.count(candidate.suffix)
    room = limit - affix
    if room <= 0 or direction == "doNotTrim":
        candidate.excluded = "no room" if direction != "doNotTrim" else "does not fit and may not be trimmed"
        return
    levels = {"newline": ["newline"], "sentence": ["newline", "sentence"]}.get(
        candidate.config["maximumTrimType"], ["newline", "sentence", "token"]
    )
    from_end = direction == "trimTop"
    for level in levels:
        units = _units(text, level)
        taken, used = _take(units, room, from_end, measure)
        if taken == len(units):
            kept, start = text, 0
        elif taken:
            kept = "".join(units[len(units) - taken :] if from_end else units[:taken])
            start = len(text) - len(kept) if from_end else 0
        else:
            continue
        # Counted unit by unit: the text whole may tokenize a little differently where units join (in practice
        # into fewer tokens, as a join lets a space go with the next word). The sum is what the budget spends.
        candidate.kept, candidate.kept_from, candidate.trimmed = kept, start, taken != len(units)
        candidate.count = used + affix
        return
    candidate.excluded = "no room"


# --- budget and assembly ------------------------------------------------------------------------------------------


def _measure_whole(candidates: list[_Candidate], measure: _Measure) -> None:
    pending = [c for c in candidates if c.kind != "story" and c.tokens is None]
    for candidate, tokens in zip(pending, measure.batch([c.prefix + c.text + c.suffix for c in pending]), strict=True):
        candidate.tokens = tokens


def _reserve(candidate: _Candidate, total: int, measure: _Measure) -> int:
    wanted = _resolve(candidate.config["reservedTokens"], total)
    if wanted <= 0:
        return 0
    if candidate.tokens is not None:
        return min(wanted, len(candidate.tokens))
    # The story: only read as far as the reservation (it may be far larger than any context).
    probe = _Candidate(kind="story", label="", text=candidate.text, config=candidate.config)
    _fit(probe, wanted, measure)
    return probe.count if probe.kept == candidate.text else wanted


def _budget(candidates: list[_Candidate], total: int, order_by_keys: bool, measure: _Measure) -> list[_Candidate]:
    """Trim each candidate to its share of `total` tokens; returns them in insertion order."""
    _measure_whole(candidates, measure)
    for candidate in candidates:
        candidate.reserved = _reserve(candidate, total, measure)
    left = total - sum(c.reserved for c in candidates)

    def rank(candidate: _Candidate) -> tuple[float, int, int]:
        later = -(candidate.match_end or 0) if order_by_keys and candidate.kind == "lore" else 0
        return (-candidate.config["budgetPriority"], later, candidate.index)

    ordered = sorted(candidates, key=rank)
    for candidate in ordered:
        allowed = min(_resolve(candidate.config["tokenBudget"], total), left + candidate.reserved)
        _fit(candidate, max(0, allowed), measure)
        left += candidate.reserved - (candidate.count if candidate.kept is not None else 0)
    return [c for c in ordered if c.kept is not None]


def _boundaries(text: str, level: str) -> list[int]:
    """The offsets between units of `level`: the start, each unit's end."""
    return [0, *(mark for mark in _cuts(text, level) if mark > 0)] if text else [0]


def _position(text: str, position: int, level: str) -> int:
    """The character offset of insertion position `position`, in units of `level`, of `text`."""
    marks = _boundaries(text, level)
    units = len(marks) - 1
    index = min(position, units) if position >= 0 else max(0, units + 1 + position)
    return marks[index]


class _Assembly:
    """The context being assembled: pieces of text, the story's pieces knowing where they are in the story."""

    def __init__(self) -> None:
        self.pieces: list[tuple[str, int | None]] = []  # (text, offset in the kept story text, or None)
        self.length = 0

    @property
    def text(self) -> str:
        return "".join(piece for piece, _ in self.pieces)

    def offset(self, position: int, level: str) -> int:
        """Where insertion position `position` (in units of `level`) is now."""
        if position == -1 or not self.pieces:
            return self.length
        if position == 0:
            return 0
        return _position(self.text, position, level)

    def insert(self, offset: int, text: str, story_offset: int | None = None) -> None:
        if not text:
            return
        self.length += len(text)
        at = 0
        for index, (piece, start) in enumerate(self.pieces):
            if offset <= at:
                self.pieces.insert(index, (text, story_offset))
                return
            if offset < at + len(piece):
                cut = offset - at
                tail_start = None if start is None else start + cut
                self.pieces[index : index + 1] = [(piece[:cut], start), (text, story_offset), (piece[cut:], tail_start)]
                return
            at += len(piece)
        self.pieces.append((text, story_offset))

    def story_offset(self, offset: int) -> int | None:
        """Where story character `offset` (in the kept story text) is in the context, or None if it is not in."""
        at = 0
        for piece, start in self.pieces:
            if start is not None and start <= offset < start + len(piece):
                return at + offset - start
            at += len(piece)
        return None


def _place(assembly: _Assembly, candidate: _Candidate, story: _Candidate | None) -> bool:
    """Insert one candidate; False when it is key-relative and the story is not in yet."""
    assert candidate.kept is not None
    position, level = candidate.config["insertionPosition"], candidate.config["insertionType"]
    if candidate.kind == "story":
        at = assembly.offset(position, level)
        assembly.insert(at, candidate.suffix)
        # The story's own text carries its offsets, for key-relative entries.
        assembly.insert(at, candidate.kept, 0)
        assembly.insert(at, candidate.prefix)
        return True
    body = candidate.prefix + candidate.kept + candidate.suffix
    if candidate.key_relative and candidate.match_end is not None and story is not None:
        if story.order is None:
            return False
        anchor = assembly.story_offset(candidate.match_end - 1 - story.kept_from)
        if anchor is not None:
            # Positions count from the end of the unit holding the match, as if the context ended there.
            marks = _boundaries(assembly.text, level)
            end = next(index for index, mark in enumerate(marks) if mark > anchor)
            index = end + 1 + position if position < 0 else end + position
            assembly.insert(marks[max(0, min(index, len(marks) - 1))], body)
            return True
    assembly.insert(assembly.offset(position, level), body)
    return True


def _assemble(ordered: list[_Candidate], counter: list[int]) -> str:
    assembly = _Assembly()
    story = next((c for c in ordered if c.kind == "story"), None)
    deferred: list[_Candidate] = []
    for candidate in ordered:
        if _place(assembly, candidate, story):
            candidate.order = counter[0]
            counter[0] += 1
        else:
            deferred.append(candidate)
        if candidate is story:
            for waiting in deferred:
                _place(assembly, waiting, story)
                waiting.order = counter[0]
                counter[0] += 1
            deferred.clear()
    for waiting in deferred:  # the story did not make it in: placed as ordinary entries
        waiting.key_relative = False
        _place(assembly, waiting, story)
        waiting.order = counter[0]
        counter[0] += 1
    return assembly.text


# --- the entry point ----------------------------------------------------------------------------------------------


def _as_content(source: Any) -> StoryContent:
    from nai_sdk.content import StoryContent, StoryFile, UserObject
    from nai_sdk.resources.storage import Story

    if isinstance(source, StoryContent):
        return source
    if isinstance(source, Story):
        if source.content is None:
            raise ConfigurationError(f"story {source.id} has no content object")
        source = source.content
    if isinstance(source, UserObject):
        return StoryContent.of(source)
    if isinstance(source, StoryFile):
        return source.story_content
    if isinstance(source, Mapping):
        return StoryContent(dict(source) if not isinstance(source, dict) else source)
    raise ConfigurationError(
        f"expected story content (a Story, a storycontent UserObject, a StoryFile, a StoryContent or a dict), "
        f"not {type(source).__name__}"
    )


def _default_budget(model: TextModel, content: StoryContent, max_length: int | None) -> int:
    if not model.context_tokens:
        raise ConfigurationError(f"the context size of {model.name} is not known: pass max_tokens")
    if max_length is None:
        value = content.settings.parameters.get("max_length")
        max_length = value if type(value) is int and value > 0 else 40
    return max(model.context_tokens.values()) - max_length - (1 if model.bos_token is not None else 0)


def build(
    story_content: Story | UserObject | StoryFile | StoryContent | Mapping[str, Any],
    model: str | TextModel | None = None,
    *,
    max_tokens: int | None = None,
    max_length: int | None = None,
    step: int | None = None,
    text: str | None = None,
    regex_time_limit: float = REGEX_TIME_LIMIT,
) -> Context:
    """Build the context of a story as NovelAI's web client does (see the module docstring for the rules).

    Args:
        story_content: the story's content: a `Story`, its `storycontent` `UserObject`, a `StoryFile`, a
            `StoryContent` view or the content's dict.
        model: the text model whose tokenizer counts (by default the story's own `settings.model`).
        max_tokens: the most tokens the prompt may hold. By default the model's largest context, minus the
            story's `max_length` (or `max_length`), minus one for a BOS token, minus `MODULE_PREFIX_TOKENS` when
            the story uses an AI module.
        max_length: the answer's length, for the default `max_tokens`.
        step: the story step for ephemeral entries (by default the content's `story.step`, else 0).
        text: the story text to use instead of the content's own (say, with the user's next input appended).
        regex_time_limit: the seconds the lorebook's regular-expression keys may search, in all
            (`REGEX_TIME_LIMIT`).

    Returns:
        The context: its tokens and text, and a report of every entry.

    Raises:
        ConfigurationError: no model given or stored, its context size unknown without `max_tokens`, or
            `max_tokens` not a positive int.
        UnknownModelError: unknown model.
        StoryFileError: the content has a field of the wrong type (named in the message), or its
            regular-expression keys searched longer than `regex_time_limit`.
    """
    from nai_sdk.models import get_model
    from nai_sdk.tokenizers import get_tokenizer

    content = _as_content(story_content)
    stored = content.settings.model
    if model is None and not stored:
        raise ConfigurationError("the story names no model (settings.model): pass one")
    text_model = get_model(model if model is not None else stored)
    if max_tokens is None:
        max_tokens = _default_budget(text_model, content, max_length)
        if content.settings.prefix not in ("", "vanilla"):
            max_tokens -= MODULE_PREFIX_TOKENS
    if type(max_tokens) is not int or max_tokens <= 0:
        raise ConfigurationError(f"max_tokens must be a positive int, not {max_tokens!r}")
    measure = _Measure(get_tokenizer(text_model))

    story_text = _strip_comments(content.text if text is None else text)
    candidates: list[_Candidate] = []
    report: list[tuple[int, ContextEntryReport]] = []
    candidates.append(
        _Candidate(kind="story", label="story", text=story_text, config=_config(content.story_context_config))
    )
    for candidate in (
        _Candidate(
            kind="memory",
            label="memory",
            text=_strip_comments(content.memory.text),
            config=_config(content.memory.context_config),
            index=1,
        ),
        _Candidate(
            kind="authors_note",
            label="author's note",
            text=_strip_comments(content.authors_note.text),
            config=_config(content.authors_note.context_config),
            index=2,
        ),
    ):
        if candidate.text:
            candidates.append(candidate)
        else:
            report.append((candidate.index, _report(candidate, activated=False, reason="empty")))
    if step is None:
        story = (content.data or {}).get("story")
        stored_step = story.get("step") if isinstance(story, dict) else None
        step = stored_step if type(stored_step) is int else 0
    for number, ephemeral in enumerate(content.ephemeral_context):
        candidate = _Candidate(
            kind="ephemeral",
            label=f"ephemeral {number}",
            text=_strip_comments(ephemeral.text),
            config=_config(ephemeral.context_config),
            reason="step",
            index=3 + number,
        )
        if not ephemeral.active_at(step):
            report.append((candidate.index, _report(candidate, activated=False, reason="not this step")))
        elif not candidate.text:
            report.append((candidate.index, _report(candidate, activated=False, reason="empty")))
        else:
            candidates.append(candidate)
    if isinstance(regex_time_limit, bool) or not isinstance(regex_time_limit, int | float) or regex_time_limit <= 0:
        raise ConfigurationError(f"regex_time_limit must be a positive number of seconds, got {regex_time_limit!r}")
    lore = _activate_lore(content, story_text, candidates, report, regex_time_limit)

    # Sub-contexts: a category's activated entries are built alone, into one entry placed by its settings.
    subcontexts: list[_Candidate] = []
    lorebook = content.lorebook
    for category in lorebook.categories:
        if not category.create_subcontext:
            continue
        members = [c for c in lore if c.category == category.id]
        if not members:
            continue
        settings = category.subcontext_settings
        holder = _Candidate(
            kind="subcontext",
            label=category.name,
            text="",
            config=_config(settings.context_config),
            id=category.id,
            index=_SUBCONTEXT_INDEX + len(subcontexts),
        )
        share = min(_resolve(holder.config["tokenBudget"], max_tokens), max_tokens)
        for member in members:
            member.subcontext = category.name
            lore.remove(member)
        holder.members = members
        holder.text = _assemble(_budget(members, share, lorebook.order_by_key_locations, measure), [0])
        if holder.text:
            subcontexts.append(holder)

    everything = candidates + lore + subcontexts
    ordered = _budget(everything, max_tokens, lorebook.order_by_key_locations, measure)
    prompt = _assemble(ordered, [0])
    for holder in subcontexts:
        for member in holder.members:
            if holder.kept is None:
                member.excluded = member.excluded or "its sub-context had no room"
            member.order = holder.order if member.kept is not None and holder.kept is not None else None
    for candidate in everything + [m for h in subcontexts for m in h.members]:
        if candidate.kind == "subcontext":
            continue
        inside = candidate.subcontext != ""
        reason = candidate.excluded or candidate.reason
        entry_report = _report(candidate, activated=True, reason=reason)
        if inside and candidate.order is None:
            entry_report = attrs.evolve(entry_report, included=False)
        report.append((candidate.index, entry_report))
    for holder in subcontexts:
        report.append((holder.index, _report(holder, activated=True, reason=holder.excluded or "category")))
    report.sort(key=lambda pair: pair[0])
    return Context(
        tokens=tuple(measure.encode(prompt)) if prompt else (),
        text=prompt,
        model=text_model.id,
        max_tokens=max_tokens,
        report=tuple(entry for _, entry in report),
    )


def _stop_sequence(item: Any) -> Any:
    # The web client stores a stop sequence as `{"sequence": {"sequence": "***", "type": 0}}` (its token data
    # wrapped once more); a plain phrase or token list is taken as it is.
    inner = item.get("sequence") if isinstance(item, Mapping) else None
    return inner if isinstance(inner, Mapping) else item


def _lore_biases(content: StoryContent, built: Context) -> list[BiasGroup]:
    """The bias groups of lore entries and categories: those of entries in the context, and those marked
    `whenInactive` of entries (or categories) that are not (NovelAI's lorebook documentation, "Phrase Bias")."""
    lorebook = content.lorebook
    entries = lorebook.entries
    reports = [entry for entry in built.report if entry.kind == "lore"]
    if len(reports) == len(entries):  # the report lists every lore entry, in lorebook order
        states = [report.included for report in reports]
    else:  # a context built from other content: match by id
        included = {report.id for report in reports if report.included and report.id}
        states = [bool(entry.id) and entry.id in included for entry in entries]
    groups = []
    for entry, active in zip(entries, states, strict=True):
        groups += [g.to_bias_group() for g in entry.lore_bias_groups if g.enabled and g.when_inactive != active]
    for category in lorebook.categories:
        active = any(entry.category == category.id and on for entry, on in zip(entries, states, strict=True))
        groups += [g.to_bias_group() for g in category.category_bias_groups if g.enabled and g.when_inactive != active]
    return groups


def story_request(
    story_content: Story | UserObject | StoryFile | StoryContent | Mapping[str, Any],
    model: str | TextModel | None = None,
    *,
    context: Context | None = None,
    max_tokens: int | None = None,
    step: int | None = None,
    text: str | None = None,
    **parameters: Unpack[GenerationSettingsDict],
) -> GenerationRequest:
    """The generation request that continues a story, with the story's own settings (what
    `nai.text.continue_story` sends).

    The prompt is `build(...)`'s context (or `context`, built before); the settings are the story's
    (`settings.parameters`, as a preset of the model), its AI module (`settings.prefix`), its phrase bias groups
    (with those of the lore entries and categories in the context, and the `whenInactive` ones of those not in it),
    banned sequences and stop sequences (`eosSequences`); `parameters` override the settings.

    Raises:
        ConfigurationError, UnknownModelError, StoryFileError: see `build`.
        PresetError: the story's settings or sequences are malformed.
        UnknownSettingError: an override the spec does not know.
    """
    from nai_sdk.presets import Preset, build_request

    content = _as_content(story_content)
    built = context if context is not None else build(content, model, max_tokens=max_tokens, step=step, text=text)
    settings = content.settings
    stored = settings.parameters
    preset = (
        Preset.from_dict({"name": settings.preset or "story settings", "model": built.model, "parameters": stored})
        if stored
        else None
    )
    prefix = settings.prefix or None
    return build_request(
        list(built.tokens),
        built.model,
        preset,
        ban_lists=[group.to_ban_list() for group in content.banned_sequence_groups],
        bias_groups=[group.to_bias_group() for group in content.phrase_bias_groups] + _lore_biases(content, built),
        stop_sequences=[_stop_sequence(item) for item in content.eos_sequences] or None,
        prefix=prefix,
        **parameters,
    )

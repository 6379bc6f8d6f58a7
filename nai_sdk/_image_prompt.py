"""The web client's changes to the prompt and the negative prompt before it sends them: quality tags, undesired-content
presets, and V5's text block. Pure functions of strings; the tables are in `nai_sdk._image_tables`.

How each one works, from novelai-python 0.9.0 (`sdk/ai/generate_image/__init__.py`, `GenerateImageInfer.
model_post_init`; `auto_text.py`, "Ported from the web client"), rewritten here:

* quality tags: the model's suffix goes at the end of the prompt's first `|` part (V4 and later), before a
  ` Text:` block if there is one (ending the tags with "."); on V3 and older every `|` part gets them, before a
  trailing `:weight`; the v1/v2 models take a prefix instead. A prompt that already ends with them is left alone.
* presets: the preset's text goes in front of the user's negative prompt, joined by ", "; when the prompt asks for
  `nsfw`, the preset's `nsfw` tag is dropped.
* text (V5 only): text in quotes in the prompt or in a character's prompt is appended as `, teXt: ...`, unless the
  user wrote `Text:` anywhere; texts are separated by an empty line; characters placed by coordinates are read
  top to bottom, then left to right; mostly-CJK texts are taken in reverse order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from nai_sdk._image_tables import QUALITY_PREFIX, QUALITY_SUFFIX, UC_PRESETS
from nai_sdk.errors import ImageParamsError

__all__ = ["apply_quality", "apply_text_block", "preset_index", "with_preset"]

_WEIGHT: Final = re.compile(r":[\d.]+$")


def _quality_simple(part: str, prefix: str, suffix: str) -> str:
    match = _WEIGHT.search(part)
    if match is None:
        return prefix + part + suffix
    return prefix + part[: match.start()] + suffix + match.group(0)


def _has_quality(prompt: str, prefix: str, suffix: str) -> bool:
    base = re.split(r" Text:|, teXt:", prompt.split("|")[0])[0]
    base = _WEIGHT.sub("", base).rstrip(".")
    return bool(prefix and base.startswith(prefix)) or bool(suffix and base.endswith(suffix))


def apply_quality(prompt: str, model: str, family: str, suffix: str | None = None) -> str:
    """The prompt with the model's quality tags (`suffix` replaces the model's own, for V5's light preset)."""
    prefix = QUALITY_PREFIX.get(model, "")
    suffix = QUALITY_SUFFIX.get(model, "") if suffix is None else suffix
    if not (prefix or suffix) or _has_quality(prompt, prefix, suffix):
        return prompt
    parts = prompt.split("|")
    if family in ("v4", "v4.5", "v5"):
        first = parts[0].split(" Text:")
        first[0] = prefix + first[0] + suffix + ("." if suffix and len(first) > 1 else "")
        parts[0] = " Text:".join(first)
    else:
        parts = [_quality_simple(part, prefix, suffix) for part in parts]
    return "|".join(parts)


def preset_index(model: str, preset: str | int) -> int:
    """The `ucPreset` number of a preset name (or number) for a model.

    Raises:
        ImageParamsError: the model has no such preset.
    """
    presets = UC_PRESETS.get(model)
    if presets is None:
        raise ImageParamsError(f"no undesired-content presets are known for {model}: pass uc_preset=None")
    if isinstance(preset, int):
        if not 0 <= preset < len(presets):
            raise ImageParamsError(f"{model} has presets 0..{len(presets) - 1}, not {preset}")
        return preset
    for index, (name, _text) in enumerate(presets):
        if name == preset:
            return index
    names = ", ".join(name for name, _ in presets)
    raise ImageParamsError(f"{model} has no {preset!r} undesired-content preset (it has: {names})")


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",")]


def with_preset(negative: str, prompt: str, model: str, index: int) -> str:
    """The negative prompt the web client sends: the preset's text, then the user's."""
    text = UC_PRESETS[model][index][1]
    if text == "lowres" and negative:
        # [npy]: the v1-v3 "none" preset is a placeholder that gives way to any negative prompt of the user's.
        text = ""
    if text and "nsfw" in _tags(prompt):
        text = ", ".join(tag for tag in _tags(text) if tag != "nsfw")
    if text and negative and set(_tags(text)) - {"nsfw"} <= set(_tags(negative)):
        return negative  # already there: a request rebuilt from an image's metadata
    return ", ".join(part for part in (text, negative) if part)


# --- V5's text block -------------------------------------------------------------------------------------------

_USER_TEXT: Final = re.compile(r"(?:^|\s|[,.:\[\]{}、。])text:(?!:)", re.IGNORECASE)
_QUOTES: Final = {'"': '"', "“": "”", "「": "」", "'": "'", "‘": "’"}
_CJK: Final = re.compile(r"[\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\uff00-\uffef\u4e00-\u9faf\u3400-\u4dbf]")
_BEFORE_APOSTROPHE: Final = re.compile(r"[\s,.]")
_WORD: Final = re.compile(r"[^\W_]")
_MAX_PARTS: Final = 6
_PIPE: Final = "\U000103b9"  # stands in for an escaped "||" while splitting


def _parts(prompt: str) -> list[str]:
    pieces = prompt.replace("||", _PIPE).split("|")
    if len(pieces) > _MAX_PARTS:
        pieces = [*pieces[: _MAX_PARTS - 1], "|".join(pieces[_MAX_PARTS - 1 :])]
    return [piece.replace(_PIPE, "||") for piece in pieces]


def _quoted(text: str) -> list[str]:
    found: list[str] = []
    i = 0
    while i < len(text):
        close = _QUOTES.get(text[i])
        # An apostrophe opens a quote only at the start of a word.
        if close is None or (text[i] == "'" and i and not _BEFORE_APOSTROPHE.match(text[i - 1])):
            i += 1
            continue
        j = i + 1
        apostrophe = close in ("'", "’")
        while j < len(text) and (
            text[j] != close or (apostrophe and j + 1 < len(text) and _WORD.match(text[j + 1]) is not None)
        ):
            j += 1
        if j >= len(text):
            i += 1
            continue
        inner = text[i + 1 : j].strip()
        if inner:
            found.append(inner)
        i = j + 1
    return found


def _reading_order(characters: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Top to bottom in rows, left to right in each row; a row ends at the widest vertical gap."""

    def rows(chars: list[tuple[str, float, float]]) -> list[list[tuple[str, float, float]]]:
        if len(chars) <= 1:
            return [chars]
        gaps = [(chars[k][2] - chars[k - 1][2], k) for k in range(1, len(chars))]
        gap, cut = max(gaps, key=lambda item: (item[0], -item[1]))
        if chars[-1][2] - chars[0][2] <= 0.15 and gap <= 0.1:
            return [chars]
        return rows(chars[:cut]) + rows(chars[cut:])

    ordered = sorted(characters, key=lambda char: char[2])
    return [char for row in rows(ordered) for char in sorted(row, key=lambda char: char[1])]


def apply_text_block(prompt: str, characters: Sequence[tuple[str, float, float]], use_coords: bool) -> str:
    """The prompt with its quoted texts (and the characters') appended as `, teXt: ...`, as novelai.net does on V5.

    Args:
        prompt: the prompt (quality tags already added).
        characters: each character's (prompt, x, y).
        use_coords: the characters are placed by their positions (then read in reading order).
    """
    if _USER_TEXT.search(prompt) or any(_USER_TEXT.search(char[0]) for char in characters):
        return prompt
    parts = _parts(prompt)
    chars = [char for char in characters if char[0]]
    if use_coords:
        chars = _reading_order(chars)
    groups = [_quoted(parts[0]), *(_quoted(char[0]) for char in chars)]
    flat = "".join(text for group in groups for text in group)
    if not flat:
        return prompt
    if len(_CJK.findall(flat)) / len(flat) > 0.3:
        groups = [group[::-1] for group in groups]
    block = "teXt: " + "\n\n".join(text for group in groups for text in group)
    head = parts[0].rstrip(" ,\t\n")
    parts[0] = f"{head}, {block}" if head else block
    return "|".join(parts)

"""JSON as NovelAI's JavaScript client reads and writes it: strict parsing, compact JS-compatible output.

Private helpers shared by the keystore, the user-object codecs and the parsing of every answer of the service.

Parsing never lets a non-finite number in (`NaN`, `Infinity`, or a literal such as `1e400` that overflows to
infinity): JavaScript's `JSON.parse` has no such values, and a value that could never be written back must not be
accepted on read.

Nesting is bounded at exactly `MAX_JSON_DEPTH` levels, the same on every Python and whatever the caller's stack.
The C parser recurses once per level, and what stops it depends on the version. On Python 3.11 it is the recursion
limit, which counts the caller's frames too (about 990 levels from a shallow stack, fewer from deep in a recursion).
Since 3.12 it is a C recursion limit of its own that `sys.setrecursionlimit` does not change (about 1,500 levels in
3.12.1, 10,000 on Linux in 3.13), deeper than a thread with a small stack can hold: 3.13 crashes with a segmentation
fault on 5,000 levels in a thread of 256 KiB, and on 10,000 in one of 1 MiB, instead of raising RecursionError. So
the C parser only gets text that `_nests_at_most` has shown to nest at most `MAX_JSON_DEPTH` levels (two counts for
most text, a linear scan at C speed for the rest), and deeper text goes to an iterative parser, which refuses it.
The iterative parser also reads what the C parser cannot read from deep in the caller's recursion on Python 3.11.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from math import isfinite
from typing import Any

from nai_sdk._constants import MAX_JSON_DEPTH
from nai_sdk.errors import FormatError

__all__ = ["dumps_compact", "loads_answer", "loads_strict"]


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: JavaScript's JSON.parse rejects them, and accepting them here would let a
    # value in that could never be written back.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    # Only an overflow gets here as non-finite (the scanner sends NaN and Infinity to `_reject_constant`). Costs
    # about 40 ns per fractional number, and nothing for answers without any.
    if not isfinite(value):
        raise ValueError(f"the number {literal[:40]} is beyond the range of a 64-bit float (it would read as infinity)")
    return value


# Built once: json.loads/json.dumps with keyword arguments build a new decoder/encoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

# A surrogate pair left as two code points, or a lone surrogate: the only characters that UTF-8 cannot encode.
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")

# JSON whitespace, as the C scanner skips it (for the iterative parser).
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Scalars (strings, numbers, literals) go to the C scanner, which does not recurse for them: the iterative parser
# then reads every scalar exactly as `_DECODER` does, NaN and overflowing numbers included.
_scan_scalar = _DECODER.raw_decode

# For `_nests_at_most`: every byte is deleted but quotes, brackets and the separators `,` and `:`, and braces become
# brackets (only the nesting matters there; text whose brackets and braces do not match is refused by the parsers).
_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{},:')))
_STEP = tuple(1 if byte == ord("[") else -1 if byte == ord("]") else 0 for byte in range(256))
# Passes that delete the innermost brackets before the exact count: each costs a scan at C speed, and real JSON
# (wide and shallow) is gone after a few; what is left is counted at Python speed, so the work stays linear.
_PASSES = 8
# Texts up to this many characters are counted before they are scanned (see `_nests_at_most`).
_COUNT_FIRST = 1 << 16


def _js_surrogate(match: re.Match[str]) -> str:
    text = match.group()
    if len(text) == 2:
        # JavaScript strings are UTF-16: a high surrogate followed by a low one *is* the astral character.
        high, low = ord(text[0]), ord(text[1])
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    # JSON.stringify escapes a lone surrogate as \udXXX (lower-case hex, ES2019 well-formed stringify), which keeps
    # the text valid UTF-8 and reads back as the same lone surrogate.
    return f"\\u{ord(text):04x}"


def dumps_compact(value: Any, error: type[FormatError]) -> bytes:
    """Serialise like JavaScript's `JSON.stringify` and encode as UTF-8.

    Compact separators, non-ASCII characters written raw, keys in insertion order, lone surrogates escaped the way
    JavaScript escapes them (encoding them with `surrogatepass` instead would produce bytes that are not UTF-8).

    Args:
        value: a JSON-compatible value.
        error: the FormatError subclass to raise when `value` cannot be written as JSON.

    Returns:
        The UTF-8 bytes of the JSON text.

    Raises:
        FormatError: (`error`) the value holds something JSON cannot represent (NaN, a set, a cycle, ...).
    """
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise error(f"cannot serialise as JSON: {exc}") from exc
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Rare (only strings holding surrogates), so the regular expression stays off the hot path.
        return _SURROGATES.sub(_js_surrogate, text).encode("utf-8")


def loads_strict(data: bytes, error: type[FormatError], what: str) -> Any:
    """Parse UTF-8 JSON text, turning every failure into `error`.

    Args:
        data: the UTF-8 bytes of a JSON text.
        error: the FormatError subclass to raise.
        what: what the text is, for the message ("keystore plaintext", ...).

    Returns:
        The parsed value.

    Raises:
        FormatError: (`error`) the bytes are not UTF-8, or not JSON (NaN and Infinity are refused), or the JSON is
            nested more than `MAX_JSON_DEPTH` levels deep.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 (invalid byte at offset {exc.start})") from exc
    try:
        return _decode(text, data)
    except ValueError as exc:
        # JSONDecodeError, NaN/Infinity, too deep, and integers beyond Python's digit limit.
        raise error(f"{what} is not valid JSON: {exc}") from exc


def loads_answer(data: bytes | str, what: str = "the answer") -> Any:
    """Parse the JSON of an answer from the service (a body, an error body, a stream event's data).

    Bytes are decoded as `json.loads` decodes them (UTF-8, or the UTF-16/32 its first bytes show), so every answer
    `httpx.Response.json()` read still reads; what changes is that nothing hostile gets through as anything but
    `FormatError`.

    Args:
        data: the body, or the text of an event.
        what: what the text is, for the message.

    Returns:
        The parsed value.

    Raises:
        FormatError: not JSON, `NaN` or an infinite number, nested more than `MAX_JSON_DEPTH` levels deep, or bytes
            that are not text.
    """
    utf8: bytes | None = None
    if isinstance(data, str):
        text = data
    else:
        encoding = json.detect_encoding(data)
        try:
            text = data.decode(encoding, "surrogatepass")
        except UnicodeDecodeError as exc:
            raise FormatError(f"{what} is not UTF-8 (invalid byte at offset {exc.start})") from exc
        if encoding.startswith("utf-8"):
            utf8 = data  # "utf-8" or "utf-8-sig": the bytes of the text (and of a byte order mark, which is not ASCII)
    try:
        return _decode(text, utf8)
    except ValueError as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from exc


def _decode(text: str, data: bytes | None = None) -> Any:
    """The C parser for text that nests at most `MAX_JSON_DEPTH` levels, the iterative parser for the rest.

    Args:
        text: the JSON text.
        data: its UTF-8 bytes, when the caller has them (saves encoding `text` again for `_nests_at_most`).

    Raises:
        ValueError: not JSON (a `json.JSONDecodeError`), a non-finite number, or too deep.
    """
    if _nests_at_most(text, data, MAX_JSON_DEPTH):
        try:
            return _DECODER.decode(text)
        except RecursionError:
            # Python 3.11 counts the caller's frames against the C parser's recursion: called from deep in a
            # recursion, it fails even on shallow text. The iterative parser's bound does not depend on the stack.
            pass
    return _decode_iteratively(text, MAX_JSON_DEPTH)


def _nests_at_most(text: str, data: bytes | None, limit: int) -> bool:
    """Whether the C parser reads `text` recursing at most `limit` levels deep.

    Exact for JSON text (True if and only if it nests at most `limit` levels). For text that is not JSON it is a
    bound: never True when the C parser would recurse deeper than `limit` before stopping at the error, sometimes
    False when it would not (the iterative parser then reports the same error, only more slowly).

    Args:
        text: the text to parse.
        data: its UTF-8 bytes, or None to encode them from `text`.
        limit: the deepest nesting allowed.
    """
    # No text nests deeper than it has opening brackets (those inside strings included): most texts stop here. Two
    # calls, where the scan below makes a dozen; on a large text they would cost as much as the scan's translation,
    # which counts the brackets too.
    if len(text) <= _COUNT_FIRST and text.count("[") + text.count("{") <= limit:
        return True
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    # In UTF-8 every byte of a multi-byte character is above 0x7F: the ASCII bytes are the text's own characters.
    # Escaped quotes go first, so that only the quotes that open and close strings are left: escaped backslashes,
    # then escaped quotes (what is left of a run of backslashes escapes the character after it). The search for a
    # single byte is the fast one.
    if b"\\" in data and b'\\"' in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(_AS_BRACKETS, _NOT_STRUCTURE)
    if skeleton.count(b"[") <= limit:
        return True
    # Brackets inside strings do not nest. A string holding no bracket, comma or colon is `""` by now, and in JSON
    # only such a string is (a `,` or a `:` stands between one string and the next); the quotes left, of strings that
    # hold some, then alternate between opening and closing ones.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[0::2])
    outside = skeleton.translate(None, b",:")
    # Each pass deletes the innermost pairs, which lowers the nesting by one level (at most one, if the brackets do
    # not balance): `level` plus the nesting of what is left is the nesting of the text, or a bound on it.
    level = 0
    while level + outside.count(b"[") > limit:
        if b"[" * (limit + 1 - level) in outside:
            return False  # too deep already (hostile text is usually a run of opening brackets)
        inner = outside.replace(b"[]", b"")
        if level == _PASSES or len(inner) == len(outside):
            return level + max(accumulate(map(_STEP.__getitem__, outside), initial=0)) <= limit
        outside, level = inner, level + 1
    return True


def _decode_iteratively(text: str, max_depth: int) -> Any:
    """Parse JSON with an explicit stack instead of recursion; the same values and errors as `_DECODER`.

    Only the arrays and objects are walked in Python (scalars go to the C scanner): slow next to the C parser, which
    is why it only runs when that one cannot.

    Raises:
        ValueError: not JSON, a non-finite number, or nested more than `max_depth` levels deep.
    """
    skip = _WHITESPACE.match
    # The open arrays and objects, innermost last, and for each object the key whose value is being read.
    containers: list[Any] = []
    keys: list[str] = []
    pos = skip(text, 0).end()  # type: ignore[union-attr]  # the pattern matches the empty string
    while True:
        # A value starts at `pos`.
        char = text[pos : pos + 1]
        value: Any
        if char == "[" or char == "{":
            if len(containers) >= max_depth:
                raise json.JSONDecodeError(f"nested more than {max_depth} levels deep", text, pos)
            pos = skip(text, pos + 1).end()  # type: ignore[union-attr]
            if char == "[":
                if text[pos : pos + 1] != "]":
                    containers.append([])
                    continue
                value, pos = [], pos + 1
            else:
                if text[pos : pos + 1] != "}":
                    key, pos = _member_key(text, pos)
                    containers.append({})
                    keys.append(key)
                    continue
                value, pos = {}, pos + 1
        else:
            value, pos = _scan_scalar(text, pos)
        # The value is complete: store it, and close every container that it completes.
        while True:
            pos = skip(text, pos).end()  # type: ignore[union-attr]
            if not containers:
                if pos != len(text):
                    raise json.JSONDecodeError("Extra data", text, pos)
                return value
            container = containers[-1]
            if type(container) is list:
                container.append(value)
                closer = "]"
            else:
                container[keys[-1]] = value
                closer = "}"
            char = text[pos : pos + 1]
            if char == ",":
                pos = skip(text, pos + 1).end()  # type: ignore[union-attr]
                if closer == "}":
                    keys[-1], pos = _member_key(text, pos)
                break
            if char != closer:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
            pos += 1
            containers.pop()
            if closer == "}":
                keys.pop()
            value = container


def _member_key(text: str, pos: int) -> tuple[str, int]:
    """An object's key at `pos` and the position of its value (after the colon)."""
    if text[pos : pos + 1] != '"':
        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
    key, pos = _scan_scalar(text, pos)
    pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] != ":":
        raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
    return key, _WHITESPACE.match(text, pos + 1).end()  # type: ignore[union-attr]

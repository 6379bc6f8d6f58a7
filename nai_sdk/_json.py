"""JSON as NovelAI's JavaScript client reads and writes it: strict parsing, compact JS-compatible output.

Private helpers shared by the keystore and the user-object codecs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nai_sdk.errors import FormatError

__all__ = ["dumps_compact", "loads_strict"]


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: JavaScript's JSON.parse rejects them, and accepting them here would let a
    # value in that could never be written back.
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads/json.dumps with keyword arguments build a new decoder/encoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

# A surrogate pair left as two code points, or a lone surrogate: the only characters that UTF-8 cannot encode.
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


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
        FormatError: (`error`) the bytes are not UTF-8, or not JSON (NaN and Infinity are refused).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 (invalid byte at offset {exc.start})") from exc
    try:
        return _DECODER.decode(text)
    except RecursionError as exc:
        raise error(f"{what} is JSON nested too deeply to parse") from exc
    except ValueError as exc:
        # JSONDecodeError, NaN/Infinity, and integers beyond Python's digit limit.
        raise error(f"{what} is not valid JSON: {exc}") from exc

"""Token ids <-> the base64 of little-endian unsigned integers that NovelAI's generation endpoints use."""

from __future__ import annotations

import array
import base64
import binascii
import sys
from collections.abc import Iterable

from nai_sdk.errors import TokenEncodingError
from nai_sdk.models import TextModel, get_model

__all__ = ["b64_to_tokens", "tokens_to_b64"]

# array type codes by item size: the C types differ between platforms, so pick by size.
_TYPECODES = {array.array(code).itemsize: code for code in "QLIHB"}
_SWAP = sys.byteorder != "little"


def _width(model: str | TextModel | int) -> int:
    if isinstance(model, bool):
        raise TokenEncodingError(f"the token width must be a model or a number of bytes, not {model!r}")
    if isinstance(model, int):
        if model not in _TYPECODES:
            raise TokenEncodingError(f"unsupported token width {model}: use 1, 2, 4 or 8 bytes")
        return model
    return get_model(model).token_width


def tokens_to_b64(tokens: Iterable[int], model: str | TextModel | int) -> str:
    """Pack token ids as NovelAI expects in a generation request's `input`.

    Args:
        tokens: the token ids.
        model: the model (its `token_width` is used: 4 bytes for Erato, 2 for the others) or a width in bytes.

    Returns:
        Standard base64 (with padding) of the ids as little-endian unsigned integers; `""` for no tokens.

    Raises:
        TokenEncodingError: a token is not an int or does not fit in the width (negative, or too large).
        UnknownModelError: `model` names no text model.
    """
    width = _width(model)
    values = tokens if isinstance(tokens, list | tuple) else list(tokens)
    try:
        packed = array.array(_TYPECODES[width], values)
    except (OverflowError, TypeError):
        raise _bad_token(values, width) from None
    if _SWAP:
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _bad_token(values: list[int] | tuple[int, ...], width: int) -> TokenEncodingError:
    """The error for the first token that cannot be packed (found again on the slow path only)."""
    limit = 1 << (8 * width)
    for index, value in enumerate(values):
        if not isinstance(value, int):
            return TokenEncodingError(f"token at index {index} is {type(value).__name__} {value!r}, not an int")
        if not 0 <= value < limit:
            return TokenEncodingError(f"token {value} at index {index} does not fit in {width} bytes (0..{limit - 1})")
    return TokenEncodingError(f"tokens do not fit in {width} bytes")  # pragma: no cover - array found a problem


def b64_to_tokens(data: str | bytes, model: str | TextModel | int) -> list[int]:
    """Unpack token ids from a generation response's `output` (or a streamed event's `token`).

    Args:
        data: standard base64 (with padding), as text or ASCII bytes.
        model: the model (its `token_width` is used) or a width in bytes.

    Returns:
        The token ids.

    Raises:
        TokenEncodingError: `data` is not valid base64, or its length is not a multiple of the width.
        UnknownModelError: `model` names no text model.
    """
    width = _width(model)
    if not isinstance(data, str | bytes | bytearray | memoryview):
        raise TokenEncodingError(f"token data must be base64 text or bytes, not {type(data).__name__}")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TokenEncodingError(f"token data is not valid base64: {exc}") from None
    if len(raw) % width:
        raise TokenEncodingError(f"token data is {len(raw)} bytes, not a multiple of the token width ({width} bytes)")
    unpacked = array.array(_TYPECODES[width])
    unpacked.frombytes(raw)
    if _SWAP:
        unpacked.byteswap()
    return unpacked.tolist()

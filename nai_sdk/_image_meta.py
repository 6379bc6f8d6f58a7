"""Reading the metadata NovelAI writes into a generated PNG, and checking its signature.

Both places NovelAI writes it are read (see `nai_sdk._png`): the text chunks, and the alpha channel's lowest bits.
The `Comment` field holds the request's parameters as JSON. Where NovelAI signs an image, `Comment.signed_hash` is an
Ed25519 signature of the image's pixels (RGB, or for V5 RGBA with the lowest alpha bit cleared, because that bit
carries the metadata) followed by the JSON of the other `Comment` fields, made with NovelAI's key. The layout and the
public key come from NovelAI's own checker (github.com/NovelAI/novelai-image-metadata, `nai_sig.py`, MIT), read
through novelai-python 0.9.0 (`tool/image_metadata/__init__.py`, `ImageVerifier.verify`, whose default key is the one
below). Checking needs every pixel, which only Pillow decodes fast: without it the signature is "unchecked".
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Any, Final, Literal

import attrs

from nai_sdk._json import loads_answer, loads_strict
from nai_sdk._png import Png, parse_png, read_hidden
from nai_sdk.errors import FormatError, ImageFormatError

__all__ = ["NOVELAI_VERIFY_KEY", "RawMetadata", "Signature", "extract"]

NOVELAI_VERIFY_KEY: Final = "Y2JcQAOhLwzwSDUJPNgL04nS0Tbqm7cSRc4xk0vRMic="
"""NovelAI's Ed25519 public key for image signatures (base64), as `nai_sig.py` and novelai-python 0.9.0 give it."""

Signature = Literal["valid", "invalid", "absent", "unchecked"]
Form = Literal["text", "alpha"]
_CLEAR_LSB: Final = bytes(value & 0xFE for value in range(256))


@attrs.frozen
class RawMetadata:
    """What was found: where, the fields as written, the parsed `Comment`, and the signature's state."""

    form: Form
    fields: dict[str, Any]
    comment: dict[str, Any]
    signature: Signature


def _from_alpha(png: Png) -> dict[str, Any]:
    _magic, payload = read_hidden(png)
    try:
        # The strict reader: bounded depth on every Python, NaN refused (the image may come from anyone).
        fields = loads_strict(payload, ImageFormatError, "the metadata in the alpha channel")
    except ImageFormatError as exc:
        raise ImageFormatError(f"the metadata in the alpha channel is not JSON: {exc}") from exc
    if not isinstance(fields, dict):
        raise ImageFormatError("the metadata in the alpha channel is not a JSON object")
    return fields


def _comment(fields: dict[str, Any]) -> dict[str, Any]:
    comment = fields.get("Comment")
    if isinstance(comment, str):
        try:
            comment = loads_answer(comment, "the metadata's Comment")
        except FormatError as exc:
            raise ImageFormatError(f"the metadata's Comment is not JSON: {exc}") from exc
    if not isinstance(comment, dict):
        raise ImageFormatError("the metadata's Comment is not a JSON object of parameters")
    return comment


def _pixels(data: bytes) -> tuple[bytes, bytes] | None:
    """(RGB bytes, RGBA bytes with the lowest alpha bit cleared), or None without Pillow."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as picture:
            rgba = picture.convert("RGBA").tobytes()
    except OSError as exc:
        raise ImageFormatError(f"Pillow cannot decode the image: {exc}") from exc
    rgb = bytearray(len(rgba) // 4 * 3)
    for channel in range(3):
        rgb[channel::3] = rgba[channel::4]
    masked = bytearray(rgba)
    masked[3::4] = rgba[3::4].translate(_CLEAR_LSB)
    return bytes(rgb), bytes(masked)


def _check_signature(data: bytes, comment: dict[str, Any], verify_key: str) -> Signature:
    signed = comment.get("signed_hash")
    if not isinstance(signed, str):
        return "absent"
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    try:
        signature = base64.b64decode(signed, validate=True)
        key = VerifyKey(base64.b64decode(verify_key))
    except (binascii.Error, ValueError, TypeError):
        return "invalid"
    pixels = _pixels(data)
    if pixels is None:
        return "unchecked"
    # The other fields as NovelAI's checker serializes them: Python's json.dumps defaults, in the image's order.
    parameters = json.dumps({k: v for k, v in comment.items() if k != "signed_hash"}).encode("utf-8")
    for image_bytes in pixels:
        try:
            key.verify(image_bytes + parameters, signature)
        except (BadSignatureError, ValueError):
            continue
        return "valid"
    return "invalid"


def extract(
    data: bytes,
    *,
    where: Literal["any", "text", "alpha"] = "any",
    verify: bool = True,
    verify_key: str = NOVELAI_VERIFY_KEY,
) -> RawMetadata:
    """Finds NovelAI's metadata in a PNG: the text chunks first, then the alpha channel.

    Raises:
        ImageFormatError: not a PNG, a damaged one, or one without NovelAI's metadata.
    """
    png = parse_png(data)
    form: Form
    if where != "alpha" and "Comment" in png.text:
        fields: dict[str, Any] = dict(png.text)
        form = "text"
    elif where == "text":
        raise ImageFormatError("the PNG has no NovelAI metadata in its text chunks (no Comment)")
    else:
        try:
            fields = _from_alpha(png)
        except ImageFormatError as exc:
            found = "no Comment text chunk, and " if where == "any" else ""
            raise ImageFormatError(f"the PNG has no NovelAI metadata: {found}{exc}") from exc
        form = "alpha"
    comment = _comment(fields)
    signature: Signature = _check_signature(data, comment, verify_key) if verify else "unchecked"
    return RawMetadata(form, fields, comment, signature)

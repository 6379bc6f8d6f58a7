"""Image inputs: bytes, paths or Pillow images in; PNG bytes out, fitted to the size NovelAI wants.

Pillow is optional (the `images` extra: `pip install '.[images]'` from a checkout). Everything that only reads a
PNG's size, or passes PNG bytes on, works without it; resizing, padding, and taking JPEG or WebP input need it, and
say so when it is missing. Pillow is not a dependency because a wheel of native codecs (about 4 MB) is a lot for the
many programs that only send prompts and save the PNGs they get back.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from nai_sdk._png import size_of
from nai_sdk.errors import ImageFormatError, ImageParamsError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = ["ImageInput", "as_png", "image_size", "pad_to_canvas", "resize_png"]

ImageInput: TypeAlias = "bytes | bytearray | memoryview | str | os.PathLike[str] | PILImage"
"""An image given to the SDK: PNG (or, with Pillow, any image) bytes, a path to such a file, or a Pillow image."""

_HINT = "install Pillow (pip install '.[images]' from a checkout)"


def _pillow(why: str) -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImageParamsError(f"{why} needs Pillow: {_HINT}") from exc
    return Image


def as_png(value: object, *, what: str = "image") -> bytes:
    """PNG (or other image) bytes of an `ImageInput`; a Pillow image is encoded as PNG.

    Raises:
        ImageFormatError: a path that cannot be read.
        TypeError: a value of another type.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str | os.PathLike):
        try:
            return Path(value).read_bytes()
        except OSError as exc:
            raise ImageFormatError(f"cannot read the {what} file {os.fspath(value)!r}: {exc.strerror}") from exc
    if hasattr(value, "save") and hasattr(value, "size"):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return buffer.getvalue()
    raise TypeError(f"the {what} must be bytes, a path or a Pillow image, not {type(value).__name__}")


def image_size(data: bytes, *, what: str = "image") -> tuple[int, int]:
    """(width, height) of a PNG from its header; of other formats through Pillow.

    Raises:
        ImageFormatError: not an image (or, without Pillow, not a PNG).
    """
    size = size_of(data)
    if size is not None:
        return size
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImageFormatError(f"the {what} is not a PNG (other formats need Pillow: {_HINT})") from None
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageFormatError(f"the {what} is not an image Pillow can read: {exc}") from exc
    return int(width), int(height)


def _open(data: bytes, what: str) -> Any:
    image_module = _pillow(f"changing the {what}")
    try:
        picture = image_module.open(io.BytesIO(data))
        picture.load()
    except OSError as exc:
        raise ImageFormatError(f"the {what} is not an image Pillow can read: {exc}") from exc
    return picture


def _png_of(picture: Any) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def resize_png(data: bytes, width: int, height: int, *, what: str = "image") -> bytes:
    """The image stretched to `width` x `height` (bicubic) as PNG, as the web client fits an img2img source."""
    image_module = _pillow(f"resizing the {what} to {width}x{height}")
    picture = _open(data, what)
    return _png_of(picture.convert("RGBA").resize((width, height), image_module.Resampling.BICUBIC))


def pad_to_canvas(data: bytes, canvases: tuple[tuple[int, int], ...], *, what: str = "image") -> bytes:
    """The image as it is when its size is one of `canvases`; else scaled into the canvas of the nearest aspect ratio
    and centred on black, as the web client prepares a character reference."""
    width, height = image_size(data, what=what)
    if (width, height) in canvases and size_of(data) is not None:
        return data
    image_module = _pillow(f"fitting the {what} ({width}x{height}) to {' or '.join(f'{w}x{h}' for w, h in canvases)}")
    picture = _open(data, what).convert("RGB")
    target_w, target_h = min(canvases, key=lambda size: abs(size[0] / size[1] - width / height))
    ratio = min(target_w / width, target_h / height)
    scaled = picture.resize((max(1, round(width * ratio)), max(1, round(height * ratio))), image_module.BICUBIC)
    canvas = image_module.new("RGB", (target_w, target_h), (0, 0, 0))
    canvas.paste(scaled, ((target_w - scaled.width) // 2, (target_h - scaled.height) // 2))
    return _png_of(canvas)

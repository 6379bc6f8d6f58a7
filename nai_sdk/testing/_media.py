"""Tiny, valid media files made with the standard library only.

The fake server must work with nothing but the ``testing`` extra installed, so images are written with
``zlib`` + ``struct`` (``nai_sdk._png``) instead of Pillow, and audio is a run of silent MPEG-1 Layer III frames.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Mapping, Sequence

from nai_sdk._image_tables import SOURCE_OF_MODEL
from nai_sdk._png import encode_png, hide_in_rows, stealth_payload

__all__ = ["mp3_silence", "png_image", "png_metadata", "zip_of"]


def png_image(width: int, height: int, seed: int, text: Mapping[str, str] | None = None) -> bytes:
    """Return an 8-bit PNG of a checkerboard whose colours and cell size depend on ``seed``.

    With ``text``, the image is RGBA and carries the metadata as NovelAI writes it: as ``tEXt`` chunks, and hidden
    in the lowest bit of the alpha channel (``stealth_pngcomp``, see ``nai_sdk._png``). Without, it is RGB.

    Args:
        width: Image width in pixels (at least 1).
        height: Image height in pixels (at least 1).
        seed: Any integer; equal seeds give byte-identical files.
        text: Optional ``tEXt`` chunks (keyword -> Latin-1 text), as NovelAI embeds its generation metadata.

    Returns:
        The PNG file's bytes.
    """
    rng = random.Random(seed)
    cell = rng.choice((4, 8, 16, 32))
    alpha = text is not None
    first = bytes(rng.randrange(256) for _ in range(3)) + (b"\xff" if alpha else b"")
    second = bytes(rng.randrange(256) for _ in range(3)) + (b"\xff" if alpha else b"")
    size = len(first)
    # Two distinct rows are enough for a checkerboard; building them once keeps large images cheap.
    tile_a = (first * cell + second * cell) * (width // (2 * cell) + 1)
    tile_b = (second * cell + first * cell) * (width // (2 * cell) + 1)
    row_a = tile_a[: width * size]
    row_b = tile_b[: width * size]
    if text is None:
        rows: list[bytes] | list[bytearray] = [row_a if (y // cell) % 2 == 0 else row_b for y in range(height)]
    else:
        payload = stealth_payload(text)
        if len(payload) * 8 > width * height:
            # Too small an image for the hidden copy: the text chunks alone carry the metadata.
            rows = [row_a if (y // cell) % 2 == 0 else row_b for y in range(height)]
        else:
            mutable = [bytearray(row_a if (y // cell) % 2 == 0 else row_b) for y in range(height)]
            hide_in_rows(mutable, height, payload)
            rows = mutable
    return encode_png(width, height, rows, alpha=alpha, text=text)


def zip_of(files: Sequence[tuple[str, bytes]]) -> bytes:
    """Return a ZIP archive holding ``files`` (name, content) in order, stored uncompressed like NovelAI's."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files:
            # A fixed timestamp keeps the archive byte-identical from run to run.
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(info, content)
    return buffer.getvalue()


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono, no CRC: 144 * 128000 // 44100 = 417 bytes per frame. With all
# side information zero (no main data, zero global gain) every decoder plays silence.
_MP3_HEADER = bytes((0xFF, 0xFB, 0x90, 0xC0))
_MP3_FRAME = _MP3_HEADER + bytes(417 - len(_MP3_HEADER))


def mp3_silence(frames: int) -> bytes:
    """Return ``frames`` silent MP3 frames (26 ms each)."""
    return _MP3_FRAME * frames


# Keys of a request's parameters that NovelAI leaves out of an image's Comment: the images themselves.
_UNRECORDED = frozenset(
    {"image", "mask", "reference_image_multiple", "director_reference_images", "reference_image", "characterPrompts"}
)


def png_metadata(
    prompt: str, seed: int, parameters: Mapping[str, object], model: str = "", action: str = "generate"
) -> dict[str, str]:
    """Return the text chunks NovelAI writes into generated images, filled from the request.

    The fields and their order follow images NovelAI made (read through novelai-python 0.9.0
    ``tool/image_metadata``): ``Title``, ``Description`` (the prompt), ``Software``, ``Source`` (the model's name
    and checkpoint hash), ``Generation time`` and ``Comment`` (the parameters as JSON, with the prompt, the negative
    prompt as ``uc``, and ``request_type``; the images sent are not recorded).
    """
    comment: dict[str, object] = {"prompt": prompt}
    comment.update((k, v) for k, v in parameters.items() if k not in _UNRECORDED and k != "seed")
    comment["seed"] = seed
    comment.setdefault("uc", parameters.get("negative_prompt", ""))
    comment["request_type"] = {"img2img": "Img2ImgRequest", "infill": "InpaintRequest"}.get(
        action, "PromptGenerateRequest"
    )
    return {
        "Title": "NovelAI generated image",
        "Description": prompt,
        "Software": "NovelAI",
        # An inpainting model's images name the model it inpaints for.
        "Source": SOURCE_OF_MODEL.get(model.removesuffix("-inpainting"), "FakeNovelAI"),
        "Generation time": "1.0",
        "Comment": json.dumps(comment, ensure_ascii=True, separators=(",", ":"), default=str),
    }

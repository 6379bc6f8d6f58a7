"""Tiny, valid media files made with the standard library only.

The fake server must work with nothing but the ``testing`` extra installed, so images are written with
``zlib`` + ``struct`` instead of Pillow, and audio is a run of silent MPEG-1 Layer III frames.
"""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence

__all__ = ["mp3_silence", "png_image", "png_metadata", "zip_of"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_image(width: int, height: int, seed: int, text: Mapping[str, str] | None = None) -> bytes:
    """Return an 8-bit RGB PNG of a checkerboard whose colours and cell size depend on ``seed``.

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
    first = bytes(rng.randrange(256) for _ in range(3))
    second = bytes(rng.randrange(256) for _ in range(3))
    # Two distinct rows are enough for a checkerboard; building them once keeps large images cheap.
    tile_a = (first * cell + second * cell) * (width // (2 * cell) + 1)
    tile_b = (second * cell + first * cell) * (width // (2 * cell) + 1)
    row_a = b"\x00" + tile_a[: width * 3]
    row_b = b"\x00" + tile_b[: width * 3]
    raw = b"".join(row_a if (y // cell) % 2 == 0 else row_b for y in range(height))
    chunks = [_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    for keyword, value in (text or {}).items():
        chunks.append(_png_chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + value.encode("latin-1", "replace")))
    chunks.append(_png_chunk(b"IDAT", zlib.compress(raw, 6)))
    chunks.append(_png_chunk(b"IEND", b""))
    return _PNG_SIGNATURE + b"".join(chunks)


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


def png_metadata(prompt: str, seed: int, parameters: Mapping[str, object]) -> dict[str, str]:
    """Return the ``tEXt`` chunks NovelAI writes into generated images, filled from the request."""
    comment = {"prompt": prompt, "seed": seed, **{k: v for k, v in parameters.items() if k != "seed"}}
    return {
        "Title": "NovelAI generated image",
        "Description": prompt[:200],
        "Software": "NovelAI",
        "Source": "FakeNovelAI",
        "Comment": json.dumps(comment, ensure_ascii=True, separators=(",", ":"), default=str),
    }

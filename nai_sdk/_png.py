"""PNG reading and writing with the standard library only: chunks, text chunks, and NovelAI's alpha-channel metadata.

NovelAI writes the metadata of a generated image twice: as PNG text chunks (`Title`, `Description`, `Software`,
`Source`, `Generation time`, `Comment`), and hidden in the least significant bit of every alpha value, where it
survives sites that strip text chunks. The hidden form, as NovelAI's own reader and writer lay it out
(github.com/NovelAI/novelai-image-metadata, `nai_meta.py` and `nai_meta_writer.py`, MIT; read through the copies in
novelai-python 0.9.0 `tool/image_metadata/lsb_extractor.py` and `lsb_injector.py`, and novelai-sdk 0.14.1
`_utils/nai_meta.py`):

* bits are read column by column: x = 0, y = 0..height-1, then x = 1, ...; eight bits make a byte, first bit
  highest;
* the first 15 bytes are the magic `stealth_pngcomp` (gzip) or `stealth_pnginfo` (plain, the form of the
  stable-diffusion-webui "stealth pnginfo" extension, which NovelAI's reader descends from);
* then a 32-bit big-endian length *in bits*, then that many bits of data: for `stealth_pngcomp`, a gzip stream of
  the JSON object of the text chunks (without `Title`), whose `Comment` is itself a JSON string.

Decoding a whole 1216x832 image in pure Python would take seconds (the Paeth and Average filters go byte by byte).
Each channel of a PNG row is filtered apart from the others, and a pixel depends only on pixels to its left and
above, so reading the hidden data only needs the alpha bytes of the first few columns of every row: about 20 columns
for a typical comment, some 20,000 bytes instead of 4,000,000.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from nai_sdk.errors import ImageFormatError

__all__ = [
    "COMPRESSED_MAGIC",
    "PLAIN_MAGIC",
    "Png",
    "encode_png",
    "hidden_bits",
    "parse_png",
    "read_hidden",
    "stealth_payload",
]

SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
COMPRESSED_MAGIC: Final = b"stealth_pngcomp"
PLAIN_MAGIC: Final = b"stealth_pnginfo"
_HEADER_BITS: Final = 8 * (len(COMPRESSED_MAGIC) + 4)
# A comment of NovelAI's is a few kilobytes; anything near this is not metadata (and would take long to read).
MAX_HIDDEN_BYTES: Final = 4 * 1024 * 1024
# Bits a PNG pixel holds per channel, and channels per colour type (PNG specification, table 11.1).
_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Bytes -> "0"/"1" of their lowest bit, for int(..., 2): the bit packing runs in C.
_LSB_ASCII: Final = bytes(48 + (value & 1) for value in range(256))
_MAX_DECOMPRESSED: Final = 1 << 30


@attrs.frozen
class Png:
    """The parts of a PNG file that the SDK reads.

    Attributes:
        width: pixels.
        height: pixels.
        bit_depth: bits per channel.
        color_type: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA.
        interlaced: Adam7 interlacing.
        text: the text chunks (`tEXt`, `zTXt`, `iTXt`), keyword -> text, in file order.
        idat: the image data, still compressed.
    """

    width: int
    height: int
    bit_depth: int
    color_type: int
    interlaced: bool
    text: Mapping[str, str]
    idat: bytes = attrs.field(repr=lambda value: f"<{len(value)} bytes>")

    @property
    def has_alpha(self) -> bool:
        """The image has an alpha channel (RGBA or grey + alpha)."""
        return self.color_type in (4, 6)


def _text_chunk(tag: bytes, data: bytes) -> tuple[str, str]:
    keyword, sep, rest = data.partition(b"\x00")
    if not sep or not 1 <= len(keyword) <= 79:
        raise ImageFormatError(f"a PNG {tag.decode()} chunk without a keyword")
    try:
        if tag == b"tEXt":
            return keyword.decode("latin-1"), rest.decode("latin-1")
        if tag == b"zTXt":
            if rest[:1] != b"\x00":
                raise ImageFormatError("a PNG zTXt chunk with an unknown compression method")
            return keyword.decode("latin-1"), _inflate(rest[1:], 1 << 24).decode("latin-1")
        # iTXt: keyword, compression flag, method, language tag, translated keyword, text (UTF-8).
        flag, method = rest[0], rest[1]
        _language, _, rest = rest[2:].partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        if flag:
            if method != 0:
                raise ImageFormatError("a PNG iTXt chunk with an unknown compression method")
            text = _inflate(text, 1 << 24)
        return keyword.decode("latin-1"), text.decode("utf-8")
    except (IndexError, UnicodeDecodeError) as exc:
        raise ImageFormatError(f"a damaged PNG {tag.decode()} chunk: {exc}") from exc


def _inflate(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise ImageFormatError(f"damaged compressed data in a PNG: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ImageFormatError("compressed data in a PNG inflates beyond the size of any image")
    return out


def parse_png(data: bytes) -> Png:
    """Reads a PNG's header, text chunks and image data; checks every chunk's CRC.

    Raises:
        ImageFormatError: not a PNG, or a damaged one.
    """
    if not data.startswith(SIGNATURE):
        raise ImageFormatError("not a PNG file (no PNG signature)")
    view = memoryview(data)
    pos = len(SIGNATURE)
    end = len(data)
    header: tuple[int, ...] | None = None
    text: dict[str, str] = {}
    idat: list[bytes] = []
    while True:
        if pos + 12 > end:
            raise ImageFormatError("a PNG file cut short (no IEND chunk)")
        (length,) = struct.unpack_from(">I", data, pos)
        tag = data[pos + 4 : pos + 8]
        body_end = pos + 8 + length
        if length > 0x7FFFFFFF or body_end + 4 > end:
            raise ImageFormatError(f"a PNG chunk {tag!r} runs past the end of the file")
        (crc,) = struct.unpack_from(">I", data, body_end)
        if zlib.crc32(view[pos + 4 : body_end]) != crc:
            raise ImageFormatError(f"a damaged PNG file: chunk {tag!r} fails its CRC check")
        body = view[pos + 8 : body_end]
        if header is None and tag != b"IHDR":
            raise ImageFormatError("a PNG file whose first chunk is not IHDR")
        if tag == b"IHDR":
            if length != 13:
                raise ImageFormatError("a PNG IHDR chunk of the wrong size")
            header = struct.unpack(">IIBBBBB", body)
        elif tag == b"IDAT":
            idat.append(bytes(body))
        elif tag in (b"tEXt", b"zTXt", b"iTXt"):
            keyword, value = _text_chunk(tag, bytes(body))
            text.setdefault(keyword, value)
        elif tag == b"IEND":
            break
        pos = body_end + 4
    assert header is not None
    width, height, depth, color, _compression, _filter, interlace = header
    if not (width and height) or color not in _CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise ImageFormatError(f"a PNG header NovelAI never writes: {width}x{height}, type {color}, {depth} bits")
    return Png(width, height, depth, color, bool(interlace), text, b"".join(idat))


def size_of(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, without reading the rest; None when `data` is not a PNG."""
    if len(data) < 24 or not data.startswith(SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack_from(">II", data, 16)
    return width, height


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _alpha_columns(png: Png, raw: bytes, columns: int) -> bytes:
    """The alpha values of the first `columns` columns, column after column (x major, then y)."""
    bpp = _CHANNELS[png.color_type]
    offset = bpp - 1
    stride = 1 + png.width * bpp
    columns = min(columns, png.width)
    rows: list[bytes] = []
    previous = bytes(columns)
    for y in range(png.height):
        start = y * stride
        kind = raw[start]
        # The raw alpha bytes of this row's first `columns` pixels: a C-speed slice.
        line = raw[start + 1 + offset : start + 1 + columns * bpp : bpp]
        if kind == 0:
            current = line
        elif kind == 2:
            current = bytes([(v + u) & 255 for v, u in zip(line, previous, strict=True)])
        else:
            values = bytearray(columns)
            left = 0
            if kind == 1:
                for x, v in enumerate(line):
                    left = values[x] = (v + left) & 255
            elif kind == 3:
                for x, v in enumerate(line):
                    left = values[x] = (v + ((left + previous[x]) >> 1)) & 255
            elif kind == 4:
                upper_left = 0
                for x, v in enumerate(line):
                    up = previous[x]
                    left = values[x] = (v + _paeth(left, up, upper_left)) & 255
                    upper_left = up
            else:
                raise ImageFormatError(f"a damaged PNG: row {y} has filter type {kind}")
            current = bytes(values)
        rows.append(current)
        previous = current
    by_rows = b"".join(rows)
    return b"".join(by_rows[x::columns] for x in range(columns))


def _pixels_raw(png: Png) -> bytes:
    """The inflated image data (filter byte + filtered row, for every row), checked for size."""
    if not png.has_alpha or png.bit_depth != 8 or png.interlaced:
        raise ImageFormatError("the image has no 8-bit, non-interlaced alpha channel to hide metadata in")
    expected = png.height * (1 + png.width * _CHANNELS[png.color_type])
    raw = _inflate(png.idat, min(_MAX_DECOMPRESSED, expected))
    if len(raw) != expected:
        raise ImageFormatError("a damaged PNG: its image data does not fill the image")
    return raw


def _lowest_bits(png: Png, raw: bytes, bits: int) -> bytes:
    """The first `bits` bits (a multiple of 8) of the alpha channel's lowest bits, column after column."""
    if bits > png.width * png.height:
        raise ImageFormatError("the hidden metadata claims more bits than the image has pixels")
    alpha = _alpha_columns(png, raw, -(-bits // png.height))[:bits]
    return int(alpha.translate(_LSB_ASCII), 2).to_bytes(bits // 8, "big")


def hidden_bits(png: Png, bits: int) -> bytes:
    """The first `bits` bits (a multiple of 8) of the alpha channel's lowest bits, column after column, as bytes.

    Raises:
        ImageFormatError: the image has no 8-bit alpha channel, is interlaced, or is damaged.
    """
    return _lowest_bits(png, _pixels_raw(png), bits)


def read_hidden(png: Png) -> tuple[bytes, bytes]:
    """The magic and the payload hidden in the alpha channel (inflated, for stealth_pngcomp).

    Raises:
        ImageFormatError: no hidden metadata, or a damaged one.
    """
    raw = _pixels_raw(png)
    header = _lowest_bits(png, raw, _HEADER_BITS)
    magic = header[: len(COMPRESSED_MAGIC)]
    if magic not in (COMPRESSED_MAGIC, PLAIN_MAGIC):
        raise ImageFormatError("no metadata hidden in the alpha channel (no stealth_pngcomp magic)")
    (length,) = struct.unpack(">I", header[len(magic) :])
    if length % 8 or length // 8 > MAX_HIDDEN_BYTES:
        raise ImageFormatError(f"hidden metadata of an impossible length ({length} bits)")
    data = _lowest_bits(png, raw, _HEADER_BITS + length)[len(header) :]
    if magic == COMPRESSED_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ImageFormatError(f"the hidden metadata is not a gzip stream: {exc}") from exc
    return magic, data


def stealth_payload(text: Mapping[str, str], *, compressed: bool = True) -> bytes:
    """The bits NovelAI hides in the alpha channel for these text chunks: magic, length in bits, data."""
    import json

    fields = {key: value for key, value in text.items() if key != "Title"}
    data = json.dumps(fields).encode("utf-8")
    if compressed:
        # mtime=0: the same metadata gives the same bytes.
        data = gzip.compress(data, mtime=0)
    magic = COMPRESSED_MAGIC if compressed else PLAIN_MAGIC
    return magic + struct.pack(">I", 8 * len(data)) + data


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(
    width: int,
    height: int,
    rows: Iterable[bytes] | Iterable[bytearray],
    *,
    alpha: bool,
    text: Mapping[str, str] | None = None,
    level: int = 6,
) -> bytes:
    """An 8-bit RGB or RGBA PNG from its rows of pixels (unfiltered), with `tEXt` chunks.

    Args:
        width: pixels.
        height: pixels.
        rows: `height` rows of `width * (4 if alpha else 3)` bytes.
        alpha: RGBA rather than RGB.
        text: keyword -> Latin-1 text.
        level: zlib level.
    """
    raw = b"".join(b"\x00" + row for row in rows)
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0))]
    for keyword, value in (text or {}).items():
        chunks.append(_chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + value.encode("latin-1", "replace")))
    chunks.append(_chunk(b"IDAT", zlib.compress(raw, level)))
    chunks.append(_chunk(b"IEND", b""))
    return SIGNATURE + b"".join(chunks)


def hide_in_rows(rows: list[bytearray], height: int, payload: bytes) -> None:
    """Writes `payload`'s bits into the lowest bit of the alpha of RGBA `rows`, column after column, in place."""
    bits = len(payload) * 8
    if bits > height * (len(rows[0]) // 4):
        raise ValueError("the payload does not fit in the image")
    # One byte per bit, x-major, then each row takes every height-th of them: C-speed slices again.
    flat = bin(int.from_bytes(payload, "big"))[2:].zfill(bits).encode("ascii").translate(_BIT_TO_BYTE)
    columns = -(-bits // height)
    flat += bytes(columns * height - bits)
    for y, row in enumerate(rows):
        wanted = flat[y::height]
        alpha = row[3 : columns * 4 : 4]
        row[3 : columns * 4 : 4] = bytes((a & 0xFE) | b for a, b in zip(alpha, wanted, strict=True))


_BIT_TO_BYTE: Final = bytes.maketrans(b"01", b"\x00\x01")

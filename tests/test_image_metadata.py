"""read_metadata: the text chunks and the alpha-channel form, on images the fake writes and on images an independent
encoder (Pillow, with the bits laid out by the straightforward loop below) writes; signatures; damaged files."""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nai_sdk._png import encode_png
from nai_sdk.errors import ImageFormatError
from nai_sdk.images import Character, ImageMetadata, V3Params, V5Params, V45Params, read_metadata
from nai_sdk.testing._media import png_image, png_metadata
from tests._client_helpers import maybe

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMMENT = {"prompt": "a lantern, very aesthetic", "steps": 28, "width": 64, "height": 64, "seed": 7, "uc": "blurry"}
FIELDS = {
    "Title": "NovelAI generated image",
    "Description": "a lantern",
    "Software": "NovelAI",
    "Source": "NovelAI Diffusion V4.5 B9F340FD",
    "Generation time": "2.5",
    "Comment": json.dumps(COMMENT),
}


def hide(pixels: bytearray, width: int, height: int, payload: bytes) -> None:
    """Writes `payload` into the lowest alpha bits of RGBA `pixels`, one bit per pixel, column after column."""
    bits = "".join(f"{byte:08b}" for byte in payload)
    for n, bit in enumerate(bits):
        x, y = divmod(n, height)
        i = (y * width + x) * 4 + 3
        pixels[i] = (pixels[i] & 0xFE) | int(bit)


def stealth(fields: dict[str, str], *, compressed: bool = True) -> bytes:
    data = json.dumps({k: v for k, v in fields.items() if k != "Title"}).encode()
    if compressed:
        data = gzip.compress(data)
    magic = b"stealth_pngcomp" if compressed else b"stealth_pnginfo"
    return magic + struct.pack(">I", len(data) * 8) + data


def pillow_png(
    width: int, height: int, payload: bytes | None, *, noise: bool = True, text: dict[str, str] | None = None
) -> bytes:
    """An RGBA PNG written by Pillow (its own filters and compression), with `payload` hidden in the alpha bits."""
    pil = pytest.importorskip("PIL.Image")
    png_info = pytest.importorskip("PIL.PngImagePlugin")
    import random

    rng = random.Random(width * height)
    if noise:
        pixels = bytearray(rng.randbytes(width * height * 4))
    else:
        pixels = bytearray(b"".join(bytes((x * 255 // width, 40, 200, 255)) for x in range(width)) * height)
    pixels[3::4] = b"\xff" * (width * height)
    if payload is not None:
        hide(pixels, width, height, payload)
    picture = pil.frombytes("RGBA", (width, height), bytes(pixels))
    info = png_info.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


# --- the two forms ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("noise", [True, False])
def test_the_alpha_form_written_by_an_independent_encoder(noise: bool) -> None:
    data = pillow_png(300, 200, stealth(FIELDS), noise=noise)
    meta = read_metadata(data)
    assert ("alpha", COMMENT, "nai-diffusion-4-5-full") == (meta.form, dict(meta.comment), meta.model)
    assert ("NovelAI", "NovelAI Diffusion V4.5 B9F340FD", 2.5, 7) == (
        meta.software,
        meta.source,
        meta.generation_time,
        meta.seed,
    )
    assert ("a lantern, very aesthetic", "blurry") == (meta.prompt, meta.negative_prompt)


def test_the_plain_alpha_form() -> None:
    meta = read_metadata(pillow_png(64, 64, stealth(FIELDS, compressed=False)))
    assert ("alpha", COMMENT) == (meta.form, dict(meta.comment))


def test_a_payload_longer_than_a_column_spans_columns() -> None:
    fields = {**FIELDS, "Comment": json.dumps({**COMMENT, "prompt": "x" * 3000})}
    payload = stealth(fields, compressed=False)
    assert len(payload) * 8 > 64 * 10
    assert "x" * 3000 == read_metadata(pillow_png(640, 64, payload)).prompt


def test_text_chunks_come_first_and_either_form_can_be_asked_for() -> None:
    other = {**FIELDS, "Comment": json.dumps({**COMMENT, "seed": 8})}
    data = pillow_png(64, 64, stealth(FIELDS), text=other)
    assert ("text", 8) == (read_metadata(data).form, read_metadata(data).seed)
    assert ("alpha", 7) == (read_metadata(data, where="alpha").form, read_metadata(data, where="alpha").seed)
    assert "text" == read_metadata(data, where="text").form


def test_paths_are_read(tmp_path: Path) -> None:
    target = tmp_path / "image.png"
    target.write_bytes(pillow_png(64, 64, stealth(FIELDS)))
    assert 7 == read_metadata(target).seed
    assert 7 == read_metadata(str(target)).seed


def test_the_fakes_images_carry_both_forms() -> None:
    params = V45Params(width=128, height=64, seed=3, characters=[Character("1girl", "hat", (0.3, 0.7))])
    body = params.to_request("a lantern")
    data = png_image(128, 64, 1, png_metadata(body["input"], 3, body["parameters"], body["model"]))
    text, alpha = read_metadata(data, where="text"), read_metadata(data, where="alpha")
    assert text.comment == alpha.comment
    assert "NovelAI Diffusion V4.5 B9F340FD" == text.source == alpha.source
    # The independent reader (Pillow) agrees on the text chunks.
    pil = pytest.importorskip("PIL.Image")
    with pil.open(io.BytesIO(data)) as picture:
        assert picture.mode == "RGBA"
        assert json.loads(picture.info["Comment"]) == dict(text.comment)


@pytest.mark.parametrize(
    ("params", "prompt"),
    [
        (
            V45Params(
                width=128, height=64, seed=5, characters=[Character('1girl "hi"', "hat", (0.3, 0.7))], use_coords=True
            ),
            "a lantern",
        ),
        (V5Params(width=256, height=128, seed=9, characters=[Character('a "sign"')]), 'a "door"'),
        (V3Params(width=256, height=128, seed=3, smea=True, variety_plus=True, negative_prompt="blurry"), "a fox"),
        (V45Params(width=256, height=128, seed=2, uc_preset="light", quality_toggle=False, variety_plus=True), "y"),
    ],
)
def test_the_parameters_read_back_build_the_same_request(params: Any, prompt: str) -> None:
    body = params.to_request(prompt)
    data = png_image(
        params.width, params.height, 1, png_metadata(body["input"], params.seed, body["parameters"], body["model"])
    )
    meta = read_metadata(data, where="alpha")
    assert body == meta.params().to_request(meta.prompt, meta.model)


async def test_images_from_every_client_round_trip(nai: Any) -> None:
    params = V5Params(width=64, height=64, seed=21, characters=[Character("1girl", center=(0.3, 0.5))], use_coords=True)
    result = await maybe(nai.image.generate('a "sign"', params))
    meta = result.images[0].metadata()
    assert ("nai-diffusion-5-full", 21, "absent") == (meta.model, meta.seed, meta.signature)
    again = await maybe(nai.image.generate(meta.prompt, meta.params(), model=meta.model))
    assert result.images[0].data == again.images[0].data


def test_metadata_without_a_known_source_needs_a_model() -> None:
    meta = ImageMetadata("text", {"Source": "Something else"}, {**COMMENT, "sampler": "k_euler"}, "absent")
    assert meta.model is None
    assert isinstance(meta.params(), V45Params)  # the default model
    assert isinstance(meta.params("nai-diffusion-3"), V3Params)
    unknown_v5 = ImageMetadata("text", {"Source": "NovelAI Diffusion V5 12345678"}, COMMENT, "absent")
    assert "nai-diffusion-5-curated" == unknown_v5.model
    with pytest.raises(ImageFormatError, match="size"):
        ImageMetadata("text", {}, {"prompt": "x"}, "absent").params()
    with pytest.raises(ImageFormatError, match="sent again"):
        ImageMetadata("text", {}, {**COMMENT, "width": 100}, "absent").params()


# --- signatures ---------------------------------------------------------------------------------------------------


def signed_png(key: Any, *, tamper: bool = False, v5: bool = False) -> bytes:
    """A 64x64 RGBA PNG whose Comment is signed with `key` as NovelAI signs: pixels, then the other fields' JSON."""
    pytest.importorskip("PIL.Image")
    width = height = 64
    pixels = bytearray(bytes(range(256)) * (width * height * 4 // 256))
    pixels[3::4] = b"\xff" * (width * height)
    comment = dict(COMMENT)
    if v5:
        image_bytes = bytes(pixels[:])
        cleared = bytearray(image_bytes)
        cleared[3::4] = bytes(a & 0xFE for a in cleared[3::4])
        message = bytes(cleared)
    else:
        rgb = bytearray()
        for i in range(0, len(pixels), 4):
            rgb += pixels[i : i + 3]
        message = bytes(rgb)
    signature = key.sign(message + json.dumps(comment).encode()).signature
    comment["signed_hash"] = base64.b64encode(signature).decode()
    fields = {**FIELDS, "Comment": json.dumps(comment)}
    hide(pixels, width, height, stealth(fields))
    if tamper:
        pixels[0] ^= 0x10
    pil = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    pil.frombytes("RGBA", (width, height), bytes(pixels)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("v5", [False, True])
def test_signatures_are_checked(v5: bool) -> None:
    from nacl.signing import SigningKey

    key = SigningKey(bytes(range(32)))
    verify_key = base64.b64encode(bytes(key.verify_key)).decode()
    assert "valid" == read_metadata(signed_png(key, v5=v5), verify_key=verify_key).signature
    assert "invalid" == read_metadata(signed_png(key, tamper=True, v5=v5), verify_key=verify_key).signature
    # Not NovelAI's key: not NovelAI's signature.
    assert "invalid" == read_metadata(signed_png(key, v5=v5)).signature
    assert "unchecked" == read_metadata(signed_png(key, v5=v5), verify=False).signature
    assert "absent" == read_metadata(pillow_png(64, 64, stealth(FIELDS))).signature


def test_without_pillow_a_signature_is_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    from nacl.signing import SigningKey

    key = SigningKey(bytes(range(32)))
    data = signed_png(key)
    monkeypatch.setitem(sys.modules, "PIL", None)
    verify_key = base64.b64encode(bytes(key.verify_key)).decode()
    assert "unchecked" == read_metadata(data, verify_key=verify_key).signature


# --- damaged files ------------------------------------------------------------------------------------------------


def chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def rgba_png(width: int, height: int, rows: list[bytes]) -> bytes:
    return encode_png(width, height, rows, alpha=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a PNG"),
        (b"GIF89a" + bytes(100), "not a PNG"),
        (PNG_SIGNATURE, "cut short"),
        (PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 6, 0, 0, 0))[:-1], "runs past"),
        (PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 6, 0, 0, 0))[:-4] + b"\0\0\0\0", "CRC"),
        (PNG_SIGNATURE + chunk(b"IDAT", b"") + chunk(b"IEND", b""), "first chunk"),
        (PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 8, 8, 6, 0, 0, 0)) + chunk(b"IEND", b""), "header"),
        (
            PNG_SIGNATURE
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", b"junk")
            + chunk(b"IEND", b""),
            "damaged",
        ),
        (rgba_png(8, 8, [bytes(32)] * 8), "no NovelAI metadata"),
        (encode_png(8, 8, [bytes(24)] * 8, alpha=False), "no 8-bit, non-interlaced alpha"),
        (encode_png(8, 8, [bytes(24)] * 8, alpha=False, text={"Comment": "not json"}), "not JSON"),
        (encode_png(8, 8, [bytes(24)] * 8, alpha=False, text={"Comment": "[1, 2]"}), "not a JSON object"),
    ],
)
def test_damaged_pngs_are_format_errors(data: bytes, message: str) -> None:
    with pytest.raises(ImageFormatError, match=message):
        read_metadata(data)


def test_a_damaged_hidden_payload_is_a_format_error() -> None:
    bad_gzip = b"stealth_pngcomp" + struct.pack(">I", 8 * 20) + b"\x1f\x8b" + bytes(18)
    with pytest.raises(ImageFormatError, match="gzip"):
        read_metadata(pillow_png(64, 64, bad_gzip))
    too_long = b"stealth_pngcomp" + struct.pack(">I", 8 * 100000)
    with pytest.raises(ImageFormatError, match=r"more bits|impossible"):
        read_metadata(pillow_png(64, 64, too_long))
    not_json = b"stealth_pnginfo" + struct.pack(">I", 8 * 5) + b"hello"
    with pytest.raises(ImageFormatError, match="not JSON"):
        read_metadata(pillow_png(64, 64, not_json))


def test_a_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(ImageFormatError, match="cannot read"):
        read_metadata(tmp_path / "missing.png")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_value_or_a_format_error(data: bytes) -> None:
    for candidate in (data, PNG_SIGNATURE + data):
        with contextlib.suppress(ImageFormatError):
            read_metadata(candidate)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2000), st.binary(min_size=1, max_size=8))
def test_damaging_a_good_image_gives_a_value_or_a_format_error(position: int, garbage: bytes) -> None:
    good = png_image(128, 64, 1, png_metadata("x", 1, {"width": 128, "height": 64}, "nai-diffusion-4-5-full"))
    assert "alpha" == read_metadata(good, where="alpha").form
    position %= len(good)
    damaged = good[:position] + garbage + good[position + len(garbage) :]
    for where in ("any", "alpha"):
        with contextlib.suppress(ImageFormatError):
            read_metadata(damaged, where=where)  # type: ignore[arg-type]

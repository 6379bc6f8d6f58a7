"""Director tools, vibe encoding and `.naiv4vibe` files, and streamed generation, through every client."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from nai_sdk._png import encode_png, size_of
from nai_sdk.errors import ImageFormatError, ImageParamsError, StreamError
from nai_sdk.images import (
    DirectorTool,
    Emotion,
    ImagePreview,
    V5Params,
    V45Params,
    Vibe,
    VibeFile,
    read_metadata,
    read_vibe_files,
    write_vibe_bundle,
)
from nai_sdk.resources.image import _FrameDecoder, director_request
from tests._client_helpers import maybe

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png(width: int, height: int, value: int = 90) -> bytes:
    return encode_png(width, height, [bytes([value]) * width * 3] * height, alpha=False)


# --- director tools -----------------------------------------------------------------------------------------------


def test_director_bodies() -> None:
    image = png(96, 64)
    plain = director_request("lineart", image).to_dict()
    assert {"req_type": "lineart", "image": base64.b64encode(image).decode(), "width": 96, "height": 64} == plain
    colorize = director_request(DirectorTool.COLORIZE, image, prompt="red hair", defry=2).to_dict()
    assert ("red hair", 2) == (colorize["prompt"], colorize["defry"])
    emotion = director_request("emotion", image, emotion=Emotion.HAPPY).to_dict()
    assert ("happy;;", 0) == (emotion["prompt"], emotion["defry"])
    assert "sad;;tears" == director_request("emotion", image, emotion="sad", prompt="tears").to_dict()["prompt"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda img: director_request("upscale", img), "unknown director tool"),
        (lambda img: director_request("lineart", img, prompt="x"), "takes no prompt"),
        (lambda img: director_request("bg-removal", img, defry=1), "takes no prompt"),
        (lambda img: director_request("emotion", img), "needs an emotion"),
        (lambda img: director_request("emotion", img, emotion="grumpy"), "unknown emotion"),
        (lambda img: director_request("colorize", img, emotion="happy"), "only the emotion tool"),
        (lambda img: director_request("colorize", img, defry=6), "0..5"),
    ],
)
def test_director_options_are_checked(call: Any, message: str) -> None:
    with pytest.raises(ImageParamsError, match=message):
        call(png(64, 64))


def test_a_director_image_that_is_not_one_is_a_format_error() -> None:
    with pytest.raises(ImageFormatError):
        director_request("sketch", b"not an image")


@pytest.mark.parametrize("tool", [tool.value for tool in DirectorTool])
async def test_every_director_tool_against_the_fake(nai: Any, tool: str, tmp_path: Path) -> None:
    options: dict[str, Any] = {}
    if tool == "emotion":
        options = {"emotion": "smug", "prompt": "grin", "defry": 1}
    elif tool == "colorize":
        options = {"prompt": "blue sky"}
    result = await maybe(nai.image.director(tool, png(128, 64), **options))
    (image,) = result.images
    assert (128, 64) == size_of(image.data)
    assert image.save(tmp_path).read_bytes().startswith(PNG_SIGNATURE)


# --- vibes --------------------------------------------------------------------------------------------------------


async def test_encode_vibe_then_generate_with_it(nai: Any, fake: Any) -> None:
    reference = png(64, 64, 33)

    def encodings() -> int:
        return sum(1 for r in fake.requests.all() if r.path == "/ai/encode-vibe")

    before = encodings()
    vibe = await maybe(nai.image.encode_vibe(reference, information_extracted=0.7, strength=0.4))
    assert (0.7, 0.4, "nai-diffusion-4-5-full") == (vibe.information_extracted, vibe.strength, vibe.model)
    # Encoded once: the same image, model and information extracted come from the cache.
    again = await maybe(nai.image.encode_vibe(reference, information_extracted=0.7, strength=0.9))
    assert (vibe.image, 0.9) == (again.image, again.strength)
    assert before + 1 == encodings()
    result = await maybe(nai.image.generate("x", V45Params(width=64, height=64, seed=2, vibes=[vibe])))
    meta = read_metadata(result.images[0].data)
    assert ([0.4], [0.7]) == (
        meta.comment["reference_strength_multiple"],
        meta.comment["reference_information_extracted_multiple"],
    )
    # An encoding for V4.5 does not go to V4.
    with pytest.raises(ImageParamsError, match="encoded for"):
        await maybe(nai.image.generate("x", V45Params(vibes=[vibe]), model="nai-diffusion-4-full"))
    with pytest.raises(ImageParamsError, match="V5 has no vibe transfer"):
        await maybe(nai.image.encode_vibe(reference, model="nai-diffusion-5-full"))


async def test_a_vibe_file_holds_its_encodings(nai: Any, fake: Any, tmp_path: Path) -> None:
    file = VibeFile.from_image(png(64, 64, 44), strength=0.5)
    vibe = await maybe(nai.image.encode_vibe(file, model="nai-diffusion-4-full"))
    saved = file.with_encoding(vibe).save(tmp_path / "ref.naiv4vibe")
    loaded = VibeFile.load(saved)
    before = sum(1 for r in fake.requests.all() if r.path == "/ai/encode-vibe")
    # The file has the encoding: nothing is sent.
    held = await maybe(nai.image.encode_vibe(loaded, model="nai-diffusion-4-full"))
    assert vibe.image == held.image
    assert before == sum(1 for r in fake.requests.all() if r.path == "/ai/encode-vibe")
    assert vibe.image == loaded.vibe("nai-diffusion-4-full").image
    with pytest.raises(ImageParamsError, match="no encoding"):
        loaded.vibe("nai-diffusion-4-5-full")


def test_vibe_files_and_bundles_round_trip(tmp_path: Path) -> None:
    first = VibeFile.from_image(png(8, 8), name="lantern", strength=0.4).with_encoding(
        Vibe(b"\x01\x02\x03", 0.7, model="nai-diffusion-4-5-full")
    )
    first = first.with_encoding(Vibe(b"\x04", 1.0, model="nai-diffusion-4-5-full"))
    second = VibeFile("encoded only").with_encoding(Vibe(b"\x05\x06", 0.5, model="nai-diffusion-4-curated-preview"))
    bundle = write_vibe_bundle(tmp_path / "all.naiv4vibebundle", [first, second])
    read = read_vibe_files(bundle)
    assert [("lantern", png(8, 8), 0.4), ("encoded only", None, 0.6)] == [(v.name, v.image, v.strength) for v in read]
    assert {"v4-5full": {0.7: b"\x01\x02\x03", 1.0: b"\x04"}} == read[0].encodings
    assert {"v4curated": {0.5: b"\x05\x06"}} == read[1].encodings
    assert b"\x01\x02\x03" == read[0].vibe("nai-diffusion-4-5-full", information_extracted=0.7).image
    obj = json.loads((first.save(tmp_path / "one.naiv4vibe")).read_text())
    assert ("novelai-vibe-transfer", 1, "image") == (obj["identifier"], obj["version"], obj["type"])
    assert {"encoding": "AQID", "params": {"information_extracted": 0.7}} in obj["encodings"]["v4-5full"].values()


def test_a_vibe_file_from_another_tool_is_read() -> None:
    # The layout public vibe tools write: an encoding-only file, its entry keyed "unknown", importInfo beside.
    document = {
        "identifier": "novelai-vibe-transfer",
        "version": 1,
        "type": "encoding",
        "id": "abc",
        "encodings": {"v4-5curated": {"unknown": {"encoding": "AQID", "params": {}}}},
        "name": "abc-def",
        "createdAt": 1700000000000,
        "importInfo": {"model": "nai-diffusion-4-5-curated", "information_extracted": 0.6, "strength": 0.3},
    }
    (file,) = read_vibe_files(json.dumps(document).encode())
    vibe = file.vibe("nai-diffusion-4-5-curated")
    assert (b"\x01\x02\x03", 0.6, 0.3) == (vibe.image, vibe.information_extracted, vibe.strength)
    assert ("abc", 1700000000000) == (file.to_json()["id"], file.to_json()["createdAt"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "JSON"),
        (b"[]", "not a NovelAI vibe file"),
        (b'{"identifier": "something"}', "not a NovelAI vibe file"),
        (b'{"identifier": "novelai-vibe-transfer", "image": 5}', "base64"),
        (b'{"identifier": "novelai-vibe-transfer", "encodings": []}', "not an object"),
        (b'{"identifier": "novelai-vibe-transfer", "encodings": {"v4full": {"a": {"encoding": "!!"}}}}', "base64"),
        (b'{"identifier": "novelai-vibe-transfer-bundle", "vibes": []}', "without vibes"),
    ],
)
def test_damaged_vibe_files_are_format_errors(data: bytes, message: str) -> None:
    with pytest.raises(ImageFormatError, match=message):
        read_vibe_files(data)


# --- streaming ----------------------------------------------------------------------------------------------------


async def test_streamed_generation_yields_previews_then_the_image(nai: Any) -> None:
    stream = nai.image.generate_stream("a lantern", V5Params(width=128, height=64, seed=4, n_samples=2))
    if hasattr(stream, "__aiter__"):
        async with stream:
            events = [event async for event in stream]
    else:
        with stream:
            events = list(stream)
    assert 4 == stream.seed
    assert [(0, False), (0, False), (0, True), (1, False), (1, False), (1, True)] == [
        (e.sample, e.final) for e in events
    ]
    finals = [e for e in events if e.final]
    assert [(128, 64), (128, 64)] == [size_of(e.data) for e in finals]
    assert [4, 5] == [read_metadata(e.data).seed for e in finals]
    assert all(e.step is not None for e in events if not e.final)


async def test_a_stream_reads_to_its_images(nai: Any) -> None:
    stream = nai.image.generate_stream("a lantern", V45Params(width=64, height=64, seed=6))
    result = await maybe(stream.images())
    assert (["image_0.png"], 6) == ([image.name for image in result.images], result.seed)


def frame(event: dict[str, Any]) -> bytes:
    packed = msgpack.packb(event, use_bin_type=True)
    return struct.pack(">I", len(packed)) + packed


def test_the_frame_decoder() -> None:
    decoder = _FrameDecoder()
    data = frame({"event_type": "intermediate", "samp_ix": 0, "step_ix": 3, "image": b"jpg"}) + frame(
        {"event_type": "final", "samp_ix": 0, "step_ix": 27, "image": b"png"}
    )
    # Split anywhere: frames are reassembled.
    events = [e for i in range(len(data)) for e in decoder.feed(data[i : i + 1])]
    decoder.end()
    assert [ImagePreview(0, 3, False, b"jpg"), ImagePreview(0, None, True, b"png")] == events


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame({"event_type": "error", "code": 500, "message": "Error generating image"}), "Error generating image"),
        (frame({"event_type": "final", "samp_ix": 0}), "should not"),
        (frame({"event_type": "mystery", "image": b"x"}), "should not"),
        (struct.pack(">I", 3) + b"\xc1\xc1\xc1", "not msgpack"),
        (frame([1, 2]), "not a map"),  # type: ignore[arg-type]
        (struct.pack(">I", 2**31), "frame of"),
    ],
)
def test_bad_stream_frames_are_stream_errors(data: bytes, message: str) -> None:
    with pytest.raises(StreamError, match=message):
        list(_FrameDecoder().feed(data))


def test_a_stream_cut_inside_a_frame_is_a_stream_error() -> None:
    decoder = _FrameDecoder()
    list(decoder.feed(frame({"event_type": "final", "samp_ix": 0, "image": b"png"})[:-2]))
    with pytest.raises(StreamError, match="inside a frame"):
        decoder.end()

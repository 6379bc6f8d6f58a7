"""`nai image`: generate with characters, img2img, inpainting, vibes and references; info, director, upscale,
encode-vibe, cost and --dry-run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nai_sdk._png import encode_png, size_of
from nai_sdk.cli import EXIT_FILE, EXIT_OK, EXIT_USAGE, main
from nai_sdk.images import V5Params, VibeFile, read_metadata
from nai_sdk.testing import FakeNovelAI
from nai_sdk.testing._media import png_image, png_metadata
from tests.conftest import Credentials

pytestmark = pytest.mark.usefixtures("clean_cli_env")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_file(path: Path, width: int = 64, height: int = 64, value: int = 80) -> Path:
    path.write_bytes(encode_png(width, height, [bytes([value]) * width * 3] * height, alpha=False))
    return path


def generated(path: Path) -> Path:
    params = V5Params(width=256, height=128, seed=42)
    body = params.to_request('a "sign"')
    path.write_bytes(png_image(256, 128, 1, png_metadata(body["input"], 42, body["parameters"], body["model"])))
    return path


def test_image_help_lists_the_actions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["image", "--help"])
    out = capsys.readouterr().out
    for action in ("generate", "info", "director", "upscale", "encode-vibe", "cost"):
        assert action in out


def test_info(run: Any, tmp_path: Path) -> None:
    picture = generated(tmp_path / "p.png")
    result = run("image", "info", str(picture))
    assert EXIT_OK == result.code, result
    assert "model:      nai-diffusion-5-full" in result.out
    assert "seed:       42" in result.out
    assert 'prompt:     a "sign", very aesthetic, masterpiece, no text, teXt: sign' in result.out
    assert "signature:  absent" in result.out
    alpha = run("image", "info", str(picture), "--where", "alpha", "--json")
    assert 42 == json.loads(alpha.out)["seed"]


def test_info_on_a_damaged_file_is_one_line(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(PNG_SIGNATURE + b"junk")
    result = run("image", "info", str(bad))
    assert (EXIT_FILE, 1) == (result.code, result.err.count("\n")), result
    assert result.err.startswith(f"nai: the image {bad} is not valid: ")
    missing = run("image", "info", str(tmp_path / "missing.png"))
    assert EXIT_FILE == missing.code
    assert f"nai: cannot read the image {tmp_path / 'missing.png'}: No such file or directory\n" == missing.err


def test_cost_and_dry_run_send_nothing(run: Any, fake: FakeNovelAI, tmp_path: Path) -> None:
    before = len(fake.requests.all())
    assert "20 Anlas (tablet)" == run("image", "cost", "a castle", "--tier", "tablet").out.strip()
    assert "60 Anlas (opus)" == run("image", "cost", "a castle", "--samples", "4", "--tier", "opus").out.strip()
    result = run(
        "image",
        "two travellers",
        "-m",
        "nai-diffusion-5-full",
        "--character",
        "1girl, red coat@0.3,0.5",
        "--character",
        "1boy @ 0.7, 0.5",
        "--character-negative",
        "hat",
        "--seed",
        "3",
        "--dry-run",
        "--tier",
        "opus",
    )
    assert EXIT_OK == result.code, result
    first, _, rest = result.out.partition("\n")
    assert "0 Anlas (opus)" == first
    body = json.loads(rest)
    assert ("nai-diffusion-5-full", 3, True) == (
        body["model"],
        body["parameters"]["seed"],
        body["parameters"]["use_coords"],
    )
    assert [
        {"prompt": "1girl, red coat", "uc": "hat", "center": {"x": 0.3, "y": 0.5}, "enabled": True},
        {"prompt": "1boy", "uc": "", "center": {"x": 0.7, "y": 0.5}, "enabled": True},
    ] == body["parameters"]["characterPrompts"]
    assert before == len(fake.requests.all())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x", *["--character", "a"] * 7], "at most 6 characters"),
        (["x", "--character", "a@1.5,0.5"], "within 0..1"),
        (["x", "--width", "100"], "multiple of 64"),
        (["x", "-m", "nai-diffusion-3", "--character", "a"], "no characters"),
        (["x", "-m", "nai-diffusion-5-full", "--variety"], "Variety"),
        (["x", "--mask", "m.png"], "--mask needs --image"),
        (["x", "-m", "nai-diffusion-4-5-full-inpainting"], "inpainting model"),
    ],
)
def test_refused_settings_are_usage_errors(run: Any, argv: list[str], message: str) -> None:
    result = run("image", *argv, "--dry-run", "--tier", "opus")
    assert EXIT_USAGE == result.code, result
    assert message in result.err


def test_generate_with_img2img_inpainting_and_vibes(run: Any, login_env: Credentials, tmp_path: Path) -> None:
    source = png_file(tmp_path / "source.png")
    mask = png_file(tmp_path / "mask.png", value=255)
    out = tmp_path / "out"
    common = ["--width", "64", "--height", "64", "-o", str(out)]
    result = run("image", "the same bridge", "--image", str(source), "--strength", "0.5", "--seed", "5", *common)
    assert EXIT_OK == result.code, result
    assert "Img2ImgRequest" == read_metadata(Path(result.out.strip())).comment["request_type"]
    inpaint = run("image", "a red umbrella", "--image", str(source), "--mask", str(mask), "--seed", "6", *common)
    assert EXIT_OK == inpaint.code, inpaint
    assert "InpaintRequest" == read_metadata(Path(inpaint.out.strip())).comment["request_type"]
    encoded = run("image", "encode-vibe", str(source), "-o", str(tmp_path / "source.naiv4vibe"))
    assert EXIT_OK == encoded.code, encoded
    assert {"v4-5full"} == set(VibeFile.load(tmp_path / "source.naiv4vibe").encodings)
    vibed = run("image", "a castle", "--vibe", str(tmp_path / "source.naiv4vibe"), "--seed", "8", *common)
    assert EXIT_OK == vibed.code, vibed
    assert [0.6] == read_metadata(Path(vibed.out.strip())).comment["reference_strength_multiple"]


def test_director_and_upscale(run: Any, login_env: Credentials, tmp_path: Path) -> None:
    source = png_file(tmp_path / "face.png", 128, 64)
    out = tmp_path / "out"
    result = run("image", "director", "emotion", str(source), "--emotion", "happy", "-o", str(out))
    assert EXIT_OK == result.code, result
    assert (128, 64) == size_of(Path(result.out.strip()).read_bytes())
    assert EXIT_OK == run("image", "director", "lineart", str(source), "-o", str(out)).code
    upscaled = run("image", "upscale", str(source), "--scale", "2", "-o", str(out))
    assert EXIT_OK == upscaled.code, upscaled
    assert (256, 128) == size_of(Path(upscaled.out.strip()).read_bytes())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["director", "emotion", "FILE"], "needs an emotion"),
        (["director", "glow", "FILE"], "unknown director tool"),
        (["director", "lineart", "FILE", "--prompt", "x"], "takes no prompt"),
        (["image"], "needs a prompt or an action"),
    ],
)
def test_director_usage_errors(run: Any, tmp_path: Path, argv: list[str], message: str) -> None:
    source = png_file(tmp_path / "face.png")
    argv = [str(source) if arg == "FILE" else arg for arg in argv]
    result = run(*(argv if argv == ["image"] else ["image", *argv]))
    assert EXIT_USAGE == result.code, result
    assert message in result.err

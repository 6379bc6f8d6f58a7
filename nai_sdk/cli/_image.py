"""`nai image`: generate (the default action), info, director, upscale, encode-vibe and cost.

`nai image "a prompt"` still generates: `normalize_argv` inserts the `generate` action when the word after `image`
is not one of the actions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from nai_sdk.cli._errors import (
    EXIT_FILE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    check_output_file,
    check_output_folder,
    file_errors,
)
from nai_sdk.cli._models import image_model

if TYPE_CHECKING:
    from nai_sdk import NovelAI
    from nai_sdk.images import ImageParams

__all__ = ["ACTIONS", "add_image_parser", "image", "normalize_argv"]

DEFAULT_IMAGE_MODEL: Final = "nai-diffusion-4-5-full"
ACTIONS: Final = ("generate", "info", "director", "upscale", "encode-vibe", "cost")
_POSITION: Final = re.compile(r"@\s*(\d*\.?\d+)\s*,\s*(\d*\.?\d+)\s*$")
_TIERS: Final = ("paper", "tablet", "scroll", "opus")

_EXAMPLES: Final = """\
  nai image "a lantern on a river at night" -o pictures
  nai image "two travellers" -m nai-diffusion-5-full --character "1girl, red coat@0.3,0.5" --character "1boy@0.7,0.5"
  nai image "the same bridge at dawn" --image bridge.png --strength 0.5
  nai image "a red umbrella" --image street.png --mask mask.png
  nai image "a castle" --vibe castle.naiv4vibe --reference hero.png --dry-run
  nai image cost "a castle" --samples 4 --tier opus
  nai image info picture.png
  nai image director lineart picture.png -o out
  nai image director emotion face.png --emotion happy
  nai image upscale picture.png --scale 2
  nai image encode-vibe castle.png -o castle.naiv4vibe"""


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """`argv` with `generate` after `image` when no action follows it (`nai image "prompt"` generates)."""
    args = list(argv)
    index = next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)
    if index is None or args[index] != "image":
        return args
    following = args[index + 1] if index + 1 < len(args) else None
    if following is None or following in ACTIONS or following in ("-h", "--help"):
        return args
    return [*args[: index + 1], "generate", *args[index + 1 :]]


def _generation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("prompt", help="the prompt (quality tags and the preset are added as the web client adds them)")
    p.add_argument("-m", "--model", default=DEFAULT_IMAGE_MODEL, help="the image model (default: %(default)s)")
    p.add_argument("--width", type=int, default=832, help="multiple of 64 (default: %(default)s)")
    p.add_argument("--height", type=int, default=1216, help="multiple of 64 (default: %(default)s)")
    p.add_argument("--steps", type=int, default=28, help="sampling steps (default: %(default)s)")
    p.add_argument("--scale", type=float, help="prompt guidance (default: the model's)")
    p.add_argument("--seed", type=int, help="the seed (default: random, printed)")
    p.add_argument("--samples", type=int, default=1, help="images to make (default: %(default)s)")
    p.add_argument("--negative", default="", metavar="TEXT", help="what the image must not show")
    p.add_argument("--uc-preset", default="heavy", metavar="NAME", help="heavy, light, human, furry or none")
    p.add_argument("--no-quality", action="store_true", help="do not add the model's quality tags")
    p.add_argument("--variety", action="store_true", help="Variety+ (not on V5)")
    p.add_argument(
        "--character",
        action="append",
        default=[],
        metavar="PROMPT[@X,Y]",
        help="a character (V4 and later), at X,Y within 0..1 when given; repeatable",
    )
    p.add_argument(
        "--character-negative", action="append", default=[], metavar="TEXT", help="the n-th character's negative"
    )
    p.add_argument("--image", metavar="FILE", help="img2img source (or the image to inpaint, with --mask)")
    p.add_argument("--strength", type=float, default=0.7, help="img2img strength (default: %(default)s)")
    p.add_argument("--noise", type=float, default=0.0, help="img2img noise (default: %(default)s)")
    p.add_argument("--mask", metavar="FILE", help="inpainting mask, white where to paint")
    p.add_argument(
        "--vibe",
        action="append",
        default=[],
        metavar="FILE",
        help="a .naiv4vibe file with an encoding for the model (see encode-vibe); repeatable",
    )
    p.add_argument("--vibe-strength", type=float, help="the vibes' strength (default: each file's)")
    p.add_argument("--reference", action="append", default=[], metavar="FILE", help="a character reference (V4.5)")
    p.add_argument(
        "--reference-mode", default="character&style", help="character&style, character or style (default: %(default)s)"
    )
    p.add_argument("--fidelity", type=float, default=1.0, help="character reference fidelity (default: %(default)s)")


def add_image_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    sub: Callable[..., argparse.ArgumentParser],
    server_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Adds `nai image` and its actions to the parser of `nai`."""
    group = sub(
        subparsers,
        "image",
        "generate images (the default action), read an image's metadata, run director tools, upscale, encode vibes, "
        "price a request",
        _EXAMPLES,
        common,
    )
    actions = group.add_subparsers(dest="image_command", metavar="ACTION", title="actions")

    p = sub(
        actions, "generate", "generate images and save the PNGs into a folder (the default action)", _EXAMPLES, common
    )
    server_options(p)
    _generation_options(p)
    p.add_argument("-o", "--out", default=".", metavar="DIR", help="folder for the PNG files (default: %(default)s)")
    p.add_argument(
        "--count",
        type=int,
        default=1,
        help="generations to run, one after another through the account's queue, with progress "
        "(default: %(default)s; seeds follow from --seed when given)",
    )
    p.add_argument("--max-anlas", type=int, metavar="N", help="refuse to spend more Anlas than each one costs")
    p.add_argument("--dry-run", action="store_true", help="print the cost and the body, send nothing")
    p.add_argument("--tier", choices=_TIERS, help="with --dry-run: price for this tier (default: the account's)")

    p = sub(
        actions,
        "cost",
        "print what a generation would cost in Anlas (the same options as generate)",
        '  nai image cost "a castle" --samples 4 --tier opus',
        common,
    )
    server_options(p)
    _generation_options(p)
    p.add_argument("--tier", choices=_TIERS, help="the tier to price for (default: the account's)")

    p = sub(
        actions,
        "info",
        "print the NovelAI metadata of a PNG (text chunks or the alpha channel), and whether NovelAI signed it",
        "  nai image info picture.png\n  nai image info picture.png --json",
        common,
    )
    p.add_argument("file", metavar="FILE", help="the PNG")
    p.add_argument("--json", action="store_true", help="print the parameters as JSON")
    p.add_argument("--where", choices=("any", "text", "alpha"), default="any", help="where to read (default: any)")

    p = sub(
        actions,
        "director",
        "run a director tool on an image: bg-removal, lineart, sketch, colorize, emotion, declutter, "
        "declutter-keep-bubbles",
        "  nai image director lineart picture.png -o out\n  nai image director emotion face.png --emotion happy",
        common,
    )
    server_options(p)
    p.add_argument("tool", help="the tool")
    p.add_argument("file", metavar="FILE", help="the image")
    p.add_argument("-o", "--out", default=".", metavar="DIR", help="folder for the results (default: %(default)s)")
    p.add_argument("--prompt", help="colorize, emotion: what to add")
    p.add_argument("--emotion", help="emotion: the emotion (happy, sad, smug, ...)")
    p.add_argument("--defry", type=int, help="colorize, emotion: how much weaker the change, 0..5")
    p.add_argument("--max-anlas", type=int, metavar="N", help="refuse to spend more Anlas than this")

    p = sub(actions, "upscale", "upscale an image by 2 or 4", "  nai image upscale picture.png --scale 2", common)
    server_options(p)
    p.add_argument("file", metavar="FILE", help="the PNG")
    p.add_argument("--scale", type=int, choices=(2, 4), default=4, help="(default: %(default)s)")
    p.add_argument("-o", "--out", default=".", metavar="DIR", help="folder (default: %(default)s)")

    p = sub(
        actions,
        "encode-vibe",
        "encode a reference image for vibe transfer (2 Anlas) into a .naiv4vibe file, or add an encoding to one",
        "  nai image encode-vibe castle.png -o castle.naiv4vibe\n"
        "  nai image encode-vibe castle.naiv4vibe -m nai-diffusion-4-full",
        common,
    )
    server_options(p)
    p.add_argument("file", metavar="FILE", help="the image, or a .naiv4vibe file holding it")
    p.add_argument("-m", "--model", default=DEFAULT_IMAGE_MODEL, help="the V4 or V4.5 model (default: %(default)s)")
    p.add_argument("--information-extracted", type=float, help="0..1 (default: 1, or the file's)")
    p.add_argument(
        "-o", "--out", metavar="FILE", help="the .naiv4vibe file to write (default: FILE's, or FILE.naiv4vibe)"
    )


# --- actions ------------------------------------------------------------------------------------------------------


def _out(text: str = "") -> None:
    print(text, file=sys.stdout)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _characters(args: argparse.Namespace) -> tuple[list[Any], bool]:
    from nai_sdk.images import Character

    characters = []
    placed = False
    for index, text in enumerate(args.character):
        match = _POSITION.search(text)
        center = (0.5, 0.5)
        if match:
            center = (float(match.group(1)), float(match.group(2)))
            text = text[: match.start()]
            placed = True
        negative = args.character_negative[index] if index < len(args.character_negative) else ""
        characters.append(Character(text.strip(), negative, center))
    return characters, placed


def _check_images(args: argparse.Namespace) -> None:
    """Reads every input image (--image, --mask, --reference): a missing file or one that is no image is a file
    error here, before anything is sent (NovelAI would only refuse it after the password and the request)."""
    from nai_sdk._image_io import as_png, image_size

    for option, paths in (("--image", [args.image]), ("--mask", [args.mask]), ("--reference", args.reference)):
        for path in paths:
            if path:
                with file_errors(path, f"the {option} file"):
                    image_size(as_png(Path(path)))


def _params(args: argparse.Namespace) -> tuple[ImageParams, str]:
    from nai_sdk.errors import ImageFormatError

    model = image_model(args.model)
    if model.inpainting:
        raise CliError(f"{model.id} is an inpainting model: pass its base model with --image and --mask", EXIT_USAGE)
    if args.mask and not args.image:
        raise CliError("--mask needs --image", EXIT_USAGE)
    _check_images(args)
    try:
        params = _build(args, model.id)
        params.request("check", model.id)  # everything the model refuses, before asking for a password
    except ImageFormatError as exc:
        # An input file (--image, --mask, --reference) that is missing or no image: a file error, not a setting.
        raise CliError(str(exc), EXIT_FILE) from exc
    except (ValueError, TypeError) as exc:
        raise CliError(f"invalid image settings: {exc}", EXIT_USAGE) from exc
    return params, model.id


def _build(args: argparse.Namespace, model: str) -> ImageParams:
    from nai_sdk.images import CharacterReference, V4Params, VibeFile, params_class

    cls = params_class(model)
    values: dict[str, Any] = {
        "width": args.width,
        "height": args.height,
        "steps": args.steps,
        "seed": args.seed,
        "n_samples": args.samples,
        "negative_prompt": args.negative,
        "quality_toggle": not args.no_quality,
        "uc_preset": args.uc_preset,
        "variety_plus": args.variety,
    }
    if args.scale is not None:
        values["scale"] = args.scale
    if args.image:
        values.update(image=Path(args.image), strength=args.strength, noise=args.noise)
    if args.mask:
        values["mask"] = Path(args.mask)
    if args.vibe:
        files = []
        for path in args.vibe:
            with file_errors(path, "the vibe file"):
                files.append(VibeFile.load(path))
        values["vibes"] = [file.vibe(model, strength=args.vibe_strength) for file in files]
    if issubclass(cls, V4Params):
        characters, placed = _characters(args)
        values.update(characters=characters, use_coords=placed)
        if args.reference:
            values["character_references"] = [
                CharacterReference(Path(path), mode=args.reference_mode, fidelity=args.fidelity)
                for path in args.reference
            ]
    elif args.character or args.reference:
        raise CliError(f"{model} takes no characters or character references (V4 and later do)", EXIT_USAGE)
    return cls(**values)


def _printable_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body with images shortened to their size, for a terminal."""

    def shorten(value: Any) -> Any:
        if isinstance(value, str) and len(value) > 200:
            return f"<{len(value)} base64 characters>"
        if isinstance(value, list):
            return [shorten(item) for item in value]
        if isinstance(value, dict):
            return {key: shorten(item) for key, item in value.items()}
        return value

    return {key: shorten(value) for key, value in body.items()}


def _tier(args: argparse.Namespace, nai_factory: Callable[[], AbstractContextManager[NovelAI]]) -> str | int:
    if args.tier:
        return str(args.tier)
    with nai_factory() as nai:
        return int(nai.account.subscription().tier)


def _client_factory(args: argparse.Namespace) -> Callable[[], AbstractContextManager[NovelAI]]:
    """Builds the command's client when called (after the checks that need no password)."""
    from nai_sdk.cli._auth import make_client, resolve_credentials

    def build() -> AbstractContextManager[NovelAI]:
        return make_client(args, resolve_credentials(args, "token"))

    return build


def _generate(args: argparse.Namespace, *, price_only: bool = False) -> int:
    import attrs

    from nai_sdk.cli._progress import ProgressBar
    from nai_sdk.images import anlas_cost

    params, model = _params(args)
    factory = _client_factory(args)
    if price_only or args.dry_run:
        tier = _tier(args, factory)
        price = anlas_cost(params, tier=tier, model=model)
        name = tier if isinstance(tier, str) else _TIERS[tier]
        _out(f"{price} Anlas ({name})")
        if not price_only:
            _out(json.dumps(_printable_body(params.to_request(args.prompt, model)), indent=2, ensure_ascii=False))
        return EXIT_OK
    if args.count < 1:
        raise CliError("--count must be at least 1", EXIT_USAGE)
    folder = Path(args.out)
    check_output_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    saved = 0
    # Generations wait in the account's queue (one at a time, 429s resent until the queue's deadline), so a
    # refused overlap never reaches the user; the bar shows the generations done.
    bar = ProgressBar() if args.count > 1 else None
    with factory() as nai:
        for number in range(args.count):
            if args.seed is not None and number:
                params = attrs.evolve(params, seed=args.seed + number)
            result = nai.image.generate(args.prompt, params, model=model, max_anlas=args.max_anlas)
            for index, picture in enumerate(result.images):
                name = f"nai-{result.seed}-{index}.png" if result.seed is not None else picture.name
                _out(str(picture.save(folder / name)))
                saved += 1
            if bar is not None:
                bar.update("generating images", number + 1, args.count)
    if bar is not None:
        bar.finish()
    _err(f"{saved} image(s) saved" + (f", seed {result.seed}" if args.count == 1 else ""))
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    from nai_sdk.images import read_metadata

    with file_errors(args.file, "the image"):
        meta = read_metadata(args.file, where=args.where)
    if args.json:
        _out(json.dumps(dict(meta.comment), indent=2, ensure_ascii=False))
        return EXIT_OK
    comment = meta.comment
    rows = [
        ("model", meta.model or f"unknown ({meta.source})"),
        ("source", meta.source),
        ("read from", "text chunks" if meta.form == "text" else "the alpha channel"),
        ("signature", meta.signature),
        ("prompt", meta.prompt),
        ("negative", meta.negative_prompt),
        ("size", f"{comment.get('width')}x{comment.get('height')}"),
    ]
    rows += [(key, comment.get(key)) for key in ("seed", "steps", "scale", "sampler", "noise_schedule", "request_type")]
    for key, value in rows:
        if value is not None and value != "":
            _out(f"{key + ':':<11} {value}")
    return EXIT_OK


def _director(args: argparse.Namespace) -> int:
    from nai_sdk.errors import ImageParamsError
    from nai_sdk.resources.image import director_request

    # Checked before asking for a password: a typo is a usage error, a missing image a file error.
    try:
        with file_errors(args.file, "the image"):
            director_request(args.tool, Path(args.file), prompt=args.prompt, emotion=args.emotion, defry=args.defry)
    except ImageParamsError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    folder = Path(args.out)
    check_output_folder(folder)  # before the tool is paid for
    options: dict[str, Any] = {
        key: value
        for key, value in (("prompt", args.prompt), ("emotion", args.emotion), ("defry", args.defry))
        if value
    }
    with _client_factory(args)() as nai:
        result = nai.image.director(args.tool, Path(args.file), max_anlas=args.max_anlas, **options)
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(args.file).stem
    for index, picture in enumerate(result.images):
        _out(str(picture.save(folder / f"{stem}-{args.tool}-{index}.png")))
    return EXIT_OK


def _upscale(args: argparse.Namespace) -> int:
    from nai_sdk._image_io import as_png, image_size

    with file_errors(args.file, "the image"):
        data = as_png(Path(args.file))
        width, height = image_size(data)
    folder = Path(args.out)
    check_output_folder(folder)  # before the upscale is paid for
    with _client_factory(args)() as nai:
        picture = nai.image.upscale(data, width, height, scale=args.scale)
    folder.mkdir(parents=True, exist_ok=True)
    _out(str(picture.save(folder / f"{Path(args.file).stem}-x{args.scale}.png")))
    return EXIT_OK


def _encode_vibe(args: argparse.Namespace) -> int:
    from nai_sdk._image_io import as_png, image_size
    from nai_sdk.errors import ImageFormatError
    from nai_sdk.images import VibeFile

    image_model(args.model)  # before reading the file: a typo is a usage error
    source = Path(args.file)
    with file_errors(source, "the image or vibe file"):
        try:
            file = VibeFile.load(source)
            target = Path(args.out) if args.out else source
        except ImageFormatError:
            if source.suffix.lower() == ".naiv4vibe":
                raise  # a damaged vibe file, not an image
            data = as_png(source)
            image_size(data)  # no image: a file error before the encoding is paid for
            file = VibeFile.from_image(data)
            target = Path(args.out) if args.out else source.with_suffix(".naiv4vibe")
    check_output_file(target)  # before the encoding is paid for
    with _client_factory(args)() as nai:
        vibe = nai.image.encode_vibe(file, model=args.model, information_extracted=args.information_extracted)
    _out(str(file.with_encoding(vibe).save(target)))
    return EXIT_OK


def image(args: argparse.Namespace) -> int:
    """`nai image ACTION ...`."""
    action = args.image_command
    if action is None:
        raise CliError("nai image needs a prompt or an action (" + ", ".join(ACTIONS) + ")", EXIT_USAGE)
    if action == "generate":
        return _generate(args)
    if action == "cost":
        return _generate(args, price_only=True)
    if action == "info":
        return _info(args)
    if action == "director":
        return _director(args)
    if action == "upscale":
        return _upscale(args)
    return _encode_vibe(args)

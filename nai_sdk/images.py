"""Typed parameters and results of image generation, image metadata, vibe files and Anlas costs.

One class per model generation, each an attrs class with NovelAI's defaults: `V3Params` (NAI Diffusion 3),
`V4Params` (NAI Diffusion 4, with character prompts), `V45Params` (4.5, with character references too) and
`V5Params` (V5). The same fields cover text-to-image, img2img (`image=`), inpainting (`image=` and `mask=`) and vibe
transfer (`vibes=`). `request` builds the body the web client sends: the quality tags and the undesired-content
preset are written into the prompts as the web client writes them, per model (the sources are named in the
SDK's source code), and the action (`generate`, `img2img`, `infill`) and the inpainting model follow from the fields.

    params = V45Params(width=1024, height=1024, steps=28, seed=42, negative_prompt="blurry",
                       characters=[Character("1girl, red hair", center=(0.3, 0.5))], use_coords=True)
    result = nai.image.generate("a lantern over a river at night", params)
    result.images[0].save("out.png")

Settings NovelAI would refuse (more characters than the model takes, a position outside the image, a side that is
not a multiple of 64, a mask of another size than its image, a feature the model lacks) raise `ImageParamsError`
before anything is sent. `read_metadata` reads the parameters back out of a generated PNG; `anlas_cost` says what a
request costs; `VibeFile` reads and writes the web client's `.naiv4vibe` files.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import io
import json
import math
import os
import random
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import attrs

from nai_sdk import _image_cost as cost
from nai_sdk._image_io import ImageInput, as_png, image_size, pad_to_canvas, resize_png
from nai_sdk._image_meta import NOVELAI_VERIFY_KEY, Signature, extract
from nai_sdk._image_prompt import apply_quality, apply_text_block, preset_index, with_preset
from nai_sdk._image_tables import (
    CHARACTER_REFERENCE_SIZES,
    MAX_CHARACTERS,
    QUALITY_LIGHT,
    QUALITY_SUFFIX,
    SOURCE_FALLBACKS,
    SOURCES,
    UC_PRESETS,
    VARIETY_SIGMA,
    family,
)
from nai_sdk._json import loads_strict
from nai_sdk._png import size_of
from nai_sdk.errors import FormatError, ImageFormatError, ImageParamsError

if TYPE_CHECKING:
    from nai_client.models import AiGenerateImageRequest

__all__ = [
    "NOVELAI_VERIFY_KEY",
    "VIBE_ENCODING_COST",
    "Character",
    "CharacterReference",
    "DirectorTool",
    "Emotion",
    "Image",
    "ImageInput",
    "ImageMetadata",
    "ImageParams",
    "ImagePreview",
    "ImageResult",
    "NoiseSchedule",
    "Sampler",
    "UCPreset",
    "V3Params",
    "V4Params",
    "V5Params",
    "V45Params",
    "Vibe",
    "VibeFile",
    "anlas_cost",
    "director_cost",
    "images_from_zip",
    "inpainting_model",
    "params_class",
    "read_metadata",
    "read_vibe_files",
    "upscale_cost",
    "write_vibe_bundle",
]

_MAX_SEED = 2**32 - 1
#: Vibes one request may carry (novelai-python 0.9.0 `Params._build_reference_image`).
MAX_VIBES = 16
VIBE_ENCODING_COST = cost.VIBE_ENCODING_COST
"""Anlas that encoding one image into a vibe costs (`nai.image.encode_vibe`; a cached vibe costs nothing)."""


class Sampler(enum.StrEnum):
    """The samplers of NovelAI's image models."""

    K_EULER = "k_euler"
    K_EULER_ANCESTRAL = "k_euler_ancestral"
    K_DPMPP_2S_ANCESTRAL = "k_dpmpp_2s_ancestral"
    K_DPMPP_2M = "k_dpmpp_2m"
    K_DPMPP_2M_SDE = "k_dpmpp_2m_sde"
    K_DPMPP_SDE = "k_dpmpp_sde"
    DDIM_V3 = "ddim_v3"


class NoiseSchedule(enum.StrEnum):
    """The noise schedules of NovelAI's image models."""

    NATIVE = "native"
    KARRAS = "karras"
    EXPONENTIAL = "exponential"
    POLYEXPONENTIAL = "polyexponential"


class UCPreset(enum.StrEnum):
    """The web client's undesired-content presets; each model has its own set (the Images guide lists them)."""

    HEAVY = "heavy"
    LIGHT = "light"
    HUMAN = "human"
    FURRY = "furry"
    NONE = "none"


class DirectorTool(enum.StrEnum):
    """The director tools of `/ai/augment-image` (novelai-sdk 0.14.1 `constants/tools.py` `DirectorTool`;
    novelai-python 0.9.0 `augment_image/_enum.py` `ReqType`)."""

    BG_REMOVAL = "bg-removal"
    LINEART = "lineart"
    SKETCH = "sketch"
    COLORIZE = "colorize"
    EMOTION = "emotion"
    DECLUTTER = "declutter"
    DECLUTTER_KEEP_BUBBLES = "declutter-keep-bubbles"


class Emotion(enum.StrEnum):
    """The emotions of the `emotion` director tool (novelai-sdk 0.14.1 `Emotion`; novelai-python 0.9.0 `Moods`)."""

    NEUTRAL = "neutral"
    HAPPY = "happy"
    SAD = "sad"
    ANGRY = "angry"
    SCARED = "scared"
    SURPRISED = "surprised"
    TIRED = "tired"
    EXCITED = "excited"
    NERVOUS = "nervous"
    THINKING = "thinking"
    CONFUSED = "confused"
    SHY = "shy"
    DISGUSTED = "disgusted"
    SMUG = "smug"
    BORED = "bored"
    LAUGHING = "laughing"
    IRRITATED = "irritated"
    AROUSED = "aroused"
    EMBARRASSED = "embarrassed"
    WORRIED = "worried"
    LOVE = "love"
    DETERMINED = "determined"
    HURT = "hurt"
    PLAYFUL = "playful"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _bytes_repr(value: bytes | None) -> str:
    return "None" if value is None else f"<{len(value)} bytes>"


def _image(value: ImageInput) -> bytes:
    return as_png(value)


def _optional_image(value: ImageInput | None) -> bytes | None:
    return None if value is None else as_png(value)


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _check_side(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0 or value % 64:
        raise ImageParamsError(f"{attribute.name} must be a positive multiple of 64, got {value}")


def _check_positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ImageParamsError(f"{attribute.name} must be at least 1, got {value}")


def _check_unit(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ImageParamsError(f"{attribute.name} must be within 0..1, got {value}")


def _check_center(_instance: object, _attribute: attrs.Attribute[tuple[float, float]], value: Any) -> None:
    if len(value) != 2 or not all(isinstance(v, int | float) and 0.0 <= v <= 1.0 for v in value):
        raise ImageParamsError(f"a character's center must be (x, y) within 0..1 of the image, got {value!r}")


def _vibe_key(model: str) -> str | None:
    """The key of a model's encodings in a `.naiv4vibe` file (public vibe files and their importers)."""
    base = model.removesuffix("-inpainting")
    return {
        "nai-diffusion-4-full": "v4full",
        "nai-diffusion-4-curated-preview": "v4curated",
        "nai-diffusion-4-curated": "v4curated",
        "nai-diffusion-4-5-full": "v4-5full",
        "nai-diffusion-4-5-curated": "v4-5curated",
    }.get(base)


@attrs.frozen
class Character:
    """One character of a multi-character prompt (V4 and later).

    Attributes:
        prompt: what the character looks like.
        negative: what the character must not look like.
        center: where the character is, (x, y) within 0..1 from the top left; used when `use_coords` is set.
    """

    prompt: str
    negative: str = ""
    center: tuple[float, float] = attrs.field(default=(0.5, 0.5), validator=_check_center)

    def _center(self) -> dict[str, float]:
        return {"x": self.center[0], "y": self.center[1]}


@attrs.frozen
class Vibe:
    """A vibe transfer reference.

    Attributes:
        image: for V3, the reference image (PNG bytes); for V4 and V4.5, the encoding NovelAI made of it
            (`nai.image.encode_vibe`, or a `.naiv4vibe` file through `VibeFile.vibe`).
        information_extracted: how much of the reference to take, 0..1 (for V4 and later, the value it was encoded
            with).
        strength: how strongly it steers the image, 0..1.
        model: the model the encoding was made for (V4 and later); checked against the model generating.
    """

    image: bytes = attrs.field(converter=_image, repr=_bytes_repr)
    information_extracted: float = attrs.field(default=1.0, validator=_check_unit)
    strength: float = attrs.field(default=0.6, validator=_check_unit)
    model: str | None = None
    # The base64 form, made once: a vibe is sent with every request that uses it.
    _encoded: str = attrs.field(
        init=False, repr=False, eq=False, default=attrs.Factory(lambda self: _b64(self.image), takes_self=True)
    )


CharacterReferenceMode = Literal["character", "style", "character&style"]


def _reference_image(value: ImageInput) -> bytes:
    return pad_to_canvas(as_png(value), CHARACTER_REFERENCE_SIZES, what="character reference")


@attrs.frozen
class CharacterReference:
    """A character reference ("Precise Reference", V4.5): keep a character (or a style) from an image.

    The web client fits the image onto one of the canvases the encoder takes (1024x1536, 1536x1024, 1472x1472),
    centred on black; images of another size need Pillow for that. Each reference costs 5 Anlas an image.

    Attributes:
        image: the reference image.
        mode: what to take from it: `"character&style"` ("Style Aware" on), `"character"` or `"style"`.
        fidelity: how closely to follow it, 0..1 (sent as `1 - fidelity`).
        strength: the reference's strength, 0..1; NovelAI's developers say it must be 1 (bedovyy/
            ComfyUI_NAIDGenerator pull request 45).
        information_extracted: 0..1.
    """

    image: bytes = attrs.field(converter=_reference_image, repr=_bytes_repr)
    mode: CharacterReferenceMode = "character&style"
    fidelity: float = attrs.field(default=1.0, validator=_check_unit)
    strength: float = attrs.field(default=1.0, validator=_check_unit)
    information_extracted: float = attrs.field(default=1.0, validator=_check_unit)


def inpainting_model(model: str) -> str:
    """The model the web client inpaints with for `model`: its `-inpainting` variant.

    V5 Curated has none: NovelAI answers that `nai-diffusion-5-curated-inpainting` does not exist, and the web
    client inpaints V5 Curated images with V4.5 Curated inpainting (novelai-python 0.9.0 `get_inpainting_model`).
    """
    from nai_sdk.models import IMAGE_MODELS

    if model == "nai-diffusion-5-curated":
        return "nai-diffusion-4-5-curated-inpainting"
    known = IMAGE_MODELS.get(model)
    if known is not None and known.inpainting:
        return model
    for candidate in IMAGE_MODELS.values():
        if candidate.base == model:
            return candidate.id
    return model if model.endswith("-inpainting") else model + "-inpainting"


@attrs.frozen(kw_only=True)
class ImageParams:
    """The parameters every image model shares.

    Attributes:
        width: image width in pixels, a multiple of 64.
        height: image height in pixels, a multiple of 64.
        steps: sampling steps.
        scale: prompt guidance.
        sampler: the sampler.
        noise_schedule: the noise schedule.
        seed: the seed (the n-th image uses seed + n); None for a random one, chosen here so that it is known.
        n_samples: images to make at once.
        negative_prompt: what the image must not show ("undesired content"); the preset's text goes in front.
        cfg_rescale: prompt guidance rescale, 0..1.
        quality_toggle: add the model's quality tags to the prompt, as the web client does.
        uc_preset: the undesired-content preset written in front of the negative prompt (`UCPreset` name, or the
            web client's preset number); None for none and no `ucPreset` field.
        image: img2img or inpainting source: PNG bytes, a path, or (with Pillow) any image or a Pillow image. A
            PNG of another size than `width` x `height` is resized (with Pillow) as the web client resizes it.
        strength: how much img2img may change `image`, 0..1.
        noise: noise added to `image` for img2img, 0..1.
        mask: inpainting mask (white where to paint), the size of `image`; needs `image`.
        inpaint_strength: how much inpainting may change the masked area, 0..1 (V4 and later).
        add_original_image: paste the original back outside the mask (inpainting).
        vibes: vibe transfer references (at most 16).
        variety_plus: Variety+: skip guidance at the first, noisiest steps for more varied images (not on V5).
        extra: further raw parameters, sent as given (they win over the fields above).
    """

    model: ClassVar[str] = "nai-diffusion-3"
    families: ClassVar[frozenset[str]] = frozenset({"v3", "v1"})
    max_characters: ClassVar[int] = 0

    width: int = attrs.field(default=832, validator=_check_side)
    height: int = attrs.field(default=1216, validator=_check_side)
    steps: int = attrs.field(default=28, validator=_check_positive)
    scale: float = 5.0
    sampler: Sampler | str = Sampler.K_EULER_ANCESTRAL
    noise_schedule: NoiseSchedule | str = NoiseSchedule.KARRAS
    seed: int | None = None
    n_samples: int = attrs.field(default=1, validator=_check_positive)
    negative_prompt: str = ""
    cfg_rescale: float = attrs.field(default=0.0, validator=_check_unit)
    quality_toggle: bool = True
    uc_preset: UCPreset | str | int | None = UCPreset.HEAVY
    image: bytes | None = attrs.field(default=None, converter=_optional_image, repr=_bytes_repr)
    strength: float = attrs.field(default=0.7, validator=_check_unit)
    noise: float = attrs.field(default=0.0, validator=_check_unit)
    mask: bytes | None = attrs.field(default=None, converter=_optional_image, repr=_bytes_repr)
    inpaint_strength: float = attrs.field(default=1.0, validator=_check_unit)
    add_original_image: bool = True
    vibes: tuple[Vibe, ...] = attrs.field(default=(), converter=_tuple)
    variety_plus: bool = False
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.seed is not None and not 0 <= self.seed <= _MAX_SEED:
            raise ImageParamsError(f"seed must be within 0..{_MAX_SEED}, got {self.seed}")
        if len(self.vibes) > MAX_VIBES:
            raise ImageParamsError(f"at most {MAX_VIBES} vibes, got {len(self.vibes)}")
        if self.mask is not None:
            self._check_mask()
        elif self.image is not None:
            size = size_of(self.image)
            if size is not None and size != (self.width, self.height):
                object.__setattr__(self, "image", resize_png(self.image, self.width, self.height))

    def _check_mask(self) -> None:
        if self.image is None:
            raise ImageParamsError("a mask (inpainting) needs the image it applies to")
        image = image_size(self.image, what="inpainting image")
        mask = image_size(self.mask or b"", what="inpainting mask")
        if image != mask:
            raise ImageParamsError(f"the mask is {mask[0]}x{mask[1]} but its image is {image[0]}x{image[1]}")
        if image != (self.width, self.height):
            object.__setattr__(self, "image", resize_png(self.image, self.width, self.height))
            object.__setattr__(self, "mask", resize_png(self.mask or b"", self.width, self.height, what="mask"))

    @property
    def action(self) -> str:
        """`generate`, `img2img` (with `image`) or `infill` (with `image` and `mask`)."""
        if self.mask is not None:
            return "infill"
        if self.image is not None:
            return "img2img"
        return "generate"

    # -- building the request ------------------------------------------------------------------------------------

    def resolve_model(self, model: str | None = None) -> str:
        """The model id sent: `model` or the class's, and for inpainting the model the web client inpaints with.

        Raises:
            ImageParamsError: a model of another generation than this class (V3 settings for a V4.5 model, ...).
        """
        from nai_sdk.models import IMAGE_MODELS

        chosen = str(model) if model is not None else self.model
        if chosen in IMAGE_MODELS and family(chosen) not in self.families:
            raise ImageParamsError(
                f"{type(self).__name__} is for {self.model} and its siblings, not {chosen}: use "
                f"{params_class(chosen).__name__}"
            )
        return inpainting_model(chosen) if self.mask is not None else chosen

    def _family(self, model: str) -> str:
        from nai_sdk.models import IMAGE_MODELS

        return family(model if model in IMAGE_MODELS else self.model)

    def _tables_model(self, model: str) -> str:
        return model if model in UC_PRESETS or model in QUALITY_SUFFIX else self.model

    def _prompts(self, prompt: str, model: str, kind: str) -> tuple[str, str, int | None]:
        """The prompt and negative prompt as the web client sends them, and the `ucPreset` number."""
        tables = self._tables_model(model)
        text = apply_quality(prompt, tables, kind, self._quality_suffix(tables)) if self.quality_toggle else prompt
        index = None if self.uc_preset is None else preset_index(tables, self.uc_preset)
        negative = self.negative_prompt if index is None else with_preset(self.negative_prompt, prompt, tables, index)
        return text, negative, index

    def _quality_suffix(self, model: str) -> str | None:
        return None

    def _variety(self, kind: str) -> int | None:
        if not self.variety_plus:
            return None
        base = VARIETY_SIGMA.get(kind)
        if base is None:
            raise ImageParamsError(f"Variety+ is not available on {kind.upper()} models")
        # The web client scales the sigma by the latent area against 832x1216's (novelai-python 0.9.0 `_backend_logic`).
        return math.ceil(base * math.sqrt((4 * (self.width / 8) * (self.height / 8)) / (4 * 104 * 152)))

    def _seed(self) -> int:
        return self.seed if self.seed is not None else random.randint(1, _MAX_SEED - self.n_samples)

    def build(self, prompt: str, model: str | None = None) -> tuple[str, str, str, dict[str, Any]]:
        """(input, model, action, parameters): the request's parts, as sent.

        Raises:
            ImageParamsError: settings the model refuses.
        """
        chosen = self.resolve_model(model)
        kind = self._family(chosen)
        self._check_model(chosen, kind)
        text, negative, index = self._prompts(prompt, chosen, kind)
        params = self._parameters(text, negative, index, self._seed(), kind)
        params.update(self.extra)
        return text, chosen, self.action, params

    def _check_model(self, model: str, kind: str) -> None:
        """Refuses what `model` does not take."""

    def _parameters(self, text: str, negative: str, index: int | None, seed: int, kind: str) -> dict[str, Any]:
        raise NotImplementedError

    def _img2img(self, params: dict[str, Any], seed: int) -> None:
        if self.image is not None:
            params["image"] = _b64(self.image)
            params["strength"] = self.strength
            params["noise"] = self.noise
            params["extra_noise_seed"] = seed
        if self.mask is not None:
            params["mask"] = _b64(self.mask)
            params["add_original_image"] = self.add_original_image

    def _vibe_parameters(self, params: dict[str, Any]) -> None:
        if self.vibes:
            params["reference_image_multiple"] = [vibe._encoded for vibe in self.vibes]
            params["reference_information_extracted_multiple"] = [v.information_extracted for v in self.vibes]
            params["reference_strength_multiple"] = [vibe.strength for vibe in self.vibes]

    def parameters(self, prompt: str, model: str | None = None) -> dict[str, Any]:
        """The `parameters` object for `prompt`."""
        return self.build(prompt, model)[3]

    def request(self, prompt: str, model: str | None = None) -> AiGenerateImageRequest:
        """The body of `POST /ai/generate-image`, as the generated client's model.

        Args:
            prompt: the prompt, as typed: the quality tags (and on V5 the text block) are added here.
            model: the model id; by default the class's model (for inpainting, the model it inpaints with).

        Raises:
            ImageParamsError: settings the model refuses.
        """
        # Imported here: this module stays free of the generated (HTTP) client until a request is built.
        from nai_client.models import AiGenerateImageRequest, AiGenerateImageRequestParameters

        text, chosen, action, params = self.build(prompt, model)
        parameters = AiGenerateImageRequestParameters()
        # The spec leaves `parameters` open (model specific): every key is one of its additional properties.
        parameters.additional_properties = params
        return AiGenerateImageRequest(input_=text, model=chosen, parameters=parameters, action=action)

    def to_request(self, prompt: str, model: str | None = None) -> dict[str, Any]:
        """The JSON body of `POST /ai/generate-image` (`request(...)` as JSON), to inspect without sending it."""
        return self.request(prompt, model).to_dict()

    def cost(self, *, tier: str | int, model: str | None = None, active: bool = True) -> int:
        """What this request costs in Anlas on `tier` (see `anlas_cost`)."""
        return anlas_cost(self, tier=tier, model=model, active=active)


@attrs.frozen(kw_only=True)
class V3Params(ImageParams):
    """NAI Diffusion 3 (`nai-diffusion-3`; also its furry and inpainting siblings, and the v1/v2 models).

    Attributes:
        smea: SMEA sampling (better large images).
        smea_dyn: the DYN variant of SMEA (with `smea`).
        dynamic_thresholding: "decrisper".
        uncond_scale: weight of the negative prompt.
    """

    model: ClassVar[str] = "nai-diffusion-3"

    smea: bool = False
    smea_dyn: bool = False
    dynamic_thresholding: bool = False
    uncond_scale: float = 1.0

    def _parameters(self, text: str, negative: str, index: int | None, seed: int, kind: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "width": self.width,
            "height": self.height,
            "steps": self.steps,
            "scale": self.scale,
            "sampler": str(self.sampler),
            "noise_schedule": str(self.noise_schedule),
            "seed": seed,
            "n_samples": self.n_samples,
            "negative_prompt": negative,
            "uc": negative,
            "cfg_rescale": self.cfg_rescale,
            "qualityToggle": self.quality_toggle,
            "params_version": 3,
            "legacy": False,
        }
        if index is not None:
            params["ucPreset"] = index
        self._img2img(params, seed)
        params.update(
            sm=self.smea,
            sm_dyn=self.smea and self.smea_dyn,
            dynamic_thresholding=self.dynamic_thresholding,
            uncond_scale=self.uncond_scale,
            legacy_v3_extend=False,
        )
        sigma = self._variety(kind)
        if sigma is not None:
            params["skip_cfg_above_sigma"] = sigma
        self._vibe_parameters(params)
        return params


def _characters(value: Iterable[Character]) -> tuple[Character, ...]:
    return tuple(value)


def _references(value: Iterable[CharacterReference]) -> tuple[CharacterReference, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class V4Params(ImageParams):
    """NAI Diffusion 4 (`nai-diffusion-4-full`), with multi-character prompts; also for the V4.5 models.

    Attributes:
        characters: up to 6 characters, each with its own prompt, negative prompt and position.
        use_coords: place the characters at their `center`s (otherwise the model places them).
        character_references: character references (V4.5 only; not with vibes).
    """

    model: ClassVar[str] = "nai-diffusion-4-full"
    families: ClassVar[frozenset[str]] = frozenset({"v4", "v4.5"})
    max_characters: ClassVar[int] = MAX_CHARACTERS["v4"]

    characters: tuple[Character, ...] = attrs.field(default=(), converter=_characters)
    use_coords: bool = False
    character_references: tuple[CharacterReference, ...] = attrs.field(default=(), converter=_references)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if len(self.characters) > self.max_characters:
            raise ImageParamsError(
                f"{type(self).__name__} takes at most {self.max_characters} characters, got {len(self.characters)}"
            )

    def _check_model(self, model: str, kind: str) -> None:
        if self.vibes:
            if kind == "v5":
                raise ImageParamsError(f"{model} takes no vibes (V5 has no vibe transfer)")
            wanted = _vibe_key(model)
            for vibe in self.vibes:
                if vibe.image.startswith(b"\x89PNG"):
                    raise ImageParamsError(
                        f"{model} takes encoded vibes, not images: encode it first (nai.image.encode_vibe)"
                    )
                if vibe.model is not None and wanted is not None and _vibe_key(vibe.model) != wanted:
                    raise ImageParamsError(f"a vibe encoded for {vibe.model} cannot be used with {model}")
        if self.character_references:
            if kind != "v4.5":
                raise ImageParamsError(f"character references need a V4.5 model, not {model}")
            if self.vibes:
                raise ImageParamsError("character references and vibes cannot be used together")

    def _parameters(self, text: str, negative: str, index: int | None, seed: int, kind: str) -> dict[str, Any]:
        chars = self.characters
        # The web client's body (params_version 3), in its order: bedovyy/ComfyUI_NAIDGenerator issue 43
        # (2025-10-06, a captured V4.5 request), with novelai-python 0.9.0 `Params` for the fields after it.
        params: dict[str, Any] = {
            "params_version": 3,
            "width": self.width,
            "height": self.height,
            "scale": self.scale,
            "sampler": str(self.sampler),
            "steps": self.steps,
            "seed": seed,
            "n_samples": self.n_samples,
        }
        if index is not None:
            params["ucPreset"] = index
        params.update(
            qualityToggle=self.quality_toggle,
            autoSmea=False,
            dynamic_thresholding=False,
            controlnet_strength=1,
            legacy=False,
            add_original_image=self.add_original_image,
            cfg_rescale=self.cfg_rescale,
            noise_schedule=str(self.noise_schedule),
            legacy_v3_extend=False,
            skip_cfg_above_sigma=self._variety(kind),
            use_coords=self.use_coords,
            legacy_uc=False,
            normalize_reference_strength_multiple=True,
            inpaintImg2ImgStrength=self.inpaint_strength,
            characterPrompts=[
                {"prompt": c.prompt, "uc": c.negative, "center": c._center(), "enabled": True} for c in chars
            ],
        )
        refs = self.character_references
        if refs:
            params["director_reference_images"] = [_b64(ref.image) for ref in refs]
            params["director_reference_descriptions"] = [
                {"caption": {"base_caption": ref.mode, "char_captions": []}, "legacy_uc": False} for ref in refs
            ]
            params["director_reference_information_extracted"] = [ref.information_extracted for ref in refs]
            params["director_reference_strength_values"] = [ref.strength for ref in refs]
            params["director_reference_secondary_strength_values"] = [round(1 - ref.fidelity, 4) for ref in refs]
        params["v4_prompt"] = {
            "caption": {
                "base_caption": text,
                "char_captions": [{"char_caption": c.prompt, "centers": [c._center()]} for c in chars],
            },
            "use_coords": self.use_coords,
            "use_order": True,
        }
        params["v4_negative_prompt"] = {
            "caption": {
                "base_caption": negative,
                "char_captions": [{"char_caption": c.negative, "centers": [c._center()]} for c in chars],
            },
            "legacy_uc": False,
        }
        params["negative_prompt"] = negative
        self._img2img(params, seed)
        self._vibe_parameters(params)
        params["deliberate_euler_ancestral_bug"] = False
        params["prefer_brownian"] = True
        return params


@attrs.frozen(kw_only=True)
class V45Params(V4Params):
    """NAI Diffusion 4.5 (`nai-diffusion-4-5-full`): the V4 parameters and wire format, plus character references."""

    model: ClassVar[str] = "nai-diffusion-4-5-full"
    max_characters: ClassVar[int] = MAX_CHARACTERS["v4.5"]


@attrs.frozen(kw_only=True)
class V5Params(V4Params):
    """NAI Diffusion V5 (`nai-diffusion-5-full`, `nai-diffusion-5-curated`).

    The V4 wire format. V5 has no vibe transfer, no character reference and no Variety+, and samples with the karras
    schedule only (SillyTavern pull request 6002; novelai-python 0.9.0 `get_supported_params`); it takes up to 32
    characters (the web client's `maxCharacters`, novelai-python 0.9.0). Its default guidance is 7 (novelai-python
    0.9.0 `get_default_params`, "from the web client bundle").

    Attributes:
        quality_preset: `"standard"` or `"light"` quality tags (with `quality_toggle`).
        text_block: append the prompt's quoted texts as `, teXt: ...`, as novelai.net does for V5's text rendering.
    """

    model: ClassVar[str] = "nai-diffusion-5-full"
    families: ClassVar[frozenset[str]] = frozenset({"v5"})
    max_characters: ClassVar[int] = MAX_CHARACTERS["v5"]

    scale: float = 7.0
    quality_preset: Literal["standard", "light"] = "standard"
    text_block: bool = True

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.vibes:
            raise ImageParamsError("V5 has no vibe transfer: vibes need a V4 or V4.5 model")
        if self.character_references:
            raise ImageParamsError("V5 takes no character references: they need a V4.5 model")
        if self.variety_plus:
            raise ImageParamsError("V5 has no Variety+")
        if self.noise_schedule != NoiseSchedule.KARRAS:
            raise ImageParamsError(f"V5 samples with the karras noise schedule only, not {self.noise_schedule}")
        if self.quality_preset not in ("standard", "light"):
            raise ImageParamsError(f"quality_preset must be 'standard' or 'light', not {self.quality_preset!r}")

    def _quality_suffix(self, model: str) -> str | None:
        return QUALITY_LIGHT if self.quality_preset == "light" and family(model) == "v5" else None

    def _prompts(self, prompt: str, model: str, kind: str) -> tuple[str, str, int | None]:
        text, negative, index = super()._prompts(prompt, model, kind)
        if self.text_block and kind == "v5":
            chars = [(c.prompt, c.center[0], c.center[1]) for c in self.characters]
            text = apply_text_block(text, chars, self.use_coords)
        return text, negative, index


def params_class(model: str) -> type[ImageParams]:
    """The parameter class for a model id: `V5Params`, `V45Params`, `V4Params` or `V3Params`."""
    kind = family(model)
    return {"v5": V5Params, "v4.5": V45Params, "v4": V4Params}.get(kind, V3Params)


# --- results ------------------------------------------------------------------------------------------------------


@attrs.frozen
class Image:
    """One generated image.

    Attributes:
        name: its file name in NovelAI's answer (`image_0.png`).
        data: the PNG bytes.
    """

    name: str
    data: bytes = attrs.field(repr=_bytes_repr)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes the image; a directory gets the image's own name inside it.

        Returns:
            The path written.
        """
        target = Path(path)
        if target.is_dir():
            target = target / self.name
        target.write_bytes(self.data)
        return target

    def metadata(self, *, verify: bool = True) -> ImageMetadata:
        """The NovelAI metadata of this image (`read_metadata`)."""
        return read_metadata(self.data, verify=verify)


@attrs.frozen
class ImageResult:
    """The images of one request, in order.

    Attributes:
        images: the images.
        seed: the seed sent (the n-th image used seed + n), when known.
    """

    images: tuple[Image, ...]
    seed: int | None = None

    def save(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Writes every image into `directory` (created if missing) under its own name."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        return [image.save(folder / image.name) for image in self.images]

    def __iter__(self) -> Iterator[Image]:
        return iter(self.images)

    def __len__(self) -> int:
        return len(self.images)


@attrs.frozen
class ImagePreview:
    """One event of a streamed generation (`nai.image.generate_stream`): a preview, or a finished image.

    Attributes:
        sample: which image of the request (0 for the first).
        step: the sampling step of a preview; None for the final image.
        final: the finished image (PNG), rather than a preview.
        data: the image bytes (previews are small JPEG or WebP pictures, as NovelAI sends them).
    """

    sample: int
    step: int | None
    final: bool
    data: bytes = attrs.field(repr=_bytes_repr)

    @property
    def name(self) -> str:
        """`image_<sample>.png` for a final image, `preview_<sample>_<step>` for a preview."""
        return f"image_{self.sample}.png" if self.final else f"preview_{self.sample}_{self.step}"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes the image (see `Image.save`)."""
        return Image(self.name, self.data).save(path)


def images_from_zip(data: bytes) -> tuple[Image, ...]:
    """The files of NovelAI's ZIP answer, in archive order.

    Raises:
        FormatError: not a ZIP archive.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return tuple(Image(info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise FormatError(f"the image answer is not a ZIP archive: {exc}") from exc


# --- cost ---------------------------------------------------------------------------------------------------------


def anlas_cost(
    params: ImageParams,
    *,
    tier: str | int,
    model: str | None = None,
    active: bool = True,
    opus_usage_negative: bool = False,
) -> int:
    """What a generation costs in Anlas, as NovelAI's web client computes it (its sources are cited in the code).

    Opus generates one image of a request free when it has at most 1024x1024 pixels and 28 steps; character
    references cost 5 an image on every tier; vibes beyond the fourth cost 2 each.

    Args:
        params: the request's parameters.
        tier: the subscription tier: `"paper"`, `"tablet"`, `"scroll"`, `"opus"` or 0..3.
        model: the model, when not the class's own.
        active: the subscription is active (an expired Opus gets no free image).
        opus_usage_negative: V5 only: the Opus usage bar is below zero, and V5 is not free then (novelai-python
            0.9.0 `usage_negative`).

    Raises:
        ImageParamsError: an unknown tier, or an image dearer than NovelAI's client allows (140 Anlas).
    """
    chosen = params.resolve_model(model)
    kind = params._family(chosen)
    smea = 1.0
    if isinstance(params, V3Params) and params.smea:
        smea = 1.4 if params.smea_dyn else 1.2
    if params.mask is not None:
        strength = params.inpaint_strength if kind in ("v4", "v4.5", "v5") else 1.0
    elif params.image is not None:
        strength = params.strength
    else:
        strength = 1.0
    references = len(params.character_references) if isinstance(params, V4Params) else 0
    return cost.generation_price(
        kind,
        params.width,
        params.height,
        params.steps,
        params.n_samples,
        tier=cost.tier_number(tier),
        strength=strength,
        smea=smea,
        sampler=str(params.sampler),
        character_references=references,
        vibes=len(params.vibes),
        active=active,
        free_blocked=opus_usage_negative and kind == "v5",
    )


def director_cost(tool: DirectorTool | str, width: int, height: int, *, tier: str | int, active: bool = True) -> int:
    """What a director tool costs in Anlas on a `width` x `height` image (its sources are cited in the code)."""
    return cost.director_price(str(DirectorTool(tool)), width, height, tier=cost.tier_number(tier), active=active)


def upscale_cost(width: int, height: int) -> int:
    """What upscaling a `width` x `height` image costs in Anlas (its sources are cited in the code).

    Raises:
        ImageParamsError: the image is larger than NovelAI upscales (1 megapixel).
    """
    return cost.upscale_price(width, height)


# --- metadata -----------------------------------------------------------------------------------------------------


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _whole(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _caption(comment: Mapping[str, Any], key: str) -> tuple[str | None, list[Mapping[str, Any]]]:
    block = comment.get(key)
    caption = block.get("caption") if isinstance(block, Mapping) else None
    if not isinstance(caption, Mapping):
        return None, []
    chars = caption.get("char_captions")
    return _text(caption.get("base_caption")), [c for c in chars if isinstance(c, Mapping)] if isinstance(
        chars, list
    ) else []


@attrs.frozen
class ImageMetadata:
    """The metadata NovelAI wrote into a generated PNG.

    Attributes:
        form: where it was read: `"text"` (PNG text chunks) or `"alpha"` (the alpha channel's lowest bits).
        fields: the fields as written (`Title`, `Description`, `Software`, `Source`, `Generation time`, `Comment`).
        comment: the request's parameters, parsed from `Comment` (NovelAI's own key names).
        signature: `"valid"` (signed by NovelAI, or by the `verify_key` given), `"invalid"` (signed, but the image
            or its parameters changed since), `"absent"` (not signed) or `"unchecked"` (signed, but checking needs
            Pillow, or `verify=False`).
    """

    form: Literal["text", "alpha"]
    fields: Mapping[str, Any]
    comment: Mapping[str, Any]
    signature: Signature

    @property
    def source(self) -> str | None:
        """The `Source` field: the model and its checkpoint hash (`NovelAI Diffusion V4.5 B9F340FD`)."""
        return _text(self.fields.get("Source"))

    @property
    def software(self) -> str | None:
        """The `Software` field (`NovelAI`)."""
        return _text(self.fields.get("Software"))

    @property
    def generation_time(self) -> float | None:
        """Seconds NovelAI took, when written."""
        value = self.fields.get("Generation time")
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def model(self) -> str | None:
        """The model id that made the image, from `Source` (the web client's own table); None when unknown."""
        source = self.source
        if source is None:
            return None
        known = SOURCES.get(source)
        if known is not None:
            return known
        return next((model for prefix, model in SOURCE_FALLBACKS if source.startswith(prefix)), None)

    @property
    def prompt(self) -> str:
        """The prompt as sent (quality tags included)."""
        base, _chars = _caption(self.comment, "v4_prompt")
        return base if base is not None else _text(self.comment.get("prompt")) or ""

    @property
    def negative_prompt(self) -> str:
        """The negative prompt as sent (the preset's text included)."""
        base, _chars = _caption(self.comment, "v4_negative_prompt")
        return base if base is not None else _text(self.comment.get("uc")) or ""

    @property
    def seed(self) -> int | None:
        """The seed of this image."""
        return _whole(self.comment.get("seed"))

    def params(self, model: str | None = None) -> ImageParams:
        """Parameters that make this image again: send them with `prompt` (and `model`).

        The prompts are taken as sent (quality tags, the preset's text and V5's text block included), and nothing is
        added to them twice. img2img sources, masks and vibes are not stored in the metadata, and are not rebuilt.

        Args:
            model: the model, when `Source` does not name a known one.

        Raises:
            ImageFormatError: the metadata lacks the image size, or has values of the wrong type.
        """
        chosen = model or self.model or "nai-diffusion-4-5-full"
        comment = self.comment
        width, height = _whole(comment.get("width")), _whole(comment.get("height"))
        if width is None or height is None:
            raise ImageFormatError("the metadata has no image size")
        values: dict[str, Any] = {
            "width": width,
            "height": height,
            "negative_prompt": self.negative_prompt,
            # The prompts already hold the tags and the preset; applying them again changes nothing (both are
            # skipped when present), and keeps the flags the image was made with where the metadata has them.
            "quality_toggle": comment.get("qualityToggle") is True,
            "uc_preset": _whole(comment.get("ucPreset")),
        }
        for name, key, read in (
            ("steps", "steps", _whole),
            ("scale", "scale", _number),
            ("seed", "seed", _whole),
            ("n_samples", "n_samples", _whole),
            ("cfg_rescale", "cfg_rescale", _number),
            ("sampler", "sampler", _text),
            ("noise_schedule", "noise_schedule", _text),
        ):
            value = read(comment.get(key))
            if value is not None:
                values[name] = value
        cls = params_class(chosen)
        sigma = _number(comment.get("skip_cfg_above_sigma"))
        if sigma is not None and cls is not V5Params:
            # Already scaled to the image size: sent as it is rather than recomputed.
            values["extra"] = {"skip_cfg_above_sigma": math.ceil(sigma)}
        if issubclass(cls, V4Params):
            _base, chars = _caption(comment, "v4_prompt")
            _negative, negatives = _caption(comment, "v4_negative_prompt")
            characters = []
            for i, char in enumerate(chars):
                centers = char.get("centers")
                center = centers[0] if isinstance(centers, list) and centers else {}
                x = _number(center.get("x")) if isinstance(center, Mapping) else None
                y = _number(center.get("y")) if isinstance(center, Mapping) else None
                negative = _text(negatives[i].get("char_caption")) if i < len(negatives) else None
                characters.append(
                    Character(
                        _text(char.get("char_caption")) or "", negative or "", (0.5 if x is None else x, y or 0.5)
                    )
                )
            values["characters"] = characters
            block = comment.get("v4_prompt")
            values["use_coords"] = bool(block.get("use_coords")) if isinstance(block, Mapping) else False
            if cls is V5Params:
                values["text_block"] = False
        else:
            for name, key in (("smea", "sm"), ("smea_dyn", "sm_dyn"), ("dynamic_thresholding", "dynamic_thresholding")):
                if isinstance(comment.get(key), bool):
                    values[name] = comment[key]
            uncond = _number(comment.get("uncond_scale"))
            if uncond is not None:
                values["uncond_scale"] = uncond
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ImageFormatError(f"the metadata's parameters cannot be sent again: {exc}") from exc


def read_metadata(
    png_or_path: bytes | str | os.PathLike[str],
    *,
    where: Literal["any", "text", "alpha"] = "any",
    verify: bool = True,
    verify_key: str = NOVELAI_VERIFY_KEY,
) -> ImageMetadata:
    """The metadata NovelAI wrote into a generated PNG: from its text chunks, or hidden in its alpha channel.

    Args:
        png_or_path: the PNG's bytes, or its path.
        where: `"any"` (text chunks, else the alpha channel), `"text"` or `"alpha"` only.
        verify: check NovelAI's signature where the image has one (needs Pillow; else `signature` is
            "unchecked").
        verify_key: the Ed25519 public key (base64) to check against; NovelAI's by default.

    Raises:
        ImageFormatError: not a PNG, a damaged one, or one without NovelAI's metadata.
    """
    data = as_png(png_or_path, what="PNG")
    raw = extract(data, where=where, verify=verify, verify_key=verify_key)
    return ImageMetadata(raw.form, raw.fields, raw.comment, raw.signature)


# --- vibe files ---------------------------------------------------------------------------------------------------

_VIBE_ID = "novelai-vibe-transfer"
_BUNDLE_ID = "novelai-vibe-transfer-bundle"


def _decode_b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ImageFormatError(f"the vibe file's {what} is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ImageFormatError(f"the vibe file's {what} is not valid base64: {exc}") from exc


@attrs.frozen
class VibeFile:
    """A `.naiv4vibe` file of NovelAI's web client: a reference image and its encodings, per model.

    The format, as public vibe tools read and write it (several independent importers and exporters found by a public
    code search for `"novelai-vibe-transfer"`, 2025-2026): a JSON object with `identifier`
    `"novelai-vibe-transfer"`, `version` 1, `type` `"image"` (with the source `image` in base64) or `"encoding"`,
    `id`, `name`, `encodings` (model key such as `v4-5full` -> any key -> `{encoding: base64, params:
    {information_extracted}}`), `thumbnail`, `createdAt` and `importInfo` (`model`, `information_extracted`,
    `strength`). A bundle (`.naiv4vibebundle`) is `{identifier: "novelai-vibe-transfer-bundle", version: 1, vibes:
    [...]}`.

    Attributes:
        name: the name shown in the web client.
        image: the source image, when the file has it (then a new encoding can be made from it).
        encodings: model key (`v4full`, `v4curated`, `v4-5full`, `v4-5curated`) -> information extracted ->
            encoding.
        strength: the strength to use it with.
        information_extracted: the information extracted it was imported with.
        extra: the file's other fields, written back as they were.
    """

    name: str
    image: bytes | None = attrs.field(default=None, repr=_bytes_repr)
    encodings: Mapping[str, Mapping[float, bytes]] = attrs.field(factory=dict, repr=lambda v: f"<{sorted(v)}>")
    strength: float = 0.6
    information_extracted: float = 1.0
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    def vibe(
        self,
        model: str = "nai-diffusion-4-5-full",
        *,
        information_extracted: float | None = None,
        strength: float | None = None,
    ) -> Vibe:
        """The vibe to send with `model`, from the encoding this file holds for it.

        Raises:
            ImageParamsError: the file has no encoding for that model (and information extracted); encode its image
                with `nai.image.encode_vibe(file, model=...)`.
        """
        key = _vibe_key(model)
        wanted = self.information_extracted if information_extracted is None else information_extracted
        by_info = self.encodings.get(key or "", {})
        encoding = by_info.get(wanted)
        if encoding is None and information_extracted is None and len(by_info) == 1:
            wanted, encoding = next(iter(by_info.items()))
        if encoding is None:
            held = ", ".join(f"{k} at {sorted(v)}" for k, v in self.encodings.items()) or "none"
            raise ImageParamsError(
                f"the vibe file {self.name!r} has no encoding for {model} at {wanted} (it has {held})"
            )
        return Vibe(encoding, wanted, self.strength if strength is None else strength, model=model)

    def with_encoding(self, vibe: Vibe) -> VibeFile:
        """This file with `vibe`'s encoding added (for `vibe.model`)."""
        key = _vibe_key(vibe.model or "")
        if key is None:
            raise ImageParamsError(f"vibe files hold V4 and V4.5 encodings, not {vibe.model}")
        encodings = {k: dict(v) for k, v in self.encodings.items()}
        encodings.setdefault(key, {})[vibe.information_extracted] = vibe.image
        return attrs.evolve(self, encodings=encodings)

    @classmethod
    def from_image(cls, image: ImageInput, *, name: str | None = None, strength: float = 0.6) -> VibeFile:
        """A new file for a reference image, with no encoding yet."""
        data = as_png(image, what="vibe image")
        digest = hashlib.sha256(_b64(data).encode("ascii")).hexdigest()
        return cls(name or f"{digest[:6]}-{digest[-6:]}", data, {}, strength)

    @classmethod
    def from_json(cls, obj: object) -> VibeFile:
        """Reads one vibe of a `.naiv4vibe` file (or of a bundle), parsed from JSON.

        Raises:
            ImageFormatError: not a vibe file, or a damaged one.
        """
        if not isinstance(obj, Mapping) or obj.get("identifier") != _VIBE_ID:
            raise ImageFormatError(f"not a NovelAI vibe file (no identifier {_VIBE_ID!r})")
        image = _decode_b64(obj["image"], "image") if obj.get("image") is not None else None
        raw = obj.get("encodings", {})
        info = obj.get("importInfo") if isinstance(obj.get("importInfo"), Mapping) else {}
        assert isinstance(info, Mapping)
        default_info = _number(info.get("information_extracted"))
        if not isinstance(raw, Mapping):
            raise ImageFormatError("the vibe file's encodings are not an object")
        encodings: dict[str, dict[float, bytes]] = {}
        for key, entries in raw.items():
            if not isinstance(entries, Mapping):
                raise ImageFormatError(f"the vibe file's encodings for {key!r} are not an object")
            for entry in entries.values():
                if not isinstance(entry, Mapping):
                    raise ImageFormatError(f"an encoding for {key!r} is not an object")
                params = entry.get("params") if isinstance(entry.get("params"), Mapping) else {}
                assert isinstance(params, Mapping)
                value = _number(params.get("information_extracted"))
                extracted = value if value is not None else default_info if default_info is not None else 1.0
                encodings.setdefault(str(key), {})[extracted] = _decode_b64(entry.get("encoding"), "encoding")
        strength = _number(info.get("strength"))
        name = obj.get("name")
        known = {"identifier", "version", "type", "image", "encodings", "name", "importInfo"}
        return cls(
            name if isinstance(name, str) else "vibe",
            image,
            encodings,
            0.6 if strength is None else strength,
            1.0 if default_info is None else default_info,
            {k: v for k, v in obj.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object."""
        encodings = {
            key: {
                ("unknown" if i == 0 else f"unknown-{info:g}"): {
                    "encoding": _b64(data),
                    "params": {"information_extracted": info},
                }
                for i, (info, data) in enumerate(sorted(by_info.items()))
            }
            for key, by_info in self.encodings.items()
        }
        source = _b64(self.image) if self.image is not None else None
        digest_of: str = source or next((str(e["encoding"]) for m in encodings.values() for e in m.values()), "")
        obj: dict[str, Any] = {
            "identifier": _VIBE_ID,
            "version": 1,
            "type": "image" if source is not None else "encoding",
        }
        if source is not None:
            obj["image"] = source
        obj.update(
            id=hashlib.sha256(digest_of.encode("ascii")).hexdigest(),
            encodings=encodings,
            name=self.name,
            createdAt=int(time.time() * 1000),
            importInfo={"information_extracted": self.information_extracted, "strength": self.strength},
        )
        obj.update(self.extra)
        return obj

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VibeFile:
        """Reads a `.naiv4vibe` file (the first vibe, for a bundle; `read_vibe_files` reads them all)."""
        return read_vibe_files(path)[0]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Writes this vibe as a `.naiv4vibe` file."""
        target = Path(path)
        target.write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")
        return target


def read_vibe_files(source: bytes | str | os.PathLike[str]) -> list[VibeFile]:
    """The vibes of a `.naiv4vibe` file or a `.naiv4vibebundle`, given as bytes or a path.

    Raises:
        ImageFormatError: not a vibe file or bundle, or a damaged one.
    """
    data = as_png(source, what="vibe file")
    try:
        obj = loads_strict(data, ImageFormatError, "the vibe file")
    except ImageFormatError as exc:
        raise ImageFormatError(f"a vibe file is JSON, and this is not: {exc}") from exc
    if isinstance(obj, Mapping) and obj.get("identifier") == _BUNDLE_ID:
        vibes = obj.get("vibes")
        if not isinstance(vibes, list) or not vibes:
            raise ImageFormatError("a vibe bundle without vibes")
        return [VibeFile.from_json(item) for item in vibes]
    return [VibeFile.from_json(obj)]


def write_vibe_bundle(path: str | os.PathLike[str], files: Iterable[VibeFile]) -> Path:
    """Writes vibes as one `.naiv4vibebundle` file."""
    target = Path(path)
    bundle = {"identifier": _BUNDLE_ID, "version": 1, "vibes": [vibe.to_json() for vibe in files]}
    target.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return target

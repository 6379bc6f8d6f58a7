"""Typed parameters and results of image generation.

One class per model generation, each an attrs class with NovelAI's defaults: `V3Params` (NAI Diffusion 3),
`V4Params` (NAI Diffusion 4, with character prompts) and `V45Params` (4.5). The same fields cover text-to-image,
img2img (`image=`), inpainting (`image=` and `mask=`) and vibe transfer (`vibes=`); `to_request` builds the
`parameters` object and picks the action (`generate`, `img2img`, `infill`).

    params = V45Params(width=1024, height=1024, steps=28, seed=42, negative_prompt="blurry",
                       characters=[Character("1girl, red hair", center=(0.3, 0.5))])
    result = nai.image.generate("a lantern over a river at night", params)
    result.images[0].save("out.png")
"""

from __future__ import annotations

import base64
import enum
import io
import os
import random
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from nai_sdk.errors import FormatError

if TYPE_CHECKING:
    from nai_client.models import AiGenerateImageRequest

__all__ = [
    "Character",
    "Image",
    "ImageParams",
    "ImageResult",
    "NoiseSchedule",
    "Sampler",
    "V3Params",
    "V4Params",
    "V45Params",
    "Vibe",
    "images_from_zip",
]

_MAX_SEED = 2**32 - 1


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


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _vibes(value: Iterable[Vibe]) -> tuple[Vibe, ...]:
    return tuple(value)


def _characters(value: Iterable[Character]) -> tuple[Character, ...]:
    return tuple(value)


def _check_side(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value <= 0 or value % 64:
        raise ValueError(f"{attribute.name} must be a positive multiple of 64, got {value}")


def _check_positive(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


def _check_unit(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within 0..1, got {value}")


def _check_center(_instance: object, _attribute: attrs.Attribute[tuple[float, float]], value: Any) -> None:
    if len(value) != 2 or not all(0.0 <= v <= 1.0 for v in value):
        raise ValueError(f"center must be (x, y) within 0..1, got {value!r}")


@attrs.frozen
class Character:
    """One character of a v4/v4.5 multi-character prompt.

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
        image: for v3, the reference image (PNG bytes); for v4 and later, the encoded vibe NovelAI returned for it
            (bytes of `/ai/encode-vibe`).
        information_extracted: how much of the reference to take (v3), 0..1.
        strength: how strongly it steers the image, 0..1.
    """

    image: bytes = attrs.field(repr=lambda value: f"<{len(value)} bytes>")
    information_extracted: float = attrs.field(default=1.0, validator=_check_unit)
    strength: float = attrs.field(default=0.6, validator=_check_unit)


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
        negative_prompt: what the image must not show ("undesired content").
        cfg_rescale: prompt guidance rescale, 0..1.
        quality_toggle: let NovelAI add its quality tags.
        uc_preset: NovelAI's undesired-content preset number (0 heavy, 1 light, ...; 3 or None for none).
        image: img2img or inpainting source (PNG bytes).
        strength: how much img2img may change `image`, 0..1.
        noise: noise added to `image` for img2img, 0..1.
        mask: inpainting mask (PNG bytes, white where to paint); needs `image`.
        vibes: vibe transfer references.
        extra: further raw parameters, sent as given (they win over the fields above).
    """

    model: ClassVar[str] = "nai-diffusion-3"

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
    uc_preset: int | None = None
    image: bytes | None = attrs.field(default=None, repr=lambda v: "None" if v is None else f"<{len(v)} bytes>")
    strength: float = attrs.field(default=0.7, validator=_check_unit)
    noise: float = attrs.field(default=0.0, validator=_check_unit)
    mask: bytes | None = attrs.field(default=None, repr=lambda v: "None" if v is None else f"<{len(v)} bytes>")
    vibes: tuple[Vibe, ...] = attrs.field(default=(), converter=_vibes)
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.mask is not None and self.image is None:
            raise ValueError("a mask (inpainting) needs the image it applies to")

    @property
    def action(self) -> str:
        """`generate`, `img2img` (with `image`) or `infill` (with `image` and `mask`)."""
        if self.mask is not None:
            return "infill"
        if self.image is not None:
            return "img2img"
        return "generate"

    def request(self, prompt: str, model: str | None = None) -> AiGenerateImageRequest:
        """The body of `POST /ai/generate-image`, as the generated client's model.

        Args:
            prompt: the prompt.
            model: the model id; by default the class's model (for inpainting, its `-inpainting` variant).
        """
        # Imported here: this module stays free of the generated (HTTP) client until a request is built.
        from nai_client.models import AiGenerateImageRequest, AiGenerateImageRequestParameters

        chosen = model or (self.model + "-inpainting" if self.mask is not None else self.model)
        parameters = AiGenerateImageRequestParameters()
        # The spec leaves `parameters` open (model specific): every key is one of its additional properties.
        parameters.additional_properties = self.parameters(prompt)
        return AiGenerateImageRequest(input_=prompt, model=chosen, parameters=parameters, action=self.action)

    def to_request(self, prompt: str, model: str | None = None) -> dict[str, Any]:
        """The JSON body of `POST /ai/generate-image` (`request(...)` as JSON), to inspect without sending it."""
        return self.request(prompt, model).to_dict()

    def parameters(self, prompt: str) -> dict[str, Any]:
        """The `parameters` object for `prompt`."""
        seed = self.seed if self.seed is not None else random.randint(1, _MAX_SEED - self.n_samples)
        params: dict[str, Any] = {
            "width": self.width,
            "height": self.height,
            "steps": self.steps,
            "scale": self.scale,
            "sampler": str(self.sampler),
            "noise_schedule": str(self.noise_schedule),
            "seed": seed,
            "n_samples": self.n_samples,
            "negative_prompt": self.negative_prompt,
            "uc": self.negative_prompt,
            "cfg_rescale": self.cfg_rescale,
            "qualityToggle": self.quality_toggle,
            "params_version": 3,
            "legacy": False,
        }
        if self.uc_preset is not None:
            params["ucPreset"] = self.uc_preset
        if self.image is not None:
            params["image"] = _b64(self.image)
            params["strength"] = self.strength
            params["noise"] = self.noise
            params["extra_noise_seed"] = seed
        if self.mask is not None:
            params["mask"] = _b64(self.mask)
            params["add_original_image"] = True
        self._model_parameters(params, prompt)
        params.update(self.extra)
        return params

    def _model_parameters(self, params: dict[str, Any], prompt: str) -> None:
        """Adds what only this model generation takes."""


@attrs.frozen(kw_only=True)
class V3Params(ImageParams):
    """NAI Diffusion 3 (`nai-diffusion-3`).

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

    def _model_parameters(self, params: dict[str, Any], prompt: str) -> None:
        params.update(
            sm=self.smea,
            sm_dyn=self.smea and self.smea_dyn,
            dynamic_thresholding=self.dynamic_thresholding,
            uncond_scale=self.uncond_scale,
            legacy_v3_extend=False,
        )
        if self.vibes:
            params["reference_image_multiple"] = [_b64(v.image) for v in self.vibes]
            params["reference_information_extracted_multiple"] = [v.information_extracted for v in self.vibes]
            params["reference_strength_multiple"] = [v.strength for v in self.vibes]


@attrs.frozen(kw_only=True)
class V4Params(ImageParams):
    """NAI Diffusion 4 (`nai-diffusion-4-full`), with multi-character prompts.

    Attributes:
        characters: up to 6 characters, each with its own prompt, negative prompt and position.
        use_coords: place the characters at their `center`s (otherwise the model places them).
    """

    model: ClassVar[str] = "nai-diffusion-4-full"

    characters: tuple[Character, ...] = attrs.field(default=(), converter=_characters)
    use_coords: bool = False

    def _model_parameters(self, params: dict[str, Any], prompt: str) -> None:
        chars = self.characters
        params["v4_prompt"] = {
            "caption": {
                "base_caption": prompt,
                "char_captions": [{"char_caption": c.prompt, "centers": [c._center()]} for c in chars],
            },
            "use_coords": self.use_coords,
            "use_order": True,
        }
        params["v4_negative_prompt"] = {
            "caption": {
                "base_caption": self.negative_prompt,
                "char_captions": [{"char_caption": c.negative, "centers": [c._center()]} for c in chars],
            },
            "legacy_uc": False,
        }
        params["characterPrompts"] = [
            {"prompt": c.prompt, "uc": c.negative, "center": c._center(), "enabled": True} for c in chars
        ]
        if self.vibes:
            params["reference_image_multiple"] = [_b64(v.image) for v in self.vibes]
            params["reference_strength_multiple"] = [v.strength for v in self.vibes]


@attrs.frozen(kw_only=True)
class V45Params(V4Params):
    """NAI Diffusion 4.5 (`nai-diffusion-4-5-full`): the v4 parameters and wire format, another model."""

    model: ClassVar[str] = "nai-diffusion-4-5-full"


@attrs.frozen
class Image:
    """One generated image.

    Attributes:
        name: its file name in NovelAI's answer (`image_0.png`).
        data: the PNG bytes.
    """

    name: str
    data: bytes = attrs.field(repr=lambda value: f"<{len(value)} bytes>")

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

    def __iter__(self) -> Any:
        return iter(self.images)

    def __len__(self) -> int:
        return len(self.images)


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

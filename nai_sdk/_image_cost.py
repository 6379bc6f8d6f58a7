"""What an image request costs in Anlas, as NovelAI's web client computes it before sending.

Sources, which agree where both cover a case (the formulas are rewritten here, not copied):

* [npy] novelai-python 0.9.0 (PyPI, MIT), `novelai_python/sdk/ai/_cost.py`: `CostCalculator.calculate_cost`
  ("as the novelai.net web client computes it (checkStableDiffusionPrice, checkUpscalePrice and the image tools
  price hook)"), `calculate`, `calculate_tool`.
* [nsdk] novelai-sdk 0.14.1 (PyPI, MIT), `novelai/utils/anlas.py`: `_estimate_supported_request`,
  `calculate_augment_anlas`, `_with_character_reference_extras`, `_with_vibe_extras`.
* [cr] bedovyy/ComfyUI_NAIDGenerator issue 43 (2025-09-13): character reference "costs 5 Anlas for each generation,
  including Opus tier"; issue 41 (2025-07-27): "vibe encodings for v4+ use 2 anlas".
* [live] bedovyy/ComfyUI_NAIDGenerator pull request 52 (2026-09-13): V5 Full at 832x1216 and V5 Curated at 512x768,
  28 steps, cost 0 Anlas on Opus.

One CONFLICT: [npy] multiplies the price of V5 by 1.5, [nsdk] does not. [live] cannot tell them apart (both give
0 for the free image). This module follows [npy], whose table says it comes from the web client.
"""

from __future__ import annotations

import math
from typing import Final

from nai_sdk.errors import ImageParamsError

__all__ = [
    "CHARACTER_REFERENCE_COST",
    "MAX_IMAGE_COST",
    "OPUS_FREE_PIXELS",
    "OPUS_FREE_STEPS",
    "VIBE_ENCODING_COST",
    "director_price",
    "generation_price",
    "tier_number",
    "upscale_price",
]

#: The most one image may cost; the web client refuses anything dearer ([npy] `ANLAS_MAX`, [nsdk]).
MAX_IMAGE_COST: Final = 140
#: Opus generates one image free per request up to this many pixels and steps ([npy], [nsdk]).
OPUS_FREE_PIXELS: Final = 1_048_576
OPUS_FREE_STEPS: Final = 28
#: Each character reference costs this per image, on every tier ([cr], [npy], [nsdk]).
CHARACTER_REFERENCE_COST: Final = 5
#: Each vibe beyond the fourth costs this per request ([npy], [nsdk]).
EXTRA_VIBE_COST: Final = 2
VIBE_ENCODING_COST: Final = 2
"""Encoding one image into a vibe (`/ai/encode-vibe`) ([cr], [nsdk] `_VIBE_EXTRA_ANLAS` for an uncached vibe)."""
_TOOL_MIN_PIXELS: Final = 1_048_576
_TOOL_MAX_PIXELS: Final = 3_145_728
_TOOL_STEPS: Final = 28
# [npy] `UPSCALE_PRICES`: the price by the largest image each one covers; larger images are refused.
_UPSCALE_PRICES: Final = ((1_048_576, 1), (1_747_627, 2), (2_446_678, 3), (3_145_728, 4))
_TIERS: Final = {"paper": 0, "tablet": 1, "scroll": 2, "opus": 3}
# [npy] `calculate_cost`: the sampling price of the v1/v2 models with these samplers (others use tables).
_V1_SAMPLERS: Final = frozenset({"plms", "ddim", "k_euler", "k_euler_ancestral", "k_lms"})


def tier_number(tier: str | int) -> int:
    """0 (Paper) to 3 (Opus) from a tier name or number.

    Raises:
        ImageParamsError: an unknown tier.
    """
    if isinstance(tier, int) and 0 <= tier <= 3:
        return tier
    if isinstance(tier, str) and tier.lower() in _TIERS:
        return _TIERS[tier.lower()]
    raise ImageParamsError(f"unknown subscription tier {tier!r}: paper, tablet, scroll, opus or 0..3")


def _per_image(family: str, pixels: int, steps: int, smea: float, sampler: str) -> float:
    if family in ("v3", "v4", "v4.5", "v5"):
        cost = math.ceil(2.951823174884865e-6 * pixels + 5.753298233447344e-7 * pixels * steps) * smea
        return cost * 1.5 if family == "v5" else cost
    if max(pixels, 65536) <= OPUS_FREE_PIXELS and sampler in _V1_SAMPLERS:
        return (15.266497014243718 * math.exp(pixels / 1048576 * 0.6326248927474729) - 15.225164493059737) / 28 * steps
    raise ImageParamsError(f"the cost of this v1/v2 request (sampler {sampler}, {pixels} pixels) is not known")


def generation_price(
    family: str,
    width: int,
    height: int,
    steps: int,
    n_samples: int,
    *,
    tier: int,
    strength: float = 1.0,
    smea: float = 1.0,
    sampler: str = "k_euler_ancestral",
    character_references: int = 0,
    vibes: int = 0,
    active: bool = True,
    free_blocked: bool = False,
) -> int:
    """The Anlas of one `/ai/generate-image` request.

    Args:
        family: the model's family (`nai_sdk._image_tables.family`).
        width: pixels.
        height: pixels.
        steps: sampling steps.
        n_samples: images.
        tier: 0..3.
        strength: the img2img strength, or the inpainting strength; 1 for text to image.
        smea: 1.2 with SMEA, 1.4 with SMEA DYN (V3).
        sampler: the sampler (v1/v2 prices depend on it).
        character_references: character references sent.
        vibes: vibes sent.
        active: the subscription is active.
        free_blocked: the Opus free generation does not apply (V5 while the Opus usage bar is below zero).

    Raises:
        ImageParamsError: one image would cost more than `MAX_IMAGE_COST`, which the web client refuses.
    """
    pixels = width * height
    per_image = max(math.ceil(_per_image(family, pixels, steps, smea, sampler) * strength), 2)
    if per_image > MAX_IMAGE_COST:
        raise ImageParamsError(
            f"one {width}x{height} image at {steps} steps would cost {per_image} Anlas; NovelAI's client refuses "
            f"anything over {MAX_IMAGE_COST} per image"
        )
    billed = n_samples
    if tier >= 3 and active and not free_blocked and pixels <= OPUS_FREE_PIXELS and steps <= OPUS_FREE_STEPS:
        billed -= 1
    return (
        per_image * billed
        + CHARACTER_REFERENCE_COST * character_references * n_samples
        + EXTRA_VIBE_COST * max(0, vibes - 4)
    )


def _scaled(width: int, height: int) -> tuple[int, int]:
    area = width * height
    if area > _TOOL_MAX_PIXELS:
        factor = math.sqrt(_TOOL_MAX_PIXELS / area)
        width, height = math.floor(width * factor), math.floor(height * factor)
    elif area < _TOOL_MIN_PIXELS:
        factor = math.sqrt(_TOOL_MIN_PIXELS / area)
        width, height = math.floor(width * factor), math.floor(height * factor)
    return width, height


def director_price(tool: str, width: int, height: int, *, tier: int, active: bool = True) -> int:
    """The Anlas of one director tool request (`/ai/augment-image`) on a `width` x `height` image.

    The web client bills the image scaled into 1..3 megapixels as a V3 image of 28 steps, free on Opus up to one
    megapixel; background removal costs three times that plus 5 and is never free ([npy] `calculate_tool`, [nsdk]
    `calculate_augment_anlas`).
    """
    billed_w, billed_h = _scaled(width, height)
    area = billed_w * billed_h
    base = max(math.ceil(2.951823174884865e-6 * area + 5.753298233447344e-7 * area * _TOOL_STEPS), 2)
    if tool == "bg-removal":
        return 3 * base + 5
    if tier >= 3 and active and area <= OPUS_FREE_PIXELS:
        return 0
    return base


def upscale_price(width: int, height: int) -> int:
    """The Anlas of upscaling a `width` x `height` image ([npy] `calculate_tool("upscale", ...)`).

    Raises:
        ImageParamsError: the image is larger than the web client lets one upscale (1 megapixel).
    """
    pixels = width * height
    if pixels > OPUS_FREE_PIXELS:
        raise ImageParamsError(f"NovelAI upscales images of up to {OPUS_FREE_PIXELS} pixels, not {width}x{height}")
    return next(price for limit, price in _UPSCALE_PRICES if pixels <= limit)

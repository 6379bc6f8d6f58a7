"""Anlas costs: generation, director tools and upscaling, the Opus free rule, and `max_anlas`.

The expected figures are worked out by hand from the web client's formula as novelai-python 0.9.0 (`_cost.py`) and
novelai-sdk 0.14.1 (`utils/anlas.py`) give it: per image, ceil(2.951823174884865e-6 * pixels +
5.753298233447344e-7 * pixels * steps), times 1.2 (SMEA) or 1.4 (SMEA DYN), times 1.5 on V5, times the img2img
strength, rounded up, at least 2. 832x1216 at 28 steps: ceil(2.986 + 16.298) = 20 (the price novelai.net shows).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from nai_sdk._png import encode_png
from nai_sdk.errors import AnlasLimitError, ImageParamsError
from nai_sdk.images import (
    CharacterReference,
    V3Params,
    V4Params,
    V5Params,
    V45Params,
    Vibe,
    anlas_cost,
    director_cost,
    upscale_cost,
)
from tests._client_helpers import maybe


def png(width: int, height: int) -> bytes:
    return encode_png(width, height, [bytes(width * 3)] * height, alpha=False)


REFERENCE = CharacterReference(png(1024, 1536))


@pytest.mark.parametrize(
    ("params", "tier", "expected"),
    [
        (V45Params(), "tablet", 20),
        (V45Params(), "opus", 0),
        (V45Params(), 3, 0),
        (V45Params(n_samples=4), "opus", 60),  # one of the four is free
        (V45Params(n_samples=4), "scroll", 80),
        (V45Params(width=1024, height=1024), "opus", 0),  # 1024x1024 is exactly the free size
        (V45Params(width=1024, height=1536), "opus", 30),  # larger: nothing free
        (V45Params(steps=29), "opus", 20),  # more steps: nothing free
        (V45Params(steps=50), "tablet", 33),
        (V5Params(), "tablet", 30),  # V5: 1.5 times
        (V5Params(), "opus", 0),  # live: 0 on Opus at 832x1216, 28 steps
        (V5Params(width=512, height=768), "opus", 0),
        (V3Params(), "tablet", 20),
        (V3Params(smea=True), "tablet", 24),
        (V3Params(smea=True, smea_dyn=True), "tablet", 28),
        (V4Params(width=64, height=64, steps=1), "tablet", 2),  # at least 2
        (V45Params(image=png(832, 1216), strength=0.5), "tablet", 10),
        (V45Params(image=png(832, 1216), mask=png(832, 1216), inpaint_strength=0.3), "tablet", 6),
        (V45Params(character_references=[REFERENCE]), "opus", 5),  # 5 an image, even on Opus
        (V45Params(character_references=[REFERENCE, REFERENCE], n_samples=2), "opus", 20 + 20),
        (V45Params(vibes=[Vibe(b"e")] * 4), "tablet", 20),
        (V45Params(vibes=[Vibe(b"e")] * 6), "tablet", 24),  # 2 for each beyond the fourth
    ],
)
def test_generation_costs(params: Any, tier: str | int, expected: int) -> None:
    assert expected == anlas_cost(params, tier=tier)


def test_the_model_and_the_subscription_change_the_cost() -> None:
    assert 30 == anlas_cost(V5Params(), tier="tablet", model="nai-diffusion-5-curated")
    assert 20 == anlas_cost(V45Params(), tier="opus", active=False)
    assert 30 == anlas_cost(V5Params(), tier="opus", opus_usage_negative=True)
    assert 0 == anlas_cost(V45Params(), tier="opus", opus_usage_negative=True)  # only V5 draws from the bar
    assert 20 == V45Params().cost(tier="paper")


def test_refused_costs() -> None:
    with pytest.raises(ImageParamsError, match="140"):
        anlas_cost(V5Params(width=2048, height=2048, steps=50), tier="opus")
    with pytest.raises(ImageParamsError, match="tier"):
        anlas_cost(V45Params(), tier="platinum")
    with pytest.raises(ImageParamsError, match="tier"):
        anlas_cost(V45Params(), tier=4)


@pytest.mark.parametrize(
    ("tool", "size", "tier", "expected"),
    [
        ("lineart", (1024, 1024), "tablet", 20),
        ("lineart", (1024, 1024), "opus", 0),
        ("sketch", (512, 512), "opus", 0),  # scaled up to 1024x1024 for the price
        ("colorize", (512, 512), "tablet", 20),
        ("emotion", (1536, 2048), "opus", 60),  # above 1 MP: not free
        ("declutter", (4096, 4096), "tablet", 60),  # scaled down to 3 MP
        ("bg-removal", (1024, 1024), "opus", 65),  # 3 times the price plus 5, never free
        ("bg-removal", (512, 512), "tablet", 65),
    ],
)
def test_director_tool_costs(tool: str, size: tuple[int, int], tier: str, expected: int) -> None:
    assert expected == director_cost(tool, *size, tier=tier)


def test_upscale_costs() -> None:
    assert (1, 1) == (upscale_cost(512, 768), upscale_cost(1024, 1024))
    with pytest.raises(ImageParamsError, match="upscales"):
        upscale_cost(1024, 1536)


def test_the_cost_is_quick() -> None:
    params = V45Params(n_samples=2, vibes=[Vibe(b"e")] * 5)
    anlas_cost(params, tier="opus")
    runs = 2000
    start = time.perf_counter()
    for _ in range(runs):
        anlas_cost(params, tier="opus")
    each = (time.perf_counter() - start) / runs
    # The budget is 20 µs (bench/bench_images.py); a loaded CI machine gets five times that.
    assert each < 100e-6, f"{each * 1e6:.1f} µs"


# --- through the clients ------------------------------------------------------------------------------------------


async def test_cost_reads_the_accounts_tier(nai: Any) -> None:
    # The fake's accounts are Opus.
    assert 0 == await maybe(nai.image.cost(V45Params()))
    assert 60 == await maybe(nai.image.cost(V45Params(n_samples=4)))
    assert 20 == await maybe(nai.image.cost(V45Params(), tier="tablet"))


async def test_max_anlas_refuses_before_generating(nai: Any, fake: Any) -> None:
    def generations() -> int:
        return sum(1 for r in fake.requests.all() if r.path.startswith(("/ai/generate-image", "/ai/augment-image")))

    before = generations()
    with pytest.raises(AnlasLimitError) as info:
        await maybe(nai.image.generate("x", V45Params(width=1024, height=1536, seed=1), max_anlas=10))
    assert (30, 10) == (info.value.cost, info.value.limit)
    with pytest.raises(AnlasLimitError):
        await maybe(nai.image.director("bg-removal", png(64, 64), max_anlas=64))
    stream = nai.image.generate_stream("x", V45Params(width=1024, height=1536, seed=1), max_anlas=29)
    with pytest.raises(AnlasLimitError):
        if hasattr(stream, "__aiter__"):
            await anext(stream)
        else:
            next(stream)
    assert before == generations()
    # Within the limit: generated.
    result = await maybe(nai.image.generate("x", V45Params(width=64, height=64, seed=1), max_anlas=0))
    assert 1 == len(result.images)

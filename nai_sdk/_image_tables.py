"""What NovelAI's web client adds to an image request, per model: quality tags, undesired-content presets, and the
`Source` names of its PNG metadata. Data only; `nai_sdk.images` applies it.

Sources (each table names the ones it follows):

* [npy] novelai-python 0.9.0 (PyPI, MIT), `novelai_python/sdk/ai/_enum.py`: `get_modifiers`,
  `get_quality_presets`, `get_uc_preset` (the web client's presets, "From the web client bundle" for V5, and
  docs.novelai.net "Quality Tags" for the others), `PROMOTION` (the `Source` names), `get_supported_params`
  (`vibetransfer`, `cfgDelay`, `cfgDelaySigma`, `characterPrompts`), `supports_character_reference`,
  `get_max_characters`.
* [qt] independent clients that append the same quality tags, found by a public code search for
  "location, very aesthetic, masterpiece, no text" (several Dart and TypeScript clients, 2025-2026). One public
  capture of the web client (bedovyy/ComfyUI_NAIDGenerator issue 43, 2025-10-06) shows V4.5 Full sending
  "very aesthetic, masterpiece, no text" without "location" for a prompt with characters; the tables keep the
  documented suffix.
* [st] SillyTavern pull request 6002 (2026-09, closed): V5 takes no SMEA, no decrisper and no Variety+, and its
  noise schedule is karras.
* [cr] bedovyy/ComfyUI_NAIDGenerator issue 43 and pull request 45 (character reference: the three accepted
  canvas sizes, `base_caption` "character&style" or "character", primary strength 1.0 and secondary strength
  1 - fidelity, 5 Anlas each).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "CHARACTER_REFERENCE_SIZES",
    "MAX_CHARACTERS",
    "QUALITY_LIGHT",
    "QUALITY_PREFIX",
    "QUALITY_SUFFIX",
    "SOURCES",
    "SOURCE_FALLBACKS",
    "SOURCE_OF_MODEL",
    "UC_PRESETS",
    "VARIETY_SIGMA",
    "family",
]

_V5 = ("nai-diffusion-5-full", "nai-diffusion-5-curated", "nai-diffusion-5-full-inpainting")
_V45_FULL = ("nai-diffusion-4-5-full", "nai-diffusion-4-5-full-inpainting")
_V45_CURATED = ("nai-diffusion-4-5-curated", "nai-diffusion-4-5-curated-inpainting")
_V4_FULL = ("nai-diffusion-4-full", "nai-diffusion-4-full-inpainting")
_V4_CURATED = ("nai-diffusion-4-curated-preview", "nai-diffusion-4-curated-inpainting")
_V3 = ("nai-diffusion-3", "nai-diffusion-3-inpainting")
_FURRY3 = ("nai-diffusion-furry-3", "nai-diffusion-furry-3-inpainting")
_V1 = ("safe-diffusion", "nai-diffusion", "safe-diffusion-inpainting", "nai-diffusion-inpainting")
_FURRY1 = ("nai-diffusion-furry", "furry-diffusion-inpainting")


def _each(groups: Mapping[tuple[str, ...], str]) -> Mapping[str, str]:
    return MappingProxyType({model: value for models, value in groups.items() for model in models})


def family(model: str) -> str:
    """`"v5"`, `"v4.5"`, `"v4"`, `"v3"` or `"v1"` (v1, v2 and unknown ids) for a model id."""
    if model.startswith("nai-diffusion-5"):
        return "v5"
    if model.startswith("nai-diffusion-4-5"):
        return "v4.5"
    if model.startswith("nai-diffusion-4"):
        return "v4"
    if model in _V3 or model in _FURRY3:
        return "v3"
    return "v1"


#: What the web client appends to the prompt when quality tags are on ([npy] `get_modifiers`, [qt]).
QUALITY_SUFFIX: Final = _each(
    {
        _V5: ", very aesthetic, masterpiece, no text",
        _V45_FULL: ", location, very aesthetic, masterpiece, no text",
        _V45_CURATED: ", location, masterpiece, no text, -0.8::feet::, rating:general",
        _V4_FULL: ", no text, best quality, very aesthetic, absurdres",
        _V4_CURATED: ", rating:general, amazing quality, very aesthetic, absurdres",
        _V3: ", best quality, amazing quality, very aesthetic, absurdres",
        _FURRY3: ", {best quality}, {amazing quality}",
    }
)
#: V5's "light" quality preset ([npy] `get_quality_presets`).
QUALITY_LIGHT: Final = ", very aesthetic, amazing quality, no text"
#: What the web client puts in front of the prompt instead, for the v1 and v2 models ([npy] `get_modifiers`).
QUALITY_PREFIX: Final = _each(
    {
        ("nai-diffusion-2",): "very aesthetic, best quality, absurdres, ",
        _V1 + _FURRY1: "masterpiece, best quality, ",
    }
)

_V1_HEAVY = (
    "nsfw, lowres, bad anatomy, bad hands, text, error, missing fingers, extra digit, fewer digits, cropped, "
    "worst quality, low quality, normal quality, jpeg artifacts, signature, watermark, username, blurry"
)
_V1_LIGHT = (
    "nsfw, lowres, text, cropped, worst quality, low quality, normal quality, jpeg artifacts, signature, watermark, "
    "username, blurry"
)
_V3_HEAVY = (
    "nsfw, lowres, {bad}, error, fewer, extra, missing, worst quality, jpeg artifacts, bad quality, watermark, "
    "unfinished, displeasing, chromatic aberration, signature, extra digits, artistic error, username, scan, "
    "[abstract]"
)
_V45_FULL_HEAVY = (
    "nsfw, lowres, artistic error, film grain, scan artifacts, worst quality, bad quality, jpeg artifacts, very "
    "displeasing, chromatic aberration, dithering, halftone, screentone, multiple views, logo, too many watermarks, "
    "negative space, blank page"
)
_FURRY_FOCUS = (
    "nsfw, {worst quality}, distracting watermark, unfinished, bad quality, {widescreen}, upscale, {sequence}, "
    "{{grandfathered content}}, blurred foreground, chromatic aberration, sketch, everyone, [sketch background], "
    "simple, [flat colors], ych (character), outline, multiple scenes, [[horror (theme)]], comic"
)
_HUMAN_FOCUS = _V45_FULL_HEAVY + ", @_@, mismatched pupils, glowing eyes, bad anatomy"
_V45_CURATED_HEAVY = (
    "blurry, lowres, upscaled, artistic error, film grain, scan artifacts, worst quality, bad quality, jpeg "
    "artifacts, very displeasing, chromatic aberration, halftone, multiple views, logo, too many watermarks, "
    "negative space, blank page"
)

#: The undesired-content presets of each model, in the web client's order: `ucPreset` is the index of the one
#: chosen, and its text goes in front of the user's negative prompt ([npy] `get_uc_preset`).
UC_PRESETS: Final[Mapping[str, tuple[tuple[str, str], ...]]] = MappingProxyType(
    {
        model: presets
        for models, presets in {
            _V5: (
                ("heavy", _V45_FULL_HEAVY),
                (
                    "light",
                    "nsfw, lowres, bad hands, bad anatomy, artistic error, sepia, white haze, worst quality, very "
                    "displeasing, jpeg artifacts, 0::ai-generated::",
                ),
                ("furry", _FURRY_FOCUS),
                ("human", _HUMAN_FOCUS),
                ("none", ""),
            ),
            _V45_FULL: (
                ("heavy", _V45_FULL_HEAVY),
                (
                    "light",
                    "nsfw, lowres, artistic error, scan artifacts, worst quality, bad quality, jpeg artifacts, "
                    "multiple views, very displeasing, too many watermarks, negative space, blank page",
                ),
                ("furry", _FURRY_FOCUS),
                ("human", _HUMAN_FOCUS),
                ("none", ""),
            ),
            _V45_CURATED: (
                ("heavy", _V45_CURATED_HEAVY),
                (
                    "light",
                    "blurry, lowres, upscaled, artistic error, scan artifacts, jpeg artifacts, logo, too many "
                    "watermarks, negative space, blank page",
                ),
                (
                    "human",
                    "blurry, lowres, upscaled, artistic error, film grain, scan artifacts, bad anatomy, bad hands, "
                    "worst quality, bad quality, jpeg artifacts, very displeasing, chromatic aberration, halftone, "
                    "multiple views, logo, too many watermarks, @_@, mismatched pupils, glowing eyes, negative "
                    "space, blank page",
                ),
                ("none", ""),
            ),
            _V4_FULL: (
                (
                    "heavy",
                    "nsfw, blurry, lowres, error, film grain, scan artifacts, worst quality, bad quality, jpeg "
                    "artifacts, very displeasing, chromatic aberration, multiple views, logo, too many watermarks, "
                    "white blank page, blank page",
                ),
                (
                    "light",
                    "nsfw, blurry, lowres, error, worst quality, bad quality, jpeg artifacts, very displeasing, "
                    "white blank page, blank page",
                ),
                ("none", ""),
            ),
            _V4_CURATED: (
                (
                    "heavy",
                    "blurry, lowres, error, film grain, scan artifacts, worst quality, bad quality, jpeg artifacts, "
                    "very displeasing, chromatic aberration, logo, dated, signature, multiple views, gigantic "
                    "breasts",
                ),
                (
                    "light",
                    "blurry, lowres, error, worst quality, bad quality, jpeg artifacts, very displeasing, logo, "
                    "dated, signature",
                ),
                ("none", ""),
            ),
            _V3: (
                ("heavy", _V3_HEAVY),
                ("light", "nsfw, lowres, jpeg artifacts, worst quality, watermark, blurry, very displeasing"),
                (
                    "human",
                    _V3_HEAVY + ", bad anatomy, bad hands, @_@, mismatched pupils, heart-shaped pupils, glowing eyes",
                ),
                ("none", "lowres"),
            ),
            _FURRY3: (
                (
                    "heavy",
                    "nsfw, {{worst quality}}, [displeasing], {unusual pupils}, guide lines, {{unfinished}}, {bad}, "
                    "url, artist name, {{tall image}}, mosaic, {sketch page}, comic panel, impact (font), [dated], "
                    "{logo}, ych, {what}, {where is your god now}, {distorted text}, repeated text, {floating head}, "
                    "{1994}, {widescreen}, absolutely everyone, sequence, {compression artifacts}, hard translated, "
                    "{cropped}, {commissioner name}, unknown text, high contrast",
                ),
                (
                    "light",
                    "nsfw, {worst quality}, guide lines, unfinished, bad, url, tall image, widescreen, compression "
                    "artifacts, unknown text",
                ),
                ("none", "lowres"),
            ),
            ("nai-diffusion-2",): (
                (
                    "heavy",
                    "nsfw, lowres, bad, text, error, missing, extra, fewer, cropped, jpeg artifacts, worst quality, "
                    "bad quality, watermark, displeasing, unfinished, chromatic aberration, scan, scan artifacts",
                ),
                ("light", "nsfw, lowres, jpeg artifacts, worst quality, watermark, blurry, very displeasing"),
                ("none", "lowres"),
            ),
            _V1: (("heavy", _V1_HEAVY), ("light", _V1_LIGHT), ("none", "lowres")),
        }.items()
        for model in models
    }
)

#: Characters a request may carry: 6 on V4 and V4.5, 32 on V5 (the web client's `maxCharacters`, [npy]).
MAX_CHARACTERS: Final = MappingProxyType({"v4": 6, "v4.5": 6, "v5": 32})

#: Variety+ ("cfgDelay"): the base sigma above which guidance is skipped, before scaling to the image size
#: ([npy] `cfgDelaySigma`, and `GenerateImageInfer._backend_logic` for the scaling); V5 has no Variety+ ([st]).
VARIETY_SIGMA: Final = MappingProxyType({"v3": 19, "v4": 58, "v4.5": 58})

#: The canvases the character reference encoder accepts ([cr]; [npy] `DIRECTOR_SIZES`).
CHARACTER_REFERENCE_SIZES: Final = ((1024, 1536), (1536, 1024), (1472, 1472))

#: The `Source` text of NovelAI's PNG metadata -> the model that made the image ([npy] `PROMOTION`, which follows
#: the web client's metadata import; the V5 names were also seen live, bedovyy/ComfyUI_NAIDGenerator pull request
#: 52). An unknown V5, V4.5 or V4 name falls back to the family's model, as the web client does.
SOURCES: Final = MappingProxyType(
    {
        "Stable Diffusion 1D44365E": "safe-diffusion",
        "Stable Diffusion F4D50568": "safe-diffusion",
        "Stable Diffusion 81274D13": "nai-diffusion",
        "Stable Diffusion 3B3287AF": "nai-diffusion",
        "Stable Diffusion 4CC42576": "nai-diffusion-furry",
        "Stable Diffusion 1D09C008": "nai-diffusion-furry",
        "Stable Diffusion 1D09D794": "nai-diffusion-furry",
        "Stable Diffusion F64BA557": "nai-diffusion-furry",
        "Stable Diffusion 49BFAF6A": "nai-diffusion-2",
        "Stable Diffusion F1022D28": "nai-diffusion-2",
        "Stable Diffusion XL B0BDF6C1": "nai-diffusion-3",
        "Stable Diffusion XL C1E1DE52": "nai-diffusion-3",
        "Stable Diffusion XL 7BCCAA2C": "nai-diffusion-3",
        "Stable Diffusion XL 1120E6A9": "nai-diffusion-3",
        "Stable Diffusion XL 8BA2AF87": "nai-diffusion-3",
        "Stable Diffusion XL 4BE8C60C": "nai-diffusion-furry-3",
        "Stable Diffusion XL C8704949": "nai-diffusion-furry-3",
        "Stable Diffusion XL 37C2B166": "nai-diffusion-furry-3",
        "Stable Diffusion XL F306816B": "nai-diffusion-furry-3",
        "Stable Diffusion XL 9CC2F394": "nai-diffusion-furry-3",
        "NovelAI Diffusion V4.5 B9F340FD": "nai-diffusion-4-5-full",
        "NovelAI Diffusion V4.5 F3D95188": "nai-diffusion-4-5-full",
        "NovelAI Diffusion V4.5 5AB81C7C": "nai-diffusion-4-5-curated",
        "NovelAI Diffusion V4.5 B5A2A797": "nai-diffusion-4-5-curated",
        "NovelAI Diffusion V4 5AB81C7C": "nai-diffusion-4-5-curated",
        "NovelAI Diffusion V4 B5A2A797": "nai-diffusion-4-5-curated",
        "NovelAI Diffusion V4 37442FCA": "nai-diffusion-4-full",
        "NovelAI Diffusion V4 4F49EC75": "nai-diffusion-4-full",
        "NovelAI Diffusion V4 CA4B7203": "nai-diffusion-4-full",
        "NovelAI Diffusion V4 79F47848": "nai-diffusion-4-full",
        "NovelAI Diffusion V4 F6302A9D": "nai-diffusion-4-full",
        "NovelAI Diffusion V4 7ABFFA2A": "nai-diffusion-4-curated-preview",
        "NovelAI Diffusion V4 C1CCBA86": "nai-diffusion-4-curated-preview",
        "NovelAI Diffusion V4 770A9E12": "nai-diffusion-4-curated-preview",
        "NovelAI Diffusion V5 657484A5": "nai-diffusion-5-full",
        "NovelAI Diffusion V5 0ADF9AB7": "nai-diffusion-5-full",
        "NovelAI Diffusion V5 DB276663": "nai-diffusion-5-curated",
    }
)
#: The model of an unknown name of each family, in the order tried ([npy] `find_model_by_hashcode`).
SOURCE_FALLBACKS: Final = (
    ("NovelAI Diffusion V5", "nai-diffusion-5-curated"),
    ("NovelAI Diffusion V4.5", "nai-diffusion-4-5-full"),
    ("NovelAI Diffusion V4", "nai-diffusion-4-curated-preview"),
)
#: The `Source` the fake server writes for each model: the first known name of the model above.
SOURCE_OF_MODEL: Final = MappingProxyType({model: name for name, model in reversed(list(SOURCES.items()))})

"""Presets, global settings, ban lists and bias groups, and the body of a text generation request.

    from nai_sdk.presets import BanList, Preset, build_request

    preset = Preset.official("kayra-v1", "Carefree").evolve(temperature=1.1)
    preset.disable("top_a")
    request = build_request("The dragon woke.", "kayra-v1", preset, ban_lists=BanList(" cat"))
    request            # the JSON body of POST /ai/generate, a dict
    request.url        # https://text.novelai.net/ai/generate

Official presets are those NovelAI ships, vendored from novelai-api 0.34.1 (MIT; the values are NovelAI's) by
`scripts/vendor_presets.py` into `data/`, and checked against `data/MANIFEST.json` when read. Importing this
package reads no file and loads no tokenizer: both happen on first use.
"""

from __future__ import annotations

from nai_sdk.presets.preset import DOCUMENTED_DEFAULTS, PhraseRepPen, Preset, Sampler, default_preset_name
from nai_sdk.presets.request import GENERATE_PATH, GenerationRequest, build_request
from nai_sdk.presets.settings import BanList, BiasGroup, Entry, GlobalSettings

__all__ = [
    "DOCUMENTED_DEFAULTS",
    "GENERATE_PATH",
    "BanList",
    "BiasGroup",
    "Entry",
    "GenerationRequest",
    "GlobalSettings",
    "PhraseRepPen",
    "Preset",
    "Sampler",
    "build_request",
    "default_preset_name",
]

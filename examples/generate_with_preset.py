"""Generate text with an official preset, tweaked.

Run: `python examples/generate_with_preset.py`.
"""

from __future__ import annotations

from _setup import novelai_environment

from nai_sdk import NovelAI
from nai_sdk.presets import BanList, Preset


def main() -> None:
    # Official presets ship with the SDK; evolve() returns a changed copy.
    preset = Preset.official("kayra", "Carefree").evolve(temperature=1.1)
    print(f"preset {preset.name!r}: temperature {preset.to_settings()['temperature']}")

    with novelai_environment(), NovelAI() as nai:
        result = nai.text.generate(
            "The lantern swung in the wind,",
            "kayra",
            preset,
            ban_lists=BanList(" suddenly"),
            max_length=40,  # any request parameter overrides the preset's
        )
        print(f"{len(result.tokens)} tokens: {result.text!r}")


if __name__ == "__main__":
    main()

"""Official presets, custom presets, .preset files and the request they build (no server needed).

Run: `python examples/presets.py`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nai_sdk.presets import BanList, Preset, build_request


def main() -> None:
    print("Erato presets:", ", ".join(p.name for p in Preset.officials("erato")))
    print("Kayra default:", Preset.default("kayra").name)

    preset = Preset.official("erato", "Golden Arrow").evolve(temperature=1.0)
    preset.disable("top_a")  # samplers can be switched off one by one
    print("samplers:", ", ".join(s.name for s in preset.enabled_samplers))

    # .preset files are what NovelAI's web client imports and exports.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mine.preset"
        preset.to_file(path)
        assert Preset.from_file(path).to_settings() == preset.to_settings()

    # The JSON body of POST /ai/generate, with the prompt tokenized and the settings merged.
    request = build_request("The lantern swung.", "erato", preset, ban_lists=BanList(" cat"), max_length=50)
    print(f"request for {request.url}: {sorted(request.body['parameters'])[:6]} ...")


if __name__ == "__main__":
    main()

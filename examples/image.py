"""Generate an image and save it as PNG.

Run: `python examples/image.py [FOLDER]` (default: a new temporary folder).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _setup import novelai_environment

from nai_sdk import NovelAI
from nai_sdk.images import V45Params


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="nai-image-"))
    params = V45Params(
        width=832,
        height=1216,
        seed=42,  # fixed: the same prompt and seed give the same image
        negative_prompt="blurry",
    )
    with novelai_environment(), NovelAI() as nai:
        result = nai.image.generate("a lantern on a river at night", params)
    for path in result.save(folder):
        print(f"saved {path} (seed {result.seed})")


if __name__ == "__main__":
    main()

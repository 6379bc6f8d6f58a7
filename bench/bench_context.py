"""What building a story's context and exporting a story cost (issue 18's speed goals).

    .venv/bin/python bench/bench_context.py [--rounds N] [--quick]

Standalone (nai_sdk against its own goals, no peer). Runs from any working directory. Prints medians (and the
fastest and slowest round) of:

1. `nai_sdk.context.build` for a story of about 100,000 tokens (its text in a msgpackr document of 5,000
   sections, as the web client stores it) with 500 lorebook entries (about a quarter activated by keys, a few by
   regular expressions, some forced, some cascading), memory and author's note, for Erato (Llama 3 tokenizer)
   and Kayra (nerdstash): goal under 100 ms. A first build, which loads the tokenizer, is not counted. Each
   round decodes the document again (its text is cached between builds of the same story); the line below shows
   builds with the text cached.
2. Exporting a 5 MB story: `story_bytes` of a decrypted `stories` and `storycontent` object (what
   `nai.storage.export` does with a story in hand) and writing the file (0600, atomic, flushed to the disk):
   goal under 0.2 s.

The story text is generated here from a small word list (no one's writing is used).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nai_sdk import context  # noqa: E402
from nai_sdk.content import (  # noqa: E402
    Document,
    JSMap,
    NaiExt,
    UserObject,
    decrypt_object,
    encode_document,
    encrypt_object,
)
from nai_sdk.content._files import story_bytes  # noqa: E402
from nai_sdk.content._views import _decoded_text  # noqa: E402
from nai_sdk.keystore import Keystore  # noqa: E402
from nai_sdk.resources._story_files import write_export  # noqa: E402

CONTEXT_GOAL = 0.100
EXPORT_GOAL = 0.200
_WORD_LIST = (
    "the river ferry lantern bank crate copper wire night north shore bell guild clerk pilot tiller hull tarpaulin "
    "gull pier rope salt fog harbour customs stone bridge mill water cold dark light boat oar current wind"
)
WORDS = _WORD_LIST.split(" ")
NAMES = [f"Name{index}" for index in range(500)]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words)), rng.choice(NAMES[:300]))
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))


def _document(paragraphs: list[str]) -> str:
    sections = JSMap()
    for index, text in enumerate(paragraphs):
        sections[index + 1] = NaiExt(40, {"type": 1, "text": text, "meta": JSMap(), "source": 0, "formatting": []})
    return encode_document(Document(NaiExt(20, {"version": 1, "sections": sections, "order": list(sections)})))


def _entry(index: int, rng: random.Random) -> dict[str, Any]:
    keys = [NAMES[index]]
    if index % 50 == 0:
        keys = [f"/\\b{NAMES[index]}s?\\b/i"]
    return {
        "text": f"{NAMES[index]} is someone on the river. " + _sentence(rng),
        "contextConfig": {"budgetPriority": 400 - index % 5, "insertionPosition": -1},
        "displayName": NAMES[index],
        "id": f"entry-{index}",
        "keys": keys,
        "searchRange": 20000 if index % 2 == 0 else 2000,
        "enabled": True,
        "forceActivation": index % 100 == 7,
        "nonStoryActivatable": index % 20 == 3,
    }


def story_content(paragraphs: int = 5000, entries: int = 500) -> dict[str, Any]:
    """The benchmark's story: about 20 tokens a paragraph."""
    rng = random.Random(18)
    text = [_paragraph(rng) for _ in range(paragraphs)]
    return {
        "storyContentVersion": 6,
        "settings": {"model": "erato", "prefix": "vanilla", "parameters": {"max_length": 150}},
        "document": _document(text),
        "context": [{"text": "A river story. " * 10}, {"text": "[ Style: calm ]"}],
        "lorebook": {"lorebookVersion": 6, "entries": [_entry(index, rng) for index in range(entries)]},
    }


def _time(action: Callable[[], Any], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def _line(name: str, times: list[float], goal: float) -> str:
    median = statistics.median(times)
    verdict = "ok" if median < goal else "OVER GOAL"
    return (
        f"{name:<46} median {median * 1000:7.1f} ms  (min {min(times) * 1000:6.1f}, max {max(times) * 1000:6.1f}; "
        f"goal {goal * 1000:.0f} ms) {verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds

    content = story_content()
    over = False
    for model in ("erato", "kayra"):
        built = context.build(content, model)  # loads the tokenizer
        activated = sum(1 for entry in built.report if entry.kind == "lore" and entry.activated)
        included = sum(1 for entry in built.report if entry.kind == "lore" and entry.included)
        print(
            f"{model}: prompt {len(built.tokens)} of {built.max_tokens} tokens; lore entries activated {activated}, "
            f"included {included}"
        )

        def cold(model: str = model) -> None:
            _decoded_text.cache_clear()  # the document decoded again, as for a story never built before
            context.build(content, model)

        times = _time(cold, rounds)
        print(_line(f"context.build, 100k-token story, 500 entries ({model})", times, CONTEXT_GOAL))
        over |= statistics.median(times) >= CONTEXT_GOAL
        warm = _time(lambda model=model: context.build(content, model), rounds)  # type: ignore[misc]
        print(_line(f"  the same story built again ({model})", warm, CONTEXT_GOAL))

    # A 5 MB story, as decrypted from the account.
    keystore = Keystore.empty()
    meta = keystore.new_meta()
    big = story_content(paragraphs=30000, entries=500)
    objects = [
        decrypt_object(encrypt_object(UserObject.new(kind, data, keystore, meta=meta), keystore), keystore)
        for kind, data in (("stories", {"storyMetadataVersion": 1, "title": "Bench"}), ("storycontent", big))
    ]
    size = len(story_bytes(*objects))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "bench.story"
        times = _time(lambda: write_export(target, story_bytes(*objects)), rounds)
    print(_line(f"export of a {size / 1e6:.1f} MB story (serialise + write)", times, EXPORT_GOAL))
    over |= statistics.median(times) >= EXPORT_GOAL
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())

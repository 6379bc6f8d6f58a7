"""Writes the story-file fixtures of this folder with nai-sdk's own encoder (run from any directory).

    python tests/data/stories/make_story_files.py

Every text is written for these tests (no story, scenario or lorebook of anyone else is copied). The shapes follow
the public descriptions cited in `nai_sdk/content/_files.py`; see README.md here for what each file exercises.
The output is deterministic: ids and timestamps are fixed, not random.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from nai_sdk.content import (  # noqa: E402  (after the path is set)
    Document,
    JSMap,
    LorebookFile,
    NaiExt,
    ScenarioFile,
    StoryFile,
    encode_document,
)

LORE = {
    "prefix": "",
    "suffix": "\n",
    "tokenBudget": 1,
    "reservedTokens": 0,
    "budgetPriority": 400,
    "trimDirection": "trimBottom",
    "insertionType": "newline",
    "maximumTrimType": "sentence",
    "insertionPosition": -1,
}
MEMORY = {**LORE, "budgetPriority": 800, "insertionPosition": 0}
AUTHORS_NOTE = {**LORE, "reservedTokens": 1, "budgetPriority": -400, "insertionPosition": -4}
STORY = {**LORE, "suffix": "", "reservedTokens": 512, "budgetPriority": 0, "trimDirection": "trimTop"}

PARAGRAPHS = [
    "The ferry left the north bank an hour before dawn.",
    "Mira held the tiller with both hands while the river pushed against the hull.",
    "On the far shore, the lantern of the customs house blinked twice.",
    '"Cargo?" asked the clerk, a thin man named Oskar who never slept.',
    "Mira pointed at the crates of copper wire stacked under the tarpaulin.",
    "Somewhere upstream, the bells of Varrow began to ring.",
]


def entry(n: int, text: str, keys: list[str], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": text,
        "contextConfig": dict(LORE),
        "lastUpdatedAt": 1700000000000 + n,
        "displayName": keys[0] if keys else f"Entry {n}",
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "keys": keys,
        "searchRange": 1000,
        "enabled": True,
        "forceActivation": False,
        "keyRelative": False,
        "nonStoryActivatable": False,
        "category": "",
        "loreBiasGroups": [],
    }
    data.update(fields)
    return data


def lorebook() -> dict[str, Any]:
    return {
        "lorebookVersion": 6,
        "entries": [
            entry(1, "Mira is the ferry's pilot. She is afraid of bells.", ["Mira"]),
            entry(2, "Oskar keeps the customs house and counts every crate twice.", ["Oskar", "customs house"]),
            entry(3, "Varrow is the river city upstream, ruled by its bell guild.", ["/\\bVarr?ow\\b/i"]),
            entry(4, "The river never freezes, even in the deepest winter.", [], forceActivation=True),
            entry(5, "The bell guild melts down stolen copper.", ["bell guild"], nonStoryActivatable=True),
            entry(6, "Copper wire is worth more than silver this year.", ["copper"], enabled=False),
            entry(7, "A tarpaulin hides things.", ["tarpaulin"], category="00000000-0000-4000-8000-00000000c001"),
        ],
        "settings": {"orderByKeyLocations": False},
        "categories": [
            {
                "name": "Objects",
                "id": "00000000-0000-4000-8000-00000000c001",
                "enabled": False,
                "createSubcontext": False,
                "subcontextSettings": entry(100, "", []),
                "useCategoryDefaults": False,
                "categoryDefaults": entry(101, "", []),
                "categoryBiasGroups": [],
            }
        ],
    }


def document(paragraphs: list[str]) -> str:
    sections = JSMap()
    order = []
    for index, text in enumerate(paragraphs):
        section_id = 5000 + index
        sections[section_id] = NaiExt(40, {"type": 1, "text": text, "meta": JSMap(), "source": 0, "formatting": []})
        order.append(section_id)
    root = NaiExt(20, {"version": 1, "sections": sections, "order": order, "step": 7, "futureField": "kept"})
    return encode_document(Document(root))


def story() -> StoryFile:
    content = {
        "storyContentVersion": 6,
        "settings": {
            "parameters": {"temperature": 1.0, "max_length": 40, "min_length": 1, "top_k": 0, "top_p": 0.9},
            "preset": "",
            "trimResponses": True,
            "banBrackets": True,
            "prefix": "vanilla",
            "model": "kayra-v1",
        },
        "document": document(PARAGRAPHS),
        "context": [
            {"text": "A story about a ferry pilot on a cold river.", "contextConfig": dict(MEMORY)},
            {"text": "[ Style: quiet, tense ]", "contextConfig": dict(AUTHORS_NOTE)},
        ],
        "lorebook": lorebook(),
        "storyContextConfig": dict(STORY),
        "ephemeralContext": [
            {
                "text": "A gull cries overhead.",
                "contextConfig": {**LORE, "budgetPriority": -10000, "insertionPosition": -2},
                "startingStep": 0,
                "delay": 5,
                "duration": 3,
                "repeat": False,
                "reverse": False,
            }
        ],
        "contextDefaults": {"ephemeralDefaults": [], "loreDefaults": []},
        "settingsDirty": False,
        "didGenerate": True,
        "phraseBiasGroups": [
            {
                "phrases": [{"sequence": " copper", "type": 0}],
                "ensureSequenceFinish": False,
                "generateOnce": True,
                "bias": 0.2,
                "enabled": True,
                "whenInactive": False,
            }
        ],
        "bannedSequenceGroups": [{"sequences": [{"sequence": " suddenly", "type": 0}], "enabled": True}],
        "eosSequences": [{"sequence": {"sequence": "***", "type": 0}}],
        "futureContentField": {"nested": [1, 2.5, None, True]},
    }
    metadata = {
        "storyMetadataVersion": 1,
        "id": "00000000-0000-4000-8000-0000000000aa",
        "remoteId": "remote-object-id-of-another-account",
        "remoteStoryId": "remote-content-id-of-another-account",
        "title": "The Night Ferry",
        "description": "A small test story written for nai-sdk.",
        "textPreview": PARAGRAPHS[0],
        "favorite": False,
        "tags": ["test", "river"],
        "createdAt": 1700000000000,
        "lastUpdatedAt": 1700000100000,
        "isModified": False,
        "hasDocument": True,
        "futureMetadataField": "kept",
    }
    return StoryFile({"storyContainerVersion": 1, "metadata": metadata, "content": content})


def old_story() -> StoryFile:
    """storyContentVersion 1: the oldest shape, the text in `story.text`, the lorebook of version 1."""
    content = {
        "storyContentVersion": 1,
        "settings": {"parameters": {"temperature": 0.8, "max_length": 40}, "trimResponses": True},
        "story": {"version": 1, "text": "\n".join(PARAGRAPHS[:3])},
        "context": [
            {"text": "An old story.", "contextConfig": dict(MEMORY)},
            {"text": "", "contextConfig": dict(AUTHORS_NOTE)},
        ],
        "lorebook": {
            "lorebookVersion": 1,
            "entries": [{"text": "Mira is the pilot.", "keys": ["Mira"], "displayName": "Mira", "searchRange": 1000}],
        },
    }
    metadata = {"storyMetadataVersion": 1, "id": "00000000-0000-4000-8000-0000000000bb", "title": "Old Ferry"}
    return StoryFile({"storyContainerVersion": 1, "metadata": metadata, "content": content})


def scenario() -> ScenarioFile:
    return ScenarioFile(
        {
            "scenarioVersion": 3,
            "title": "The ${river[Grey River]:Which river?} Crossing",
            "description": "Cross the ${river} at night.",
            "prompt": "%{\n1#pilot[Mira]:The pilot's name?\n2#cargo:What is under the tarpaulin?\n}\n"
            "${pilot} took the ferry out onto the ${river}. Under the tarpaulin: ${cargo}.",
            "tags": ["test"],
            "context": [
                {"text": "${pilot} is the pilot.", "contextConfig": dict(MEMORY)},
                {"text": "[ Setting: the ${river} ]", "contextConfig": dict(AUTHORS_NOTE)},
            ],
            "ephemeralContext": [],
            "placeholders": [{"key": "cargo", "description": "What is under the tarpaulin?", "order": 2}],
            "settings": {"parameters": {"temperature": 1.0, "max_length": 40}, "prefix": "vanilla"},
            "lorebook": {
                "lorebookVersion": 6,
                "entries": [entry(1, "${pilot} fears bells.", ["${pilot}", "/bells?/i"])],
                "settings": {"orderByKeyLocations": False},
                "categories": [],
            },
            "author": "nai-sdk tests",
            "storyContextConfig": dict(STORY),
            "contextDefaults": {"ephemeralDefaults": [], "loreDefaults": []},
            "phraseBiasGroups": [],
            "bannedSequenceGroups": [],
            "futureScenarioField": 42,
        }
    )


def old_scenario() -> ScenarioFile:
    return ScenarioFile(
        {
            "scenarioVersion": 1,
            "title": "Old crossing",
            "prompt": "${name[Mira]:Pilot?} waited at the dock.",
            "tags": [],
            "context": [{"text": "", "contextConfig": dict(MEMORY)}, {"text": "", "contextConfig": dict(AUTHORS_NOTE)}],
            "lorebook": {"lorebookVersion": 2, "entries": []},
        }
    )


def main() -> None:
    files = {
        "ferry.story": story(),
        "old-ferry.story": old_story(),
        "crossing.scenario": scenario(),
        "old-crossing.scenario": old_scenario(),
        "ferry.lorebook": LorebookFile(lorebook()),
        "old.lorebook": LorebookFile({"lorebookVersion": 1, "entries": [entry(9, "Oskar counts crates.", ["Oskar"])]}),
    }
    for name, file in files.items():
        (HERE / name).write_bytes(file.to_bytes())
        print(f"wrote {name}")


if __name__ == "__main__":
    main()

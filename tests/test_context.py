"""Context building (`nai_sdk.context.build`): which entries activate, where they land, what the budget keeps.

Expectations are derived by hand from the rules in `nai_sdk/context.py` (and docs/stories.md); token counts come
from the model's tokenizer, never from the code under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nai_sdk import context
from nai_sdk.content import StoryContent, StoryFile, UserObject, read_story
from nai_sdk.errors import ConfigurationError, StoryFileError
from nai_sdk.keystore import Keystore
from nai_sdk.tokenizers import get_tokenizer

DATA = Path(__file__).parent / "data" / "stories"
MODEL = "kayra"
PARAGRAPHS = [
    "The ferry left the north bank an hour before dawn.",
    "Mira held the tiller with both hands while the river pushed against the hull.",
    "On the far shore, the lantern of the customs house blinked twice.",
    '"Cargo?" asked the clerk, a thin man named Oskar who never slept.',
    "Mira pointed at the crates of copper wire stacked under the tarpaulin.",
    "Somewhere upstream, the bells of Varrow began to ring.",
]


def count(text: str) -> int:
    return len(get_tokenizer(MODEL).encode(text))


def lore(text: str, keys: list[str], **fields: Any) -> dict[str, Any]:
    return {"text": text, "keys": keys, "displayName": fields.pop("name", keys[0] if keys else text[:10]), **fields}


def content(story: str, *entries: dict[str, Any], memory: str = "", note: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "storyContentVersion": 6,
        "settings": {"model": "kayra-v1", "parameters": {"max_length": 40}},
        "story": {"fragments": [{"data": story}]},
        "context": [{"text": memory}, {"text": note}],
        "lorebook": {"lorebookVersion": 6, "entries": list(entries), **extra.pop("lorebook", {})},
        **extra,
    }


# --- the fixture story ------------------------------------------------------------------------------------------


def test_the_ferry_story_with_room_for_everything() -> None:
    built = context.build(read_story(DATA / "ferry.story"), max_tokens=2000)
    # Memory (priority 800, position 0) on top; lore (400, -1) after it in lorebook order; the story (0, -1)
    # below; the author's note (-400, -4) three lines above the end.
    expected = (
        "A story about a ferry pilot on a cold river.\n"
        "Mira is the ferry's pilot. She is afraid of bells.\n"
        "Oskar keeps the customs house and counts every crate twice.\n"
        "Varrow is the river city upstream, ruled by its bell guild.\n"
        "The river never freezes, even in the deepest winter.\n"
        "The bell guild melts down stolen copper.\n"
        + "\n".join(PARAGRAPHS[:3])
        + "\n[ Style: quiet, tense ]\n"
        + "\n".join(PARAGRAPHS[3:])
    )
    assert expected == built.text
    assert tuple(get_tokenizer("kayra").encode(expected)) == built.tokens
    assert "kayra-v1" == built.model
    story_text = "\n".join(PARAGRAPHS)
    reasons = {entry.label: (entry.activated, entry.reason, entry.key, entry.included) for entry in built.report}
    assert {
        "story": (True, "always", None, True),
        "memory": (True, "always", None, True),
        "author's note": (True, "always", None, True),
        "ephemeral 0": (False, "not this step", None, False),
        "Mira": (True, "key", "Mira", True),
        "Oskar": (True, "key", "Oskar", True),
        "/\\bVarr?ow\\b/i": (True, "key", "/\\bVarr?ow\\b/i", True),
        "Entry 4": (True, "forced", None, True),
        "bell guild": (True, "cascade", "bell guild", True),  # only in Varrow's entry, not in the story
        "copper": (False, "disabled", None, False),
        "tarpaulin": (False, "category disabled", None, False),
    } == reasons
    # The last match of each key, in the story text.
    assert story_text.rindex("Mira") == built.entry("Mira").match_at
    assert story_text.rindex("Oskar") == built.entry("Oskar").match_at
    assert ["memory", "Mira", "Oskar", "/\\bVarr?ow\\b/i", "Entry 4", "bell guild", "story", "author's note"] == [
        entry.label for entry in built.included
    ]


def test_an_ephemeral_entry_enters_at_its_steps() -> None:
    story = read_story(DATA / "ferry.story")
    built = context.build(story, max_tokens=2000, step=5)
    # Position -2: before the last line.
    assert built.text.endswith(f"{PARAGRAPHS[4]}\nA gull cries overhead.\n{PARAGRAPHS[5]}")
    assert ("step", True) == (built.entry("ephemeral 0").reason, built.entry("ephemeral 0").included)
    assert not context.build(story, max_tokens=2000, step=8).entry("ephemeral 0").included


def test_the_default_budget_is_the_models_context_less_the_answer() -> None:
    built = context.build(read_story(DATA / "ferry.story"))
    assert 8192 - 40 == built.max_tokens  # Kayra's largest context, the story's max_length, no BOS
    erato = context.build(read_story(DATA / "ferry.story"), "erato")
    assert 8192 - 40 - 1 == erato.max_tokens  # Erato's prompts start with a BOS


# --- activation -------------------------------------------------------------------------------------------------


def test_keys_are_whole_words_case_insensitive() -> None:
    built = context.build(
        content("A miracle. Then mira came.", lore("A", ["Mir"]), lore("B", ["MIRA"]), lore("C", ["racle"])),
        MODEL,
        max_tokens=500,
    )
    assert [False, True, False] == [built.entry(name).activated for name in ("Mir", "MIRA", "racle")]
    assert "A miracle. Then mira came.".rindex("mira") == built.entry("MIRA").match_at


def test_regex_keys() -> None:
    story = "The Duke of Arn rode out. duke-of-arn was his seal."
    built = context.build(
        content(
            story,
            lore("case", ["/Duke of \\w+/"], name="plain regex"),
            lore("flags", ["/DUKE-OF-ARN/i"], name="flag i"),
            lore("named", ["/(?<title>Duke) of (?<place>Arn)/"], name="named groups"),
            lore("broken", ["/(unclosed/"], name="broken"),
            lore("no match", ["/^Arn/"], name="anchored"),
            lore("multiline", ["/^duke/im"], name="flag m"),
        ),
        MODEL,
        max_tokens=500,
    )
    activated = {entry.label: entry.activated for entry in built.report if entry.kind == "lore"}
    assert {
        "plain regex": True,
        "flag i": True,
        "named groups": True,
        "broken": False,
        "anchored": False,
        "flag m": False,
    } == activated
    assert story.index("duke-of-arn") == built.entry("flag i").match_at


def test_a_key_that_backtracks_without_end_is_a_typed_error_not_a_hang() -> None:
    # (a|aa)+$ against a run of "a" and a "b": exponential in the run's length, in Python's engines and JavaScript's.
    story = "a" * 40 + "b"
    hostile = content(story, lore("fine", ["/a/"]), lore("trap", ["/(a|aa)+$/"], name="trap"))
    with pytest.raises(StoryFileError, match=r"regular-expression keys searched") as info:
        context.build(hostile, MODEL, max_tokens=500, regex_time_limit=0.2)
    assert "lorebook.entries[1].keys" == info.value.field


def test_the_regex_time_limit_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="regex_time_limit"):
        context.build(content("text"), MODEL, max_tokens=500, regex_time_limit=0)


def test_the_search_range_counts_characters_from_the_end() -> None:
    story = "Mira was here. " + "x" * 100
    near = content(story, lore("found", ["Mira"], searchRange=len(story)))
    far = content(story, lore("missed", ["Mira"], searchRange=len(story) - 1))
    assert context.build(near, MODEL, max_tokens=500).entry("Mira").activated
    missed = context.build(far, MODEL, max_tokens=500).entry("Mira")
    assert (False, "no key matched") == (missed.activated, missed.reason)


def test_cascading_activation_chains_through_memory_and_entries() -> None:
    built = context.build(
        content(
            "Nothing happens in the story.",
            lore("Alpha mentions beta.", ["alpha"], nonStoryActivatable=True),
            lore("Beta mentions gamma.", ["beta"], nonStoryActivatable=True),
            lore("Gamma ends it.", ["gamma"], nonStoryActivatable=True),
            lore("Beta again, but not cascading.", ["beta"], name="plain"),
            memory="The alpha memory.",
        ),
        MODEL,
        max_tokens=500,
    )
    assert [("cascade", "alpha"), ("cascade", "beta"), ("cascade", "gamma")] == [
        (built.entry(name).reason, built.entry(name).key) for name in ("alpha", "beta", "gamma")
    ]
    assert not built.entry("plain").activated  # a key in another entry activates only cascading entries


def test_comments_are_removed_and_never_activate() -> None:
    story = "## Mira is only in a comment\nThe ferry left.\n## note\n"
    built = context.build(
        content(story, lore("## hidden\nShown text.", ["ferry"]), lore("x", ["Mira"])), MODEL, max_tokens=500
    )
    assert "Shown text.\nThe ferry left.\n" == built.text
    assert not built.entry("Mira").activated


def test_forced_disabled_empty_and_category_states() -> None:
    built = context.build(
        content(
            "Story.",
            lore("Always.", [], forceActivation=True, name="forced"),
            lore("Off.", ["Story"], enabled=False, name="off"),
            lore("", ["Story"], name="empty"),
            lore("In a closed category.", ["Story"], category="c1", name="closed"),
            lore("In an open category.", ["Story"], category="c2", name="open"),
            lorebook={"categories": [{"id": "c1", "name": "C1", "enabled": False}, {"id": "c2", "name": "C2"}]},
        ),
        MODEL,
        max_tokens=500,
    )
    reasons = {entry.label: entry.reason for entry in built.report if entry.kind == "lore"}
    assert {
        "forced": "forced",
        "off": "disabled",
        "empty": "empty",
        "closed": "category disabled",
        "open": "key",
    } == reasons


# --- budget and trimming ----------------------------------------------------------------------------------------


def test_the_story_is_trimmed_from_the_top_at_whole_lines() -> None:
    story = "\n".join(PARAGRAPHS)
    last_two = "\n".join(PARAGRAPHS[4:])
    budget = count(PARAGRAPHS[3] + "\n") + count(last_two) - 1  # not quite room for three lines
    built = context.build(content(story), MODEL, max_tokens=budget)
    assert last_two == built.text
    entry = built.entry("story")
    assert (True, True, None) == (entry.included, entry.trimmed, entry.tokens)
    assert len(built.tokens) <= budget


def test_reservations_come_first_then_insertion_order() -> None:
    # Memory (800) would take everything, but the story reserves 512 tokens first.
    story = "\n".join(PARAGRAPHS * 10)
    memory = "\n".join(f"Memory line {n} about the ferry and the river." for n in range(60))
    built = context.build(content(story, memory=memory), MODEL, max_tokens=700)
    story_entry, memory_entry = built.entry("story"), built.entry("memory")
    assert 512 == story_entry.reserved
    assert memory_entry.inserted_tokens <= 700 - 512
    assert memory_entry.trimmed and memory_entry.included
    assert built.text.startswith("Memory line 0 ")  # the memory trims from the bottom: its start stays
    assert built.text.endswith(PARAGRAPHS[-1])  # the story trims from the top: its end stays
    longest_line = max(count(line + "\n") for line in PARAGRAPHS)
    assert 512 - longest_line < story_entry.inserted_tokens


def test_an_entry_that_may_not_be_trimmed_is_left_out() -> None:
    long_text = " ".join(["The river is wide and slow."] * 40)
    config = {"trimDirection": "doNotTrim", "budgetPriority": 900}
    built = context.build(content("Mira waits.", lore(long_text, ["Mira"], contextConfig=config)), MODEL, max_tokens=60)
    entry = built.entry("Mira")
    assert (True, False, "does not fit and may not be trimmed") == (entry.activated, entry.included, entry.reason)
    assert "Mira waits." == built.text


def test_maximum_trim_type_newline_sentence_token() -> None:
    text = "One sentence here. Another sentence there. A third one."  # one line, three sentences
    budget = count("One sentence here. Another sentence there.") + 1

    def kept(trim: str) -> str:
        config = {"trimDirection": "trimBottom", "maximumTrimType": trim, "suffix": "", "budgetPriority": 900}
        built = context.build(
            content("", lore(text, [], forceActivation=True, contextConfig=config)), MODEL, max_tokens=budget
        )
        return built.text

    assert "" == kept("newline")  # no whole line fits: left out
    assert "One sentence here. Another sentence there." == kept("sentence")
    assert kept("token").startswith("One sentence here. Another sentence there.")


def test_token_budget_and_share_of_the_context() -> None:
    memory = "\n".join(f"Line {n} of the memory." for n in range(40))
    absolute = context.build(
        content("Story.", memory=memory, context=[{"text": memory, "contextConfig": {"tokenBudget": 30}}]),
        MODEL,
        max_tokens=1000,
    )
    assert 30 >= absolute.entry("memory").inserted_tokens > 20
    share = context.build(
        content("Story.", context=[{"text": memory, "contextConfig": {"tokenBudget": 0.1}}]), MODEL, max_tokens=1000
    )
    assert 100 >= share.entry("memory").inserted_tokens > 80


def test_order_by_key_locations_breaks_ties_by_the_later_match() -> None:
    story = "First came Alder. Then came Birch."
    entries = (lore("Alder " * 20, ["Alder"]), lore("Birch " * 20, ["Birch"]))
    room = count(story) + count("Birch " * 20 + "\n") + 5  # room for one entry only
    plain = context.build(content(story, *entries), MODEL, max_tokens=room)
    assert (True, False) == (plain.entry("Alder").included, plain.entry("Birch").included)  # lorebook order
    ordered = context.build(
        content(story, *entries, lorebook={"settings": {"orderByKeyLocations": True}}), MODEL, max_tokens=room
    )
    assert (False, True) == (ordered.entry("Alder").included, ordered.entry("Birch").included)


# --- placement ----------------------------------------------------------------------------------------------------


def test_insertion_positions_count_lines_from_the_top_or_the_bottom() -> None:
    story = "\n".join(PARAGRAPHS)
    built = context.build(
        content(
            story,
            lore(
                "AFTER LINE ONE", [], forceActivation=True, contextConfig={"insertionPosition": 1, "budgetPriority": -1}
            ),
            lore(
                "BEFORE LAST TWO",
                [],
                forceActivation=True,
                contextConfig={"insertionPosition": -3, "budgetPriority": -2},
            ),
        ),
        MODEL,
        max_tokens=1000,
    )
    lines = built.text.split("\n")
    assert [PARAGRAPHS[0], "AFTER LINE ONE", *PARAGRAPHS[1:4], "BEFORE LAST TWO", *PARAGRAPHS[4:]] == lines


def test_key_relative_entries_follow_the_line_of_their_last_match() -> None:
    story = "\n".join(PARAGRAPHS)
    built = context.build(
        content(
            story, lore("[ Oskar is the clerk. ]", ["Oskar"], keyRelative=True, contextConfig={"insertionPosition": -1})
        ),
        MODEL,
        max_tokens=1000,
    )
    lines = built.text.split("\n")
    assert [*PARAGRAPHS[:4], "[ Oskar is the clerk. ]", *PARAGRAPHS[4:]] == lines


def test_a_subcontext_gathers_its_categorys_entries() -> None:
    category = {
        "id": "places",
        "name": "Places",
        "enabled": True,
        "createSubcontext": True,
        "subcontextSettings": {
            "contextConfig": {"prefix": "[ Places:\n", "suffix": "]\n", "budgetPriority": 500, "insertionPosition": 0}
        },
    }
    built = context.build(
        content(
            "The pier and the mill were quiet.",
            lore("The pier is rotten.", ["pier"], category="places"),
            lore("The mill grinds salt.", ["mill"], category="places"),
            lore("Not a place.", ["quiet"]),
            lorebook={"categories": [category]},
        ),
        MODEL,
        max_tokens=1000,
    )
    assert (
        "[ Places:\nThe pier is rotten.\nThe mill grinds salt.\n]\nNot a place.\nThe pier and the mill were quiet."
        == built.text
    )
    assert ("Places", True) == (built.entry("pier").subcontext, built.entry("pier").included)
    assert "subcontext" == built.entry("Places").kind


# --- inputs -------------------------------------------------------------------------------------------------------


def test_every_form_of_content_builds_the_same_context() -> None:
    file = read_story(DATA / "ferry.story")
    keystore = Keystore.empty()
    obj = UserObject.new("storycontent", file.content, keystore)
    expected = context.build(file, max_tokens=2000)
    for source in (file.content, StoryContent(file.content), obj):
        assert expected == context.build(source, max_tokens=2000)
    assert not obj.modified or obj.raw is None  # building reads; it changes nothing


def test_text_replaces_the_story_text() -> None:
    built = context.build(content("Old text."), MODEL, max_tokens=100, text="New text.")
    assert "New text." == built.text


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="names no model"):
        context.build({"storyContentVersion": 6})
    with pytest.raises(ConfigurationError, match="max_tokens"):
        context.build(content("x"), MODEL, max_tokens=0)
    with pytest.raises(ConfigurationError, match="expected story content"):
        context.build(42)  # type: ignore[arg-type]
    with pytest.raises(StoryFileError) as info:
        context.build(content("x", lore("t", ["k"], searchRange="far")), MODEL, max_tokens=100)
    assert "lorebook.entries[0].searchRange" == info.value.field


def test_a_story_file_new_builds_its_text() -> None:
    built = context.build(StoryFile.new("t", "Hello there."), MODEL, max_tokens=100)
    assert "Hello there." == built.text


# --- properties -------------------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TEXT = st.text(st.sampled_from(list("ab .!?\n#/")) | st.characters(codec="utf-8"), max_size=80)
_KEY = _TEXT.filter(bool) | st.sampled_from(["/a+/i", "/(/", "/(?<n>b)/", "/^a/m", "a", "b.", "ab"])
_CONFIG = st.fixed_dictionaries(
    {},
    optional={
        "budgetPriority": st.integers(-1000, 1000),
        "insertionPosition": st.integers(-5, 5),
        "tokenBudget": st.sampled_from([0, 0.5, 1, 5, 50, 2048]),
        "reservedTokens": st.sampled_from([0, 0.2, 1, 3, 40]),
        "trimDirection": st.sampled_from(["trimBottom", "trimTop", "doNotTrim"]),
        "insertionType": st.sampled_from(["newline", "sentence", "token"]),
        "maximumTrimType": st.sampled_from(["newline", "sentence", "token"]),
        "prefix": _TEXT,
        "suffix": _TEXT,
    },
)
_ENTRY = st.fixed_dictionaries(
    {"text": _TEXT, "keys": st.lists(_KEY, max_size=3)},
    optional={
        "contextConfig": _CONFIG,
        "forceActivation": st.booleans(),
        "nonStoryActivatable": st.booleans(),
        "keyRelative": st.booleans(),
        "searchRange": st.integers(0, 200),
        "category": st.sampled_from(["", "c1", "c2"]),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    story=_TEXT,
    memory=_TEXT,
    note=_TEXT,
    entries=st.lists(_ENTRY, max_size=6),
    story_config=_CONFIG,
    budget=st.integers(1, 120),
    subcontext=st.booleans(),
)
def test_any_story_builds_within_its_budget(
    story: str,
    memory: str,
    note: str,
    entries: list[dict[str, Any]],
    story_config: dict[str, Any],
    budget: int,
    subcontext: bool,
) -> None:
    categories = [
        {"id": "c1", "name": "one", "createSubcontext": subcontext, "subcontextSettings": {"contextConfig": {}}},
        {"id": "c2", "name": "two", "enabled": False},
    ]
    data = content(
        story, *entries, memory=memory, note=note, storyContextConfig=story_config, lorebook={"categories": categories}
    )
    built = context.build(data, MODEL, max_tokens=budget)
    assert tuple(get_tokenizer(MODEL).encode(built.text)) == built.tokens
    assert sum(entry.inserted_tokens for entry in built.report if entry.included and not entry.subcontext) <= budget
    assert len(built.tokens) <= budget


# --- continue_story (the fake, three clients) ---------------------------------------------------------------------


async def test_continue_story_sends_the_built_context(nai: Any) -> None:
    from _client_helpers import maybe

    story = read_story(DATA / "ferry.story")
    built = context.build(story, max_tokens=2000)
    result = await maybe(nai.text.continue_story(story, context=built, max_length=12))
    assert "kayra-v1" == result.model and result.tokens
    assert built.tokens == result.input_tokens
    again = await maybe(nai.text.continue_story(story, max_tokens=2000, max_length=12))
    assert built.tokens == again.input_tokens


def test_story_request_carries_the_storys_own_settings() -> None:
    story = read_story(DATA / "ferry.story")
    request = context.story_request(story, max_tokens=2000, max_length=12)
    assert list(context.build(story, max_tokens=2000).tokens) == request.input_tokens
    parameters = request["parameters"]
    assert (12, 1.0, 0.9, "vanilla") == (
        parameters["max_length"],
        parameters["temperature"],
        parameters["top_p"],
        parameters["prefix"],
    )
    tokenizer = get_tokenizer("kayra")
    bias = {
        "bias": 0.2,
        "ensure_sequence_finish": False,
        "generate_once": True,
        "sequence": tokenizer.encode(" copper"),
    }
    assert bias in parameters["logit_bias_exp"]
    assert tokenizer.encode(" suddenly") in parameters["bad_words_ids"]
    assert [tokenizer.encode("***")] == parameters["stop_sequences"]


def test_lore_bias_groups_follow_their_entries() -> None:
    group = {"phrases": [{"sequence": " salt"}], "bias": 0.5, "enabled": True}
    inactive = {"phrases": [{"sequence": " fog"}], "bias": -0.5, "enabled": True, "whenInactive": True}
    data = content(
        "Mira sails.",
        lore("Mira is a pilot.", ["Mira"], loreBiasGroups=[group, inactive]),
        lore("Oskar counts.", ["Oskar"], loreBiasGroups=[group, inactive]),
    )
    sequences = [
        bias["sequence"] for bias in context.story_request(data, MODEL, max_tokens=200)["parameters"]["logit_bias_exp"]
    ]
    tokenizer = get_tokenizer(MODEL)
    # Mira's entry is in: its active group; Oskar's is not: its whenInactive group.
    assert [tokenizer.encode(" salt"), tokenizer.encode(" fog")] == sequences

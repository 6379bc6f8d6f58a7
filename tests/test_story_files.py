"""`.story`, `.scenario` and `.lorebook` files and the typed views of story content (no network)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nai_sdk.content import (
    LorebookFile,
    Placeholder,
    ScenarioFile,
    StoryContent,
    StoryFile,
    UserObject,
    decrypt_object,
    encrypt_object,
    fill_placeholders,
    find_placeholders,
    loads,
    read_file,
    read_lorebook,
    read_scenario,
    read_story,
)
from nai_sdk.errors import FormatError, StoryFileError
from nai_sdk.keystore import Keystore
from nai_sdk.presets import BanList, BiasGroup

DATA = Path(__file__).parent / "data" / "stories"
FILES = sorted(path.name for path in DATA.iterdir() if path.suffix in {".story", ".scenario", ".lorebook"})


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("make_story_files", DATA / "make_story_files.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- round trips ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_every_fixture_reads_and_writes_back_byte_for_byte(name: str) -> None:
    original = (DATA / name).read_bytes()
    file = read_file(DATA / name)
    assert original == file.to_bytes()
    assert file == loads(file.to_bytes())


def test_the_fixtures_are_what_the_generator_writes() -> None:
    generator = _generator()
    expected = {
        "ferry.story": generator.story(),
        "old-ferry.story": generator.old_story(),
        "crossing.scenario": generator.scenario(),
        "old-crossing.scenario": generator.old_scenario(),
    }
    for name, file in expected.items():
        assert (DATA / name).read_bytes() == file.to_bytes(), name
    assert set(FILES) == {*expected, "ferry.lorebook", "old.lorebook"}


def test_kinds_are_recognised_by_their_version_field() -> None:
    assert isinstance(read_file(DATA / "ferry.story"), StoryFile)
    assert isinstance(read_file(DATA / "crossing.scenario"), ScenarioFile)
    assert isinstance(read_file(DATA / "ferry.lorebook"), LorebookFile)
    assert read_story(DATA / "old-ferry.story").title == "Old Ferry"
    assert read_scenario(DATA / "old-crossing.scenario").prompt == "${name[Mira]:Pilot?} waited at the dock."
    assert len(read_lorebook(DATA / "old.lorebook").lorebook) == 1


def test_edits_keep_unknown_fields_and_the_document(tmp_path: Path) -> None:
    story = read_story(DATA / "ferry.story")
    document = story.content["document"]
    content = story.story_content
    content.memory.text = "A new memory."
    content.lorebook.entries[0].keys.append("pilot")
    content.lorebook.add_entry("Gulls nest under the pier.", ["gull"])
    story.write(tmp_path / "edited.story")

    again = read_story(tmp_path / "edited.story")
    assert document == again.content["document"]
    assert {"nested": [1, 2.5, None, True]} == again.content["futureContentField"]
    assert "kept" == again.metadata["futureMetadataField"]
    assert "A new memory." == again.story_content.memory.text
    assert ["Mira", "pilot"] == again.lorebook.entries[0].keys
    assert "gull" == again.lorebook.entries[-1].display_name
    assert 8 == len(again.lorebook)


def test_files_are_written_private(tmp_path: Path) -> None:
    target = tmp_path / "x.lorebook"
    read_lorebook(DATA / "ferry.lorebook").write(target)
    if os.name == "posix":
        assert 0o600 == stat.S_IMODE(target.stat().st_mode)
    assert target.read_bytes() == (DATA / "ferry.lorebook").read_bytes()


def test_from_objects_round_trips_through_user_objects() -> None:
    story = read_story(DATA / "ferry.story")
    keystore = Keystore.empty()
    meta = keystore.new_meta()
    content = UserObject.new("storycontent", story.content, keystore, meta=meta)
    metadata = UserObject.new("stories", story.metadata, keystore, meta=meta)
    read_back = [decrypt_object(encrypt_object(obj, keystore), keystore) for obj in (metadata, content)]
    assert story == StoryFile.from_objects(*read_back)


# --- typed views ------------------------------------------------------------------------------------------------


def test_views_read_the_story_content() -> None:
    content = read_story(DATA / "ferry.story").story_content
    assert "A story about a ferry pilot on a cold river." == content.memory.text
    assert 800 == content.memory.context_config.budget_priority
    assert -4 == content.authors_note.context_config.insertion_position
    assert "trimTop" == content.story_context_config.trim_direction
    assert 7 == len(content.lorebook.entries)
    regex = content.lorebook.entries[2]
    assert ["/\\bVarr?ow\\b/i"] == regex.keys
    assert 1000 == regex.search_range
    assert content.lorebook.entries[3].force_activation
    assert content.lorebook.entries[4].non_story_activatable
    assert not content.lorebook.entries[5].enabled
    (category,) = content.lorebook.categories
    assert ("Objects", False) == (category.name, category.enabled)
    assert category is not None and content.lorebook.category(category.id) is not None
    assert not content.lorebook.order_by_key_locations
    assert "kayra-v1" == content.settings.model
    assert 0.2 == content.phrase_bias_groups[0].bias
    assert BiasGroup(0.2, " copper", generate_once=True) == content.phrase_bias_groups[0].to_bias_group()
    assert BanList(" suddenly") == content.banned_sequence_groups[0].to_ban_list()
    (ephemeral,) = content.ephemeral_context
    assert [False] * 5 + [True] * 3 + [False] == [ephemeral.active_at(step) for step in range(9)]


def test_the_story_text_comes_from_the_document_or_the_old_forms() -> None:
    generator = _generator()
    assert "\n".join(generator.PARAGRAPHS) == read_story(DATA / "ferry.story").story_content.text
    assert "\n".join(generator.PARAGRAPHS[:3]) == read_story(DATA / "old-ferry.story").story_content.text
    assert "Hello there" == StoryFile.new("x", "Hello there").story_content.text


def test_missing_fields_read_as_the_web_clients_defaults() -> None:
    content = StoryContent({})
    assert ("", 800, 0) == (
        content.memory.text,
        content.memory.context_config.budget_priority,
        content.memory.context_config.insertion_position,
    )
    assert (-400, -4) == (
        content.authors_note.context_config.budget_priority,
        content.authors_note.context_config.insertion_position,
    )
    assert (512, 0, "trimTop") == (
        content.story_context_config.reserved_tokens,
        content.story_context_config.budget_priority,
        content.story_context_config.trim_direction,
    )
    assert [] == content.lorebook.entries
    assert {} == content.data  # reading created nothing


def test_writes_create_missing_objects_and_mark_the_object_modified() -> None:
    keystore = Keystore.empty()
    obj = UserObject.new("storycontent", {"storyContentVersion": 6}, keystore)
    obj = decrypt_object(encrypt_object(obj, keystore), keystore)
    assert not obj.modified
    content = StoryContent.of(obj)
    _ = content.authors_note.text  # a read changes nothing
    assert not obj.modified
    content.authors_note.text = "[ Tone: dry ]"
    assert obj.modified
    assert obj.data is not None
    assert "" == obj.data["context"][0]["text"]
    assert "[ Tone: dry ]" == obj.data["context"][1]["text"]
    assert -4 == obj.data["context"][1]["contextConfig"]["insertionPosition"]
    content.lorebook.order_by_key_locations = True
    assert {"orderByKeyLocations": True} == obj.data["lorebook"]["settings"]


def test_null_fields_read_as_their_defaults() -> None:
    data = {
        "storyContainerVersion": 1,
        "metadata": {"title": None, "remoteStoryId": None, "tags": None},
        "content": {
            "storyContentVersion": None,
            "lorebook": {"entries": [{"text": "x", "keys": ["k"], "category": None, "searchRange": None}]},
            "context": [{"text": None, "contextConfig": {"budgetPriority": None}}],
        },
    }
    story = StoryFile(data)
    entry = story.lorebook.entries[0]
    assert ("", 1000) == (entry.category, entry.search_range)
    assert ("", 800) == (story.story_content.memory.text, story.story_content.memory.context_config.budget_priority)
    assert json.loads(story.to_bytes()) == data  # and written back as they were


def test_a_write_of_the_wrong_type_is_refused_before_it_lands() -> None:
    content = StoryContent({})
    with pytest.raises(StoryFileError, match="must be an integer") as info:
        content.memory.context_config.insertion_position = "top"  # type: ignore[assignment]
    assert "context[0].contextConfig.insertionPosition" == info.value.field
    assert {} == content.data
    with pytest.raises(StoryFileError, match="one of 'trimBottom'"):
        content.memory.context_config.trim_direction = "sideways"


def test_a_stored_value_of_the_wrong_type_is_an_error_naming_it() -> None:
    content = StoryContent({"lorebook": {"entries": [{"searchRange": "far"}]}}, where="content")
    with pytest.raises(StoryFileError) as info:
        _ = content.lorebook.entries[0].search_range
    assert "content.lorebook.entries[0].searchRange" == info.value.field


def test_entries_can_be_removed_and_categories_added() -> None:
    story = read_story(DATA / "ferry.story")
    lorebook = story.lorebook
    category = lorebook.add_category("Places")
    entry = lorebook.add_entry("The pier is rotten.", ["pier"], category=category.id)
    assert entry.category == lorebook.categories[-1].id
    lorebook.remove_entry(entry)
    lorebook.remove_entry("00000000-0000-4000-8000-000000000001")
    assert 6 == len(lorebook)
    with pytest.raises(KeyError):
        lorebook.remove_entry("no-such-id")


# --- placeholders -------------------------------------------------------------------------------------------------


def test_scenario_placeholders_are_found_in_header_definitions_and_list() -> None:
    scenario = read_scenario(DATA / "crossing.scenario")
    assert [
        Placeholder("pilot", "The pilot's name?", "Mira", 1),
        Placeholder("cargo", "What is under the tarpaulin?", None, 2),
        Placeholder("river", "Which river?", "Grey River", None),
    ] == scenario.placeholders


def test_a_scenario_becomes_a_story_with_placeholders_filled() -> None:
    scenario = read_scenario(DATA / "crossing.scenario")
    before = scenario.to_bytes()
    story = scenario.to_story({"cargo": "copper wire"})
    assert before == scenario.to_bytes()
    assert "The Grey River Crossing" == story.title
    assert "Cross the Grey River at night." == story.metadata["description"]
    content = story.story_content
    assert "Mira took the ferry out onto the Grey River. Under the tarpaulin: copper wire." == content.text
    assert "Mira is the pilot." == content.memory.text
    assert "[ Setting: the Grey River ]" == content.authors_note.text
    (entry,) = content.lorebook.entries
    assert ("Mira fears bells.", ["Mira", "/bells?/i"]) == (entry.text, entry.keys)
    assert 6 == content.version
    StoryFile.check(story.data)


def test_placeholders_without_value_or_default_stay_as_they_are() -> None:
    story = read_scenario(DATA / "crossing.scenario").to_story()
    assert story.story_content.text.endswith("Under the tarpaulin: ${cargo}.")


def test_placeholder_helpers() -> None:
    text, found = find_placeholders("${a[1]:first} and ${b} and ${a}")
    assert "${a} and ${b} and ${a}" == text
    assert [Placeholder("a", "first", "1"), Placeholder("b")] == found
    assert "x and ${b}" == fill_placeholders("${a} and ${b}", {"a": "x"})


# --- files from elsewhere ---------------------------------------------------------------------------------------

_STORY = {"storyContainerVersion": 1, "metadata": {}, "content": {}}

HOSTILE: list[tuple[str, bytes, str]] = [
    ("not JSON", b"{", ""),
    ("not UTF-8", b'{"lorebookVersion": 1, "entries": ["\xff"]}', ""),
    ("NaN", b'{"lorebookVersion": NaN, "entries": []}', ""),
    ("an array", b"[]", ""),
    ("SillyTavern world book", json.dumps({"entries": {"0": {"key": ["x"]}}}).encode(), ""),
    ("a future container", json.dumps({**_STORY, "storyContainerVersion": 2}).encode(), "storyContainerVersion"),
    ("a version as a string", json.dumps({**_STORY, "storyContainerVersion": "1"}).encode(), "storyContainerVersion"),
    ("no metadata", json.dumps({"storyContainerVersion": 1, "content": {}}).encode(), "metadata"),
    ("content as a list", json.dumps({**_STORY, "content": []}).encode(), "content"),
    (
        "a future content",
        json.dumps({**_STORY, "content": {"storyContentVersion": 7}}).encode(),
        "content.storyContentVersion",
    ),
    ("a title as a number", json.dumps({**_STORY, "metadata": {"title": 5}}).encode(), "metadata.title"),
    ("tags with a null", json.dumps({**_STORY, "metadata": {"tags": ["a", None]}}).encode(), "metadata.tags[1]"),
    ("a document as bytes", json.dumps({**_STORY, "content": {"document": [1, 2]}}).encode(), "content.document"),
    (
        "a key as a number",
        json.dumps({**_STORY, "content": {"lorebook": {"entries": [{"keys": ["a", 3]}]}}}).encode(),
        "content.lorebook.entries[0].keys",
    ),
    (
        "a budget as a boolean",
        json.dumps({**_STORY, "content": {"context": [{"contextConfig": {"tokenBudget": True}}]}}).encode(),
        "content.context[0].contextConfig.tokenBudget",
    ),
    (
        "an unknown trim direction",
        json.dumps({**_STORY, "content": {"storyContextConfig": {"trimDirection": "middle"}}}).encode(),
        "content.storyContextConfig.trimDirection",
    ),
    (
        "a category as a string",
        json.dumps({**_STORY, "content": {"lorebook": {"categories": ["x"]}}}).encode(),
        "content.lorebook.categories[0]",
    ),
    (
        "a bias group's phrases as an object",
        json.dumps({**_STORY, "content": {"phraseBiasGroups": [{"phrases": {}}]}}).encode(),
        "content.phraseBiasGroups[0].phrases",
    ),
    ("a lorebook of the future", b'{"lorebookVersion": 7, "entries": []}', "lorebookVersion"),
    ("a lorebook without entries", b'{"lorebookVersion": 6}', "entries"),
    ("a scenario without prompt", b'{"scenarioVersion": 3}', "prompt"),
    ("a placeholder without key", b'{"scenarioVersion": 3, "prompt": "", "placeholders": [{}]}', "placeholders[0].key"),
    ("deep nesting", b'{"lorebookVersion": 1, "entries": [], "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ""),
]


@pytest.mark.parametrize(("what", "content", "field"), HOSTILE, ids=[case[0] for case in HOSTILE])
def test_files_from_other_programs_or_versions_give_a_typed_error(
    what: str, content: bytes, field: str, tmp_path: Path
) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    with pytest.raises(StoryFileError) as info:
        read_file(path)
    assert field == info.value.field
    assert str(path) == info.value.path
    assert str(info.value).startswith(str(path))
    assert isinstance(info.value, FormatError) and isinstance(info.value, ValueError)


def test_an_extension_that_names_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "looks-like.story"
    path.write_bytes((DATA / "ferry.lorebook").read_bytes())
    with pytest.raises(StoryFileError, match="this is a lorebook file, not a story file") as info:
        read_file(path)
    assert "storyContainerVersion" == info.value.field


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_KEYS = st.sampled_from(["storyContainerVersion", "scenarioVersion", "lorebookVersion", "metadata", "content"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS | st.text(max_size=6), _JSON, max_size=6) | _JSON)
def test_any_json_reads_as_a_file_or_a_story_file_error(value: Any) -> None:
    try:
        file = loads(json.dumps(value).encode())
    except StoryFileError:
        return
    # What reads must write back as it was read, and its views must not crash.
    assert value == json.loads(file.to_bytes())
    if isinstance(file, StoryFile | ScenarioFile):
        _ = file.story_content.memory.text, file.story_content.lorebook.entries


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_read_as_a_file_or_a_story_file_error(content: bytes) -> None:
    with contextlib.suppress(StoryFileError):
        loads(content)


# --- import into the account, export out of it (the fake, three clients) ----------------------------------------

_IDS = ("id", "remoteStoryId", "remoteId")


def _without_ids(metadata: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metadata.items() if key not in _IDS}


async def test_import_then_export_gives_the_same_story(nai: Any, tmp_path: Path) -> None:
    from _client_helpers import maybe

    story = await maybe(nai.storage.import_file(DATA / "ferry.story"))
    original = read_story(DATA / "ferry.story")
    assert original.content == story.content.data
    assert _without_ids(original.metadata) == _without_ids(story.story.data)
    assert (story.content.id, story.content.id) == (story.story.data["id"], story.story.data["remoteStoryId"])
    assert "remoteId" not in story.story.data  # an id of another account

    # Read back by a new listing, exported, and compared with the file it came from.
    (listed,) = [s for s in await maybe(nai.storage.stories()) if s.id == story.id]
    written = await maybe(nai.storage.export(listed, tmp_path / "out.story"))
    exported = read_story(written)
    assert original.content == exported.content
    assert _without_ids(original.metadata) == _without_ids(exported.metadata)
    if os.name == "posix":
        assert 0o600 == stat.S_IMODE(written.stat().st_mode)
    # By id too: the story and its content are fetched first.
    again = await maybe(nai.storage.export(story.id, tmp_path / "by-id.story"))
    assert written.read_bytes() == again.read_bytes()


async def test_a_scenario_is_imported_with_placeholders(nai: Any) -> None:
    from _client_helpers import maybe

    story = await maybe(nai.storage.import_file(DATA / "crossing.scenario", placeholders={"cargo": "salt"}))
    assert "The Grey River Crossing" == story.title
    assert StoryContent(story.content.data).text.endswith("Under the tarpaulin: salt.")


async def test_a_lorebook_is_imported_as_a_story_or_into_one(nai: Any) -> None:
    from _client_helpers import maybe

    alone = await maybe(nai.storage.import_file(DATA / "ferry.lorebook"))
    assert "ferry" == alone.title
    assert read_lorebook(DATA / "ferry.lorebook").data == alone.content.data["lorebook"]

    target = await maybe(nai.storage.create_story("Target", "text"))
    merged = await maybe(nai.storage.import_file(DATA / "old.lorebook", into=target))
    merged = await maybe(nai.storage.import_file(DATA / "old.lorebook", into=merged))  # twice: ids renewed
    entries = StoryContent(merged.content.data).lorebook.entries
    assert ["Oskar counts crates."] * 2 == [entry.text for entry in entries]
    assert entries[0].id != entries[1].id


async def test_a_file_that_does_not_read_sends_nothing(nai: Any, fake: Any, tmp_path: Path) -> None:
    from _client_helpers import maybe

    path = tmp_path / "broken.story"
    path.write_bytes((DATA / "ferry.story").read_bytes()[:-10])  # cut short: half a file
    fake.requests.clear()
    with pytest.raises(StoryFileError) as info:
        await maybe(nai.storage.import_file(path))
    assert str(path) == info.value.path
    assert [] == [r for r in fake.requests.all() if r.method != "GET"]


async def test_a_failed_story_upload_deletes_the_imported_content(nai: Any, fake: Any) -> None:
    from _client_helpers import maybe

    from nai_sdk.errors import BadRequestError

    await maybe(nai.storage.keystore())
    fake.inject("/user/objects/stories", method="PUT", status=400, message="refused")
    with pytest.raises(BadRequestError) as info:
        await maybe(nai.storage.import_file(DATA / "ferry.story"))
    assert any("deleted again" in note for note in info.value.__notes__)
    assert [] == await maybe(nai.storage.objects("storycontent"))


# --- the command line ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli(clean_cli_env: None, login_env: Any, run: Any) -> Any:
    """`nai ...` against the fake, logged in through the environment; returns (exit code, stdout, stderr)."""

    def call(*argv: str) -> tuple[int, str, str]:
        result = run(*argv)
        return result.code, result.out, result.err

    return call


def test_cli_import_then_export(cli: Any, tmp_path: Path) -> None:
    code, out, err = cli(
        "import", str(DATA / "ferry.story"), str(DATA / "crossing.scenario"), "--set", "cargo=salt", "--no-prompt"
    )
    assert (0, "imported 2 of 2 files\n") == (code, out)
    assert "importing files [" in err  # off a terminal: one line when the phase ends
    code, out, err = cli("export", "-o", str(tmp_path / "out"))
    assert 0 == code, err
    files = sorted((tmp_path / "out").iterdir())
    assert 2 == len(files) and all(path.suffix == ".story" for path in files)
    titles = sorted(read_story(path).title for path in files)
    assert ["The Grey River Crossing", "The Night Ferry"] == titles
    exported = next(read_story(path) for path in files if read_story(path).title == "The Night Ferry")
    assert read_story(DATA / "ferry.story").content == exported.content


def test_cli_asks_for_placeholders_in_a_terminal(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    class Terminal:
        def isatty(self) -> bool:
            return True

    asked: list[str] = []
    answers = iter(["", "rope"])  # the pilot keeps its default; the cargo has none

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("builtins.input", fake_input)
    code, out, _ = cli("import", str(DATA / "crossing.scenario"), "--set", "river=Fen", "--no-progress")
    assert 0 == code
    assert [
        "The ${river[Grey River]:Which river?} Crossing: The pilot's name? [Mira]: ",
        "The ${river[Grey River]:Which river?} Crossing: What is under the tarpaulin?: ",
    ] == asked
    assert "(The Fen Crossing)" in out


def test_cli_import_of_a_foreign_file_fails_before_sending(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text('{"entries": {"0": {"key": ["x"]}}}', encoding="utf-8")
    code, out, err = cli("import", str(DATA / "ferry.story"), str(path))
    assert 5 == code  # ExitCode.FILE: a malformed input file
    assert err.startswith(f"nai: the story file is not valid: {path}: not a NovelAI story")
    assert "" == out

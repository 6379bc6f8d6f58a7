"""Backups: `storage.backup`, `restore` and `verify`, for the sync client and both async ones, against FakeNovelAI.

The round trips end as the storage-safety tests do: a fresh client (a new device) reads every story, and each must
be there with its title and text.
"""

from __future__ import annotations

import contextlib
import json
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from _client_helpers import maybe
from conftest import FAST_BACKOFF, Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nai_sdk import crypto
from nai_sdk._client import NovelAI
from nai_sdk._json import loads_strict
from nai_sdk.backup import (
    BACKUP_FORMAT_VERSION,
    MANIFEST_FILE,
    BackupError,
    check_envelope,
    parse_listing,
    read_manifest,
    verify_backup,
)
from nai_sdk.content import UserObject
from nai_sdk.errors import (
    ConfigurationError,
    DecryptionError,
    KeystoreConflictError,
    KeystoreFormatError,
    ObjectFormatError,
)
from nai_sdk.keystore import Keystore
from nai_sdk.testing import FakeNovelAI


@pytest.fixture(autouse=True)
def _clear_request_log(fake: FakeNovelAI) -> None:
    fake.requests.clear()


def _key(creds: Credentials) -> bytes:
    return crypto.encryption_key(creds.email, creds.password)


def fresh_stories(fake: FakeNovelAI, creds: Credentials) -> dict[str, str]:
    """Every story as a new device reads it: title -> text. Fails if any story or content does not decrypt."""
    with NovelAI(email=creds.email, password=creds.password, **fake.urls, backoff=FAST_BACKOFF) as nai:
        stories = nai.storage.stories()
    found = {}
    for story in stories:
        assert story.ok, story
        document = story.content.data if story.content is not None else None
        assert document is not None
        found[str(story.title)] = document["story"]["fragments"][0]["data"]
    return found


def wipe(fake: FakeNovelAI, creds: Credentials, *, keystore: bool = False) -> None:
    """Delete every object of the account on the server (and its keystore: a recovery that deleted content)."""
    with fake.state.lock:
        creds.account.objects.clear()
        if keystore:
            creds.account.keystore = None
            creds.account.keystore_change_index += 1


async def fill(nai: Any) -> dict[str, str]:
    """Three stories, a preset and an AI module; returns the stories' title -> text."""
    stories = {"The Lantern": "It swung in the wind.", "Snow": "White on white.", "Ünïcode ✓": "テキスト"}
    for title, text in stories.items():
        await maybe(nai.storage.create_story(title, text))
    await maybe(nai.storage.create(UserObject.new("presets", {"name": "Carefree copy", "parameters": {"x": 1}})))
    keystore = await maybe(nai.storage.keystore())
    await maybe(nai.storage.create(UserObject.new("aimodules", {"name": "my module"}, keystore)))
    return stories


def server_objects(creds: Credentials) -> dict[str, tuple[str, int]]:
    """Every object the server holds: id -> (type, changeIndex)."""
    return {
        o["id"]: (o["type"], o["changeIndex"]) for objects in creds.account.objects.values() for o in objects.values()
    }


def object_writes(fake: FakeNovelAI) -> int:
    return len(fake.requests.matching("PUT", "/user/objects/*")) + len(
        fake.requests.matching("PATCH", "/user/objects/*")
    )


# --- round trips ---------------------------------------------------------------------------------------------------


async def test_backup_wipe_restore_reads_every_story_back(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    stories = await fill(nai)
    manifest = await maybe(nai.storage.backup(tmp_path / "backup"))
    assert {"stories": 3, "storycontent": 3, "aimodules": 1, "presets": 1, "shelf": 0} == manifest.counts()
    wipe(fake, creds)
    report = await maybe(nai.storage.restore(tmp_path / "backup"))
    assert (8, 0, 0, 0) == (len(report.created), len(report.overwritten), len(report.skipped), len(report.failed))
    assert stories == fresh_stories(fake, creds)
    # NovelAI gives created objects new ids: every story points at its content's new id.
    assert {item.server_id for item in report.created} == {
        obj["id"] for objects in creds.account.objects.values() for obj in objects.values()
    }


async def test_restore_onto_an_account_that_lost_its_keystore_too(
    make_client: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    stories = await fill(nai)
    await maybe(nai.storage.backup(tmp_path / "backup"))
    # As after a recovery that deleted the content: no objects and no keystore. A new device restores.
    wipe(fake, creds, keystore=True)
    device = make_client(email=creds.email, password=creds.password)
    report = await maybe(device.storage.restore(tmp_path / "backup"))
    assert report.ok, report
    assert stories == fresh_stories(fake, creds)


async def test_restoring_twice_creates_nothing_the_second_time(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    stories = await fill(nai)
    await maybe(nai.storage.backup(tmp_path / "backup"))
    wipe(fake, creds)
    first = await maybe(nai.storage.restore(tmp_path / "backup"))
    held = server_objects(creds)
    second = await maybe(nai.storage.restore(tmp_path / "backup"))
    assert 8 == len(first.created)
    assert ((), (), ()) == (second.created, second.overwritten, second.failed)
    assert 8 == len(second.skipped)
    # Nothing was created or written again: the same objects, at the same change indexes.
    assert held == server_objects(creds)
    assert stories == fresh_stories(fake, creds)


async def test_restore_without_overwrite_keeps_what_the_server_has(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    story = await maybe(nai.storage.create_story("Kept", "old text"))
    await maybe(nai.storage.backup(tmp_path / "backup"))
    story.content.data["story"]["fragments"][0]["data"] = "new text"
    await maybe(nai.storage.edit(story.content))
    report = await maybe(nai.storage.restore(tmp_path / "backup"))
    assert ((), 2) == (report.created, len(report.skipped))
    assert {"Kept": "new text"} == fresh_stories(fake, creds)


async def test_overwrite_puts_the_backup_version_back(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    story = await maybe(nai.storage.create_story("Kept", "old text"))
    await maybe(nai.storage.backup(tmp_path / "backup"))
    story.content.data["story"]["fragments"][0]["data"] = "new text"
    await maybe(nai.storage.edit(story.content))
    report = await maybe(nai.storage.restore(tmp_path / "backup", overwrite=True))
    assert [("storycontent", story.content.id)] == [(item.type, item.server_id) for item in report.overwritten]
    # The story itself did not change: it is skipped, not written again.
    assert [("stories", "the server holds it unchanged")] == [(item.type, item.reason) for item in report.skipped]
    assert {"Kept": "old text"} == fresh_stories(fake, creds)


async def test_overwrite_reports_a_409_and_does_not_force(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    story = await maybe(nai.storage.create_story("Kept", "old text"))
    await maybe(nai.storage.backup(tmp_path / "backup"))
    story.content.data["story"]["fragments"][0]["data"] = "new text"
    await maybe(nai.storage.edit(story.content))
    fake.inject("/user/objects/storycontent/*", method="PATCH", status=409, message="changed elsewhere")
    report = await maybe(nai.storage.restore(tmp_path / "backup", overwrite=True))
    (failed,) = report.failed
    assert ("storycontent", story.content.id) == (failed.type, failed.backup_id)
    assert "409" in failed.reason
    assert not report.ok
    assert {"Kept": "new text"} == fresh_stories(fake, creds)


async def test_a_conflicting_key_stops_the_restore_before_anything_is_written(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    story = await maybe(nai.storage.create_story("One", "text"))
    await maybe(nai.storage.backup(tmp_path / "backup"))
    wipe(fake, creds)
    # The server's keystore now keys the story's meta differently (another device broke it): merging is refused.
    forged = Keystore({story.story.meta: bytes(32)})
    with fake.state.lock:
        creds.account.keystore = forged.encrypt(_key(creds))
    restorer = NovelAI(email=creds.email, password=creds.password, **fake.urls, backoff=FAST_BACKOFF)
    fake.requests.clear()
    with restorer, pytest.raises(KeystoreConflictError):
        restorer.storage.restore(tmp_path / "backup")
    assert 0 == object_writes(fake)
    assert [] == fake.requests.matching("PUT", "/user/keystore")


async def test_a_backup_of_another_account_does_not_open(
    make_client: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    await maybe(nai.storage.create_story("Mine"))
    await maybe(nai.storage.backup(tmp_path / "backup"))
    other = Credentials(fake)
    stranger = make_client(email=other.email, password=other.password)
    fake.requests.clear()
    with pytest.raises(DecryptionError):
        await maybe(stranger.storage.restore(tmp_path / "backup"))
    assert 0 == object_writes(fake)


# --- what a backup holds -------------------------------------------------------------------------------------------


async def test_files_are_the_servers_bytes_with_private_modes(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    await fill(nai)
    root = tmp_path / "backup"
    manifest = await maybe(nai.storage.backup(root))
    for entry in manifest.objects:
        held = creds.account.objects[entry.type][entry.id]
        # The fake answers with Starlette's JSONResponse: compact, non-ASCII as is.
        expected = json.dumps(held, ensure_ascii=False, separators=(",", ":")).encode()
        assert expected == (root / entry.file).read_bytes()
        assert (held["changeIndex"], held["lastUpdatedAt"], held["meta"]) == (
            entry.change_index,
            entry.last_updated_at,
            entry.meta,
        )
    keystore_answer = json.loads((root / "keystore.json").read_bytes())
    assert {"keystore": creds.account.keystore, "changeIndex": creds.account.keystore_change_index} == keystore_answer
    assert creds.account.keystore_change_index == manifest.keystore.change_index
    files = [path for path in root.rglob("*") if path.is_file()]
    folders = [root, *(path for path in root.rglob("*") if path.is_dir())]
    assert 8 + 2 == len(files)
    assert {0o600} == {stat.S_IMODE(path.stat().st_mode) for path in files}
    assert {0o700} == {stat.S_IMODE(path.stat().st_mode) for path in folders}
    # Nothing temporary is left behind.
    assert [] == [path for path in files if path.name.startswith(".")]
    written = json.loads((root / MANIFEST_FILE).read_text())
    assert (BACKUP_FORMAT_VERSION, "nai-sdk-backup") == (written["formatVersion"], written["format"])
    assert read_manifest(root) == manifest


async def test_backup_reports_progress_per_page(nai: Any, tmp_path: Path) -> None:
    await maybe(nai.storage.create_story("One"))
    seen: list[tuple[str, int, int | None]] = []
    await maybe(nai.storage.backup(tmp_path / "backup", progress=lambda *args: seen.append(args)))
    assert ("stories", 1, None) == seen[0]
    assert ("keystore", 1, 1) == seen[-1]
    assert {"stories", "storycontent", "aimodules", "presets", "shelf", "keystore"} == {kind for kind, _, _ in seen}


async def test_backup_refuses_a_folder_that_is_not_empty(nai: Any, tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    with pytest.raises(FileExistsError):
        await maybe(nai.storage.backup(tmp_path))
    with pytest.raises(ConfigurationError):
        await maybe(nai.storage.backup(tmp_path / "new", page_size=0))


# --- refusals ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"objects": None}, id="objects-null"),
        pytest.param({}, id="no-objects"),
        pytest.param([], id="array"),
        pytest.param({"objects": [{"meta": "m", "data": "AAAA"}]}, id="no-id"),
        pytest.param({"objects": [{"id": "x", "type": "stories", "meta": "m"}]}, id="no-data"),
    ],
)
async def test_a_broken_listing_raises_and_leaves_no_manifest(
    nai: Any, fake: FakeNovelAI, tmp_path: Path, answer: Any
) -> None:
    await maybe(nai.storage.create_story("One"))
    fake.inject("/user/objects/storycontent", method="GET", body=answer)
    with pytest.raises(ObjectFormatError):
        await maybe(nai.storage.backup(tmp_path / "backup"))
    assert not (tmp_path / "backup" / MANIFEST_FILE).exists()
    with pytest.raises(BackupError, match="did not finish"):
        verify_backup(tmp_path / "backup", bytes(32))


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"keystore": None}, id="null"),
        pytest.param({}, id="empty-object"),
        pytest.param([], id="array"),
        pytest.param({"keystore": 5}, id="wrong-type"),
        pytest.param({"keystore": "bm90IGEga2V5c3RvcmU="}, id="not-a-keystore"),
    ],
)
async def test_a_broken_keystore_answer_raises_and_leaves_no_manifest(
    nai: Any, fake: FakeNovelAI, tmp_path: Path, answer: Any
) -> None:
    await maybe(nai.storage.create_story("One"))
    fake.inject("/user/keystore", method="GET", body=answer)
    with pytest.raises(KeystoreFormatError):
        await maybe(nai.storage.backup(tmp_path / "backup"))
    assert not (tmp_path / "backup" / MANIFEST_FILE).exists()


async def test_an_account_without_keystore_or_encrypted_objects_backs_up(nai: Any, tmp_path: Path) -> None:
    await maybe(nai.storage.create(UserObject.new("presets", {"name": "plain"})))
    manifest = await maybe(nai.storage.backup(tmp_path / "backup"))
    assert 1 == manifest.counts()["presets"]
    assert verify_backup(tmp_path / "backup", bytes(32)).ok


async def test_a_listing_that_moves_is_read_again(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    presets = [await maybe(nai.storage.create(UserObject.new("presets", {"name": f"p{i}"}))) for i in range(4)]
    deleted = False

    def delete_the_first(kind: str, done: int, total: int | None) -> None:
        # Another device deletes an object the backup already read: the offsets of the others move down by one.
        nonlocal deleted
        if kind == "presets" and not deleted:
            deleted = True
            with fake.state.lock:
                held = creds.account.objects["presets"]
                first = min(held.values(), key=lambda obj: (obj["lastUpdatedAt"], obj["id"]))
                del held[first["id"]]

    manifest = await maybe(nai.storage.backup(tmp_path / "backup", progress=delete_the_first))
    # Read from offset 1 on, the listing would have skipped the second preset (now at offset 0); the overlap
    # showed the shift and presets were listed again. The deleted one stays in the backup, as it was read.
    backed_up = [entry.id for entry in manifest.objects if entry.type == "presets"]
    assert (4, {preset.id for preset in presets}) == (len(backed_up), set(backed_up))


# --- verify --------------------------------------------------------------------------------------------------------


async def test_verify_passes_a_good_backup_and_finds_every_failure(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    await fill(nai)
    root = tmp_path / "backup"
    manifest = await maybe(nai.storage.backup(root))
    report = await maybe(nai.storage.verify(root))
    assert (True, 9, ()) == (report.ok, report.checked, report.failures)
    stories = [entry for entry in manifest.objects if entry.type == "stories"]
    # A flipped byte in one file, another file missing.
    flipped = bytearray((root / stories[0].file).read_bytes())
    flipped[len(flipped) // 2] ^= 0x01
    (root / stories[0].file).write_bytes(bytes(flipped))
    (root / stories[1].file).unlink()
    report = await maybe(nai.storage.verify(root))
    assert not report.ok
    assert [(stories[0].file, "sha256"), (stories[1].file, "missing")] == [
        (failure.file, "sha256" if "sha256" in failure.reason else "missing" if "missing" in failure.reason else "?")
        for failure in report.failures
    ]
    # The same without any client.
    assert report.failures == verify_backup(root, _key(creds)).failures


async def test_verify_finds_an_object_that_does_not_decrypt(
    nai: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    story = await maybe(nai.storage.create_story("One"))
    # Damaged on the server before the backup: the backup holds it as it was, and verify says it does not decrypt.
    with fake.state.lock:
        held = creds.account.objects["storycontent"][story.content.id]
        held["data"] = held["data"][:-8] + ("A" if held["data"][-8] != "A" else "B") + held["data"][-7:]
    root = tmp_path / "backup"
    await maybe(nai.storage.backup(root))
    (failure,) = verify_backup(root, _key(creds)).failures
    assert (story.content.id, "storycontent") == (failure.id, failure.type)
    assert "DecryptionError" in failure.reason
    # With the wrong key, the keystore does not open and the encrypted objects cannot be checked.
    wrong = verify_backup(root, bytes(32)).failures
    assert ["keystore", "stories", "storycontent"] == [item.type for item in wrong]


def test_verify_raises_only_for_an_unreadable_manifest(tmp_path: Path) -> None:
    with pytest.raises(BackupError):
        verify_backup(tmp_path, bytes(32))
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(BackupError):
        verify_backup(tmp_path, bytes(32))
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"format": "nai-sdk-backup", "formatVersion": 99}))
    with pytest.raises(BackupError, match="later nai-sdk"):
        verify_backup(tmp_path, bytes(32))


def test_a_manifest_cannot_name_a_file_outside_the_backup(tmp_path: Path) -> None:
    manifest = {
        "format": "nai-sdk-backup",
        "formatVersion": 1,
        "createdAt": "2026-01-01T00:00:00Z",
        "sdkVersion": "0",
        "keystore": {"file": "keystore.json", "sha256": "0" * 64, "size": 0, "changeIndex": None},
        "objects": [
            {"type": "stories", "id": "x", "meta": "m", "file": "../../etc/passwd", "sha256": "0" * 64, "size": 1}
        ],
    }
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="not one a backup writes"):
        read_manifest(tmp_path)


# --- the listing, byte for byte ------------------------------------------------------------------------------------


def test_parse_listing_keeps_each_envelope_byte_for_byte() -> None:
    first = '{"id": "a1", "type": "presets", "meta": "ü ✓", "data": "e30=", "changeIndex": 2}'
    second = '{ "id":"b2","type":"presets","meta":null,"data":"e30=","lastUpdatedAt":1.5e3 }'
    page = f' {{ "other": [1, {{"x": "]"}}], "objects" : [ {first} ,\n{second}] }} '.encode()
    listed = parse_listing(page, "presets")
    assert [first.encode(), second.encode()] == [bytes(item.raw) for item in listed]
    assert [("a1", "ü ✓", 2, None), ("b2", None, None, 1500.0)] == [
        (item.id, item.meta, item.change_index, item.last_updated_at) for item in listed
    ]


@pytest.mark.parametrize(
    "page",
    [
        b'{"objects": [{"id": "a", "data": "x"}] "x": 1}',
        b'{"objects": [{"id": "a", "data": "x"}], "objects": []}',
        b'{"objects": [{"id": "a", "data": "x", "changeIndex": NaN}]}',
        b'{"objects": [{"id": "a", "data": "x", "type": "stories"}]}',
        b'{"objects": []} trailing',
        b'{"objects": [1e999]}',
        b"\xff",
        b"[" * 100_000,
    ],
)
def test_parse_listing_refuses_what_is_not_a_listing(page: bytes) -> None:
    with pytest.raises(ObjectFormatError):
        parse_listing(page, "presets")


# --- the listing scanner against a strict JSON parser --------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_text = st.text(st.characters(exclude_categories=()), max_size=12)
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=10,
)
_envelopes = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8), "data": _text, "meta": st.none() | _text},
    optional={"type": st.just("presets"), "changeIndex": st.integers(0, 2**53), "extra": _values},
)


@st.composite
def _listings(draw: st.DrawFn) -> bytes:
    """A listing page spelt in one of the ways JSON allows: spacing, escapes, key order, extra members."""
    envelopes = draw(st.lists(_envelopes, max_size=4))
    ascii_only = draw(st.booleans())
    indent = draw(st.sampled_from([None, 0, 2]))
    page: dict[str, Any] = {"objects": envelopes}
    if draw(st.booleans()):
        page = {"before": draw(_values), **page, "after": draw(_values)}
    text = json.dumps(page, ensure_ascii=ascii_only, indent=indent)
    return text.encode("utf-8", "surrogatepass") if not ascii_only else text.encode()


def _oracle(content: bytes) -> list[Any] | None:
    """The objects a strict parser reads, or None when it refuses the page or an envelope."""
    try:
        page = loads_strict(content, ObjectFormatError, "page")
        if not isinstance(page, dict) or not isinstance(page.get("objects"), list):
            return None
        return [check_envelope(item, "presets", "item") for item in page["objects"]]
    except ObjectFormatError:
        return None


@PROPERTY_SETTINGS
@given(_listings())
def test_parse_listing_reads_every_spelling_byte_for_byte(content: bytes) -> None:
    expected = _oracle(content)
    if expected is None:
        # Only the surrogates json.dumps leaves raw (ensure_ascii=False) make a page that is not UTF-8.
        with pytest.raises(ObjectFormatError):
            parse_listing(content, "presets")
        return
    listed = parse_listing(content, "presets")
    assert expected == [loads_strict(bytes(item.raw), ObjectFormatError, "raw") for item in listed]
    assert [item["data"] for item in expected] == [item.data for item in listed]
    assert [(item["id"], item.get("meta")) for item in expected] == [(item.id, item.meta) for item in listed]


@st.composite
def _damaged(draw: st.DrawFn) -> bytes:
    content = bytearray(draw(_listings()))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(content)))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "insert" or not content:
            content[where:where] = bytes([draw(st.integers(0, 255))])
        elif action == "delete":
            del content[min(where, len(content) - 1)]
        else:
            content[min(where, len(content) - 1)] ^= 1 << draw(st.integers(0, 7))
    return bytes(content)


@PROPERTY_SETTINGS
@given(st.one_of(_damaged(), st.binary(max_size=64)))
def test_parse_listing_accepts_exactly_what_a_strict_parser_reads(content: bytes) -> None:
    """Damaged or arbitrary bytes: a typed error, or the objects a strict parser reads, never anything else."""
    expected = _oracle(content)
    try:
        listed = parse_listing(content, "presets")
    except ObjectFormatError:
        # Refused where the strict parser reads it only for what the scanner checks on top: one 'objects' key.
        assert expected is None or content.count(b'"objects"') > 1
        return
    assert expected is not None
    assert expected == [loads_strict(bytes(item.raw), ObjectFormatError, "raw") for item in listed]


@PROPERTY_SETTINGS
@given(st.binary(max_size=200) | st.builds(lambda v: json.dumps(v).encode(), _values))
def test_read_manifest_gives_a_manifest_or_a_backup_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / MANIFEST_FILE).write_bytes(content)
        with contextlib.suppress(BackupError):
            read_manifest(folder)

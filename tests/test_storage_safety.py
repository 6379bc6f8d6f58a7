"""Several devices, threads and tasks on one account: no story is ever lost.

Every test ends the same way: a fresh client (a new device) reads every story and every story content, and each
one that any call reported as created must be there and decrypt.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _client_helpers import maybe
from conftest import FAST_BACKOFF, Credentials

from nai_sdk._client import AsyncNovelAI, NovelAI
from nai_sdk.content import UserObject
from nai_sdk.errors import (
    APIConnectionError,
    ConflictError,
    DecryptionError,
    KeystoreConflictError,
    KeystoreFormatError,
    NovelAIError,
    ObjectFormatError,
)
from nai_sdk.keystore import Keystore
from nai_sdk.testing import FakeNovelAI


@pytest.fixture(autouse=True)
def _clear_request_log(fake: FakeNovelAI) -> None:
    # The fake is shared by the session: count only this test's requests.
    fake.requests.clear()


def fresh_read(fake: FakeNovelAI, creds: Credentials) -> dict[str, str | None]:
    """Every story as a new device reads it: story id -> title. Fails if any story or content does not decrypt."""
    with NovelAI(email=creds.email, password=creds.password, **fake.urls, backoff=FAST_BACKOFF) as nai:
        stories = nai.storage.stories()
        contents = nai.storage.objects("storycontent")
    broken = [s.id for s in stories if not s.story.ok] + [c.id for c in contents if not c.ok]
    assert [] == broken, "undecryptable objects"
    return {story.id: story.title for story in stories}


def keystore_writes(fake: FakeNovelAI) -> int:
    return len(fake.requests.matching("PUT", "/user/keystore"))


# --- two devices -----------------------------------------------------------------------------------------------


async def test_two_devices_on_a_new_account(make_client: Any, fake: FakeNovelAI, creds: Credentials) -> None:
    phone = make_client(email=creds.email, password=creds.password)
    laptop = make_client(email=creds.email, password=creds.password)
    # Both open the (empty) keystore before either writes: the classic lost-update set-up.
    await maybe(phone.storage.keystore())
    await maybe(laptop.storage.keystore())
    first = await maybe(phone.storage.create_story("from the phone", "a"))
    second = await maybe(laptop.storage.create_story("from the laptop", "b"))
    third = await maybe(phone.storage.create_story("phone again", "c"))
    found = fresh_read(fake, creds)
    assert {first.id: "from the phone", second.id: "from the laptop", third.id: "phone again"} == found


async def test_two_devices_on_an_existing_keystore(make_client: Any, fake: FakeNovelAI, creds: Credentials) -> None:
    setup = make_client(email=creds.email, password=creds.password)
    old = [await maybe(setup.storage.create_story(f"old {i}")) for i in range(3)]
    phone = make_client(email=creds.email, password=creds.password)
    laptop = make_client(email=creds.email, password=creds.password)
    await maybe(phone.storage.keystore())
    await maybe(laptop.storage.keystore())
    new = [
        await maybe(phone.storage.create_story("phone")),
        await maybe(laptop.storage.create_story("laptop")),
    ]
    found = fresh_read(fake, creds)
    assert {story.id for story in old + new} == set(found)


async def test_a_stale_device_edits_without_writing_the_keystore(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    stale = make_client(email=creds.email, password=creds.password)
    mine = await maybe(stale.storage.create_story("mine", "text"))
    other = make_client(email=creds.email, password=creds.password)
    theirs = await maybe(other.storage.create_story("theirs"))
    writes = keystore_writes(fake)
    # The stale device edits its own story: no key is new, so the keystore is neither read nor written.
    assert mine.content is not None
    mine.content.data["story"]["fragments"][0]["data"] = "edited"
    await maybe(stale.storage.edit(mine.content))
    assert writes == keystore_writes(fake)
    # Then it creates a story: the write keeps the key the other device added.
    created = await maybe(stale.storage.create_story("stale creates"))
    assert {mine.id, theirs.id, created.id} == set(fresh_read(fake, creds))


async def test_an_edit_after_another_device_created_a_story(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    reader = make_client(email=creds.email, password=creds.password)
    assert [] == await maybe(reader.storage.stories())
    writer = make_client(email=creds.email, password=creds.password)
    theirs = await maybe(writer.storage.create_story("theirs", "their text"))
    # The reader's cached keystore lacks the new key: it re-reads the keystore once and can then edit the story.
    (story,) = await maybe(reader.storage.stories())
    assert story.ok
    assert story.content is not None
    story.content.data["story"]["fragments"][0]["data"] = "edited by the reader"
    await maybe(reader.storage.edit(story.content))
    assert {theirs.id: "theirs"} == fresh_read(fake, creds)


async def test_save_marks_the_keystore_saved_and_equal_to_the_server(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    other = make_client(email=creds.email, password=creds.password)
    await maybe(other.storage.create_story("other"))
    keystore = await maybe(nai.storage.keystore())
    keystore.new_meta()
    assert keystore.changed
    await maybe(nai.storage.save_keystore())
    assert not keystore.changed
    server = Keystore.decrypt(creds.account.keystore, _encryption_key(creds))
    assert dict(server) == dict(keystore)
    # What the cache would write back is exactly what the server holds.
    assert creds.account.keystore == keystore.encrypt(_encryption_key(creds))
    # A save with nothing new sends nothing at all.
    before = len(fake.requests.all())
    await maybe(nai.storage.save_keystore())
    assert before == len(fake.requests.all())


def _encryption_key(creds: Credentials) -> bytes:
    from nai_sdk import crypto

    return crypto.encryption_key(creds.email, creds.password)


async def test_the_write_sends_the_change_index_it_read(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    await maybe(nai.storage.create_story("one"))
    index = creds.account.keystore_change_index
    # Another device writes between this client's read and its write: the first PUT gets 409, then it merges again.
    fake.inject("/user/keystore", method="PUT", status=409, message="stale")
    await maybe(nai.storage.create_story("two"))
    assert index + 1 == creds.account.keystore_change_index
    assert 2 == len(fresh_read(fake, creds))


async def test_a_conflicting_key_is_refused_and_nothing_is_written(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    story = await maybe(nai.storage.create_story("one"))
    keystore = await maybe(nai.storage.keystore())
    # Another copy gives the same meta a different key: saving it would make the story unreadable.
    forged = Keystore({story.story.meta: bytes(32)})
    writes = keystore_writes(fake)
    with pytest.raises(KeystoreConflictError) as info:
        await maybe(nai.storage.save_keystore(forged))
    assert story.story.meta == info.value.meta
    assert writes == keystore_writes(fake)
    assert story.story.meta in keystore
    assert {story.id: "one"} == fresh_read(fake, creds)


async def test_the_journal_keeps_the_previous_keystore(
    make_client: Any, fake: FakeNovelAI, creds: Credentials, tmp_path: Path
) -> None:
    nai = make_client(email=creds.email, password=creds.password, keystore_journal=tmp_path)
    await maybe(nai.storage.create_story("one"))
    before = creds.account.keystore
    await maybe(nai.storage.create_story("two"))
    entries = sorted(tmp_path.rglob("*.json"))
    assert 2 == len(entries)
    newest = max(entries, key=lambda p: json.loads(p.read_text())["changeIndex"])
    assert before == json.loads(newest.read_text())["keystore"]
    for path in entries:
        assert 0o600 == stat.S_IMODE(path.stat().st_mode)
    assert 0o700 == stat.S_IMODE(entries[0].parent.stat().st_mode)
    # The journal's text opens with the account key: a bad write can be undone from it.
    assert 1 == len(Keystore.decrypt(json.loads(newest.read_text())["keystore"], _encryption_key(creds)))


# --- concurrency within one client -----------------------------------------------------------------------------


async def test_concurrent_creates_on_one_client_with_a_cold_cache(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    if isinstance(nai, AsyncNovelAI):
        stories = await asyncio.gather(*(nai.storage.create_story(f"story {i}") for i in range(20)))
    else:
        with ThreadPoolExecutor(8) as pool:
            stories = list(pool.map(lambda i: nai.storage.create_story(f"story {i}"), range(24)))
    found = fresh_read(fake, creds)
    assert {story.id: story.title for story in stories} == found
    # One keystore write per new key, none lost to a race.
    assert len(stories) == keystore_writes(fake)


def test_threads_and_devices_at_once(fake: FakeNovelAI, creds: Credentials) -> None:
    """Two sync clients (two devices), each shared by four threads, create stories at the same time."""
    devices = [NovelAI(email=creds.email, password=creds.password, **fake.urls, backoff=FAST_BACKOFF) for _ in range(2)]
    try:
        with ThreadPoolExecutor(8) as pool:
            stories = list(pool.map(lambda i: devices[i % 2].storage.create_story(f"s{i}"), range(24)))
    finally:
        for device in devices:
            device.close()
    assert {story.id for story in stories} == set(fresh_read(fake, creds))


async def test_async_clients_of_two_devices_at_once(fake: FakeNovelAI, creds: Credentials) -> None:
    devices = [
        AsyncNovelAI(email=creds.email, password=creds.password, **fake.urls, backoff=FAST_BACKOFF) for _ in range(2)
    ]
    try:
        stories = await asyncio.gather(*(devices[i % 2].storage.create_story(f"s{i}") for i in range(20)))
    finally:
        for device in devices:
            await device.aclose()
    assert {story.id for story in stories} == set(fresh_read(fake, creds))


# --- broken keystore answers -----------------------------------------------------------------------------------

BROKEN_ANSWERS = [
    pytest.param({"keystore": None}, id="null"),
    pytest.param("", id="empty-string"),
    pytest.param({}, id="empty-object"),
    pytest.param([], id="empty-array"),
    pytest.param({"keystore": ""}, id="empty-field"),
    pytest.param({"keystore": 5}, id="wrong-type"),
    pytest.param({"keystore": "bm90IGEga2V5c3RvcmU="}, id="not-a-keystore"),
    pytest.param({"keystore": None, "changeIndex": "7"}, id="bad-change-index"),
]


@pytest.mark.parametrize("answer", BROKEN_ANSWERS)
async def test_a_broken_keystore_answer_is_refused_on_an_account_with_stories(
    make_client: Any, fake: FakeNovelAI, creds: Credentials, answer: Any
) -> None:
    before = await maybe(make_client(email=creds.email, password=creds.password).storage.create_story("precious"))
    nai = make_client(email=creds.email, password=creds.password)
    fake.inject("/user/keystore", method="GET", body=answer, times=5)
    writes = keystore_writes(fake)
    uploads = len(fake.requests.matching("PUT", "/user/objects/*"))
    with pytest.raises(KeystoreFormatError, match=r"Nothing was written|finite number"):
        await maybe(nai.storage.create_story("new"))
    with pytest.raises(KeystoreFormatError):
        await maybe(nai.storage.keystore())
    assert writes == keystore_writes(fake)
    assert uploads == len(fake.requests.matching("PUT", "/user/objects/*"))
    fake.faults.clear()
    assert {before.id: "precious"} == fresh_read(fake, creds)


async def test_a_keystore_created_between_the_read_and_the_listing_is_read_again(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    """Another device wrote the first keystore and story after this one read `null`: read again, never refuse."""
    before = await maybe(make_client(email=creds.email, password=creds.password).storage.create_story("first"))
    nai = make_client(email=creds.email, password=creds.password)
    fake.inject("/user/keystore", method="GET", body={"keystore": None}, times=1)
    after = await maybe(nai.storage.create_story("second"))
    assert {before.id: "first", after.id: "second"} == fresh_read(fake, creds)


async def test_a_keystore_that_does_not_open_is_a_decryption_error_when_stories_exist(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    await maybe(make_client(email=creds.email, password=creds.password).storage.create_story("precious"))
    wrong_password = make_client(email=creds.email, password=creds.password + "x")
    # The fake logs in by access key; give the wrong password's key this account's token to reach the keystore.
    fake.state.tokens[creds.token] = creds.account.id
    wrong_password._session.authorization = "Bearer " + creds.token
    with pytest.raises(DecryptionError):
        await maybe(wrong_password.storage.create_story("new"))
    assert 1 == len(fresh_read(fake, creds))


async def test_a_new_account_starts_a_keystore_once_the_listings_prove_it_empty(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    story = await maybe(nai.storage.create_story("first"))
    listed = [r.path for r in fake.requests.matching("GET", "/user/objects/*")]
    assert ["/user/objects/stories", "/user/objects/storycontent", "/user/objects/aimodules"] == listed[:3]
    assert {story.id: "first"} == fresh_read(fake, creds)


async def test_a_broken_listing_is_never_taken_for_an_empty_account(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    fake.inject("/user/objects/stories", method="GET", body={"objects": None})
    with pytest.raises(ObjectFormatError, match="refusing to take it for an empty listing"):
        await maybe(nai.storage.create_story("x"))
    assert 0 == keystore_writes(fake)


# --- cut connections -------------------------------------------------------------------------------------------

CUTS = [
    pytest.param("/user/keystore", "GET", "before", id="keystore-read-before"),
    pytest.param("/user/keystore", "PUT", "before", id="keystore-write-before"),
    pytest.param("/user/keystore", "PUT", "after", id="keystore-write-after"),
    pytest.param("/user/objects/storycontent", "PUT", "before", id="content-before"),
    pytest.param("/user/objects/storycontent", "PUT", "after", id="content-after"),
    pytest.param("/user/objects/stories", "PUT", "before", id="story-before"),
    pytest.param("/user/objects/stories", "PUT", "after", id="story-after"),
]


@pytest.mark.parametrize(("path", "method", "cut"), CUTS)
async def test_a_cut_connection_during_a_create_loses_nothing(
    make_client: Any, fake: FakeNovelAI, creds: Credentials, path: str, method: str, cut: str
) -> None:
    other = make_client(email=creds.email, password=creds.password)
    existing = await maybe(other.storage.create_story("existing"))
    nai = make_client(email=creds.email, password=creds.password, max_retries=0)
    fake.inject(path, method=method, cut=cut)  # type: ignore[arg-type]
    created: list[str] = []
    try:
        created.append((await maybe(nai.storage.create_story("new"))).id)
    except APIConnectionError as exc:
        # Only an object upload or a read that never reached the route fails (retries are off here): a lost answer
        # is found by its meta, and a keystore write is checked and made again.
        assert "before" == cut
        assert (path, method) != ("/user/keystore", "PUT")
        if path == "/user/objects/stories":
            # The content was taken back: the error says so.
            assert any("deleted again" in note for note in getattr(exc, "__notes__", []))
    else:
        assert "after" == cut or (path, method) == ("/user/keystore", "PUT")
    # Whatever happened, the client can go on, and nothing that exists is undecryptable.
    created.append((await maybe(nai.storage.create_story("after"))).id)
    found = fresh_read(fake, creds)
    assert {existing.id, *created} <= set(found)
    # No half story is left behind, except when the story itself was created but its answer was lost.
    contents = {c["id"] for c in creds.account.objects.get("storycontent", {}).values()}
    linked = {s.data["remoteStoryId"] for s in _stories(fake, creds)}
    assert contents == linked


def _stories(fake: FakeNovelAI, creds: Credentials) -> list[UserObject]:
    with NovelAI(email=creds.email, password=creds.password, **fake.urls) as nai:
        return nai.storage.objects("stories")


@pytest.mark.parametrize("cut", ["before", "after"])
async def test_a_cut_connection_during_a_save_loses_nothing(
    make_client: Any, fake: FakeNovelAI, creds: Credentials, cut: str
) -> None:
    other = make_client(email=creds.email, password=creds.password)
    existing = await maybe(other.storage.create_story("existing"))
    nai = make_client(email=creds.email, password=creds.password)
    keystore = await maybe(nai.storage.keystore())
    meta = keystore.new_meta()
    # The default retry resends the PUT: after a cut "after", that resend is stale (409), and the save re-reads.
    fake.inject("/user/keystore", method="PUT", cut=cut)  # type: ignore[arg-type]
    await maybe(nai.storage.save_keystore())
    assert not keystore.changed
    assert meta in Keystore.decrypt(creds.account.keystore, _encryption_key(creds))
    assert {existing.id} == set(fresh_read(fake, creds))


async def test_a_story_whose_second_upload_fails_is_taken_back(
    make_client: Any, fake: FakeNovelAI, creds: Credentials
) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    fake.inject("/user/objects/stories", method="PUT", status=400, message="refused")
    with pytest.raises(NovelAIError) as info:
        await maybe(nai.storage.create_story("half"))
    assert any("deleted again" in note for note in info.value.__notes__)
    assert {} == creds.account.objects.get("storycontent", {})


async def test_a_failed_cleanup_names_the_orphan(make_client: Any, fake: FakeNovelAI, creds: Credentials) -> None:
    nai = make_client(email=creds.email, password=creds.password, max_retries=0)
    fake.inject("/user/objects/stories", method="PUT", status=400, message="refused")
    fake.inject("/user/objects/storycontent/*", method="DELETE", status=500, message="down")
    with pytest.raises(NovelAIError) as info:
        await maybe(nai.storage.create_story("half"))
    (orphan,) = creds.account.objects["storycontent"]
    assert any(orphan in note and "could not be deleted" in note for note in info.value.__notes__)


def test_conflict_retries_are_bounded(fake: FakeNovelAI, creds: Credentials) -> None:
    with NovelAI(email=creds.email, password=creds.password, **fake.urls, backoff=FAST_BACKOFF) as nai:
        fake.inject("/user/keystore", method="PUT", status=409, message="stale", times=50)
        with pytest.raises(ConflictError):
            nai.storage.create_story("never")
        assert 8 == keystore_writes(fake)
        fake.faults.clear()
        # Once other devices stop writing, the pending key is saved with the next story.
        nai.storage.create_story("later")
    assert 1 == len(fresh_read(fake, creds))


def test_journal_directory_comes_from_the_environment(
    fake: FakeNovelAI, creds: Credentials, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAI_KEYSTORE_JOURNAL", str(tmp_path / "j"))
    with NovelAI(email=creds.email, password=creds.password, **fake.urls) as nai:
        nai.storage.create_story("x")
    assert 1 == len(list((tmp_path / "j").rglob("*.json")))
    monkeypatch.setenv("NAI_KEYSTORE_JOURNAL", "off")
    with NovelAI(email=creds.email, password=creds.password, **fake.urls) as nai:
        nai.storage.create_story("y")
    assert 1 == len(list((tmp_path / "j").rglob("*.json")))
    assert os.path.isdir(tmp_path / "j")

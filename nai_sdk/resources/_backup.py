"""Backups through a client: `backup_flow` writes one, `restore_flow` puts one back (the format: `nai_sdk.backup`).

Backing up streams: each type is listed page by page, each page's objects are written to their files, and the page
is dropped before the next is asked for. Pages are sized by bytes, not by count: they aim at `BACKUP_PAGE_BYTES`,
or at the largest object seen so far when that is bigger, so memory follows the largest object, not the account.
Consecutive pages overlap by one object, which must be the same: if it is not, the listing moved under the backup
(another device deleted or edited an object, shifting the offsets, so that an object could have been skipped), and
the type is listed again from the start. A broken page, or a keystore answer that cannot be the account's, raises;
the manifest is written last, only when everything else was, so a folder without one is visibly incomplete.

The files are written from inside the flow, so with `AsyncNovelAI` they are written on the event loop's thread,
one object at a time. Each is written atomically (a temporary file renamed into place); all are flushed to the disk
together at the end, before the manifest, so that a backup with a manifest survives a crash whole.

Restoring first merges the backup's keys into the account's keystore (read-merge-write; a meta the two key
differently stops the restore before anything is written), then reads what the server holds, then puts back what
is missing: story content first, so that each story can point at the id NovelAI gave its content.
"""

from __future__ import annotations

import datetime
import errno
import functools
import json
import os
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from nai_client.api.objects import create_object, get_objects, update_object
from nai_client.api.user import get_keystore
from nai_client.models import UserDataInput
from nai_client.types import UNSET

from nai_sdk._files import fsync_file, fsync_folder, private_folder, write_private
from nai_sdk._json import dumps_compact, loads_strict
from nai_sdk.backup import (
    BACKUP_PAGE_BYTES,
    BACKUP_TYPES,
    KEYSTORE_FILE,
    MANIFEST_FILE,
    OBJECTS_FOLDER,
    RESTORE_ORDER,
    BackupError,
    BackupObject,
    KeystoreRecord,
    ListedObject,
    Manifest,
    RestoredObject,
    RestoreReport,
    check_envelope,
    keystore_answer,
    object_file,
    parse_listing,
    raw_fingerprint,
    read_checked,
    read_manifest,
)
from nai_sdk.errors import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    KeystoreFormatError,
    NovelAIError,
    ObjectFormatError,
)
from nai_sdk.resources._base import Flow, Kind, Progress, Step, call_buffer, call_content
from nai_sdk.resources._keystore import keystore_flow, save_keystore_flow

if TYPE_CHECKING:
    from nai_sdk._session import Session
    from nai_sdk.keystore import Keystore

__all__ = ["LISTING_PASSES", "backup_flow", "restore_flow"]

#: Passes over one type's listing before a backup gives up on a listing that keeps moving under it.
LISTING_PASSES = 3

_ENCRYPTED = frozenset({"stories", "storycontent", "aimodules"})


def _check_page_size(page_size: int) -> None:
    if type(page_size) is not int or page_size < 1:
        raise ConfigurationError(f"page_size must be an int >= 1, not {page_size!r}")


class _Pager:
    """How many objects to ask for next, so that a page weighs about `BACKUP_PAGE_BYTES` (or the largest object).

    It starts at one object, and at most doubles from page to page, so a first guess from a few small objects
    cannot ask for hundreds of big ones at once.
    """

    __slots__ = ("cap", "count", "largest", "limit", "total")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.limit = 1
        self.count = self.total = self.largest = 0

    def observe(self, size: int) -> None:
        self.count += 1
        self.total += size
        self.largest = max(self.largest, size)

    def next_limit(self) -> int:
        if self.count:
            target = max(BACKUP_PAGE_BYTES, self.largest)
            wanted = target * self.count // max(self.total, 1)
            self.limit = max(1, min(self.cap, wanted, 2 * self.limit))
        return self.limit


def _list_page(object_type: str, offset: int, limit: int) -> Generator[Step, Any, bytearray]:
    # The raw bytes: a backup keeps each envelope exactly as sent, so it parses the page itself. Read into one
    # buffer: a page holds the largest object, and the memory of a backup follows the page.
    bound = get_objects.operation.bind(object_type, offset=offset, limit=limit, order="asc")
    return (yield from call_buffer(bound))


def _take(
    page: list[ListedObject], overlap: str | None, handle: Callable[[ListedObject], None], pager: _Pager
) -> int | None:
    """Hand the new objects of a page to `handle`; how many there were, or None when the overlap does not match."""
    if overlap is not None:
        if not page or page[0].id != overlap:
            return None
        page = page[1:]
    for listed in page:
        handle(listed)
        pager.observe(len(listed.raw))
    return len(page)


def _each_object(
    object_type: str, page_size: int, handle: Callable[[ListedObject], None], progress: Progress | None
) -> Flow[None]:
    """Call `handle` with every object of a type, page by page; an object may come twice (the listing moved)."""
    for _ in range(LISTING_PASSES):
        pager = _Pager(page_size)
        offset = 0
        last: str | None = None
        while True:
            overlap = 0 if last is None else 1
            limit = pager.next_limit() + overlap
            content = yield from _list_page(object_type, offset - overlap, limit)
            page = parse_listing(content, object_type)
            # Only this page's views into `content` keep it alive from here on, and they go with the page.
            del content
            taken = _take(page, last, handle, pager)
            if taken is None:
                break
            offset += taken
            if taken:
                last = page[-1].id
            full = len(page) == limit
            del page
            if progress is not None:
                progress(object_type, offset, None)
            if not full:
                return
    raise BackupError(
        f"the listing of {object_type} kept changing during the backup ({LISTING_PASSES} passes): another device is "
        "deleting or editing objects; run the backup again when it is done"
    )


# --- backup ---------------------------------------------------------------------------------------------------


def _prepare(root: Path) -> None:
    if root.exists():
        if not root.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "the backup folder is a file", str(root))
        if any(root.iterdir()):
            raise FileExistsError(
                errno.EEXIST, "the backup folder is not empty (a backup never writes over anything)", str(root)
            )
    private_folder(root)
    # One level at a time: mkdir gives its mode to the last folder only, the parents it creates get the umask's.
    private_folder(root / OBJECTS_FOLDER)
    for object_type in BACKUP_TYPES:
        private_folder(root / OBJECTS_FOLDER / object_type)


@attrs.define
class _Writer:
    """The object files of one backup, and their manifest entries (one per object, the last version seen)."""

    root: Path
    entries: dict[tuple[str, str], BackupObject] = attrs.field(factory=dict)
    numbers: dict[str, int] = attrs.field(factory=dict)

    def sync(self) -> None:
        """Flush every object file, then the folders' entries, to the disk."""
        for entry in self.entries.values():
            fsync_file(self.root / entry.file)
        for object_type in BACKUP_TYPES:
            fsync_folder(self.root / OBJECTS_FOLDER / object_type)

    def write(self, object_type: str, listed: ListedObject) -> None:
        previous = self.entries.get((object_type, listed.id))
        if previous is not None:
            name = previous.file
        else:
            number = self.numbers[object_type] = self.numbers.get(object_type, 0) + 1
            name = object_file(object_type, number, listed.id)
        # Flushed to the disk all at once before the manifest is written (`sync`): much cheaper than one by one.
        digest = write_private(self.root / name, listed.raw, durable=False)
        self.entries[(object_type, listed.id)] = BackupObject(
            type=object_type,
            id=listed.id,
            meta=listed.meta,
            change_index=listed.change_index,
            last_updated_at=listed.last_updated_at,
            file=name,
            sha256=digest,
            size=len(listed.raw),
        )


def _backup_keystore(writer: _Writer, key: bytes | None) -> Flow[KeystoreRecord]:
    """Read `GET /user/keystore` and write it byte for byte, refusing an answer that cannot be the account's."""
    from nai_sdk.keystore import Keystore

    content = yield from call_content(get_keystore.operation.bind())
    field, change_index = keystore_answer(content)
    if not field:
        if any(entry.type in _ENCRYPTED for entry in writer.entries.values()):
            raise KeystoreFormatError(
                "the account holds encrypted objects but the server sent no keystore: a backup without it could "
                "never be decrypted, so none was made"
            )
    elif key is not None:
        # A keystore that does not open would make the backup worthless: raise now (DecryptionError, ...).
        Keystore.decrypt(field, key)
    digest = write_private(writer.root / KEYSTORE_FILE, content)
    return KeystoreRecord(file=KEYSTORE_FILE, sha256=digest, size=len(content), change_index=change_index)


def backup_flow(
    session: Session, path: str | os.PathLike[str], progress: Progress | None, page_size: int
) -> Flow[Manifest]:
    """Write a backup of every object and the keystore into the folder `path` (see the module)."""
    from nai_sdk import __version__

    _check_page_size(page_size)
    root = Path(path)
    _prepare(root)
    writer = _Writer(root)
    for object_type in BACKUP_TYPES:
        yield from _each_object(object_type, page_size, functools.partial(writer.write, object_type), progress)
    # Last: every key of an object listed above was saved before that object was uploaded, so it is in here.
    record = yield from _backup_keystore(writer, session.encryption_key)
    if progress is not None:
        progress("keystore", 1, 1)
    writer.sync()
    manifest = Manifest(
        created_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        sdk_version=__version__,
        keystore=record,
        objects=tuple(writer.entries.values()),
    )
    # Indented and ASCII: meant to be read by people too, and no meta can make it fail to encode.
    write_private(root / MANIFEST_FILE, json.dumps(manifest.to_json(), indent=1).encode("ascii"))
    fsync_folder(root)
    return manifest


# --- restore --------------------------------------------------------------------------------------------------


def _envelope(object_type: str, listed_id: str, meta: str | None, data: str) -> dict[str, Any]:
    return {"id": listed_id, "type": object_type, "meta": meta or "", "data": data}


def _story_fingerprint(meta: str | None, data: dict[str, Any]) -> str:
    """What identifies a story whatever its id and its content's id: restoring rewrites `remoteStoryId`."""
    rest = {name: value for name, value in data.items() if name != "remoteStoryId"}
    return raw_fingerprint("stories", meta, dumps_compact(rest, ObjectFormatError).decode("utf-8"))


@attrs.frozen
class _Held:
    change_index: int | float | None
    fingerprint: str


@attrs.define
class _Index:
    """What the server holds, by id and by content (its objects' fingerprints), without holding the objects."""

    keystore: Keystore
    by_id: dict[tuple[str, str], _Held] = attrs.field(factory=dict)
    by_content: dict[str, str] = attrs.field(factory=dict)
    by_story: dict[str, str] = attrs.field(factory=dict)

    def add(self, object_type: str, listed: ListedObject) -> None:
        self.note(object_type, listed.id, listed.meta, listed.data, listed.change_index)

    def note(
        self, object_type: str, object_id: str, meta: str | None, data: str, change_index: int | float | None
    ) -> None:
        from nai_sdk.content import decrypt_object

        fingerprint = raw_fingerprint(object_type, meta, data)
        self.by_id[(object_type, object_id)] = _Held(change_index, fingerprint)
        self.by_content.setdefault(fingerprint, object_id)
        if object_type == "stories":
            story = decrypt_object(_envelope(object_type, object_id, meta, data), self.keystore)
            if story.data is not None:
                self.by_story.setdefault(_story_fingerprint(meta, story.data), object_id)


@attrs.define
class _Restorer:
    root: Path
    index: _Index
    overwrite: bool
    contents: frozenset[str]
    content_ids: dict[str, str] = attrs.field(factory=dict)
    created: list[RestoredObject] = attrs.field(factory=list)
    overwritten: list[RestoredObject] = attrs.field(factory=list)
    skipped: list[RestoredObject] = attrs.field(factory=list)
    failed: list[RestoredObject] = attrs.field(factory=list)

    def report(self) -> RestoreReport:
        return RestoreReport(
            created=tuple(self.created),
            overwritten=tuple(self.overwritten),
            skipped=tuple(self.skipped),
            failed=tuple(self.failed),
        )

    def _story(self, entry: BackupObject, data: str) -> tuple[str, str | None, str | None]:
        """(the data to upload, the story's fingerprint, why it cannot be restored) for a story of the backup."""
        from nai_sdk.content import decrypt_object, encrypt_object

        story = decrypt_object(_envelope("stories", entry.id, entry.meta, data), self.index.keystore)
        if story.data is None:
            # Unreadable with every key known: put back as it was, in case its key turns up one day.
            return data, None, None
        fingerprint = _story_fingerprint(entry.meta, story.data)
        remote = story.data.get("remoteStoryId")
        if not isinstance(remote, str) or remote not in self.contents:
            return data, fingerprint, None
        new = self.content_ids.get(remote)
        if new is None:
            return data, fingerprint, f"its content ({remote}) could not be restored"
        if new == remote:
            return data, fingerprint, None
        # NovelAI gave the content a new id: the story must point at it, which means new ciphertext (fresh nonce).
        story.data["remoteStoryId"] = new
        return str(encrypt_object(story, self.index.keystore)["data"]), fingerprint, None

    def restore(self, entry: BackupObject) -> Flow[None]:
        def done(into: list[RestoredObject], server_id: str | None, reason: str = "") -> None:
            into.append(RestoredObject(entry.type, entry.id, server_id, reason))
            if entry.type == "storycontent" and server_id is not None:
                self.content_ids[entry.id] = server_id

        if entry.type == "storycontent" and (entry.type, entry.id) in self.index.by_id:
            # Whatever happens below, the server holds a content of this id: its story can keep pointing at it.
            self.content_ids[entry.id] = entry.id
        try:
            content = read_checked(self.root, entry.file, entry.sha256, entry.size)
            envelope = check_envelope(
                loads_strict(content, ObjectFormatError, "the object file"), entry.type, "the object file"
            )
        except (BackupError, ObjectFormatError) as exc:
            done(self.failed, None, f"{entry.file}: {exc}")
            return
        if envelope["id"] != entry.id or envelope.get("meta") != entry.meta:
            done(self.failed, None, f"{entry.file} holds another object than the manifest says")
            return
        meta: str | None = entry.meta
        original: str = envelope["data"]
        data, story_fingerprint, problem = original, None, None
        if entry.type == "stories":
            data, story_fingerprint, problem = self._story(entry, original)
        if problem is not None:
            done(self.failed, None, problem)
            return
        held = self.index.by_id.get((entry.type, entry.id))
        if held is None:
            found = self.index.by_content.get(raw_fingerprint(entry.type, meta, original))
            if found is None and story_fingerprint is not None:
                found = self.index.by_story.get(story_fingerprint)
            if found is not None:
                done(self.skipped, found, f"the server holds it as {found}")
                return
        elif not self.overwrite:
            done(self.skipped, entry.id, "the server holds an object of this id (overwrite=True replaces it)")
            return
        elif held.fingerprint == raw_fingerprint(entry.type, meta, data):
            done(self.skipped, entry.id, "the server holds it unchanged")
            return
        try:
            if held is None:
                created = create_object.operation.bind(entry.type, body=UserDataInput(meta=meta or "", data=data))
                answer = yield from call_content(created, kind=Kind.UNSAFE)
            else:
                # The server's own changeIndex, as read: if it moved since, the server answers 409.
                body = UserDataInput(
                    meta=meta or "", data=data, change_index=UNSET if held.change_index is None else held.change_index
                )
                edited = update_object.operation.bind(entry.type, entry.id, body=body)
                answer = yield from call_content(edited, kind=Kind.UNSAFE)
            stored = check_envelope(
                loads_strict(answer, ObjectFormatError, "the answer"), entry.type, "the stored object"
            )
        except AuthenticationError:
            raise
        except ConflictError:
            done(self.failed, None, "it changed on the server since the restore read it (409): not overwritten")
            return
        except (APIConnectionError, InternalServerError) as exc:
            done(
                self.failed,
                None,
                f"the server's answer was lost ({type(exc).__name__}): it may have been written; run the restore "
                "again, which skips what the server holds",
            )
            return
        except NovelAIError as exc:
            done(self.failed, None, f"{type(exc).__name__}: {exc}")
            return
        self.index.note(entry.type, stored["id"], meta, data, stored.get("changeIndex"))
        done(self.created if held is None else self.overwritten, stored["id"])


def restore_flow(
    session: Session,
    path: str | os.PathLike[str],
    overwrite: bool,
    progress: Progress | None,
    page_size: int,
) -> Flow[RestoreReport]:
    """Put the backup in `path` back on the account (see the module and `Storage.restore`)."""
    from nai_sdk.keystore import Keystore

    _check_page_size(page_size)
    root = Path(path)
    manifest = read_manifest(root)
    key = session.encryption_key
    if key is None:
        raise ConfigurationError("restoring a backup needs the account e-mail and password (not only a token)")
    record = manifest.keystore
    field, _ = keystore_answer(read_checked(root, record.file, record.sha256, record.size))
    state = session.keystore
    if field:
        # Opens with this account's key or raises (DecryptionError) before anything is written; a meta keyed
        # differently here and on the server is a KeystoreConflictError, also before anything is written.
        yield from save_keystore_flow(state, key, Keystore.decrypt(field, key))
    keystore = yield from keystore_flow(state, key)
    index = _Index(keystore)
    for object_type in RESTORE_ORDER:
        yield from _each_object(object_type, page_size, functools.partial(index.add, object_type), progress)
    restorer = _Restorer(
        root, index, overwrite, frozenset(entry.id for entry in manifest.objects if entry.type == "storycontent")
    )
    for object_type in RESTORE_ORDER:
        entries = [entry for entry in manifest.objects if entry.type == object_type]
        for number, entry in enumerate(entries, 1):
            yield from restorer.restore(entry)
            if progress is not None:
                progress(object_type, number, len(entries))
    return restorer.report()

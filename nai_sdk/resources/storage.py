"""The keystore and the user objects, decrypted and encrypted for the user (`nai.storage`).

The keystore is opened with the encryption key derived from the e-mail and password (kept in memory only) and
cached by the client; objects of encrypted types are read and written through it with `nai_sdk.content`.

Writes are safe by construction, with any number of devices, threads and tasks on one account:

* an object or keystore that failed to decrypt is never uploaded (`UploadRefusedError`);
* an edit carries the `changeIndex` it was read with, so a stale edit gets 409 from NovelAI: that becomes a
  `ConflictError` whose `.local` is your object and `.remote` the server's current one, fetched for you. It is
  never retried, so it never overwrites someone else's change;
* a keystore that gained keys (a new story) is saved before the objects that need them, read-merge-write under
  the client's keystore lock: the keys other devices wrote meanwhile are kept (see the Storage guide);
* a keystore or listing answer that is broken is refused, never taken for an empty account;
* objects whose key is missing from the cached keystore make it re-read once (another device added the key).

`create_story` uploads the content first and the story second, both under one new key that is saved before
either. An upload whose answer is lost (a cut connection, a 5xx, an answer that does not parse) is looked up by
its meta, which is new and used by this story alone: if the server made the object, the story goes on with it. If
the story's upload provably failed, the content is deleted again (the error's notes say whether that worked), so no
half story is left behind; if it is unknown whether the story was made, the content is kept and a note says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

import attrs
from nai_client.api.objects import create_object, delete_object, get_object, update_object
from nai_client.models import UserDataInput
from nai_client.types import UNSET

from nai_sdk._request import RequestOptions, per_call
from nai_sdk.errors import (
    APIConnectionError,
    ConflictError,
    InternalServerError,
    NovelAIError,
    UnexpectedAnswerError,
)
from nai_sdk.keystore import MissingKeyError
from nai_sdk.resources._backup import backup_flow, restore_flow
from nai_sdk.resources._base import Acquire, AsyncResource, Flow, Kind, Progress, Resource, call
from nai_sdk.resources._keystore import keystore_flow, list_page, save_keystore_flow, save_locked

if TYPE_CHECKING:
    from nai_sdk._session import Session
    from nai_sdk.backup import Manifest, RestoreReport, VerifyReport
    from nai_sdk.content import Document, UserObject
    from nai_sdk.keystore import Keystore
    from nai_sdk.resources._story_files import FileSource

__all__ = ["OBJECT_PAGE_SIZE", "AsyncStorage", "Progress", "Storage", "Story"]

#: Objects asked for per request when listing (NovelAI's web client asks for pages of this order).
OBJECT_PAGE_SIZE = 500


_ENCRYPTED = frozenset({"stories", "storycontent", "aimodules"})


@attrs.frozen
class Story:
    """A story: its metadata object and its content object.

    Attributes:
        story: the `stories` object (title, description, tags, `remoteStoryId`...).
        content: the `storycontent` object it points to (`data["remoteStoryId"]`), or None if missing.
    """

    story: UserObject
    content: UserObject | None

    @property
    def id(self) -> str:
        """The story object's id."""
        return self.story.id

    @property
    def title(self) -> str | None:
        """The story's title, when its metadata could be read."""
        title = self.story.data.get("title") if self.story.data else None
        return title if isinstance(title, str) else None

    @property
    def ok(self) -> bool:
        """Both objects were read."""
        return self.story.ok and self.content is not None and self.content.ok

    def document(self) -> Document | None:
        """The decoded msgpackr document of the content (None when there is no content or no document)."""
        return self.content.document() if self.content is not None else None


def _keystore_flow(session: Session, refresh: bool = False) -> Flow[Keystore]:
    return (yield from keystore_flow(session.keystore, session.encryption_key, refresh))


def _save_keystore_flow(session: Session, keystore: Keystore | None) -> Flow[None]:
    return (yield from save_keystore_flow(session.keystore, session.encryption_key, keystore))


def _keystore_for(session: Session, object_type: str) -> Flow[Keystore | None]:
    if object_type not in _ENCRYPTED:
        return None
    return (yield from _keystore_flow(session))


def _missing_key(obj: UserObject) -> bool:
    return isinstance(obj.error, MissingKeyError) and obj.raw is not None


def _retry_missing_keys(
    session: Session, keystore: Keystore | None, objects: list[UserObject]
) -> Flow[list[UserObject]]:
    """Objects whose meta the cached keystore lacks were likely made by another device since it was read: re-read
    the keystore once (merging its new keys into the cache) and decrypt those objects again."""
    from nai_sdk.content import decrypt_object

    if keystore is None or not any(_missing_key(obj) for obj in objects):
        return objects
    keystore = yield from _keystore_flow(session, refresh=True)
    return [decrypt_object(obj.raw, keystore) if _missing_key(obj) and obj.raw is not None else obj for obj in objects]


def _list_flow(session: Session, object_type: str, progress: Progress | None, page_size: int) -> Flow[list[UserObject]]:
    from nai_sdk.content import decrypt_objects

    keystore = yield from _keystore_for(session, object_type)
    raws: list[Any] = []
    while True:
        page = yield from list_page(object_type, len(raws), page_size)
        raws.extend(page)
        if progress is not None:
            progress(object_type, len(raws), None)
        if len(page) < page_size:
            break
    return (yield from _retry_missing_keys(session, keystore, decrypt_objects(raws, keystore)))


def _get_flow(session: Session, object_type: str, object_id: str) -> Flow[UserObject]:
    from nai_sdk.content import decrypt_object

    keystore = yield from _keystore_for(session, object_type)
    raw = yield from call(get_object.operation.bind(object_type, object_id))
    (obj,) = yield from _retry_missing_keys(session, keystore, [decrypt_object(raw.to_dict(), keystore)])
    return obj


def _stories_flow(session: Session, progress: Progress | None, page_size: int) -> Flow[list[Story]]:
    stories = yield from _list_flow(session, "stories", progress, page_size)
    contents = yield from _list_flow(session, "storycontent", progress, page_size)
    by_id = {content.id: content for content in contents}
    linked = []
    for story in stories:
        remote = story.data.get("remoteStoryId") if story.data else None
        linked.append(Story(story=story, content=by_id.get(remote) if isinstance(remote, str) else None))
    return linked


def _download_flow(
    session: Session, types: Iterable[str], progress: Progress | None, page_size: int
) -> Flow[dict[str, list[UserObject]]]:
    result: dict[str, list[UserObject]] = {}
    for object_type in types:
        result[object_type] = yield from _list_flow(session, object_type, progress, page_size)
    return result


def _prepare_upload(session: Session, obj: UserObject) -> Flow[tuple[Keystore | None, dict[str, Any]]]:
    from nai_sdk.content import encrypt_object

    keystore = yield from _keystore_for(session, obj.type)
    # encrypt_object refuses an object that failed to decrypt (UploadRefusedError) before anything is sent.
    wire = encrypt_object(obj, keystore)
    if keystore is not None and keystore.changed:
        # A key is new (maybe the object's): without the keystore saved first, the object could not be read back.
        # A keystore with no new key is never written, so an ordinary edit sends nothing but the object.
        yield from _save_keystore_flow(session, None)
    return keystore, wire


def _create_flow(session: Session, obj: UserObject) -> Flow[UserObject]:
    from nai_sdk.content import decrypt_object

    keystore, wire = yield from _prepare_upload(session, obj)
    # PUT, but not idempotent: every call creates another object.
    body = UserDataInput(meta=wire["meta"], data=wire["data"])
    raw = yield from call(create_object.operation.bind(obj.type, body=body), kind=Kind.UNSAFE)
    return decrypt_object(raw.to_dict(), keystore)


def _edit_flow(session: Session, obj: UserObject) -> Flow[UserObject]:
    from nai_sdk.content import decrypt_object

    if not obj.modified and obj.error is None and obj.raw is not None:
        return obj
    keystore, wire = yield from _prepare_upload(session, obj)
    body = UserDataInput(
        meta=wire["meta"], data=wire["data"], change_index=UNSET if obj.change_index is None else obj.change_index
    )
    try:
        raw = yield from call(update_object.operation.bind(obj.type, obj.id, body=body), kind=Kind.UNSAFE)
    except ConflictError as conflict:
        conflict.local = obj
        try:
            remote_raw = yield from call(get_object.operation.bind(obj.type, obj.id))
            conflict.remote = decrypt_object(remote_raw.to_dict(), keystore)
        except NovelAIError as exc:
            # Keep the conflict as the error; how fetching the remote version failed stays visible as its context.
            raise conflict from exc
        raise
    return decrypt_object(raw.to_dict(), keystore)


def _delete_flow(object_type: str, object_id: str) -> Flow[None]:
    yield from call(delete_object.operation.bind(object_type, object_id))


def _new_key_flow(session: Session) -> Flow[tuple[Keystore, str]]:
    """A new meta and key, saved (read-merge-write) before it is returned; the lock covers both steps."""
    key = session.encryption_key
    state = session.keystore
    keystore = yield from keystore_flow(state, key)
    yield Acquire(state.semaphore)
    try:
        meta = keystore.new_meta()
        yield from save_locked(state, key)
    finally:
        state.semaphore.release()
    return keystore, meta


def _find_by_meta(object_type: str, meta: str) -> Flow[dict[str, Any] | None]:
    """The envelope of the object of this type under `meta` (a meta that is only ever used once), if any."""
    offset = 0
    while True:
        page = yield from list_page(object_type, offset, OBJECT_PAGE_SIZE, "desc")
        for raw in page:
            if isinstance(raw, dict) and raw.get("meta") == meta:
                return raw
        if len(page) < OBJECT_PAGE_SIZE:
            return None
        offset += len(page)


class _Unchecked(Exception):
    """An upload failed and whether the server made the object anyway could not be checked."""

    def __init__(self, error: NovelAIError) -> None:
        super().__init__(str(error))
        self.error = error


def _create_or_find(session: Session, obj: UserObject, keystore: Keystore) -> Flow[UserObject]:
    """Create `obj`; when the answer is lost (a cut connection, a 5xx), find out whether it was created after all.

    Raises:
        NovelAIError: the upload failed and the object is not on the server.
        _Unchecked: the upload failed and the lookup failed too (the error carries a note).
    """
    from nai_sdk.content import decrypt_object

    try:
        return (yield from _create_flow(session, obj))
    except (APIConnectionError, InternalServerError, UnexpectedAnswerError) as exc:
        try:
            found = yield from _find_by_meta(obj.type, obj.meta)
        except NovelAIError as check:
            exc.add_note(f"whether the {obj.type} object was created could not be checked ({type(check).__name__})")
            raise _Unchecked(exc) from None
        if found is None:
            raise
        return decrypt_object(found, keystore)


def _new_story_flow(session: Session, title: str, text: str) -> Flow[Story]:
    """A minimal story."""
    metadata = {"storyMetadataVersion": 1, "id": "", "remoteStoryId": "", "title": title}
    content = {"storyContentVersion": 6, "story": {"fragments": [{"data": text}]}}
    return (yield from _upload_story_flow(session, metadata, content))


def _upload_story_flow(session: Session, metadata: dict[str, Any], content_data: dict[str, Any]) -> Flow[Story]:
    """A story from its two objects' data: content first (its id becomes the story's `id` and `remoteStoryId`; a
    `remoteId` of another account is dropped), both under one new meta saved before either is sent."""
    from nai_sdk.content import UserObject

    keystore, meta = yield from _new_key_flow(session)
    content = UserObject.new("storycontent", content_data, keystore, meta=meta)
    try:
        content = yield from _create_or_find(session, content, keystore)
    except _Unchecked as unchecked:
        raise unchecked.error from None
    story_data = {key: value for key, value in metadata.items() if key != "remoteId"}
    story_data.update(id=content.id, remoteStoryId=content.id)
    story = UserObject.new("stories", story_data, keystore, meta=meta)
    try:
        story = yield from _create_or_find(session, story, keystore)
    except _Unchecked as unchecked:
        # The story may exist: deleting its content could destroy it. Leave both, and say so.
        unchecked.error.add_note(f"the story's content object {content.id} was kept, in case the story was created")
        raise unchecked.error from None
    except NovelAIError as exc:
        # The story provably does not exist: a content object without its story is invisible in the web app.
        try:
            yield from _delete_flow("storycontent", content.id)
        except NovelAIError as cleanup:
            exc.add_note(
                f"the story's content object {content.id} was created but could not be deleted again "
                f"({type(cleanup).__name__}); delete it with storage.delete('storycontent', {content.id!r})"
            )
        else:
            exc.add_note(f"the story's content object {content.id} was created, then deleted again")
        raise
    return Story(story=story, content=content)


class Storage(Resource):
    """The keystore and the user objects (`nai.storage`)."""

    def keystore(self, *, refresh: bool = False, **request: Unpack[RequestOptions]) -> Keystore:
        """The account keystore, opened with the in-memory encryption key (downloaded once, then cached).

        Raises:
            ConfigurationError: the client has no e-mail and password (a token cannot open the keystore).
            DecryptionError: the key does not open it.
        """
        return self._engine.run(_keystore_flow(self._engine.session, refresh), per_call(request))

    def save_keystore(self, keystore: Keystore | None = None, **request: Unpack[RequestOptions]) -> None:
        """Saves the keystore's new keys, read-merge-write: keys other devices wrote meanwhile are kept.

        Nothing is sent when no key is new.

        Args:
            keystore: another copy whose keys should join the client's keystore first (by default, the client's
                own: the one `keystore()` returns).

        Raises:
            KeystoreConflictError: a meta has a different key on the server (or in `keystore`); nothing is written.
            ConflictError: other devices kept writing through every retry.
            KeystoreFormatError: the server's keystore answer is broken and the account holds encrypted objects.
        """
        self._engine.run(_save_keystore_flow(self._engine.session, keystore), per_call(request))

    def objects(
        self,
        object_type: str,
        *,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
        **request: Unpack[RequestOptions],
    ) -> list[UserObject]:
        """Every object of a type, decrypted; an object that fails to decrypt has `ok` False and `error` set."""
        return self._engine.run(_list_flow(self._engine.session, object_type, progress, page_size), per_call(request))

    def get(self, object_type: str, object_id: str, **request: Unpack[RequestOptions]) -> UserObject:
        """One object, decrypted."""
        return self._engine.run(_get_flow(self._engine.session, object_type, object_id), per_call(request))

    def stories(
        self, *, progress: Progress | None = None, page_size: int = OBJECT_PAGE_SIZE, **request: Unpack[RequestOptions]
    ) -> list[Story]:
        """Every story with its content (and through it, its document), decrypted."""
        return self._engine.run(_stories_flow(self._engine.session, progress, page_size), per_call(request))

    def download(
        self,
        types: Sequence[str] = ("stories", "storycontent", "aimodules", "presets", "shelf"),
        *,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
        **request: Unpack[RequestOptions],
    ) -> dict[str, list[UserObject]]:
        """Every object of the given types, by type; `progress(type, downloaded, None)` after every page."""
        return self._engine.run(_download_flow(self._engine.session, types, progress, page_size), per_call(request))

    def create(self, obj: UserObject, **request: Unpack[RequestOptions]) -> UserObject:
        """Uploads a new object (from `UserObject.new`); NovelAI assigns its id.

        Returns:
            The object as stored (with its id and change index).
        """
        return self._engine.run(_create_flow(self._engine.session, obj), per_call(request))

    def edit(self, obj: UserObject, **request: Unpack[RequestOptions]) -> UserObject:
        """Uploads the changes of an object that was read (nothing is sent if it did not change).

        Returns:
            The object as stored (with its new change index).

        Raises:
            ConflictError: it changed on the server since it was read; `.local` is `obj`, `.remote` the server's.
            UploadRefusedError: `obj` failed to decrypt.
        """
        return self._engine.run(_edit_flow(self._engine.session, obj), per_call(request))

    def delete(self, object_type: str, object_id: str, **request: Unpack[RequestOptions]) -> None:
        """Deletes an object."""
        self._engine.run(_delete_flow(object_type, object_id), per_call(request))

    def create_story(self, title: str, text: str = "", **request: Unpack[RequestOptions]) -> Story:
        """Creates a minimal story (metadata and content under a new keystore key)."""
        return self._engine.run(_new_story_flow(self._engine.session, title, text), per_call(request))

    def import_file(
        self,
        source: FileSource,
        *,
        placeholders: Mapping[str, str] | None = None,
        into: Story | None = None,
        **request: Unpack[RequestOptions],
    ) -> Story:
        """Imports a `.story`, `.scenario` or `.lorebook` file as a new story (or a lorebook into a story).

        The whole file is read and checked before anything is sent. The story is uploaded as `create_story`
        uploads one: a new key saved to the keystore first (read-merge-write), then the content, then the story
        (whose `id` and `remoteStoryId` become the new content's id); if the story cannot be made, the content is
        deleted again. A scenario becomes a story as the web client starts one (see `ScenarioFile.to_story`).

        Args:
            source: the file's path, or a file already read (`nai_sdk.content.read_file`).
            placeholders: values for a scenario's placeholders (the others take their defaults).
            into: for a lorebook: add its entries and categories to this story's lorebook instead (an edit of
                its content: a `ConflictError` if it changed on the server since it was read).

        Returns:
            The new story (or `into`, with its content as stored).

        Raises:
            StoryFileError: the file is not a story, scenario or lorebook this SDK reads (nothing was sent).
            OSError: the file cannot be read.
        """
        from nai_sdk.resources._story_files import import_flow, read_source

        file = read_source(source)
        return self._engine.run(import_flow(self._engine.session, file, placeholders, into), per_call(request))

    def export(self, story: Story | str, path: str | os.PathLike[str], **request: Unpack[RequestOptions]) -> Path:
        """Writes a story as a `.story` file (mode 0600, atomically), as the web client's export holds it.

        Args:
            story: the story (from `stories()`), or its id (then it is fetched with its content).
            path: the file to write (replaced if it exists).

        Returns:
            The path written.

        Raises:
            StoryFileError: the story has no content, or an object of it could not be read.
        """
        from nai_sdk.resources._story_files import export_flow, write_export

        return write_export(path, self._engine.run(export_flow(self._engine.session, story), per_call(request)))

    def backup(
        self,
        path: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
        **request: Unpack[RequestOptions],
    ) -> Manifest:
        """Writes a backup of the account into the folder `path`: every object and the keystore, byte for byte.

        Objects are streamed to their files page by page (pages of at most `page_size` objects, sized to about
        1 MiB or the largest object seen), files are 0600 and folders 0700, each written atomically. The manifest
        (ids, change indexes, sha256 of every file) is written last: a folder without one is an incomplete backup.
        See `nai_sdk.backup` for the format.

        Args:
            path: a folder that does not exist yet, or is empty.
            progress: `progress(type, objects_so_far, None)` after every page, then `progress("keystore", 1, 1)`.
            page_size: the most objects asked for at once.

        Returns:
            The manifest written.

        Raises:
            FileExistsError: `path` is not empty.
            ObjectFormatError: a listing page is broken; nothing is taken for a short or empty listing.
            KeystoreFormatError: the keystore answer is broken, or absent while the account holds encrypted objects.
            DecryptionError: the keystore does not open with the account's key.
            BackupError: the listing kept moving (another device deleting or editing) through every pass.
        """
        return self._engine.run(backup_flow(self._engine.session, path, progress, page_size), per_call(request))

    def restore(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
        **request: Unpack[RequestOptions],
    ) -> RestoreReport:
        """Puts a backup back: the objects the server lacks are created again; with `overwrite`, the rest too.

        First the backup's keys join the account keystore (read-merge-write: a meta keyed differently on the server
        stops the restore before anything is written). Then an object counts as present when the server holds one
        of its type with the same id, or the same meta and data (an earlier restore created it under a new id), or,
        for stories, the same metadata apart from `remoteStoryId`. Missing objects are created, story content first:
        NovelAI gives every created object a new id, so a story whose content got one is re-encrypted (fresh nonce)
        to point at it. With `overwrite`, objects present under the same id but different are written over with
        the backup's version, sending the server's current changeIndex: one changed meanwhile answers 409 and is
        reported as failed, never forced.

        Args:
            path: the backup folder.
            overwrite: also write over objects present under the same id.
            progress: `progress(type, n, None)` while reading what the server holds, then `progress(type, done,
                total)` while restoring.
            page_size: the most objects asked for at once while reading the server's objects.

        Returns:
            What was created, overwritten, skipped and why, and what failed and why.

        Raises:
            BackupError: no manifest, an unreadable one, or a keystore file that is damaged.
            DecryptionError: the backup's keystore does not open with this account's key (another account or password).
            KeystoreConflictError: the backup and the server key one meta differently; nothing was written.
            ConfigurationError: the client has no e-mail and password.
        """
        return self._engine.run(
            restore_flow(self._engine.session, path, overwrite, progress, page_size), per_call(request)
        )

    def verify(self, path: str | os.PathLike[str]) -> VerifyReport:
        """Checks a backup with the account's key, without any network (`nai_sdk.backup.verify_backup`).

        Returns:
            Every failure: a missing or changed file, a keystore that does not open, an object that does not decrypt.

        Raises:
            BackupError: the manifest is missing or unreadable.
            ConfigurationError: the client has no e-mail and password.
        """
        from nai_sdk.backup import verify_backup

        return verify_backup(path, self._engine.session.encryption_key)


class AsyncStorage(AsyncResource):
    """The keystore and the user objects (`nai.storage` of `AsyncNovelAI`); see `Storage`."""

    async def keystore(self, *, refresh: bool = False, **request: Unpack[RequestOptions]) -> Keystore:
        """The account keystore (see `Storage.keystore`)."""
        return await self._engine.run(_keystore_flow(self._engine.session, refresh), per_call(request))

    async def save_keystore(self, keystore: Keystore | None = None, **request: Unpack[RequestOptions]) -> None:
        """Saves the keystore's new keys, read-merge-write (see `Storage.save_keystore`)."""
        await self._engine.run(_save_keystore_flow(self._engine.session, keystore), per_call(request))

    async def objects(
        self,
        object_type: str,
        *,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
        **request: Unpack[RequestOptions],
    ) -> list[UserObject]:
        """Every object of a type, decrypted."""
        return await self._engine.run(
            _list_flow(self._engine.session, object_type, progress, page_size), per_call(request)
        )

    async def get(self, object_type: str, object_id: str, **request: Unpack[RequestOptions]) -> UserObject:
        """One object, decrypted."""
        return await self._engine.run(_get_flow(self._engine.session, object_type, object_id), per_call(request))

    async def stories(
        self, *, progress: Progress | None = None, page_size: int = OBJECT_PAGE_SIZE, **request: Unpack[RequestOptions]
    ) -> list[Story]:
        """Every story with its content, decrypted."""
        return await self._engine.run(_stories_flow(self._engine.session, progress, page_size), per_call(request))

    async def download(
        self,
        types: Sequence[str] = ("stories", "storycontent", "aimodules", "presets", "shelf"),
        *,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
        **request: Unpack[RequestOptions],
    ) -> dict[str, list[UserObject]]:
        """Every object of the given types, by type."""
        return await self._engine.run(
            _download_flow(self._engine.session, types, progress, page_size), per_call(request)
        )

    async def create(self, obj: UserObject, **request: Unpack[RequestOptions]) -> UserObject:
        """Uploads a new object (see `Storage.create`)."""
        return await self._engine.run(_create_flow(self._engine.session, obj), per_call(request))

    async def edit(self, obj: UserObject, **request: Unpack[RequestOptions]) -> UserObject:
        """Uploads the changes of an object (see `Storage.edit`)."""
        return await self._engine.run(_edit_flow(self._engine.session, obj), per_call(request))

    async def delete(self, object_type: str, object_id: str, **request: Unpack[RequestOptions]) -> None:
        """Deletes an object."""
        await self._engine.run(_delete_flow(object_type, object_id), per_call(request))

    async def create_story(self, title: str, text: str = "", **request: Unpack[RequestOptions]) -> Story:
        """Creates a minimal story."""
        return await self._engine.run(_new_story_flow(self._engine.session, title, text), per_call(request))

    async def import_file(
        self,
        source: FileSource,
        *,
        placeholders: Mapping[str, str] | None = None,
        into: Story | None = None,
        **request: Unpack[RequestOptions],
    ) -> Story:
        """Imports a story, scenario or lorebook file (see `Storage.import_file`); the file is read in a thread."""
        import asyncio

        from nai_sdk.resources._story_files import import_flow, read_source

        file = await asyncio.to_thread(read_source, source)
        return await self._engine.run(import_flow(self._engine.session, file, placeholders, into), per_call(request))

    async def export(self, story: Story | str, path: str | os.PathLike[str], **request: Unpack[RequestOptions]) -> Path:
        """Writes a story as a `.story` file (see `Storage.export`); the file is written in a thread."""
        import asyncio

        from nai_sdk.resources._story_files import export_flow, write_export

        content = await self._engine.run(export_flow(self._engine.session, story), per_call(request))
        return await asyncio.to_thread(write_export, path, content)

    async def backup(
        self,
        path: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
        **request: Unpack[RequestOptions],
    ) -> Manifest:
        """Writes a backup of the account into the folder `path` (see `Storage.backup`).

        The files are written on the event loop's thread, one object at a time.
        """
        return await self._engine.run(backup_flow(self._engine.session, path, progress, page_size), per_call(request))

    async def restore(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
        **request: Unpack[RequestOptions],
    ) -> RestoreReport:
        """Puts a backup back (see `Storage.restore`)."""
        return await self._engine.run(
            restore_flow(self._engine.session, path, overwrite, progress, page_size), per_call(request)
        )

    async def verify(self, path: str | os.PathLike[str]) -> VerifyReport:
        """Checks a backup with the account's key, in a worker thread (see `Storage.verify`)."""
        import asyncio

        from nai_sdk.backup import verify_backup

        return await asyncio.to_thread(verify_backup, path, self._engine.session.encryption_key)

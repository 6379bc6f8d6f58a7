"""The keystore and the user objects, decrypted and encrypted for the user (`nai.storage`).

The keystore is opened with the encryption key derived from the e-mail and password (kept in memory only) and
cached by the client; objects of encrypted types are read and written through it with `nai_sdk.content`.

Writes are safe by construction:

* an object or keystore that failed to decrypt is never uploaded (`UploadRefusedError`);
* an edit carries the `changeIndex` it was read with, so a stale edit gets 409 from NovelAI: that becomes a
  `ConflictError` whose `.local` is your object and `.remote` the server's current one, fetched for you. It is
  never retried, so it never overwrites someone else's change;
* a keystore that gained keys (a new story) is saved before the objects that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from nai_sdk.errors import ConfigurationError, ConflictError, NovelAIError
from nai_sdk.resources._base import AsyncResource, Body, Call, Flow, Kind, Resource
from nai_sdk.resources._ops import op

if TYPE_CHECKING:
    from nai_sdk._client import _Credentials
    from nai_sdk.content import Document, UserObject
    from nai_sdk.keystore import Keystore

__all__ = ["OBJECT_PAGE_SIZE", "AsyncStorage", "Progress", "Storage", "Story"]

#: Objects asked for per request when listing (NovelAI's web client asks for pages of this order).
OBJECT_PAGE_SIZE = 500

#: `progress(object_type, downloaded_so_far, total_or_None)`, called after every page of a download.
Progress: TypeAlias = Callable[[str, int, int | None], None]

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


def _encryption_key(credentials: _Credentials) -> bytes:
    if credentials.encryption_key is None:
        raise ConfigurationError("opening the keystore needs the account e-mail and password (not only a token)")
    return credentials.encryption_key


def _keystore_flow(credentials: _Credentials, refresh: bool = False) -> Flow[Keystore]:
    from nai_sdk.keystore import Keystore

    cached: Keystore | None = credentials.keystore
    if cached is not None and not refresh:
        return cached
    key = _encryption_key(credentials)
    answer = yield Call(op("GET", "/user/keystore"), result="json")
    field = answer.get("keystore") if isinstance(answer, dict) else None
    # Decrypt before caching: a keystore that does not open is never cached, so it can never be written back.
    keystore = Keystore.decrypt(field or None, key)
    credentials.keystore = keystore
    return keystore


def _save_keystore_flow(credentials: _Credentials, keystore: Keystore) -> Flow[None]:
    key = _encryption_key(credentials)
    yield Call(op("PUT", "/user/keystore"), {"body": Body({"keystore": keystore.encrypt(key)})}, result="none")
    credentials.keystore = keystore


def _keystore_for(credentials: _Credentials, object_type: str) -> Flow[Keystore | None]:
    if object_type not in _ENCRYPTED:
        return None
    return (yield from _keystore_flow(credentials))


def _list_flow(
    credentials: _Credentials, object_type: str, progress: Progress | None, page_size: int
) -> Flow[list[UserObject]]:
    from nai_sdk.content import decrypt_objects

    keystore = yield from _keystore_for(credentials, object_type)
    raws: list[Any] = []
    while True:
        answer = yield Call(
            op("GET", "/user/objects/{type}"),
            {"type_": object_type, "offset": len(raws), "limit": page_size, "order": "asc"},
            result="json",
        )
        page = answer.get("objects") if isinstance(answer, dict) else None
        page = page if isinstance(page, list) else []
        raws.extend(page)
        if progress is not None:
            progress(object_type, len(raws), None)
        if len(page) < page_size:
            break
    return decrypt_objects(raws, keystore)


def _get_flow(credentials: _Credentials, object_type: str, object_id: str) -> Flow[UserObject]:
    from nai_sdk.content import decrypt_object

    keystore = yield from _keystore_for(credentials, object_type)
    raw = yield Call(op("GET", "/user/objects/{type}/{id}"), {"type_": object_type, "id": object_id}, result="json")
    return decrypt_object(raw, keystore)


def _stories_flow(credentials: _Credentials, progress: Progress | None, page_size: int) -> Flow[list[Story]]:
    stories = yield from _list_flow(credentials, "stories", progress, page_size)
    contents = yield from _list_flow(credentials, "storycontent", progress, page_size)
    by_id = {content.id: content for content in contents}
    linked = []
    for story in stories:
        remote = story.data.get("remoteStoryId") if story.data else None
        linked.append(Story(story=story, content=by_id.get(remote) if isinstance(remote, str) else None))
    return linked


def _download_flow(
    credentials: _Credentials, types: Iterable[str], progress: Progress | None, page_size: int
) -> Flow[dict[str, list[UserObject]]]:
    result: dict[str, list[UserObject]] = {}
    for object_type in types:
        result[object_type] = yield from _list_flow(credentials, object_type, progress, page_size)
    return result


def _prepare_upload(credentials: _Credentials, obj: UserObject) -> Flow[tuple[Keystore | None, dict[str, Any]]]:
    from nai_sdk.content import encrypt_object

    keystore = yield from _keystore_for(credentials, obj.type)
    # encrypt_object refuses an object that failed to decrypt (UploadRefusedError) before anything is sent.
    wire = encrypt_object(obj, keystore)
    if keystore is not None and keystore.changed:
        # The object's key is new: without the keystore saved first, the object could not be read back.
        yield from _save_keystore_flow(credentials, keystore)
    return keystore, wire


def _create_flow(credentials: _Credentials, obj: UserObject) -> Flow[UserObject]:
    from nai_sdk.content import decrypt_object

    keystore, wire = yield from _prepare_upload(credentials, obj)
    # PUT, but not idempotent: every call creates another object.
    raw = yield Call(
        op("PUT", "/user/objects/{type}"),
        {"type_": obj.type, "body": Body({"meta": wire["meta"], "data": wire["data"]})},
        kind=Kind.UNSAFE,
        result="json",
    )
    return decrypt_object(raw, keystore)


def _edit_flow(credentials: _Credentials, obj: UserObject) -> Flow[UserObject]:
    from nai_sdk.content import decrypt_object

    if not obj.modified and obj.error is None and obj.raw is not None:
        return obj
    keystore, wire = yield from _prepare_upload(credentials, obj)
    body: dict[str, Any] = {"meta": wire["meta"], "data": wire["data"]}
    if obj.change_index is not None:
        body["changeIndex"] = obj.change_index
    try:
        raw = yield Call(
            op("PATCH", "/user/objects/{type}/{id}"),
            {"type_": obj.type, "id": obj.id, "body": Body(body)},
            kind=Kind.UNSAFE,
            result="json",
        )
    except ConflictError as conflict:
        conflict.local = obj
        try:
            remote_raw = yield Call(
                op("GET", "/user/objects/{type}/{id}"), {"type_": obj.type, "id": obj.id}, result="json"
            )
            conflict.remote = decrypt_object(remote_raw, keystore)
        except NovelAIError as exc:
            # Keep the conflict as the error; how fetching the remote version failed stays visible as its context.
            raise conflict from exc
        raise
    return decrypt_object(raw, keystore)


def _delete_flow(object_type: str, object_id: str) -> Flow[None]:
    yield Call(op("DELETE", "/user/objects/{type}/{id}"), {"type_": object_type, "id": object_id}, result="none")


def _new_story_flow(credentials: _Credentials, title: str, text: str) -> Flow[Story]:
    """A minimal story: content first (its id goes into the story's `remoteStoryId`), under one new meta."""
    from nai_sdk.content import UserObject

    keystore = yield from _keystore_flow(credentials)
    meta = keystore.new_meta()
    content = UserObject.new(
        "storycontent", {"storyContentVersion": 6, "story": {"fragments": [{"data": text}]}}, keystore, meta=meta
    )
    content = yield from _create_flow(credentials, content)
    story = UserObject.new(
        "stories",
        {"storyMetadataVersion": 1, "id": content.id, "remoteStoryId": content.id, "title": title},
        keystore,
        meta=meta,
    )
    story = yield from _create_flow(credentials, story)
    return Story(story=story, content=content)


class Storage(Resource):
    """The keystore and the user objects (`nai.storage`)."""

    def keystore(self, *, refresh: bool = False) -> Keystore:
        """The account keystore, opened with the in-memory encryption key (downloaded once, then cached).

        Raises:
            ConfigurationError: the client has no e-mail and password (a token cannot open the keystore).
            DecryptionError: the key does not open it.
        """
        return self._client._run(_keystore_flow(self._client._credentials, refresh))

    def save_keystore(self, keystore: Keystore) -> None:
        """Uploads the keystore (only a keystore that was opened, or created, can be saved)."""
        self._client._run(_save_keystore_flow(self._client._credentials, keystore))

    def objects(
        self, object_type: str, *, progress: Progress | None = None, page_size: int = OBJECT_PAGE_SIZE
    ) -> list[UserObject]:
        """Every object of a type, decrypted; an object that fails to decrypt has `ok` False and `error` set."""
        return self._client._run(_list_flow(self._client._credentials, object_type, progress, page_size))

    def get(self, object_type: str, object_id: str) -> UserObject:
        """One object, decrypted."""
        return self._client._run(_get_flow(self._client._credentials, object_type, object_id))

    def stories(self, *, progress: Progress | None = None, page_size: int = OBJECT_PAGE_SIZE) -> list[Story]:
        """Every story with its content (and through it, its document), decrypted."""
        return self._client._run(_stories_flow(self._client._credentials, progress, page_size))

    def download(
        self,
        types: Sequence[str] = ("stories", "storycontent", "aimodules", "presets", "shelf"),
        *,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
    ) -> dict[str, list[UserObject]]:
        """Every object of the given types, by type; `progress(type, downloaded, None)` after every page."""
        return self._client._run(_download_flow(self._client._credentials, types, progress, page_size))

    def create(self, obj: UserObject) -> UserObject:
        """Uploads a new object (from `UserObject.new`); NovelAI assigns its id.

        Returns:
            The object as stored (with its id and change index).
        """
        return self._client._run(_create_flow(self._client._credentials, obj))

    def edit(self, obj: UserObject) -> UserObject:
        """Uploads the changes of an object that was read (nothing is sent if it did not change).

        Returns:
            The object as stored (with its new change index).

        Raises:
            ConflictError: it changed on the server since it was read; `.local` is `obj`, `.remote` the server's.
            UploadRefusedError: `obj` failed to decrypt.
        """
        return self._client._run(_edit_flow(self._client._credentials, obj))

    def delete(self, object_type: str, object_id: str) -> None:
        """Deletes an object."""
        self._client._run(_delete_flow(object_type, object_id))

    def create_story(self, title: str, text: str = "") -> Story:
        """Creates a minimal story (metadata and content under a new keystore key)."""
        return self._client._run(_new_story_flow(self._client._credentials, title, text))


class AsyncStorage(AsyncResource):
    """The keystore and the user objects (`nai.storage` of `AsyncNovelAI`); see `Storage`."""

    async def keystore(self, *, refresh: bool = False) -> Keystore:
        """The account keystore (see `Storage.keystore`)."""
        return await self._client._run(_keystore_flow(self._client._credentials, refresh))

    async def save_keystore(self, keystore: Keystore) -> None:
        """Uploads the keystore."""
        await self._client._run(_save_keystore_flow(self._client._credentials, keystore))

    async def objects(
        self, object_type: str, *, progress: Progress | None = None, page_size: int = OBJECT_PAGE_SIZE
    ) -> list[UserObject]:
        """Every object of a type, decrypted."""
        return await self._client._run(_list_flow(self._client._credentials, object_type, progress, page_size))

    async def get(self, object_type: str, object_id: str) -> UserObject:
        """One object, decrypted."""
        return await self._client._run(_get_flow(self._client._credentials, object_type, object_id))

    async def stories(self, *, progress: Progress | None = None, page_size: int = OBJECT_PAGE_SIZE) -> list[Story]:
        """Every story with its content, decrypted."""
        return await self._client._run(_stories_flow(self._client._credentials, progress, page_size))

    async def download(
        self,
        types: Sequence[str] = ("stories", "storycontent", "aimodules", "presets", "shelf"),
        *,
        progress: Progress | None = None,
        page_size: int = OBJECT_PAGE_SIZE,
    ) -> dict[str, list[UserObject]]:
        """Every object of the given types, by type."""
        return await self._client._run(_download_flow(self._client._credentials, types, progress, page_size))

    async def create(self, obj: UserObject) -> UserObject:
        """Uploads a new object (see `Storage.create`)."""
        return await self._client._run(_create_flow(self._client._credentials, obj))

    async def edit(self, obj: UserObject) -> UserObject:
        """Uploads the changes of an object (see `Storage.edit`)."""
        return await self._client._run(_edit_flow(self._client._credentials, obj))

    async def delete(self, object_type: str, object_id: str) -> None:
        """Deletes an object."""
        await self._client._run(_delete_flow(object_type, object_id))

    async def create_story(self, title: str, text: str = "") -> Story:
        """Creates a minimal story."""
        return await self._client._run(_new_story_flow(self._client._credentials, title, text))

"""The account keystore as a client holds it: one cached copy per client, one lock, every write read-merge-write.

NovelAI stores the keystore as one opaque blob. Several devices write it (the web app, scripts, this SDK in many
threads or tasks), and a blind `PUT` of a copy that lacks another device's key makes that device's stories
unreadable for good. So, here:

* each client (and its `with_options` copies) has one `KeystoreState`: the cached `Keystore` and a `FairSemaphore`
  that serialises loading, adding keys and saving across threads and tasks;
* a save re-reads the server's keystore just before writing, merges it into the cache (`Keystore.merge`: the union
  of keys; one meta with two different keys is a `KeystoreConflictError` and nothing is written), sends the union
  with the `changeIndex` it read, and on a 409 (another device wrote in between) or a lost answer (a cut connection,
  a 5xx: the write may or may not have been made) reads, merges and tries again, a bounded number of times, after a
  jittered wait. A save with no new key writes nothing and sends nothing;
* before each write the server's previous answer is kept in the journal (`KeystoreJournal`), so a bad write can
  be undone;
* an answer that is missing, null, empty, of the wrong type or does not open counts as a new account only when the
  listings prove the account has no encrypted objects; otherwise it is refused, and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nai_client.api.objects import get_objects
from nai_client.api.user import get_keystore, set_keystore
from nai_client.models import GetKeystoreResponse, ObjectsResponse, UpdateKeystoreRequest
from nai_client.types import UNSET

from nai_sdk import _constants as c
from nai_sdk._locks import Acquire, FairSemaphore, Pause
from nai_sdk.errors import (
    APIConnectionError,
    CompressionError,
    ConfigurationError,
    ConflictError,
    DecryptionError,
    InternalServerError,
    KeystoreFormatError,
    ObjectFormatError,
    UnexpectedAnswerError,
)
from nai_sdk.resources._base import Flow, call

if TYPE_CHECKING:
    from nai_sdk.keystore import Keystore

__all__ = [
    "KeystoreJournal",
    "KeystoreState",
    "keystore_flow",
    "objects_page",
    "reencrypt_flow",
    "save_keystore_flow",
    "save_locked",
]


class KeystoreJournal:
    """A local directory that keeps the server's keystore answer from before each keystore write.

    Each entry is one JSON file (`{"keystore": ..., "changeIndex": ...}` as the server sent it, or the broken answer
    as it was) of mode 0600, in a 0700 folder per account named by a one-way tag of the encryption key. The
    keystore inside is encrypted as on the server: to undo a write, decrypt an entry's `keystore` and save it
    (`nai.storage.save_keystore(Keystore.decrypt(...))` merges its keys back).

    Args:
        directory: where to keep it; default `NAI_KEYSTORE_JOURNAL`, then `$XDG_STATE_HOME/nai-sdk/keystore-journal`
            (`~/.local/state/...` without XDG_STATE_HOME).
    """

    __slots__ = ("directory",)

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    @classmethod
    def resolve(
        cls, directory: str | os.PathLike[str] | bool | None, environ: Mapping[str, str]
    ) -> KeystoreJournal | None:
        """The journal a client keeps: argument, then environment, then the default; None when switched off.

        Raises:
            ConfigurationError: `directory` is True (pass a path, or None for the default).
        """
        if directory is False:
            return None
        if directory is True:
            raise ConfigurationError("keystore_journal takes a directory, None for the default, or False for none")
        if directory is None:
            configured = environ.get(c.ENV_KEYSTORE_JOURNAL, "").strip()
            if configured.lower() == "off":
                return None
            if configured:
                return cls(Path(configured).expanduser())
            state = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
            return cls(Path(state) / c.KEYSTORE_JOURNAL_DIR)
        return cls(Path(directory).expanduser())

    def record(self, account_tag: str, answer: Any) -> Path:
        """Keep one answer of `GET /user/keystore` (whatever it was) before it is overwritten.

        Returns:
            The file written.

        Raises:
            OSError: the journal cannot be written (the write of the keystore is then not attempted).
        """
        folder = self.directory / account_tag
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = folder / f"{stamp}-{secrets.token_hex(4)}.json"
        # O_EXCL with 0600 from the start: the file is never readable by others, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(answer, handle)
        return path

    def entries(self, account_tag: str) -> list[Path]:
        """The entries kept for one account, oldest first."""
        folder = self.directory / account_tag
        return sorted(folder.glob("*.json")) if folder.is_dir() else []

    def __repr__(self) -> str:
        return f"KeystoreJournal({str(self.directory)!r})"


class KeystoreState:
    """One client's keystore: the cached copy, the lock over it, and its journal.

    Shared by a client and its `with_options` copies, like the login. Hold `semaphore` (through `Acquire` in a flow)
    to load, add keys, or save.
    """

    __slots__ = ("journal", "keystore", "semaphore")

    def __init__(self, journal: KeystoreJournal | None) -> None:
        self.semaphore = FairSemaphore()
        self.keystore: Keystore | None = None
        self.journal = journal

    def __repr__(self) -> str:
        return f"<KeystoreState: {self.keystore!r}>"


def account_tag(encryption_key: bytes) -> str:
    """A short one-way name for the account of an encryption key (the journal's folder name)."""
    return hashlib.blake2b(encryption_key, digest_size=8, person=b"nai-sdk-journal").hexdigest()


def objects_page(answer: ObjectsResponse, object_type: str) -> list[Any]:
    """The objects of one page of `GET /user/objects/{type}`, each still to be checked on its own.

    Raises:
        ObjectFormatError: `objects` is not a list: a broken answer is never taken for an empty one.
    """
    page = answer.objects
    if not isinstance(page, list):
        raise ObjectFormatError(
            f"the listing of {object_type} is not {{'objects': [...]}} (objects is {type(page).__name__}); "
            "refusing to take it for an empty listing"
        )
    return page


def list_page(object_type: str, offset: int, limit: int, order: str = "asc") -> Flow[list[Any]]:
    """One page of `GET /user/objects/{type}`: the raw envelopes, in the order asked for."""
    answer = yield from call(get_objects.operation.bind(object_type, offset=offset, limit=limit, order=order))
    return objects_page(answer, object_type)


def _change_index(answer: GetKeystoreResponse) -> float | None:
    value: object = answer.change_index
    if value is UNSET or value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise KeystoreFormatError(f"the keystore changeIndex must be a finite number, not {value!r:.40}")
    return value


def _has_encrypted_objects() -> Flow[bool]:
    for object_type in c.ENCRYPTED_OBJECT_TYPES:
        if (yield from list_page(object_type, 0, 1)):
            return True
    return False


def _read_answer(key: bytes) -> Flow[tuple[Keystore | None, GetKeystoreResponse | None, Exception | None]]:
    """One `GET /user/keystore`: (the keystore if it opens, the answer if it parsed, what was wrong otherwise)."""
    from nai_sdk.keystore import Keystore

    try:
        answer = yield from call(get_keystore.operation.bind())
    except UnexpectedAnswerError as exc:
        # Not the shape the spec gives ({} or [] or ""): refused later unless the account is provably new.
        return None, None, KeystoreFormatError(f"the keystore answer is malformed ({exc})")
    _change_index(answer)
    field: object = answer.keystore
    if field is None or field == "":
        return None, answer, KeystoreFormatError("the account has no keystore (null or empty)")
    if not isinstance(field, str):
        return None, answer, KeystoreFormatError(f"the keystore field is a {type(field).__name__}, not a str")
    try:
        return Keystore.decrypt(field, key), answer, None
    except (KeystoreFormatError, CompressionError, DecryptionError) as exc:
        return None, answer, exc


def _read_server(key: bytes) -> Flow[tuple[Keystore, dict[str, Any], float | None, bool]]:
    """`GET /user/keystore`, strictly: (keystore, the answer as read, its changeIndex, whether it was usable).

    An answer that is absent or does not open gives an empty keystore, but only after the listings proved that the
    account holds no encrypted object; otherwise its error is raised. When the listings show objects, the keystore is
    read once more first: another device may have created the account's first keystore (and then its first object)
    between the two reads.
    """
    from nai_sdk.keystore import Keystore

    keystore, answer, problem = yield from _read_answer(key)
    if keystore is None and (yield from _has_encrypted_objects()):
        keystore, answer, problem = yield from _read_answer(key)
        if keystore is None:
            if isinstance(problem, DecryptionError):
                raise problem
            raise KeystoreFormatError(
                f"refusing the keystore answer ({problem}): the account holds encrypted objects, so this is not a new "
                "account, and writing a new keystore would make them unreadable. Nothing was written."
            ) from problem
    if answer is None:
        return Keystore.empty(), {"unreadable": str(problem)}, None, False
    return (keystore or Keystore.empty()), answer.to_dict(), _change_index(answer), keystore is not None


def _load_locked(state: KeystoreState, key: bytes) -> Flow[Keystore]:
    """Read the server's keystore into the cache (merged into it, if there is one). The semaphore is held."""
    server, answer, _, usable = yield from _read_server(key)
    cached = state.keystore
    if cached is None:
        state.keystore = server
        return server
    cached.merge(server)
    if usable:
        # Only marks it saved when the server holds every key the cache has.
        cached.mark_saved(answer["keystore"], key, len(server))
    return cached


def keystore_flow(state: KeystoreState, key: bytes, refresh: bool = False) -> Flow[Keystore]:
    """The cached keystore, loaded on first use; `refresh` merges the server's current keys into it."""
    cached = state.keystore
    if cached is not None and not refresh:
        return cached
    yield Acquire(state.semaphore)
    try:
        cached = state.keystore
        if cached is not None and not refresh:
            # Another thread or task loaded it while this one waited.
            return cached
        return (yield from _load_locked(state, key))
    finally:
        state.semaphore.release()


def save_locked(state: KeystoreState, key: bytes) -> Flow[None]:
    """Write the cache's new keys, read-merge-write (see the module). The semaphore is held."""
    cached = state.keystore
    if cached is None or not cached.changed:
        return
    for attempt in range(c.KEYSTORE_SAVE_ATTEMPTS):
        server, answer, change_index, usable = yield from _read_server(key)
        cached.merge(server)
        if usable and len(cached) == len(server):
            # The server already holds every key (another device, or an earlier attempt whose answer was lost).
            cached.mark_saved(answer["keystore"], key, len(server))
            return
        if state.journal is not None:
            state.journal.record(account_tag(key), answer)
        text, count = cached.seal(key)
        body = UpdateKeystoreRequest(keystore=text, change_index=UNSET if change_index is None else change_index)
        try:
            yield from call(set_keystore.operation.bind(body=body))
        except (ConflictError, APIConnectionError, InternalServerError):
            # 409: another device wrote since the read. A lost answer: the write may or may not have been made.
            # Either way the next round's read tells, and the merge makes writing again safe.
            if attempt + 1 == c.KEYSTORE_SAVE_ATTEMPTS:
                raise
            # Jittered and growing, so that two devices that keep colliding stop doing so in step.
            yield Pause(random.uniform(0, min(c.KEYSTORE_RETRY_WAIT_MAX, c.KEYSTORE_RETRY_WAIT * 2**attempt)))
            continue
        cached.mark_saved(text, key, count)
        return


def save_keystore_flow(state: KeystoreState, key: bytes, keystore: Keystore | None = None) -> Flow[None]:
    """Save the cache (first merging `keystore` into it, when another copy is given) under the semaphore."""
    yield Acquire(state.semaphore)
    try:
        if state.keystore is None:
            yield from _load_locked(state, key)
        cached = state.keystore
        assert cached is not None
        if keystore is not None:
            # A copy the caller built or kept: its keys join the cache (a conflicting key is refused here).
            cached.merge(keystore)
        yield from save_locked(state, key)
    finally:
        state.semaphore.release()


def reencrypt_flow(state: KeystoreState, old_key: bytes, new_key: bytes, change: Flow[None]) -> Flow[None]:
    """Run `change` (which switches the account to `new_key`), then write the keystore back under `new_key`.

    The keystore is read strictly with `old_key` first (a broken one stops everything before `change` runs), merged
    with the cache, and journaled; the lock is held throughout, so no other write can slip in between.
    """
    yield Acquire(state.semaphore)
    try:
        server, answer, change_index, usable = yield from _read_server(old_key)
        cached = state.keystore
        if cached is None:
            cached = state.keystore = server
        else:
            cached.merge(server)
        yield from change
        if not usable and not len(cached):
            # A new account with no keystore: nothing to carry over.
            return
        if state.journal is not None:
            state.journal.record(account_tag(old_key), answer)
        text, count = cached.seal(new_key)
        body = UpdateKeystoreRequest(keystore=text, change_index=UNSET if change_index is None else change_index)
        yield from call(set_keystore.operation.bind(body=body))
        cached.mark_saved(text, new_key, count)
    finally:
        state.semaphore.release()

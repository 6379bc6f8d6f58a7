"""Backups of a NovelAI account on disk: their format, and checking one without any network (`verify_backup`).

`nai.storage.backup(path)` writes, into a folder of its own:

    manifest.json                          written last: a folder without it is an incomplete backup
    keystore.json                          the answer of GET /user/keystore, byte for byte
    objects/<type>/<n>-<id>.json           each object's envelope as the listing sent it, byte for byte

Nothing is decrypted or re-encoded: an object's `data` is the server's ciphertext (plain JSON for presets and
shelves), so restoring it gives the server back exactly what it held. The manifest lists every file with its
sha256, and every object with its type, id, meta, `changeIndex` and `lastUpdatedAt`. Files are 0600, folders
0700: the data is encrypted, but the metadata and the presets are not.

`verify_backup(path, encryption_key)` checks that every file is there with its sha256, that the keystore opens
with the account's encryption key, and that every encrypted object decrypts with the backup's own keystore. It
never raises for a bad object or a missing file: it lists every failure in its report.

This module does no HTTP; `nai_sdk.resources._backup` makes and restores backups through a client.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import attrs

from nai_sdk._json import loads_strict
from nai_sdk.errors import CryptoError, FormatError, KeystoreFormatError, ObjectFormatError

__all__ = [
    "BACKUP_FORMAT",
    "BACKUP_FORMAT_VERSION",
    "BACKUP_PAGE_BYTES",
    "BACKUP_TYPES",
    "KEYSTORE_FILE",
    "MANIFEST_FILE",
    "OBJECTS_FOLDER",
    "RESTORE_ORDER",
    "BackupError",
    "BackupObject",
    "KeystoreRecord",
    "ListedObject",
    "Manifest",
    "RestoreReport",
    "RestoredObject",
    "VerifyFailure",
    "VerifyReport",
    "check_envelope",
    "keystore_field",
    "object_file",
    "parse_listing",
    "raw_fingerprint",
    "read_checked",
    "read_manifest",
    "verify_backup",
]

#: The `format` field of every manifest.
BACKUP_FORMAT: Final = "nai-sdk-backup"
#: The manifest layout written here; a manifest of a later version is refused rather than misread.
BACKUP_FORMAT_VERSION: Final = 1
MANIFEST_FILE: Final = "manifest.json"
KEYSTORE_FILE: Final = "keystore.json"
OBJECTS_FOLDER: Final = "objects"
#: The order a backup lists the types in: stories before their content, so that a story created during the
#: backup is at worst present without its story object (harmless), never a story whose content is missing.
BACKUP_TYPES: Final = ("stories", "storycontent", "aimodules", "presets", "shelf")
#: The order a restore puts them back in: a story's content first, so that the story can point at its new id.
RESTORE_ORDER: Final = ("storycontent", "stories", "aimodules", "presets", "shelf")
#: Bytes a listing page of a backup aims at (or the largest object seen so far, if bigger): pages are sized by
#: what their objects weigh, so memory follows the largest object rather than the size of the account.
BACKUP_PAGE_BYTES: Final = 1 << 20

_ENCRYPTED = frozenset({"stories", "storycontent", "aimodules"})
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OBJECT_FILE = re.compile(r"objects/(stories|storycontent|aimodules|presets|shelf)/[A-Za-z0-9_-]{1,80}\.json")


class BackupError(FormatError):
    """A backup folder that cannot be used: no manifest, an unreadable one, or a damaged keystore file."""


# --- the manifest ---------------------------------------------------------------------------------------------


@attrs.frozen
class BackupObject:
    """One object of a backup, as the manifest lists it.

    Attributes:
        type: its object type.
        id: its id on the server it was backed up from.
        meta: its meta (the keystore entry of its key, for encrypted types).
        change_index: its `changeIndex` then.
        last_updated_at: its `lastUpdatedAt` then.
        file: its file, relative to the backup folder.
        sha256: the sha256 of that file, in hex.
        size: the size of that file, in bytes.
    """

    type: str
    id: str
    meta: str | None
    change_index: int | float | None
    last_updated_at: int | float | None
    file: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        """The manifest entry."""
        return {
            "type": self.type,
            "id": self.id,
            "meta": self.meta,
            "changeIndex": self.change_index,
            "lastUpdatedAt": self.last_updated_at,
            "file": self.file,
            "sha256": self.sha256,
            "size": self.size,
        }


@attrs.frozen
class KeystoreRecord:
    """The keystore file of a backup.

    Attributes:
        file: its name in the backup folder.
        sha256: the sha256 of that file, in hex.
        size: its size in bytes.
        change_index: the keystore's `changeIndex` on the server then (None when the server sent none).
    """

    file: str
    sha256: str
    size: int
    change_index: int | float | None

    def to_json(self) -> dict[str, Any]:
        """The manifest entry."""
        return {"file": self.file, "sha256": self.sha256, "size": self.size, "changeIndex": self.change_index}


@attrs.frozen
class Manifest:
    """What a backup holds (`manifest.json`).

    Attributes:
        created_at: when the backup finished (ISO 8601, UTC).
        sdk_version: the nai-sdk version that wrote it.
        keystore: the keystore file.
        objects: every object, in the order they were listed.
        format_version: `BACKUP_FORMAT_VERSION` of the writer.
    """

    created_at: str
    sdk_version: str
    keystore: KeystoreRecord
    objects: tuple[BackupObject, ...]
    format_version: int = BACKUP_FORMAT_VERSION

    def counts(self) -> dict[str, int]:
        """How many objects of each type (every type, zeros included)."""
        counts = dict.fromkeys(BACKUP_TYPES, 0)
        for entry in self.objects:
            counts[entry.type] = counts.get(entry.type, 0) + 1
        return counts

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON."""
        return {
            "format": BACKUP_FORMAT,
            "formatVersion": self.format_version,
            "createdAt": self.created_at,
            "sdkVersion": self.sdk_version,
            "keystore": self.keystore.to_json(),
            "counts": self.counts(),
            "objects": [entry.to_json() for entry in self.objects],
        }


def _field(record: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = record.get(name)
    # bool is an int: a manifest number is never true or false.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BackupError(f"{where}: {name!r} is missing or not a {kind.__name__}")
    return value


def _number(record: dict[str, Any], name: str, where: str) -> int | float | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BackupError(f"{where}: {name!r} is not a number")
    return value


def _hash(record: dict[str, Any], where: str) -> str:
    value = _field(record, "sha256", str, where)
    if not _SHA256.fullmatch(value):
        raise BackupError(f"{where}: 'sha256' is not 64 lower-case hex digits")
    return str(value)


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and check the manifest of the backup in folder `path`.

    Raises:
        BackupError: there is no manifest (an incomplete backup, or not a backup), or it is not one this version
            reads: not JSON, a field missing or of the wrong type, a file name outside the backup folder.
    """
    file = Path(path) / MANIFEST_FILE
    try:
        content = file.read_bytes()
    except FileNotFoundError:
        raise BackupError(
            f"{file} does not exist: {path} is not a backup, or one that did not finish (the manifest is written last)"
        ) from None
    except OSError as exc:
        raise BackupError(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        data = loads_strict(content, BackupError, "the manifest")
    except BackupError as exc:
        raise BackupError(f"{file}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT:
        raise BackupError(f"{file} is not a nai-sdk backup manifest (no 'format': {BACKUP_FORMAT!r})")
    version = _field(data, "formatVersion", int, "the manifest")
    if version > BACKUP_FORMAT_VERSION:
        raise BackupError(
            f"the backup has format version {version}: it was made by a later nai-sdk; upgrade to read it"
        )
    keystore = data.get("keystore")
    where = "the manifest's keystore"
    if not isinstance(keystore, dict) or keystore.get("file") != KEYSTORE_FILE:
        raise BackupError(f"{where} is missing or does not name {KEYSTORE_FILE}")
    record = KeystoreRecord(
        file=KEYSTORE_FILE,
        sha256=_hash(keystore, where),
        size=_field(keystore, "size", int, where),
        change_index=_number(keystore, "changeIndex", where),
    )
    listed = data.get("objects")
    if not isinstance(listed, list):
        raise BackupError("the manifest's 'objects' is not a list")
    objects = []
    for index, item in enumerate(listed):
        where = f"object {index} of the manifest"
        if not isinstance(item, dict):
            raise BackupError(f"{where} is not a JSON object")
        object_type = _field(item, "type", str, where)
        name = _field(item, "file", str, where)
        # Only names this module writes: a manifest can never make a restore read a file outside its backup.
        if object_type not in BACKUP_TYPES or not _OBJECT_FILE.fullmatch(name) or name.split("/")[1] != object_type:
            raise BackupError(f"{where}: type {object_type!r:.40} or file {name!r:.120} is not one a backup writes")
        meta = item.get("meta")
        if meta is not None and not isinstance(meta, str):
            raise BackupError(f"{where}: 'meta' is not a string")
        objects.append(
            BackupObject(
                type=object_type,
                id=_field(item, "id", str, where),
                meta=meta,
                change_index=_number(item, "changeIndex", where),
                last_updated_at=_number(item, "lastUpdatedAt", where),
                file=name,
                sha256=_hash(item, where),
                size=_field(item, "size", int, where),
            )
        )
    return Manifest(
        created_at=_field(data, "createdAt", str, "the manifest"),
        sdk_version=_field(data, "sdkVersion", str, "the manifest"),
        keystore=record,
        objects=tuple(objects),
        format_version=version,
    )


def object_file(object_type: str, number: int, object_id: str) -> str:
    """The file of the `number`-th object of a type in a backup, relative to the backup folder.

    The number keeps two ids that differ only in case apart on file systems that ignore case; an id that is not
    NovelAI's URL-safe alphabet is left out of the name (the manifest maps every file to its id).
    """
    name = f"{number:06d}-{object_id}" if _SAFE_ID.fullmatch(object_id) else f"{number:06d}"
    return f"{OBJECTS_FOLDER}/{object_type}/{name}.json"


# --- reading a listing byte for byte --------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]} is beyond the range of a 64-bit float")
    return value


# Strict as every other answer is read (no NaN, no overflowing numbers); raw_decode also gives where a value ends.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
_WHITESPACE = re.compile(r"[ \t\n\r]*")


@attrs.frozen
class ListedObject:
    """One object of a listing page: its envelope's fields, and its bytes exactly as the server sent them.

    Attributes:
        id: the object's id.
        meta: its meta (None when the envelope has none).
        data: its `data` field (the ciphertext, base64).
        change_index: its `changeIndex`.
        last_updated_at: its `lastUpdatedAt`.
        raw: the envelope's JSON text, byte for byte (a view into the page).
    """

    id: str
    meta: str | None
    data: str
    change_index: int | float | None
    last_updated_at: int | float | None
    raw: bytes | memoryview = attrs.field(eq=False)


def check_envelope(value: Any, object_type: str, where: str) -> dict[str, Any]:
    """An object envelope, checked for what a backup and a restore rely on.

    Raises:
        ObjectFormatError: not a JSON object; no non-empty str `id`; no str `data`; a `type` other than
            `object_type`; a `meta` that is not a str or null; a `changeIndex` or `lastUpdatedAt` that is not a number.
    """
    if not isinstance(value, dict):
        raise ObjectFormatError(f"{where} is a {type(value).__name__}, not an object envelope")
    object_id = value.get("id")
    if not isinstance(object_id, str) or not object_id:
        raise ObjectFormatError(f"{where} has no str 'id'")
    if not isinstance(value.get("data"), str):
        raise ObjectFormatError(f"{where} (id {object_id!r:.40}) has no str 'data'")
    if value.get("type", object_type) != object_type:
        raise ObjectFormatError(f"{where} (id {object_id!r:.40}) is of type {value.get('type')!r:.40}")
    meta = value.get("meta")
    if meta is not None and not isinstance(meta, str):
        raise ObjectFormatError(f"{where} (id {object_id!r:.40}) has a 'meta' that is not a str")
    for name in ("changeIndex", "lastUpdatedAt"):
        number = value.get(name)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int | float)):
            raise ObjectFormatError(f"{where} (id {object_id!r:.40}) has a {name!r} that is not a number")
    return value


def _skip(text: str, position: int) -> int:
    end: int = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]  # matches even nothing
    return end


def _expect(text: str, position: int, char: str, what: str) -> int:
    position = _skip(text, position)
    if text[position : position + 1] != char:
        raise ValueError(f"expected {char!r} {what} at character {position}")
    return position + 1


def _spans(text: str) -> Iterator[tuple[int, int, Any]]:
    """(start, end, value) of each element of the top-level `objects` array of `text`, checking the whole text."""
    position = _expect(text, 0, "{", "at the start")
    found = False
    position = _skip(text, position)
    if text[position : position + 1] == "}":
        position += 1
    else:
        while True:
            position = _skip(text, position)
            key, position = _DECODER.raw_decode(text, position)
            if not isinstance(key, str):
                raise ValueError(f"expected a key at character {position}")
            position = _skip(text, _expect(text, position, ":", "after a key"))
            if key == "objects":
                if found:
                    raise ValueError("'objects' appears twice")
                found = True
                if text[position : position + 1] != "[":
                    raise ValueError("'objects' is not an array")
                position = _skip(text, position + 1)
                if text[position : position + 1] == "]":
                    position += 1
                else:
                    while True:
                        position = _skip(text, position)
                        value, end = _DECODER.raw_decode(text, position)
                        yield position, end, value
                        position = _skip(text, end)
                        if text[position : position + 1] == ",":
                            position += 1
                            continue
                        position = _expect(text, position, "]", "after an element")
                        break
            else:
                _, position = _DECODER.raw_decode(text, position)
            position = _skip(text, position)
            if text[position : position + 1] == ",":
                position += 1
                continue
            position = _expect(text, position, "}", "after a value")
            break
    if _skip(text, position) != len(text):
        raise ValueError(f"extra data at character {position}")
    if not found:
        raise ValueError("no 'objects' field")


def parse_listing(content: bytes, object_type: str) -> list[ListedObject]:
    """Every object of one page of `GET /user/objects/{type}`, with the exact bytes of its envelope.

    The whole page is checked before anything is returned, and only the envelopes' small fields are kept: each
    object's `raw` is a view into `content`, not a copy.

    Args:
        content: the answer's body, as received.
        object_type: the type listed.

    Raises:
        ObjectFormatError: the page is not `{"objects": [...]}` in strict JSON, or an element is not an envelope
            (see `check_envelope`). A broken page is never taken for a short one.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ObjectFormatError(f"the listing of {object_type} is not UTF-8 (byte {exc.start})") from None
    view = memoryview(content)
    ascii_only = len(text) == len(content)
    char_at = byte_at = 0
    listed = []
    try:
        for index, (start, end, value) in enumerate(_spans(text)):
            envelope = check_envelope(value, object_type, f"object {index} of the listing of {object_type}")
            if ascii_only:
                first, last = start, end
            else:
                # Character offsets to byte offsets, encoding each stretch of the page once.
                byte_at += len(text[char_at:start].encode("utf-8"))
                first = byte_at
                byte_at += len(text[start:end].encode("utf-8"))
                char_at, last = end, byte_at
            listed.append(
                ListedObject(
                    id=envelope["id"],
                    meta=envelope.get("meta"),
                    data=envelope["data"],
                    change_index=envelope.get("changeIndex"),
                    last_updated_at=envelope.get("lastUpdatedAt"),
                    raw=view[first:last],
                )
            )
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ObjectFormatError):
            raise
        raise ObjectFormatError(
            f"the listing of {object_type} is not {{'objects': [...]}} in JSON ({exc}); refusing to take it for a "
            "short or empty one"
        ) from None
    return listed


def raw_fingerprint(object_type: str, meta: str | None, data: str) -> str:
    """What identifies an object's stored content, whatever its id: sha256 of its type, meta and `data`."""
    digest = hashlib.sha256()
    for part in (object_type, meta or "", data):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


# --- reports --------------------------------------------------------------------------------------------------


@attrs.frozen
class RestoredObject:
    """What a restore did with one object of the backup.

    Attributes:
        type: the object type.
        backup_id: its id in the backup.
        server_id: its id on the server now (the new id of an object created again; None when it failed).
        reason: why it was skipped or failed ("" for objects created or overwritten).
    """

    type: str
    backup_id: str
    server_id: str | None
    reason: str = ""


@attrs.frozen
class RestoreReport:
    """The outcome of `storage.restore`, one entry per object of the backup.

    Attributes:
        created: objects the server did not hold, created again (under new ids: NovelAI assigns them).
        overwritten: objects the server held under the same id, written over with the backup's version.
        skipped: objects the server already holds (same id, or the same content under another id).
        failed: objects that could not be restored, with the reason.
    """

    created: tuple[RestoredObject, ...] = ()
    overwritten: tuple[RestoredObject, ...] = ()
    skipped: tuple[RestoredObject, ...] = ()
    failed: tuple[RestoredObject, ...] = ()

    @property
    def ok(self) -> bool:
        """Nothing failed."""
        return not self.failed


@attrs.frozen
class VerifyFailure:
    """One problem `verify_backup` found.

    Attributes:
        file: the file concerned, relative to the backup folder.
        type: the object type ("keystore" for the keystore).
        id: the object's id ("" for the keystore).
        reason: what is wrong.
    """

    file: str
    type: str
    id: str
    reason: str


@attrs.frozen
class VerifyReport:
    """The outcome of `verify_backup`.

    Attributes:
        checked: how many files were checked (the keystore and every object).
        failures: every problem found, in the manifest's order.
        manifest: the backup's manifest.
    """

    checked: int
    failures: tuple[VerifyFailure, ...]
    manifest: Manifest

    @property
    def ok(self) -> bool:
        """Every file is there, intact, and every encrypted object decrypts."""
        return not self.failures


# --- verify ---------------------------------------------------------------------------------------------------


def read_checked(root: Path, name: str, sha256: str, size: int) -> bytes:
    """A file of a backup, checked against its manifest entry.

    Raises:
        BackupError: it is missing, unreadable, or not what the manifest says (its size or sha256 differ).
    """
    try:
        content = (root / name).read_bytes()
    except FileNotFoundError:
        raise BackupError("the file is missing") from None
    except OSError as exc:
        raise BackupError(f"the file cannot be read: {exc.strerror or exc}") from None
    if len(content) != size:
        raise BackupError(f"the file has {len(content)} bytes, the manifest says {size}")
    if hashlib.sha256(content).hexdigest() != sha256:
        raise BackupError("the file's sha256 differs from the manifest's: it was changed or damaged")
    return content


def keystore_field(content: bytes) -> str | None:
    """The `keystore` field of a backed-up `GET /user/keystore` answer (None or "" when the account had none).

    Raises:
        KeystoreFormatError: the answer is not a JSON object with a str or null `keystore`.
    """
    answer = loads_strict(content, KeystoreFormatError, "the keystore answer")
    if not isinstance(answer, dict):
        raise KeystoreFormatError(f"the keystore answer is a {type(answer).__name__}, not a JSON object")
    field = answer.get("keystore")
    if field is not None and not isinstance(field, str):
        raise KeystoreFormatError(f"the keystore field is a {type(field).__name__}, not a str")
    return field


def verify_backup(path: str | os.PathLike[str], encryption_key: bytes) -> VerifyReport:
    """Check a backup without any network: every file against the manifest, every object against the keystore.

    Each file must exist with the size and sha256 the manifest gives; the keystore must open with
    `encryption_key`; every object must be an envelope of the id and type the manifest gives; every encrypted
    object must decrypt with the backup's keystore, and plain ones (presets, shelves) must read.

    Args:
        path: the backup folder.
        encryption_key: the account's encryption key (`nai_sdk.crypto.encryption_key(email, password)`).

    Returns:
        The report, listing every failure; an object that fails never stops the others being checked.

    Raises:
        BackupError: the manifest is missing or unreadable (nothing else can be checked without it).
    """
    from nai_sdk.content import decrypt_object
    from nai_sdk.keystore import Keystore

    root = Path(path)
    manifest = read_manifest(root)
    failures: list[VerifyFailure] = []
    keystore: Keystore | None = None
    record = manifest.keystore
    try:
        field = keystore_field(read_checked(root, record.file, record.sha256, record.size))
        keystore = Keystore.decrypt(field or None, encryption_key)
    except (BackupError, CryptoError, FormatError) as exc:
        failures.append(VerifyFailure(record.file, "keystore", "", f"{type(exc).__name__}: {exc}"))
    for entry in manifest.objects:

        def fail(reason: str, entry: BackupObject = entry) -> None:
            failures.append(VerifyFailure(entry.file, entry.type, entry.id, reason))

        try:
            content = read_checked(root, entry.file, entry.sha256, entry.size)
            envelope = check_envelope(
                loads_strict(content, ObjectFormatError, "the object file"), entry.type, "the object file"
            )
        except (BackupError, FormatError) as exc:
            fail(f"{type(exc).__name__}: {exc}")
            continue
        if envelope["id"] != entry.id or envelope.get("meta") != entry.meta:
            fail("the file holds another object than the manifest says (its id or meta differ)")
            continue
        encrypted = entry.type in _ENCRYPTED
        if encrypted and keystore is None:
            fail("not checked: the backup's keystore did not open")
            continue
        envelope.setdefault("type", entry.type)
        obj = decrypt_object(envelope, keystore if encrypted else None)
        if obj.error is not None:
            fail(f"{type(obj.error).__name__}: {obj.error}")
    return VerifyReport(checked=1 + len(manifest.objects), failures=tuple(failures), manifest=manifest)

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

This module does no HTTP; `nai.storage.backup` and `restore` make and restore backups through a client.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Final

import attrs

from nai_sdk._constants import MAX_JSON_DEPTH
from nai_sdk._json import loads_strict
from nai_sdk.errors import BackupError, CryptoError, FormatError, KeystoreFormatError, ObjectFormatError

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
    "keystore_answer",
    "object_file",
    "parse_listing",
    "raw_fingerprint",
    "read_checked",
    "read_manifest",
    "verify_backup",
]

BACKUP_FORMAT: Final = "nai-sdk-backup"
"""The `format` field of every manifest."""
BACKUP_FORMAT_VERSION: Final = 1
"""The manifest layout written here; a manifest of a later version is refused rather than misread."""
MANIFEST_FILE: Final = "manifest.json"
"""The manifest's file name, in the backup folder."""
KEYSTORE_FILE: Final = "keystore.json"
"""The file of the server's keystore answer, byte for byte, in the backup folder."""
OBJECTS_FOLDER: Final = "objects"
"""The folder of the object files (one sub-folder per type), in the backup folder."""
BACKUP_TYPES: Final = ("stories", "storycontent", "aimodules", "presets", "shelf")
"""The order a backup lists the types in: stories before their content, so that a story created during the backup is
at worst present without its story object (harmless), never a story whose content is missing."""
RESTORE_ORDER: Final = ("storycontent", "stories", "aimodules", "presets", "shelf")
"""The order a restore puts them back in: a story's content first, so that the story can point at its new id."""
BACKUP_PAGE_BYTES: Final = 1 << 20
"""Bytes a listing page of a backup aims at (or the largest object seen so far, if bigger): pages are sized by what
their objects weigh, so memory follows the largest object rather than the size of the account."""

_ENCRYPTED = frozenset({"stories", "storycontent", "aimodules"})
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OBJECT_FILE = re.compile(r"objects/(stories|storycontent|aimodules|presets|shelf)/[A-Za-z0-9_-]{1,80}\.json")


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
#
# A listing page is scanned as bytes, with regular expressions for the tokens and an explicit stack for nesting:
# the page is never decoded into one str, and an object's `data` (all but a few bytes of it) is never copied. Only
# the envelope's small fields are decoded. The grammar is JSON's, as strict as every other answer is read: no NaN,
# no number that overflows a float, no control character in a string, UTF-8 only, nesting bounded.

_WS = re.compile(rb"[ \t\n\r]*")
_STRING = re.compile(rb'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"')
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_LITERAL = re.compile(rb"true|false|null")
# Python refuses to read integers longer than this (sys.int_info.default_max_str_digits); so does a restore.
_MAX_DIGITS = 4300
_UTF8_CHUNK = 1 << 16


class _Bad(ValueError):
    """The page is not JSON, or not a listing; the message says where."""


class _Scanner:
    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data

    def skip(self, at: int) -> int:
        end: int = _WS.match(self.data, at).end()  # type: ignore[union-attr]  # matches even nothing
        return end

    def byte(self, at: int) -> bytes:
        return bytes(self.data[at : at + 1])

    def expect(self, at: int, char: bytes, what: str) -> int:
        at = self.skip(at)
        if self.byte(at) != char:
            raise _Bad(f"expected {char.decode()!r} {what} at byte {at}")
        return at + 1

    def string(self, at: int) -> int:
        found = _STRING.match(self.data, at)
        if found is None:
            raise _Bad(f"expected a string at byte {at}")
        return found.end()

    def scalar(self, at: int) -> int:
        """The end of the string, number or literal at `at`."""
        if self.byte(at) == b'"':
            return self.string(at)
        found = _NUMBER.match(self.data, at) or _LITERAL.match(self.data, at)
        if found is None:
            raise _Bad(f"expected a value at byte {at}")
        if found.re is _NUMBER:
            if found.group(1) is None and found.group(2) is None:
                if found.end() - at > _MAX_DIGITS:
                    raise _Bad(f"an integer of more than {_MAX_DIGITS} digits at byte {at}")
            elif not math.isfinite(float(found.group())):
                raise _Bad(f"a number beyond the range of a 64-bit float at byte {at}")
        return found.end()

    def key(self, at: int) -> tuple[int, int]:
        """(start, end) of the key at `at` (after whitespace), and the position after its colon."""
        start = self.skip(at)
        end = self.string(start)
        return start, self.expect(end, b":", "after a key")

    def value(self, at: int) -> tuple[int, int]:
        """(start, end) of the JSON value at `at` (after whitespace), its grammar checked without recursion."""
        start = at = self.skip(at)
        closers: list[bytes] = []
        while True:
            opener = self.byte(at)
            if opener in (b"{", b"["):
                if len(closers) >= MAX_JSON_DEPTH:
                    raise _Bad(f"nested more than {MAX_JSON_DEPTH} levels deep at byte {at}")
                closer = b"}" if opener == b"{" else b"]"
                at = self.skip(at + 1)
                if self.byte(at) == closer:
                    at += 1
                else:
                    closers.append(closer)
                    if closer == b"}":
                        at = self.key(at)[1]
                    at = self.skip(at)
                    continue
            else:
                at = self.scalar(at)
            # A value ended: close what it ends, or go on to the next member or element.
            while closers:
                at = self.skip(at)
                if self.byte(at) == b",":
                    at += 1
                    if closers[-1] == b"}":
                        at = self.key(at)[1]
                    at = self.skip(at)
                    break
                if self.byte(at) != closers[-1]:
                    raise _Bad(f"expected ',' or {closers[-1].decode()!r} at byte {at}")
                closers.pop()
                at += 1
            else:
                return start, at

    def decode(self, start: int, end: int) -> Any:
        """One scalar, decoded (a key, an id, a meta, a number: small)."""
        return json.loads(self.data[start:end])


def _check_utf8(content: bytes | bytearray) -> None:
    if content.isascii():
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(content)
    try:
        for start in range(0, len(content), _UTF8_CHUNK):
            decoder.decode(view[start : start + _UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _Bad("the page is not UTF-8") from exc


@attrs.frozen
class ListedObject:
    """One object of a listing page: its envelope's small fields, and its bytes exactly as the server sent them.

    Attributes:
        id: the object's id.
        meta: its meta (None when the envelope has none).
        change_index: its `changeIndex`.
        last_updated_at: its `lastUpdatedAt`.
        raw: the envelope's JSON text, byte for byte (a view into the page, not a copy).
        data_token: its `data` string as a JSON token, quotes included (a view too).
    """

    id: str
    meta: str | None
    change_index: int | float | None
    last_updated_at: int | float | None
    raw: memoryview = attrs.field(eq=False)
    data_token: memoryview = attrs.field(eq=False, repr=False)

    @property
    def data(self) -> str:
        """The `data` field, decoded (a copy: only for what needs it)."""
        value: str = json.loads(bytes(self.data_token))
        return value


def _envelope(scan: _Scanner, view: memoryview, start: int, object_type: str, where: str) -> tuple[ListedObject, int]:
    """The envelope at `start` (after whitespace), read field by field, and where it ends."""
    if scan.byte(start) != b"{":
        # Not an object: say what it is, as check_envelope would.
        raise ObjectFormatError(f"{where} is not an object envelope")
    fields: dict[str, Any] = {}
    data: tuple[int, int] | None = None
    at = scan.skip(start + 1)
    if scan.byte(at) != b"}":
        while True:
            key_start, at = scan.key(at)
            name = scan.decode(key_start, scan.string(key_start))
            value_start, at = scan.value(at)
            if name == "data":
                data = (value_start, at) if scan.byte(value_start) == b'"' else None
            elif name in ("id", "type", "meta", "changeIndex", "lastUpdatedAt"):
                is_scalar = scan.byte(value_start) not in (b"{", b"[")
                fields[name] = scan.decode(value_start, at) if is_scalar else []
            at = scan.skip(at)
            if scan.byte(at) == b",":
                at += 1
                continue
            at = scan.expect(at, b"}", "after a member")
            break
    else:
        at += 1
    check_envelope({**fields, "data": "" if data is not None else None}, object_type, where)
    assert data is not None  # check_envelope refuses an envelope whose data is not a string
    listed = ListedObject(
        id=fields["id"],
        meta=fields.get("meta"),
        change_index=fields.get("changeIndex"),
        last_updated_at=fields.get("lastUpdatedAt"),
        raw=view[start:at],
        data_token=view[data[0] : data[1]],
    )
    return listed, at


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


def parse_listing(content: bytes | bytearray, object_type: str) -> list[ListedObject]:
    """Every object of one page of `GET /user/objects/{type}`, with the exact bytes of its envelope.

    The whole page is checked before anything is returned. Nothing big is copied: each object's `raw` is a view
    into `content`, and its `data` is decoded only when asked for.

    Args:
        content: the answer's body, as received.
        object_type: the type listed.

    Raises:
        ObjectFormatError: the page is not `{"objects": [...]}` in strict JSON, or an element is not an envelope
            (see `check_envelope`). A broken page is never taken for a short one.
    """
    scan = _Scanner(content)
    view = memoryview(content)
    listed: list[ListedObject] = []
    found = False
    try:
        _check_utf8(content)
        at = scan.expect(0, b"{", "at the start")
        at = scan.skip(at)
        if scan.byte(at) == b"}":
            at += 1
        else:
            while True:
                key_start, at = scan.key(at)
                at = scan.skip(at)
                if scan.decode(key_start, scan.string(key_start)) != "objects":
                    at = scan.value(at)[1]
                elif found:
                    raise _Bad("'objects' appears twice")
                elif scan.byte(at) != b"[":
                    raise _Bad("'objects' is not an array")
                else:
                    found = True
                    at = scan.skip(at + 1)
                    if scan.byte(at) == b"]":
                        at += 1
                    else:
                        while True:
                            where = f"object {len(listed)} of the listing of {object_type}"
                            obj, at = _envelope(scan, view, scan.skip(at), object_type, where)
                            listed.append(obj)
                            at = scan.skip(at)
                            if scan.byte(at) == b",":
                                at += 1
                                continue
                            at = scan.expect(at, b"]", "after an element")
                            break
                at = scan.skip(at)
                if scan.byte(at) == b",":
                    at += 1
                    continue
                at = scan.expect(at, b"}", "after a member")
                break
        if scan.skip(at) != len(content):
            raise _Bad(f"extra data at byte {at}")
        if not found:
            raise _Bad("no 'objects' field")
    except _Bad as exc:
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


def keystore_answer(content: bytes) -> tuple[str | None, int | float | None]:
    """The `keystore` field and the `changeIndex` of a `GET /user/keystore` answer, read once.

    Returns:
        The field (None or "" when the account has no keystore) and the change index (None when absent).

    Raises:
        KeystoreFormatError: the answer is not a JSON object with a str or null `keystore` and a numeric or absent
            `changeIndex`.
    """
    answer = loads_strict(content, KeystoreFormatError, "the keystore answer")
    if not isinstance(answer, dict):
        raise KeystoreFormatError(f"the keystore answer is a {type(answer).__name__}, not a JSON object")
    field = answer.get("keystore")
    if field is not None and not isinstance(field, str):
        raise KeystoreFormatError(f"the keystore field is a {type(field).__name__}, not a str")
    change_index = answer.get("changeIndex")
    if change_index is not None and (isinstance(change_index, bool) or not isinstance(change_index, int | float)):
        raise KeystoreFormatError(f"the keystore changeIndex is not a number: {change_index!r:.40}")
    return field, change_index


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
        field, _ = keystore_answer(read_checked(root, record.file, record.sha256, record.size))
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

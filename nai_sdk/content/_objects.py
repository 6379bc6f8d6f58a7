"""User-data objects: stories, story content, AI modules (encrypted), presets and shelves (plain); docs/formats.md §3.

`decrypt_object` turns one element of `GET /user/objects/{type}` into a `UserObject`; `encrypt_object` turns a
`UserObject` back into the wire form for upload. Reading never raises for a bad payload: the object carries the
error, keeps the original envelope, and refuses to be uploaded, so a bad item cannot destroy anything. What
reading may cost is bounded: a compressed payload inflates to at most `max_inflated_size` bytes, and all the
payloads of one listing to at most `max_inflated_total` (docs/limits.md).

An object that was not modified is written back with its original bytes, exactly as read (so its JSON spelling,
unknown fields and compression survive untouched). A modified object is serialised compactly, the way JavaScript's
`JSON.stringify` writes it, compressed if it was read compressed, and encrypted under a fresh random nonce.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from nai_sdk._constants import (
    DEFAULT_MAX_DOCUMENT_SIZE,
    DEFAULT_MAX_INFLATED_SIZE,
    DEFAULT_MAX_INFLATED_TOTAL,
    MAX_SAFE_INTEGER,
)
from nai_sdk._json import dumps_compact, loads_strict
from nai_sdk.crypto import (
    COMPRESSION_MARKER,
    MAC_SIZE,
    NONCE_SIZE,
    InflateBudget,
    b64decode,
    b64encode,
    compress,
    inflate,
    secretbox_decrypt,
    secretbox_encrypt,
)
from nai_sdk.errors import (
    ConfigurationError,
    CryptoError,
    DocumentError,
    NovelAIError,
    ObjectFormatError,
    UploadRefusedError,
)
from nai_sdk.keystore import Keystore, MissingKeyError

if TYPE_CHECKING:
    from nai_sdk.content._document import Document

__all__ = [
    "COMPRESSED_BY_DEFAULT",
    "ENCRYPTED_TYPES",
    "OBJECT_TYPES",
    "PLAIN_TYPES",
    "UserObject",
    "decrypt_object",
    "decrypt_objects",
    "encrypt_object",
    "new_object_id",
]

ENCRYPTED_TYPES = frozenset({"stories", "storycontent", "aimodules"})
"""Object types whose data is encrypted with `keystore[meta]`."""
PLAIN_TYPES = frozenset({"presets", "shelf"})
"""Object types whose data is plain (optionally compressed) JSON: no key, meta unused."""
OBJECT_TYPES = ENCRYPTED_TYPES | PLAIN_TYPES
"""Every object type this module reads and writes."""
COMPRESSED_BY_DEFAULT = frozenset({"storycontent"})
"""Types that `UserObject.new` compresses unless told otherwise (NovelAI's client compresses story content)."""

_OBJECT_ID_LENGTH = 21  # NovelAI's ids: 21 characters of the URL-safe base64 alphabet


def new_object_id() -> str:
    """A fresh random object id: 21 URL-safe characters (126 random bits), the shape of NovelAI's own ids."""
    return secrets.token_urlsafe(_OBJECT_ID_LENGTH)[:_OBJECT_ID_LENGTH]


def _envelope_number(raw: Mapping[str, Any], name: str) -> int | float | None:
    """`changeIndex` or `lastUpdatedAt`: absent (or null), or a number JavaScript holds exactly.

    Refused on read, not on write: NaN, the infinities, `true` (bool is an int subclass), strings, containers, and
    numbers beyond `MAX_SAFE_INTEGER`; any of them would only fail later, when the object is written back.
    """
    value = raw.get(name)
    if value is None:
        return None
    kind = type(value)
    # The comparison is false for NaN and the infinities, so it refuses them too.
    if (kind is int or kind is float) and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value  # type: ignore[no-any-return]  # an int or a float, as just checked
    shown = repr(value)[:40] if kind is int or kind is float else f"a {kind.__name__}"
    raise ObjectFormatError(f"the object's {name!r} must be a number within +-2**53, not {shown}")


@attrs.define(eq=False, repr=False)
class UserObject:
    """One user-data object, decrypted (or not: see `error`).

    `id`, `type`, `error` and `raw` are read-only.

    Attributes:
        meta: the object's meta: for encrypted types, the keystore entry that holds its key.
        data: the decrypted JSON object, or None when it could not be read. Edit it freely (in place or by
            assignment): `encrypt_object` notices any change.
        change_index: `changeIndex` as read (None for a new object).
        last_updated_at: `lastUpdatedAt` as read (None for a new object).
        compressed: whether the payload is compressed; a modified object is written back the same way.
    """

    # Read-only fields are private slots behind properties: attrs' frozen-field hooks would run on every
    # attribute assignment, doubling the cost of reading an object.
    _id: str
    _type: str
    meta: str
    data: dict[str, Any] | None
    change_index: int | float | None = None
    last_updated_at: int | float | None = None
    compressed: bool = False
    _error: NovelAIError | None = None
    _raw: Mapping[str, Any] | None = None
    # The decrypted JSON bytes as read: what "unmodified" is measured against (None for new objects).
    _plaintext: bytes | None = attrs.field(default=None, init=False)
    _read_meta: str = attrs.field(default="", init=False)
    _read_compressed: bool = attrs.field(default=False, init=False)
    # Set by set_data/set_document/mark_modified: write new bytes even if the JSON compares equal.
    _forced: bool = attrs.field(default=False, init=False)

    @classmethod
    def new(
        cls,
        type: str,
        data: dict[str, Any],
        keystore: Keystore | None = None,
        *,
        meta: str | None = None,
        id: str | None = None,
        compressed: bool | None = None,
    ) -> UserObject:
        """Create an object to upload.

        For an encrypted type without `meta`, a new meta and key are registered in `keystore`: upload the keystore
        (`keystore.encrypt(...)`) before the object, or the object cannot be read. Pass an existing `meta` to
        share a key (a story and its content use the same meta).

        Args:
            type: one of `OBJECT_TYPES`.
            data: the JSON object to store.
            keystore: the account keystore (required for encrypted types).
            meta: the meta to use; a new one for encrypted types when omitted, "" for plain types.
            id: the object id; a new random one when omitted.
            compressed: whether to compress; by default only `storycontent` is compressed.

        Returns:
            The new object (`modified` is true).

        Raises:
            ObjectFormatError: unknown type, or `data` is not a dict.
            CryptoError: an encrypted type without a keystore.
            MissingKeyError: `meta` is not in the keystore.
        """
        if type not in OBJECT_TYPES:
            raise ObjectFormatError(f"unknown object type {type!r}; expected one of {sorted(OBJECT_TYPES)}")
        if not isinstance(data, dict):
            raise ObjectFormatError(f"object data must be a dict, not {data.__class__.__name__}")
        if type in ENCRYPTED_TYPES:
            if keystore is None:
                raise CryptoError(f"{type} objects are encrypted: a keystore is needed")
            if meta is None:
                meta = keystore.new_meta()
            elif meta not in keystore:
                raise MissingKeyError(f"no key in the keystore for meta {meta!r}")
        obj = cls(
            id=new_object_id() if id is None else id,
            type=type,
            meta="" if meta is None else meta,
            data=data,
            compressed=type in COMPRESSED_BY_DEFAULT if compressed is None else compressed,
        )
        obj._forced = True
        return obj

    @property
    def id(self) -> str:
        """The object id ("" if the envelope had none)."""
        return self._id

    @property
    def type(self) -> str:
        """`stories`, `storycontent`, `aimodules`, `presets` or `shelf` (as read, even if unknown)."""
        return self._type

    @property
    def error(self) -> NovelAIError | None:
        """Why `data` could not be read (a NovelAIError), or None."""
        return self._error

    @property
    def raw(self) -> Mapping[str, Any] | None:
        """The envelope exactly as received (its `data` is the original ciphertext), or None for a new object."""
        return self._raw

    @property
    def ok(self) -> bool:
        """Whether the data was read (`error` is None)."""
        return self.error is None

    @property
    def modified(self) -> bool:
        """Whether uploading would write new bytes: data, meta or compression changed since reading.

        The check serialises `data`, so it catches changes made in place anywhere inside it; an edit that is
        undone, or that leaves the JSON equal, does not count. Always true for new objects, false for objects that
        could not be read.
        """
        if self.error is not None:
            return False
        return self._new_plaintext() is not None

    def set_data(self, data: dict[str, Any]) -> None:
        """Replace the data and mark the object modified (its bytes are re-written even if the JSON is equal)."""
        if not isinstance(data, dict):
            raise ObjectFormatError(f"object data must be a dict, not {data.__class__.__name__}")
        self.data = data
        self._forced = True

    def mark_modified(self) -> None:
        """Force the next `encrypt_object` to write fresh bytes (fresh nonce) even if nothing changed."""
        self._forced = True

    def document(self, *, max_size: int = DEFAULT_MAX_DOCUMENT_SIZE) -> Document | None:
        """Decode the msgpackr story document in `data["document"]` (story content), afresh on each call.

        Edits to the returned document are not seen by the object: store them with `set_document`.

        Args:
            max_size: the largest decoded size accepted (see `decode_document`).

        Returns:
            The document, or None when the data has no `document`.

        Raises:
            ObjectFormatError: the object's data could not be read.
            DocumentError: `document` is not a base64 string of a valid msgpackr document, or is beyond `max_size`.
        """
        from nai_sdk.content._document import decode_document

        data = self._readable_data()
        value = data.get("document")
        if value is None:
            return None
        if not isinstance(value, str):
            raise DocumentError(f"'document' must be a base64 string, not {value.__class__.__name__}")
        return decode_document(value, max_size=max_size)

    def set_document(self, document: Document, *, max_size: int = DEFAULT_MAX_DOCUMENT_SIZE) -> None:
        """Encode `document` into `data["document"]` and mark the object modified.

        Args:
            document: the document.
            max_size: the largest encoded size accepted (see `encode_document`).

        Raises:
            ObjectFormatError: the object's data could not be read.
            DocumentError: the document cannot be encoded, or not within `max_size`.
        """
        from nai_sdk.content._document import encode_document

        data = self._readable_data()
        data["document"] = encode_document(document, max_size=max_size)
        self._forced = True

    def _readable_data(self) -> dict[str, Any]:
        if self.data is None:
            raise ObjectFormatError(f"object {self.id!r} has no data: it could not be read") from self.error
        return self.data

    def _new_plaintext(self) -> bytes | None:
        """The JSON bytes to write if the object changed since it was read, else None."""
        if not isinstance(self.data, dict):
            raise ObjectFormatError(f"object data must be a dict, not {self.data.__class__.__name__}")
        text = dumps_compact(self.data, ObjectFormatError)
        original = self._plaintext
        if (
            self._forced
            or original is None
            or self.compressed != self._read_compressed
            or (self.type in ENCRYPTED_TYPES and self.meta != self._read_meta)
        ):
            return text
        if text == original:
            return None
        # The original may be spelt differently (spacing, escapes, number format): compare it in our spelling.
        canonical = dumps_compact(loads_strict(original, ObjectFormatError, "the original data"), ObjectFormatError)
        return None if text == canonical else text

    def __repr__(self) -> str:
        # No data: it can be megabytes, and it is private.
        state = "ok" if self.error is None else f"error={self.error.__class__.__name__}"
        return (
            f"UserObject(id={self.id!r}, type={self.type!r}, meta={self.meta!r}, compressed={self.compressed}, {state})"
        )


def _open(
    obj_type: Any, meta: Any, data: Any, keystore: Keystore | None, max_size: int, budget: InflateBudget | None
) -> tuple[bytes, bool]:
    """Decode an envelope's `data` into (plaintext JSON bytes, compressed), or raise a NovelAIError."""
    # The str check first: `{} in frozenset()` raises TypeError (a dict is not hashable).
    if not isinstance(obj_type, str) or obj_type not in OBJECT_TYPES:
        shown = repr(obj_type)[:40] if isinstance(obj_type, str) else f"of JSON type {obj_type.__class__.__name__}"
        raise ObjectFormatError(f"unknown object type {shown}")
    if not isinstance(data, str):
        raise ObjectFormatError(f"object 'data' must be a base64 string, not {data.__class__.__name__}")
    blob = b64decode(data, ObjectFormatError, "object 'data'")
    compressed = blob.startswith(COMPRESSION_MARKER)
    start = len(COMPRESSION_MARKER) if compressed else 0
    if obj_type in ENCRYPTED_TYPES:
        if keystore is None:
            raise MissingKeyError(f"{obj_type} objects are encrypted and no keystore was given")
        if not isinstance(meta, str):
            raise ObjectFormatError("an encrypted object needs a str 'meta'")
        key = keystore.get(meta)
        if key is None:
            raise MissingKeyError(f"meta {meta!r} is missing from the keystore")
        if len(blob) - start < NONCE_SIZE + MAC_SIZE:
            raise ObjectFormatError("encrypted object data is too short to hold a nonce and a tag")
        nonce_end = start + NONCE_SIZE
        payload = secretbox_decrypt(key, blob[start:nonce_end], blob[nonce_end:])
    else:
        payload = blob[start:] if compressed else blob
    return (inflate(payload, max_size=max_size, budget=budget) if compressed else payload), compressed


def decrypt_object(
    raw: Mapping[str, Any], keystore: Keystore | None, *, max_inflated_size: int = DEFAULT_MAX_INFLATED_SIZE
) -> UserObject:
    """Read one object of `GET /user/objects/{type}`.

    A payload that cannot be read (unknown type, meta missing from the keystore, wrong key or tampered data, bad
    base64 or deflate, a payload inflating past `max_inflated_size`, not UTF-8, not JSON, JSON that is not an object,
    no id, an envelope field of the wrong JSON type, a `changeIndex` or `lastUpdatedAt` that is not a safe number)
    gives an object whose `error` says why and whose `data` is None; it keeps the envelope in `raw` and refuses to
    be uploaded.

    Args:
        raw: the object envelope (`id`, `type`, `meta`, `data`, `changeIndex`, `lastUpdatedAt`).
        keystore: the account keystore (only needed for encrypted types).
        max_inflated_size: the most bytes a compressed payload may inflate to.

    Returns:
        The object.

    Raises:
        ObjectFormatError: `raw` is not a mapping at all.
        ConfigurationError: `max_inflated_size` is not an int >= 0.
    """
    # type() first: the ABC isinstance check costs more than the rest of the envelope handling.
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise ObjectFormatError(f"an object envelope must be a mapping, not {raw.__class__.__name__}")
    _check_budget(max_inflated_size, "max_inflated_size")
    return _decrypt(raw, keystore, max_inflated_size, None)


def _check_budget(value: int, name: str) -> None:
    # Checked before reading: inside the per-item handling a ConfigurationError would pass for a bad object.
    if type(value) is not int or value < 0:
        raise ConfigurationError(f"{name} must be an int >= 0, not {value!r}")


def _decrypt(
    raw: Mapping[str, Any], keystore: Keystore | None, max_size: int, budget: InflateBudget | None
) -> UserObject:
    obj_id = raw.get("id")
    obj_type = raw.get("type")
    meta = raw.get("meta", "")
    data: dict[str, Any] | None = None
    plaintext: bytes | None = None
    compressed = False
    change_index = last_updated_at = None
    error: NovelAIError | None = None
    try:
        if not isinstance(obj_id, str) or not obj_id:
            raise ObjectFormatError("the object has no str 'id'")
        # null stands for "no meta" (plain types have none); any other JSON type is a broken envelope.
        if meta is not None and not isinstance(meta, str):
            raise ObjectFormatError(f"the object needs a str 'meta' (or none), not a {meta.__class__.__name__}")
        change_index = _envelope_number(raw, "changeIndex")
        last_updated_at = _envelope_number(raw, "lastUpdatedAt")
        plaintext, compressed = _open(obj_type, meta, raw.get("data"), keystore, max_size, budget)
        parsed = loads_strict(plaintext, ObjectFormatError, "the object's data")
        if not isinstance(parsed, dict):
            raise ObjectFormatError(f"the object's data must be a JSON object, not {parsed.__class__.__name__}")
        data = parsed
    except NovelAIError as exc:
        error, plaintext = exc, None
    obj = UserObject(
        id=obj_id if isinstance(obj_id, str) else "",
        type=obj_type if isinstance(obj_type, str) else "",
        meta=meta if isinstance(meta, str) else "",
        data=data,
        change_index=change_index,
        last_updated_at=last_updated_at,
        compressed=compressed,
        error=error,
        raw=raw,
    )
    obj._plaintext = plaintext
    obj._read_meta = obj.meta
    obj._read_compressed = compressed
    return obj


def decrypt_objects(
    raws: Iterable[Any],
    keystore: Keystore | None,
    *,
    max_inflated_size: int = DEFAULT_MAX_INFLATED_SIZE,
    max_inflated_total: int = DEFAULT_MAX_INFLATED_TOTAL,
) -> list[UserObject]:
    """Read many objects: one `UserObject` per item, in order; a bad item never aborts the batch.

    An item that is not even a mapping gives an object with id "", type "", `raw` None and an ObjectFormatError.
    Inflating is bounded per object and for the whole call: once the payloads read so far (refused ones included)
    have inflated to `max_inflated_total` bytes, every further compressed payload is refused with a
    CompressionError; uncompressed ones still read.

    Args:
        raws: the `objects` list of `GET /user/objects/{type}`.
        keystore: the account keystore (only needed for encrypted types).
        max_inflated_size: the most bytes one compressed payload may inflate to.
        max_inflated_total: the most bytes all the compressed payloads of this call may inflate to together.

    Returns:
        The objects; check `ok` (or `error`) on each.

    Raises:
        ConfigurationError: a budget is not an int >= 0.
    """
    _check_budget(max_inflated_size, "max_inflated_size")
    _check_budget(max_inflated_total, "max_inflated_total")
    budget = InflateBudget(max_inflated_total)
    objects = []
    for index, raw in enumerate(raws):
        # type() first: the ABC isinstance check costs more than the rest of the envelope handling.
        if type(raw) is dict or isinstance(raw, Mapping):
            objects.append(_decrypt(raw, keystore, max_inflated_size, budget))
        else:
            error = ObjectFormatError(f"item {index} is a {raw.__class__.__name__}, not an object envelope")
            objects.append(UserObject(id="", type="", meta="", data=None, error=error))
    return objects


def _seal(obj: UserObject, plaintext: bytes, keystore: Keystore | None) -> str:
    payload = compress(plaintext) if obj.compressed else plaintext
    if obj.type in ENCRYPTED_TYPES:
        if keystore is None:
            raise MissingKeyError(f"{obj.type} objects are encrypted and no keystore was given")
        nonce, box = secretbox_encrypt(keystore[obj.meta], payload)
        payload = nonce + box
    return b64encode(COMPRESSION_MARKER + payload if obj.compressed else payload)


def encrypt_object(obj: UserObject, keystore: Keystore | None) -> dict[str, Any]:
    """The wire form of `obj` for upload: `id`, `type`, `meta`, `data`, and `changeIndex`/`lastUpdatedAt` if known.

    An unmodified object gets its original `data` back, byte for byte. A modified one is serialised compactly,
    compressed as read, and (for encrypted types) encrypted with `keystore[obj.meta]` under a fresh random nonce.
    Other envelope fields that were read are kept.

    Args:
        obj: the object.
        keystore: the account keystore (only needed for modified encrypted objects).

    Returns:
        A new dict; `obj` is not changed.

    Raises:
        UploadRefusedError: the object could not be read: uploading it would overwrite the original.
        ObjectFormatError: unknown type, or `data` is not a dict or holds something JSON cannot represent.
        MissingKeyError: no keystore, or its meta is not in it.
    """
    if obj.error is not None:
        raise UploadRefusedError(
            f"object {obj.id!r} ({obj.type}) could not be read ({obj.error.__class__.__name__}); "
            "uploading it would overwrite data that may still be readable elsewhere"
        ) from obj.error
    if obj.type not in OBJECT_TYPES:
        raise ObjectFormatError(f"unknown object type {obj.type!r}")
    plaintext = obj._new_plaintext()
    if plaintext is not None:
        data = _seal(obj, plaintext, keystore)
    elif obj.raw is not None:
        data = obj.raw["data"]
    else:  # pragma: no cover - only an object read from the wire can be unmodified
        raise ObjectFormatError("an unmodified object must have been read from the wire")
    wire = dict(obj.raw) if obj.raw is not None else {}
    wire.update(id=obj.id, type=obj.type, meta=obj.meta, data=data)
    if obj.change_index is not None:
        wire["changeIndex"] = obj.change_index
    if obj.last_updated_at is not None:
        wire["lastUpdatedAt"] = obj.last_updated_at
    return wire

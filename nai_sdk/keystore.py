"""The keystore: NovelAI's encrypted map from object `meta` to the 32-byte key of that object (docs/formats.md §2).

Read it with `Keystore.decrypt(response["keystore"], encryption_key(email, password))`, look keys up like a dict,
register new objects with `new_meta()`, and send `encrypt(...)` back with `PUT /user/keystore` when it changed.

Keys are only ever added, never replaced or removed: a key that any device ever wrote may still lock a story. Two
copies of one account's keystore (this device's and the server's, after another device wrote) are reconciled with
`merge`, which keeps the union and refuses (`KeystoreConflictError`) a meta that the two copies key differently.
A `Keystore` may be shared by threads: adding keys and encrypting are atomic with respect to each other.

Two deliberate differences from novelai-api: a changed keystore is always encrypted under a fresh nonce (never the
one it was read with), and an empty keystore is written in a form that reads back.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import nacl.utils

from nai_sdk._json import dumps_compact, loads_strict
from nai_sdk.crypto import (
    COMPRESSION_MARKER,
    KEY_SIZE,
    NONCE_SIZE,
    b64decode,
    b64encode,
    compress,
    inflate,
    secretbox_decrypt,
    secretbox_encrypt,
)
from nai_sdk.errors import CryptoError, KeystoreConflictError, KeystoreFormatError

__all__ = ["DEFAULT_VERSION", "MAX_META_LENGTH", "Keystore", "MissingKeyError"]

DEFAULT_VERSION = 2
"""Version written into keystores created here; a keystore that was read keeps its own."""
MAX_META_LENGTH = 128
"""The longest `meta` NovelAI accepts on an object."""


class MissingKeyError(CryptoError, KeyError):
    """The keystore holds no key for this meta.

    Also a `KeyError`, so `Keystore` keeps the mapping protocol (`get`, `in`) and plain `except KeyError` works.
    """

    # KeyError's own __str__ would show the message in quotes, as if it were the missing key.
    __str__ = BaseException.__str__


def _key_fingerprint(key: bytes) -> bytes:
    # Lets encrypt() tell whether it is asked for the key the store was read with, without keeping that key.
    return hashlib.blake2b(key, digest_size=32, person=b"nai-sdk-keystore").digest()


def _byte_array(value: Any, what: str) -> bytes:
    if not isinstance(value, list):
        raise KeystoreFormatError(f"{what} must be an array of byte values, not {type(value).__name__}")
    # bytes() would accept true/false as 1/0: JSON booleans are not byte values.
    if any(item is True or item is False for item in value):
        raise KeystoreFormatError(f"{what} must hold integers 0-255, not booleans")
    try:
        return bytes(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise KeystoreFormatError(f"{what} must hold integers 0-255") from exc


class Keystore(Mapping[str, bytes]):
    """A read-only mapping from object meta to object key, plus the bookkeeping needed to write it back.

    Keys are kept as read, whatever their length (NovelAI does not check them; objects under a key that is not 32
    bytes simply fail to decrypt). `add` and `new_meta` only accept 32-byte keys.

    Attributes:
        version: the keystore version as read (never interpreted), or 2 for a new keystore.
        compressed: whether the encrypted keys were compressed when read; they are written back the same way.
    """

    __slots__ = ("_extra", "_fingerprint", "_keys", "_mutex", "_original", "compressed", "version")

    def __init__(self, keys: Mapping[str, bytes] | None = None, *, version: int = DEFAULT_VERSION) -> None:
        """Create a keystore in memory (to read one from NovelAI, use `Keystore.decrypt`).

        Args:
            keys: initial metas and their 32-byte keys.
            version: the version to write.

        Raises:
            CryptoError: a key is not 32 bytes.
            KeystoreFormatError: a meta is not a non-empty str of at most 128 characters.
        """
        self._keys: dict[str, bytes] = {}
        self._extra: dict[str, Any] = {}
        # Guards _keys, _original and _fingerprint: a thread adding a key while another encrypts must neither
        # break the iteration nor have its key counted as saved.
        self._mutex = threading.Lock()
        self._original: str | None = None
        self._fingerprint: bytes | None = None
        self.version = version
        self.compressed = False
        for meta, key in (keys or {}).items():
            self.add(meta, key)

    @classmethod
    def empty(cls) -> Keystore:
        """A new empty keystore, version 2."""
        return cls()

    @classmethod
    def decrypt(cls, field: str | None, key: bytes) -> Keystore:
        """Read the `keystore` field of `GET /user/keystore`.

        Args:
            field: the field's value: base64 of the keystore JSON, or None for an account that never stored one.
            key: the account encryption key (`nai_sdk.crypto.encryption_key`).

        Returns:
            The keystore (empty, version 2, when `field` is None).

        Raises:
            CryptoError: `key` is not 32 bytes.
            DecryptionError: the key is wrong, or the keystore was tampered with.
            KeystoreFormatError: the field is not base64 of the keystore JSON, or the decrypted keys are malformed.
            CompressionError: the keystore says it is compressed but does not inflate.
        """
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise CryptoError(f"the encryption key must be {KEY_SIZE} bytes")
        if field is None:
            return cls()
        if not isinstance(field, str):
            raise KeystoreFormatError(f"the keystore field must be a str or null, not {type(field).__name__}")

        inner = loads_strict(
            b64decode(field, KeystoreFormatError, "the keystore field"), KeystoreFormatError, "the keystore"
        )
        if not isinstance(inner, dict):
            raise KeystoreFormatError(f"the keystore must be a JSON object, not {type(inner).__name__}")
        version = inner.get("version")
        if type(version) is not int:
            raise KeystoreFormatError("the keystore 'version' must be an integer")
        if "nonce" not in inner or "sdata" not in inner:
            raise KeystoreFormatError("the keystore must have 'nonce' and 'sdata'")
        if inner["sdata"] == "":
            # What novelai-api writes for an empty keystore: it never held a key, so nothing is lost by starting anew.
            raise KeystoreFormatError(
                "the keystore 'sdata' is an empty string (novelai-api's unreadable form of an empty keystore); "
                "it holds no keys: start from Keystore.empty()"
            )
        nonce = _byte_array(inner["nonce"], "the keystore 'nonce'")
        if len(nonce) != NONCE_SIZE:
            raise KeystoreFormatError(f"the keystore 'nonce' must be {NONCE_SIZE} bytes, not {len(nonce)}")
        sdata = _byte_array(inner["sdata"], "the keystore 'sdata'")

        compressed = sdata.startswith(COMPRESSION_MARKER)
        if compressed:
            sdata = sdata[len(COMPRESSION_MARKER) :]
        plaintext = secretbox_decrypt(key, nonce, sdata)
        if compressed:
            plaintext = inflate(plaintext)

        content = loads_strict(plaintext, KeystoreFormatError, "the decrypted keystore")
        if not isinstance(content, dict) or not isinstance(content.get("keys"), dict):
            raise KeystoreFormatError('the decrypted keystore must be a JSON object {"keys": {...}}')
        store = cls(version=version)
        store._keys = {meta: _byte_array(value, "a keystore key") for meta, value in content["keys"].items()}
        # Fields other than "keys" are not NovelAI's today; keep them so a write-back does not drop them.
        store._extra = {name: value for name, value in content.items() if name != "keys"}
        store.compressed = compressed
        store._original = field
        store._fingerprint = _key_fingerprint(key)
        return store

    def encrypt(self, key: bytes) -> str:
        """The value to send back as `keystore` with `PUT /user/keystore`.

        An unchanged keystore, asked for under the key it was read with, gives back exactly the text it was read
        from. Otherwise the keys are encrypted under a fresh random nonce, compressed if they were read compressed.

        Args:
            key: the account encryption key (a new one re-encrypts the keystore, e.g. after a password change).

        Returns:
            Base64 of the keystore JSON.

        Raises:
            CryptoError: `key` is not 32 bytes.
        """
        return self.seal(key)[0]

    def seal(self, key: bytes) -> tuple[str, int]:
        """`encrypt`, and how many keys the text holds: pass both to `mark_saved` once the server took the text.

        Args:
            key: the account encryption key.

        Returns:
            The base64 text for `PUT /user/keystore`, and the number of keys in it.

        Raises:
            CryptoError: `key` is not 32 bytes.
        """
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise CryptoError(f"the encryption key must be {KEY_SIZE} bytes")
        with self._mutex:
            if (
                self._original is not None
                and self._fingerprint is not None
                and hmac.compare_digest(self._fingerprint, _key_fingerprint(key))
            ):
                return self._original, len(self._keys)
            keys = {meta: list(value) for meta, value in self._keys.items()}
        content = {"keys": keys, **self._extra}
        plaintext = dumps_compact(content, KeystoreFormatError)
        if self.compressed:
            plaintext = compress(plaintext)
        nonce, box = secretbox_encrypt(key, plaintext)
        sdata = COMPRESSION_MARKER + box if self.compressed else box
        # Key order version, nonce, sdata: what NovelAI's clients write.
        inner = {"version": self.version, "nonce": list(nonce), "sdata": list(sdata)}
        return b64encode(dumps_compact(inner, KeystoreFormatError)), len(keys)

    def mark_saved(self, text: str, key: bytes, count: int) -> None:
        """Record that the server now holds `text`, which holds the first `count` keys of this keystore.

        `changed` becomes false, and `encrypt` gives `text` back, unless keys were added since `text` was made
        (they are still to be written).

        Args:
            text: what the server holds (a `seal` result that was written, or the server's own text when it holds
                every key this keystore has).
            key: the account encryption key `text` is encrypted with.
            count: how many keys `text` holds.
        """
        with self._mutex:
            if count == len(self._keys):
                self._original = text
                self._fingerprint = _key_fingerprint(key)

    def merge(self, other: Keystore) -> int:
        """Add every key of `other` that this keystore lacks; `other` is taken as the server's copy.

        The version and the compression flag become those of `other`, and fields of `other` that this keystore
        does not have are kept, so that a write-back loses nothing the server holds.

        Args:
            other: another copy of the account keystore (normally just read from the server).

        Returns:
            How many keys were added.

        Raises:
            KeystoreConflictError: a meta has different keys in the two copies. Nothing is changed.
        """
        if other is self:
            return 0
        incoming = dict(other._keys)
        with self._mutex:
            for meta, key in incoming.items():
                mine = self._keys.get(meta)
                if mine is not None and not hmac.compare_digest(mine, key):
                    raise KeystoreConflictError(
                        f"meta {meta!r} has a different key in the two keystores; keeping either would make the "
                        "objects under the other unreadable, so nothing was changed",
                        meta,
                    )
            added = 0
            for meta, key in incoming.items():
                if meta not in self._keys:
                    self._keys[meta] = key
                    added += 1
            if added:
                self._original = None
            self.version = other.version
            self.compressed = other.compressed
            for name, value in other._extra.items():
                self._extra.setdefault(name, value)
        return added

    def add(self, meta: str, key: bytes) -> None:
        """Register the key of an object's meta.

        Args:
            meta: the object's meta (normally UUIDv4 text), at most 128 characters.
            key: the object's 32-byte key.

        Raises:
            CryptoError: `key` is not 32 bytes.
            KeystoreConflictError: `meta` already has a different key (replacing it would make every object under
                that meta unreadable).
            KeystoreFormatError: `meta` is not a non-empty str of at most 128 characters.
        """
        if not isinstance(meta, str) or not 0 < len(meta) <= MAX_META_LENGTH:
            raise KeystoreFormatError(f"a meta must be a non-empty str of at most {MAX_META_LENGTH} characters")
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise CryptoError(f"an object key must be {KEY_SIZE} bytes")
        with self._mutex:
            existing = self._keys.get(meta)
            if existing is not None:
                if hmac.compare_digest(existing, key):
                    return
                raise KeystoreConflictError(f"meta {meta!r} already has a different key", meta)
            self._keys[meta] = key
            self._original = None

    def new_meta(self) -> str:
        """Register a fresh meta (UUIDv4 text) with a fresh random 32-byte key.

        Returns:
            The new meta. The keystore changed: send `encrypt(...)` back before uploading objects under it.
        """
        while True:
            meta = str(uuid.uuid4())
            try:
                self.add(meta, nacl.utils.random(KEY_SIZE))
            except KeystoreConflictError:  # pragma: no cover - a UUIDv4 collision
                continue
            return meta

    @property
    def changed(self) -> bool:
        """Whether `encrypt` has new content to write (always true for a keystore that was not read)."""
        return self._original is None

    def __getitem__(self, meta: str) -> bytes:
        try:
            return self._keys[meta]
        except KeyError:
            raise MissingKeyError(f"no key in the keystore for meta {meta!r}") from None

    def __contains__(self, meta: object) -> bool:
        return meta in self._keys

    def __iter__(self) -> Iterator[str]:
        # A snapshot: another thread may add a key while the caller iterates.
        with self._mutex:
            return iter(list(self._keys))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        # Never the keys: only how many there are.
        return f"<Keystore: {len(self._keys)} keys, version {self.version}>"

"""NovelAI's client-side cryptography: account keys, secret boxes and compression.

Account keys come from the e-mail and password (docs/formats.md §1): the *access key* logs in, the *encryption key*
opens the keystore. NovelAI applies **no normalisation** of any kind: the e-mail is not lower-cased or trimmed and
Unicode is not normalised, so `"User@Example.com"` and `"user@example.com"` (or NFC and NFD spellings) give different
keys. NovelAI's web client lower-cases the e-mail before deriving keys, so an account made there needs
`lowercase_email=True` whenever the address was typed with capitals; that is an explicit opt-in here.

Every encryption draws a fresh random nonce: nothing in this module reuses one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib

import nacl.bindings
import nacl.exceptions
import nacl.utils
from argon2.low_level import Type, hash_secret_raw

from nai_sdk._constants import DEFAULT_MAX_INFLATED_SIZE
from nai_sdk.errors import CompressionError, ConfigurationError, CryptoError, DecryptionError, FormatError

__all__ = [
    "ACCESS_KEY_DOMAIN",
    "ACCESS_KEY_LENGTH",
    "ACCESS_KEY_RAW_LENGTH",
    "ARGON2_MEMORY_COST_KIB",
    "ARGON2_PARALLELISM",
    "ARGON2_TIME_COST",
    "ARGON2_TYPE",
    "ARGON2_VERSION",
    "COMPRESSION_LEVEL",
    "COMPRESSION_MARKER",
    "ENCRYPTION_KEY_DOMAIN",
    "ENCRYPTION_KEY_LENGTH",
    "ENCRYPTION_KEY_RAW_LENGTH",
    "KEY_SIZE",
    "MAC_SIZE",
    "MAX_INFLATED_SIZE",
    "NONCE_SIZE",
    "PASSWORD_SALT_CHARS",
    "SALT_SIZE",
    "InflateBudget",
    "access_key",
    "b64decode",
    "b64encode",
    "compress",
    "encryption_key",
    "inflate",
    "secretbox_decrypt",
    "secretbox_encrypt",
]

# --- key derivation (docs/formats.md §1) --------------------------------------------------------------------------

ARGON2_TYPE = Type.ID
"""Argon2id."""
ARGON2_VERSION = 0x13
"""Argon2 version 1.3."""
ARGON2_TIME_COST = 2
"""Argon2 passes."""
ARGON2_MEMORY_COST_KIB = 2_000_000 // 1024
"""Argon2 memory in KiB: 1953, NovelAI's `int(2_000_000 / 1024)`."""
ARGON2_PARALLELISM = 1
"""Argon2 lanes."""
PASSWORD_SALT_CHARS = 6
"""How many leading code points of the password go into the salt."""
SALT_SIZE = 16
"""BLAKE2b digest size of the salt, in bytes."""
ACCESS_KEY_DOMAIN = "novelai_data_access_key"
"""Domain string mixed into the access-key salt."""
ACCESS_KEY_RAW_LENGTH = 64
"""Argon2 output length for the access key, in bytes."""
ACCESS_KEY_LENGTH = 64
"""Characters of the URL-safe base64 text kept as the access key."""
ENCRYPTION_KEY_DOMAIN = "novelai_data_encryption_key"
"""Domain string mixed into the encryption-key salt."""
ENCRYPTION_KEY_RAW_LENGTH = 128
"""Argon2 output length for the encryption key, in bytes."""
ENCRYPTION_KEY_LENGTH = 32
"""BLAKE2b digest size of the encryption key, in bytes."""

# --- secret boxes and compression (docs/formats.md §2-3) ----------------------------------------------------------

KEY_SIZE = nacl.bindings.crypto_secretbox_KEYBYTES
"""XSalsa20-Poly1305 key size: 32 bytes."""
NONCE_SIZE = nacl.bindings.crypto_secretbox_NONCEBYTES
"""XSalsa20-Poly1305 nonce size: 24 bytes."""
MAC_SIZE = nacl.bindings.crypto_secretbox_MACBYTES
"""Poly1305 tag size: 16 bytes."""
COMPRESSION_MARKER = b"\x00" * 15 + b"\x01"
"""Prefix marking a compressed payload; it sits outside the encryption."""
COMPRESSION_LEVEL = 9
"""zlib level used to compress (NovelAI's fflate output differs, but any raw inflater reads both)."""
MAX_INFLATED_SIZE = DEFAULT_MAX_INFLATED_SIZE
"""Default bound on inflated output (128 MiB): a guard against decompression bombs, far above any real story."""

_RAW_DEFLATE_WBITS = -15  # negative: raw DEFLATE (RFC 1951), no zlib header or checksum
# Output asked of zlib per step, at most: large enough that a real story (a few MB) inflates in one step. A step's
# output is joined from blocks, briefly doubling it, so a step is also at most an eighth of the bound: refusing a
# bomb then peaks near the bound, not twice it.
_INFLATE_STEP = 16 * 1024 * 1024
_INFLATE_MIN_STEP = 64 * 1024
_BYTES_LIKE = (bytes, bytearray, memoryview)


def _check_text(email: str, password: str) -> None:
    if not isinstance(email, str) or not isinstance(password, str):
        raise CryptoError("the e-mail and the password must be str")


def _presalt(email: str, password: str, domain: str) -> str:
    # Slicing a str counts code points, which is what NovelAI counts (not UTF-8 bytes, not UTF-16 units).
    return password[:PASSWORD_SALT_CHARS] + email + domain


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from surrogateescape decoding, say): no browser could have sent it, so no key matches.
        # `from None`: the UnicodeEncodeError holds the whole password in its `object` attribute.
        raise CryptoError(f"the {what} is not valid Unicode text (lone surrogate)") from None


def _salt(email: str, password: str, domain: str) -> bytes:
    return hashlib.blake2b(
        _utf8(_presalt(email, password, domain), "e-mail or password"), digest_size=SALT_SIZE
    ).digest()


def _argon2_raw(email: str, password: str, length: int, domain: str) -> bytes:
    return hash_secret_raw(
        secret=_utf8(password, "password"),
        salt=_salt(email, password, domain),
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_COST_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=length,
        type=ARGON2_TYPE,
        version=ARGON2_VERSION,
    )


def access_key(email: str, password: str, *, lowercase_email: bool = False) -> str:
    """The access key that logs in to NovelAI (`POST /user/login` with `{"key": ...}`).

    Args:
        email: the account e-mail, used exactly as given.
        password: the account password, used exactly as given.
        lowercase_email: lower-case the e-mail first, as NovelAI's web client does; NovelAI itself does not.

    Returns:
        64 characters of URL-safe base64.

    Raises:
        CryptoError: the e-mail or password is not a str, or holds a lone surrogate.
    """
    _check_text(email, password)
    if lowercase_email:
        email = email.lower()
    raw = _argon2_raw(email, password, ACCESS_KEY_RAW_LENGTH, ACCESS_KEY_DOMAIN)
    return base64.urlsafe_b64encode(raw).decode("ascii")[:ACCESS_KEY_LENGTH]


def encryption_key(email: str, password: str, *, lowercase_email: bool = False) -> bytes:
    """The account encryption key, which opens the keystore.

    Args:
        email: the account e-mail, used exactly as given.
        password: the account password, used exactly as given.
        lowercase_email: lower-case the e-mail first, as NovelAI's web client does; NovelAI itself does not.

    Returns:
        32 raw bytes.

    Raises:
        CryptoError: the e-mail or password is not a str, or holds a lone surrogate.
    """
    _check_text(email, password)
    if lowercase_email:
        email = email.lower()
    raw = _argon2_raw(email, password, ENCRYPTION_KEY_RAW_LENGTH, ENCRYPTION_KEY_DOMAIN)
    # NovelAI hashes the padding-free URL-safe base64 *text*, not the raw bytes.
    text = base64.urlsafe_b64encode(raw).rstrip(b"=")
    return hashlib.blake2b(text, digest_size=ENCRYPTION_KEY_LENGTH).digest()


# --- base64 ---------------------------------------------------------------------------------------------------------


def b64decode(text: str | bytes, error: type[FormatError] = FormatError, what: str = "data") -> bytes:
    """Decode standard, padded base64 strictly (no stray characters, no missing padding).

    Args:
        text: the base64 text.
        error: the FormatError subclass to raise.
        what: what the text is, for the message.

    Returns:
        The decoded bytes.

    Raises:
        FormatError: (`error`) the text is not strict standard base64.
    """
    try:
        # strict_mode (3.11+) validates in C; base64.b64decode(validate=True) runs a regex over the whole text first.
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        # ValueError: non-ASCII str; TypeError: neither str nor bytes.
        raise error(f"{what} is not valid base64") from exc


def b64encode(data: bytes) -> str:
    """Standard, padded base64 text of `data`."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


# --- secret boxes ---------------------------------------------------------------------------------------------------


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise CryptoError(f"a secret-box key must be {KEY_SIZE} bytes")


def secretbox_encrypt(key: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    """Encrypt with XSalsa20-Poly1305 under a fresh random nonce.

    Args:
        key: 32 bytes.
        plaintext: the bytes to encrypt.

    Returns:
        `(nonce, box)`: the 24-byte nonce and the 16-byte tag followed by the ciphertext.

    Raises:
        CryptoError: the key is not 32 bytes.
    """
    _check_key(key)
    nonce = nacl.utils.random(NONCE_SIZE)
    return nonce, nacl.bindings.crypto_secretbox_easy(plaintext, nonce, key)


def secretbox_decrypt(key: bytes, nonce: bytes, box: bytes) -> bytes:
    """Open an XSalsa20-Poly1305 box.

    Args:
        key: 32 bytes.
        nonce: 24 bytes.
        box: the 16-byte tag followed by the ciphertext.

    Returns:
        The plaintext.

    Raises:
        CryptoError: the key is not 32 bytes, the nonce not 24, or the box not bytes.
        DecryptionError: the key is wrong, or the data was truncated or tampered with.
    """
    _check_key(key)
    if not isinstance(nonce, _BYTES_LIKE) or len(nonce) != NONCE_SIZE:
        raise CryptoError(f"a secret-box nonce must be {NONCE_SIZE} bytes")
    if not isinstance(box, _BYTES_LIKE):
        raise CryptoError(f"a secret box must be bytes, not {box.__class__.__name__}")
    if len(box) < MAC_SIZE:
        raise DecryptionError(f"encrypted data is {len(box)} bytes, shorter than its {MAC_SIZE}-byte tag")
    try:
        return nacl.bindings.crypto_secretbox_open_easy(box, nonce, key)
    except nacl.exceptions.CryptoError as exc:
        raise DecryptionError("decryption failed: wrong key, or the data was tampered with") from exc


# --- compression ----------------------------------------------------------------------------------------------------


def compress(data: bytes) -> bytes:
    """Raw DEFLATE (no header, no checksum) at level 9, without the marker."""
    return zlib.compress(data, COMPRESSION_LEVEL, _RAW_DEFLATE_WBITS)


class InflateBudget:
    """A running allowance of inflated bytes, shared by many `inflate` calls (one listing of objects, say).

    Every byte an `inflate` call produces is taken from it, the bytes of a refused stream included, so a listing of
    many decompression bombs costs at most `total` bytes of work, however many it holds.

    Attributes:
        total: the allowance it started with.
        remaining: what is left of it.
    """

    __slots__ = ("remaining", "total")

    def __init__(self, total: int) -> None:
        self.total = _check_budget(total, "an inflate budget")
        self.remaining = self.total

    def __repr__(self) -> str:
        return f"InflateBudget(total={self.total}, remaining={self.remaining})"


def _check_budget(value: int, what: str) -> int:
    # A budget is a caller's setting, never input: a wrong one is a configuration mistake. bool is no size.
    if type(value) is not int or value < 0:
        raise ConfigurationError(f"{what} must be an int >= 0, not {value!r}")
    return value


def inflate(data: bytes, *, max_size: int = MAX_INFLATED_SIZE, budget: InflateBudget | None = None) -> bytes:
    """Inflate a raw DEFLATE stream (marker already removed), refusing output beyond `max_size`.

    The stream is inflated in steps, and inflating stops as soon as the output passes the bound: a decompression
    bomb costs about `max_size` bytes of memory and work, never its full size. Bytes after the end of the stream are
    ignored, as zlib and JavaScript inflaters ignore them.

    Args:
        data: the compressed bytes.
        max_size: the largest output accepted, in bytes.
        budget: an allowance shared with other calls; the output (accepted or not) is taken from it, and a stream
            that would need more than what is left is refused.

    Returns:
        The inflated bytes.

    Raises:
        CompressionError: the data is not bytes, the stream is invalid or truncated, or it inflates to more than
            `max_size` bytes (or more than what is left of `budget`).
        ConfigurationError: `max_size` is not an int >= 0.
    """
    _check_budget(max_size, "max_size")
    limit = max_size if budget is None else min(max_size, budget.remaining)
    if not isinstance(data, _BYTES_LIKE):
        raise CompressionError(f"compressed data must be bytes, not {data.__class__.__name__}")
    inflater = zlib.decompressobj(_RAW_DEFLATE_WBITS)
    chunks: list[bytes] = []
    chunk = b""
    produced = 0
    pending = data
    problem: str | None = None
    cause: zlib.error | None = None
    step = min(_INFLATE_STEP, max(_INFLATE_MIN_STEP, limit // 8))
    try:
        while True:
            # Never ask for 0 bytes: to zlib, a max_length of 0 means "no limit".
            want = min(limit - produced, step) + 1
            chunk = inflater.decompress(pending, want)
            produced += len(chunk)
            if produced > limit:
                if budget is not None and limit < max_size:
                    problem = f"inflates past what is left of the inflate budget ({limit} of {budget.total} bytes)"
                else:
                    problem = f"inflates to more than {max_size} bytes"
                break
            chunks.append(chunk)
            if inflater.eof:
                break
            pending = inflater.unconsumed_tail
            # Output short of what was asked and no input left: the stream needs bytes that are not there.
            if not pending and len(chunk) < want:
                problem = "is a truncated raw DEFLATE stream"
                break
    except zlib.error as exc:
        problem, cause = f"is an invalid raw DEFLATE stream: {exc}", exc
    if budget is not None:
        budget.remaining = max(0, budget.remaining - produced)
    if problem is not None:
        # The error's traceback keeps this frame alive (a refused object keeps its error): let the output go now.
        chunks.clear()
        chunk = b""
        raise CompressionError(f"compressed data {problem}") from cause
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)

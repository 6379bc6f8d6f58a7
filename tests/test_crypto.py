"""Key derivation, secret boxes, compression and the JS-compatible JSON writer, against tests/data/vectors."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any

import nacl.exceptions
import pytest

from nai_sdk import crypto
from nai_sdk._json import dumps_compact, loads_strict
from nai_sdk.crypto import (
    ACCESS_KEY_DOMAIN,
    ARGON2_MEMORY_COST_KIB,
    ARGON2_PARALLELISM,
    ARGON2_TIME_COST,
    ARGON2_VERSION,
    COMPRESSION_MARKER,
    ENCRYPTION_KEY_DOMAIN,
    access_key,
    b64decode,
    b64encode,
    compress,
    encryption_key,
    inflate,
    secretbox_decrypt,
    secretbox_encrypt,
)
from nai_sdk.errors import CompressionError, CryptoError, DecryptionError, FormatError, ObjectFormatError

VECTORS = Path(__file__).parent / "data" / "vectors"
ACCESS_KEYS = json.loads((VECTORS / "access_keys.json").read_text(encoding="utf-8"))
CASES = ACCESS_KEYS["cases"]


def _text(case: dict[str, Any], name: str) -> str:
    # The *_utf8_hex fields are the exact bytes: JSON strings could be re-normalised by an editor.
    return bytes.fromhex(case[f"{name}_utf8_hex"]).decode("utf-8")


def test_argon2_parameters_match_the_vectors() -> None:
    params = ACCESS_KEYS["argon2"]
    assert params == {
        "type": "argon2id",
        "version": "0x13",
        "time_cost": 2,
        "memory_cost_kib": 1953,
        "parallelism": 1,
    }
    assert (ARGON2_TIME_COST, ARGON2_MEMORY_COST_KIB, ARGON2_PARALLELISM, ARGON2_VERSION) == (2, 1953, 1, 0x13)
    assert bytes.fromhex("00000000000000000000000000000001") == COMPRESSION_MARKER


@pytest.mark.parametrize("case", CASES, ids=[c["comment"][:40] for c in CASES])
def test_access_and_encryption_keys(case: dict[str, Any]) -> None:
    email, password = _text(case, "email"), _text(case, "password")
    assert case["access_key"] == access_key(email, password)
    assert case["encryption_key_hex"] == encryption_key(email, password).hex()
    assert base64.b64decode(case["encryption_key_b64"]) == encryption_key(email, password)


@pytest.mark.parametrize("case", CASES, ids=[c["comment"][:40] for c in CASES])
def test_intermediates(case: dict[str, Any]) -> None:
    email, password = _text(case, "email"), _text(case, "password")
    mid = case["intermediate"]
    assert mid["access_presalt_utf8"] == crypto._presalt(email, password, ACCESS_KEY_DOMAIN)
    assert mid["access_salt_hex"] == crypto._salt(email, password, ACCESS_KEY_DOMAIN).hex()
    raw64 = crypto._argon2_raw(email, password, 64, ACCESS_KEY_DOMAIN)
    assert mid["access_argon2id_raw64_hex"] == raw64.hex()
    assert mid["access_argon2id_raw64_b64url"] == base64.urlsafe_b64encode(raw64).decode()
    assert mid["encryption_presalt_utf8"] == crypto._presalt(email, password, ENCRYPTION_KEY_DOMAIN)
    assert mid["encryption_salt_hex"] == crypto._salt(email, password, ENCRYPTION_KEY_DOMAIN).hex()
    raw128 = crypto._argon2_raw(email, password, 128, ENCRYPTION_KEY_DOMAIN)
    assert mid["encryption_argon2id_raw128_hex"] == raw128.hex()
    assert mid["encryption_b64url_unpadded"] == base64.urlsafe_b64encode(raw128).decode().rstrip("=")


def test_no_normalisation_by_default_and_lowercase_is_opt_in() -> None:
    mixed = CASES[1]
    assert _text(mixed, "email") == "User@Example.COM"
    password = _text(mixed, "password")
    assert mixed["access_key"] == access_key("User@Example.COM", password)
    lowered = access_key("user@example.com", password)
    assert lowered != mixed["access_key"]
    assert lowered == access_key("User@Example.COM", password, lowercase_email=True)
    assert encryption_key("user@example.com", password) == encryption_key(
        "User@Example.COM", password, lowercase_email=True
    )
    # NFC and NFD spellings of the same text are different passwords.
    assert access_key("a@b.c", "caf\u00e9") != access_key("a@b.c", "cafe\u0301")


def test_bad_credentials_raise_crypto_error() -> None:
    with pytest.raises(CryptoError, match="must be str"):
        access_key(b"a@b.c", "pw")  # type: ignore[arg-type]
    with pytest.raises(CryptoError, match="lone surrogate") as info:
        encryption_key("a@b.c", "hunter\ud800two")
    assert "hunter" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_secretbox_round_trip_uses_fresh_nonces() -> None:
    key = bytes(range(32))
    nonce1, box1 = secretbox_encrypt(key, b"hello")
    nonce2, box2 = secretbox_encrypt(key, b"hello")
    assert nonce1 != nonce2
    assert box1 != box2
    assert len(nonce1) == 24
    assert len(box1) == 16 + 5
    assert secretbox_decrypt(key, nonce1, box1) == b"hello"
    assert secretbox_decrypt(key, nonce2, box2) == b"hello"


def test_secretbox_failures_are_typed() -> None:
    key = bytes(range(32))
    nonce, box = secretbox_encrypt(key, b"hello")
    with pytest.raises(DecryptionError) as info:
        secretbox_decrypt(bytes(32), nonce, box)
    assert isinstance(info.value.__cause__, nacl.exceptions.CryptoError)
    assert isinstance(info.value, ValueError)
    with pytest.raises(DecryptionError):
        secretbox_decrypt(key, nonce, box[:-1] + bytes([box[-1] ^ 1]))
    with pytest.raises(DecryptionError, match="shorter"):
        secretbox_decrypt(key, nonce, box[:15])
    with pytest.raises(CryptoError, match="32 bytes"):
        secretbox_encrypt(key[:31], b"x")
    with pytest.raises(CryptoError, match="24 bytes"):
        secretbox_decrypt(key, nonce[:23], box)


def test_compress_is_raw_deflate_level_9() -> None:
    data = b"The lantern swung in the wind. " * 50
    packed = compress(data)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    assert compressor.compress(data) + compressor.flush() == packed
    assert inflate(packed) == data
    assert inflate(packed + b"trailing bytes are ignored") == data


def test_inflate_failures_are_typed() -> None:
    packed = compress(b"x" * 1000)
    with pytest.raises(CompressionError, match="truncated"):
        inflate(packed[:-2])
    with pytest.raises(CompressionError, match="truncated"):
        inflate(b"")
    with pytest.raises(CompressionError, match="invalid"):
        inflate(b"\xff\xff\xff\xff")


def test_inflate_bounds_its_output() -> None:
    bomb = compress(bytes(10_000_000))
    assert len(bomb) < 20_000
    with pytest.raises(CompressionError, match="more than 1000000 bytes"):
        inflate(bomb, max_size=1_000_000)
    assert inflate(compress(bytes(1000)), max_size=1000) == bytes(1000)


def test_b64_is_strict() -> None:
    assert b64encode(b"\xfb\xff") == "+/8="
    assert b64decode("+/8=") == b"\xfb\xff"
    for bad in ["+/8", "-_8=", "+/8=\n", "é", "+/8=+/8="]:
        with pytest.raises(FormatError, match="not valid base64"):
            b64decode(bad)


def test_json_writer_matches_javascript_stringify() -> None:
    # Expected bytes are what Node 20's JSON.stringify gives for the same values.
    value = {"a": "\ud800x\udfff", "b": "\ud83d\udc08", "c": "\u2028\x7f\x01", "d": '🐈 "q" \\'}
    expected = (
        b'{"a":"\\ud800x\\udfff","b":"\xf0\x9f\x90\x88","c":"\xe2\x80\xa8\x7f\\u0001",'
        b'"d":"\xf0\x9f\x90\x88 \\"q\\" \\\\"}'
    )
    assert expected == dumps_compact(value, ObjectFormatError)
    back = loads_strict(expected, ObjectFormatError, "x")
    assert back["a"] == "\ud800x\udfff"
    assert back["b"] == "🐈"


@pytest.mark.parametrize(
    ("value", "message"),
    [({"x": float("nan")}, "Out of range"), ({"x": {1, 2}}, "not JSON serializable"), ({"x": b"b"}, "bytes")],
)
def test_json_writer_refuses_what_json_cannot_hold(value: Any, message: str) -> None:
    with pytest.raises(ObjectFormatError, match=message):
        dumps_compact(value, ObjectFormatError)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff", "not UTF-8"),
        (b"{", "not valid JSON"),
        (b"NaN", "not valid JSON"),
        (b'{"x": -Infinity}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b"1" * 5000, "not valid JSON"),
    ],
)
def test_json_reader_failures_are_typed(data: bytes, message: str) -> None:
    with pytest.raises(ObjectFormatError, match=message):
        loads_strict(data, ObjectFormatError, "x")

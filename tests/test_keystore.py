"""The keystore against tests/data/vectors/keystore.json, plus write-back, compression and malformed input."""

from __future__ import annotations

import base64
import json
import re
import uuid
import zlib
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest

from nai_sdk.errors import CompressionError, CryptoError, DecryptionError, KeystoreFormatError
from nai_sdk.keystore import Keystore, MissingKeyError

VECTORS = Path(__file__).parent / "data" / "vectors"
KEYSTORES = json.loads((VECTORS / "keystore.json").read_text(encoding="utf-8"))["keystores"]
BY_NAME = {case["name"]: case for case in KEYSTORES}
POSITIVE = [case for case in KEYSTORES if not case.get("expected_error") and case["server_response"]["keystore"]]
MARKER = b"\x00" * 15 + b"\x01"
KEY = bytes.fromhex(BY_NAME["ks_one"]["encryption_key_hex"])


def make_field(key: bytes, plaintext: bytes, *, version: Any = 2, compressed: bool = False, **inner: Any) -> str:
    """Build a keystore field by hand with pynacl and zlib (independent of the code under test)."""
    nonce = bytes(range(24))
    if compressed:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        plaintext = packer.compress(plaintext) + packer.flush()
    box = nacl.bindings.crypto_secretbox_easy(plaintext, nonce, key)
    sdata = MARKER + box if compressed else box
    body = {"version": version, "nonce": list(nonce), "sdata": list(sdata), **inner}
    return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


def inner_of(field: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.b64decode(field, validate=True))
    return value


@pytest.mark.parametrize("case", POSITIVE, ids=[case["name"] for case in POSITIVE])
def test_vectors_decrypt_and_reencrypt_identically(case: dict[str, Any]) -> None:
    key = bytes.fromhex(case["encryption_key_hex"])
    field = case["server_response"]["keystore"]
    assert case["inner_json"] == base64.b64decode(field).decode()
    store = Keystore.decrypt(field, key)
    assert case["expected"] == {meta: value.hex() for meta, value in store.items()}
    assert case["version"] == store.version
    assert store.compressed is False
    assert store.changed is False
    assert case["reencrypt_identical"] is True
    assert field == store.encrypt(key)


def test_changed_store_gets_a_fresh_nonce_and_keeps_its_version() -> None:
    case = BY_NAME["ks_version_1"]
    key = bytes.fromhex(case["encryption_key_hex"])
    store = Keystore.decrypt(case["server_response"]["keystore"], key)
    meta = store.new_meta()
    assert store.changed is True
    first, second = store.encrypt(key), store.encrypt(key)
    nonces = {bytes(inner_of(field)["nonce"]).hex() for field in (first, second)}
    assert len(nonces) == 2
    assert case["nonce_hex"] not in nonces
    for field in (first, second):
        text = base64.b64decode(field).decode()
        assert re.fullmatch(r'\{"version":1,"nonce":\[[0-9,]+\],"sdata":\[[0-9,]+\]\}', text)
        again = Keystore.decrypt(field, key)
        assert again.version == 1
        assert {**{m: v.hex() for m, v in store.items()}} == {m: v.hex() for m, v in again.items()}
        assert len(again[meta]) == 32
        assert field == again.encrypt(key)


def test_plaintext_is_compact_json_in_insertion_order() -> None:
    store = Keystore({"b": bytes(32), "a": bytes([255]) * 32})
    field = store.encrypt(KEY)
    inner = inner_of(field)
    plaintext = nacl.bindings.crypto_secretbox_open_easy(bytes(inner["sdata"]), bytes(inner["nonce"]), KEY)
    assert plaintext == b'{"keys":{"b":[' + b",".join([b"0"] * 32) + b'],"a":[' + b",".join([b"255"] * 32) + b"]}}"


def test_null_field_is_an_empty_store_that_writes_readable_json() -> None:
    case = BY_NAME["ks_empty_null"]
    key = bytes.fromhex(case["encryption_key_hex"])
    store = Keystore.decrypt(case["server_response"]["keystore"], key)
    assert case["expected"] == dict(store)
    assert (store.version, len(store), store.changed) == (2, 0, True)
    field = store.encrypt(key)
    assert isinstance(inner_of(field)["sdata"], list)
    again = Keystore.decrypt(field, key)
    assert (again.version, len(again)) == (2, 0)
    assert Keystore.empty().encrypt(key) != Keystore.empty().encrypt(key)


def test_the_peer_empty_store_is_refused_with_a_hint() -> None:
    case = BY_NAME["ks_empty_sdata"]
    assert case["expected_error"] is True
    with pytest.raises(KeystoreFormatError, match=r"empty string.*Keystore\.empty\(\)"):
        Keystore.decrypt(case["server_response"]["keystore"], bytes.fromhex(case["encryption_key_hex"]))


def test_wrong_key_and_tampering_raise_decryption_error() -> None:
    field = BY_NAME["ks_one"]["server_response"]["keystore"]
    with pytest.raises(DecryptionError):
        Keystore.decrypt(field, bytes(32))
    inner = inner_of(field)
    inner["sdata"][-1] ^= 1
    tampered = base64.b64encode(json.dumps(inner).encode()).decode()
    with pytest.raises(DecryptionError):
        Keystore.decrypt(tampered, KEY)


def test_compressed_store_reads_and_writes_back_compressed() -> None:
    plaintext = b'{"keys":{"m1":[' + b",".join([b"7"] * 32) + b"]}}"
    field = make_field(KEY, plaintext, compressed=True)
    store = Keystore.decrypt(field, KEY)
    assert store.compressed is True
    assert {"m1": bytes([7]) * 32} == dict(store)
    assert field == store.encrypt(KEY)
    store.add("m2", bytes([9]) * 32)
    written = store.encrypt(KEY)
    sdata = bytes(inner_of(written)["sdata"])
    assert sdata.startswith(MARKER)
    opened = nacl.bindings.crypto_secretbox_open_easy(sdata[16:], bytes(inner_of(written)["nonce"]), KEY)
    assert zlib.decompress(opened, -15) == plaintext[:-2] + b',"m2":[' + b",".join([b"9"] * 32) + b"]}}"
    again = Keystore.decrypt(written, KEY)
    assert again.compressed is True
    assert {"m1": bytes([7]) * 32, "m2": bytes([9]) * 32} == dict(again)


def test_compressed_store_with_a_bad_stream() -> None:
    nonce = bytes(24)
    box = nacl.bindings.crypto_secretbox_easy(b"\xff\xff not deflate", nonce, KEY)
    body = {"version": 2, "nonce": list(nonce), "sdata": list(MARKER + box)}
    with pytest.raises(CompressionError):
        Keystore.decrypt(base64.b64encode(json.dumps(body).encode()).decode(), KEY)


def test_keys_of_other_lengths_are_kept_and_extra_fields_survive() -> None:
    field = make_field(KEY, b'{"keys":{"short":[1,2,3]},"future":{"x":1}}')
    store = Keystore.decrypt(field, KEY)
    assert dict(store) == {"short": b"\x01\x02\x03"}
    store.add("new", bytes(32))
    again = Keystore.decrypt(store.encrypt(KEY), KEY)
    assert {"short": b"\x01\x02\x03", "new": bytes(32)} == dict(again)
    assert again._extra["future"] == {"x": 1}


def test_encrypt_under_a_new_key_re_encrypts() -> None:
    case = BY_NAME["ks_one"]
    store = Keystore.decrypt(case["server_response"]["keystore"], KEY)
    new_key = bytes(range(32))
    field = store.encrypt(new_key)
    assert field != case["server_response"]["keystore"]
    assert dict(store) == dict(Keystore.decrypt(field, new_key))


_GOOD_NONCE = list(range(24))


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("not base64!", "not valid base64"),
        ("bm90IGpzb24=", "not valid JSON"),
        (base64.b64encode(b"\xff\xfe").decode(), "not UTF-8"),
        (base64.b64encode(b"[1,2]").decode(), "must be a JSON object, not list"),
        (base64.b64encode(b'{"nonce":[],"sdata":[]}').decode(), "'version' must be an integer"),
        (base64.b64encode(b'{"version":"2","nonce":[],"sdata":[]}').decode(), "'version' must be an integer"),
        (base64.b64encode(b'{"version":true,"nonce":[],"sdata":[]}').decode(), "'version' must be an integer"),
        (base64.b64encode(b'{"version":2.0,"nonce":[],"sdata":[]}').decode(), "'version' must be an integer"),
        (base64.b64encode(b'{"version":2,"sdata":[]}').decode(), "must have 'nonce' and 'sdata'"),
        (base64.b64encode(b'{"version":2,"nonce":[1,2],"sdata":[]}').decode(), "must be 24 bytes, not 2"),
        (base64.b64encode(b'{"version":2,"nonce":"abc","sdata":[]}').decode(), "array of byte values, not str"),
        (base64.b64encode(b'{"version":2,"nonce":[256],"sdata":[]}').decode(), "integers 0-255"),
        (base64.b64encode(b'{"version":2,"nonce":[-1],"sdata":[]}').decode(), "integers 0-255"),
        (base64.b64encode(b'{"version":2,"nonce":[1.5],"sdata":[]}').decode(), "integers 0-255"),
        (base64.b64encode(b'{"version":2,"nonce":[true],"sdata":[]}').decode(), "not booleans"),
        (
            base64.b64encode(json.dumps({"version": 2, "nonce": _GOOD_NONCE, "sdata": {}}).encode()).decode(),
            "'sdata' must be an array of byte values, not dict",
        ),
    ],
)
def test_malformed_fields(field: str, message: str) -> None:
    with pytest.raises(KeystoreFormatError, match=message):
        Keystore.decrypt(field, KEY)


@pytest.mark.parametrize(
    ("plaintext", "message"),
    [
        (b"[]", r'\{"keys": \{\.\.\.\}\}'),
        (b'{"keys":[]}', r'\{"keys": \{\.\.\.\}\}'),
        (b'{"nokeys":{}}', r'\{"keys": \{\.\.\.\}\}'),
        (b'{"keys":{"m":"abc"}}', "a keystore key must be an array"),
        (b'{"keys":{"m":[300]}}', "a keystore key must hold integers 0-255"),
        (b"\xc3\x28", "not UTF-8"),
        (b"{", "not valid JSON"),
    ],
)
def test_malformed_plaintext(plaintext: bytes, message: str) -> None:
    with pytest.raises(KeystoreFormatError, match=message):
        Keystore.decrypt(make_field(KEY, plaintext), KEY)


def test_argument_errors() -> None:
    field = BY_NAME["ks_one"]["server_response"]["keystore"]
    with pytest.raises(CryptoError, match="32 bytes"):
        Keystore.decrypt(field, KEY[:16])
    with pytest.raises(KeystoreFormatError, match="not bytes"):
        Keystore.decrypt(field.encode(), KEY)
    with pytest.raises(CryptoError, match="32 bytes"):
        Keystore().encrypt(b"short")


def test_add_and_new_meta() -> None:
    case = BY_NAME["ks_one"]
    field = case["server_response"]["keystore"]
    store = Keystore.decrypt(field, KEY)
    (meta,) = store
    # Re-adding the same key changes nothing: the original bytes still come back.
    store.add(meta, store[meta])
    assert field == store.encrypt(KEY)
    with pytest.raises(CryptoError, match="already has a different key"):
        store.add(meta, bytes(32))
    with pytest.raises(CryptoError, match="32 bytes"):
        store.add("other", bytes(24))
    for bad_meta in ["", "x" * 129, 5]:
        with pytest.raises(KeystoreFormatError, match="non-empty str"):
            store.add(bad_meta, bytes(32))  # type: ignore[arg-type]
    assert len(store) == 1
    new1, new2 = store.new_meta(), store.new_meta()
    assert uuid.UUID(new1).version == 4
    assert new1 != new2
    assert len(store[new1]) == 32
    assert store[new1] != store[new2]
    assert len(store) == 3


def test_mapping_protocol_and_missing_meta() -> None:
    store = Keystore({"m": bytes(32)})
    assert "m" in store
    assert "x" not in store
    assert store.get("x") is None
    assert store.get("m") == bytes(32)
    with pytest.raises(MissingKeyError) as info:
        store["x"]
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "no key in the keystore for meta 'x'"
    assert Keystore({"m": bytes(32)}) == store


def test_repr_and_errors_show_no_key_material() -> None:
    case = BY_NAME["ks_many"]
    key = bytes.fromhex(case["encryption_key_hex"])
    store = Keystore.decrypt(case["server_response"]["keystore"], key)
    assert repr(store) == "<Keystore: 40 keys, version 2>"
    assert str(store) == repr(store)
    secrets = [key.hex(), *(value.hex() for value in store.values())]
    with pytest.raises(CryptoError) as info:
        store.add(next(iter(store)), bytes(32))
    for text in [repr(store), str(info.value)]:
        for secret in secrets:
            assert secret not in text
        assert "[" not in text

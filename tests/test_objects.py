"""User objects against tests/data/vectors/objects.json: decrypt, write back (unmodified, modified), refuse bad ones."""

from __future__ import annotations

import base64
import copy
import json
import zlib
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest

from nai_sdk.content import (
    UserObject,
    decode_document,
    decrypt_object,
    decrypt_objects,
    encode_document,
    encrypt_object,
)
from nai_sdk.errors import (
    CompressionError,
    CryptoError,
    DecryptionError,
    DocumentError,
    ObjectFormatError,
    UploadRefusedError,
)
from nai_sdk.keystore import Keystore, MissingKeyError

VECTORS = Path(__file__).parent / "data" / "vectors"
OBJECTS = json.loads((VECTORS / "objects.json").read_text(encoding="utf-8"))
CASES = {case["name"]: case for case in OBJECTS["objects"]}
READABLE = [case for case in OBJECTS["objects"] if case["kind"] != "negative"]
ENCRYPTED = [case for case in READABLE if case["kind"] == "encrypted"]
MARKER = b"\x00" * 15 + b"\x01"
KEYS = {meta: bytes.fromhex(value) for meta, value in OBJECTS["keystores_used"]["ks_three"]["keys"].items()}


@pytest.fixture
def keystore() -> Keystore:
    return Keystore(KEYS)


def blob(wire: dict[str, Any]) -> bytes:
    return base64.b64decode(wire["data"], validate=True)


def open_encrypted(wire: dict[str, Any], key: bytes) -> tuple[bytes, bytes, bool]:
    """(nonce, plaintext JSON bytes, compressed) of an encrypted wire object, by hand with pynacl and zlib."""
    raw = blob(wire)
    compressed = raw.startswith(MARKER)
    if compressed:
        raw = raw[16:]
    opened = nacl.bindings.crypto_secretbox_open_easy(raw[24:], raw[:24], key)
    return raw[:24], (zlib.decompress(opened, -15) if compressed else opened), compressed


def make_wire(obj_type: str, plaintext: bytes, key: bytes | None, *, compressed: bool = False) -> dict[str, Any]:
    if compressed:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        plaintext = packer.compress(plaintext) + packer.flush()
    payload = plaintext
    if key is not None:
        nonce = bytes(range(24))
        payload = nonce + nacl.bindings.crypto_secretbox_easy(plaintext, nonce, key)
    data = base64.b64encode(MARKER + payload if compressed else payload).decode()
    meta = next(iter(KEYS)) if key is not None else ""
    return {"id": "abcdefghijklmnopqrstu", "type": obj_type, "meta": meta, "data": data, "changeIndex": 7}


# --- reading the vectors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", READABLE, ids=[case["name"] for case in READABLE])
def test_vectors_decrypt(case: dict[str, Any], keystore: Keystore) -> None:
    raw = case["object"]
    obj = decrypt_object(raw, keystore)
    expected = case["expected"]
    assert expected["decrypted"] is True
    assert obj.ok
    assert obj.error is None
    assert expected["data"] == obj.data
    assert expected["compressed"] == obj.compressed
    assert (raw["id"], raw["type"], raw["meta"]) == (obj.id, obj.type, obj.meta)
    assert (raw["changeIndex"], raw["lastUpdatedAt"]) == (obj.change_index, obj.last_updated_at)
    assert obj.raw is raw
    assert obj.modified is False


@pytest.mark.parametrize("case", READABLE, ids=[case["name"] for case in READABLE])
def test_unmodified_objects_write_back_their_original_bytes(case: dict[str, Any], keystore: Keystore) -> None:
    # Even storycontent_fflate (reencrypt_identical false for novelai-api): unmodified means untouched here.
    obj = decrypt_object(case["object"], keystore)
    assert case["object"] == encrypt_object(obj, keystore)
    assert case["object"] == encrypt_object(obj, None)


@pytest.mark.parametrize("case", READABLE, ids=[case["name"] for case in READABLE])
def test_modified_objects_are_rewritten(case: dict[str, Any], keystore: Keystore) -> None:
    obj = decrypt_object(case["object"], keystore)
    assert obj.data is not None
    obj.data["addedByTest"] = "é🐈"
    assert obj.modified is True
    wire = encrypt_object(obj, keystore)
    assert wire["data"] != case["object"]["data"]
    assert {k: v for k, v in case["object"].items() if k != "data"} == {k: v for k, v in wire.items() if k != "data"}
    expected = {**case["expected"]["data"], "addedByTest": "é🐈"}
    again = decrypt_object(wire, keystore)
    assert expected == again.data
    assert case["expected"]["compressed"] == again.compressed
    assert blob(wire).startswith(MARKER) is case["expected"]["compressed"]
    if case["kind"] == "encrypted":
        nonce, plaintext, _ = open_encrypted(wire, KEYS[obj.meta])
        assert case["expected"]["nonce_hex"] != nonce.hex()
        # Compact, raw UTF-8, original key order with the new key last.
        assert plaintext.endswith('"addedByTest":"é🐈"}'.encode())
        assert json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode() == plaintext


@pytest.mark.parametrize("case", ENCRYPTED, ids=[case["name"] for case in ENCRYPTED])
def test_each_encryption_of_modified_content_has_a_fresh_nonce(case: dict[str, Any], keystore: Keystore) -> None:
    obj = decrypt_object(case["object"], keystore)
    assert obj.data is not None
    obj.data["n"] = 1
    nonces = {open_encrypted(encrypt_object(obj, keystore), KEYS[obj.meta])[0] for _ in range(3)}
    assert len(nonces) == 3
    obj.mark_modified()
    del obj.data["n"]
    first, second = encrypt_object(obj, keystore), encrypt_object(obj, keystore)
    assert first["data"] != second["data"] != case["object"]["data"]


def test_in_place_nested_change_is_noticed_and_undoing_it_is_too(keystore: Keystore) -> None:
    obj = decrypt_object(CASES["storycontent_uncompressed"]["object"], keystore)
    assert obj.data is not None
    parameters = obj.data["settings"]["parameters"]
    parameters["temperature"] = 0.9
    assert obj.modified is True
    parameters["temperature"] = 0.72
    assert obj.modified is False
    # false and 0 compare equal in Python, but they are different JSON.
    obj.data["settings"]["parameters"]["top_k"] = False
    assert obj.modified is True


def test_other_spellings_of_equal_json_count_as_unmodified(keystore: Keystore) -> None:
    key = KEYS[next(iter(KEYS))]
    text = b'{ "b" : 1e-7, "a" : [ 1 , 2 ], "s" : "\\u00e9\\ud83d\\udc08" }'
    wire = make_wire("stories", text, key)
    obj = decrypt_object(wire, keystore)
    assert obj.data == {"b": 1e-7, "a": [1, 2], "s": "é🐈"}
    assert obj.modified is False
    assert wire == encrypt_object(obj, keystore)


def test_unknown_fields_survive_a_modification(keystore: Keystore) -> None:
    raw = {**CASES["story_plain"]["object"], "futureEnvelopeField": [1]}
    obj = decrypt_object(raw, keystore)
    assert obj.data is not None
    obj.data["title"] = "New title"
    wire = encrypt_object(obj, keystore)
    assert wire["futureEnvelopeField"] == [1]
    expected = {**CASES["story_plain"]["expected"]["data"], "title": "New title"}
    assert expected == decrypt_object(wire, keystore).data


def test_lone_surrogates_are_written_as_javascript_does(keystore: Keystore) -> None:
    obj = decrypt_object(CASES["story_unicode"]["object"], keystore)
    assert obj.data is not None
    obj.data["title"] = "lone \ud800 and split pair \ud83d\udc08"
    wire = encrypt_object(obj, keystore)
    _, plaintext, _ = open_encrypted(wire, KEYS[obj.meta])
    assert '"title":"lone \\ud800 and split pair 🐈"'.encode() in plaintext
    plaintext.decode("utf-8")  # valid UTF-8, unlike surrogatepass output
    again = decrypt_object(wire, keystore)
    assert again.data is not None
    assert again.data["title"] == "lone \ud800 and split pair 🐈"


def test_changing_meta_re_encrypts_under_the_new_key(keystore: Keystore) -> None:
    raw = CASES["story_plain"]["object"]
    obj = decrypt_object(raw, keystore)
    other = next(meta for meta in KEYS if meta != raw["meta"])
    obj.meta = other
    assert obj.modified is True
    wire = encrypt_object(obj, keystore)
    assert other == wire["meta"]
    _, plaintext, _ = open_encrypted(wire, KEYS[other])
    assert CASES["story_plain"]["plaintext_json"].encode() == plaintext


def test_changing_compression_rewrites(keystore: Keystore) -> None:
    obj = decrypt_object(CASES["preset_compressed"]["object"], keystore)
    obj.compressed = False
    wire = encrypt_object(obj, None)
    assert CASES["preset_compressed"]["plaintext_json"].encode() == blob(wire)


# --- objects that cannot be read ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("tampered", DecryptionError, "wrong key"),
        ("unknown_meta", MissingKeyError, "00000000-0000-4000-8000-000000000000"),
        ("preset_not_json", ObjectFormatError, "not UTF-8"),
    ],
)
def test_negative_vectors_carry_their_error_and_refuse_upload(
    name: str, error: type[Exception], message: str, keystore: Keystore
) -> None:
    case = CASES[name]
    raw = copy.deepcopy(case["object"])
    obj = decrypt_object(raw, keystore)
    assert obj.ok is False
    assert obj.data is None
    assert isinstance(obj.error, error)
    assert message in str(obj.error)
    assert raw == case["object"]
    assert obj.raw is not None
    assert case["object"]["data"] == obj.raw["data"]
    assert obj.modified is False
    with pytest.raises(UploadRefusedError) as info:
        encrypt_object(obj, keystore)
    assert info.value.__cause__ is obj.error


def _compressed_plain(body: bytes) -> str:
    return base64.b64encode(MARKER + body).decode()


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        ({"type": "presets", "data": "e30="}, ObjectFormatError, "no str 'id'"),
        ({"id": "x", "type": "novel", "data": "e30="}, ObjectFormatError, "unknown object type 'novel'"),
        ({"id": "x", "type": "presets"}, ObjectFormatError, "must be a base64 string, not NoneType"),
        ({"id": "x", "type": "presets", "data": 5}, ObjectFormatError, "not int"),
        ({"id": "x", "type": "presets", "data": "e30"}, ObjectFormatError, "not valid base64"),
        ({"id": "x", "type": "presets", "data": "W10="}, ObjectFormatError, "JSON object, not list"),
        ({"id": "x", "type": "presets", "data": "Tk"}, ObjectFormatError, "base64"),
        ({"id": "x", "type": "shelf", "data": "TmFO"}, ObjectFormatError, "not valid JSON"),
        ({"id": "x", "type": "shelf", "data": _compressed_plain(b"\xff\xff")}, CompressionError, "invalid"),
        ({"id": "x", "type": "shelf", "data": _compressed_plain(b"")}, CompressionError, "truncated"),
        ({"id": "x", "type": "stories", "meta": 5, "data": "e30="}, ObjectFormatError, "str 'meta'"),
        ({"id": "x", "type": "stories", "meta": next(iter(KEYS)), "data": "e30="}, ObjectFormatError, "too short"),
    ],
)
def test_bad_payloads_give_objects_with_errors(raw: dict[str, Any], error: type[Exception], message: str) -> None:
    obj = decrypt_object(raw, Keystore(KEYS))
    assert isinstance(obj.error, error)
    assert message in str(obj.error)
    with pytest.raises(UploadRefusedError):
        encrypt_object(obj, Keystore(KEYS))


def test_encrypted_object_without_keystore() -> None:
    obj = decrypt_object(CASES["story_plain"]["object"], None)
    assert isinstance(obj.error, MissingKeyError)
    assert "no keystore" in str(obj.error)


def test_decrypt_object_refuses_non_mappings() -> None:
    with pytest.raises(ObjectFormatError, match="must be a mapping, not list"):
        decrypt_object([], None)  # type: ignore[arg-type]


def test_batch_never_aborts(keystore: Keystore) -> None:
    raws: list[Any] = [case["object"] for case in OBJECTS["objects"]]
    raws[3:3] = [None, [1, 2], {"id": 3}]
    objects = decrypt_objects(iter(raws), keystore)
    assert len(raws) == len(objects)
    assert [obj.ok for obj in objects] == [True] * 3 + [False] * 3 + [True] * 5 + [False] * 3
    assert [obj.id for obj in objects[2:7]] == ["8-2EE7iamFttDvNmT6pTz", "", "", "", "q0RihXEO2NWNjYT481TvC"]
    assert "item 3 is a NoneType" in str(objects[3].error)
    assert "item 4 is a list" in str(objects[4].error)
    assert "no str 'id'" in str(objects[5].error)
    assert objects[4].raw is None
    assert objects[5].raw == {"id": 3}
    assert [case["expected"].get("data") for case in OBJECTS["objects"]] == [
        obj.data for obj in objects[:3] + objects[6:]
    ]


# --- new objects ----------------------------------------------------------------------------------------------------


def test_new_encrypted_object_registers_a_meta(keystore: Keystore) -> None:
    story = UserObject.new("stories", {"title": "Fresh"}, keystore)
    assert story.meta in keystore
    assert len(keystore) == 4
    assert keystore.changed is True
    assert len(story.id) == 21
    assert story.modified is True
    assert (story.compressed, story.change_index, story.raw) == (False, None, None)
    content = UserObject.new("storycontent", {"storyContentVersion": 6}, keystore, meta=story.meta)
    assert content.compressed is True
    for obj in (story, content):
        wire = encrypt_object(obj, keystore)
        assert {"id", "type", "meta", "data"} == set(wire)
        again = decrypt_object(wire, keystore)
        assert obj.data == again.data
        assert obj.compressed == again.compressed


def test_new_plain_object_needs_no_keystore() -> None:
    preset = UserObject.new("presets", {"name": "Mine"}, id="my-id", compressed=True)
    wire = encrypt_object(preset, None)
    assert (wire["id"], wire["type"], wire["meta"]) == ("my-id", "presets", "")
    assert zlib.decompress(blob(wire)[16:], -15) == b'{"name":"Mine"}'


def test_new_object_errors(keystore: Keystore) -> None:
    with pytest.raises(ObjectFormatError, match="unknown object type"):
        UserObject.new("novel", {})
    with pytest.raises(ObjectFormatError, match="must be a dict"):
        UserObject.new("presets", [])  # type: ignore[arg-type]
    with pytest.raises(CryptoError, match="a keystore is needed"):
        UserObject.new("stories", {})
    with pytest.raises(MissingKeyError):
        UserObject.new("stories", {}, keystore, meta="not-there")


def test_data_that_json_cannot_hold_is_refused(keystore: Keystore) -> None:
    obj = decrypt_object(CASES["story_plain"]["object"], keystore)
    assert obj.data is not None
    obj.data["bad"] = float("nan")
    with pytest.raises(ObjectFormatError, match="cannot serialise"):
        encrypt_object(obj, keystore)
    obj.data = [1]  # type: ignore[assignment]
    with pytest.raises(ObjectFormatError, match="must be a dict"):
        encrypt_object(obj, keystore)
    with pytest.raises(ObjectFormatError, match="must be a dict"):
        obj.set_data([1])  # type: ignore[arg-type]


def test_set_data_forces_a_rewrite(keystore: Keystore) -> None:
    raw = CASES["aimodule"]["object"]
    obj = decrypt_object(raw, keystore)
    assert obj.data is not None
    obj.set_data(dict(obj.data))
    assert obj.modified is True
    assert raw["data"] != encrypt_object(obj, keystore)["data"]


def test_frozen_identity_fields(keystore: Keystore) -> None:
    obj = decrypt_object(CASES["story_plain"]["object"], keystore)
    with pytest.raises(AttributeError):
        obj.id = "other"  # type: ignore[misc]


def test_repr_shows_no_data_or_keys(keystore: Keystore) -> None:
    obj = decrypt_object(CASES["story_plain"]["object"], keystore)
    text = repr(obj)
    assert text == (
        "UserObject(id='N-TlqevWcIL66tPfiVx6C', type='stories', meta='8e4e8538-21e1-47d0-b8ab-31f485f18564', "
        "compressed=False, ok)"
    )
    bad = decrypt_object(CASES["tampered"]["object"], keystore)
    assert repr(bad).endswith("error=DecryptionError)")
    for secret in [key.hex() for key in KEYS.values()]:
        assert secret not in text
        assert secret not in str(bad.error)


# --- story documents (these tests need nai_sdk/content/_document.py) -----------------------------------------------

DOCUMENTS = {doc["name"]: doc for doc in OBJECTS["documents"]}


def test_document_is_decoded_on_demand(keystore: Keystore) -> None:
    b64 = DOCUMENTS["simple_map"]["b64"]
    content = UserObject.new("storycontent", {"storyContentVersion": 6, "document": b64}, keystore)
    again = decrypt_object(encrypt_object(content, keystore), keystore)
    assert decode_document(b64) == again.document()
    plain = decrypt_object(CASES["storycontent_uncompressed"]["object"], keystore)
    assert plain.document() is None


def test_set_document_re_encodes_and_marks_modified(keystore: Keystore) -> None:
    b64 = DOCUMENTS["set_and_nested"]["b64"]
    wire = make_wire("storycontent", json.dumps({"document": b64}).encode(), KEYS[next(iter(KEYS))], compressed=True)
    obj = decrypt_object(wire, keystore)
    assert obj.modified is False
    document = obj.document()
    assert document is not None
    obj.set_document(document)
    assert obj.modified is True
    assert obj.data is not None
    assert encode_document(document) == obj.data["document"]
    again = decrypt_object(encrypt_object(obj, keystore), keystore)
    assert again.compressed is True
    assert document == again.document()


def test_document_errors(keystore: Keystore) -> None:
    obj = UserObject.new("storycontent", {"document": 5}, keystore)
    with pytest.raises(DocumentError, match="base64 string"):
        obj.document()
    bad = decrypt_object(CASES["tampered"]["object"], keystore)
    with pytest.raises(ObjectFormatError, match="could not be read"):
        bad.document()

"""Property tests for the storage decoders: arbitrary input gives a value or a typed NovelAIError, nothing else.

No argon2 here (it is slow): keys are fixed random bytes.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import nacl.bindings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nai_sdk.content import UserObject, decrypt_object, decrypt_objects, encrypt_object
from nai_sdk.crypto import inflate
from nai_sdk.errors import CompressionError, NovelAIError
from nai_sdk.keystore import Keystore

KEY = bytes(range(1, 33))
META = "8e4e8538-21e1-47d0-b8ab-31f485f18564"
OBJECT_KEY = bytes(range(100, 132))
MARKER = b"\x00" * 15 + b"\x01"
TYPES = ["stories", "storycontent", "aimodules", "presets", "shelf"]

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text with everything Python strings can hold, lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()), max_size=20)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=15,
)
json_objects = st.dictionaries(any_text, json_values, max_size=5)


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@st.composite
def keystore_fields(draw: st.DrawFn) -> Any:
    """Anything from junk text to well-formed keystores holding arbitrary plaintext."""
    byte_lists = st.lists(st.integers(-2, 300) | st.booleans(), max_size=40)
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.text(max_size=60) | st.none() | st.integers() | st.binary(max_size=10))
    if kind == 1:
        return _b64(draw(st.binary(max_size=80)))
    if kind == 2:
        return _b64(json.dumps(draw(json_values)).encode("utf-8", "surrogatepass"))
    if kind == 3:
        inner = {
            "version": draw(st.integers(-3, 3) | st.booleans() | st.text(max_size=2) | st.floats(0, 3)),
            "nonce": draw(byte_lists | st.just(list(range(24))) | st.text(max_size=3)),
            "sdata": draw(byte_lists | st.text(max_size=3) | st.none()),
        }
        return _b64(json.dumps(inner).encode())
    # A box that opens, around arbitrary (maybe JSON, maybe compressed) plaintext.
    plaintext = draw(
        st.binary(max_size=60)
        | json_values.map(lambda value: json.dumps({"keys": value}).encode("utf-8", "surrogatepass"))
        | st.dictionaries(any_text, byte_lists).map(
            lambda keys: json.dumps({"keys": keys}).encode("utf-8", "surrogatepass")
        )
        | st.dictionaries(any_text, st.lists(st.integers(0, 255), max_size=33), max_size=3).map(
            lambda keys: json.dumps({"keys": keys}).encode("utf-8", "surrogatepass")
        )
    )
    compressed = draw(st.booleans())
    if compressed and draw(st.booleans()):
        plaintext = _deflate(plaintext)
    nonce = bytes(24)
    box = nacl.bindings.crypto_secretbox_easy(plaintext, nonce, KEY)
    sdata = MARKER + box if compressed else box
    return _b64(json.dumps({"version": 2, "nonce": list(nonce), "sdata": list(sdata)}).encode())


@SETTINGS
@given(keystore_fields())
def test_keystore_decrypt_gives_a_keystore_or_a_typed_error(field: Any) -> None:
    try:
        store = Keystore.decrypt(field, KEY)
    except NovelAIError:
        return
    assert all(isinstance(meta, str) and isinstance(key, bytes) for meta, key in store.items())
    if field is None:
        assert (len(store), store.version) == (0, 2)
    else:
        assert field == store.encrypt(KEY)


@SETTINGS
@given(st.dictionaries(any_text.filter(lambda meta: 0 < len(meta) <= 128), st.binary(min_size=32, max_size=32)))
def test_keystore_round_trips_any_metas(keys: dict[str, bytes]) -> None:
    store = Keystore(keys)
    assert keys == dict(Keystore.decrypt(store.encrypt(KEY), KEY))


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly plausible envelopes whose payload suits their type (so that decoding gets deep), sometimes junk."""
    junk = st.none() | st.integers() | st.text(max_size=5)
    obj_type = draw(st.sampled_from(TYPES) if draw(st.integers(0, 9)) else junk | st.just("other"))
    meta = draw(st.just(META) if draw(st.integers(0, 9)) else junk)
    raw: dict[str, Any] = {
        "id": draw(st.just("N-TlqevWcIL66tPfiVx6C") if draw(st.integers(0, 9)) else junk),
        "type": obj_type,
        "meta": meta,
    }
    if draw(st.integers(0, 9)) == 0:
        raw["data"] = draw(junk | st.lists(st.integers(), max_size=2))
    else:
        plaintext = draw(
            json_objects.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass"))
            | json_values.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass"))
            | st.binary(max_size=60)
        )
        compressed = draw(st.booleans())
        if compressed and draw(st.integers(0, 4)):
            plaintext = _deflate(plaintext)
        if obj_type in TYPES[:3] and draw(st.integers(0, 4)):
            nonce = draw(st.binary(min_size=24, max_size=24))
            key = OBJECT_KEY if draw(st.integers(0, 4)) else bytes(32)
            plaintext = nonce + nacl.bindings.crypto_secretbox_easy(plaintext, nonce, key)
            if draw(st.integers(0, 9)) == 0:
                plaintext = plaintext[: draw(st.integers(0, len(plaintext)))]
        raw["data"] = _b64(MARKER + plaintext if compressed else plaintext)
    for name in ("changeIndex", "lastUpdatedAt", "extra"):
        if draw(st.booleans()):
            raw[name] = draw(json_values)
    return raw


@SETTINGS
@given(envelopes())
def test_decrypt_object_gives_an_object_that_carries_any_error(raw: dict[str, Any]) -> None:
    store = Keystore({META: OBJECT_KEY})
    obj = decrypt_object(raw, store)
    if obj.ok:
        assert isinstance(obj.data, dict)
        assert obj.modified is False
        # Unmodified: the envelope comes back as read (a plain object's unusable meta is written as "").
        meta = raw["meta"] if isinstance(raw["meta"], str) else ""
        assert {**raw, "meta": meta} == encrypt_object(obj, store)
    else:
        assert isinstance(obj.error, NovelAIError)
        assert obj.data is None


@settings(max_examples=100, deadline=None)
@given(st.lists(envelopes() | st.none() | st.integers() | st.text(max_size=3), max_size=5))
def test_decrypt_objects_never_aborts(raws: list[Any]) -> None:
    assert len(raws) == len(decrypt_objects(raws, Keystore({META: OBJECT_KEY})))


@SETTINGS
@given(st.sampled_from(TYPES), json_objects, st.booleans())
def test_any_json_object_round_trips(obj_type: str, data: dict[str, Any], compressed: bool) -> None:
    store = Keystore({META: OBJECT_KEY})
    obj = UserObject.new(obj_type, data, store, meta=META, compressed=compressed)
    again = decrypt_object(encrypt_object(obj, store), store)
    assert again.error is None
    assert _js_view(obj.data) == _js_view(again.data)


def _js_view(value: Any) -> str:
    """JSON text as JavaScript sees it: a surrogate pair split over two code points *is* the character it spells."""
    return json.dumps(value, ensure_ascii=False).encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


@SETTINGS
@given(st.binary(max_size=200) | st.binary(max_size=60).map(_deflate))
def test_inflate_gives_bytes_or_a_compression_error(data: bytes) -> None:
    try:
        out = inflate(data, max_size=100)
    except CompressionError:
        return
    assert isinstance(out, bytes)
    assert len(out) <= 100

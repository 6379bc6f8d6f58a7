"""Property tests for msgpackr documents: any input gives a Document or a DocumentError; documents round-trip."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nai_sdk.content import Document, decode_document, encode_document
from nai_sdk.content._document import NAI_EXTENSION_TYPES, UNDEFINED, JSMap, JSSet, NaiExt, RawExt
from nai_sdk.errors import DocumentError

DATA = Path(__file__).parent / "data"
SAMPLE_DOCUMENTS = [
    base64.b64decode(case["b64"])
    for path in (DATA / "vectors" / "objects.json", DATA / "msgpackr_documents.json")
    for case in json.loads(path.read_text(encoding="utf-8"))["documents"]
]

# Ext codes msgpackr gives a meaning (records, bundles, sets, undefined, timestamps, NAI types, unsupported ones).
RESERVED_EXT_CODES = {0x72, 0x62, 0x73, 0, -1, 0x65, 0x69, 0x70, 0x78, *NAI_EXTENSION_TYPES}

timestamps = st.builds(msgpack.Timestamp, st.integers(-(2**63), 2**63 - 1), st.integers(0, 999_999_999))
raw_exts = st.builds(
    RawExt, st.integers(-128, 127).filter(lambda code: code not in RESERVED_EXT_CODES), st.binary(max_size=20)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(),
    st.text(),
    st.binary(max_size=20),
    st.just(UNDEFINED),
    timestamps,
    raw_exts,
)
hashable_keys = st.one_of(
    st.text(max_size=6), st.integers(-1000, 1000), st.booleans(), st.none(), st.floats(), st.binary(max_size=4)
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(JSSet),
        st.dictionaries(st.text(max_size=6), children, max_size=5),
        st.dictionaries(hashable_keys, children, max_size=4),
        st.dictionaries(hashable_keys, children, max_size=4).map(JSMap),
        st.builds(NaiExt, st.sampled_from(sorted(NAI_EXTENSION_TYPES)), children),
    ),
    max_leaves=40,
)
# Lists of records drawn from a dozen key names: well over 64 shapes (key order counts), so slots get recycled.
many_shapes = st.lists(
    st.dictionaries(st.sampled_from([f"k{i}" for i in range(12)]), st.integers(0, 200), min_size=1, max_size=6),
    min_size=60,
    max_size=250,
)


def decodes_or_refuses(data: bytes) -> Document | None:
    try:
        return Document.from_msgpack(data)
    except DocumentError:
        return None


@given(st.binary(max_size=200))
@settings(max_examples=500)
def test_any_bytes_decode_to_a_document_or_a_document_error(data: bytes) -> None:
    document = decodes_or_refuses(data)
    if document is not None:
        assert document == Document.from_msgpack(document.to_msgpack())


@given(st.text(max_size=120))
def test_any_text_decodes_to_a_document_or_a_document_error(text: str) -> None:
    with contextlib.suppress(DocumentError):
        decode_document(text)


@given(st.binary(max_size=150).map(lambda data: base64.b64encode(data).decode()))
def test_any_base64_decodes_to_a_document_or_a_document_error(text: str) -> None:
    try:
        document = decode_document(text)
    except DocumentError:
        return
    assert document == decode_document(encode_document(document))


@given(st.sampled_from(SAMPLE_DOCUMENTS), st.data())
@settings(max_examples=300)
def test_damaged_documents_decode_or_refuse(data: bytes, draw: st.DataObject) -> None:
    damaged = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        position = draw.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(damaged)))
    for candidate in (bytes(damaged), bytes(damaged[:cut])):
        document = decodes_or_refuses(candidate)
        if document is not None:
            assert document == Document.from_msgpack(document.to_msgpack())


@given(values)
@settings(max_examples=300)
def test_documents_round_trip(root: Any) -> None:
    document = Document(root)
    assert document == decode_document(encode_document(document))


@given(many_shapes)
# Each example is deliberately large (60-250 records of many shapes): generation time is the point, not a smell.
@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
def test_documents_with_many_record_shapes_round_trip(records: list[dict[str, int]]) -> None:
    document = Document(records)
    assert document == Document.from_msgpack(document.to_msgpack())


@given(values, st.text(max_size=10))
def test_editing_strings_keeps_everything_else(root: Any, suffix: str) -> None:
    edited = Document(root).map_strings(lambda text: text + suffix)
    reread = decode_document(encode_document(edited))
    assert edited == reread
    assert Document(root) == reread.map_strings(lambda text: text[: len(text) - len(suffix)])

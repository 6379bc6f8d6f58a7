"""msgpackr story documents: known answers from the JS msgpackr library, round trips, edits, and bad input."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from nai_sdk.content import Document, decode_document, encode_document
from nai_sdk.content._document import MAX_DEPTH, UNDEFINED, JSMap, JSSet, NaiExt, RawExt
from nai_sdk.errors import DocumentError, FormatError

DATA = Path(__file__).parent / "data"
VECTOR_DOCUMENTS = json.loads((DATA / "vectors" / "objects.json").read_text(encoding="utf-8"))["documents"]
JS_DOCUMENTS = json.loads((DATA / "msgpackr_documents.json").read_text(encoding="utf-8"))["documents"]
JS_BY_NAME = {document["name"]: document for document in JS_DOCUMENTS}


# --- converters between the JSON vectors and decoded values -----------------------------------------------------


def as_expected_decoded(value: Any) -> Any:
    """The shape of objects.json `expected_decoded` (its notes): NAI wrappers removed, Maps as objects with
    stringified keys, Sets as arrays. Only the key types the vectors use (str, int) are stringified."""
    if isinstance(value, NaiExt):
        return as_expected_decoded(value.value)
    if isinstance(value, JSMap):
        for key in value:
            assert type(key) in (str, int), f"no JSON spelling for a {type(key).__name__} key"
        return {str(key): as_expected_decoded(item) for key, item in value.items()}
    if isinstance(value, dict):
        return {key: as_expected_decoded(item) for key, item in value.items()}
    if isinstance(value, list):  # JSSet too
        return [as_expected_decoded(item) for item in value]
    return value


def from_js_view(view: Any) -> Any:
    """The Python value for a `js_view` of msgpackr_documents.json (encoding described in its .mjs script)."""
    if isinstance(view, list):
        return [from_js_view(item) for item in view]
    if not isinstance(view, dict):
        return view  # str, bool, None, int: numbers msgpackr wrote as floats are {"$float": ...}
    if "$map" in view:
        return JSMap((from_js_view(key), from_js_view(item)) for key, item in view["$map"])
    if "$set" in view:
        return JSSet(from_js_view(item) for item in view["$set"])
    if "$ext" in view:
        return NaiExt(view["$ext"], from_js_view(view["value"]))
    if "$undefined" in view:
        return UNDEFINED
    if "$date" in view:
        return msgpack.Timestamp.from_unix_nano(view["$date"] * 1_000_000)
    if "$bin" in view:
        return bytes.fromhex(view["$bin"])
    if "$typed" in view:
        # msgpackr ext 0x74: one byte naming the typed array, then its bytes; kept as an uninterpreted ext.
        return RawExt(0x74, bytes([view["$typed"]]) + bytes.fromhex(view["hex"]))
    if "$float" in view:
        return float(view["$float"])
    if "$bigint" in view:
        return int(view["$bigint"])
    return {key: from_js_view(item) for key, item in view.items()}


def json_text(value: Any) -> str:
    # JSON text tells true from 1 and 1 from 1.0, which == does not.
    return json.dumps(value, ensure_ascii=False)


# --- known answers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", VECTOR_DOCUMENTS, ids=lambda case: case["name"])
def test_vector_document_decodes_to_expected(case: dict[str, Any]) -> None:
    document = decode_document(case["b64"])
    assert json_text(case["expected_decoded"]) == json_text(as_expected_decoded(document.root))


@pytest.mark.parametrize("case", VECTOR_DOCUMENTS + JS_DOCUMENTS, ids=lambda case: case["name"])
def test_round_trip(case: dict[str, Any]) -> None:
    document = decode_document(case["b64"])
    assert decode_document(encode_document(document)) == document


@pytest.mark.parametrize("case", JS_DOCUMENTS, ids=lambda case: case["name"])
def test_js_document_decodes_to_what_msgpackr_reads(case: dict[str, Any]) -> None:
    assert Document(from_js_view(case["js_view"])) == decode_document(case["b64"])


def test_typed_values_are_kept() -> None:
    root = decode_document(JS_BY_NAME["typed_values"]["b64"]).root
    assert NaiExt(20, {"t": 20, "inner": NaiExt(40, [1, 2])}) == root["nai"][0]
    assert JSSet(["x", "y", 3]) == root["set"]
    assert JSMap({1: "one", 70: "seventy", -3: "minus three"}) == root["intMap"]
    assert root["undef"] is UNDEFINED
    assert root["arrayWithUndefined"] == [1, UNDEFINED, None]
    assert root["bin"] == b"\x00\x01\x02\xff"
    assert msgpack.Timestamp(1700000000, 123_000_000) == root["dates"][1]
    # msgpackr writes integers beyond int32/uint32 as float64.
    wide = [root["ints"][11], *root["ints"][-2:]]
    assert [(type(n), n) for n in wide] == [(float, 4294967296.0), (float, -2147483649.0), (float, 9007199254740991.0)]
    assert root["typed"][1] == RawExt(0x74, b"\x07\x00\x00\xc0\x3f")  # a Float32Array, kept as its bytes
    assert root["bigints"] == [9223372036854775807, -9223372036854775808, 18446744073709551615]


def test_vector_all_ext_types_keeps_the_nai_types() -> None:
    root = decode_document(VECTOR_DOCUMENTS[1]["b64"]).root
    assert [item.type for item in root] == [20, 30, 31, 40, 41, 42]
    assert NaiExt(31, {"t": 31, "payload": [31, "x31"]}) == root[2]


def test_map_and_record_stay_distinct() -> None:
    # set_and_nested: "empty_map" was a JS Map (a msgpack map), the root a JS object (a record).
    root = decode_document(VECTOR_DOCUMENTS[3]["b64"]).root
    assert type(root) is dict
    assert type(root["empty_map"]) is JSMap
    assert JSMap() != {}
    assert JSMap() != {}
    assert JSSet([1]) != [1]
    assert JSSet([1]) != [1]
    assert Document({"a": 1}) != Document(JSMap({"a": 1}))
    assert Document([True]) != Document([1])
    assert Document([1]) != Document([1.0])
    assert Document([UNDEFINED]) != Document([None])


# --- records, bundles, state ----------------------------------------------------------------------------------------


def test_slot_recycling_past_64_shapes() -> None:
    root = decode_document(JS_BY_NAME["recycled_slots"]["b64"]).root
    assert len(root) == 153
    assert root[149] == {"id": 149, "field_149": "value 149"}
    assert root[150] == {"id": 1000, "field_3": "again 3"}
    assert root[152] == {"id": 1002, "field_149": "x"}


def test_encoder_recycles_slots_past_64_shapes() -> None:
    records = [{"id": i, f"field_{i}": i} for i in range(150)] + [{"id": 0, "field_0": "again"}]
    data = Document(records).to_msgpack()
    # Slot 0x40 is defined for shapes 0, 64 and 128; shape 0, its slot recycled, is defined again (in slot 0x56).
    assert data.count(b"\xd4\x72\x40") == 3
    assert data.count(b"\xd4\x72\x56\x92\xa2id\xa7field_0") == 1
    assert Document(records) == Document.from_msgpack(data)


def test_encoder_references_a_known_shape_with_one_byte() -> None:
    data = Document([{"a": 1}, {"a": 2}]).to_msgpack()
    assert bytes.fromhex("92 d4 72 40 91 a1 61 01 40 02") == data


def test_bundled_string_right_before_the_bundle_strings() -> None:
    assert decode_document(JS_BY_NAME["bundled_string_last"]["b64"]).root == [
        {"a": "first string"},
        "last bundled string",
    ]
    long_text = decode_document(VECTOR_DOCUMENTS[2]["b64"]).root
    assert long_text["texts"][-1] == "line number 9"


def test_several_bundles_and_utf16_lengths() -> None:
    paragraphs = decode_document(JS_BY_NAME["many_bundles"]["b64"]).root["paragraphs"]
    assert len(paragraphs) == 700
    assert paragraphs[699] == "Абзац 699: фонарь качался на ветру 🏮 — «тени»."
    assert paragraphs[698] == "Paragraph 698: the lantern swung in the wind."


def test_fresh_state_for_every_document() -> None:
    # 0x40 and 0x41 are plain integers while no record uses their slots.
    plain = base64.b64encode(b"\x92\x40\x41").decode()
    cases = [(case["b64"], decode_document(case["b64"])) for case in VECTOR_DOCUMENTS + JS_DOCUMENTS]
    for b64, expected in cases + cases[::-1]:
        assert expected == decode_document(b64)
        assert decode_document(plain).root == [64, 65]


def test_two_byte_record_ids() -> None:
    # Read by msgpackr 2.1.3 as [{"a":1},{"b":2},{"a":3},{"b":4},65]: D5 72 <id> <high byte> defines a two-byte id.
    data = bytes.fromhex("95 d5726000 91a161 01 d5726001 91a162 02 6000 03 6001 04 41")
    assert Document.from_msgpack(data).root == [{"a": 1}, {"b": 2}, {"a": 3}, {"b": 4}, 65]


def test_small_ints_are_not_written_as_record_references() -> None:
    assert bytes.fromhex("94 00 3f cc40 cc7f") == Document([0, 63, 64, 127]).to_msgpack()


def test_invalid_date_is_kept_as_its_bytes() -> None:
    document = Document.from_msgpack(b"\xd4\xff\xff")
    assert RawExt(-1, b"\xff") == document.root
    assert document.to_msgpack() == b"\xd4\xff\xff"


def test_unknown_extension_is_kept_as_its_bytes() -> None:
    data = bytes.fromhex("d6 74 01020304")  # a typed array for msgpackr: not interpreted here
    document = Document.from_msgpack(data)
    assert RawExt(0x74, b"\x01\x02\x03\x04") == document.root
    assert data == document.to_msgpack()


# --- editing -------------------------------------------------------------------------------------------------------


def test_edit_text_and_write_back_keeps_everything_else() -> None:
    case = JS_BY_NAME["story_like"]
    document = decode_document(case["b64"])
    path = (NaiExt, "sections", 1021, NaiExt, "text")
    assert document.get(path) != "Section 3: the lantern swung in the wind, casting long shadows."
    assert document.get(path) == "Ein Absatz mit Umlauten: äöü ß."

    document.set(path, "Rewritten: the lamp went out.")
    reread = decode_document(encode_document(document))

    expected = from_js_view(case["js_view"])
    expected.value["sections"][1021].value["text"] = "Rewritten: the lamp went out."
    assert Document(expected) == reread
    assert type(reread.root.value["sections"]) is JSMap
    assert JSSet(["fantasy", "night"]) == reread.root.value["tags"]
    assert reread.root.value["undef"] is UNDEFINED
    assert msgpack.Timestamp(1700000000, 0) == reread.root.value["createdAt"]


def test_strings_lists_every_string_value_with_its_path() -> None:
    document = decode_document(JS_BY_NAME["story_like"]["b64"])
    texts = [(path, text) for path, text in document.strings() if path[-1] == "text"]
    assert len(texts) == 12
    assert (NaiExt, "sections", 1000, NaiExt, "text") == texts[0][0]
    assert texts[0][1] == "Section 0: the lantern swung in the wind, casting long shadows."
    for path, text in document.strings():
        assert text == document.get(path)


def test_map_strings_changes_strings_only() -> None:
    document = decode_document(JS_BY_NAME["typed_values"]["b64"])
    upper = document.map_strings(str.upper)
    assert JSSet(["X", "Y", 3]) == upper.root["set"]
    assert JSMap({1: "ONE", 70: "SEVENTY", -3: "MINUS THREE"}) == upper.root["intMap"]
    assert upper.map_strings(str.lower) == document.map_strings(str.lower)
    assert document.root["intMap"][1] == "one"  # the original is untouched


def test_get_and_set_refuse_missing_paths() -> None:
    document = Document({"a": [1, 2]})
    with pytest.raises(KeyError):
        document.get(("a", 5))
    with pytest.raises(KeyError):
        document.get(("b",))
    with pytest.raises(KeyError):
        document.set(("a", 0, "x"), 1)
    document.set(("a", -1), 3)
    document.set((), {"new": True})
    assert Document({"new": True}) == document


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty document"),
        (b"\xcd\x01", "truncated"),
        (b"\xdd\xff\xff\xff\xff", "array of 4294967295 items longer than the data"),
        (b"\xdf\xff\xff\xff\xff", "map of 4294967295 entries longer than the data"),
        (b"\xdb\xff\xff\xff\xff", "truncated"),
        (b"\x91" * (MAX_DEPTH + 1) + b"\xc0", "nesting deeper than"),
        (b"\xc1\x01", "outside a string bundle"),
        (b"\x01\x02", "data after the document's value"),
        (b"\xd4\x14\x00", "truncated"),
        (b"\xd5\x14\x00\x00\xc0", "NovelAI extension 20 with 2 data bytes"),
        (b"\xd4\x65\x00\x91\xc0", "unsupported msgpackr extension 0x65"),
        (b"\x81\x90\x01", "map key of type list is not hashable"),
        (b"\xd4\x72\x40\x01", "record definition without a key array"),
        (b"\xd4\x72\x40\x91\x90\x01", "record keys must be hashable"),
        (b"\xd6\x62\x00\x00\x00\xff\xc1\x01", "string bundle points past the end"),
        (b"\xd6\x62\x00\x00\x00\x04\xc1\x01\x01\x01", "string bundle does not point at strings"),
        (b"\xd4\x73\x00\x01", "set extension not followed by an array"),
        (b"\x92\xd5\x72\x60\x00\x91\xa1\x61\x01\x60\x05", "record id"),
    ],
)
def test_bad_bytes_raise_document_error(data: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        Document.from_msgpack(data)


@pytest.mark.parametrize("text", ["not base64!", "AAA", "ü", "1HJA\n"])
def test_bad_base64_raises_document_error(text: str) -> None:
    with pytest.raises(DocumentError):
        decode_document(text)


def test_document_error_is_a_format_error_and_a_value_error() -> None:
    with pytest.raises(FormatError):
        decode_document("")
    with pytest.raises(ValueError):
        decode_document("")


@pytest.mark.parametrize(
    "root",
    [
        2**64,
        -(2**63) - 1,
        "\ud800",
        object(),
        {(1, 2): "tuple key"},
        JSMap({frozenset(): 1}),
        RawExt(0x72, b"\x40"),
        RawExt(-1, b"\x00\x00\x00\x01"),
        RawExt(-129, b""),
        RawExt(5, "not bytes"),  # type: ignore[arg-type]
    ],
)
def test_values_without_a_msgpackr_form_raise_document_error(root: Any) -> None:
    with pytest.raises(DocumentError):
        encode_document(Document(root))


def test_cycles_and_deep_values_raise_document_error() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(DocumentError, match="contains itself"):
        encode_document(Document(cycle))
    deepest: Any = None
    for _ in range(MAX_DEPTH):
        deepest = [deepest]
    assert Document(deepest) == Document.from_msgpack(Document(deepest).to_msgpack())
    with pytest.raises(DocumentError):
        Document([deepest]).to_msgpack()


def test_nai_ext_type_is_checked() -> None:
    with pytest.raises(DocumentError):
        NaiExt(21, None)

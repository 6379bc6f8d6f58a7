"""Regression tests for hostile input to the storage decoders: one test (or more) per class of issue 14.

Each input here used to raise a raw exception or to cost unbounded memory or time; each must now end in a typed
error (a `NovelAIError`, or a per-item error in a batch) within bounded memory.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nai_sdk._constants import DEFAULT_MAX_INFLATED_SIZE, MAX_DOCUMENT_DEPTH
from nai_sdk.content import Document, JSMap, JSSet, NaiExt, decode_document, decrypt_object, decrypt_objects
from nai_sdk.content import encrypt_object as encrypt
from nai_sdk.crypto import InflateBudget, b64decode, compress, inflate, secretbox_decrypt
from nai_sdk.errors import (
    CompressionError,
    ConfigurationError,
    CryptoError,
    DocumentError,
    FormatError,
    ObjectFormatError,
    PresetError,
)
from nai_sdk.keystore import Keystore
from nai_sdk.presets import BanList, BiasGroup, Preset

ROOT = Path(__file__).resolve().parent.parent
MARKER = b"\x00" * 15 + b"\x01"
GiB = 1 << 30
MiB = 1 << 20


def zero_bomb(size: int, *, block: int = MiB) -> bytes:
    """Raw DEFLATE of `size` zero bytes, built in O(size / block): each full-flushed block compresses alike."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(bytes(block)) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(bytes(block)) + packer.flush(zlib.Z_FULL_FLUSH)
    # After a full flush the compressor starts afresh, so every later block is the same bytes.
    assert again == packer.compress(bytes(block)) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + again * (size // block - 1) + packer.flush()


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux's VmHWM: of its own memory, nothing inherited)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def plain(obj_type: str, payload: bytes, *, compressed: bool = True, **fields: Any) -> dict[str, Any]:
    data = base64.b64encode(MARKER + payload if compressed else payload).decode()
    return {"id": "N-TlqevWcIL66tPfiVx6C", "type": obj_type, "meta": "", "data": data, "changeIndex": 1, **fields}


GOOD = plain("shelf", compress(b'{"name":"ok"}'))


# --- inflate: budgets per object and per call, streamed ------------------------------------------------------------


def test_bomb_helper_builds_what_it_says() -> None:
    bomb = zero_bomb(8 * MiB)
    assert 8 * MiB == len(zlib.decompressobj(-15).decompress(bomb))


@pytest.mark.parametrize("obj_type", ["presets", "shelf"])
def test_a_plain_object_inflating_to_a_gib_is_a_per_item_error_in_bounded_memory(obj_type: str) -> None:
    # The object of the issue: 1.4 MB of base64 that inflates to 1 GiB, in a plain object (no key needed to plant
    # it). Measured in a fresh interpreter, as the peak RSS of its memory (VmHWM; ru_maxrss would start from the
    # high-water mark of this test process, carried over through fork and exec).
    code = textwrap.dedent(f"""
        import base64, sys, time
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_hostile_storage import GOOD, peak_rss, plain, zero_bomb
        from nai_sdk.content import decrypt_objects
        raw = plain({obj_type!r}, zero_bomb({GiB}))
        assert 1_300_000 < len(raw["data"]) < 1_500_000, len(raw["data"])
        start = time.perf_counter()
        bad, good = decrypt_objects([raw, GOOD], None)
        seconds = time.perf_counter() - start
        print(type(bad.error).__name__, good.ok, seconds, peak_rss())
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    error, good_ok, seconds, peak = result.stdout.split()
    assert ("CompressionError", "True") == (error, good_ok)
    # The budget (128 MiB) plus the interpreter, the input and one inflate step: far below the GiB it inflates to.
    assert int(peak) < DEFAULT_MAX_INFLATED_SIZE + 160 * MiB, f"peak RSS {int(peak) / MiB:.0f} MiB"
    assert float(seconds) < 10


def test_inflate_stops_at_the_budget_without_allocating_the_whole() -> None:
    bomb = zero_bomb(64 * MiB)
    tracemalloc.start()
    try:
        with pytest.raises(CompressionError, match="more than 8388608 bytes"):
            inflate(bomb, max_size=8 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 8 * MiB


def test_a_refused_object_does_not_keep_the_refused_output_alive() -> None:
    # The error stays on the object, and its traceback holds inflate's frame: the output must not be in it.
    tracemalloc.start()
    try:
        (obj,) = decrypt_objects([plain("presets", zero_bomb(16 * MiB))], None, max_inflated_size=8 * MiB)
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(obj.error, CompressionError)
    assert current < 2 * MiB


def test_the_listing_budget_bounds_the_sum_and_counts_refused_output() -> None:
    member = compress(b'{"x":"' + b"a" * 300_000 + b'"}')
    raws = [plain("presets", zero_bomb(4 * MiB)), *(plain("shelf", member) for _ in range(5)), GOOD]
    objects = decrypt_objects(raws, None, max_inflated_size=MiB, max_inflated_total=2 * MiB)
    # The bomb spends its MiB (and is refused); three members fit in the rest, the fourth does not; GOOD is tiny
    # but comes after the budget is spent.
    assert ["CompressionError", None, None, None, "CompressionError", "CompressionError", "CompressionError"] == [
        None if obj.ok else type(obj.error).__name__ for obj in objects
    ]
    assert "inflate budget" in str(objects[4].error)
    uncompressed = plain("shelf", b'{"a":1}', compressed=False)
    objects = decrypt_objects([plain("presets", zero_bomb(4 * MiB)), uncompressed], None, max_inflated_total=MiB)
    assert (False, True) == (objects[0].ok, objects[1].ok)


def test_a_listing_of_many_bombs_costs_one_budget_of_work() -> None:
    budget = InflateBudget(3 * MiB)
    bomb = zero_bomb(2 * MiB)
    outcomes = []
    for _ in range(50):
        try:
            inflate(bomb, max_size=MiB, budget=budget)
        except CompressionError as exc:
            outcomes.append(str(exc))
    assert 50 == len(outcomes)
    assert 0 == budget.remaining
    assert "more than 1048576" in outcomes[0] and "budget" in outcomes[-1]


def test_inflate_accepts_output_exactly_at_the_bound_and_trailing_bytes() -> None:
    stream = zero_bomb(2 * MiB)
    assert bytes(2 * MiB) == inflate(stream + b"junk", max_size=2 * MiB)
    assert b"" == inflate(compress(b""), max_size=0)
    budget = InflateBudget(2 * MiB)
    assert bytes(2 * MiB) == inflate(stream, budget=budget)
    assert 0 == budget.remaining
    with pytest.raises(CompressionError):
        inflate(stream, max_size=2 * MiB - 1)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10", None])
def test_budgets_are_checked_as_settings(bad: Any) -> None:
    for call in (
        lambda: inflate(compress(b"x"), max_size=bad),
        lambda: InflateBudget(bad),
        lambda: decrypt_objects([GOOD], None, max_inflated_size=bad),
        lambda: decrypt_objects([GOOD], None, max_inflated_total=bad),
        lambda: decrypt_object(GOOD, None, max_inflated_size=bad),
        lambda: Document.from_msgpack(b"\xc0", max_size=bad),
        lambda: decode_document("wA==", max_size=bad),
    ):
        with pytest.raises(ConfigurationError):
            call()


# --- crypto decoders: any type in, a typed error out ---------------------------------------------------------------


@pytest.mark.parametrize("data", ["text", None, 5, [1, 2]])
def test_inflate_refuses_what_is_not_bytes(data: Any) -> None:
    with pytest.raises(CompressionError, match="must be bytes"):
        inflate(data)


@pytest.mark.parametrize(
    ("nonce", "box"), [(None, b"x" * 20), (5, b"x" * 20), (bytes(24), None), (bytes(24), "x" * 20), ("n" * 24, b"")]
)
def test_secretbox_decrypt_refuses_what_is_not_bytes(nonce: Any, box: Any) -> None:
    with pytest.raises(CryptoError):
        secretbox_decrypt(bytes(32), nonce, box)


@pytest.mark.parametrize("text", [None, 5, ["QQ=="], "Q", "é", "QQ==QQ=="])
def test_b64decode_refuses_anything_but_base64(text: Any) -> None:
    with pytest.raises(FormatError, match="not valid base64"):
        b64decode(text)


# --- envelopes: any JSON type in any field is a per-item error -----------------------------------------------------

ANY_JSON_TYPE = [{}, [], 1.5, True, None, "x", math.nan, math.inf, 2**60, {"a": [1]}]


@pytest.mark.parametrize("field", ["id", "type", "meta", "data", "lastUpdatedAt", "changeIndex"])
@pytest.mark.parametrize("value", ANY_JSON_TYPE, ids=repr)
def test_any_json_type_in_any_envelope_field_never_aborts_the_batch(field: str, value: Any) -> None:
    store = Keystore({"m": bytes(32)})
    bad = {**GOOD, field: value}
    objects = decrypt_objects([bad, GOOD, {**GOOD, "type": {}}], store)
    assert 3 == len(objects)
    assert objects[1].ok and not objects[2].ok
    first = objects[0]
    if first.ok:
        # Only values that are fine in that field read: then the object also writes back as strict JSON.
        json.dumps(encrypt(first, store), allow_nan=False)
    else:
        assert isinstance(first.error, ObjectFormatError | CompressionError)


def test_type_of_json_object_is_an_object_format_error() -> None:
    (obj,) = decrypt_objects([{**GOOD, "type": {}}], None)
    assert isinstance(obj.error, ObjectFormatError)
    assert "unknown object type" in str(obj.error)
    assert obj.raw is not None and obj.type == ""


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, True, False, 2**53, -(2**53), 10**30, 1e300, "7", {}, [3]], ids=repr
)
@pytest.mark.parametrize("field", ["changeIndex", "lastUpdatedAt"])
def test_unsafe_change_indexes_are_refused_on_read(field: str, value: Any) -> None:
    (obj,) = decrypt_objects([{**GOOD, field: value}], None)
    assert isinstance(obj.error, ObjectFormatError)
    assert field in str(obj.error)
    assert (None, None) == (obj.data, obj.change_index if field == "changeIndex" else None)


@pytest.mark.parametrize("value", [0, 7, 2**53 - 1, -(2**53) + 1, 1700000000.5, None])
def test_safe_change_indexes_read_and_write_back(value: Any) -> None:
    raw = {**GOOD, "changeIndex": value, "lastUpdatedAt": value}
    obj = decrypt_object(raw, None)
    assert obj.ok
    assert (value, value) == (obj.change_index, obj.last_updated_at)
    assert raw == encrypt(obj, None)


def test_an_absent_meta_is_no_meta_for_plain_types() -> None:
    raw = {key: value for key, value in GOOD.items() if key != "meta"}
    assert decrypt_object(raw, None).ok
    assert decrypt_object({**GOOD, "meta": None}, None).ok


# --- documents: depth ----------------------------------------------------------------------------------------------

LEVELS = {
    "array": (b"\x91", b""),
    "map": (b"\x81\xa1k", b""),
    "set": (b"\xd4\x73\x00\x91", b""),
    "nai": (b"\xd4\x14\x00", b""),
    "record": (b"\xd4\x72\x40\x91\xa1k", b""),
}


@pytest.mark.parametrize("kind", sorted(LEVELS))
@pytest.mark.parametrize("depth", [199, 255, 256, 1000])
def test_deep_documents_are_a_document_error(kind: str, depth: int) -> None:
    data = LEVELS[kind][0] * depth + b"\xc0"
    with pytest.raises(DocumentError, match="nesting deeper than"):
        Document.from_msgpack(data)


def _nest(kind: str, depth: int) -> Any:
    value: Any = None
    for _ in range(depth):
        value = {
            "record": lambda v: {"k": v},
            "map": lambda v: JSMap({1: v}),
            "array": lambda v: [v],
            "set": lambda v: JSSet([v]),
            "nai": lambda v: NaiExt(20, v),
        }[kind](value)
    return value


@pytest.mark.parametrize("kind", ["record", "map", "array", "set", "nai"])
def test_the_encoder_refuses_what_the_decoder_cannot_read_back(kind: str) -> None:
    deepest = Document(_nest(kind, MAX_DOCUMENT_DEPTH))
    assert deepest == Document.from_msgpack(deepest.to_msgpack())
    for depth in (MAX_DOCUMENT_DEPTH + 1, 255):
        with pytest.raises(DocumentError, match="nesting deeper than"):
            Document(_nest(kind, depth)).to_msgpack()


def _at_stack_depth(frames: int, call: Callable[[], Any]) -> Any:
    if frames <= 0:
        return call()
    return _at_stack_depth(frames - 1, call)


def test_the_deepest_document_reads_from_an_application_already_deep_in_its_stack() -> None:
    document = Document(_nest("record", MAX_DOCUMENT_DEPTH))
    data = document.to_msgpack()
    assert document == _at_stack_depth(350, lambda: Document.from_msgpack(data))


def test_a_caller_at_the_end_of_its_stack_gets_a_document_error() -> None:
    data = Document(_nest("record", MAX_DOCUMENT_DEPTH)).to_msgpack()
    limit = sys.getrecursionlimit()
    with pytest.raises(DocumentError, match="stack"):
        _at_stack_depth(limit - 200, lambda: Document.from_msgpack(data))
    with pytest.raises(DocumentError, match="stack"):
        _at_stack_depth(limit - 100, lambda: Document(_nest("set", MAX_DOCUMENT_DEPTH)).to_msgpack())


# --- documents: size, with string bundles --------------------------------------------------------------------------


def bundle_bomb(references: int, size: int) -> bytes:
    """An array of `references` items, each a new bundle pointing at the same `size`-byte string and a reference
    taking all of it: `references * size` bytes of text from about `size` bytes of input."""
    head = b"\xdc" + struct.pack(">H", references)
    take = b"\xc1\xce" + struct.pack(">I", size)
    item = 6 + len(take)
    strings_at = len(head) + references * item
    items = b"".join(
        b"\xd6\x62" + struct.pack(">I", strings_at - (len(head) + i * item + 2)) + take for i in range(references)
    )
    return head + items + b"\xa0" + b"\xdb" + struct.pack(">I", size) + b"y" * size


def test_bundle_helper_expands_as_it_says() -> None:
    document = Document.from_msgpack(bundle_bomb(3, 10))
    assert ["y" * 10] * 3 == document.root


def test_many_references_to_one_large_string_are_refused() -> None:
    # 1 MB of input that used to decode to 300 MB of strings.
    data = bundle_bomb(300, MiB)
    assert len(data) < MiB + 10_000
    tracemalloc.start()
    try:
        with pytest.raises(DocumentError, match="more than 67108864 bytes"):
            Document.from_msgpack(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 80 * MiB


def test_one_bundle_of_a_large_story_reads_within_the_default_budget() -> None:
    # As msgpackr writes it: one bundle, its text taken once; about 40 MB of story text.
    text = "The lantern swung. " * 2_000_000
    data = bundle_bomb(1, len(text)).replace(b"y" * len(text), text.encode())
    assert [text] == Document.from_msgpack(data).root
    with pytest.raises(DocumentError, match="more than"):
        Document.from_msgpack(data, max_size=len(data) - 1)


def test_documents_beyond_the_size_budget_are_refused_before_decoding() -> None:
    data = Document(["x" * 1000]).to_msgpack()
    assert ["x" * 1000] == Document.from_msgpack(data, max_size=len(data)).root
    with pytest.raises(DocumentError, match="more than"):
        Document.from_msgpack(data, max_size=len(data) - 1)
    with pytest.raises(DocumentError, match="more than"):
        decode_document(base64.b64encode(data).decode(), max_size=100)
    with pytest.raises(DocumentError, match="more than"):
        Document(["x" * 1000]).to_msgpack(max_size=100)


@pytest.mark.parametrize("value", [None, 5, ["wA=="], 10**9])
def test_document_decoders_refuse_the_wrong_type(value: Any) -> None:
    with pytest.raises(DocumentError):
        decode_document(value)
    with pytest.raises(DocumentError, match="must be bytes"):
        Document.from_msgpack(value)
    with pytest.raises(DocumentError, match="must be bytes"):
        Document.from_msgpack("wA==")  # type: ignore[arg-type]


# --- presets -------------------------------------------------------------------------------------------------------

FRAME = {"name": "x", "model": "kayra-v1", "parameters": {}}


def _nested_list(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "data",
    [
        {**FRAME, "parameters": {"phrase_rep_pen": []}},
        {**FRAME, "parameters": {"phrase_rep_pen": {"a": 1}}},
        {**FRAME, "parameters": {"temperature": 10**400}},
        {**FRAME, "parameters": {"top_k": 2**60}},
        {**FRAME, "parameters": {"order": [{"id": [], "enabled": True}]}},
        {**FRAME, "parameters": {"order": {"id": "x"}}},
        {**FRAME, "parameters": {"stop_sequences": [[1, [2]]]}},
        {**FRAME, "parameters": {"unknown": _nested_list(500)}},
        {**FRAME, "presetVersion": _nested_list(900)},
        {**FRAME, "name": _nested_list(900)},
        {**FRAME, "model": {}},
        _nested_list(900),
    ],
    ids=range(12),
)
def test_malformed_presets_are_a_preset_error(data: Any) -> None:
    with pytest.raises(PresetError):
        Preset.from_dict(data)


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"name": "x", "model": "kayra-v1", "parameters": {"x": ' + b"[" * 800 + b"]" * 800 + b"}}",
        b'{"name": "x", "model": "kayra-v1", "parameters": {"temperature": 1' + b"0" * 400 + b"}}",
        b'{"name": "x", "model": "kayra-v1", "parameters": {"temperature": NaN}}',
        b"\xff",
    ],
    ids=range(5),
)
def test_malformed_preset_files_are_a_preset_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.preset"
    path.write_bytes(content)
    with pytest.raises(PresetError):
        Preset.from_file(path)


def test_presets_as_deep_as_allowed_still_read_and_write() -> None:
    preset = Preset.from_dict({**FRAME, "parameters": {"unknown": _nested_list(60)}})
    assert preset.to_dict()["parameters"]["unknown"] == _nested_list(60)
    preset["unknown"] = preset["unknown"]
    preset.parameters["cycle"] = cycle = []  # type: ignore[var-annotated]
    cycle.append(cycle)
    with pytest.raises(PresetError):
        preset.to_json()


@pytest.mark.parametrize(
    "data",
    [{"bias": 10**400}, {"bias": math.nan}, {"bias": 1, "phrases": [_nested_list(900)]}, {"bias": 1, "phrases": {}}],
    ids=range(4),
)
def test_malformed_bias_groups_are_a_preset_error(data: Any) -> None:
    with pytest.raises(PresetError):
        BiasGroup.from_data(data)
    with pytest.raises(PresetError):
        BanList(_nested_list(900))

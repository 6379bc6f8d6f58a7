"""The decoders of user data as fuzz targets: one strategy and one property per decoder, shared by the bounded
property tests (`tests/test_fuzz_decoders.py`, part of the normal test run) and the long campaign of `make fuzz`
(`scripts/fuzz.py`).

Every property has the same oracle: the decoder returns a value (checked where a cheap check exists: a round trip,
or agreement with zlib) or raises a `nai_sdk.errors.NovelAIError` subclass. Anything else (RecursionError,
TypeError, zlib.error, an AssertionError of the checks below...) is a finding.

The strategies aim past the first check of each decoder: mostly well-formed input with one thing wrong, every JSON
type in every field, nesting far past the limits, and inputs that expand (deflate bombs, string bundles).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import nacl.bindings
from hypothesis import strategies as st

from nai_sdk.content import Document, decode_document, decrypt_object, decrypt_objects, encrypt_object
from nai_sdk.content._document import MAX_DEPTH, NAI_EXTENSION_TYPES
from nai_sdk.crypto import InflateBudget, b64decode, inflate, secretbox_decrypt
from nai_sdk.errors import NovelAIError
from nai_sdk.keystore import Keystore
from nai_sdk.models import TEXT_MODELS
from nai_sdk.presets import BanList, BiasGroup, Preset

__all__ = ["STACK_HEADROOM", "TARGETS", "Target", "check", "run_limited"]

DATA = Path(__file__).resolve().parent / "data"
KEY = bytes(range(100, 132))
META = "8e4e8538-21e1-47d0-b8ab-31f485f18564"
MARKER = b"\x00" * 15 + b"\x01"
OBJECT_TYPES = ["stories", "storycontent", "aimodules", "presets", "shelf"]
# Small budgets, so that the strategies can reach them with small inputs.
INFLATE_MAX = 4096
DOCUMENT_MAX = 4096


@dataclass(frozen=True)
class Target:
    """A decoder under test: how to draw its input and how to run it (returning normally means a good value)."""

    name: str
    strategy: st.SearchStrategy[Any]
    run: Callable[[Any], object]


# Frames a decoder may use on top of its caller's: Python's default limit of 1000, less 100 for an application
# that calls it from some depth. Hypothesis raises the recursion limit while it runs a test (it wants 2000 frames
# free for itself), which would hide every RecursionError a user would meet: the oracle puts a real limit back.
STACK_HEADROOM = 900


def _stack_depth() -> int:
    frame, depth = sys._getframe(1), 1
    while frame.f_back is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def run_limited(target: Target, value: Any) -> object:
    """`target.run(value)` with `STACK_HEADROOM` frames left before Python's recursion limit, as in an application."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + STACK_HEADROOM)
    try:
        return target.run(value)
    finally:
        sys.setrecursionlimit(limit)


def check(target: Target, value: Any) -> None:
    """The oracle: the target (run as `run_limited` runs it) returns or raises a NovelAIError; nothing else."""
    with contextlib.suppress(NovelAIError):
        run_limited(target, value)


# --- shared pieces -------------------------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=12)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
# Numbers strict JSON can hold, and those only a lax parser (or a Python caller) could hand over.
numbers = (
    st.integers(-(2**70), 2**70) | finite_floats | st.sampled_from([math.nan, math.inf, -math.inf, 2**53, 10**400])
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | finite_floats | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
# Any type JSON has, non-finite numbers included: what an envelope field can be made to hold.
any_field = json_values | numbers | st.just({}) | st.just([])
# What a lax JSON parser (or a Python caller) can put where a number belongs.
hostile_numbers = st.sampled_from([math.nan, math.inf, -math.inf, True, False, 2**53, -(2**60), 10**30, "7", {}, []])


def nested(depth: int, kind: int) -> Any:
    """A JSON value `depth` levels deep: lists, dicts, or both in turn."""
    value: Any = 0
    for level in range(depth):
        value = [value] if (kind == 0 or (kind == 2 and level % 2)) else {"k": value}
    return value


deep_json = st.builds(nested, st.integers(0, 1200), st.integers(0, 2))


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- crypto: inflate, secret boxes, base64 -------------------------------------------------------------------------

deflate_streams = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=300).map(_deflate),
    # Bombs for the small budget: zeros inflate about 1000 times.
    st.integers(0, 3 * INFLATE_MAX).map(lambda size: _deflate(bytes(size))),
    # Truncated and damaged streams.
    st.tuples(st.binary(min_size=1, max_size=300).map(_deflate), st.integers(0, 300)).map(lambda t: t[0][: t[1]]),
    st.tuples(st.binary(min_size=1, max_size=300).map(_deflate), st.integers(0, 299), st.integers(0, 255)).map(
        lambda t: t[0][: t[1] % len(t[0])] + bytes([t[2]]) + t[0][t[1] % len(t[0]) + 1 :]
    ),
)


def run_inflate(args: tuple[Any, int, int | None]) -> bytes:
    data, max_size, total = args
    budget = None if total is None else InflateBudget(total)
    out = inflate(data, max_size=max_size, budget=budget)
    assert isinstance(out, bytes) and len(out) <= max_size
    if budget is not None:
        assert len(out) <= budget.total - budget.remaining
    # Whatever is accepted is what zlib itself reads from the stream.
    assert out == zlib.decompressobj(-15).decompress(data)
    return out


inflate_inputs = st.tuples(
    deflate_streams | st.text(max_size=5) | st.none() | st.integers(),
    st.integers(0, 2 * INFLATE_MAX),
    st.none() | st.integers(0, 2 * INFLATE_MAX),
)


def _sealed(plaintext: bytes) -> tuple[bytes, bytes, bytes]:
    nonce = bytes(24)
    return KEY, nonce, nacl.bindings.crypto_secretbox_easy(plaintext, nonce, KEY)


junk = st.none() | st.integers() | st.text(max_size=4) | st.binary(max_size=40) | st.lists(st.integers(), max_size=2)
secretbox_inputs = st.one_of(
    st.binary(max_size=60).map(_sealed),
    st.tuples(junk | st.just(KEY), junk | st.binary(min_size=24, max_size=24), junk),
    # A box that opens, then damaged.
    st.tuples(st.binary(max_size=60).map(_sealed), st.integers(0, 100)).map(
        lambda t: (t[0][0], t[0][1], t[0][2][: t[1]])
    ),
)


def run_secretbox(args: tuple[Any, Any, Any]) -> bytes:
    return secretbox_decrypt(*args)


b64_inputs = st.text(max_size=40) | st.binary(max_size=40) | st.binary(max_size=30).map(_b64) | junk


def run_b64decode(text: Any) -> bytes:
    out = b64decode(text)
    assert isinstance(out, bytes) and len(out) <= len(text) * 3 // 4
    return out


# --- user objects --------------------------------------------------------------------------------------------------


@st.composite
def envelopes(draw: st.DrawFn) -> Any:
    """Envelopes whose every field is sometimes any JSON type, around payloads that mostly get deep."""
    if draw(st.integers(0, 19)) == 0:
        return draw(junk)
    obj_type = draw(st.sampled_from(OBJECT_TYPES) if draw(st.integers(0, 5)) else any_field)
    raw: dict[str, Any] = {
        "id": draw(st.just("N-TlqevWcIL66tPfiVx6C") if draw(st.integers(0, 5)) else any_field),
        "type": obj_type,
    }
    if draw(st.integers(0, 5)):
        raw["meta"] = draw(st.just(META) if draw(st.integers(0, 5)) else any_field)
    if draw(st.integers(0, 7)) == 0:
        raw["data"] = draw(any_field)
    else:
        plaintext = draw(
            json_values.map(lambda value: json.dumps(value).encode("utf-8", "surrogatepass"))
            | deep_json.map(lambda value: json.dumps(value).encode())
            | st.binary(max_size=60)
            | st.dictionaries(any_text, json_values, max_size=4).map(
                lambda value: json.dumps(value).encode("utf-8", "surrogatepass")
            )
        )
        compressed = draw(st.booleans())
        if compressed:
            plaintext = draw(st.sampled_from([_deflate(plaintext), plaintext, _deflate(bytes(3 * INFLATE_MAX))]))
        if obj_type in OBJECT_TYPES[:3] and draw(st.integers(0, 4)):
            nonce = draw(st.binary(min_size=24, max_size=24))
            plaintext = nonce + nacl.bindings.crypto_secretbox_easy(plaintext, nonce, KEY)
        raw["data"] = _b64(MARKER + plaintext if compressed else plaintext)
    for name in ("changeIndex", "lastUpdatedAt"):
        if draw(st.booleans()):
            raw[name] = draw(st.integers(0, 2**40) | hostile_numbers | any_field)
    if draw(st.integers(0, 4)) == 0:
        raw["extra"] = draw(json_values)
    return raw


def _check_object(obj: Any, raw: Any, store: Keystore) -> None:
    if obj.ok:
        assert isinstance(obj.data, dict)
        # Whatever reads can be written back, as strict JSON (no NaN, nothing JavaScript cannot hold).
        json.dumps(encrypt_object(obj, store), allow_nan=False)
    else:
        assert isinstance(obj.error, NovelAIError) and obj.data is None


def run_decrypt_object(raw: Any) -> object:
    store = Keystore({META: KEY})
    obj = decrypt_object(raw, store, max_inflated_size=INFLATE_MAX)
    _check_object(obj, raw, store)
    return obj


def run_decrypt_objects(args: tuple[list[Any], int]) -> object:
    raws, total = args
    store = Keystore({META: KEY})
    objects = decrypt_objects(raws, store, max_inflated_size=INFLATE_MAX, max_inflated_total=total)
    assert len(objects) == len(raws)
    for obj, raw in zip(objects, raws, strict=True):
        _check_object(obj, raw, store)
    return objects


# --- msgpackr documents --------------------------------------------------------------------------------------------

SAMPLE_DOCUMENTS = [
    base64.b64decode(case["b64"])
    for path in (DATA / "vectors" / "objects.json", DATA / "msgpackr_documents.json")
    for case in json.loads(path.read_text(encoding="utf-8"))["documents"]
]


def _fixstr(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")[:31]
    return bytes([0xA0 + len(data)]) + data


# Pieces of msgpackr: every token kind the decoder knows, with plausible lengths, so that joined they often parse.
msgpackr_pieces = st.one_of(
    st.binary(min_size=1, max_size=3),
    st.sampled_from([b"\xc0", b"\xc2", b"\xc3", b"\x90", b"\x80", b"\xa0", b"\xc1", b"\xd4\x73\x00", b"\xd4\x00\x00"]),
    st.integers(0, 15).map(lambda n: bytes([0x90 + n])),
    st.integers(0, 15).map(lambda n: bytes([0x80 + n])),
    st.integers(0, 40).map(lambda n: b"\xdc" + struct.pack(">H", n)),
    any_text.map(_fixstr),
    st.integers(0, 300).map(lambda n: b"\xd9" + bytes([min(n, 255)]) + b"x" * n),
    st.integers(-(2**63), 2**64 - 1).map(msgpack.packb),
    st.floats().map(msgpack.packb),
    st.binary(max_size=10).map(lambda b: msgpack.packb(b, use_bin_type=True)),
    st.integers(0, 63).map(lambda slot: b"\xd4\x72" + bytes([0x40 + slot])),
    st.tuples(st.integers(0, 63), st.integers(0, 3)).map(lambda t: b"\xd5\x72" + bytes([0x40 + t[0], t[1]])),
    st.integers(0x40, 0x7F).map(lambda b: bytes([b])),
    st.sampled_from(sorted(NAI_EXTENSION_TYPES)).map(lambda t: bytes([0xD4, t, 0])),
    st.integers(0, 400).map(lambda offset: b"\xd6\x62" + struct.pack(">I", offset)),
    st.integers(-60, 60).map(lambda n: b"\xc1" + msgpack.packb(n)),
    # Timestamps: 32-bit, 64-bit, 96-bit, and msgpackr's invalid Date.
    st.sampled_from([b"\xd6\xff" + bytes(4), b"\xd7\xff" + bytes(8), b"\xc7\x0c\xff" + bytes(12), b"\xd4\xff\xff"]),
    st.sampled_from([0x65, 0x69, 0x70, 0x78, 0x01, -5]).map(lambda code: b"\xd4" + struct.pack(">b", code) + b"\x00"),
)
# Prefixes that each open one nesting level: arrays, maps, sets, NAI values, records, bundles, string references.
_LEVELS = (b"\x91", b"\x81\xa1k", b"\xd4\x73\x00\x91", b"\xd4\x14\x00", b"\xd4\x72\x40\x91\xa1k", b"\xc1")


def _deep(levels: list[int]) -> bytes:
    return b"".join(_LEVELS[level] for level in levels) + b"\xc0"


# A few kinds of level, repeated: hypothesis rarely draws long lists, so the depth is drawn as a number, often one
# next to a limit (this module's, the old one of 256, the default recursion limit).
depths = st.sampled_from([MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 199, 200, 255, 256, 257, 333, 500, 1001])
deep_documents = st.tuples(
    st.lists(st.integers(0, len(_LEVELS) - 1), min_size=1, max_size=3), depths | st.integers(0, 1100)
).map(lambda t: _deep((t[0] * t[1])[: t[1]]))


@st.composite
def _bundle_bomb(draw: st.DrawFn) -> bytes:
    """Many bundles pointing at one string, each followed by a reference that takes all of it."""
    count = draw(st.integers(1, 40))
    size = draw(st.integers(0, 600))
    head = bytes([0xDC]) + struct.pack(">H", count)
    # Each item: the bundle extension (6 bytes), then a reference taking `size` units of the second string.
    refs = b"\xc1\xcd" + struct.pack(">H", size)
    item = 6 + len(refs)
    strings_at = len(head) + count * item
    body = b"".join(
        b"\xd6\x62" + struct.pack(">I", strings_at - (len(head) + i * item + 2)) + refs for i in range(count)
    )
    return head + body + b"\xa0" + b"\xda" + struct.pack(">H", size) + b"y" * size


def _mutate(args: tuple[bytes, list[tuple[int, int]], int]) -> bytes:
    data, changes, cut = args
    damaged = bytearray(data)
    for position, value in changes:
        damaged[position % len(damaged)] = value
    return bytes(damaged[: max(1, cut % (len(damaged) + 1))])


document_bytes = st.one_of(
    st.lists(msgpackr_pieces, max_size=30).map(b"".join),
    deep_documents,
    st.lists(st.integers(0, len(_LEVELS) - 1), max_size=20).map(_deep),
    _bundle_bomb(),
    st.tuples(
        st.sampled_from(SAMPLE_DOCUMENTS),
        st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
        st.integers(0, 10**6),
    ).map(_mutate),
    st.binary(max_size=100),
)


def _text_size(value: Any) -> int:
    """Code points of every string in a decoded value, map keys included."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "value") and not isinstance(item, bytes):  # NaiExt
            stack.append(item.value)
    return total


def run_document(data: Any) -> Document:
    document = Document.from_msgpack(data, max_size=DOCUMENT_MAX)
    # The budget bounds what string bundles expand to: text beyond it means references multiplied a string.
    assert _text_size(document.root) <= 2 * DOCUMENT_MAX
    # Whatever decodes encodes, within the same budget or not at all, and reads back equal.
    try:
        again = document.to_msgpack(max_size=DOCUMENT_MAX)
    except NovelAIError:
        return document
    assert document == Document.from_msgpack(again, max_size=DOCUMENT_MAX)
    return document


document_text = st.one_of(
    document_bytes.map(_b64), st.text(max_size=60), junk, st.binary(max_size=60).map(lambda b: _b64(b) + "=")
)


def run_decode_document(text: Any) -> Document:
    return decode_document(text, max_size=DOCUMENT_MAX)


# --- presets -------------------------------------------------------------------------------------------------------

PRESET_KEYS = st.sampled_from(
    ["name", "model", "parameters", "order", "id", "enabled", "top_k", "temperature", "phrase_rep_pen",
     "stop_sequences", "repetition_penalty_whitelist", "repetition_penalty_default_whitelist", "cfg_uc",
     "bad_words_ids", "max_length"]
)  # fmt: skip
presetish = st.recursive(
    json_values | numbers | deep_json,
    lambda children: (
        st.dictionaries(PRESET_KEYS | st.text(max_size=4), children, max_size=5) | st.lists(children, max_size=4)
    ),
    max_leaves=15,
)


@st.composite
def preset_data(draw: st.DrawFn) -> Any:
    """Mostly presets with a valid frame (name, model, parameters, order) and anything inside."""
    if draw(st.integers(0, 3)) == 0:
        return draw(presetish)
    parameters = draw(st.dictionaries(PRESET_KEYS | st.text(max_size=4), presetish, max_size=6))
    if draw(st.booleans()):
        parameters["order"] = draw(
            st.lists(
                st.fixed_dictionaries({"id": st.sampled_from(["top_k", "tfs", "x"]) | any_field, "enabled": any_field})
                | presetish,
                max_size=4,
            )
        )
    return {
        "name": draw(st.text(max_size=5) | any_field),
        "model": draw(st.sampled_from(list(TEXT_MODELS)) | any_field),
        "parameters": parameters,
        "extra": draw(presetish),
    }


def _use(preset: Preset) -> Preset:
    # A preset that loads writes back to JSON and gives settings, or says why not with a PresetError.
    assert json.loads(preset.to_json()) == preset.to_dict()
    preset.to_settings()
    return preset


def run_preset_from_dict(data: Any) -> Preset:
    return _use(Preset.from_dict(data))


preset_files = st.one_of(
    preset_data().map(lambda data: json.dumps(data).encode("utf-8", "surrogatepass")),
    st.binary(max_size=100),
    st.integers(0, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.sampled_from([b'{"name": "x", "model": "kayra-v1", "parameters": {"top_k": 1' + b"0" * 400 + b"}}"]),
)


class _PresetFile:
    """One scratch file, rewritten for every example (a temporary directory per example costs more than parsing)."""

    def __init__(self) -> None:
        self.path: Path | None = None

    def __call__(self, content: bytes) -> Preset:
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix="nai-fuzz-")) / "x.preset"
        self.path.write_bytes(content)
        return _use(Preset.from_file(self.path))


def run_bias_and_ban(entry: Any) -> None:
    for build in (lambda: BanList(entry), lambda: BiasGroup(0.1, entry), lambda: BiasGroup.from_data(entry)):
        try:
            result = build()
        except NovelAIError:
            continue
        assert isinstance(result, BanList | BiasGroup)


bias_entries = presetish | st.fixed_dictionaries(
    {"bias": numbers | any_field, "phrases": st.lists(presetish, max_size=3) | any_field, "enabled": any_field}
)


TARGETS: tuple[Target, ...] = (
    Target("crypto.inflate", inflate_inputs, run_inflate),
    Target("crypto.secretbox_decrypt", secretbox_inputs, run_secretbox),
    Target("crypto.b64decode", b64_inputs, run_b64decode),
    Target("content.decrypt_object", envelopes(), run_decrypt_object),
    Target(
        "content.decrypt_objects",
        st.tuples(st.lists(envelopes(), max_size=5), st.integers(0, 4 * INFLATE_MAX)),
        run_decrypt_objects,
    ),
    Target("content.Document.from_msgpack", document_bytes, run_document),
    Target("content.decode_document", document_text, run_decode_document),
    Target("presets.Preset.from_dict", preset_data(), run_preset_from_dict),
    Target("presets.Preset.from_file", preset_files, _PresetFile()),
    Target("presets.BiasGroup/BanList", bias_entries, run_bias_and_ban),
)

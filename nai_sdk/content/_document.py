"""The `document` field of NovelAI story content: MessagePack with the msgpackr (JS) extensions.

A document is the b64 text of one msgpackr value. On top of MessagePack, msgpackr adds (docs/formats.md §3.6):

* records: `D4 72 <slot>` (slot byte 0x40..0x7F) + an array of keys + the values of a first object; later the
  single byte of a defined slot, in value position, is "an object with those keys", followed by its values. A
  definition always replaces the slot: msgpackr recycles its 64 slots when a document has more shapes. A byte
  0x40..0x7F whose slot is not defined is the plain integer (msgpackr's own rule, which keeps plain MessagePack
  readable). `D5 72 <slot> <high byte>` defines a two-byte record id (only written with non-default options).
* bundled strings: an ext 0x62 whose first 4 data bytes are the big-endian distance from those bytes to two str
  values; the ext stands for the value that follows it. `C1 <int n>` takes the next |n| UTF-16 code units of the
  first (n < 0) or second (n >= 0) string of the current bundle. A later 0x62 ext starts a new bundle. Once the
  top-level value is read, decoding jumps past the last bundle's strings, which must end the data.
* timestamps (ext -1), undefined (ext 0), sets (ext 0x73, an array follows), and NovelAI's types 20, 30, 31, 40,
  41, 42 written "write-style": `D4 <type> <filler>` immediately followed by the value that carries the object.

Why the decoder is not built on `msgpack.Unpacker`: records turn plain fixints 0x40..0x7F into references whose
values follow them, write-style extensions own the value after their header, and 0xC1 (reserved in MessagePack)
starts a string reference. All three change tokenisation itself: msgpack's C unpacker reads a record reference as
the integer 64..127 and counts the record's values as separate array items, raises `FormatError` on 0xC1, and
hands an `ext_hook` only the ext's own data bytes (never the value after it). The decoder below is therefore a
small MessagePack reader of its own; the encoder writes the msgpackr framing (record definitions, slot bytes,
write-style headers) itself and uses `msgpack.Packer` for every scalar (str, bin, float, wide ints, timestamps,
plain ext values) and for container headers.

Decoded values (and what the encoder accepts):

==============================  ===========================================================================
MessagePack / msgpackr          Python
==============================  ===========================================================================
record (a JS object)            `dict` (keys as written, normally `str`); a plain dict is encoded as a record
map (a JS `Map`)                `JSMap` (a dict subclass; keys of any hashable decoded type, e.g. `int`)
array                           `list` (a `tuple` is also encoded as an array)
set (ext 0x73)                  `JSSet` (a list subclass: ordered, may hold unhashable items)
NAI types 20..42                `NaiExt(type, value)`
undefined (ext 0)               `UNDEFINED` (distinct from `None`, which is nil)
timestamp (ext -1)              `msgpack.Timestamp` (an invalid JS Date stays a `RawExt(-1, ...)`)
other ext types                 `RawExt(code, data)`, kept byte for byte
bin / str                       `bytes` / `str`
float32 / float64               `float` (written back as float64: same value, not the same bytes)
==============================  ===========================================================================

`JSMap` and `JSSet` compare unequal to a plain `dict`/`list` with the same items, and `Document` equality is
exact: types must match (`True` is not `1`, `1` is not `1.0`), floats compare by their bits and map entries by
order. `decode(encode(d)) == d` for every document the decoder returns.

Every call decodes with fresh record and bundle state: this module holds no mutable state.

Hostile input is bounded (docs/limits.md). Containers nest at most `MAX_DEPTH` levels, read or written, which keeps
the recursive decoder well inside Python's recursion limit. The *decoded size* of a document (its bytes, plus what
string bundles expand to beyond the bytes they take) is at most `max_size`: many bundles pointing at one large
string cannot turn a small document into a huge one. Anything refused is a `DocumentError`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import struct
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any, Final

import attrs
import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information

from nai_sdk._constants import DEFAULT_MAX_DOCUMENT_SIZE, MAX_DOCUMENT_DEPTH
from nai_sdk.errors import ConfigurationError, DocumentError

__all__ = [
    "MAX_DEPTH",
    "NAI_EXTENSION_TYPES",
    "UNDEFINED",
    "Document",
    "DocumentPath",
    "JSMap",
    "JSSet",
    "NaiExt",
    "RawExt",
    "Undefined",
    "decode_document",
    "encode_document",
]

NAI_EXTENSION_TYPES: Final = frozenset({20, 30, 31, 40, 41, 42})
"""The extension types NovelAI writes "write-style" (`D4 <type> <filler>` then the value)."""

#: Deepest nesting of containers (arrays, maps, records, sets, NAI values) read or written. Real documents are about
#: ten levels deep; the bound keeps hostile input (and cyclic Python values) from exhausting the stack: reading
#: takes at most four Python frames a level, so a document this deep needs about 512 frames of the 1000 Python
#: allows by default.
MAX_DEPTH: Final = MAX_DOCUMENT_DEPTH

DocumentPath = tuple[Any, ...]
"""A path to a value inside a document: map keys and list indexes, from the root; `NaiExt.value` is stepped through
with the step `NaiExt`."""

_EXT_RECORD: Final = 0x72
_EXT_BUNDLE: Final = 0x62
_EXT_SET: Final = 0x73
_EXT_UNDEFINED: Final = 0
_EXT_TIMESTAMP: Final = -1
# msgpackr reads these by consuming the value after the header (Error, structured-clone id and pointer, RegExp);
# none belongs in a story document, and reading them as plain ext values would misalign everything after them.
_EXT_UNSUPPORTED: Final = frozenset({0x65, 0x69, 0x70, 0x78})
_EXT_RESERVED: Final = (
    frozenset({_EXT_RECORD, _EXT_BUNDLE, _EXT_SET, _EXT_UNDEFINED, _EXT_TIMESTAMP})
    | NAI_EXTENSION_TYPES
    | _EXT_UNSUPPORTED
)


class Undefined(enum.Enum):
    """JavaScript `undefined` (msgpackr ext 0), distinct from `None` (nil, JS `null`). Its one member is `UNDEFINED`."""

    UNDEFINED = "undefined"

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = Undefined.UNDEFINED
"""JavaScript's `undefined` in a decoded document (msgpackr writes it apart from `null`, which is None)."""


class JSMap(dict[Any, Any]):
    """A MessagePack map: a JS `Map` once msgpackr reads it (records are the JS objects).

    Unequal to a plain `dict` with the same items, so the distinction survives comparisons and round trips.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JSMap):
            return dict.__eq__(self, other)
        if isinstance(other, dict):
            return False
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None

    def copy(self) -> JSMap:
        """A shallow copy that stays a `JSMap`."""
        return JSMap(self)

    def __repr__(self) -> str:
        return f"JSMap({dict.__repr__(self)})"


class JSSet(list[Any]):
    """A msgpackr set (ext 0x73): a JS `Set`. A list so it keeps order and may hold unhashable items.

    Unequal to a plain `list` with the same items. Duplicates are kept as written; JS drops repeated primitives
    (`null`, equal numbers or strings) when it builds the `Set`.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JSSet):
            return list.__eq__(self, other)
        if isinstance(other, list):
            return False
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None

    def copy(self) -> JSSet:
        """A shallow copy that stays a `JSSet`."""
        return JSSet(self)

    def __repr__(self) -> str:
        return f"JSSet({list.__repr__(self)})"


def _check_nai_type(_instance: object, _attribute: object, value: int) -> None:
    if value not in NAI_EXTENSION_TYPES:
        raise DocumentError(f"NovelAI extension type must be one of {sorted(NAI_EXTENSION_TYPES)}, not {value!r}")


@attrs.define
class NaiExt:
    """A NovelAI typed object (one of its document classes): the ext type and the value that carries it.

    Attributes:
        type: 20, 30, 31, 40, 41 or 42.
        value: the decoded value written after the type marker (usually a record or an array).
    """

    type: int = attrs.field(validator=_check_nai_type)
    value: Any


@attrs.frozen
class RawExt:
    """An extension value this module does not interpret (msgpackr typed arrays, BigInt, an invalid Date...).

    `msgpack.ExtType` is not used because it refuses negative codes, which MessagePack allows.

    Attributes:
        code: the ext type, -128..127.
        data: the ext's data bytes.
    """

    code: int
    data: bytes


# --- decoding ----------------------------------------------------------------------------------------------------

_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")
_I8: Final = struct.Struct(">b")
_I16: Final = struct.Struct(">h")
_I32: Final = struct.Struct(">i")
_I64: Final = struct.Struct(">q")
_F32: Final = struct.Struct(">f")
_F64: Final = struct.Struct(">d")


class _Bundle:
    """The strings of one bundle and how far each has been consumed (in UTF-16 code units, as JS counts)."""

    __slots__ = ("after", "positions", "strings", "units")

    def __init__(self, strings: tuple[str, str], after: int) -> None:
        self.strings = strings
        self.after = after
        self.positions = [0, 0]
        # Where a string holds astral characters, Python indexes and JS code units differ: slice its UTF-16 form.
        self.units = tuple(
            None if text.isascii() or max(text) <= "\uffff" else text.encode("utf-16-le") for text in strings
        )

    def take(self, which: int, count: int) -> str:
        start = self.positions[which]
        self.positions[which] = start + count
        units = self.units[which]
        if units is None:
            return self.strings[which][start : start + count]
        # A slice may split a surrogate pair, as in JS; such halves become U+FFFD (a Python str is not UTF-16).
        return units[2 * start : 2 * (start + count)].decode("utf-16-le", "replace")


class _Decoder:
    """Reads one document. One instance per call: slots and bundle state never outlive it."""

    __slots__ = ("bundle", "data", "end", "fresh_from", "left", "max_size", "pos", "slots", "view")

    def __init__(self, data: bytes, max_size: int) -> None:
        self.data = data
        self.view = memoryview(data)
        self.end = len(data)
        self.pos = 0
        # record id -> (keys, two-byte id): two-byte records read one more byte after a reference.
        self.slots: dict[int, tuple[tuple[Any, ...], bool]] = {}
        self.bundle: _Bundle | None = None
        # What is left of the decoded-size budget. The document's bytes are spent up front: without bundles the
        # values cannot take more than that. Only bundles (and string references into them) change it after.
        self.max_size = max_size
        self.left = max_size - self.end
        # Where the strings of the next bundle may start to count as fresh bytes (see read_bundle).
        self.fresh_from = 0

    def charge(self, size: int) -> None:
        """Spend `size` of the decoded-size budget; refuse the document once it is spent."""
        self.left -= size
        if self.left < 0:
            raise self.fail(f"decodes to more than {self.max_size} bytes (string bundles expand it)")

    def fail(self, message: str) -> DocumentError:
        return DocumentError(f"{message} (at byte {self.pos} of {self.end})")

    def need(self, count: int) -> int:
        """Consume `count` bytes; return where they start."""
        start = self.pos
        if count > self.end - start:
            raise self.fail(f"truncated: {count} more bytes expected")
        self.pos = start + count
        return start

    def decode(self) -> Any:
        if not self.end:
            raise DocumentError("empty document")
        if self.left < 0:
            raise DocumentError(f"document of {self.end} bytes, more than the {self.max_size} accepted")
        value = self.read(0)
        if self.bundle is not None:
            self.pos = self.bundle.after
        if self.pos != self.end:
            raise self.fail("data after the document's value")
        return value

    def text(self, start: int, length: int) -> str:
        # Invalid UTF-8 becomes U+FFFD, as msgpackr's readers do.
        return str(self.view[start : start + length], "utf-8", "replace")

    def read(self, depth: int) -> Any:
        data = self.data
        pos = self.pos
        if pos >= self.end:
            raise self.fail("truncated: a value was expected")
        token = data[pos]
        self.pos = pos + 1
        if token < 0x40:
            return token
        if token < 0x80:
            return self.read_record_reference(token, depth)
        if token >= 0xE0:
            return token - 0x100
        if 0xA0 <= token < 0xC0:
            length = token - 0xA0
            return self.text(self.need(length), length)
        if token < 0x90:
            return self.read_map(token - 0x80, depth)
        if token < 0xA0:
            return self.read_array(token - 0x90, depth)
        if token == 0xC0:
            return None
        if token == 0xC2:
            return False
        if token == 0xC3:
            return True
        if token == 0xC1:
            return self.read_bundled_string(depth)
        if token <= 0xC6:  # bin 8/16/32
            length = self.read_length(1 << (token - 0xC4))
            start = self.need(length)
            return bytes(self.view[start : start + length])
        if token <= 0xC9:  # ext 8/16/32
            length = self.read_length(1 << (token - 0xC7))
            return self.read_ext(length, depth)
        if token <= 0xD3:
            return self.read_number(token)
        if token <= 0xD8:  # fixext 1/2/4/8/16
            return self.read_ext(1 << (token - 0xD4), depth)
        if token <= 0xDB:  # str 8/16/32
            length = self.read_length(1 << (token - 0xD9))
            return self.text(self.need(length), length)
        if token <= 0xDD:  # array 16/32
            return self.read_array(self.read_length(2 if token == 0xDC else 4), depth)
        return self.read_map(self.read_length(2 if token == 0xDE else 4), depth)

    def read_length(self, size: int) -> int:
        start = self.need(size)
        if size == 1:
            return self.data[start]
        if size == 2:
            return int(_U16.unpack_from(self.data, start)[0])
        return int(_U32.unpack_from(self.data, start)[0])

    def read_number(self, token: int) -> int | float:
        data = self.data
        if token == 0xCA:
            return float(_F32.unpack_from(data, self.need(4))[0])
        if token == 0xCB:
            return float(_F64.unpack_from(data, self.need(8))[0])
        if token == 0xCC:
            return data[self.need(1)]
        if token == 0xCD:
            return int(_U16.unpack_from(data, self.need(2))[0])
        if token == 0xCE:
            return int(_U32.unpack_from(data, self.need(4))[0])
        if token == 0xCF:
            return int(_U64.unpack_from(data, self.need(8))[0])
        if token == 0xD0:
            return int(_I8.unpack_from(data, self.need(1))[0])
        if token == 0xD1:
            return int(_I16.unpack_from(data, self.need(2))[0])
        if token == 0xD2:
            return int(_I32.unpack_from(data, self.need(4))[0])
        return int(_I64.unpack_from(data, self.need(8))[0])

    def deeper(self, depth: int) -> int:
        """The depth of a container's items; refuses containers nested deeper than `MAX_DEPTH`."""
        if depth >= MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH}")
        return depth + 1

    def read_array(self, count: int, depth: int) -> list[Any]:
        # Every item takes at least one byte: refuse counts the data cannot hold before allocating anything.
        if count > self.end - self.pos:
            raise self.fail(f"array of {count} items longer than the data")
        read = self.read
        depth = self.deeper(depth)
        # A loop, not a comprehension: on Python 3.11 a comprehension is one more stack frame per nesting level.
        items: list[Any] = []
        append = items.append
        for _ in range(count):
            append(read(depth))
        return items

    def read_map(self, count: int, depth: int) -> JSMap:
        if 2 * count > self.end - self.pos:
            raise self.fail(f"map of {count} entries longer than the data")
        read = self.read
        depth = self.deeper(depth)
        result = JSMap()
        for _ in range(count):
            key = read(depth)
            try:
                result[key] = read(depth)
            except TypeError:
                raise self.fail(f"map key of type {type(key).__name__} is not hashable") from None
        return result

    def read_record_reference(self, token: int, depth: int) -> Any:
        first = token & 0x3F
        slot = self.slots.get(first)
        if slot is None:
            return token  # no record in this slot: msgpackr reads the plain fixint
        keys, two_byte = slot
        if two_byte:
            high = self.data[self.need(1)]
            if high:
                record_id = -(first + (high << 5)) if first < 32 else first + (high << 5)
                found = self.slots.get(record_id)
                if found is None:
                    raise self.fail(f"record id {record_id} is not defined")
                keys = found[0]
        return self.read_record(keys, depth)

    def read_record(self, keys: tuple[Any, ...], depth: int) -> dict[Any, Any]:
        if len(keys) > self.end - self.pos:
            raise self.fail(f"record of {len(keys)} values longer than the data")
        read = self.read
        depth = self.deeper(depth)
        record: dict[Any, Any] = {}
        for key in keys:
            record[key] = read(depth)
        return record

    def define_record(self, first: int, high: int | None, depth: int) -> dict[Any, Any]:
        # The key array belongs to the record: it is read at the record's own depth.
        self.deeper(depth)
        keys = self.read(depth)
        if not isinstance(keys, list):
            raise self.fail("record definition without a key array")
        try:
            shape = tuple(keys)
            hash(shape)
        except TypeError:
            raise self.fail("record keys must be hashable") from None
        record_id = first
        if high is not None:
            record_id = -((high << 5) + first) if first < 32 else (high << 5) + first
        # A definition always replaces the slot: msgpackr recycles slots once a document has more shapes.
        self.slots[record_id] = (shape, high == 0)
        return self.read_record(shape, depth)

    def read_ext(self, length: int, depth: int) -> Any:
        # The type byte and the data must be there before anything interprets them.
        start = self.need(1 + length)
        code = _I8.unpack_from(self.data, start)[0]
        data_start = start + 1
        if code == _EXT_RECORD:
            if length == 1:
                return self.define_record(self.data[data_start] & 0x3F, None, depth)
            if length == 2:
                return self.define_record(self.data[data_start] & 0x3F, self.data[data_start + 1], depth)
            raise self.fail(f"record definition with {length} data bytes")
        if code in NAI_EXTENSION_TYPES:
            if length != 1:
                raise self.fail(f"NovelAI extension {code} with {length} data bytes (fixext 1 expected)")
            return NaiExt(code, self.read(self.deeper(depth)))
        if code == _EXT_SET:
            # The array belongs to the set: it is read at the set's own depth.
            self.deeper(depth)
            items = self.read(depth)
            if type(items) is not list:
                raise self.fail("set extension not followed by an array")
            return JSSet(items)
        if code == _EXT_UNDEFINED:
            return UNDEFINED
        if code == _EXT_BUNDLE:
            return self.read_bundle(data_start, length, depth)
        payload = bytes(self.view[data_start : self.pos])
        if code == _EXT_TIMESTAMP:
            try:
                return msgpack.Timestamp.from_bytes(payload)
            except ValueError:
                # msgpackr writes an invalid JS Date as `D4 FF FF` and reads any odd payload as one: keep the bytes.
                return RawExt(code, payload)
        if code in _EXT_UNSUPPORTED:
            raise self.fail(f"unsupported msgpackr extension {code:#x}")
        return RawExt(code, payload)

    def read_bundle(self, data_start: int, length: int, depth: int) -> Any:
        if length < 4:
            raise self.fail(f"string bundle with {length} data bytes")
        resume = self.pos
        strings_at = data_start + int(_U32.unpack_from(self.data, data_start)[0])
        # msgpackr writes each bundle's strings after the previous bundle's (inside the next bundle extension, or at
        # the end): those bytes are fresh, and what references take from them only moves text from one place to
        # another, so their size is handed back to the budget (references spend it again). Strings that start
        # before the end of the previous fresh ones are being read again: pure expansion, paid for in full.
        fresh = strings_at >= self.fresh_from
        self.pos = strings_at
        strings = (self.read_bundle_string(fresh), self.read_bundle_string(fresh))
        if fresh:
            self.fresh_from = self.pos
        self.bundle = _Bundle(strings, self.pos)
        # The bundle extension stands for the value written after it.
        self.pos = resume
        return self.read(self.deeper(depth))

    def read_bundle_string(self, fresh: bool) -> str:
        if self.pos >= self.end:
            raise self.fail("string bundle points past the end of the data")
        token = self.data[self.pos]
        self.pos += 1
        if 0xA0 <= token < 0xC0:
            length = token - 0xA0
        elif 0xD9 <= token <= 0xDB:
            length = self.read_length(1 << (token - 0xD9))
        else:
            raise self.fail("string bundle does not point at strings")
        start = self.need(length)
        if fresh:
            self.left += length
        else:
            # Charged before decoding: the work of decoding the same bytes again is what the budget bounds.
            self.charge(length)
        return self.text(start, length)

    def read_bundled_string(self, depth: int) -> str:
        if self.bundle is None:
            raise self.fail("string reference (0xC1) outside a string bundle")
        count = self.read(self.deeper(depth))
        if type(count) is not int:
            raise self.fail("string reference without an integer length")
        text = self.bundle.take(1, count) if count > 0 else self.bundle.take(0, -count)
        # At most the rest of the bundle's string (already decoded), so charging after taking is enough.
        self.charge(len(text))
        return text


# --- encoding ----------------------------------------------------------------------------------------------------

# msgpackr reads 0x40..0x7F as record references, so 64..127 must be written as uint8 (as msgpackr itself does).
_SMALL_INTS: Final = tuple(bytes((i,)) if i < 0x40 else bytes((0xCC, i)) for i in range(128))
_SLOT_BYTES: Final = tuple(bytes((0x40 + i,)) for i in range(64))
_DEFINE_RECORD: Final = tuple(bytes((0xD4, _EXT_RECORD, 0x40 + i)) for i in range(64))
_UNDEFINED_BYTES: Final = b"\xd4\x00\x00"
_SET_HEADER: Final = b"\xd4\x73\x00"
_NAI_HEADERS: Final = MappingProxyType({t: bytes((0xD4, t, 0)) for t in NAI_EXTENSION_TYPES})
_KEY_TYPES: Final = (str, int, float, bytes, type(None), Undefined, msgpack.Timestamp, RawExt)


class _Encoder:
    """Writes one document: records for dicts (slots assigned in order, recycled after 64 shapes)."""

    __slots__ = ("next_slot", "out", "packer", "shapes", "slot_shapes")

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.packer = msgpack.Packer(use_bin_type=True, autoreset=True, datetime=False)
        self.shapes: dict[tuple[Any, ...], int] = {}
        self.slot_shapes: list[tuple[Any, ...] | None] = [None] * 64
        self.next_slot = 0

    def encode(self, value: Any, max_size: int) -> bytes:
        try:
            self.write(value, 0)
        except RecursionError:
            # Only a caller already deep in its own recursion gets here (MAX_DEPTH keeps the encoder shallow).
            raise DocumentError("the document is nested too deeply for the stack left to encode it") from None
        data = b"".join(self.out)
        # Refuse what the decoder would refuse: an encoded document's decoded size is its length (no bundles).
        if len(data) > max_size:
            raise DocumentError(f"the encoded document is {len(data)} bytes, more than the {max_size} accepted")
        return data

    def scalar(self, value: Any) -> None:
        try:
            self.out.append(self.packer.pack(value))
        except (ValueError, OverflowError, TypeError) as exc:
            raise DocumentError(f"cannot encode {type(value).__name__}: {exc}") from None

    def write(self, value: Any, depth: int) -> None:
        kind = type(value)
        if kind is str:
            self.scalar(value)
        elif kind is int:
            if 0 <= value < 128:
                self.out.append(_SMALL_INTS[value])
            else:
                self.scalar(value)
        elif kind is bool or value is None or kind is float or kind is msgpack.Timestamp:
            self.scalar(value)
        elif kind is dict:
            self.write_record(value, depth)
        elif kind is list or kind is tuple:
            self.write_array(value, depth)
        elif kind is JSMap:
            self.write_map(value, depth)
        elif kind is JSSet:
            self.write_set(value, depth)
        elif kind is NaiExt:
            header = _NAI_HEADERS.get(value.type)
            if header is None:
                raise DocumentError(f"not a NovelAI extension type: {value.type!r}")
            self.out.append(header)
            self.write(value.value, _deeper(depth))
        elif value is UNDEFINED:
            self.out.append(_UNDEFINED_BYTES)
        elif kind is RawExt:
            self.write_ext(value)
        elif kind is bytes or kind is bytearray:
            self.scalar(bytes(value))
        else:
            self.write_subclass(value, depth)

    def write_subclass(self, value: Any, depth: int) -> None:
        # Subclasses of the basic types (IntEnum, OrderedDict, str enums...) are written as their base type.
        if isinstance(value, bool):
            self.scalar(bool(value))
        elif isinstance(value, int):
            self.write(int(value), depth)
        elif isinstance(value, float):
            self.scalar(float(value))
        elif isinstance(value, str):
            self.scalar(str(value))
        elif isinstance(value, JSMap):
            self.write_map(value, depth)
        elif isinstance(value, dict):
            self.write_record(value, depth)
        elif isinstance(value, JSSet):
            self.write_set(value, depth)
        elif isinstance(value, list | tuple):
            self.write_array(value, depth)
        else:
            raise DocumentError(f"cannot encode a value of type {type(value).__name__}")

    def write_ext(self, value: RawExt) -> None:
        _check_ext(value)
        try:
            self.out.append(self.packer.pack_ext_type(value.code, value.data))
        except (ValueError, OverflowError, TypeError) as exc:
            raise DocumentError(f"cannot encode ext type {value.code!r}: {exc}") from None

    def write_set(self, items: JSSet, depth: int) -> None:
        # The array belongs to the set: one nesting level for both, as the decoder counts them.
        _deeper(depth)
        self.out.append(_SET_HEADER)
        self.write_array(items, depth)

    def write_array(self, items: list[Any] | tuple[Any, ...], depth: int) -> None:
        depth = _deeper(depth)
        self.out.append(self.packer.pack_array_header(len(items)))
        write = self.write
        for item in items:
            write(item, depth)

    def write_map(self, mapping: dict[Any, Any], depth: int) -> None:
        depth = _deeper(depth)
        self.out.append(self.packer.pack_map_header(len(mapping)))
        write = self.write
        for key, item in mapping.items():
            _check_key(key)
            write(key, depth)
            write(item, depth)

    def write_record(self, record: dict[Any, Any], depth: int) -> None:
        _deeper(depth)
        keys = tuple(record)
        shape: tuple[Any, ...] = keys
        if not all(type(key) is str for key in keys):
            for key in keys:
                _check_key(key)
            # 1, 1.0 and True are equal as dict keys but are different record keys.
            shape = tuple((type(key), key) for key in keys)
        slot = self.shapes.get(shape)
        if slot is not None:
            self.out.append(_SLOT_BYTES[slot])
        else:
            slot = self.next_slot
            self.next_slot = (slot + 1) % 64
            replaced = self.slot_shapes[slot]
            if replaced is not None:
                del self.shapes[replaced]
            self.shapes[shape] = slot
            self.slot_shapes[slot] = shape
            self.out.append(_DEFINE_RECORD[slot])
            # The key array belongs to the record: it is written at the record's own depth.
            self.write_array(keys, depth)
        depth += 1
        write = self.write
        for item in record.values():
            write(item, depth)


def _deeper(depth: int) -> int:
    """The depth of a container's items; refuses containers nested deeper than `MAX_DEPTH` (and cycles)."""
    if depth >= MAX_DEPTH:
        raise DocumentError(f"nesting deeper than {MAX_DEPTH} (or a value that contains itself)")
    return depth + 1


def _check_ext(value: Any) -> None:
    # A plain ext must decode back to itself, not to one of the types msgpackr gives a meaning.
    if type(value.code) is not int or not -128 <= value.code <= 127 or type(value.data) is not bytes:
        raise DocumentError(f"RawExt needs a code in -128..127 and bytes data, not {value!r}")
    if value.code == _EXT_TIMESTAMP:
        try:
            msgpack.Timestamp.from_bytes(value.data)
        except ValueError:
            return  # an invalid date: decoded as this same RawExt
        raise DocumentError("ext type -1 with a valid timestamp payload: use msgpack.Timestamp")
    if value.code in _EXT_RESERVED:
        raise DocumentError(f"ext type {value.code} has a msgpackr meaning: use the matching Python type")


def _check_key(key: Any) -> None:
    # Keys must come back as the same hashable value: a tuple key would decode as an (unhashable) list.
    if not isinstance(key, _KEY_TYPES):
        raise DocumentError(f"map key of type {type(key).__name__} cannot be encoded")


# --- the public API ----------------------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Exact equality of decoded values: same types all the way down, floats by bits, map entries in order."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is float:
        return bool(_F64.pack(a) == _F64.pack(b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            _same(ka, kb) and _same(va, vb) for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if kind is NaiExt:
        return bool(a.type == b.type and _same(a.value, b.value))
    return bool(a == b)


def _children(value: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, dict):
        yield from value.items()
    elif isinstance(value, list | tuple):
        yield from enumerate(value)
    elif type(value) is NaiExt:
        yield NaiExt, value.value


@attrs.define(eq=False)
class Document:
    """A decoded story document: the root value plus helpers to find and edit its text.

    Equality is exact (see the module docstring): `decode_document(encode_document(doc)) == doc`.

    Attributes:
        root: the decoded value, usually a `NaiExt` or a record (`dict`).
    """

    root: Any

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return _same(self.root, other.root)

    @classmethod
    def from_msgpack(cls, data: bytes, *, max_size: int = DEFAULT_MAX_DOCUMENT_SIZE) -> Document:
        """Decode raw msgpackr bytes (the b64-decoded `document` field).

        Args:
            data: the bytes.
            max_size: the largest decoded size accepted: the document's bytes plus what its string bundles expand
                to (docs/limits.md).

        Raises:
            DocumentError: the bytes are not one complete msgpackr value, nest deeper than `MAX_DEPTH`, or decode
                to more than `max_size`.
            ConfigurationError: `max_size` is not an int >= 0.
        """
        _check_max_size(max_size)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise DocumentError(f"a msgpackr document must be bytes, not {data.__class__.__name__}")
        try:
            return cls(_Decoder(bytes(data), max_size).decode())
        except RecursionError:
            # Only a caller already deep in its own recursion gets here (MAX_DEPTH keeps the decoder shallow).
            raise DocumentError("the document is nested too deeply for the stack left to decode it") from None

    def to_msgpack(self, *, max_size: int = DEFAULT_MAX_DOCUMENT_SIZE) -> bytes:
        """Encode as msgpackr bytes that msgpackr (JS) and `from_msgpack` read back to an equal value.

        Args:
            max_size: the largest encoding accepted: what `from_msgpack` would refuse is refused here.

        Raises:
            DocumentError: a value has no msgpackr form (unknown type, int beyond 64 bits, lone surrogate...), nests
                deeper than `MAX_DEPTH` (or contains itself), or encodes to more than `max_size` bytes.
            ConfigurationError: `max_size` is not an int >= 0.
        """
        _check_max_size(max_size)
        return _Encoder().encode(self.root, max_size)

    def strings(self) -> Iterator[tuple[DocumentPath, str]]:
        """Every string value (not map keys) with its path, in document order.

        Story text lives in these strings (for example under a `"text"` key); edit it with `set`.
        """
        stack: list[tuple[DocumentPath, Any]] = [((), self.root)]
        while stack:
            path, value = stack.pop()
            if isinstance(value, str):
                yield path, value
                continue
            children = [((*path, step), child) for step, child in _children(value)]
            stack.extend(reversed(children))

    def get(self, path: DocumentPath) -> Any:
        """The value at `path` (map keys and list indexes; the step `NaiExt` enters a `NaiExt`'s value).

        Raises:
            KeyError: no value at that path.
        """
        value = self.root
        for step in path:
            value = _step(value, step, path)
        return value

    def set(self, path: DocumentPath, value: Any) -> None:
        """Replace the value at `path` in place (the root itself for the empty path).

        Raises:
            KeyError: the parent of `path` does not exist or cannot hold that step.
        """
        if not path:
            self.root = value
            return
        parent = self.get(path[:-1])
        step = path[-1]
        if step is NaiExt and type(parent) is NaiExt:
            parent.value = value
        elif isinstance(parent, dict) or (_is_index(parent, step) and isinstance(parent, list)):
            parent[step] = value
        else:
            raise KeyError(path)

    def map_strings(self, change: Callable[[str], str]) -> Document:
        """A new document with every string value (not map keys) replaced by `change(value)`; types kept."""
        return Document(_map_strings(self.root, change))


def _step(value: Any, step: Any, path: DocumentPath) -> Any:
    if step is NaiExt and type(value) is NaiExt:
        return value.value
    if isinstance(value, dict):
        if step in value:
            return value[step]
    elif _is_index(value, step):
        return value[step]
    raise KeyError(path)


def _is_index(value: Any, step: Any) -> bool:
    return isinstance(value, list | tuple) and type(step) is int and -len(value) <= step < len(value)


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    kind = type(value)
    if kind is str:
        return change(value)
    if isinstance(value, dict):
        mapped = {key: _map_strings(item, change) for key, item in value.items()}
        return JSMap(mapped) if isinstance(value, JSMap) else mapped
    if isinstance(value, list | tuple):
        items = [_map_strings(item, change) for item in value]
        return JSSet(items) if isinstance(value, JSSet) else items
    if kind is NaiExt:
        return NaiExt(value.type, _map_strings(value.value, change))
    return value


def _check_max_size(value: int) -> None:
    # A budget is the caller's setting, not input: a wrong one is a configuration mistake, never a DocumentError.
    if type(value) is not int or value < 0:
        raise ConfigurationError(f"max_size must be an int >= 0, not {value!r}")


def decode_document(b64: str, *, max_size: int = DEFAULT_MAX_DOCUMENT_SIZE) -> Document:
    """Decode the `document` field of story content (standard base64 of msgpackr bytes).

    Args:
        b64: the field's text.
        max_size: the largest decoded size accepted: the document's bytes plus what its string bundles expand to
            (docs/limits.md).

    Returns:
        The document, decoded with fresh record and string-bundle state.

    Raises:
        DocumentError: not base64, or not one complete msgpackr value (the message says where), or nested deeper
            than `MAX_DEPTH`, or decoding to more than `max_size`.
        ConfigurationError: `max_size` is not an int >= 0.
    """
    _check_max_size(max_size)
    # A cheap early refusal: base64 holds 3 bytes in every 4 characters.
    if isinstance(b64, str | bytes) and len(b64) // 4 * 3 > max_size + 3:
        raise DocumentError(f"document of about {len(b64) // 4 * 3} bytes, more than the {max_size} accepted")
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        # TypeError: neither str nor bytes. `from None`: the message says it all, the input may be huge.
        raise DocumentError(f"document is not valid base64: {exc}") from None
    return Document.from_msgpack(data, max_size=max_size)


def encode_document(doc: Document, *, max_size: int = DEFAULT_MAX_DOCUMENT_SIZE) -> str:
    """Encode a document as the base64 text of the story content's `document` field.

    Args:
        doc: the document.
        max_size: the largest encoding accepted (in bytes, before base64): what `decode_document` would refuse.

    Raises:
        DocumentError: a value in the document has no msgpackr form, or the encoding is beyond `max_size` or
            `MAX_DEPTH`.
        ConfigurationError: `max_size` is not an int >= 0.
    """
    return base64.b64encode(doc.to_msgpack(max_size=max_size)).decode("ascii")

// Makes tests/data/msgpackr_documents.json: msgpackr documents written by the JS msgpackr library, each with the
// value the JS library reads back ("js_view"). Kept for reference; the tests never run node.
//
//   mkdir /tmp/msgpackr-js && cd /tmp/msgpackr-js && npm install msgpackr@2.1.3
//   cp <repo>/tests/data/make_msgpackr_documents.mjs . && node make_msgpackr_documents.mjs > <repo>/tests/data/msgpackr_documents.json
//
// js_view is the decoded JS value in JSON: objects and arrays as themselves; a Map as {"$map": [[key, value], ...]};
// a Set as {"$set": [...]}; a NovelAI extension as {"$ext": type, "value": ...}; undefined as {"$undefined": true};
// a Date as {"$date": milliseconds}; a Buffer (MessagePack bin) as {"$bin": hex}; another typed array (msgpackr
// ext 0x74) as {"$typed": index in msgpackr's typedArrays list, "hex": bytes}; a BigInt as {"$bigint": decimal}.
// A number is a JSON integer when msgpackr writes it as a MessagePack int (an integer in int32/uint32 range) and
// {"$float": String(number)} when it writes a float, so the JSON keeps MessagePack's int/float distinction.
//
// The story-shaped document ("story_like") is synthetic: its layout imitates what a NovelAI document might hold
// (typed objects, a Map of sections keyed by number, an order list, timestamps); it is not a real NovelAI payload.

import { Packr, Unpackr, addExtension } from 'msgpackr';

// msgpackr's ext 0x74 codes: the index of the typed array's name in this list (its unpack.js typedArrays).
const typedArrays = ['Int8', 'Uint8', 'Uint8Clamped', 'Int16', 'Uint16', 'Int32', 'Uint32', 'Float32', 'Float64', 'BigInt64', 'BigUint64']
  .map((type) => type + 'Array');

const NAI_TYPES = [20, 30, 31, 40, 41, 42];
class NaiValue {
  constructor(type, value) {
    this.type = type;
    this.value = value;
  }
}
// One class per type, registered "write-style": D4 <type> 00, then the value written by write().
const naiClasses = {};
for (const type of NAI_TYPES) {
  const Class = class extends NaiValue {};
  naiClasses[type] = Class;
  addExtension({
    Class,
    type,
    write(instance) {
      return instance.value;
    },
    read(value) {
      return new NaiValue(type, value);
    },
  });
}
const nai = (type, value) => new naiClasses[type](type, value);

function view(value) {
  if (value === undefined) return { $undefined: true };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    return value >>> 0 === value || value >> 0 === value ? value : { $float: String(value) };
  }
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof NaiValue) return { $ext: value.type, value: view(value.value) };
  if (value instanceof Map) return { $map: [...value.entries()].map(([k, v]) => [view(k), view(v)]) };
  if (value instanceof Set) return { $set: [...value].map(view) };
  if (value instanceof Date) return { $date: value.getTime() };
  if (Buffer.isBuffer(value)) return { $bin: value.toString('hex') };
  if (ArrayBuffer.isView(value)) {
    return { $typed: typedArrays.indexOf(value.constructor.name), hex: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  }
  if (Array.isArray(value)) return value.map(view);
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = view(v);
  return out;
}

const documents = [];
function add(name, comment, options, value) {
  const packed = new Packr(options).pack(value);
  const decoded = new Unpackr(options).unpack(packed);
  documents.push({ name, comment, packr_options: options, b64: Buffer.from(packed).toString('base64'), js_view: view(decoded) });
}

const STORY_OPTIONS = { useRecords: true, bundleStrings: true, moreTypes: true };

// 1. More than 64 record shapes: msgpackr recycles slots 0x40.. and redefines them; shapes are used again after.
{
  const shapes = [];
  for (let i = 0; i < 150; i++) {
    const o = { id: i };
    o[`field_${i}`] = `value ${i}`;
    shapes.push(o);
  }
  // Reuse an early shape (its slot was recycled long ago) and a recent one (still live).
  shapes.push({ id: 1000, field_3: 'again 3' }, { id: 1001, field_149: 'again 149' }, { id: 1002, field_149: 'x' });
  add('recycled_slots', '153 records of 150 shapes: slots recycled twice; early shape redefined, late one referenced', STORY_OPTIONS, shapes);
}

// 2. A bundled string that is the very last value before the bundle's strings.
add('bundled_string_last', 'the last value written before the bundle strings is a bundled string', STORY_OPTIONS, [
  { a: 'first string' },
  'last bundled string',
]);

// 3. More bundled text than one bundle holds (0x5500 characters): later bundles use an ext16 that also carries
//    the previous bundle's strings. Non-Latin text goes to the first string (negative lengths), including emoji
//    (two UTF-16 code units each).
{
  const paragraphs = [];
  for (let i = 0; i < 700; i++) {
    paragraphs.push(i % 3 === 0 ? `Абзац ${i}: фонарь качался на ветру 🏮 — «тени».` : `Paragraph ${i}: the lantern swung in the wind.`);
  }
  add('many_bundles', 'about 33000 characters of bundled strings: several bundles, Cyrillic and emoji', STORY_OPTIONS, { paragraphs });
}

// 4. Every NovelAI type, and the other msgpackr types a document may hold.
add('typed_values', 'NAI types, Set, Map (int and string keys), Date, undefined, bin, typed arrays, floats, wide ints', STORY_OPTIONS, {
  nai: NAI_TYPES.map((t) => nai(t, { t, inner: t === 20 ? nai(40, [1, 2]) : null })),
  set: new Set(['x', 'y', 3]),
  setOfObjects: new Set([{ a: 1 }, { a: 2 }]),
  intMap: new Map([[1, 'one'], [70, 'seventy'], [-3, 'minus three']]),
  strMap: new Map([['k', 'v'], ['text', 'a Map, not an object']]),
  emptyMap: new Map(),
  dates: [new Date(1700000000000), new Date(1700000000123), new Date(-1000), new Date(Date.UTC(2500, 0, 1))],
  undef: undefined,
  arrayWithUndefined: [1, undefined, null],
  bin: Buffer.from([0, 1, 2, 255]),
  typed: [new Uint8Array([7, 8]), new Float32Array([1.5])],
  floats: [1.5, -0.25, 1e-7, 3.141592653589793, NaN, Infinity, -Infinity],
  ints: [0, 63, 64, 100, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -1, -32, -33, -129, -32769, -2147483649, Number.MAX_SAFE_INTEGER],
  bigints: [BigInt('9223372036854775807'), BigInt('-9223372036854775808'), BigInt('18446744073709551615')],
});

// 5. A float32 document (useFloat32: 'always' writes every non-integer as float32).
add('float32', 'non-integers written as float32', { useRecords: true, useFloat32: 1 }, { f: 1.5, g: 0.1, list: [2.25, -8.5] });

// 6. A synthetic story-shaped document.
{
  const sections = new Map();
  const order = [];
  for (let i = 0; i < 12; i++) {
    const id = 1000 + i * 7;
    order.push(id);
    sections.set(id, nai(40, {
      type: 1,
      text: i === 3 ? 'Ein Absatz mit Umlauten: äöü ß.' : `Section ${i}: the lantern swung in the wind, casting long shadows.`,
      meta: new Map([[1, i % 2 === 0], [2, `m${i}`]]),
      source: i % 4,
      formatting: i % 5 === 0 ? [nai(41, { from: 0, to: 4, kind: 'bold' })] : [],
    }));
  }
  add('story_like', 'synthetic story-shaped document (NOT a real NovelAI payload): sections Map, typed values', STORY_OPTIONS, nai(20, {
    version: 1,
    sections,
    order,
    history: nai(30, { nodes: [nai(31, { id: 1, changes: [nai(42, { section: 1000, diff: 'x' })] })], current: 1 }),
    dirty: false,
    createdAt: new Date(1700000000000),
    tags: new Set(['fantasy', 'night']),
    undef: undefined,
  }));
}

process.stdout.write(JSON.stringify({
  note: 'Made by tests/data/make_msgpackr_documents.mjs with the JS msgpackr package (version in "msgpackr"); ' +
    'js_view is what the JS library reads back (encoding described at the top of the script).',
  msgpackr: '2.1.3',
  documents,
}, null, 1) + '\n');

"""Build the benchmark corpus in bench/corpus/ from text already on this machine, with a MANIFEST of origin and sha256.

    python bench/make_corpus.py [--force]

Files:
  en.txt        1,000,000 bytes of English: the docstrings of the CPython standard library of the running
                interpreter (modules in sorted order, read with `ast`), joined by blank lines.
  ja.txt        1,000,000 bytes of Japanese: the translated strings of the system's GNU gettext catalogues
                (`/usr/share/locale/ja/LC_MESSAGES/*.mo`, shipped by Debian packages), deduplicated, in sorted file
                order. Where those catalogues hold too little, a synthesised filler is appended (the MANIFEST says so).
  objects.json  user-data objects in the format of tests/data/vectors/objects.json: 1000 small `stories` objects
                (uncompressed) and one `storycontent` object of about 5 MB of JSON (compressed), encrypted with
                pynacl secret boxes and zlib raw deflate (docs/formats.md §3) under keys drawn from a seeded generator.
                The nonces come from the same seeded generator so that the file is reproducible; real clients must
                draw fresh random nonces.

Nothing is downloaded. Running it again rebuilds only when a file is missing or differs from the MANIFEST.
"""

from __future__ import annotations

import argparse
import ast
import base64
import gettext
import hashlib
import json
import random
import sys
import sysconfig
import zlib
from pathlib import Path
from typing import Any

import nacl.bindings

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
SIZE = 1_000_000
SMALL_OBJECTS = 1000
STORYCONTENT_BYTES = 5_000_000
SEED = 20261121
MARKER = b"\x00" * 15 + b"\x01"
JA_LOCALE_DIR = Path("/usr/share/locale/ja/LC_MESSAGES")
META_STORIES = "5d5b1c0e-8a9f-4e55-9d3e-2f1d8c6b7a01"
META_CONTENT = "a7c3e2d1-0b4f-4c6a-8e9d-1f2a3b4c5d6e"


def _cut(text: str, size: int = SIZE) -> str:
    """At most `size` bytes of UTF-8, cut at a character boundary."""
    return text.encode()[:size].decode("utf-8", errors="ignore")


def stdlib_docstrings(limit: int) -> tuple[list[str], int]:
    """Docstrings of the stdlib of the running interpreter until `limit` bytes, and how many files were read."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts: list[str] = []
    size = files = 0
    for path in sorted(stdlib.rglob("*.py")):
        if "site-packages" in path.parts or "test" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
            continue
        files += 1
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    parts.append(doc)
                    size += len(doc.encode()) + 2
        if size >= limit:
            break
    return parts, files


def english() -> tuple[str, dict[str, Any]]:
    parts, files = stdlib_docstrings(SIZE + 10_000)
    text = _cut("\n\n".join(parts))
    origin = {
        "source": f"docstrings of the CPython {sys.version.split()[0]} standard library "
        f"({sysconfig.get_paths()['stdlib']})",
        "files_read": files,
        "license": "PSF-2.0 (CPython documentation strings)",
        "synthesised": False,
    }
    return text, origin


def japanese() -> tuple[str, dict[str, Any]]:
    seen: set[str] = set()
    parts: list[str] = []
    catalogues = 0
    for path in sorted(JA_LOCALE_DIR.glob("*.mo")):
        with path.open("rb") as handle:
            try:
                catalogue = gettext.GNUTranslations(handle)
            except (OSError, ValueError, UnicodeDecodeError):
                continue
        catalogues += 1
        for key, value in catalogue._catalog.items():  # type: ignore[attr-defined]
            # Plural forms are keyed by (msgid, n); the translated text is all we want.
            if key and isinstance(value, str) and value and value not in seen:
                seen.add(value)
                parts.append(value)
    text = "\n".join(parts)
    real = len(text.encode())
    synthesised = 0
    if real < SIZE:
        # Not enough catalogue text on this machine: pad with a fixed synthetic passage (said in the MANIFEST).
        filler = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n"
        while len(text.encode()) < SIZE:
            text += filler
        synthesised = len(text.encode()) - real
    origin = {
        "source": f"translated strings of the GNU gettext catalogues in {JA_LOCALE_DIR} ({catalogues} catalogues, "
        "deduplicated)",
        "license": "the licenses of the respective Debian packages (mostly GPL/LGPL)",
        "synthesised": synthesised > 0,
        "synthesised_bytes": synthesised,
    }
    return _cut(text), origin


def _seal(rng: random.Random, key: bytes, plaintext: bytes, compressed: bool) -> str:
    if compressed:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        plaintext = packer.compress(plaintext) + packer.flush()
    nonce = rng.randbytes(24)
    payload = nonce + nacl.bindings.crypto_secretbox_easy(plaintext, nonce, key)
    return base64.b64encode(MARKER + payload if compressed else payload).decode("ascii")


def _object_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(21))


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def objects(english_text: str) -> tuple[str, dict[str, Any]]:
    rng = random.Random(SEED)
    keys = {META_STORIES: rng.randbytes(32), META_CONTENT: rng.randbytes(32)}
    words = english_text.split()
    entries: list[dict[str, Any]] = []
    for index in range(SMALL_OBJECTS):
        start = rng.randrange(len(words) - 60)
        data = {
            "storyMetadataVersion": 1,
            "id": META_STORIES,
            "remoteStoryId": _object_id(rng),
            "title": " ".join(words[start : start + rng.randint(1, 6)]),
            "description": " ".join(words[start : start + rng.randint(0, 30)]),
            "textPreview": " ".join(words[start : start + 40]),
            "favorite": rng.random() < 0.1,
            "tags": rng.sample(["fantasy", "scifi", "mystery", "romance", "horror", "comedy"], rng.randint(0, 3)),
            "createdAt": 1_700_000_000_000 + index,
            "lastUpdatedAt": 1_700_000_100_000 + index,
            "isModified": False,
        }
        plain = _dumps(data)
        envelope = {
            "id": _object_id(rng),
            "type": "stories",
            "meta": META_STORIES,
            "data": _seal(rng, keys[META_STORIES], plain, compressed=False),
            "lastUpdatedAt": 1_700_000_100 + index,
            "changeIndex": 1,
        }
        entries.append(
            {
                "name": f"story_{index:04d}",
                "comment": "stories object (story metadata), uncompressed",
                "kind": "encrypted",
                "keystore": "bench",
                "object": envelope,
                "plaintext_sha256": hashlib.sha256(plain).hexdigest(),
                "compressed": False,
            }
        )

    # The story body: fragments cut from the English text (cycled), a lorebook and a context, ~5 MB of JSON.
    fragments: list[dict[str, Any]] = []
    size = 0
    offset = 0
    while size < STORYCONTENT_BYTES - 200_000:
        length = rng.randint(40, 900)
        piece = english_text[offset : offset + length]
        offset = (offset + length) % (len(english_text) - 1000)
        fragments.append({"data": piece, "origin": rng.choice(["user", "ai", "ai", "edit"])})
        size += len(piece.encode()) + 30
    lore = [
        {
            "text": english_text[i * 2000 : i * 2000 + 1500],
            "displayName": f"Entry {i}",
            "keys": words[i : i + 3],
            "enabled": True,
            "id": f"{i:08x}-0000-4000-8000-000000000000",
        }
        for i in range(100)
    ]
    content = {
        "storyContentVersion": 6,
        "settings": {"model": "kayra-v1", "preset": "default", "prefix": "vanilla"},
        "story": {"version": 2, "step": len(fragments), "fragments": fragments},
        "context": [{"text": "[ Style: prose ]", "contextConfig": {"budgetPriority": 800}}],
        "lorebook": {"lorebookVersion": 5, "entries": lore},
        "ephemeralContext": [],
        "didGenerate": True,
    }
    plain = _dumps(content)
    entries.append(
        {
            "name": "storycontent_large",
            "comment": f"storycontent object, {len(plain)} bytes of JSON, compressed (zlib level 9, raw deflate)",
            "kind": "encrypted",
            "keystore": "bench",
            "object": {
                "id": _object_id(rng),
                "type": "storycontent",
                "meta": META_CONTENT,
                "data": _seal(rng, keys[META_CONTENT], plain, compressed=True),
                "lastUpdatedAt": 1_700_000_200,
                "changeIndex": 1,
            },
            "plaintext_sha256": hashlib.sha256(plain).hexdigest(),
            "compressed": True,
        }
    )
    document = {
        "kind": "objects",
        "notes": [
            "benchmark corpus in the format of tests/data/vectors/objects.json (made by bench/make_corpus.py)",
            "kind=encrypted: base64 -> [16-byte prefix 00*15 01 if compressed] + 24-byte nonce + "
            "secretbox(MAC16+ciphertext) under keystores_used[keystore].keys[object.meta]",
            "nonces and keys come from a seeded generator so the file is reproducible",
        ],
        "keystores_used": {"bench": {"keys": {meta: key.hex() for meta, key in keys.items()}}},
        "objects": entries,
    }
    origin = {
        "source": "generated from en.txt (words and passages) by bench/make_corpus.py",
        "small_objects": SMALL_OBJECTS,
        "storycontent_json_bytes": len(plain),
        "synthesised": True,
    }
    return json.dumps(document, ensure_ascii=False), origin


def build(force: bool = False) -> Path:
    """Build the corpus unless it is there and matches its MANIFEST; returns the corpus folder."""
    manifest_path = CORPUS_DIR / "MANIFEST.json"
    if not force and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if all(
            (CORPUS_DIR / entry["name"]).exists()
            and hashlib.sha256((CORPUS_DIR / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
            for entry in manifest["files"]
        ):
            return CORPUS_DIR
    CORPUS_DIR.mkdir(parents=True, exist_ok=True)
    en, en_origin = english()
    ja, ja_origin = japanese()
    objs, objs_origin = objects(en)
    files = []
    for name, text, origin in (
        ("en.txt", en, en_origin),
        ("ja.txt", ja, ja_origin),
        ("objects.json", objs, objs_origin),
    ):
        data = text.encode()
        (CORPUS_DIR / name).write_bytes(data)
        files.append({"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), **origin})
    manifest = {"made_by": "bench/make_corpus.py", "python": sys.version.split()[0], "files": files}
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return CORPUS_DIR


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even if the corpus matches its MANIFEST")
    args = parser.parse_args()
    folder = build(force=args.force)
    print((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

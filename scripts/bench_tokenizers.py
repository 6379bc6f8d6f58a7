"""Measure nai_sdk.tokenizers against the raw libraries: first load, encode throughput, batch vs one call a line.

    python scripts/bench_tokenizers.py [--repeat 5]

Corpora (about 1 MB each, built from text on the machine):
  English: the docstrings of the CPython standard library (`/usr/lib/python3.*`, via `ast`).
  Japanese: the Japanese message catalogues of the system (`/usr/share/locale/ja/LC_MESSAGES/*.mo`, GNU gettext
  translations shipped by Debian packages), their translated strings concatenated.
"""

from __future__ import annotations

import argparse
import ast
import gettext
import json
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZE = 1_000_000

_LOAD_CODE = """
import json, sys, time
name, mode = sys.argv[1], sys.argv[2]
import tokenizers, sentencepiece, gzip
from nai_sdk.tokenizers import get_tokenizer
from nai_sdk.tokenizers._registry import DATA_DIR, _FILES
path = DATA_DIR / _FILES[name]
start = time.perf_counter()
if mode == "ours":
    get_tokenizer(name)
elif name.startswith("nerdstash"):
    sentencepiece.SentencePieceProcessor(model_file=str(path))
elif name == "clip":
    from nai_sdk.tokenizers._clip import _build_backend
    _build_backend(path.read_bytes())
else:
    tokenizers.Tokenizer.from_file(str(path))
print(json.dumps(time.perf_counter() - start))
"""


def english_corpus() -> str:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts: list[str] = []
    size = 0
    for path in sorted(stdlib.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    parts.append(doc)
                    size += len(doc.encode())
        if size >= SIZE:
            break
    return _cut("\n\n".join(parts))


def japanese_corpus() -> str:
    parts: list[str] = []
    for path in sorted(Path("/usr/share/locale/ja/LC_MESSAGES").glob("*.mo")):
        with path.open("rb") as handle:
            try:
                catalogue = gettext.GNUTranslations(handle)
            except (OSError, ValueError, UnicodeDecodeError):
                continue
        parts.extend(str(text) for key, text in catalogue._catalog.items() if key and text)  # type: ignore[attr-defined]
    text = "\n".join(parts)
    while len(text.encode()) < SIZE:
        text += "\n" + text
    return _cut(text)


def _cut(text: str) -> str:
    """About SIZE bytes of UTF-8, cut at a character boundary."""
    return text.encode()[:SIZE].decode("utf-8", errors="ignore")


def best_of(repeat: int, *funcs: Callable[[], object]) -> list[float]:
    """The best time of each function, calling them in turn `repeat` times (so load changes hit all alike)."""
    times: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeat):
        for func, record in zip(funcs, times, strict=True):
            start = time.perf_counter()
            func()
            record.append(time.perf_counter() - start)
    return [min(record) for record in times]


def first_load(name: str, repeat: int) -> dict[str, float]:
    result: dict[str, list[float]] = {"raw": [], "ours": []}
    for _ in range(repeat):
        for mode in ("raw", "ours"):
            out = subprocess.run(
                [sys.executable, "-c", _LOAD_CODE, name, mode], capture_output=True, text=True, check=True
            )
            result[mode].append(json.loads(out.stdout))
    return {mode: statistics.median(times) for mode, times in result.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="tokenizer names (default: all)")
    args = parser.parse_args()

    import sentencepiece
    import tokenizers

    from nai_sdk.tokenizers import TOKENIZER_NAMES, get_tokenizer
    from nai_sdk.tokenizers._clip import _build_backend, clean_text
    from nai_sdk.tokenizers._registry import _FILES, DATA_DIR

    corpora = {"en": english_corpus(), "ja": japanese_corpus()}
    print(f"corpora: en {len(corpora['en'].encode())} bytes, ja {len(corpora['ja'].encode())} bytes")
    report: dict[str, Any] = {}
    for name in args.only or TOKENIZER_NAMES:
        path = DATA_DIR / _FILES[name]
        load = first_load(name, args.repeat)
        ours = get_tokenizer(name)
        raw_batch: Callable[[list[str]], object]
        if name.startswith("nerdstash"):
            sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
            raw_encode: Callable[[str], list[int]] = sp.EncodeAsIds
            raw_batch = sp.Encode
        else:
            backend = _build_backend(path.read_bytes()) if name == "clip" else tokenizers.Tokenizer.from_file(str(path))
            cleaner = clean_text if name == "clip" else None  # raw CLIP gets text already cleaned

            def raw_encode(text: str, backend: tokenizers.Tokenizer = backend, clean: Any = cleaner) -> list[int]:
                ids: list[int] = backend.encode(clean(text) if clean else text).ids
                return ids

            raw_batch = backend.encode_batch
        row: dict[str, Any] = {"load_raw_s": load["raw"], "load_ours_s": load["ours"]}
        for lang, text in corpora.items():
            assert ours.encode(text)[:50] == raw_encode(text)[:50] or name == "llama3"
            raw_s, ours_s = best_of(args.repeat, lambda: raw_encode(text), lambda: ours.encode(text))  # noqa: B023
            lines = [line for line in text.splitlines() if line]
            loop_s, batch_s, raw_batch_s = best_of(
                args.repeat,
                lambda: [ours.encode(line) for line in lines],  # noqa: B023
                lambda: ours.encode_batch(lines),  # noqa: B023
                lambda: raw_batch(lines),  # noqa: B023
            )
            mb = len(text.encode()) / 1e6
            row[lang] = {
                "raw_MBps": round(mb / raw_s, 2),
                "ours_MBps": round(mb / ours_s, 2),
                "ratio": round(raw_s / ours_s, 3),
                "lines": len(lines),
                "per_line_loop_s": round(loop_s, 4),
                "encode_batch_s": round(batch_s, 4),
                "raw_batch_s": round(raw_batch_s, 4),
            }
        row["load_ratio"] = round(load["ours"] / load["raw"], 3)
        report[name] = row
        print(name, json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())

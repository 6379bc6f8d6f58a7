"""What the storage decoders' budgets cost (docs/limits.md), and what refusing a bomb peaks at.

    .venv/bin/python bench/bench_budgets.py [--rounds N] [--quick]

Standalone (not a group of bench/run.py, whose groups compare nai_sdk with a peer in worker processes; these
figures compare nai_sdk with itself). Runs from any working directory. Prints:

1. Time to decrypt the `make bench` corpus (1,000 small `stories` objects; one ~5 MB `storycontent`), medians of
   `--rounds` rounds, alternating in a rotating order, in one process:
   - `budgets`: the defaults;
   - `huge`: every budget 2**62, i.e. effectively none (the ratio budgets/huge is the target: under 1.05);
   - `before`: the decoders as they were before the budgets (modules loaded from git at `BEFORE`; skipped when this
     is not a git checkout holding that commit): what the whole change costs, envelope checks included;
   - `floor`: pynacl + zlib + json called directly, as the crypto group of `make bench` does.
2. Peak memory when refusing decompression bombs (1 GiB of zeros in 1.4 MB of base64, as a plain `presets` object),
   each in a fresh interpreter (Linux): the peak RSS (VmHWM) after reading the input, and after the refusal; the
   difference against the inflate budget (the target: under 2x).
3. Peak memory (tracemalloc) when refusing a string-bundle bomb: 300 references to one 1 MB string.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

from make_corpus import build  # noqa: E402

from nai_sdk._constants import DEFAULT_MAX_DOCUMENT_SIZE, DEFAULT_MAX_INFLATED_SIZE  # noqa: E402
from nai_sdk.content import Document, decrypt_object, decrypt_objects  # noqa: E402
from nai_sdk.keystore import Keystore  # noqa: E402

DECRYPT_SMALL = "1000 small objects"
DECRYPT_LARGE = "5 MB storycontent"
DECRYPT_LARGE_LISTED = "5 MB storycontent in a listing"
#: Budgets may cost at most this much time (a ratio of medians) next to budgets effectively off.
GOAL_RATIO = 1.05
#: (inflates to, max_inflated_size or None for the default) of each bomb measured.
BOMBS = ((1 << 30, None), (1 << 30, 16 << 20), (256 << 20, 64 << 20))
#: The last commit before the budgets (it only added their constants): the `before` column loads its decoders.
BEFORE = "2da8c00caa5cf9530171ceed8b5b777e543adb54"
HUGE = 2**62
MARKER = b"\x00" * 15 + b"\x01"
MiB = 1 << 20


def load_corpus() -> tuple[dict[str, bytes], list[dict[str, Any]], dict[str, Any]]:
    document = json.loads((build() / "objects.json").read_text(encoding="utf-8"))
    keys = {meta: bytes.fromhex(key) for meta, key in document["keystores_used"]["bench"]["keys"].items()}
    envelopes = [entry["object"] for entry in document["objects"]]
    small = [e for e in envelopes if e["type"] == "stories"]
    (large,) = [e for e in envelopes if e["type"] == "storycontent"]
    return keys, small, large


def load_before() -> ModuleType | None:
    """`nai_sdk.content._objects` as of BEFORE, importing `nai_sdk.crypto` as of BEFORE; None without git."""

    def show(path: str) -> str | None:
        try:
            return subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{BEFORE}:{path}"], capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return None

    crypto_source, objects_source = show("nai_sdk/crypto.py"), show("nai_sdk/content/_objects.py")
    if crypto_source is None or objects_source is None:
        return None
    modules = {}
    for name, source in (
        ("_bench_crypto_before", crypto_source),
        (
            "_bench_objects_before",
            objects_source.replace("from nai_sdk.crypto import", "from _bench_crypto_before import"),
        ),
    ):
        spec = importlib.util.spec_from_loader(name, loader=None)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        exec(compile(source, f"{BEFORE[:7]}:{name}", "exec"), module.__dict__)  # our own past source
        modules[name] = module
    return modules["_bench_objects_before"]


def floor_open(raw: dict[str, Any], keys: dict[str, bytes]) -> Any:
    import nacl.bindings

    blob = base64.b64decode(raw["data"])
    compressed = blob.startswith(MARKER)
    if compressed:
        blob = blob[16:]
    plain = nacl.bindings.crypto_secretbox_open_easy(blob[24:], blob[:24], keys[raw["meta"]])
    return json.loads(zlib.decompress(plain, -15) if compressed else plain)


def timed(fn: Callable[[], object]) -> float:
    """Seconds of one call. The result is freed after the timer stops, as bench/_proto.py's `timed` does: freeing
    megabytes of parsed JSON is not the work measured."""
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    del result
    return seconds


def alternate(cases: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per case; every round runs each case once, the order rotating so drift hits all alike."""
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up: first-call costs (imports, caches) are not what is measured
        cases[name]()
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(timed(cases[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def measure_decrypt(rounds: int) -> dict[str, dict[str, float]]:
    """Workload -> case (`budgets`, `huge`, `before` when available, `floor`) -> median seconds."""
    keys, small, large = load_corpus()
    store = Keystore(keys)
    before = load_before()
    workloads: dict[str, dict[str, Callable[[], object]]] = {
        DECRYPT_SMALL: {
            "budgets": lambda: decrypt_objects(small, store),
            "huge": lambda: decrypt_objects(small, store, max_inflated_size=HUGE, max_inflated_total=HUGE),
            "floor": lambda: [floor_open(raw, keys) for raw in small],
        },
        DECRYPT_LARGE: {
            "budgets": lambda: decrypt_object(large, store),
            "huge": lambda: decrypt_object(large, store, max_inflated_size=HUGE),
            "floor": lambda: floor_open(large, keys),
        },
        DECRYPT_LARGE_LISTED: {
            "budgets": lambda: decrypt_objects([large], store),
            "huge": lambda: decrypt_objects([large], store, max_inflated_size=HUGE, max_inflated_total=HUGE),
            "floor": lambda: [floor_open(large, keys)],
        },
    }
    if before is not None:
        old_many, old_one = before.decrypt_objects, before.decrypt_object
        workloads[DECRYPT_SMALL]["before"] = lambda: old_many(small, store)
        workloads[DECRYPT_LARGE]["before"] = lambda: old_one(large, store)
        workloads[DECRYPT_LARGE_LISTED]["before"] = lambda: old_many([large], store)
    assert decrypt_object(large, store).ok and all(obj.ok for obj in decrypt_objects(small, store))
    return {workload: alternate(cases, rounds) for workload, cases in workloads.items()}


def decrypt_table(medians: dict[str, dict[str, float]], rounds: int) -> list[str]:
    lines = [
        f"decrypt (medians of {rounds} rounds; ratios are of times; goal: budgets/huge under {GOAL_RATIO:.2f})",
        "",
        "| workload | budgets | huge | budgets/huge | before | budgets/before | floor | budgets/floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for workload, m in medians.items():
        cells = [
            f"{m['budgets'] * 1e3:.2f} ms",
            f"{m['huge'] * 1e3:.2f} ms",
            f"{m['budgets'] / m['huge']:.3f}",
            f"{m['before'] * 1e3:.2f} ms" if "before" in m else "-",
            f"{m['budgets'] / m['before']:.3f}" if "before" in m else "-",
            f"{m['floor'] * 1e3:.2f} ms",
            f"{m['budgets'] / m['floor']:.3f}",
        ]
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    if not all("before" in m for m in medians.values()):
        lines.append(f"(no `before` column: commit {BEFORE[:7]} is not in this checkout's git history)")
    return lines


def zero_bomb(size: int) -> bytes:
    """Raw DEFLATE of `size` zero bytes, built in O(size / 1 MiB): after a full flush every MiB compresses alike."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(bytes(MiB)) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(bytes(MiB)) + packer.flush(zlib.Z_FULL_FLUSH)
    return first + block * (size // MiB - 1) + packer.flush()


# Runs in a fresh interpreter that only reads the envelope, so that nothing freed earlier is reused and hides part of
# the peak. The peak is the process's VmHWM (Linux): ru_maxrss would not do, as a child starts with its parent's
# high-water mark (it is carried over through fork and exec), and this parent holds the corpus.
_BOMB_CHILD = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {root!r})
    from nai_sdk.content import decrypt_objects

    def status(field):
        with open("/proc/self/status", encoding="ascii") as file:
            for line in file:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024  # kB

    with open({path!r}, encoding="ascii") as file:
        raw = json.load(file)
    before = status("VmHWM")
    start = time.perf_counter()
    kwargs = {{}} if {budget} is None else {{"max_inflated_size": {budget}}}
    (obj,) = decrypt_objects([raw], None, **kwargs)
    seconds = time.perf_counter() - start
    print(json.dumps({{"b64": len(raw["data"]), "error": type(obj.error).__name__, "before": before,
                      "after": status("VmHWM"), "seconds": seconds}}))
""")


def measure_bombs() -> list[dict[str, Any]]:
    """Per bomb: its size, base64 length, budget, the error, peak RSS before and after the refusal, seconds."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size, budget in BOMBS:
            path = Path(folder) / "bomb.json"
            data = base64.b64encode(MARKER + zero_bomb(size)).decode()
            path.write_text(json.dumps({"id": "bomb", "type": "presets", "meta": "", "data": data}), encoding="ascii")
            code = _BOMB_CHILD.format(root=str(ROOT), path=str(path), budget=budget)
            result = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
            )
            figures: dict[str, Any] = json.loads(result.stdout)
            figures.update(size=size, budget=DEFAULT_MAX_INFLATED_SIZE if budget is None else budget)
            figures["default"] = budget is None
            results.append(figures)
    return results


def bomb_table(bombs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "decompression bombs (a plain `presets` object; each refused in a fresh interpreter; goal: peak - before under"
        " 2x the budget)",
        "",
        "| inflates to | base64 | budget | refused with | peak before | peak after | growth | / budget | time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for b in bombs:
        grown = b["after"] - b["before"]
        lines.append(
            f"| {b['size'] / MiB:.0f} MiB | {b['b64'] / 1e6:.2f} MB | {b['budget'] / MiB:.0f} MiB"
            f"{' (default)' if b['default'] else ''} | {b['error']} | {b['before'] / MiB:.0f} MiB | "
            f"{b['after'] / MiB:.0f} MiB | {grown / MiB:.0f} MiB | {grown / b['budget']:.2f}x | "
            f"{b['seconds'] * 1e3:.0f} ms |"
        )
    return lines


def measure_bundle_bomb() -> dict[str, Any]:
    """A document of 300 references to one 1 MB string: outcome, seconds, tracemalloc peak."""
    references, size = 300, MiB
    head = b"\xdc" + struct.pack(">H", references)
    take = b"\xc1\xce" + struct.pack(">I", size)
    item = 6 + len(take)
    strings_at = len(head) + references * item
    data = (
        head
        + b"".join(
            b"\xd6\x62" + struct.pack(">I", strings_at - (len(head) + i * item + 2)) + take for i in range(references)
        )
        + b"\xa0\xdb"
        + struct.pack(">I", size)
        + b"y" * size
    )
    tracemalloc.start()
    start = time.perf_counter()
    try:
        Document.from_msgpack(data)
        outcome = "decoded"
    except Exception as exc:  # the outcome is printed, whatever it is
        outcome = type(exc).__name__
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"bytes": len(data), "expands_to": references * size, "outcome": outcome, "seconds": seconds, "peak": peak}


def bundle_lines(bundle: dict[str, Any]) -> list[str]:
    return [
        "string-bundle bomb (tracemalloc, this process)",
        "",
        f"{bundle['bytes'] / 1e6:.2f} MB of msgpackr whose references would decode to {bundle['expands_to'] / 1e6:.0f}"
        f" MB of text: {bundle['outcome']} in {bundle['seconds'] * 1e3:.0f} ms, traced peak "
        f"{bundle['peak'] / MiB:.1f} MiB (document budget {DEFAULT_MAX_DOCUMENT_SIZE / MiB:.0f} MiB)",
    ]


def as_rows(
    decrypt: dict[str, dict[str, float]], bombs: list[dict[str, Any]], bundle: dict[str, Any]
) -> dict[str, Any]:
    """The figures as bench/run.py takes them: rows of `ours` and `floor` (here: the budgets effectively off)."""
    rows: dict[str, dict[str, Any]] = {}
    for workload, m in decrypt.items():
        rows[f"decrypt {workload} (floor: budgets 2**62)"] = {"unit": "ms", "ours": m["budgets"], "floor": m["huge"]}
    for b in bombs:
        label = f"{b['size'] >> 20} MiB bomb refused, {b['budget'] >> 20} MiB budget: peak RSS growth"
        rows[label] = {"unit": "MiB", "ours": (b["after"] - b["before"]) / MiB}
    rows["300 x 1 MB bundle references refused: traced peak"] = {"unit": "MiB", "ours": bundle["peak"] / MiB}
    worst_ratio = max(m["budgets"] / m["huge"] for m in decrypt.values())
    worst_bomb = max((b["after"] - b["before"]) / b["budget"] for b in bombs)
    notes = [
        f"budgets/huge at most {worst_ratio:.3f} (goal under {GOAL_RATIO:.2f}): "
        + ("met" if worst_ratio < GOAL_RATIO else "missed"),
        f"bomb peak RSS growth at most {worst_bomb:.2f}x its budget (goal under 2x): "
        + ("met" if worst_bomb < 2 else "missed"),
    ]
    return {"rows": rows, "notes": notes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="rounds per decrypt workload (default 15)")
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (for bench/run.py)")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else args.rounds
    decrypt = measure_decrypt(rounds)
    if not args.json:
        print("\n".join(decrypt_table(decrypt, rounds)), end="\n\n", flush=True)
    bombs = measure_bombs()
    if not args.json:
        print("\n".join(bomb_table(bombs)), end="\n\n", flush=True)
    bundle = measure_bundle_bomb()
    summary = as_rows(decrypt, bombs, bundle)
    if args.json:
        print(json.dumps(summary))
    else:
        print("\n".join([*bundle_lines(bundle), "", *summary["notes"]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

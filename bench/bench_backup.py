"""What a backup of 1,000 objects costs: time, and memory against the size of the largest object.

    .venv/bin/python bench/bench_backup.py [--rounds N] [--dir DIR] [--quick]

FakeNovelAI runs in this process, holding 1,000 encrypted objects (put straight into its state); each backup runs
`storage.backup` in a child process of its own, so that the server's memory never counts. Two accounts:

* "skewed", as real accounts are: 500 stories (~0.6 kB each), 499 story contents (~10 kB each) and one story
  content of 4 MiB;
* "uniform": 1,000 story contents of 100 kB each.

Each is backed up with the default page size, and the uniform account also with `page_size=1`. Per row, medians of
the rounds: wall time, the child's peak RSS above its RSS just before the backup (Linux's VmHWM, reset first
through /proc/self/clear_refs: the key derivation's 64 MiB peak would hide the backup's), and in a separate
child (tracing slows everything) the peak of Python allocations during the backup (`tracemalloc`), both divided by
the largest object's size on the wire. Then `verify_backup` of the same backup. The target is memory within 2x the
largest object. The keystore answer's size is shown too: with 1,000 keys it is about 0.7 MB (NovelAI writes its
bytes as JSON arrays of numbers), and checking that it opens (`Keystore.decrypt`) briefly takes about five times
that, which sets the uniform account's peak. The temporary folder's file system is printed: every file is flushed
to the disk (fsync) before the manifest is written, which costs next to nothing on tmpfs and more on a disk.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nai_sdk import NovelAI, crypto  # noqa: E402
from nai_sdk.content import UserObject, encrypt_object  # noqa: E402
from nai_sdk.keystore import Keystore  # noqa: E402

EMAIL = "bench-backup@example.com"
PASSWORD = "bench-" + secrets.token_hex(4)


# --- the accounts ---------------------------------------------------------------------------------------------


def _padding(size: int) -> str:
    # Random bytes in base64: incompressible, so the size on the wire is what was asked for.
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()


def _objects(kind: str, keystore: Keystore) -> list[dict[str, Any]]:
    """The envelopes of one account, encrypted as NovelAI's client encrypts them (uncompressed, for exact sizes)."""
    specs: list[tuple[str, int]]
    if kind == "skewed":
        specs = [("stories", 450)] * 500 + [("storycontent", 7_000)] * 499 + [("storycontent", 3 << 20)]
    else:
        specs = [("storycontent", 75_000)] * 1000
    envelopes = []
    for number, (object_type, size) in enumerate(specs):
        data = {"storyContentVersion": 6, "document": _padding(size)} if object_type == "storycontent" else {}
        if object_type == "stories":
            data = {"storyMetadataVersion": 1, "title": f"story {number}", "description": _padding(size)}
        obj = UserObject.new(object_type, data, keystore, compressed=False)
        wire = encrypt_object(obj, keystore)
        envelopes.append(
            {
                "id": obj.id,
                "type": object_type,
                "meta": wire["meta"],
                "data": wire["data"],
                "lastUpdatedAt": 1_700_000_000_000 + number,
                "changeIndex": 1,
            }
        )
    return envelopes


def _wire_size(envelope: dict[str, Any]) -> int:
    return len(json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode())


# --- the child: one backup ------------------------------------------------------------------------------------


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def _reset_peak_rss() -> int:
    """The RSS now, after resetting the peak to it (Linux: the key derivation's 64 MiB would hide everything else);
    elsewhere the peak so far (ru_maxrss), which then bounds the backup's figure from below only."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return _status("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak_rss() -> int:
    try:
        return _status("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(url: str, folder: str, page_size: int, trace: bool) -> None:
    with NovelAI(email=EMAIL, password=os.environ["BENCH_PASSWORD"], base_url=url, keystore_journal=False) as nai:
        # Log in and warm the connection first: the baseline is the client ready to work.
        nai.storage.keystore()
        before = _reset_peak_rss()
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        nai.storage.backup(folder, page_size=page_size)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        after = _peak_rss()
        key = crypto.encryption_key(EMAIL, os.environ["BENCH_PASSWORD"])
        from nai_sdk.backup import verify_backup

        start = time.perf_counter()
        report = verify_backup(folder, key)
        verify = time.perf_counter() - start
        assert report.ok, report.failures[:3]
    json.dump({"time": elapsed, "rss": after - before, "traced": peak, "verify": verify}, sys.stdout)


def _run_child(url: str, page_size: int, trace: bool, parent: str | None) -> dict[str, float]:
    folder = tempfile.mkdtemp(prefix="nai-bench-backup-", dir=parent)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, os.path.join(folder, "b"), str(page_size), str(int(trace))],
            env={**os.environ, "BENCH_PASSWORD": PASSWORD},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result: dict[str, float] = json.loads(out)
    return result


def _file_system(path: str) -> str:
    best = ("?", "")
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                _, point, kind, *_ = line.split()
                if path.startswith(point) and len(point) >= len(best[1]):
                    best = (kind, point)
    except OSError:
        pass
    return best[0]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="backups per row (medians)")
    parser.add_argument("--dir", help="where the backups go (default: the system's temporary folder)")
    parser.add_argument("--quick", action="store_true", help="one round, no page_size=1 row")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    from nai_sdk.resources.storage import OBJECT_PAGE_SIZE
    from nai_sdk.testing import FakeNovelAI

    parent = args.dir or tempfile.gettempdir()
    print(f"backups into {parent} ({_file_system(os.path.realpath(parent))}), {rounds} round(s) per row")
    print(
        f"{'account':<9} {'page_size':>9} {'objects':>7} {'MB':>6} {'largest':>9} {'keystore':>8} {'time s':>7} "
        f"{'MB/s':>6} "
        f"{'RSS MB':>7} {'RSS/lg':>6} {'traced MB':>9} {'traced/lg':>9} {'verify s':>8}"
    )
    rows = [("skewed", OBJECT_PAGE_SIZE), ("uniform", OBJECT_PAGE_SIZE)]
    if not args.quick:
        rows.append(("uniform", 1))
    with FakeNovelAI(default_tier=3) as fake:
        account, _ = fake.add_account(crypto.access_key(EMAIL, PASSWORD), email=EMAIL)
        current = None
        for kind, page_size in rows:
            if kind != current:
                keystore = Keystore.empty()
                envelopes = _objects(kind, keystore)
                with fake.state.lock:
                    account.objects = {}
                    for envelope in envelopes:
                        account.objects.setdefault(envelope["type"], {})[envelope["id"]] = envelope
                    account.keystore = keystore.encrypt(crypto.encryption_key(EMAIL, PASSWORD))
                    keystore_size = _wire_size({"keystore": account.keystore, "changeIndex": 1})
                sizes = [_wire_size(envelope) for envelope in envelopes]
                largest, total = max(sizes), sum(sizes)
                current = kind
            plain = [_run_child(fake.base_url, page_size, False, args.dir) for _ in range(rounds)]
            traced = [_run_child(fake.base_url, page_size, True, args.dir) for _ in range(rounds)]
            seconds = statistics.median(r["time"] for r in plain)
            rss = statistics.median(r["rss"] for r in plain)
            peak = statistics.median(r["traced"] for r in traced)
            verify = statistics.median(r["verify"] for r in plain)
            mb = 1 << 20
            print(
                f"{kind:<9} {page_size:>9} {len(sizes):>7} {total / mb:>6.1f} {largest / 1024:>7.0f}kB "
                f"{keystore_size / 1024:>6.0f}kB "
                f"{seconds:>7.2f} {total / mb / seconds:>6.1f} {rss / mb:>7.1f} {rss / largest:>6.2f} "
                f"{peak / mb:>9.2f} {peak / largest:>9.2f} {verify:>8.2f}"
            )


if __name__ == "__main__":
    main()

"""`make bench`: nai_sdk ("ours") against novelai-api 0.34.1 ("peer") and the raw libraries underneath ("floor").

    .venv/bin/python bench/run.py [--quick] [--only GROUP ...]

Groups: imports, tokenizers, crypto, http (see bench/README.md). Ours and the floor run in the project venv, the
peer in bench/.peer-venv (created here on first use with `python -m venv` + `pip install novelai-api==0.34.1`),
each side in its own process. Runs alternate between the sides (the order rotates every round) so that drift on
the machine hits all of them alike; the figures are medians. Ratios are of times: peer/ours > 1 means ours is
faster than the peer; ours/floor is what nai_sdk costs on top of the raw libraries (1.00 = nothing).

Writes bench/results.md and bench/results.json (or --out DIR). Never part of `make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEER_VENV = BENCH / ".peer-venv"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEER_REQUIREMENT = "novelai-api==0.34.1"
GROUPS = ("imports", "tokenizers", "crypto", "http")
SIDES = ("floor", "ours", "peer")
TOKENIZERS = ("gpt2", "gpt2-genji", "pile", "nerdstash_v1", "nerdstash_v2", "llama3", "clip")

sys.path.insert(0, str(BENCH))


@dataclass(frozen=True)
class Settings:
    """How much to run: the full run stays under ~6 minutes on a 2-core machine, --quick under ~1.5."""

    import_reps: int
    load_reps: int
    encode_reps: int
    encode_bytes: int
    crypto_reps: int
    http_reps: int
    http_requests: int
    budget_s: dict[str, float]


FULL = Settings(9, 3, 3, 1_000_000, 9, 15, 200, {"imports": 60, "tokenizers": 240, "crypto": 60, "http": 60})
QUICK = Settings(3, 1, 2, 200_000, 3, 5, 100, {"imports": 20, "tokenizers": 60, "crypto": 20, "http": 20})


@dataclass
class Row:
    """One workload measured on up to three sides: the samples of each side's timed metric."""

    group: str
    workload: str
    unit: str  # "ms", "MiB" (shown as is) or a rate: "MB/s", "req/s" (items / seconds)
    samples: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    note: str = ""

    def median(self, side: str) -> float | None:
        values = [sample["s"] for sample in self.samples.get(side, [])]
        return statistics.median(values) if values else None

    def items(self, side: str) -> float | None:
        values = [sample["items"] for sample in self.samples.get(side, []) if "items" in sample]
        return statistics.median(values) if values else None

    def shown(self, side: str) -> str:
        value = self.median(side)
        if value is None:
            return "-"
        if self.unit == "MiB":
            return f"{value:.1f} MiB"
        if self.unit in ("MB/s", "req/s"):
            items = self.items(side) or 0.0
            rate = items / value / (1e6 if self.unit == "MB/s" else 1.0)
            return f"{rate:.2f} MB/s" if self.unit == "MB/s" else f"{rate:.0f} req/s"
        return f"{value * 1e3:.1f} ms" if value < 10 else f"{value:.2f} s"

    def ratio(self, top: str, bottom: str) -> float | None:
        a, b = self.median(top), self.median(bottom)
        return a / b if a is not None and b else None

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "workload": self.workload,
            "unit": self.unit,
            "median": {side: self.median(side) for side in SIDES if side in self.samples},
            "shown": {side: self.shown(side) for side in SIDES if side in self.samples},
            "n": {side: len(values) for side, values in self.samples.items()},
            "peer/ours": self.ratio("peer", "ours"),
            "ours/floor": self.ratio("ours", "floor"),
            "note": self.note,
            "samples": self.samples,
        }


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def note(self, group: str, text: str) -> None:
        print(f"  [{group}] {text}", flush=True)
        self.notes.setdefault(group, []).append(text)


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# --- the peer venv ------------------------------------------------------------------------------------------------


def _base_python() -> str:
    """The interpreter the project venv was made from, so both sides start the same Python."""
    base = getattr(sys, "_base_executable", None)
    return base if isinstance(base, str) and Path(base).exists() else "python3"


def ensure_peer_venv() -> str | None:
    """Create bench/.peer-venv with the peer if it is not there; returns why it cannot be used, or None."""
    check = [str(PEER_PYTHON), "-c", "import importlib.metadata as m; print(m.version('novelai-api'))"]
    if PEER_PYTHON.exists():
        done = subprocess.run(check, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == PEER_REQUIREMENT.split("==")[1]:
            return None
    print(f"installing {PEER_REQUIREMENT} into {PEER_VENV} ...", flush=True)
    try:
        subprocess.run([_base_python(), "-m", "venv", "--clear", str(PEER_VENV)], check=True)
        pip = [str(PEER_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PEER_REQUIREMENT]
        subprocess.run(pip, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"cannot install {PEER_REQUIREMENT} into {PEER_VENV}: {exc}"
    return None


# --- workers --------------------------------------------------------------------------------------------------------


class Worker:
    """A long-lived worker process (worker_ours.py or worker_peer.py) that runs one case per request."""

    def __init__(self, python: str, script: str, log: IO[str]) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="true")
        self.name = script
        self.process = subprocess.Popen(
            [python, str(BENCH / script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env
        )

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited (code {self.process.wait()}); see bench/.bench.log")
        answer: dict[str, Any] = json.loads(line)
        if not answer["ok"] and "error" in answer:
            raise RuntimeError(f"{self.name}: {answer['error']}")
        return answer

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        return self.receive()

    def close(self) -> None:
        if self.process.poll() is None:
            with suppress(RuntimeError, OSError):
                self.ask({"cmd": "quit"})
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def workers(sides: Sequence[str], log: IO[str]) -> Iterator[dict[str, Worker]]:
    started: dict[str, Worker] = {}
    try:
        if "ours" in sides:
            started["ours"] = Worker(sys.executable, "worker_ours.py", log)
        if "peer" in sides:
            started["peer"] = Worker(str(PEER_PYTHON), "worker_peer.py", log)
        yield started
    finally:
        for worker in started.values():
            worker.close()


def alternate(
    rows: list[Row], runners: dict[tuple[int, str], Callable[[], dict[str, float]]], reps: int, budget_s: float
) -> int:
    """Run every (row, side) once per round, the side order rotating each round; stop early past the budget."""
    start = time.monotonic()
    done = 0
    for rep in range(reps):
        for index, row in enumerate(rows):
            sides = [side for side in SIDES if (index, side) in runners]
            turn = rep % len(sides) if sides else 0
            for side in sides[turn:] + sides[:turn]:
                row.samples.setdefault(side, []).append(runners[(index, side)]())
        done = rep + 1
        if time.monotonic() - start > budget_s and done >= 2:
            break
    return done


# --- fresh-process measurements -------------------------------------------------------------------------------------

_CHILD = """
import json, resource, sys, time
{prelude}
start = time.perf_counter()
{code}
elapsed = time.perf_counter() - start
print(json.dumps({{"s": elapsed, "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def fresh(python: str, code: str, prelude: str = "") -> dict[str, float]:
    """Run `code` in a new interpreter: its own timing of `code`, peak RSS after it, and the process's wall time."""
    source = _CHILD.format(prelude=prelude, code=code)
    start = time.perf_counter()
    done = subprocess.run([python, "-c", source], capture_output=True, text=True, cwd=str(BENCH / "corpus"))
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{python} -c {code!r} failed:\n{done.stderr.strip()[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def _fresh_time(python: str, code: str, prelude: str) -> dict[str, float]:
    return {"s": fresh(python, code, prelude)["s"]}


def _probe(python: str, code: str) -> str | None:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=str(BENCH / "corpus"))
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1]


def group_imports(report: Report, settings: Settings, peer_ok: bool) -> None:
    ours_py, peer_py = sys.executable, str(PEER_PYTHON)
    client_import = "from nai_sdk import NovelAI"
    if _probe(ours_py, client_import) is not None:
        client_import = "from nai_sdk._client import NovelAI"
        report.note("imports", "nai_sdk does not export NovelAI yet: timing `from nai_sdk._client import NovelAI`")
    subjects: dict[str, tuple[str, str]] = {
        "floor": (ours_py, "import httpx, attrs"),
        "ours": (ours_py, "import nai_sdk"),
        "ours-client": (ours_py, client_import),
        "ours-generated": (ours_py, "import nai_client"),
        "ours-bare": (ours_py, "pass"),
    }
    if peer_ok:
        subjects["peer"] = (peer_py, "import novelai_api")
        subjects["peer-bare"] = (peer_py, "pass")
    for name, (python, code) in list(subjects.items()):
        why = _probe(python, code)
        if why is not None:
            report.note("imports", f"skipping `{code}`: {why}")
            del subjects[name]
    layout = [  # (workload, {side: subject})
        ("import nai_sdk / novelai_api", {"floor": "floor", "ours": "ours", "peer": "peer"}),
        (f"`{client_import}` / novelai_api", {"floor": "floor", "ours": "ours-client", "peer": "peer"}),
        ("import nai_client (generated)", {"floor": "floor", "ours": "ours-generated"}),
        ("interpreter alone (`pass`)", {"ours": "ours-bare", "peer": "peer-bare"}),
    ]
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in subjects}
    start = time.monotonic()
    for rep in range(settings.import_reps):
        order = list(subjects)
        turn = rep % len(order)
        for name in order[turn:] + order[:turn]:
            python, code = subjects[name]
            samples[name].append(fresh(python, code))
        if time.monotonic() - start > settings.budget_s["imports"] and rep >= 2:
            break
    for workload, sides in layout:
        present = {side: subject for side, subject in sides.items() if subject in samples}
        if "ours" not in present:
            continue
        timing = Row("imports", f"{workload}: time", "ms")
        memory = Row("imports", f"{workload}: peak RSS", "MiB")
        wall = Row("imports", f"{workload}: process wall time", "ms")
        for side, subject in present.items():
            timing.samples[side] = [{"s": s["s"]} for s in samples[subject]]
            memory.samples[side] = [{"s": s["rss_mib"]} for s in samples[subject]]
            wall.samples[side] = [{"s": s["wall_s"]} for s in samples[subject]]
        rows = [memory, wall] if "pass" in workload else [timing, memory, wall]
        report.rows += rows
        for row in rows:
            _print_row(row)


# --- tokenizers -----------------------------------------------------------------------------------------------------

_LOAD_PRELUDE = "import tokenizers, sentencepiece, gzip\nimport nai_sdk.tokenizers\n"
_LOAD_OURS = "from nai_sdk.tokenizers import get_tokenizer\nfor name in {names!r}: get_tokenizer(name)"
_LOAD_FLOOR = """from nai_sdk.tokenizers._registry import DATA_DIR, _FILES
for name in {names!r}:
    path = DATA_DIR / _FILES[name]
    if name.startswith("nerdstash"):
        sentencepiece.SentencePieceProcessor(model_file=str(path))
    elif name == "clip":
        from nai_sdk.tokenizers._clip import _build_backend
        _build_backend(path.read_bytes())
    else:
        tokenizers.Tokenizer.from_file(str(path))"""
_PEER_PRELUDE = "import tokenizers, sentencepiece, aiohttp, argon2, nacl.secret, jsonschema, regex, ftfy\n"


def tokenizer_loads(report: Report, settings: Settings, peer_ok: bool) -> None:
    ours_py = sys.executable
    rows: list[tuple[Row, dict[str, tuple[str, str, str]]]] = []
    for name in TOKENIZERS:
        names = (name,)
        rows.append(
            (
                Row("tokenizers", f"first load: {name}", "ms"),
                {
                    "floor": (ours_py, _LOAD_FLOOR.format(names=names), _LOAD_PRELUDE),
                    "ours": (ours_py, _LOAD_OURS.format(names=names), _LOAD_PRELUDE),
                },
            )
        )
    everything: dict[str, tuple[str, str, str]] = {
        "floor": (ours_py, _LOAD_FLOOR.format(names=TOKENIZERS), _LOAD_PRELUDE),
        "ours": (ours_py, _LOAD_OURS.format(names=TOKENIZERS), _LOAD_PRELUDE),
    }
    if peer_ok:
        everything["peer"] = (str(PEER_PYTHON), "import novelai_api.Tokenizer", _PEER_PRELUDE)
    all_row = Row("tokenizers", "first load: all seven (peer: `import novelai_api.Tokenizer`)", "ms")
    all_row.note = "peer loads all seven at import; its dependencies are imported before the timer, as ours' are"
    rows.append((all_row, everything))
    runners: dict[tuple[int, str], Callable[[], dict[str, float]]] = {
        (index, side): partial(_fresh_time, *spec)
        for index, (_, sides) in enumerate(rows)
        for side, spec in sides.items()
    }
    alternate([row for row, _ in rows], runners, settings.load_reps, settings.budget_s["tokenizers"] / 4)
    for row, _ in rows:
        report.rows.append(row)
        _print_row(row)


def _run_case(worker: Worker, name: str) -> dict[str, float]:
    value: dict[str, float] = worker.ask({"cmd": "run", "case": name})["value"]
    return value


def run_worker_group(
    report: Report, group: str, params: dict[str, Any], reps: int, budget_s: float, peer_ok: bool, log: IO[str]
) -> None:
    """Set a group up in both workers, then alternate every case the workers offer; rows are the shared workloads."""
    sides = ["ours", "peer"] if peer_ok else ["ours"]
    with workers(sides, log) as started:
        cases: dict[str, tuple[str, str]] = {}  # case name -> (worker side, unit)
        # Both workers set up at once (loading tokenizers takes a while), then answer in turn.
        for worker in started.values():
            worker.send({"cmd": "setup", "group": group, "params": params})
        for side, worker in started.items():
            try:
                answer = worker.receive()
            except RuntimeError as exc:
                report.note(group, f"{side} worker failed to set up {group}: {str(exc).strip().splitlines()[-1]}")
                continue
            if not answer["ok"]:
                report.note(group, f"{side} worker skips {group}: {answer['skip']}")
                continue
            report.info.setdefault(group, {})[side] = answer["info"]
            for extra in ("ours_skipped",):
                if extra in answer["info"]:
                    report.note(group, f"ours skipped: {answer['info'][extra]}")
            cases.update({name: (side, unit) for name, unit in answer["cases"].items()})
        rows: dict[str, Row] = {}
        runners: dict[tuple[int, str], Callable[[], dict[str, float]]] = {}
        for name, (owner, unit) in cases.items():
            side, workload = name.split(":", 1)
            row = rows.setdefault(workload, Row(group, workload, unit))
            index = list(rows).index(workload)
            worker = started[owner]
            runners[(index, side)] = partial(_run_case, worker, name)
        if not rows:
            return
        done = alternate(list(rows.values()), runners, reps, budget_s)
        if done < reps:
            report.note(group, f"stopped after {done} of {reps} rounds (time budget {budget_s:.0f} s)")
        for row in rows.values():
            report.rows.append(row)
            _print_row(row)


# --- http -----------------------------------------------------------------------------------------------------------


def group_http(report: Report, settings: Settings, peer_ok: bool, log: IO[str]) -> None:
    try:
        from nai_sdk.testing import FakeNovelAI
    except Exception as exc:
        report.note("http", f"skipped: nai_sdk.testing is not importable ({type(exc).__name__}: {exc})")
        return
    try:
        # The fake streams with sse-starlette, whose default line end is CRLF (legal SSE). novelai-api's parser only
        # understands LF and yields no events at all from CRLF streams, so every client is served LF here.
        from sse_starlette.sse import EventSourceResponse

        EventSourceResponse.DEFAULT_SEPARATOR = "\n"
        report.note("http", "SSE line ends set to LF for all clients (novelai-api yields nothing from CRLF streams)")
    except ImportError:
        pass
    # A client that stops reading a stream early makes asyncio log "socket.send() raised exception." on the server.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    with FakeNovelAI(default_tier=3) as server:
        _, token = server.add_account()
        params = {
            "base_url": server.base_url,
            "token": token,
            "requests": settings.http_requests,
            "concurrency": 10,
            "prompt_tokens": list(range(1000, 1100)),
            "stream_tokens": 40,
        }
        report.note("http", f"FakeNovelAI on {server.base_url}, in the harness process (each client in its own)")
        run_worker_group(report, "http", params, settings.http_reps, settings.budget_s["http"], peer_ok, log)


# --- output ---------------------------------------------------------------------------------------------------------


def _print_row(row: Row) -> None:
    cells = "  ".join(f"{side} {row.shown(side):>13}" for side in SIDES if side in row.samples)
    ratios = f"peer/ours {_fmt_ratio(row.ratio('peer', 'ours'))}  ours/floor {_fmt_ratio(row.ratio('ours', 'floor'))}"
    print(f"  {row.workload[:62]:<62} {cells}  {ratios}", flush=True)


def _aggregate(report: Report) -> list[Row]:
    """The summary's tokenizer lines: each workload summed over the seven tokenizers (sum of medians per side)."""
    sums: dict[str, Row] = {}
    for row in report.rows:
        if row.group != "tokenizers" or row.workload.startswith("first load"):
            continue
        workload, _name, lang = row.workload.rsplit(":", 2)
        key = f"{workload}, {lang}, 7 tokenizers"
        total = sums.setdefault(key, Row("tokenizers", key, row.unit))
        for side in row.samples:
            value, items = row.median(side), row.items(side)
            if value is None:
                continue
            slot = total.samples.setdefault(side, [{"s": 0.0, "items": 0.0, "count": 0.0}])[0]
            slot["s"] += value
            slot["items"] += items or 0.0
            slot["count"] += 1
    complete = []
    for row in sums.values():
        # A side is compared only if it measured every tokenizer the others did.
        counts = {side: samples[0]["count"] for side, samples in row.samples.items()}
        most = max(counts.values())
        row.samples = {side: samples for side, samples in row.samples.items() if counts[side] == most}
        complete.append(row)
    return complete


def summary_rows(report: Report) -> list[Row]:
    keep: list[Row] = []
    for row in report.rows:
        if row.group == "imports" and "process wall" in row.workload:
            continue
        if row.group == "tokenizers" and row.workload.startswith("first load: ") and "all seven" not in row.workload:
            continue
        if row.group == "tokenizers" and not row.workload.startswith("first load"):
            continue
        keep.append(row)
    aggregated = _aggregate(report)
    first = next((i for i, row in enumerate(keep) if row.group in ("crypto", "http")), len(keep))
    return keep[:first] + aggregated + keep[first:]


def table(rows: Sequence[Row]) -> list[str]:
    lines = ["| group | workload | floor | ours | peer | peer/ours | ours/floor |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        cells = [row.shown(side) for side in SIDES]
        ratios = [_fmt_ratio(row.ratio("peer", "ours")), _fmt_ratio(row.ratio("ours", "floor"))]
        lines.append(f"| {row.group} | {row.workload} | " + " | ".join(cells + ratios) + " |")
    return lines


def _versions(python: str, names: Sequence[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run([python, "-c", code, *names], capture_output=True, text=True)
    versions: dict[str, str] = json.loads(done.stdout) if done.returncode == 0 else {}
    return versions


def machine(peer_ok: bool) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
        ram = f"{mem_kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "unknown"
    libraries = ["httpx", "attrs", "tokenizers", "sentencepiece", "pynacl", "argon2-cffi", "aiohttp"]
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "ours": _versions(sys.executable, ["nai-sdk", *libraries, "httpx-aiohttp", "uvicorn", "starlette"]),
        "peer": _versions(str(PEER_PYTHON), ["novelai-api", *libraries, "ftfy", "jsonschema"]) if peer_ok else {},
    }


def write_results(report: Report, out: Path, args: argparse.Namespace, elapsed: float) -> list[str]:
    info = report.info.get("machine", {})
    summary = table(summary_rows(report))
    lines = [
        "# nai-sdk benchmarks",
        "",
        f"Made by `bench/run.py{' --quick' if args.quick else ''}"
        f"{''.join(' --only ' + g for g in args.only or [])}` in {elapsed:.0f} s. "
        "Medians of alternating runs; ratios are of times (peer/ours > 1: ours is faster; ours/floor: the cost of "
        "nai_sdk over the raw libraries). See bench/README.md for what each workload does.",
        "",
        f"- Machine: {info.get('cpu')}, {info.get('cores')} cores, {info.get('ram')} RAM, {info.get('os')}",
        f"- Python {info.get('python')}; date {info.get('date')}; load average (1, 5, 15 min) at start "
        f"{info.get('load_average_at_start')}, at end {info.get('load_average_at_end')}",
        f"- Ours (project venv): {', '.join(f'{k} {v}' for k, v in info.get('ours', {}).items())}",
        f"- Peer (bench/.peer-venv): {', '.join(f'{k} {v}' for k, v in info.get('peer', {}).items())}",
        "",
        "## Summary",
        "",
        *summary,
        "",
        "## Notes",
        "",
    ]
    for group, notes in report.notes.items():
        lines += [f"- {group}: {note}" for note in notes]
    for group in GROUPS:
        group_info = report.info.get(group)
        if group_info:
            lines.append(f"- {group} worker info: `{json.dumps(group_info, ensure_ascii=False)[:1500]}`")
    lines += ["", "## All rows", "", *table(report.rows), ""]
    (out / "results.md").write_text("\n".join(lines), encoding="utf-8")
    payload = {
        "machine": info,
        "args": {"quick": args.quick, "only": args.only},
        "elapsed_s": elapsed,
        "notes": report.notes,
        "info": {k: v for k, v in report.info.items() if k != "machine"},
        "rows": [row.as_json() for row in report.rows],
    }
    (out / "results.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: fewer rounds, 200 kB of text")
    parser.add_argument("--only", action="append", choices=GROUPS, help="run only this group (repeatable)")
    parser.add_argument("--out", type=Path, default=BENCH, help="where results.md and results.json go")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    groups = args.only or list(GROUPS)
    started = time.monotonic()
    report = Report()

    from make_corpus import build

    corpus = build()
    why = ensure_peer_venv()
    peer_ok = why is None
    if why is not None:
        report.note("peer", f"{why}; measuring ours and the floor only")
    report.info["machine"] = machine(peer_ok)
    common = {"corpus": str(corpus), "size": settings.encode_bytes, "tokenizers": list(TOKENIZERS)}
    with (BENCH / ".bench.log").open("w", encoding="utf-8") as log:
        for group in groups:
            group_start = time.monotonic()
            print(f"== {group}", flush=True)
            if group == "imports":
                group_imports(report, settings, peer_ok)
            elif group == "tokenizers":
                tokenizer_loads(report, settings, peer_ok)
                run_worker_group(report, group, common, settings.encode_reps, settings.budget_s[group], peer_ok, log)
            elif group == "crypto":
                run_worker_group(report, group, common, settings.crypto_reps, settings.budget_s[group], peer_ok, log)
            elif group == "http":
                group_http(report, settings, peer_ok, log)
            print(f"   ({time.monotonic() - group_start:.0f} s)", flush=True)
    elapsed = time.monotonic() - started
    report.info["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    summary = write_results(report, args.out, args, elapsed)
    print("\n".join(["", *summary, "", f"wrote {args.out / 'results.md'} and results.json ({elapsed:.0f} s)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

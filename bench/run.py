"""`make bench`: nai_sdk ("ours") against novelai-api 0.34.1 ("peer") and the raw libraries underneath ("floor").

    .venv/bin/python bench/run.py [--quick] [--only GROUP ...] [--http-server fast|project]

Groups: imports, tokenizers, crypto, http, sse, budgets, images, scripts (see bench/README.md). Ours and the floor run
in the project venv, the peer in bench/.peer-venv (created here on first use with `python -m venv` + `pip install
novelai-api==0.34.1`), each side in its own process. Runs alternate between the sides (the order rotates every round)
so that drift on the machine hits all of them alike; the figures are medians. Ratios are of times: peer/ours > 1 means
ours is faster than the peer; ours/floor is what nai_sdk costs on top of the raw libraries (1.00 = nothing).

The http group has its own columns (raw aiohttp, raw httpx, NovelAI, AsyncNovelAI on each transport, the peer with
validation off and on), each a worker process, against bench/http_server.py in a process of its own (uvicorn with
httptools and uvloop from bench/.server-venv, also created here on first use), and its own tables.

Writes bench/results.md and bench/results.json (or --out DIR). Never part of `make test`.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
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
# The http group's server: uvicorn (the project venv's version) with its fast parser and loop, in a venv of its own
# so that the project venv stays as its pyproject.toml makes it.
SERVER_VENV = BENCH / ".server-venv"
SERVER_PYTHON = SERVER_VENV / "bin" / "python"
SERVER_EXTRAS = ("httptools", "uvloop")
GROUPS = ("imports", "tokenizers", "crypto", "http", "sse", "budgets", "images", "scripts")
SIDES = ("floor", "ours", "peer")
TOKENIZERS = ("gpt2", "gpt2-genji", "pile", "nerdstash_v1", "nerdstash_v2", "llama3", "clip")

sys.path.insert(0, str(BENCH))


@dataclass(frozen=True)
class Settings:
    """How much to run: the full run stays under ~8 minutes on a 2-core machine (http ~3.5), --quick under ~2.5."""

    import_reps: int
    load_reps: int
    encode_reps: int
    encode_bytes: int
    crypto_reps: int
    http_reps: int
    http_seconds: float  # each rate sample of the http group runs this long
    http_sse_seconds: float  # each stream sample: streams one after the other for this long
    budget_s: dict[str, float]
    sse_rounds: int = 15  # rounds of bench/bench_sse.py (each runs every workload once)


FULL = Settings(
    9, 3, 3, 1_000_000, 9, 8, 0.4, 0.4, {"imports": 60, "tokenizers": 240, "crypto": 60, "http": 200, "sse": 60}
)
QUICK = Settings(
    3, 1, 2, 200_000, 3, 5, 0.12, 0.2, {"imports": 20, "tokenizers": 60, "crypto": 20, "http": 60, "sse": 30}, 5
)


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


def ensure_server_venv() -> str | None:
    """Create bench/.server-venv with uvicorn, httptools and uvloop if it is not there; returns why not, or None."""
    from importlib.metadata import version

    uvicorn = f"uvicorn=={version('uvicorn')}"
    check = [str(SERVER_PYTHON), "-c", f"import {', '.join(SERVER_EXTRAS)}, uvicorn; print(uvicorn.__version__)"]
    if SERVER_PYTHON.exists():
        done = subprocess.run(check, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == uvicorn.split("==")[1]:
            return None
    print(f"installing {uvicorn} {' '.join(SERVER_EXTRAS)} into {SERVER_VENV} ...", flush=True)
    try:
        subprocess.run([_base_python(), "-m", "venv", "--clear", str(SERVER_VENV)], check=True)
        pip = [str(SERVER_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, uvicorn, *SERVER_EXTRAS], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"cannot install {uvicorn} {' '.join(SERVER_EXTRAS)} into {SERVER_VENV}: {exc}"
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
    rows: Sequence[Row],
    runners: dict[tuple[int, str], Callable[[], dict[str, float]]],
    reps: int,
    budget_s: float,
    order: Sequence[str] = SIDES,
    failed: dict[str, str] | None = None,
) -> int:
    """Run every (row, side) once per round, the side order rotating each round; stop early past the budget.

    With `failed` given, a side whose case fails (the worker reported an error, exited or cannot be written to) is
    recorded there with the reason and left out from then on, instead of ending the whole run.
    """
    start = time.monotonic()
    done = 0
    for rep in range(reps):
        for index, row in enumerate(rows):
            sides = [side for side in order if (index, side) in runners and side not in (failed or {})]
            turn = rep % len(sides) if sides else 0
            for side in sides[turn:] + sides[:turn]:
                try:
                    sample = runners[(index, side)]()
                except (RuntimeError, OSError) as exc:
                    if failed is None:
                        raise
                    last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
                    failed[side] = f"{row.workload}: {type(exc).__name__}: {last}"
                    continue
                row.samples.setdefault(side, []).append(sample)
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


# --- sse ------------------------------------------------------------------------------------------------------------


def group_sse(report: Report, settings: Settings) -> None:
    """bench/bench_sse.py in a fresh interpreter: ours only, except the parsed stream, whose floor is json.loads."""
    import bench_sse

    command = [sys.executable, str(BENCH / "bench_sse.py"), "--json", "--rounds", str(settings.sse_rounds)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=settings.budget_s["sse"], check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        report.note("sse", f"skipped: bench_sse.py failed ({type(exc).__name__})")
        return
    figures: dict[str, dict[str, float]] = json.loads(done.stdout)
    floor = figures.pop(bench_sse.PARSED_FLOOR, None)
    for name, values in figures.items():
        row = Row("sse", name, "ms")
        row.samples["ours"] = [{"s": values["s"]}]
        if name == bench_sse.PARSED and floor is not None:
            row.workload = name.replace("+ loads_answer", "parsed (floor: json.loads)")
            row.samples["floor"] = [{"s": floor["s"]}]
        report.rows.append(row)
        _print_row(row)
    long_s = figures[bench_sse.LONG_EVENT]["s"]
    verdict = "met" if long_s < bench_sse.GOAL_LONG_EVENT_S else "missed"
    report.note(
        "sse",
        f"{bench_sse.LONG_EVENT}: {long_s * 1e3:.1f} ms, goal under {bench_sse.GOAL_LONG_EVENT_S * 1e3:.0f} ms: "
        f"{verdict} (median of {settings.sse_rounds} rounds in one process)",
    )


# --- budgets --------------------------------------------------------------------------------------------------------

#: The budgets group's time limit, in seconds (about 15 s of work in a full run, on a quiet machine).
BUDGETS_TIMEOUT_S = 180


def group_budgets(report: Report, settings: Settings) -> None:
    """bench/bench_budgets.py in a fresh interpreter: the storage decoders with their budgets against the budgets
    effectively off (the floor column), and the peak memory of refusing bombs (ours only). As many rounds as sse."""
    command = [sys.executable, str(BENCH / "bench_budgets.py"), "--json", "--rounds", str(settings.sse_rounds)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=BUDGETS_TIMEOUT_S, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        report.note("budgets", f"skipped: bench_budgets.py failed ({type(exc).__name__})")
        return
    figures: dict[str, Any] = json.loads(done.stdout)
    for name, values in figures["rows"].items():
        row = Row("budgets", name, values["unit"])
        row.samples["ours"] = [{"s": values["ours"]}]
        if "floor" in values:
            row.samples["floor"] = [{"s": values["floor"]}]
        report.rows.append(row)
        _print_row(row)
    for note in figures["notes"]:
        report.note("budgets", f"{note} (medians of {settings.sse_rounds} rounds in one process)")


#: The standalone benchmarks of the scripts group: (name, script, full-run arguments, quick-run arguments). Each
#: prints its own figures against its issue's goals, with its baseline run in the same process.
SCRIPTS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("keystore", "bench_keystore.py", ("--rounds", "7", "--stories", "30"), ("--rounds", "3", "--stories", "10")),
    ("backup", "bench_backup.py", ("--rounds", "3"), ("--quick",)),
    ("queue", "bench_queue.py", ("--rounds", "3"), ("--rounds", "1")),
    ("chat", "bench_chat.py", ("--rounds", "400"), ("--rounds", "100")),
    ("context", "bench_context.py", ("--rounds", "15"), ("--quick",)),
)
SCRIPT_TIMEOUT_S = 300


def group_scripts(report: Report, quick: bool) -> None:
    """The standalone benchmarks (keystore, backup, queue, chat, context), each in a fresh interpreter; what each
    prints goes into the report as its notes."""
    for name, script, full, short in SCRIPTS:
        command = [sys.executable, str(BENCH / script), *(short if quick else full)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S, check=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            report.note("scripts", f"{name}: {script} failed ({type(exc).__name__})")
            continue
        for line in done.stdout.splitlines():
            if line.strip():
                report.note("scripts", f"{name}: {line.rstrip()}")


#: The images group's time limit, in seconds (about 10 s of work in a full run, on a quiet machine).
IMAGES_TIMEOUT_S = 180


def group_images(report: Report, settings: Settings) -> None:
    """bench/bench_images.py in a fresh interpreter: image metadata, Anlas cost and request bodies against the issue's
    goals (ours only; the floor column is Pillow's decode for the metadata, the bare formula for the cost)."""
    rounds = max(3, settings.sse_rounds // 2)
    command = [sys.executable, str(BENCH / "bench_images.py"), "--json", "--rounds", str(rounds)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=IMAGES_TIMEOUT_S, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        report.note("images", f"skipped: bench_images.py failed ({type(exc).__name__})")
        return
    figures: dict[str, Any] = json.loads(done.stdout)
    for name, values in figures["rows"].items():
        row = Row("images", name, values["unit"])
        row.samples["ours"] = [{"s": values["ours"]}]
        if "floor" in values:
            row.samples["floor"] = [{"s": values["floor"]}]
        report.rows.append(row)
        _print_row(row)
    for note in figures["notes"]:
        report.note("images", f"{note} (medians of {rounds} rounds in one process)")


# --- http -----------------------------------------------------------------------------------------------------------

#: The columns of the http group, each a client in its own worker process: id -> (worker, label in the tables).
HTTP_COLUMNS: dict[str, tuple[str, str]] = {
    "aiohttp": ("ours", "aiohttp (floor)"),
    "httpx": ("ours", "httpx.Client"),
    "httpx-async": ("ours", "httpx.AsyncClient"),
    "NovelAI": ("ours", "NovelAI"),
    "AsyncNovelAI-aiohttp": ("ours", "AsyncNovelAI (aiohttp)"),
    "AsyncNovelAI-httpx": ("ours", "AsyncNovelAI (httpx)"),
    "peer-off": ("peer", "peer, validation off"),
    "peer-on": ("peer", "peer, validation on"),
}
HTTP_FLOOR = "aiohttp"
HTTP_OURS = ("NovelAI", "AsyncNovelAI-aiohttp", "AsyncNovelAI-httpx")
HTTP_PEERS = ("peer-off", "peer-on")
HTTP_MODEL = "clio-v1"  # served by the API host for ours and the peer (GENERAL_API_ADDRESS), answers 201
HTTP_PROMPT = list(range(1000, 1100))  # 100 token ids inside Clio's vocabulary
HTTP_EVENTS = 40  # tokens per generation: the JSON answer's output, and the token events of a stream
HTTP_WIDTHS = (10, 100)
HTTP_GOAL_RATE = 7000.0
SSE_FIRST = "SSE /ai/generate-stream: time to first event"  # the stream row gives these two
SSE_LAST = f"SSE /ai/generate-stream: time to last event ({HTTP_EVENTS} events)"


@dataclass
class HttpRow(Row):
    """A row of the http group: one value per column (req/s: the median of the samples' rates; ms: of their medians)."""

    def value(self, column: str) -> float | None:
        samples = self.samples.get(column, [])
        if not samples:
            return None
        if self.unit == "req/s":
            return statistics.median(sample["items"] / sample["s"] for sample in samples)
        return statistics.median(sample["s"] for sample in samples)

    def shown(self, side: str) -> str:
        value = self.value(side)
        if value is None:
            return "-"
        return f"{value:,.0f}" if self.unit == "req/s" else f"{value * 1e3:.2f}"

    def time_ratio(self, column: str, reference: str) -> float | None:
        """The column's time over the reference's (for rates, of the inverse rates): > 1 means it is slower."""
        a, b = self.value(column), self.value(reference)
        if a is None or b is None or not a or not b:
            return None
        return b / a if self.unit == "req/s" else a / b

    def as_json(self) -> dict[str, Any]:
        columns = [column for column in HTTP_COLUMNS if column in self.samples]
        return {
            "group": self.group,
            "workload": self.workload,
            "unit": self.unit,
            "value": {column: self.value(column) for column in columns},
            "n": {column: len(self.samples[column]) for column in columns},
            "time_ratio_to_floor": {column: self.time_ratio(column, HTTP_FLOOR) for column in columns},
            "peer_time_over_ours": {
                f"{peer}/{ours}": self.time_ratio(peer, ours) for ours in HTTP_OURS for peer in HTTP_PEERS
            },
            "note": self.note,
            "samples": self.samples,
        }


def capture_answers() -> tuple[dict[str, Any], str]:
    """The three answers of the http group's server, each taken once from FakeNovelAI; and an account's token."""
    import httpx

    from nai_sdk.testing import FakeNovelAI

    tokens = b"".join(token.to_bytes(2, "little") for token in HTTP_PROMPT)
    parameters = {"min_length": HTTP_EVENTS, "max_length": HTTP_EVENTS}
    body = {"input": base64.b64encode(tokens).decode(), "model": HTTP_MODEL, "parameters": parameters}
    with FakeNovelAI(default_tier=3) as fake:
        _, token = fake.add_account()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=fake.base_url, headers=headers, trust_env=False) as client:
            answers = {
                ("GET", "/user/subscription"): client.get("/user/subscription"),
                ("POST", "/ai/generate"): client.post("/ai/generate", json=body),
                ("POST", "/ai/generate-stream"): client.post("/ai/generate-stream", json=body),
            }
    routes = []
    for (method, path), response in answers.items():
        response.raise_for_status()
        route: dict[str, Any] = {
            "method": method,
            "path": path,
            "status": response.status_code,
            "content_type": response.headers["content-type"],
        }
        if path.endswith("-stream"):
            # FakeNovelAI's SSE library ends lines with CRLF (legal SSE); novelai-api's parser understands only LF
            # and yields nothing at all from such a stream, so every client is served LF.
            text = response.content.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            events = [chunk + b"\n\n" for chunk in text.split(b"\n\n") if chunk.strip()]
            if len(events) != HTTP_EVENTS or b'"final":true' not in events[-1]:
                raise RuntimeError(f"FakeNovelAI streamed {len(events)} events, not {HTTP_EVENTS} ending in a final")
            route["events"] = [base64.b64encode(event).decode() for event in events]
        else:
            route["body"] = base64.b64encode(response.content).decode()
        routes.append(route)
    return {"routes": routes}, token


@dataclass
class HttpServer:
    process: subprocess.Popen[str]
    url: str
    info: dict[str, Any]

    def cpu_seconds(self) -> float | None:
        """The server process's CPU time so far (user + system, from /proc: 10 ms ticks), None where unknown."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def stats(self) -> dict[str, Any]:
        """The server's counts: `total` requests per route, and the requests and connections `since` the last call.

        On a new connection each time, as the server expects (it does not count that one as the case's).
        """
        connection = http.client.HTTPConnection("127.0.0.1", self.info["port"], timeout=10)
        try:
            connection.request("GET", "/_bench/stats")
            response = connection.getresponse()
            if response.status != 200:
                raise RuntimeError(f"the server answered {response.status} to /_bench/stats")
            counts: dict[str, Any] = json.loads(response.read())
        finally:
            connection.close()
        return counts


@contextmanager
def http_server(python: str, answers: dict[str, Any], log: IO[str]) -> Iterator[HttpServer]:
    """bench/http_server.py in its own process, serving `answers` until the block ends."""
    process = subprocess.Popen(
        [python, str(BENCH / "http_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(answers))
        process.stdin.close()
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench/http_server.py exited (code {process.wait()}); see bench/.bench.log")
        info: dict[str, Any] = json.loads(line)
        server = HttpServer(process, f"http://127.0.0.1:{info['port']}", info)
        deadline = time.monotonic() + 10
        while True:
            try:
                server.stats()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run_http_case(worker: Worker, name: str, server: HttpServer) -> dict[str, float]:
    """A case, with what the server saw around it (warm-up included): CPU time, requests, connections."""
    server.stats()
    before, start = server.cpu_seconds(), time.perf_counter()
    value = _run_case(worker, name)
    wall, after = time.perf_counter() - start, server.cpu_seconds()
    since = server.stats()["since"]
    value.update(case_wall_s=wall, server_requests=since["requests"], server_opened=since["opened"])
    value["server_used"] = since["used"]
    if before is not None and after is not None:
        value["server_cpu_s"] = after - before
    return value


def group_http(report: Report, settings: Settings, peer_ok: bool, log: IO[str], server_venv: str) -> None:
    from _http_runs import SSE, workloads

    try:
        answers, token = capture_answers()
    except Exception as exc:
        report.note("http", f"skipped: cannot capture the answers from FakeNovelAI ({type(exc).__name__}: {exc})")
        return
    python, venv_name = sys.executable, ".venv"
    if server_venv == "fast":
        why = ensure_server_venv()
        if why is None:
            python, venv_name = str(SERVER_PYTHON), "bench/.server-venv"
        else:
            report.note("http", f"{why}; the server runs in the project venv instead")
    versions = _versions(python, ["uvicorn", *SERVER_EXTRAS])
    columns = [column for column, (venv, _) in HTTP_COLUMNS.items() if venv == "ours" or peer_ok]
    with http_server(python, answers, log) as server:
        report.note(
            "http",
            f"server: bench/http_server.py under uvicorn {versions.get('uvicorn')} ({server.info['http']} parser, "
            f"{server.info['loop']} loop; {venv_name}: {', '.join(f'{k} {v}' for k, v in versions.items())}) on "
            f"{server.url}, in its own process; fixed answers captured from FakeNovelAI(default_tier=3)",
        )
        report.info["http"] = {
            "server": {**server.info, "venv": venv_name, "versions": versions},
            "plan": {"seconds": settings.http_seconds, "sse_seconds": settings.http_sse_seconds},
            "columns": {},
        }
        params = {
            "base_url": server.url,
            "token": token,
            "model": HTTP_MODEL,
            "prompt_tokens": HTTP_PROMPT,
            "events": HTTP_EVENTS,
            "widths": list(HTTP_WIDTHS),
            "seconds": settings.http_seconds,
            "sse_seconds": settings.http_sse_seconds,
        }
        started: dict[str, Worker] = {}
        try:
            for column in columns:
                ours = HTTP_COLUMNS[column][0] == "ours"
                worker_python = sys.executable if ours else str(PEER_PYTHON)
                started[column] = worker = Worker(worker_python, "worker_ours.py" if ours else "worker_peer.py", log)
                worker.send({"cmd": "setup", "group": "http", "params": {**params, "column": column}})
            names = workloads(HTTP_WIDTHS)
            rows = [HttpRow("http", name, "ms" if name == SSE else "req/s") for name in names]
            runners: dict[tuple[int, str], Callable[[], dict[str, float]]] = {}
            for column, worker in started.items():
                try:
                    answer = worker.receive()
                except RuntimeError as exc:
                    report.note("http", f"{column} failed to set up: {str(exc).strip().splitlines()[-1]}")
                    continue
                if not answer["ok"]:
                    report.note("http", f"{column} skipped: {answer['skip']}")
                    continue
                report.info["http"]["columns"][column] = answer["info"]
                for name in answer["cases"]:
                    runners[(names.index(name.split(":", 1)[1]), column)] = partial(
                        _run_http_case, worker, name, server
                    )
            if not runners:
                return
            failed: dict[str, str] = {}
            reps, budget = settings.http_reps, settings.budget_s["http"]
            done = alternate(rows, runners, reps, budget, order=list(HTTP_COLUMNS), failed=failed)
            if done < reps:
                report.note("http", f"stopped after {done} of {reps} rounds (time budget {budget:.0f} s)")
            for column, why in failed.items():
                report.note("http", f"{column} failed and was left out from then on: {why} (stderr: bench/.bench.log)")
        finally:
            for worker in started.values():
                worker.close()
        served = server.stats()["total"]
    report.info["http"]["requests served"] = served
    report.note("http", f"requests served: {', '.join(f'{route} {count:,}' for route, count in served.items())}")
    final = rows.pop()
    for key, name in (("first", SSE_FIRST), ("last", SSE_LAST)):
        row = HttpRow("http", name, "ms")
        row.samples = {column: [{**s, "s": s[key]} for s in samples] for column, samples in final.samples.items()}
        rows.append(row)
    report.rows += rows
    for row in rows:
        cells = "  ".join(f"{column} {row.shown(column)}" for column in HTTP_COLUMNS if column in row.samples)
        print(f"  {row.workload} ({row.unit}): {cells}", flush=True)


def _http_rows(report: Report) -> list[HttpRow]:
    return [row for row in report.rows if isinstance(row, HttpRow)]


def _pct(value: float) -> str:
    return f"{abs(value) * 100:.1f}%"


def _goal(value: float, goal: float) -> str:
    """`met (by N%)` or `missed by N%` for a figure that should be at least `goal`."""
    margin = value / goal - 1
    return f"met (by {_pct(margin)})" if margin >= 0 else f"missed by {_pct(margin)}"


def http_goals(rows: Sequence[HttpRow]) -> list[str]:
    """The goals of the http group, each with the figures it rests on."""
    from _http_runs import GET, POST, in_flight, sequential

    by_name = {row.workload: row for row in rows}
    label = {column: HTTP_COLUMNS[column][1] for column in HTTP_COLUMNS}
    lines: list[str] = []
    for route in (GET, POST):
        row = by_name.get(in_flight(route, 10))
        if row is None:
            continue
        for ours in ("AsyncNovelAI-aiohttp", "AsyncNovelAI-httpx"):
            rate = row.value(ours)
            if rate is None:
                lines.append(f"- {label[ours]}, {row.workload}: not measured")
                continue
            lines.append(
                f"- {label[ours]}, {row.workload}: {rate:,.0f} req/s; goal {HTTP_GOAL_RATE:,.0f}: "
                f"{_goal(rate, HTTP_GOAL_RATE)}"
            )
            peer = row.value("peer-off")
            if peer is not None:
                lines.append(
                    f"- {label[ours]}, {row.workload}: {rate / peer:.2f}x the peer with validation off "
                    f"({peer:,.0f} req/s); goal 0.9x: {_goal(rate / peer, 0.9)}"
                )
    for route in (GET, POST):
        row = by_name.get(sequential(route))
        if row is None:
            continue
        ours_rate, raw = row.value("NovelAI"), row.value("httpx")
        if ours_rate is not None and raw is not None:
            lines.append(
                f"- NovelAI, {row.workload}: {ours_rate:,.0f} req/s, {ours_rate / raw:.2f}x raw httpx.Client "
                f"({raw:,.0f} req/s); goal 0.9x: {_goal(ours_rate / raw, 0.9)}"
            )
    row = by_name.get(SSE_FIRST)
    floor = row.value(HTTP_FLOOR) if row is not None else None
    if row is not None and floor is not None:
        for ours in HTTP_OURS:
            value = row.value(ours)
            if value is None:
                continue
            delta = (value - floor) * 1e3
            verdict = "met" if delta <= 0.1 else f"missed by {delta - 0.1:.2f} ms"
            lines.append(
                f"- {label[ours]}, first SSE event: {value * 1e3:.2f} ms, {delta:+.2f} ms against raw aiohttp "
                f"({floor * 1e3:.2f} ms); goal within 0.1 ms: {verdict}"
            )
    return lines


def http_tables(rows: Sequence[HttpRow]) -> list[str]:
    """The http group's summary: values, time ratios to the floor, ours against the peer."""
    columns = [column for column in HTTP_COLUMNS if any(column in row.samples for row in rows)]
    header = "| workload | " + " | ".join(HTTP_COLUMNS[column][1] for column in columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    values = [header, rule]
    ratios = [header, rule]
    for row in rows:
        name = f"{row.workload} ({'req/s' if row.unit == 'req/s' else 'ms, median'})"
        values.append(f"| {name} | " + " | ".join(row.shown(column) for column in columns) + " |")
        cells = [_fmt_ratio(row.time_ratio(column, HTTP_FLOOR)) for column in columns]
        ratios.append(f"| {row.workload} | " + " | ".join(cells) + " |")
    pairs = [(peer, ours) for ours in HTTP_OURS for peer in HTTP_PEERS if ours in columns and peer in columns]
    versus = [
        "| workload | "
        + " | ".join(f"{HTTP_COLUMNS[peer][1]} / {HTTP_COLUMNS[ours][1]}" for peer, ours in pairs)
        + " |",
        "|---|" + "---|" * len(pairs),
    ]
    for row in rows:
        versus.append(
            f"| {row.workload} | " + " | ".join(_fmt_ratio(row.time_ratio(peer, ours)) for peer, ours in pairs) + " |"
        )
    return [
        *values,
        "",
        "Time ratio to raw aiohttp (the floor): the column's time per request (or to the event) over the floor's; "
        "1.00 = as fast, 2.00 = twice the time.",
        "",
        *ratios,
        "",
        "Ours against the peer: the peer's time over ours (> 1: ours is faster). NovelAI is synchronous, the peer "
        "is not: compare it in the sequential and SSE rows.",
        "",
        *(versus if pairs else ["(no peer columns)"]),
    ]


def http_server_load(rows: Sequence[HttpRow]) -> list[str]:
    """Whether the server kept up, and how the clients used their connections, from what the server saw per case."""
    load = [
        "| workload | server CPU per request | server load at the fastest column's rate | fastest column |",
        "|---|---|---|---|",
    ]
    columns = [column for column in HTTP_COLUMNS if any(column in row.samples for row in rows)]
    reuse = [
        "| workload | " + " | ".join(HTTP_COLUMNS[column][1] for column in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for row in rows:
        if row.workload == SSE_LAST:
            continue  # the same streams as the first-event row
        cells = []
        for column in columns:
            shares = [
                100 * s["server_opened"] / s["server_requests"]
                for s in row.samples.get(column, [])
                if s.get("server_requests")
            ]
            cells.append(f"{statistics.median(shares):.1f}" if shares else "-")
        reuse.append(f"| {row.workload.split(':')[0]} | " + " | ".join(cells) + " |")
        if row.unit != "req/s":
            continue
        per_request = [
            s["server_cpu_s"] / s["server_requests"]
            for samples in row.samples.values()
            for s in samples
            if "server_cpu_s" in s and s.get("server_requests")
        ]
        fastest = max((c for c in row.samples if row.value(c) is not None), key=lambda c: row.value(c) or 0.0)
        busy = [
            s["server_cpu_s"] / s["server_requests"] * s["items"] / s["s"]
            for s in row.samples[fastest]
            if "server_cpu_s" in s and s.get("server_requests")
        ]
        if not per_request or not busy:
            continue
        cpu = statistics.median(per_request)
        load.append(
            f"| {row.workload} | {cpu * 1e6:.0f} µs (~{1 / cpu:,.0f} req/s on one core) | "
            f"{statistics.median(busy) * 100:.0f}% | {HTTP_COLUMNS[fastest][1]} |"
        )
    return [
        "The server's CPU time per request (from /proc, 10 ms ticks, around each case; median over all columns' "
        "samples), and the share of one core the server needed at the fastest column's rate (its CPU per request "
        "times that rate, median over that column's samples): well under 100% means the server kept up.",
        "",
        *load,
        "",
        "New connections per 100 requests, as the server counted them (warm-up included; median over samples): "
        "0 means every request went over a kept-alive connection, 100 a new connection for every request.",
        "",
        *reuse,
    ]


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
    for row in _generic_rows(report):
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


def _generic_rows(report: Report) -> list[Row]:
    """The rows of the floor/ours/peer groups (the http group has its own columns and tables)."""
    return [row for row in report.rows if not isinstance(row, HttpRow)]


def http_section(report: Report) -> list[str]:
    rows = _http_rows(report)
    if not rows:
        return []
    info = report.info.get("http", {})
    server = info.get("server", {})
    return [
        "## http",
        "",
        f"Against bench/http_server.py (uvicorn, {server.get('http')} parser, {server.get('loop')} loop, its own "
        "process; fixed answers captured from FakeNovelAI). Each column is one client in its own worker process: "
        "raw aiohttp (the floor), raw httpx, ours, and novelai-api 0.34.1 with an aiohttp session, its response "
        "validation off and on. Rates are requests per second (higher is better); SSE rows are ms from sending "
        f"the request (lower is better). {_http_sizes(rows, info.get('plan', {}))}",
        "",
        _http_limits(info.get("columns", {})),
        "",
        *http_tables(rows),
        "",
        "### Goals",
        "",
        *http_goals(rows),
        "",
        "### Server load and connections",
        "",
        *http_server_load(rows),
        "",
    ]


def _http_sizes(rows: Sequence[HttpRow], plan: dict[str, Any]) -> str:
    """How big the samples were: rounds, and requests (streams) per sample over the columns."""
    rounds = max((len(samples) for row in rows for samples in row.samples.values()), default=0)
    requests = [s["items"] for row in rows if row.unit == "req/s" for v in row.samples.values() for s in v]
    streams = [s["streams"] for row in rows if row.unit == "ms" for v in row.samples.values() for s in v]
    text = f"{rounds} rounds, each running every column once (the order rotating)."
    if requests:
        text += (
            f" A rate sample runs {plan.get('seconds')} s: {min(requests):,.0f} to {max(requests):,.0f} requests, "
            "by column and row."
        )
    if streams:
        text += (
            f" A stream sample runs {plan.get('sse_seconds')} s: {min(streams):,.0f} to {max(streams):,.0f} streams."
        )
    return text


def _http_limits(columns: dict[str, dict[str, Any]]) -> str:
    """The connection limits each client had (100 in flight needs 100 connections)."""
    parts = []
    for column, info in columns.items():
        if "connection limit" in info:
            parts.append(f"{HTTP_COLUMNS[column][1]} {info['connection limit']} (aiohttp's default)")
        elif "limits" in info:
            parts.append(f"{HTTP_COLUMNS[column][1]} `{info['limits']}` (httpx's defaults)")
        elif "DEFAULT_MAX_CONNECTIONS" in info:
            parts.append(
                f"{HTTP_COLUMNS[column][1]} {info['DEFAULT_MAX_CONNECTIONS']}, {info['DEFAULT_MAX_KEEPALIVE']} kept "
                "alive (nai_sdk/_constants.py)"
            )
    return "Connection limits: " + "; ".join(parts) + "." if parts else ""


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
        "ours": _versions(sys.executable, ["nai-sdk", *libraries, "uvicorn", "starlette"]),
        "peer": _versions(str(PEER_PYTHON), ["novelai-api", *libraries, "ftfy", "jsonschema"]) if peer_ok else {},
    }


def write_results(report: Report, out: Path, args: argparse.Namespace, elapsed: float) -> list[str]:
    info = report.info.get("machine", {})
    kept = summary_rows(report)
    summary = table(kept) if kept else []
    lines = [
        "# nai-sdk benchmarks",
        "",
        f"Made by `bench/run.py{' --quick' if args.quick else ''}"
        f"{''.join(' --only ' + g for g in args.only or [])}"
        f"{' --http-server ' + args.http_server if args.http_server != 'fast' else ''}` in {elapsed:.0f} s. "
        "Medians of alternating runs; ratios are of times (peer/ours > 1: ours is faster; ours/floor: the cost of "
        "nai_sdk over the raw libraries). See bench/README.md for what each workload does.",
        "",
        f"- Machine: {info.get('cpu')}, {info.get('cores')} cores, {info.get('ram')} RAM, {info.get('os')}",
        f"- Python {info.get('python')}; date {info.get('date')}; load average (1, 5, 15 min) at start "
        f"{info.get('load_average_at_start')}, at end {info.get('load_average_at_end')}",
        f"- Ours (project venv): {', '.join(f'{k} {v}' for k, v in info.get('ours', {}).items())}",
        f"- Peer (bench/.peer-venv): {', '.join(f'{k} {v}' for k, v in info.get('peer', {}).items())}",
        "",
        *(["## Summary", "", *summary, ""] if summary else []),
        *http_section(report),
        "## Notes",
        "",
    ]
    for group, notes in report.notes.items():
        lines += [f"- {group}: {note}" for note in notes]
    for group in GROUPS:
        group_info = report.info.get(group)
        if group_info:
            lines.append(f"- {group} worker info: `{json.dumps(group_info, ensure_ascii=False)[:1500]}`")
    if _generic_rows(report):
        lines += ["", "## All rows", "", *table(_generic_rows(report))]
    lines.append("")
    (out / "results.md").write_text("\n".join(lines), encoding="utf-8")
    payload = {
        "machine": info,
        "args": {"quick": args.quick, "only": args.only, "http_server": args.http_server},
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
    parser.add_argument(
        "--http-server",
        choices=("fast", "project"),
        default="fast",
        help="the http group's server: uvicorn with httptools and uvloop in bench/.server-venv (default), or the "
        "project venv's uvicorn as installed (h11 and asyncio unless those are there)",
    )
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
                group_http(report, settings, peer_ok, log, args.http_server)
            elif group == "sse":
                group_sse(report, settings)
            elif group == "budgets":
                group_budgets(report, settings)
            elif group == "images":
                group_images(report, settings)
            elif group == "scripts":
                group_scripts(report, args.quick)
            print(f"   ({time.monotonic() - group_start:.0f} s)", flush=True)
    elapsed = time.monotonic() - started
    report.info["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    summary = write_results(report, args.out, args, elapsed)
    http = http_section(report)
    print("\n".join(["", *summary, "", *http, f"wrote {args.out / 'results.md'} and results.json ({elapsed:.0f} s)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

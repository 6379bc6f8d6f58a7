"""The line protocol between bench/run.py and its worker processes; standard library only (it runs in both venvs).

The harness writes one JSON command a line to the worker's stdin and reads one JSON answer a line:

    {"cmd": "setup", "group": "crypto", "params": {...}}  ->  {"ok": true, "cases": {name: unit}, "info": {...}}
                                                          or  {"ok": false, "skip": "why the group cannot run"}
    {"cmd": "run", "case": "ours:kdf"}                    ->  {"ok": true, "value": {"s": 0.012, ...}}
    {"cmd": "quit"}

A case runs once per "run" and returns its metrics: "s" (the timed seconds, the number medians are taken of),
optionally "items" (what was processed in that time: bytes, requests) and other numbers. Untimed preparation
happens inside the case, around its own timer. Case names are "<side>:<workload>" with side floor, ours or peer.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

Metrics = dict[str, float]
Case = Callable[[], Metrics]
#: What a worker's setup gives back: {case name: (unit, case)} and some information for the report.
Setup = tuple[dict[str, tuple[str, Case]], dict[str, Any]]


class SkipGroup(Exception):
    """A group cannot run in this worker (a module is missing): the message says why."""


def timed(func: Callable[[], object], items: float | None = None) -> Metrics:
    """Run `func` once and return {"s": seconds} (plus "items" if given).

    The result is freed after the timer stops: freeing megabytes of parsed JSON is not the work being measured
    (and the peer, which works in place, would not pay it inside its timer).
    """
    start = time.perf_counter()
    result = func()
    metrics: Metrics = {"s": time.perf_counter() - start}
    del result
    if items is not None:
        metrics["items"] = float(items)
    return metrics


def _reply(out: TextIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def serve(setup: Callable[[str, dict[str, Any]], Setup]) -> None:
    """Answer the harness's commands on the original stdout until "quit" or end of input.

    Anything the libraries print goes to stderr instead (fd 1 is pointed at fd 2), so it cannot corrupt the protocol.
    """
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    cases: dict[str, Case] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            if command["cmd"] == "quit":
                break
            if command["cmd"] == "setup":
                try:
                    table, info = setup(command["group"], command.get("params", {}))
                except SkipGroup as exc:
                    _reply(out, {"ok": False, "skip": str(exc)})
                    continue
                cases.update({name: case for name, (_, case) in table.items()})
                _reply(out, {"ok": True, "cases": {name: unit for name, (unit, _) in table.items()}, "info": info})
            elif command["cmd"] == "run":
                _reply(out, {"ok": True, "value": cases[command["case"]]()})
            else:
                _reply(out, {"ok": False, "error": f"unknown command {command['cmd']!r}"})
        except Exception:
            _reply(out, {"ok": False, "error": traceback.format_exc()})
    out.close()

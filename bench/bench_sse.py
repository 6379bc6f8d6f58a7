"""Server-sent events parsing: a hostile long line, and a typical token stream (a measurement, not a test).

    .venv/bin/python bench/bench_sse.py [--rounds 15] [--json]

Parses with `nai_sdk._sse.SSEDecoder`, in this process, from bytes already in memory (no network):

- one 4 MiB event fed in 1 KiB chunks (issue 14's goal: under 50 ms; quadratic before, 45 s), and the issue's
  own probe, a 1.4 MB line in 1,400-byte chunks;
- a typical stream: 1,000 small `newToken` events as NovelAI's text host sends them, first one network read
  per event (the usual case when tokens trickle in), then the whole stream in 16 KiB reads; and the same
  one-read-per-event stream with each event's JSON parsed as text streams parse it (`loads_answer`), next to
  `json.loads` as the floor.

Each figure is the median of `--rounds` rounds, each running every workload once in turn. `bench/run.py --only sse`
runs this file with `--json` in a fresh interpreter and puts the figures in bench/results.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nai_sdk._json import loads_answer
from nai_sdk._sse import SSEDecoder

#: The goal of issue 14 for the 4 MiB event, in seconds.
GOAL_LONG_EVENT_S = 0.050
SMALL_EVENTS = 1000
#: Workload names that bench/run.py reads.
LONG_EVENT = "4 MiB event, 1 KiB chunks"
PARSED = f"{SMALL_EVENTS:,} events, one read each, + loads_answer"
PARSED_FLOOR = f"{SMALL_EVENTS:,} events, one read each, + json.loads (floor)"


def _chunks(stream: bytes, size: int) -> list[bytes]:
    return [stream[start : start + size] for start in range(0, len(stream), size)]


def _token_stream(count: int) -> list[bytes]:
    """`count` events of `/ai/generate-stream` (one token each, base64 of a 2-byte id), one bytes object each."""
    events = []
    for ptr in range(count):
        data = json.dumps({"token": "AQA=", "ptr": ptr, "final": ptr == count - 1}, separators=(",", ":"))
        events.append(f"event: newToken\nid: {ptr + 1}\ndata: {data}\n\n".encode())
    return events


def _decode(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    decoder.close()
    return count


def _decode_and_parse(chunks: list[bytes], parse: Callable[[str], object]) -> int:
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            parse(event.data)
            count += 1
    decoder.close()
    return count


def measure(rounds: int) -> dict[str, dict[str, float]]:
    """Every workload: its median time in seconds, and bytes or events per second.

    Every round runs each workload once, in turn, so that a burst of load on a shared machine hits them all alike.
    """
    long_event = b"data: " + b"x" * (4 * 1024 * 1024) + b"\n\n"
    probe = b"data: " + b"x" * 1_400_000 + b"\n\n"
    events = _token_stream(SMALL_EVENTS)
    long_chunks, probe_chunks = _chunks(long_event, 1024), _chunks(probe, 1400)
    whole_chunks = _chunks(b"".join(events), 16 * 1024)
    n = SMALL_EVENTS
    # name -> (work, events it must return, bytes or events it handles, unit of the rate)
    workloads: dict[str, tuple[Callable[[], int], int, int, str]] = {
        LONG_EVENT: (lambda: _decode(long_chunks), 1, len(long_event), "bytes/s"),
        "1.4 MB line, 1,400-byte chunks": (lambda: _decode(probe_chunks), 1, len(probe), "bytes/s"),
        f"{n:,} events, one read each": (lambda: _decode(events), n, n, "events/s"),
        f"{n:,} events, 16 KiB reads": (lambda: _decode(whole_chunks), n, n, "events/s"),
        PARSED: (
            lambda: _decode_and_parse(events, loads_answer),
            n,
            n,
            "events/s",
        ),
        PARSED_FLOOR: (
            lambda: _decode_and_parse(events, json.loads),
            n,
            n,
            "events/s",
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in workloads}
    for _ in range(rounds):
        for name, (work, expected, _amount, _unit) in workloads.items():
            started = time.perf_counter()
            got = work()
            samples[name].append(time.perf_counter() - started)
            if got != expected:
                raise AssertionError(f"{name}: expected {expected} events, got {got}")
    results: dict[str, dict[str, float]] = {}
    for name, (_work, _expected, amount, unit) in workloads.items():
        seconds = statistics.median(samples[name])
        results[name] = {"s": seconds, unit: amount / seconds}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--rounds", type=int, default=15, help="rounds (each runs every workload once); figures are medians"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (for bench/run.py)")
    args = parser.parse_args(argv)
    results = measure(args.rounds)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"SSEDecoder, median of {args.rounds} rounds (Python {sys.version.split()[0]})")
    for name, figures in results.items():
        rate = next((f"{value:,.0f} {unit}" for unit, value in figures.items() if unit != "s"), "")
        print(f"  {name:<55} {figures['s'] * 1e3:9.2f} ms   {rate}")
    long_s = results[LONG_EVENT]["s"]
    verdict = "met" if long_s < GOAL_LONG_EVENT_S else "MISSED"
    print(f"goal: 4 MiB event in 1 KiB chunks under {GOAL_LONG_EVENT_S * 1e3:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

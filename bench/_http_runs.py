"""The timing loops of the http group, shared by both workers (standard library only: it runs in both venvs).

A worker describes one client (one column of the group) by three operations: `get` (one GET /user/subscription,
answer parsed), `post` (one POST /ai/generate, answer parsed) and `stream` (one POST /ai/generate-stream, yielding
`final` for every event as the client hands it over). The loops below turn them into the cases of bench/_proto.py,
so every column, ours, floor or peer, is timed by the same code.

- Rates run for a fixed time, not a fixed count: `width` workers (1: sequential) each await one request after the
  other until the sample's time is up; the sample is the requests done over the time until the last one finished.
  Before the timer, one round of `width` concurrent requests opens the connections (they may have gone idle since
  the previous sample) and a garbage collection runs.
- Streams run one after the other for a fixed time, each read to its end; the sample is the median time from
  sending the request to the first event and to the final event.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from _proto import Case, Metrics

AsyncCall = Callable[[], Awaitable[object]]
AsyncStream = Callable[[], AsyncIterator[bool]]
SyncCall = Callable[[], object]
SyncStream = Callable[[], Iterator[bool]]

GET = "GET /user/subscription"
POST = "POST /ai/generate"
SSE = "SSE /ai/generate-stream"


def sequential(route: str) -> str:
    return f"{route}, sequential"


def in_flight(route: str, width: int) -> str:
    return f"{route}, {width} in flight"


def workloads(widths: tuple[int, ...]) -> list[str]:
    """The workload names, in the order of the report; SSE gives two rows (first and final event)."""
    names = []
    for route in (GET, POST):
        names += [sequential(route), *(in_flight(route, width) for width in widths)]
    return [*names, SSE]


@dataclass(frozen=True)
class Plan:
    """How long each sample runs, and the widths of the in-flight rows."""

    seconds: float
    sse_seconds: float
    widths: tuple[int, ...]
    events: int

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Plan:
        return cls(
            seconds=float(params["seconds"]),
            sse_seconds=float(params["sse_seconds"]),
            widths=tuple(int(width) for width in params["widths"]),
            events=int(params["events"]),
        )


def _rate(count: int, elapsed: float, warmup: int) -> Metrics:
    return {"s": elapsed, "items": float(count), "rate": count / elapsed, "warmup": float(warmup)}


def _stream_metrics(firsts: list[float], lasts: list[float]) -> Metrics:
    first, last = statistics.median(firsts), statistics.median(lasts)
    return {"s": first, "first": first, "last": last, "streams": float(len(firsts))}


def _check_events(count: int, last: float, expected: int) -> None:
    if last < 0:
        raise RuntimeError(f"the stream ended without a final event ({count} events)")
    if count != expected:
        raise RuntimeError(f"the stream gave {count} events, not {expected}")


# --- asynchronous clients ---------------------------------------------------------------------------------------


async def _run_for(call: AsyncCall, seconds: float, width: int) -> Metrics:
    await asyncio.gather(*(call() for _ in range(width)))
    gc.collect()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await call()
            count += 1

    await asyncio.gather(*(worker() for _ in range(width)))
    return _rate(count, time.perf_counter() - start, width)


async def _one_stream(stream: AsyncStream, expected: int) -> tuple[float, float]:
    first = last = -1.0
    count = 0
    start = time.perf_counter()
    async for final in stream():
        now = time.perf_counter() - start
        count += 1
        if first < 0:
            first = now
        if final:
            last = now
    _check_events(count, last, expected)
    return first, last


async def _streams_for(stream: AsyncStream, seconds: float, expected: int) -> Metrics:
    await _one_stream(stream, expected)
    gc.collect()
    firsts: list[float] = []
    lasts: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        first, last = await _one_stream(stream, expected)
        firsts.append(first)
        lasts.append(last)
    return _stream_metrics(firsts, lasts)


def async_cases(
    column: str,
    loop: asyncio.AbstractEventLoop,
    get: AsyncCall,
    post: AsyncCall,
    stream: AsyncStream,
    plan: Plan,
) -> dict[str, tuple[str, Case]]:
    """The cases of an asynchronous client, run on `loop` (which holds its session across samples)."""

    def rate(call: AsyncCall, width: int) -> Case:
        return lambda: loop.run_until_complete(_run_for(call, plan.seconds, width))

    cases: dict[str, tuple[str, Case]] = {}
    for route, call in ((GET, get), (POST, post)):
        cases[f"{column}:{sequential(route)}"] = ("req/s", rate(call, 1))
        for width in plan.widths:
            cases[f"{column}:{in_flight(route, width)}"] = ("req/s", rate(call, width))
    cases[f"{column}:{SSE}"] = (
        "ms",
        lambda: loop.run_until_complete(_streams_for(stream, plan.sse_seconds, plan.events)),
    )
    return cases


def check_async(
    loop: asyncio.AbstractEventLoop, get: AsyncCall, post: AsyncCall, stream: AsyncStream, events: int
) -> None:
    """One of each operation, untimed (first imports, tokenizer loads), failing loudly if a client cannot do it."""

    async def run() -> None:
        await get()
        await post()
        await _one_stream(stream, events)

    loop.run_until_complete(run())


# --- synchronous clients ----------------------------------------------------------------------------------------


def _run_for_sync(call: SyncCall, seconds: float) -> Metrics:
    call()
    gc.collect()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        call()
        count += 1
    return _rate(count, time.perf_counter() - start, 1)


def _one_stream_sync(stream: SyncStream, expected: int) -> tuple[float, float]:
    first = last = -1.0
    count = 0
    start = time.perf_counter()
    for final in stream():
        now = time.perf_counter() - start
        count += 1
        if first < 0:
            first = now
        if final:
            last = now
    _check_events(count, last, expected)
    return first, last


def _streams_for_sync(stream: SyncStream, seconds: float, expected: int) -> Metrics:
    _one_stream_sync(stream, expected)
    gc.collect()
    firsts: list[float] = []
    lasts: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        first, last = _one_stream_sync(stream, expected)
        firsts.append(first)
        lasts.append(last)
    return _stream_metrics(firsts, lasts)


def sync_cases(
    column: str, get: SyncCall, post: SyncCall, stream: SyncStream, plan: Plan
) -> dict[str, tuple[str, Case]]:
    """The cases of a synchronous client: sequential rows and streams only (nothing is in flight at once)."""
    return {
        f"{column}:{sequential(GET)}": ("req/s", lambda: _run_for_sync(get, plan.seconds)),
        f"{column}:{sequential(POST)}": ("req/s", lambda: _run_for_sync(post, plan.seconds)),
        f"{column}:{SSE}": ("ms", lambda: _streams_for_sync(stream, plan.sse_seconds, plan.events)),
    }


def check_sync(get: SyncCall, post: SyncCall, stream: SyncStream, events: int) -> None:
    get()
    post()
    _one_stream_sync(stream, events)

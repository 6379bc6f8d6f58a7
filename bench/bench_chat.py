"""Chat streaming: time to the first piece, nai_sdk against raw aiohttp on the same local server (a measurement).

    .venv/bin/python bench/bench_chat.py [--rounds 400] [--events 50] [--json]

bench/http_server.py runs in a process of its own (uvicorn), answering `POST /oa/v1/chat/completions` with a
fixed stream as NovelAI's text host sends one: a first chunk naming the role, `--events` chunks of one word each,
a last chunk with the finish reason, then `data: [DONE]`; one write per event, the first right after the headers.

Each round times, on one kept-alive connection per client, from the call to the first piece in hand:

- **raw aiohttp** (the floor): `session.post(url, json=body)`, read the body until the first event ends,
  `json.loads` its data and take `choices[0].delta.content`;
- **ours**: `AsyncNovelAI(...).text.chat_stream(...)` and the first `anext()` (body built from the spec's model and
  checked, routing, auth, retries policy, the transport, the event-stream decoder, the chunk parsed into the spec's
  model and checked);
- **ours, httpx pool**: the same with `http_backend="httpx"`, for reference.

Then each reads the rest of its stream, outside the timing, so that the connection goes back to its pool. The order
of the clients rotates every round; figures are medians (and the 90th percentile) over `--rounds` rounds after a
warm-up. Issue 16's goal: ours within 0.3 ms of raw aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from nai_sdk import AsyncNovelAI  # noqa: E402

PATH = "/oa/v1/chat/completions"
TOKEN = "bench-token"
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Tell me a story."}]
#: Issue 16's goal, in seconds: ours within this of raw aiohttp.
GOAL_S = 0.3e-3
RAW = "raw aiohttp"
OURS = "ours (aiohttp transport)"
OURS_HTTPX = "ours (httpx pool)"


def _events(count: int) -> list[bytes]:
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1759363200, "model": "glm-4-6"}

    def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
        data = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()

    words = ["the", " night", " was", " quiet", " and", " a", " lantern", " swayed"]
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": words[i % len(words)]}) for i in range(count)]
    events.append(chunk({}, "stop"))
    events.append(b"data: [DONE]\n\n")
    return events


class Server:
    """bench/http_server.py in its own process, serving the stream."""

    def __init__(self, events: list[bytes]) -> None:
        spec = {
            "routes": [
                {
                    "method": "POST",
                    "path": PATH,
                    "status": 200,
                    "content_type": "text/event-stream; charset=utf-8",
                    "events": [base64.b64encode(event).decode() for event in events],
                }
            ]
        }
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "http_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(spec))
        self.process.stdin.close()
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.info['port']}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def _raw_first(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.perf_counter()
    async with session.post(url, json=body, headers=headers) as response:
        response.raise_for_status()
        buffer = b""
        elapsed = None
        async for chunk in response.content.iter_any():
            if elapsed is None:
                buffer += chunk
                end = buffer.find(b"\n\n")
                if end >= 0:
                    data = json.loads(buffer[:end].removeprefix(b"data: "))
                    content = data["choices"][0]["delta"]["content"]
                    elapsed = time.perf_counter() - started
                    assert isinstance(content, str)
        assert elapsed is not None
        return elapsed


async def _ours_first(nai: AsyncNovelAI) -> float:
    started = time.perf_counter()
    async with nai.text.chat_stream(MESSAGES, "glm-4-6", max_tokens=64) as stream:
        first = await anext(stream)
        elapsed = time.perf_counter() - started
        assert isinstance(first.text, str)
        async for _ in stream:
            pass
    assert stream.result.finish_reason == "stop"
    return elapsed


async def measure(url: str, rounds: int, warmup: int) -> dict[str, list[float]]:
    body = {"model": "glm-4-6", "messages": MESSAGES, "max_tokens": 64, "stream": True}
    async with (
        aiohttp.ClientSession() as session,
        AsyncNovelAI(token=TOKEN, base_url=url) as ours,
        AsyncNovelAI(token=TOKEN, base_url=url, http_backend="httpx") as ours_httpx,
    ):
        clients: dict[str, Callable[[], Awaitable[float]]] = {
            RAW: lambda: _raw_first(session, url + PATH, body),
            OURS: lambda: _ours_first(ours),
            OURS_HTTPX: lambda: _ours_first(ours_httpx),
        }
        names = list(clients)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for index in range(warmup + rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                elapsed = await clients[name]()
                if index >= warmup:
                    samples[name].append(elapsed)
        return samples


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=400, help="timed rounds (each runs every client once)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed rounds first")
    parser.add_argument("--events", type=int, default=50, help="content chunks in the stream")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    server = Server(_events(args.events))
    try:
        samples = asyncio.run(measure(server.url, args.rounds, args.warmup))
    finally:
        server.close()
    figures = {name: {"median_s": statistics.median(values), "p90_s": _p90(values)} for name, values in samples.items()}
    gap = figures[OURS]["median_s"] - figures[RAW]["median_s"]
    if args.json:
        print(json.dumps({"figures": figures, "gap_s": gap, "goal_s": GOAL_S, "server": server.info}))
        return 0
    print(
        f"chat stream, time to the first piece: median (p90) of {args.rounds} rounds after {args.warmup} warm-up, "
        f"{args.events} content events (Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}, "
        f"server: uvicorn {server.info['http']}/{server.info['loop']})"
    )
    for name, figure in figures.items():
        print(f"  {name:<26} {figure['median_s'] * 1e3:7.3f} ms ({figure['p90_s'] * 1e3:.3f} ms)")
    verdict = "met" if gap <= GOAL_S else "MISSED"
    print(f"ours - raw aiohttp: {gap * 1e3:+.3f} ms; goal: within {GOAL_S * 1e3:.1f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

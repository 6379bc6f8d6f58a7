"""HTTP overhead of NovelAI / AsyncNovelAI against raw httpx and aiohttp (a measurement, not a test).

    .venv/bin/python bench/bench_http.py [--requests 4000] [--inflight 10]

A trivial ASGI app (`GET /user/priority` answering a fixed JSON) runs under uvicorn in a separate process, so the
server does not share the client's interpreter lock. Reports requests per second for: sequential sync requests
(NovelAI vs httpx.Client), 10 requests in flight (AsyncNovelAI on each transport vs httpx.AsyncClient vs aiohttp,
medians of 7 rounds that each run every client once; plus AsyncNovelAI over the third-party httpx-aiohttp transport
when that package is installed), and the time to the first event of a generation stream from FakeNovelAI.

A quick standalone check; `bench/run.py --only http` is the full comparison (more workloads, the peer, alternating
worker processes, medians), see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BODY = json.dumps({"maxPriorityActions": 1000, "nextRefillAt": 1700000000, "taskPriority": 10}).encode()
TOKEN = "bench-token"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


def _serve(sock: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


_RAW_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class _Trivial(asyncio.Protocol):
    """Answers every request (GET, no body) with one fixed response: a server that costs next to nothing."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")
        if count:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(_RAW_RESPONSE * count)


def _serve_raw(sock: socket.socket) -> None:
    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(_Trivial, sock=sock)
        await server.serve_forever()

    asyncio.run(run())


def start_server(raw: bool = False) -> tuple[BaseProcess, str]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn writes headers and body separately; without TCP_NODELAY (inherited by accepted sockets on Linux),
    # Nagle's algorithm and delayed ACKs add ~40 ms to every keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    process = multiprocessing.get_context("fork").Process(
        target=_serve_raw if raw else _serve, args=(sock,), daemon=True
    )
    process.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    import httpx

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/user/priority")
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def best_of(runs: int, fn: Callable[[], float]) -> float:
    return max(fn() for _ in range(runs))


def sync_rates(url: str, n: int) -> dict[str, float]:
    import httpx

    from nai_sdk._client import NovelAI

    results: dict[str, float] = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as raw:
        raw.get("/user/priority")

        def run_raw() -> float:
            start = time.perf_counter()
            for _ in range(n):
                raw.get("/user/priority").json()
            return n / (time.perf_counter() - start)

        results["sync raw httpx.Client"] = best_of(3, run_raw)
    with NovelAI(token=TOKEN, base_url=url) as nai:
        nai.account.priority()

        def run_sdk() -> float:
            start = time.perf_counter()
            for _ in range(n):
                nai.account.priority()
            return n / (time.perf_counter() - start)

        results["sync NovelAI.account.priority()"] = best_of(3, run_sdk)
    return results


async def _inflight(call: Callable[[], Awaitable[Any]], n: int, inflight: int) -> float:
    await call()
    per_worker = n // inflight

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return per_worker * inflight / (time.perf_counter() - start)


async def async_rates(url: str, n: int, inflight: int, rounds: int = 7) -> dict[str, float]:
    """Median req/s of each async client; every round runs each client once, so drift hits all alike."""
    import aiohttp
    import httpx

    from nai_sdk._client import AsyncNovelAI

    clients = {
        f"async AsyncNovelAI ({backend})": AsyncNovelAI(token=TOKEN, base_url=url, http_backend=backend)
        for backend in ("aiohttp", "httpx")
    }
    calls: dict[str, Callable[[], Awaitable[Any]]] = {name: nai.account.priority for name, nai in clients.items()}
    if importlib.util.find_spec("httpx_aiohttp") is not None:
        # The transport nai_sdk used before its own (`pip install httpx-aiohttp`; not a dependency): the same
        # client with it passed as transport=, for the comparison that justified writing AiohttpTransport.
        from httpx_aiohttp import AiohttpTransport as ThirdParty  # type: ignore[import-not-found,unused-ignore]

        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        third = AsyncNovelAI(token=TOKEN, base_url=url, transport=ThirdParty(limits=limits))
        clients["async AsyncNovelAI (httpx-aiohttp 3rd party)"] = third
        calls["async AsyncNovelAI (httpx-aiohttp 3rd party)"] = third.account.priority
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx.AsyncClient(base_url=url, headers=headers) as client,
        aiohttp.ClientSession(url, headers=headers) as session,
    ):

        async def raw_httpx() -> Any:
            return (await client.get("/user/priority")).json()

        async def raw_aiohttp() -> Any:
            async with session.get("/user/priority") as response:
                return await response.json()

        calls["async raw httpx.AsyncClient"] = raw_httpx
        calls["async raw aiohttp"] = raw_aiohttp
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(rounds):
            for name, call in calls.items():
                samples[name].append(await _inflight(call, n, inflight))
    for nai in clients.values():
        await nai.aclose()
    if "async AsyncNovelAI (httpx-aiohttp 3rd party)" in clients:
        # A transport passed in stays the caller's to close.
        await clients["async AsyncNovelAI (httpx-aiohttp 3rd party)"]._transport.aclose()
    return {name: statistics.median(rates) for name, rates in samples.items()}


def first_event_latency(repeats: int = 20) -> dict[str, float]:
    """Median ms from sending a generate-stream request to its first piece, with FakeNovelAI spacing events."""
    from nai_sdk import crypto
    from nai_sdk._client import AsyncNovelAI, NovelAI
    from nai_sdk.testing import FakeNovelAI

    results: dict[str, float] = {}
    with FakeNovelAI(default_tier=3) as server:
        _, token = server.add_account(crypto.access_key("b@e.n", "password"))
        headers = {"X-Fake-Fault": "slow-stream=0.05"}
        with NovelAI(token=token, base_url=server.base_url, headers=headers) as nai:
            firsts, totals = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                with nai.text.stream("x", "kayra", max_length=6, min_length=6) as stream:
                    for index, _piece in enumerate(stream):
                        if index == 0:
                            firsts.append(time.perf_counter() - start)
                totals.append(time.perf_counter() - start)
            results["sync first event ms"] = statistics.median(firsts) * 1000
            results["sync whole stream ms"] = statistics.median(totals) * 1000

        async def run(backend: Literal["aiohttp", "httpx"]) -> None:
            async with AsyncNovelAI(
                token=token, base_url=server.base_url, headers=headers, http_backend=backend
            ) as nai:
                firsts, totals = [], []
                for _ in range(repeats):
                    start = time.perf_counter()
                    async with nai.text.stream("x", "kayra", max_length=6, min_length=6) as stream:
                        index = 0
                        async for _piece in stream:
                            if index == 0:
                                firsts.append(time.perf_counter() - start)
                            index += 1
                    totals.append(time.perf_counter() - start)
                results[f"async ({backend}) first event ms"] = statistics.median(firsts) * 1000
                results[f"async ({backend}) whole stream ms"] = statistics.median(totals) * 1000

        for backend in ("aiohttp", "httpx"):
            asyncio.run(run(backend))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--inflight", type=int, default=10)
    parser.add_argument("--server", choices=["raw", "uvicorn", "both"], default="both")
    args = parser.parse_args()
    for kind in ("raw", "uvicorn") if args.server == "both" else (args.server,):
        process, url = start_server(raw=kind == "raw")
        try:
            results = sync_rates(url, args.requests)
            results.update(asyncio.run(async_rates(url, args.requests, args.inflight)))
        finally:
            process.terminate()
            process.join()
        print(f"-- server: {kind} ({'asyncio protocol, fixed answer' if kind == 'raw' else 'uvicorn + h11, ASGI app'})")
        width = 48
        for name, rate in results.items():
            print(f"{name:<{width}}  {rate:8.0f} req/s")
        sync_ratio = results["sync NovelAI.account.priority()"] / results["sync raw httpx.Client"]
        print(f"{'sync NovelAI / raw httpx':<{width}}  {sync_ratio:8.2f}x")
    print("-- time to first SSE event (FakeNovelAI, 6 events 50 ms apart), median of 20")
    width = 48
    for name, value in first_event_latency().items():
        print(f"{name:<{width}}  {value:8.1f}")


if __name__ == "__main__":
    main()

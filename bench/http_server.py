"""The server of the http group: fixed answers from a small ASGI app under uvicorn, in its own process.

    bench/.server-venv/bin/python bench/http_server.py < answers.json   # any Python with uvicorn

bench/run.py starts it (see bench/README.md, http). It reads the answers (one JSON document on stdin, captured by
run.py from `nai_sdk.testing.FakeNovelAI`), listens on 127.0.0.1 on a free port, prints one JSON line
`{"port": ..., "http": ..., "loop": ...}` and serves until SIGTERM or SIGINT.

Every answer is bytes prepared at start-up: no state, no parsing of requests beyond draining their bodies and
checking that an Authorization header is there. A stream answer is sent as one write per event, the first right
after the headers.

`GET /_bench/stats` answers the requests served per route since start (`total`) and, since the previous call
(`since`): the requests, the connections opened (not counting the one the call itself came on: the harness opens a
new one each time) and the connections used (distinct client ports); then it starts a new interval. The harness
calls it around every case.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, cast

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STATS = ("GET", "/_bench/stats")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    events: tuple[bytes, ...] | None  # a stream: one body chunk per event


def _answer(spec: dict[str, Any]) -> Answer:
    content_type = str(spec["content_type"]).encode()
    if "events" in spec:
        events = tuple(base64.b64decode(event) for event in spec["events"])
        headers = [(b"content-type", content_type), (b"cache-control", b"no-store")]
        return Answer(int(spec["status"]), headers, b"", events)
    body = base64.b64decode(spec["body"])
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    return Answer(int(spec["status"]), headers, body, None)


def _json(status: int, data: object) -> Answer:
    body = json.dumps(data).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return Answer(status, headers, body, None)


class FixedApp:
    """An ASGI app answering (method, path) with a fixed Answer; 401 without Authorization, 404 elsewhere."""

    def __init__(self, answers: dict[tuple[str, str], Answer]) -> None:
        self.answers = answers
        self.counts: Counter[str] = Counter()
        self.interval_requests = 0
        self.interval_ports: set[int] = set()
        self.interval_opened = 0  # counted by `counting`, which uvicorn calls once per accepted connection
        self.unauthorized = _json(401, {"statusCode": 401, "message": "Unauthorized"})
        self.not_found = _json(404, {"statusCode": 404, "message": "Not found"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = bool(message.get("more_body", False))
        key = (scope["method"], scope["path"])
        if key == STATS:
            since = {
                "requests": self.interval_requests,
                "opened": self.interval_opened - 1,
                "used": len(self.interval_ports),
            }
            answer = _json(200, {"total": dict(self.counts), "since": since})
            self.interval_requests = self.interval_opened = 0
            self.interval_ports = set()
        elif key not in self.answers:
            answer = self.not_found
        elif not any(name == b"authorization" for name, _ in scope["headers"]):
            answer = self.unauthorized
        else:
            answer = self.answers[key]
            self.counts[f"{key[0]} {key[1]}"] += 1
            self.interval_requests += 1
            client = scope.get("client")
            if client:
                self.interval_ports.add(client[1])
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        if answer.events is None:
            await send({"type": "http.response.body", "body": answer.body})
            return
        for event in answer.events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def counting(app: FixedApp) -> Callable[..., asyncio.Protocol]:
    """uvicorn's HTTP protocol ("auto": httptools if installed, else h11), counting the connections it accepts."""
    from uvicorn.config import HTTP_PROTOCOLS
    from uvicorn.importer import import_from_string

    protocol: type[asyncio.Protocol] = import_from_string(HTTP_PROTOCOLS["auto"])

    def make(**kwargs: Any) -> asyncio.Protocol:
        app.interval_opened += 1
        return protocol(**kwargs)

    return make


def implementations() -> dict[str, str]:
    """What uvicorn's "auto" settings pick on this machine."""
    found = importlib.util.find_spec
    return {
        "http": "httptools" if found("httptools") else "h11",
        "loop": "uvloop" if found("uvloop") else "asyncio",
    }


def main() -> None:
    import uvicorn

    spec = json.loads(sys.stdin.read())
    answers = {(route["method"], route["path"]): _answer(route) for route in spec["routes"]}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn writes headers and body separately: without TCP_NODELAY (which accepted sockets inherit on Linux),
    # Nagle's algorithm and delayed ACKs add ~40 ms to every keep-alive request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    app = FixedApp(answers)
    config = uvicorn.Config(
        app,
        http=cast(Any, counting(app)),
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        date_header=False,
        # Clients sit idle while the other columns run; keep their connections open across rounds.
        timeout_keep_alive=600,
        backlog=2048,
    )
    print(json.dumps({"port": sock.getsockname()[1], **implementations()}), flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()

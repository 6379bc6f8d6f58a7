"""Fault injection: per request through the ``X-Fake-Fault`` header, per server through a queue.

Header syntax: ``X-Fake-Fault: status=429;retry-after=1`` — ``;``-separated ``key=value`` pairs:

===================  =====================================================================================
``status=N``         answer N with ``{"statusCode": N, "message": ...}`` instead of calling the route
``retry-after=S``    add ``Retry-After: S`` to that answer
``message=TEXT``     the message of that answer
``latency=S``        wait S seconds before handling the request
``drop-after-bytes=N``  send the status line, the headers and N bytes of the body, then close the connection
``drop-mid-stream=N``   send N body chunks (N events of an SSE stream), then close the connection
``slow-stream=S``    wait S seconds before each body chunk (each SSE event)
``cut=before``       close the connection without handling the request (it never reached the route)
``cut=after``        handle the request, then close the connection before the answer's body (the change was
                     made, but the client never learns it)
===================  =====================================================================================

Queued faults (:meth:`FakeNovelAI.inject`) can also answer a given JSON body (``body=``), for answers that no
route would give: a broken keystore, a listing that is not a list.

A malformed header is answered with 400, so a typo never silently disables a test's fault.
"""

from __future__ import annotations

import asyncio
import contextvars
import fnmatch
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "FAULT_HEADER",
    "Fault",
    "FaultInjector",
    "FaultMiddleware",
    "LoggedRequest",
    "RequestLog",
    "install_log_filter",
    "parse_fault",
]

FAULT_HEADER = "x-fake-fault"
"""The request header that injects a fault into that one request (`status=429;retry-after=1`)."""

# Set by the middleware when it cuts a response on purpose, read by the log filter below: uvicorn logs an error
# whenever an app returns without completing its response, which is exactly what a deliberate drop does.
_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("_dropping", default=False)


class _DeliberateDropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _dropping.get()


_log_filter = _DeliberateDropFilter()


def install_log_filter() -> None:
    """Silence uvicorn's error line for connections this module closes on purpose (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _log_filter not in logger.filters:
        logger.addFilter(_log_filter)


@dataclass(frozen=True)
class Fault:
    """What to do wrong with one response.

    Attributes:
        status: Answer this status instead of calling the route.
        retry_after: ``Retry-After`` header value (seconds) of that answer.
        message: Message of that answer.
        latency: Seconds to wait before handling the request.
        drop_after_bytes: Close the connection after this many body bytes.
        drop_mid_stream: Close the connection after this many body chunks (SSE events).
        slow_stream: Seconds to wait before each body chunk.
        cut: "before": close the connection without handling the request; "after": handle it, then close the
            connection before the answer's body.
        body: Answer this JSON text (with ``status``, default 200) instead of calling the route.
    """

    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    latency: float = 0.0
    drop_after_bytes: int | None = None
    drop_mid_stream: int | None = None
    slow_stream: float = 0.0
    cut: Literal["before", "after"] | None = None
    body: str | None = None

    def __post_init__(self) -> None:
        if self.cut not in (None, "before", "after"):
            raise ValueError("cut must be 'before' or 'after'")


_HEADER_KEYS = {
    "status": ("status", int),
    "retry-after": ("retry_after", float),
    "message": ("message", str),
    "latency": ("latency", float),
    "drop-after-bytes": ("drop_after_bytes", int),
    "drop-mid-stream": ("drop_mid_stream", int),
    "slow-stream": ("slow_stream", float),
    "cut": ("cut", str),
}


def parse_fault(header: str) -> Fault:
    """Parse an ``X-Fake-Fault`` header value.

    Raises:
        ValueError: An unknown key, a missing ``=`` or a value of the wrong type.
    """
    values: dict[str, Any] = {}
    for part in header.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in _HEADER_KEYS:
            raise ValueError(f"unknown fault {part.strip()!r}; known keys: {', '.join(_HEADER_KEYS)}")
        name, kind = _HEADER_KEYS[key]
        try:
            values[name] = kind(value.strip())
        except ValueError:
            raise ValueError(f"fault {key} needs a {kind.__name__}, got {value.strip()!r}") from None
    return Fault(**values)


@dataclass
class _Queued:
    path: str
    method: str | None
    fault: Fault
    remaining: int


class FaultInjector:
    """A thread-safe queue of faults for the next requests that match a path pattern."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []

    def add(self, path: str, fault: Fault, *, method: str | None = None, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests whose path matches ``path`` (an ``fnmatch`` pattern)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queue.append(_Queued(path, method.upper() if method else None, fault, times))

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        """How many faulty responses are still queued."""
        with self._lock:
            return sum(item.remaining for item in self._queue)

    def take(self, method: str, path: str) -> Fault | None:
        """Consume and return the first queued fault matching this request, if any."""
        with self._lock:
            for item in self._queue:
                if fnmatch.fnmatchcase(path, item.path) and item.method in (None, method):
                    item.remaining -= 1
                    if item.remaining == 0:
                        self._queue.remove(item)
                    return item.fault
        return None


@dataclass
class LoggedRequest:
    """One request the fake answered (or cut).

    Attributes:
        method: The HTTP method.
        host: The ``Host`` header as the client sent it.
        path: The path, without the query.
        status: The status answered, or None when the connection was cut before an answer.
        role: The host the request reached in split-host mode ("api", "text" or "image"), told by the socket it
            arrived on; None in single-URL mode.
        request_id: The ``X-Request-Id`` the fake answered with.
        query: The query string, as sent.
    """

    method: str
    host: str
    path: str
    status: int | None
    role: str | None = None
    # Unique per request: left out of comparisons, so that tests can compare logs with the entries they expect.
    request_id: str = field(default="", compare=False)
    query: str = ""


class RequestLog:
    """The requests a fake server saw, oldest first (the newest 100,000), for tests to read."""

    def __init__(self, size: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._items: deque[LoggedRequest] = deque(maxlen=size)

    def add(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def all(self) -> list[LoggedRequest]:
        """Every logged request."""
        with self._lock:
            return list(self._items)

    def matching(
        self, method: str | None = None, path: str | None = None, role: str | None = None
    ) -> list[LoggedRequest]:
        """The logged requests with this method, a path matching this ``fnmatch`` pattern and this host role."""
        return [
            item
            for item in self.all()
            if (method is None or item.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(item.path, path))
            and (role is None or item.role == role)
        ]

    def clear(self) -> None:
        """Forget every logged request."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class _Drop(Exception):
    """Raised inside ``send`` to stop the route once the fault has cut the response."""


def _error_body(status: int, message: str) -> bytes:
    return json.dumps({"statusCode": status, "message": message}).encode()


class FaultMiddleware:
    """ASGI middleware applying a server-wide latency and the faults of :class:`FaultInjector` or the header.

    Args:
        app: The application behind.
        injector: Queue of server-side faults.
        latency: Seconds added before every request.
        log: Where to record every request, if anywhere.
        role_of: The host role of a request's scope, for the log (split-host mode).
    """

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        latency: float = 0.0,
        log: RequestLog | None = None,
        role_of: Callable[[Scope], str | None] | None = None,
    ) -> None:
        self.app = app
        self.injector = injector
        self.latency = latency
        self.log = log
        self.role_of = role_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Every answer names its request, as servers behind a gateway do; the SDK's `with_raw_response` shows it.
        request_id = uuid.uuid4().hex
        log = self.log
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        role = self.role_of(scope) if self.role_of is not None else None
        query = scope.get("query_string", b"").decode("latin-1")
        entry = LoggedRequest(scope["method"], host, scope["path"], None, role, request_id, query)
        logged = False

        async def logging_send(message: Message) -> None:
            nonlocal logged
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            if log is None:
                await send(message)
                return
            if message["type"] == "http.response.start" and not logged:
                # Logged before the answer leaves, so a client that got its answer always finds it in the log.
                entry.status = message["status"]
                log.add(entry)
                logged = True
            await send(message)

        try:
            await self._handle(scope, receive, logging_send)
        finally:
            if _dropping.get():
                # A cut answer logs no status: the client never got one.
                entry.status = None
            if not logged and log is not None:
                log.add(entry)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == FAULT_HEADER.encode()), None)
        try:
            fault = parse_fault(header) if header is not None else self.injector.take(scope["method"], scope["path"])
        except ValueError as exc:
            await _send_json(send, 400, _error_body(400, f"bad X-Fake-Fault header: {exc}"), {})
            return
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.cut == "before":
            await _send_cut(send)
            _dropping.set(True)
            return
        if fault.body is not None:
            await _send_json(send, fault.status or 200, fault.body.encode(), {})
            return
        if fault.status is not None:
            headers = {} if fault.retry_after is None else {"retry-after": _seconds(fault.retry_after)}
            message = fault.message or f"fault injected by FakeNovelAI: status {fault.status}"
            await _send_json(send, fault.status, _error_body(fault.status, message), headers)
            return
        if fault.drop_after_bytes is None and fault.drop_mid_stream is None and not fault.slow_stream and not fault.cut:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, _FaultySend(send, fault))
        except _Drop:
            _dropping.set(True)
        except BaseExceptionGroup as group:  # anyio task groups (SSE) wrap what send raised
            rest = group.subgroup(lambda exc: not isinstance(exc, _Drop))
            if rest is not None:
                raise rest from None
            _dropping.set(True)


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


async def _send_json(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _send_cut(send: Send) -> None:
    # uvicorn answers 500 for an app that returns before starting its answer, so a cut starts one that promises a
    # body, then closes the connection (the middleware's _Drop path): the client sees a connection error.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})


class _FaultySend:
    """Wraps ``send`` to slow down or cut the body of one response."""

    def __init__(self, send: Send, fault: Fault) -> None:
        self._send = send
        self._fault = fault
        self._bytes = 0
        self._chunks = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and self._fault.cut == "after":
            # The route ran: promise one more byte than it sends, send none, and close (see _send_cut).
            await _send_cut(self._send)
            raise _Drop
        if message["type"] != "http.response.body":
            await self._send(message)
            return
        body: bytes = message.get("body", b"")
        if not body:
            await self._send(message)
            return
        fault = self._fault
        if fault.drop_mid_stream is not None and self._chunks >= fault.drop_mid_stream:
            raise _Drop
        if fault.slow_stream:
            await asyncio.sleep(fault.slow_stream)
        if fault.drop_after_bytes is not None and self._bytes + len(body) >= fault.drop_after_bytes:
            keep = fault.drop_after_bytes - self._bytes
            if keep > 0:
                await self._send({"type": "http.response.body", "body": body[:keep], "more_body": True})
            raise _Drop
        self._bytes += len(body)
        self._chunks += 1
        await self._send(message)

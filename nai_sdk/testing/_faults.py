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
===================  =====================================================================================

A malformed header is answered with 400, so a typo never silently disables a test's fault.
"""

from __future__ import annotations

import asyncio
import contextvars
import fnmatch
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FAULT_HEADER", "Fault", "FaultInjector", "FaultMiddleware", "install_log_filter", "parse_fault"]

FAULT_HEADER = "x-fake-fault"

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
    """

    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    latency: float = 0.0
    drop_after_bytes: int | None = None
    drop_mid_stream: int | None = None
    slow_stream: float = 0.0


_HEADER_KEYS = {
    "status": ("status", int),
    "retry-after": ("retry_after", float),
    "message": ("message", str),
    "latency": ("latency", float),
    "drop-after-bytes": ("drop_after_bytes", int),
    "drop-mid-stream": ("drop_mid_stream", int),
    "slow-stream": ("slow_stream", float),
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


class _Drop(Exception):
    """Raised inside ``send`` to stop the route once the fault has cut the response."""


def _error_body(status: int, message: str) -> bytes:
    return json.dumps({"statusCode": status, "message": message}).encode()


class FaultMiddleware:
    """ASGI middleware applying a server-wide latency and the faults of :class:`FaultInjector` or the header."""

    def __init__(self, app: ASGIApp, injector: FaultInjector, latency: float = 0.0) -> None:
        self.app = app
        self.injector = injector
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
        if fault.status is not None:
            headers = {} if fault.retry_after is None else {"retry-after": _seconds(fault.retry_after)}
            message = fault.message or f"fault injected by FakeNovelAI: status {fault.status}"
            await _send_json(send, fault.status, _error_body(fault.status, message), headers)
            return
        if fault.drop_after_bytes is None and fault.drop_mid_stream is None and not fault.slow_stream:
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


class _FaultySend:
    """Wraps ``send`` to slow down or cut the body of one response."""

    def __init__(self, send: Send, fault: Fault) -> None:
        self._send = send
        self._fault = fault
        self._bytes = 0
        self._chunks = 0

    async def __call__(self, message: Message) -> None:
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

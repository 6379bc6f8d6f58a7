"""Small loopback servers for transport tests: a scripted HTTP/1.1 server and a forwarding HTTP proxy.

Each runs its own event loop in a daemon thread, so that the synchronous client can use it too, and records what it
saw for the test to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

#: A handler gets the request head (request line and headers, without the blank line) and the writer; it writes a
#: whole response (or does something unusual, like hanging up).
Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """One request's head and body (Content-Length bodies only), or None when the client hung up."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head[:-4], body


class _Threaded:
    """An asyncio server on 127.0.0.1 in a thread of its own; a context manager."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()

        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._serve, "127.0.0.1", 0)

        self._server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        server = self._server

        async def stop() -> None:
            if server is not None:
                server.close()
            # Open keep-alive connections would keep their handlers (and the loop) busy: end them, and let their
            # `finally` blocks close the writers before the loop goes.
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class ScriptedServer(_Threaded):
    """Answers each request with `handler`, keeping connections alive; counts connections open at once."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.heads: list[bytes] = []
        self.connections = 0
        self.open_connections = 0
        self.max_open_connections = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self.max_open_connections = max(self.max_open_connections, self.open_connections)
        try:
            while (request := await _read_request(reader)) is not None:
                self.heads.append(request[0])
                await self.handler(request[0], writer)
                if writer.is_closing():
                    break
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()


class ForwardingProxy(_Threaded):
    """A plain HTTP proxy (absolute-form requests, no CONNECT): one request per connection, forwarded as is.

    Attributes:
        heads: the head of every request it received, as the client sent it (with any Proxy-Authorization).
    """

    def __init__(self) -> None:
        super().__init__()
        self.heads: list[bytes] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            head, body = request
            self.heads.append(head)
            request_line, *header_lines = head.split(b"\r\n")
            method, target, version = request_line.split(b" ")
            authority, _, path = target.removeprefix(b"http://").partition(b"/")
            host, _, port = authority.partition(b":")
            upstream_reader, upstream_writer = await asyncio.open_connection(host.decode(), int(port or b"80"))
            kept = [
                line
                for line in header_lines
                if line.split(b":")[0].strip().lower()
                not in (b"proxy-authorization", b"connection", b"proxy-connection")
            ]
            try:
                upstream_writer.write(
                    b"\r\n".join([b"%s /%s %s" % (method, path, version), *kept, b"Connection: close", b"", b""]) + body
                )
                await upstream_writer.drain()
                # The answer goes back as it comes (streams included); the client sees the connection close after.
                while chunk := await upstream_reader.read(65536):
                    writer.write(chunk)
                    await writer.drain()
            finally:
                upstream_writer.close()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

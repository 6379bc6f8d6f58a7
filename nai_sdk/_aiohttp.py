"""`AiohttpTransport`: an httpx transport over aiohttp's connection pool, the default of `AsyncNovelAI`.

httpx's async pool costs about 5x more per request than aiohttp's (bench/results.md), and the transport is the
lever the generated client accepts (`httpx.AsyncClient(transport=...)`). This module keeps httpx's API on top
(`httpx.Request` in, `httpx.Response` out, httpx's exception classes) and aiohttp underneath.

Why our own and not the httpx-aiohttp package, which does the same: with a server that is not the limit
(`bench/bench_http.py --server raw`, 10 requests in flight, medians of 7 alternating rounds), AsyncNovelAI reached
6664 and 5210 req/s on this transport against 5677 and 3744 on httpx-aiohttp's (two runs), mostly thanks to
`fetch` below; and it maps failures onto the httpx exception that says what happened (httpx-aiohttp turns a server
that hung up after reading a request into `ConnectTimeout`, which would tell a retry policy that the request never
left) and sends proxy credentials on plain-HTTP requests without aiohttp's deprecated `BasicAuth`.

Semantics, which are those of `httpx.AsyncHTTPTransport`:

* Timeouts: the request's `timeout` extension. `connect` bounds making a connection, `pool` waiting for a free
  one (aiohttp counts both in its `connect`, so it gets their sum), `read` each wait for data. aiohttp has no
  write timeout: a body is written into the socket buffer, and the read timeout covers a server that stalls.
* Bodies are not decompressed by aiohttp (httpx's `Response` decodes them), cookies are not kept (a transport
  never does), redirects are not followed.
* Streaming: the response body is handed on chunk by chunk as it arrives (`iter_any`), never buffered.
* A proxy (`proxy=`) is used for every request, as with httpx's transports.

`fetch` is a shortcut for `AsyncHTTP.send`, which always reads the whole body: aiohttp reads and decodes it and
the `httpx.Response` is built around the bytes, which saves httpx's streaming and decoding machinery.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx

from nai_sdk.errors import ConfigurationError

__all__ = ["AiohttpTransport", "map_error"]

_HTTP11 = b"HTTP/1.1"


def map_error(exc: BaseException) -> httpx.TransportError:
    """The httpx exception for an aiohttp one (raise it `from exc`, so that the original stays visible).

    The distinction that matters to a retry policy is kept: `ConnectError`, `ConnectTimeout` and `ProxyError`
    (raised before a request could be written) against everything else, which may have reached the server.
    """
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return httpx.ProxyError(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    if isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionError):
        return httpx.ReadError(message)
    return httpx.TransportError(message)


class _Body(httpx.AsyncByteStream):
    """The body of an aiohttp response as an httpx stream: each chunk as it arrives."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise map_error(exc) from exc

    async def aclose(self) -> None:
        # Back to the pool when the body was read to its end; closed otherwise (a stream left early).
        self._response.release()


def _extensions(response: aiohttp.ClientResponse) -> dict[str, Any]:
    if response.reason:
        return {"http_version": _HTTP11, "reason_phrase": response.reason.encode("latin-1", "replace")}
    return {"http_version": _HTTP11}


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx async transport that sends over one `aiohttp.ClientSession`.

    Args:
        limits: `max_connections` caps open connections (None for no cap) and `keepalive_expiry` closes idle
            ones; aiohttp has no separate cap on idle connections, so `max_keepalive_connections` is not used.
        proxy: a proxy for every request (`http://user:password@host:port`), or None.
        verify: True (certifi's CAs, as httpx), False (no certificate checks), or an `ssl.SSLContext`.

    The session is made on first use, inside the running event loop. A transport used again after its loop stopped
    (a bot calling `asyncio.run` once per command) starts a new session: aiohttp's connections belong to the loop
    that made them, and those of the stopped loop are dropped (Python closes their sockets when it collects them,
    with a ResourceWarning). Using one transport from two running loops at once raises `ConfigurationError`.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits | None = None,
        proxy: str | httpx.Proxy | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._limits = limits or httpx.Limits()
        self._verify = verify
        self._proxy: str | None = None
        self._proxy_headers: dict[str, str] | None = None
        if proxy is not None:
            proxy = proxy if isinstance(proxy, httpx.Proxy) else httpx.Proxy(proxy)
            self._proxy = str(proxy.url)
            headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in proxy.headers.raw}
            if proxy.raw_auth is not None:
                # What httpx's transports send: Basic with the UTF-8 user and password.
                headers["Proxy-Authorization"] = "Basic " + base64.b64encode(b":".join(proxy.raw_auth)).decode()
            self._proxy_headers = headers or None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def __repr__(self) -> str:
        # The proxy URL may carry a password: show only that there is one.
        return f"AiohttpTransport(proxy={'set' if self._proxy else None}, limits={self._limits!r})"

    def _open(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed:
            if self._loop is loop:
                return session
            self._drop(session)
        if self._verify is True:
            # httpx's context: certifi's CAs, TLS 1.2 or later, as the sync client and httpx's own pool use.
            ssl_option: ssl.SSLContext | bool = httpx.create_ssl_context()
        else:
            ssl_option = self._verify
        max_connections = self._limits.max_connections
        connector = aiohttp.TCPConnector(
            limit=max_connections if max_connections is not None else 0,
            keepalive_timeout=self._limits.keepalive_expiry,
            ssl=ssl_option,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )
        self._loop = loop
        return self._session

    def _drop(self, session: aiohttp.ClientSession) -> None:
        """Lets go of a session whose event loop has stopped (nothing can be awaited on it from here)."""
        assert self._loop is not None
        if self._loop.is_running():
            raise ConfigurationError(
                "this client's connections belong to another event loop that is still running: "
                "make one client per event loop"
            )
        # Nothing can be awaited on another loop, so the connections are not closed here: their sockets close
        # when Python collects them. Detaching spares the session's own "unclosed" warning.
        session.detach()

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        spec = request.extensions.get("timeout") or {}
        key = (spec.get("connect"), spec.get("read"), spec.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            # aiohttp's `connect` spans waiting for a free connection and making one.
            acquire = None if connect is None or pool is None else connect + pool
            timeout = aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    async def _send(self, request: httpx.Request, decompress: bool) -> aiohttp.ClientResponse:
        session = self._open()
        try:
            data: bytes | None = request.content or None
        except httpx.RequestNotRead:
            # A streamed body (multipart): read it, so that aiohttp knows its length and can send it again.
            data = await request.aread() or None
        headers = [(key.decode("latin-1"), value.decode("latin-1")) for key, value in request.headers.raw]
        if self._proxy_headers is not None and request.url.scheme == "http":
            # A plain-HTTP request goes to the proxy as is, so the proxy's headers travel with it; aiohttp sends
            # `proxy_headers` only on the CONNECT of an HTTPS tunnel.
            headers.extend(self._proxy_headers.items())
        try:
            return await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=data,
                allow_redirects=False,
                auto_decompress=decompress,
                timeout=self._timeout(request),
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
            )
        except aiohttp.ClientError as exc:
            raise map_error(exc) from exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Sends `request` and returns the response with its body still to be read (streamed)."""
        response = await self._send(request, decompress=False)
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response),
            request=request,
            extensions=_extensions(response),
        )

    async def fetch(self, request: httpx.Request) -> httpx.Response:
        """Sends `request` and returns the response with its whole body read (and decompressed).

        The same as `handle_async_request` followed by `aread()`, for less work per request.
        """
        response = await self._send(request, decompress=True)
        try:
            body = await response.read()
        except aiohttp.ClientError as exc:
            raise map_error(exc) from exc
        finally:
            response.release()
        result = httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions=_extensions(response),
        )
        # What `Response.read()` stores; set directly because the bytes are already decoded (the headers still
        # name the content encoding, as with any httpx response that was read).
        result._content = body
        result.is_stream_consumed = True
        result.is_closed = True
        return result

    async def aclose(self) -> None:
        session = self._session
        self._session = None
        if session is not None and not session.closed:
            # RuntimeError: its event loop is gone (the transport outlived an `asyncio.run`); nothing left to close.
            with contextlib.suppress(RuntimeError):
                await session.close()

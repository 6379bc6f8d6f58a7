"""Sending requests: transports, the retry policy and the mapping of failures onto `nai_sdk.errors`.

Every request is described by the generated code (`nai_client.api.<tag>.<operation>._get_kwargs`), sent as an
`httpx.Request` through the transport shared by the three hosts, and a successful answer is parsed by the
generated `_parse_response`. The generated `sync_detailed`/`asyncio_detailed` are not called directly: they would
hand error bodies to the generated parsers (which fail on a non-JSON 502 page from a proxy), offer no place for
retries or streaming, and go through httpx's client layer, which costs more than the transport itself (`_Hosts`).

The decisions (retry or not, how long to wait, which error) are pure functions; `SyncHTTP` and `AsyncHTTP` are two
thin I/O loops over them, written side by side so that they cannot drift.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

import attrs
import httpx
from nai_client.errors import UnexpectedStatus

from nai_sdk import _constants as c
from nai_sdk._config import HOSTS, Backoff, ClientOptions, Host, HttpBackend
from nai_sdk._json import loads_answer
from nai_sdk._request import current, record
from nai_sdk.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    FormatError,
    StreamError,
    UnexpectedAnswerError,
    status_error_class,
)

if TYPE_CHECKING:
    from nai_client import Client
    from nai_client.types import Operation

__all__ = [
    "AsyncClientTransport",
    "AsyncHTTP",
    "Call",
    "ClientTransport",
    "Kind",
    "SyncHTTP",
    "connection_error",
    "make_async_transport",
    "make_sync_transport",
    "never_reached_server",
    "retry_delay",
    "status_error",
    "stream_error",
]

logger = logging.getLogger("nai_sdk")


#: JSON bodies exactly as httpx encodes them (built once: `json.dumps` with options makes an encoder per call).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
#: Methods whose requests without a body carry no Content-Length (as generated: lower case).
_PLAIN_METHODS = frozenset({"get", "delete", "head", "options"})
#: The body of a request without one (a ByteStream holds no state: one serves every request).
_EMPTY = httpx.ByteStream(b"")
#: Methods for which httpx sends `Content-Length: 0` when there is no body.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Kind(enum.Enum):
    """How safe a request is to send twice; decides which failures are retried.

    * `IDEMPOTENT` (GET, PUT, DELETE, login): any connection error, 408, 429 and 5xx.
    * `UNSAFE` (other writes): only failures that prove the server did not act: a connection that was never made,
      408 (the server gave up waiting for the request) and 429 (refused).
    * `GENERATION` (anything that spends Anlas or quota): only a connection that was never made and 429.
    """

    IDEMPOTENT = "idempotent"
    UNSAFE = "unsafe"
    GENERATION = "generation"


#: What a call returns: the generated parser's model (its `Operation`'s 2xx type), the raw bytes of the answer, or
#: those bytes in a `bytearray` read chunk by chunk into place ("buffer": a large body is held once, where httpx's own
#: read holds its chunks and their join at the same time).
Result: TypeAlias = Literal["parsed", "content", "buffer"]


@attrs.frozen
class Call:
    """One request, described without doing any I/O.

    Attributes:
        op: the generated operation (`nai_client.api.<tag>.<operation>.operation`).
        kwargs: the keyword arguments of its `get_kwargs`.
        args: its positional arguments (path parameters).
        follow_moves: resend to the host that serves the route when the answer proves it moved (see
            `nai_sdk._routing`); off for probes that want each host's own answer.
        host: which service receives it; None (most calls) routes it by the spec (`Operation.hosts`), the
            client's `routes` option and the moves it has seen (see `nai_sdk._routing`).
        kind: its retry class.
        auth: send the bearer token.
        result: what the caller gets back.
    """

    op: Operation[..., Any]
    # Bodies can hold access keys and passwords' derivatives: never in a repr.
    kwargs: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    host: Host | None = None
    kind: Kind = Kind.IDEMPOTENT
    auth: bool = True
    result: Result = "parsed"
    args: tuple[Any, ...] = ()
    follow_moves: bool = True


# --- pure decisions -------------------------------------------------------------------------------------------


def _origin(exc: BaseException) -> BaseException:
    """The aiohttp exception behind an httpx one raised by httpx-aiohttp, else the exception itself."""
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("aiohttp"):
        return cause
    return exc


def never_reached_server(exc: BaseException) -> bool:
    """True when the request provably never left the client: no connection was ever made for it.

    httpx-aiohttp maps every `aiohttp.ClientConnectionError`, including a server that hung up after reading the
    request, onto `httpx.ConnectTimeout`, so its original exception decides.
    """
    origin = _origin(exc)
    if type(origin).__module__.startswith("aiohttp"):
        import aiohttp

        return isinstance(origin, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    return isinstance(origin, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _is_timeout(exc: BaseException) -> bool:
    origin = _origin(exc)
    if type(origin).__module__.startswith("aiohttp"):
        return isinstance(origin, TimeoutError)
    return isinstance(origin, httpx.TimeoutException)


def _describe(method: str, url: str) -> str:
    return f"{method.upper()} {url}"


def connection_error(exc: BaseException, method: str, url: str) -> APIConnectionError:
    """The error for a request that got no answer (raise it `from exc`)."""
    origin = _origin(exc)
    detail = f"{type(origin).__name__}: {origin}" if str(origin) else type(origin).__name__
    if _is_timeout(exc):
        return APITimeoutError(f"{_describe(method, url)} timed out ({detail})")
    return APIConnectionError(f"{_describe(method, url)} failed: {detail}")


def stream_error(exc: BaseException) -> APIError:
    """The error for a stream whose connection failed after it started (raise it `from exc`)."""
    if _is_timeout(exc):
        return APITimeoutError("the stream stalled: no data before the read timeout")
    origin = _origin(exc)
    return StreamError(f"the stream was cut before its final event ({type(origin).__name__})")


def _message_of(body: Any) -> str | None:
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
        # NestJS validation errors carry a list of messages.
        if isinstance(message, list) and message and all(isinstance(m, str) for m in message):
            return "; ".join(message)
    return None


def status_error(response: httpx.Response) -> APIStatusError:
    """The typed error for a non-2xx response whose body has been read."""
    content = response.content
    body: Any = None
    if content:
        try:
            body = loads_answer(content, "the error body")
        except FormatError:
            # Not JSON (a proxy's HTML page), or hostile JSON: the status still decides the error, and the message
            # falls back to the reason phrase.
            body = content.decode("utf-8", "replace")
    message = _message_of(body)
    if message is None:
        try:
            message = response.reason_phrase or HTTPStatus(response.status_code).phrase
        except ValueError:
            message = "unknown status"
    cls = status_error_class(response.status_code)
    return cls(message, status_code=response.status_code, body=body, headers=dict(response.headers))


def _retry_after(headers: httpx.Headers) -> float | None:
    """The server's wait hint in seconds: `retry-after-ms`, then `Retry-After` as seconds or an HTTP date."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _backoff(attempt: int, backoff: Backoff) -> float:
    delay = min(backoff.initial * (2.0**attempt), backoff.maximum)
    # Full jitter would let many clients retry at once after a shared outage; removing up to a quarter keeps the
    # waits spread while still growing.
    return delay * (1.0 - 0.25 * random.random())


def retry_delay(
    kind: Kind,
    attempt: int,
    options: ClientOptions,
    *,
    response: httpx.Response | None = None,
    exc: BaseException | None = None,
) -> float | None:
    """How long to wait before retrying, or None to give up.

    Args:
        kind: the retry class of the request.
        attempt: retries already made (0 after the first attempt failed).
        options: supplies `max_retries` and `backoff`.
        response: the failed response, if one came back.
        exc: the transport error, if none did.
    """
    if attempt >= options.max_retries:
        return None
    if exc is not None:
        if kind is Kind.IDEMPOTENT or never_reached_server(exc):
            return _backoff(attempt, options.backoff)
        return None
    if response is None:
        return None
    status = response.status_code
    if status == 429:
        pass
    elif status == 408:
        if kind is Kind.GENERATION:
            return None
    elif status >= 500:
        if kind is not Kind.IDEMPOTENT:
            return None
    else:
        return None
    hint = _retry_after(response.headers)
    if hint is not None:
        return min(hint, options.backoff.retry_after_cap)
    return _backoff(attempt, options.backoff)


class _StrictAnswer:
    """A response as the generated parsers read it, its `json()` parsed by `loads_answer`.

    The generated `_parse_response` reads `status_code`, `content`, `headers` and `json()`. httpx's own `json()` is
    `json.loads`, which accepts NaN and Infinity and lets deeply nested JSON out as a raw RecursionError.
    """

    __slots__ = ("_response", "status_code")

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status_code = response.status_code

    def json(self) -> Any:
        return loads_answer(self._response.content)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)


#: Where `_exchange` leaves the body it read into a `bytearray` (`Result` "buffer").
_BODY = "nai_sdk.body"


def _buffer_size(response: httpx.Response) -> int | None:
    """The size the body will have, if the answer says (and nothing decodes it on the way), else None."""
    if response.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
        return None
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() and len(length) < 16 else None


class _Buffer:
    """A body read chunk by chunk into one `bytearray`, sized once from `Content-Length` when the answer gives it."""

    __slots__ = ("data", "filled")

    def __init__(self, size: int | None) -> None:
        self.data = bytearray(size) if size is not None else bytearray()
        self.filled = 0

    def add(self, chunk: bytes) -> None:
        end = self.filled + len(chunk)
        if end <= len(self.data) and self.filled < len(self.data):
            self.data[self.filled : end] = chunk
        else:
            del self.data[self.filled :]
            self.data += chunk
        self.filled = end

    def done(self) -> bytearray:
        del self.data[self.filled :]
        return self.data


def _parse(call: Call, response: httpx.Response) -> Any:
    if call.result == "buffer":
        return response.extensions[_BODY]
    if call.result == "content":
        return response.content
    try:
        # _StrictAnswer: the generated parser's json() must refuse NaN and over-deep nesting too.
        return call.op.parse(cast(httpx.Response, _StrictAnswer(response)))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, UnexpectedStatus) as exc:
        # A 2xx whose body does not match the spec: say so instead of leaking a parser's KeyError.
        request = response.request
        raise UnexpectedAnswerError(
            f"unexpected answer to {_describe(request.method, request.url.path)}: {type(exc).__name__}"
        ) from exc


def _log_retry(request: httpx.Request, delay: float, attempt: int, reason: str) -> None:
    logger.info(
        "retrying %s in %.2fs (retry %d) after %s", _describe(request.method, request.url.path), delay, attempt, reason
    )


# --- transports -----------------------------------------------------------------------------------------------


def _limits() -> httpx.Limits:
    return httpx.Limits(max_connections=c.DEFAULT_MAX_CONNECTIONS, max_keepalive_connections=c.DEFAULT_MAX_KEEPALIVE)


def make_sync_transport(proxy: str | httpx.Proxy | None = None) -> httpx.BaseTransport:
    """The pooled transport shared by the three hosts of a `NovelAI`, through `proxy` if given."""
    return httpx.HTTPTransport(limits=_limits(), proxy=proxy)


def make_async_transport(backend: HttpBackend, proxy: str | httpx.Proxy | None = None) -> httpx.AsyncBaseTransport:
    """The pooled transport shared by the three hosts of an `AsyncNovelAI`.

    Args:
        backend: `"aiohttp"` (`nai_sdk._aiohttp.AiohttpTransport`: the httpx API over aiohttp's connection pool,
            about 3x the request rate of httpx's own pool with 10 in flight) or `"httpx"` (httpx's own pool).
        proxy: an HTTP proxy for every request, or None.
    """
    if backend == "aiohttp":
        from nai_sdk._aiohttp import AiohttpTransport

        return AiohttpTransport(limits=_limits(), proxy=proxy)
    return httpx.AsyncHTTPTransport(limits=_limits(), proxy=proxy)


def _merge_headers(headers: dict[str, str], extra: Mapping[str, str]) -> None:
    """Sets `extra` in `headers`, replacing a field of the same name written in another case (never sent twice)."""
    for name, value in extra.items():
        lowered = name.lower()
        for existing in [key for key in headers if key.lower() == lowered]:
            del headers[existing]
        headers[name] = value


class ClientTransport(httpx.BaseTransport):
    """Sends through an `httpx.Client`: one the user passed in (`NovelAI(http_client=...)`), or one made to honour
    the environment (`trust_env=True`).

    Requests are handed to `Client.send`, so the client's transport, mounts and proxies, certificates, event hooks,
    auth and cookies apply; its `base_url`, default headers and timeout do not (the SDK's options build every
    request). A client passed in belongs to its caller: closing this transport leaves it open.
    """

    def __init__(self, client: httpx.Client, *, owned: bool) -> None:
        self.client = client
        self._owned = owned

    def __repr__(self) -> str:
        return f"ClientTransport(owned={self._owned})"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.client.send(request, stream=True)

    def close(self) -> None:
        if self._owned:
            self.client.close()


class AsyncClientTransport(httpx.AsyncBaseTransport):
    """The asynchronous twin of `ClientTransport`, over an `httpx.AsyncClient`."""

    def __init__(self, client: httpx.AsyncClient, *, owned: bool) -> None:
        self.client = client
        self._owned = owned

    def __repr__(self) -> str:
        return f"AsyncClientTransport(owned={self._owned})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.client.send(request, stream=True)

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()


def environment_client() -> httpx.Client:
    """An `httpx.Client` that reads the proxy, certificate and `.netrc` environment (`trust_env=True`)."""
    return httpx.Client(trust_env=True, limits=_limits(), timeout=None)


def async_environment_client() -> httpx.AsyncClient:
    """The `httpx.AsyncClient` of `environment_client`."""
    return httpx.AsyncClient(trust_env=True, limits=_limits(), timeout=None)


def _client_headers(options: ClientOptions) -> dict[str, str]:
    headers = {"User-Agent": c.USER_AGENT, "Accept": "application/json"}
    _merge_headers(headers, options.headers)
    for name, value in headers.items():
        if not (name.isascii() and value.isascii()):
            # Caught here, once, rather than as a UnicodeEncodeError from the first request.
            raise ConfigurationError(f"header {name!r} must be ASCII (HTTP headers are), name and value")
    return headers


class _Hosts:
    """Prebuilt request parts per host: built once per client (and per `with_options`), never per request.

    Requests are built here and handed straight to the shared transport, so httpx's client layer (merging the
    base URL, default headers and cookies into every request, parsing the URL several times) is skipped: measured,
    it halves the request rate of an AsyncNovelAI over aiohttp. Everything else is httpx's own API (`Request`,
    `Response`, the transport), and the generated `Client` of each host is what the generated parsers receive.
    """

    def __init__(self, options: ClientOptions) -> None:
        from nai_client import Client

        self.options = options
        self.headers = _client_headers(options)
        self.extensions: dict[str, Any] = {"timeout": options.timeout.as_dict()}
        self.bases: dict[Host, str] = {host: options.url(host) for host in HOSTS}
        self.clients: dict[Host, Client] = {
            host: Client(base_url=self.bases[host], timeout=options.timeout) for host in HOSTS
        }
        self._urls: dict[str, httpx.URL] = {}
        self._plain: dict[tuple[Host, str | None], httpx.Headers] = {}
        self._netlocs: dict[Host, tuple[bytes, bytes]] = {
            host: (b"Host", httpx.URL(self.bases[host]).netloc) for host in HOSTS
        }

    def build(self, call: Call, auth: str | None, host: Host) -> httpx.Request:
        """The `httpx.Request` of `call`, with the headers and body httpx would give it.

        A JSON body (nearly every request) is encoded here as httpx encodes it and handed to `httpx.Request` with
        its headers complete, which skips httpx's general-purpose preparation (a third of the cost of a request
        on the aiohttp transport). Multipart and raw bodies go through httpx's own encoding.
        """
        kwargs = call.op.get_kwargs(*call.args, **call.kwargs)
        extra = kwargs.get("headers")
        per_call = current()
        if per_call is None and not extra and len(kwargs) == 2 and kwargs["method"] in _PLAIN_METHODS:
            # No body, query or headers of its own (most GETs and DELETEs): prebuilt headers, copied by httpx
            # without being parsed again.
            request = httpx.Request(
                kwargs["method"].upper(),
                self._url(host, kwargs["url"]),
                headers=self._plain_headers(host, auth),
                stream=_EMPTY,
                extensions=self.extensions,
            )
            request.read()
            return request
        headers = self.headers.copy()
        if extra:
            headers.update(extra)
        if auth is not None:
            headers["Authorization"] = auth
        url = self._url(host, kwargs["url"])
        params = kwargs.get("params")
        if params:
            url = url.copy_merge_params(params)
        extensions = self.extensions
        if per_call is not None:
            _merge_headers(headers, per_call.headers)
            if per_call.query:
                url = url.copy_merge_params(per_call.query)
            if per_call.body and isinstance(kwargs.get("json"), dict):
                kwargs["json"] = {**kwargs["json"], **per_call.body}
            if per_call.timeout is not None:
                extensions = {"timeout": per_call.timeout}
        if "content" in kwargs or "data" in kwargs or "files" in kwargs:
            return httpx.Request(
                kwargs["method"],
                url,
                json=kwargs.get("json"),
                content=kwargs.get("content"),
                data=kwargs.get("data"),
                files=kwargs.get("files"),
                headers=headers,
                extensions=extensions,
            )
        method = kwargs["method"].upper()
        body = b""
        if "json" in kwargs:
            body = _JSON.encode(kwargs["json"]).encode()
            headers["Content-Length"] = str(len(body))
            headers.setdefault("Content-Type", "application/json")
        elif method in _BODY_METHODS:
            headers["Content-Length"] = "0"
        raw = self._raw_headers(host, headers)
        request = httpx.Request(method, url, headers=raw, stream=httpx.ByteStream(body), extensions=extensions)
        request.read()
        return request

    def _plain_headers(self, host: Host, auth: str | None) -> httpx.Headers:
        key = (host, auth)
        headers = self._plain.get(key)
        if headers is None:
            fields = dict(self.headers)
            if auth is not None:
                fields["Authorization"] = auth
            headers = httpx.Headers(self._raw_headers(host, fields))
            # Tokens change rarely (a login, a refresh); a bounded cache still never grows without limit.
            if len(self._plain) >= 16:
                self._plain.clear()
            self._plain[key] = headers
        return headers

    def _raw_headers(self, host: Host, fields: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
        """Host first, as httpx puts it; names and values in ASCII, as httpx requires of str headers."""
        return [self._netlocs[host], *[(k.encode("ascii"), v.encode("ascii")) for k, v in fields.items()]]

    def _url(self, host: Host, path: str) -> httpx.URL:
        target = self.bases[host] + path
        url = self._urls.get(target)
        if url is None:
            url = httpx.URL(target)
            # Paths with object ids are many; keep the cache of parsed URLs small.
            if len(self._urls) < 512:
                self._urls[target] = url
        return url


def _log_response(request: httpx.Request, status: int) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s %s -> %d", request.method, request.url.path, status)


# --- I/O loops ------------------------------------------------------------------------------------------------


class SyncHTTP:
    """Sends `Call`s for a `NovelAI` over one transport shared by the three hosts."""

    def __init__(self, options: ClientOptions, transport: httpx.BaseTransport) -> None:
        self.options = options
        self.transport = transport
        self.hosts = _Hosts(options)

    def _exchange(self, request: httpx.Request, read: bool, buffer: bool = False) -> httpx.Response:
        """One attempt: the response, its body read and the connection released when `read` (a 2xx body into a
        `bytearray` in `extensions`, with `buffer`)."""
        response = self.transport.handle_request(request)
        response.request = request
        if read:
            try:
                if buffer and 200 <= response.status_code < 300:
                    body = _Buffer(_buffer_size(response))
                    for chunk in response.iter_bytes():
                        body.add(chunk)
                    response.extensions[_BODY] = body.done()
                else:
                    response.read()
            finally:
                response.close()
        return response

    def _attempts(self, call: Call, auth: str | None, host: Host, read: bool) -> httpx.Response:
        """Sends until a 2xx (returned) or a final failure (raised); the retry loop of `send`/`open_stream`.

        A body cut short counts as a failed attempt: retried when the request is safe to repeat.
        """
        request = self.hosts.build(call, auth, host)
        attempt = 0
        while True:
            try:
                response = self._exchange(request, read, call.result == "buffer")
            except httpx.TransportError as exc:
                delay = retry_delay(call.kind, attempt, self.options, exc=exc)
                if delay is None:
                    raise connection_error(exc, request.method, request.url.path) from exc
                _log_retry(request, delay, attempt + 1, type(exc).__name__)
            else:
                _log_response(request, response.status_code)
                if 200 <= response.status_code < 300:
                    record(response)
                    return response
                try:
                    response.read()
                except httpx.TransportError as exc:
                    raise connection_error(exc, request.method, request.url.path) from exc
                finally:
                    response.close()
                delay = retry_delay(call.kind, attempt, self.options, response=response)
                if delay is None:
                    raise status_error(response)
                _log_retry(request, delay, attempt + 1, f"status {response.status_code}")
            time.sleep(delay)
            attempt += 1
            if request.stream is not None and not isinstance(request.stream, httpx.ByteStream):
                request = self.hosts.build(call, auth, host)

    def send(self, call: Call, auth: str | None, host: Host) -> Any:
        """Sends `call` with retries and returns its result.

        Raises:
            APIStatusError: a non-2xx answer (the subclass of its status).
            APIConnectionError: no answer, or the answer was cut.
        """
        response = self._attempts(call, auth, host, read=True)
        return _parse(call, response)

    def open_stream(self, call: Call, auth: str | None, host: Host) -> httpx.Response:
        """Sends `call` with retries and returns the open 2xx response; the caller reads and closes it."""
        return self._attempts(call, auth, host, read=False)

    @property
    def raw_errors(self) -> tuple[type[BaseException], ...]:
        """The exception types of this transport that mean "the connection failed"."""
        return (httpx.TransportError,)

    def close(self) -> None:
        """Closes the shared transport."""
        self.transport.close()


class AsyncHTTP:
    """Sends `Call`s for an `AsyncNovelAI`; the asynchronous twin of `SyncHTTP`, line for line."""

    def __init__(self, options: ClientOptions, transport: httpx.AsyncBaseTransport) -> None:
        self.options = options
        self.transport = transport
        self.hosts = _Hosts(options)
        # `AiohttpTransport.fetch`, when the transport is ours (checked by module, so that httpx alone never
        # imports aiohttp).
        self._fetch: Callable[[httpx.Request], Awaitable[httpx.Response]] | None = (
            getattr(transport, "fetch", None) if type(transport).__module__ == "nai_sdk._aiohttp" else None
        )

    async def _exchange(self, request: httpx.Request, read: bool, buffer: bool = False) -> httpx.Response:
        """One attempt (see `SyncHTTP._exchange`); `AiohttpTransport.fetch` when the body is read whole anyway."""
        if read and not buffer and self._fetch is not None:
            return await self._fetch(request)
        response = await self.transport.handle_async_request(request)
        response.request = request
        if read:
            try:
                if buffer and 200 <= response.status_code < 300:
                    body = _Buffer(_buffer_size(response))
                    async for chunk in response.aiter_bytes():
                        body.add(chunk)
                    response.extensions[_BODY] = body.done()
                else:
                    await response.aread()
            finally:
                await response.aclose()
        return response

    async def _attempts(self, call: Call, auth: str | None, host: Host, read: bool) -> httpx.Response:
        """Sends until a 2xx (returned) or a final failure (raised) (see `SyncHTTP._attempts`)."""
        request = self.hosts.build(call, auth, host)
        attempt = 0
        while True:
            try:
                response = await self._exchange(request, read, call.result == "buffer")
            except httpx.TransportError as exc:
                delay = retry_delay(call.kind, attempt, self.options, exc=exc)
                if delay is None:
                    raise connection_error(exc, request.method, request.url.path) from exc
                _log_retry(request, delay, attempt + 1, type(exc).__name__)
            else:
                _log_response(request, response.status_code)
                if 200 <= response.status_code < 300:
                    record(response)
                    return response
                try:
                    await response.aread()
                except httpx.TransportError as exc:
                    raise connection_error(exc, request.method, request.url.path) from exc
                finally:
                    await response.aclose()
                delay = retry_delay(call.kind, attempt, self.options, response=response)
                if delay is None:
                    raise status_error(response)
                _log_retry(request, delay, attempt + 1, f"status {response.status_code}")
            await asyncio.sleep(delay)
            attempt += 1
            if request.stream is not None and not isinstance(request.stream, httpx.ByteStream):
                request = self.hosts.build(call, auth, host)

    async def send(self, call: Call, auth: str | None, host: Host) -> Any:
        """Sends `call` with retries and returns its result (see `SyncHTTP.send`)."""
        response = await self._attempts(call, auth, host, read=True)
        return _parse(call, response)

    async def open_stream(self, call: Call, auth: str | None, host: Host) -> httpx.Response:
        """Sends `call` with retries and returns the open 2xx response (see `SyncHTTP.open_stream`)."""
        return await self._attempts(call, auth, host, read=False)

    @property
    def raw_errors(self) -> tuple[type[BaseException], ...]:
        """The exception types of this transport that mean "the connection failed"."""
        return (httpx.TransportError,)

    async def aclose(self) -> None:
        """Closes the shared transport."""
        await self.transport.aclose()

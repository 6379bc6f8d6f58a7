"""Per-call request options, and the raw responses behind a typed value.

Every resource method takes `**request: Unpack[RequestOptions]`: `timeout`, `extra_headers`, `extra_query` and
`extra_body` for the requests that one call sends. They are checked when the method is called (a `ConfigurationError`
before anything is sent), held in a context variable while the engine runs the method's flow, and applied by the one
function that builds every request (`nai_sdk._http._Hosts.build`), so they reach streams, retries and resends alike.
The engine's own requests (a login the call needed) do not get them: the client's `headers` option is for those.

`with_raw_response` (on both clients) collects what every request of one call answered (status, headers, request
id) the same way, through a second context variable.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, Generic, ParamSpec, TypedDict, TypeVar

import attrs
import httpx

from nai_sdk._config import TimeoutTypes
from nai_sdk.errors import ConfigurationError

__all__ = [
    "REQUEST_ID_HEADERS",
    "AsyncRawResponses",
    "PerCall",
    "RawResponse",
    "RawResponses",
    "RequestOptions",
    "ResponseInfo",
    "TransportOptions",
    "capturing",
    "enter",
    "leave",
    "per_call",
    "record",
    "split_request",
]

T = TypeVar("T")

#: Query values as httpx accepts them.
QueryValue = str | int | float | bool


class TransportOptions(TypedDict, total=False):
    """The per-call options that do not touch the body (see `RequestOptions`); the chat methods take these, since
    their own `extra_body` argument already adds fields to their body."""

    timeout: TimeoutTypes
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, QueryValue]


class RequestOptions(TransportOptions, total=False):
    """The per-call options every resource method accepts, as keyword arguments.

    Example:
        >>> nai.account.priority(timeout=5, extra_headers={"X-Trace": "42"})  # doctest: +SKIP

    Attributes:
        timeout: for the requests of this call: seconds for every phase, an `httpx.Timeout`, or None for none.
            It bounds each HTTP exchange, not the wait for a place in the generation queue (`queue_timeout`).
        extra_headers: headers added to (or replacing) the client's, on every request of this call.
        extra_query: query parameters added to every request of this call.
        extra_body: keys merged into the JSON object body of every request of this call that sends one (a
            parameter NovelAI accepts before the spec names it). Methods that send several writes (a story is a
            keystore write and two object writes) merge it into each of them; requests without a JSON object body
            are left alone.
    """

    extra_body: Mapping[str, Any]


_KNOWN = frozenset(RequestOptions.__optional_keys__)
#: An HTTP field name (RFC 9110's token).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@attrs.frozen
class PerCall:
    """`RequestOptions`, checked and ready to apply to a request.

    Attributes:
        timeout: the request extension httpx reads (`httpx.Timeout.as_dict()`), or None to keep the client's.
        headers: the extra headers.
        query: the extra query parameters.
        body: the keys merged into JSON object bodies.
    """

    timeout: dict[str, float | None] | None = None
    # Extra headers can carry credentials (a proxy's, a gateway's): never in a repr.
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    query: Mapping[str, QueryValue] = attrs.field(factory=dict)
    body: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


def _timeout(value: object) -> dict[str, float | None]:
    if isinstance(value, httpx.Timeout):
        phases = value.as_dict()
    elif value is None:
        phases = httpx.Timeout(None).as_dict()
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"timeout must be seconds, an httpx.Timeout or None, not {type(value).__name__}")
    else:
        phases = httpx.Timeout(float(value)).as_dict()
    for phase, seconds in phases.items():
        if seconds is not None and (not math.isfinite(seconds) or seconds <= 0):
            raise ConfigurationError(f"timeout ({phase}) must be a positive number of seconds or None, got {seconds!r}")
    return phases


def _headers(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"extra_headers must be a mapping of str to str, not {type(value).__name__}")
    headers: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise ConfigurationError("extra_headers must map str names to str values")
        if _TOKEN.fullmatch(name) is None:
            raise ConfigurationError(f"extra header name {name[:60]!r} is not an HTTP field name")
        if not text.isascii() or "\n" in text or "\r" in text or "\0" in text:
            # The name is quoted, never the value: a value may be a credential.
            raise ConfigurationError(f"extra header {name!r} must be ASCII on one line")
        headers[name] = text
    return headers


def _query(value: object) -> dict[str, QueryValue]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"extra_query must be a mapping, not {type(value).__name__}")
    query: dict[str, QueryValue] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not isinstance(item, str | int | float | bool):
            raise ConfigurationError(f"extra_query[{name!r}] must be a str, int, float or bool")
        query[name] = item
    return query


def _body(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(name, str) for name in value):
        raise ConfigurationError("extra_body must be a mapping with str keys (merged into a JSON object)")
    body = dict(value)
    try:
        # Refused now, not as a raw TypeError when the request is built.
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConfigurationError(f"extra_body is not JSON: {exc}") from None
    return body


def per_call(request: Mapping[str, Any]) -> PerCall | None:
    """Checks the per-call options a method was given; None when there are none.

    Raises:
        ConfigurationError: an unknown option (a typo reaches `**request` at run time) or a malformed value.
    """
    if not request:
        return None
    unknown = sorted(set(request) - _KNOWN)
    if unknown:
        raise ConfigurationError(
            f"unknown per-call option(s) {', '.join(map(repr, unknown))}; the options are {', '.join(sorted(_KNOWN))}"
        )
    return PerCall(
        timeout=_timeout(request["timeout"]) if "timeout" in request else None,
        headers=_headers(request.get("extra_headers", {})),
        query=_query(request.get("extra_query", {})),
        body=_body(request.get("extra_body", {})),
    )


#: The per-call options of the flow the engine is running in this thread or task.
_CURRENT: ContextVar[PerCall | None] = ContextVar("nai_sdk_per_call", default=None)


def current() -> PerCall | None:
    """The per-call options of the call being sent, if it has any."""
    return _CURRENT.get()


def enter(options: PerCall | None) -> Token[PerCall | None]:
    """Makes `options` the per-call options of the requests sent from here on (None: none at all), until `leave`.

    A pair of plain calls rather than a context manager: the engine does this for every call it runs.
    """
    return _CURRENT.set(options)


def leave(token: Token[PerCall | None]) -> None:
    """Puts back the per-call options that were in force before `enter` gave `token`."""
    _CURRENT.reset(token)


# --- raw responses --------------------------------------------------------------------------------------------

#: The response headers that name a request, most specific first. NovelAI's spec names none; these are the usual
#: ones (`X-Request-Id` of many servers, `CF-Ray` of a Cloudflare edge), read in this order.
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "cf-ray")


@attrs.frozen
class ResponseInfo:
    """What one request of a call was answered: everything but the body.

    Attributes:
        method: the request's method.
        url: the request's URL.
        status_code: the answer's status.
        headers: the answer's headers.
        http_version: the protocol of the answer (`HTTP/1.1`).
    """

    method: str
    url: str
    status_code: int
    headers: httpx.Headers = attrs.field(repr=False)
    http_version: str

    @property
    def request_id(self) -> str | None:
        """The id the server gave the request (see `REQUEST_ID_HEADERS`), if it sent one."""
        for name in REQUEST_ID_HEADERS:
            value: str | None = self.headers.get(name)
            if value:
                return value
        return None


@attrs.frozen
class RawResponse(Generic[T]):
    """A typed value together with the answers it was made from (`NovelAI.with_raw_response`).

    Attributes:
        parsed: what the method returns.
        responses: every answer of the call, in order (one for most methods; a story's upload has several). Only
            answers that were kept count: a retried failure is not among them.
    """

    parsed: T
    responses: tuple[ResponseInfo, ...]

    @property
    def last(self) -> ResponseInfo:
        """The last answer of the call (the one that carried its result, for a single request)."""
        return self.responses[-1]

    @property
    def status_code(self) -> int:
        """The status of the last answer."""
        return self.last.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The headers of the last answer."""
        return self.last.headers

    @property
    def request_id(self) -> str | None:
        """The request id of the last answer, if the server sent one."""
        return self.last.request_id


_CAPTURE: ContextVar[list[ResponseInfo] | None] = ContextVar("nai_sdk_capture", default=None)


def record(response: httpx.Response) -> None:
    """Notes `response` for the `with_raw_response` call running here, if there is one."""
    captured = _CAPTURE.get()
    if captured is not None:
        request = response.request
        captured.append(
            ResponseInfo(
                method=request.method,
                url=str(request.url),
                status_code=response.status_code,
                headers=response.headers,
                http_version=response.http_version,
            )
        )


@contextmanager
def capturing() -> Iterator[list[ResponseInfo]]:
    """Collects the answers of the requests sent inside the block (threads and tasks started inside it included)."""
    captured: list[ResponseInfo] = []
    token = _CAPTURE.set(captured)
    try:
        yield captured
    finally:
        _CAPTURE.reset(token)


def raw_response(value: T, captured: list[ResponseInfo]) -> RawResponse[T]:
    """The `RawResponse` of a call that returned `value` after the requests in `captured`.

    Raises:
        ConfigurationError: the method sent no request before returning (a stream opens on its first read).
    """
    if not captured:
        raise ConfigurationError(
            "the method sent no request before it returned (streams send theirs when first read): "
            "with_raw_response has no answer to show"
        )
    return RawResponse(value, tuple(captured))


def split_request(arguments: Mapping[str, Any]) -> tuple[dict[str, Any], PerCall | None]:
    """For methods whose `**kwargs` are settings too: (the settings, the checked per-call options among them)."""
    settings = {name: value for name, value in arguments.items() if name not in _KNOWN}
    return settings, per_call({name: value for name, value in arguments.items() if name in _KNOWN})


P = ParamSpec("P")


class RawResponses:
    """`NovelAI.with_raw_response`: wraps a method so that it returns a `RawResponse`.

    Two spellings: `nai.with_raw_response(nai.account.priority)()`, typed (the `RawResponse` holds the method's
    own return type), and `nai.with_raw_response.account.priority()`, as in other Python SDKs, whose result mypy
    sees as `Any`.
    """

    __slots__ = ("_target",)

    def __init__(self, target: object) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"<with_raw_response of {type(self._target).__name__}>"

    def __call__(self, method: Callable[P, T]) -> Callable[P, RawResponse[T]]:
        @functools.wraps(method)
        def with_responses(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
            with capturing() as captured:
                value = method(*args, **kwargs)
            return raw_response(value, captured)

        return with_responses

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._target, name)
        # A method is wrapped; anything else (a resource: `account`, `storage`...) is walked into.
        return self(value) if inspect.ismethod(value) else type(self)(value)


class AsyncRawResponses(RawResponses):
    """`AsyncNovelAI.with_raw_response`: the same for coroutine methods (`await` the wrapped call)."""

    __slots__ = ()

    def __call__(  # type: ignore[override]  # the async form wraps coroutine functions
        self, method: Callable[P, Awaitable[T]]
    ) -> Callable[P, Awaitable[RawResponse[T]]]:
        @functools.wraps(method)
        async def with_responses(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
            with capturing() as captured:
                value = await method(*args, **kwargs)
            return raw_response(value, captured)

        return with_responses

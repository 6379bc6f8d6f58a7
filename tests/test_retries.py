"""The retry policy and the error mapping, in detail, over mocked transports (no server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import httpx
import pytest
import respx

from nai_sdk._client import AsyncNovelAI, NovelAI
from nai_sdk._config import Backoff, ClientOptions
from nai_sdk._http import Kind, never_reached_server, retry_delay, status_error
from nai_sdk.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

BASE = "https://nai.test"
TOKEN = "tok-123"


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", BASE))


# --- pure policy ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "retried"),
    [
        (Kind.IDEMPOTENT, 408, True),
        (Kind.IDEMPOTENT, 429, True),
        (Kind.IDEMPOTENT, 500, True),
        (Kind.IDEMPOTENT, 503, True),
        (Kind.IDEMPOTENT, 409, False),
        (Kind.IDEMPOTENT, 400, False),
        (Kind.IDEMPOTENT, 401, False),
        (Kind.UNSAFE, 408, True),
        (Kind.UNSAFE, 429, True),
        (Kind.UNSAFE, 500, False),
        (Kind.GENERATION, 429, True),
        (Kind.GENERATION, 408, False),
        (Kind.GENERATION, 500, False),
        (Kind.GENERATION, 502, False),
    ],
)
def test_which_statuses_are_retried(kind: Kind, status: int, retried: bool) -> None:
    delay = retry_delay(kind, 0, ClientOptions(), response=_response(status))
    assert (delay is not None) is retried


@pytest.mark.parametrize(
    ("exc", "idempotent", "generation"),
    [
        (httpx.ConnectError("refused"), True, True),
        (httpx.ConnectTimeout("slow"), True, True),
        (httpx.PoolTimeout("busy"), True, True),
        (httpx.ReadTimeout("slow"), True, False),
        (httpx.ReadError("reset"), True, False),
        (httpx.RemoteProtocolError("hung up"), True, False),
        (httpx.WriteError("broken pipe"), True, False),
    ],
)
def test_which_connection_errors_are_retried(exc: Exception, idempotent: bool, generation: bool) -> None:
    options = ClientOptions()
    assert (retry_delay(Kind.IDEMPOTENT, 0, options, exc=exc) is not None) is idempotent
    assert (retry_delay(Kind.GENERATION, 0, options, exc=exc) is not None) is generation
    assert (retry_delay(Kind.UNSAFE, 0, options, exc=exc) is not None) is generation


def _mapped(origin: Exception, mapped: type[httpx.HTTPError]) -> Exception:
    """What a transport over aiohttp raises (ours, or httpx-aiohttp passed in): an httpx error `from` an aiohttp one."""
    try:
        try:
            raise origin
        except Exception as exc:
            raise mapped(str(exc)) from exc
    except httpx.HTTPError as final:
        return final


def test_aiohttp_errors_are_judged_by_their_origin() -> None:
    # httpx-aiohttp (which a user may pass as transport=) maps a server that hung up after reading the request onto
    # ConnectTimeout: it may have acted, whatever the httpx class says.
    disconnected = _mapped(aiohttp.ServerDisconnectedError(), httpx.ConnectTimeout)
    assert not never_reached_server(disconnected)
    assert retry_delay(Kind.GENERATION, 0, ClientOptions(), exc=disconnected) is None
    refused = _mapped(
        aiohttp.ClientConnectorError(
            aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None), OSError(111, "refused")
        ),
        httpx.ConnectError,
    )
    assert never_reached_server(refused)
    timed_out = _mapped(aiohttp.ConnectionTimeoutError(), httpx.TimeoutException)
    assert never_reached_server(timed_out)


def test_retry_after_is_honoured_and_capped() -> None:
    options = ClientOptions(backoff=Backoff(initial=0.5, maximum=8.0, retry_after_cap=30.0))
    assert retry_delay(Kind.IDEMPOTENT, 0, options, response=_response(429, {"Retry-After": "3"})) == 3.0
    assert retry_delay(Kind.IDEMPOTENT, 0, options, response=_response(429, {"Retry-After": "600"})) == 30.0
    assert retry_delay(Kind.IDEMPOTENT, 0, options, response=_response(429, {"retry-after-ms": "250"})) == 0.25
    dated = _response(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_delay(Kind.IDEMPOTENT, 0, options, response=dated) == 0.0
    garbage = retry_delay(Kind.IDEMPOTENT, 0, options, response=_response(429, {"Retry-After": "soon"}))
    assert garbage is not None and 0.375 <= garbage <= 0.5


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    options = ClientOptions(max_retries=10, backoff=Backoff(initial=0.5, maximum=4.0))
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        delays = {retry_delay(Kind.IDEMPOTENT, attempt, options, exc=httpx.ConnectError("x")) for _ in range(50)}
        assert all(d is not None and 0.75 * ceiling <= d <= ceiling for d in delays)
        assert len(delays) > 1
    assert retry_delay(Kind.IDEMPOTENT, 10, options, exc=httpx.ConnectError("x")) is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (418, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
    ],
)
def test_status_errors(status: int, cls: type[APIStatusError]) -> None:
    response = httpx.Response(status, json={"statusCode": status, "message": "nope"})
    error = status_error(response)
    assert type(error) is cls
    assert (error.status_code, error.message, error.body) == (status, "nope", {"statusCode": status, "message": "nope"})


def test_status_error_of_a_non_json_page() -> None:
    error = status_error(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert type(error) is InternalServerError
    assert (error.message, error.body) == ("Bad Gateway", "<html>Bad Gateway</html>")
    listed = status_error(httpx.Response(400, json={"message": ["a must be set", "b too"]}))
    assert listed.message == "a must be set; b too"


# --- the loops, over a mock transport -------------------------------------------------------------------------

FAST = Backoff(initial=0.001, maximum=0.002, retry_after_cap=0.01)


def _sync(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> NovelAI:
    return NovelAI(token=TOKEN, base_url=BASE, backoff=FAST, transport=httpx.MockTransport(handler), **kwargs)


def test_generation_is_not_resent_after_a_read_error() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ReadError("connection reset", request=request)

    with _sync(handler) as nai, pytest.raises(APIConnectionError) as info:
        nai.text.generate("x", "kayra", max_length=4)
    assert calls == ["/ai/generate"]
    assert isinstance(info.value.__cause__, httpx.ReadError)


def test_generation_is_resent_after_a_connect_error() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"output": "AQACAA=="})

    with _sync(handler) as nai:
        assert nai.text.generate("x", "kayra", max_length=4).tokens == (1, 2)
    assert calls == ["/ai/generate"] * 3


def test_get_is_resent_after_a_read_timeout_then_gives_up() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ReadTimeout("slow", request=request)

    with _sync(handler, max_retries=3) as nai, pytest.raises(APITimeoutError):
        nai.account.priority()
    assert calls == ["/user/priority"] * 4


def test_conflict_is_never_retried() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(409, json={"statusCode": 409, "message": "stale"})

    with _sync(handler) as nai, pytest.raises(ConflictError):
        nai.account.set_client_settings({})
    assert calls == ["PUT"]


def test_bearer_token_and_headers_are_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"maxPriorityActions": 1, "nextRefillAt": 2, "taskPriority": 3})

    with _sync(handler, headers={"X-Extra": "1"}) as nai:
        assert nai.account.priority().task_priority == 3
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["x-extra"] == "1"
    assert seen[0].headers["user-agent"].startswith("nai-sdk/")


@respx.mock(base_url=BASE, assert_all_called=True)
async def test_async_httpx_backend_with_respx(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("/user/priority").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(200, json={"maxPriorityActions": 1, "nextRefillAt": 2, "taskPriority": 3}),
        ]
    )
    async with AsyncNovelAI(token=TOKEN, base_url=BASE, backoff=FAST, http_backend="httpx") as nai:
        assert (await nai.account.priority()).max_priority_actions == 1
    assert route.call_count == 3


@respx.mock(base_url=BASE)
def test_unexpected_success_body_is_an_api_error(respx_mock: respx.MockRouter) -> None:
    from nai_sdk.errors import APIError

    respx_mock.get("/user/priority").mock(return_value=httpx.Response(200, text="not json"))
    with NovelAI(token=TOKEN, base_url=BASE, backoff=FAST) as nai, pytest.raises(APIError) as info:
        nai.account.priority()
    assert "unexpected answer to GET /user/priority" in str(info.value)


def test_login_body_carries_the_access_key_and_is_retried() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/user/login":
            bodies.append(json.loads(request.content))
            if len(bodies) == 1:
                return httpx.Response(502)
            return httpx.Response(201, json={"accessToken": "fresh"})
        assert request.headers["authorization"] == "Bearer fresh"
        return httpx.Response(200, json={"maxPriorityActions": 1, "nextRefillAt": 2, "taskPriority": 3})

    transport = httpx.MockTransport(handler)
    with NovelAI(email="a@b.c", password="pw", base_url=BASE, backoff=FAST, transport=transport) as nai:
        nai.account.priority()
    assert len(bodies) == 2 and len(bodies[0]["key"]) == 64

"""Per-call options (`timeout`, `extra_headers`, `extra_query`, `extra_body`), raw responses, `http_client=`,
`trust_env=`, and options refused at construction: on the sync client and the async one on both transports."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _client_helpers import collect, maybe

from nai_sdk import Backoff, RawResponse
from nai_sdk._client import AsyncNovelAI, NovelAI
from nai_sdk.errors import APIConnectionError, APITimeoutError, ConfigurationError, NotFoundError
from nai_sdk.testing import FakeNovelAI


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Forwards to httpx's own transports, keeping every request sent (headers, URL, body, extensions)."""

    def __init__(self) -> None:
        self.sync = httpx.HTTPTransport()
        self.asynchronous = httpx.AsyncHTTPTransport()
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return await self.asynchronous.handle_async_request(request)

    def close(self) -> None:
        self.sync.close()

    async def aclose(self) -> None:
        await self.asynchronous.aclose()

    def to(self, path: str) -> list[httpx.Request]:
        return [request for request in self.seen if request.url.path == path]


@pytest.fixture
async def recording() -> Any:
    transport = Recording()
    yield transport
    transport.close()
    await transport.aclose()


# --- per-call options on the wire -----------------------------------------------------------------------------


async def test_headers_query_and_timeout_reach_the_request_of_that_call_only(
    make_client: Any, creds: Any, recording: Recording
) -> None:
    nai = make_client(email=creds.email, password=creds.password, transport=recording)
    await maybe(nai.account.priority(timeout=7, extra_headers={"X-Trace": "42"}, extra_query={"debug": 1}))
    await maybe(nai.account.priority())
    first, second = recording.to("/user/priority")
    assert "42" == first.headers["x-trace"]
    assert "1" == first.url.params["debug"]
    assert {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0} == first.extensions["timeout"]
    assert "x-trace" not in second.headers and "debug" not in second.url.params
    assert 120.0 == second.extensions["timeout"]["read"]
    # The login the first call needed is the engine's own request: it carries none of the call's options.
    (login,) = recording.to("/user/login")
    assert "x-trace" not in login.headers and "debug" not in login.url.params


async def test_an_extra_header_replaces_the_clients_own_written_in_another_case(
    make_client: Any, creds: Any, recording: Recording
) -> None:
    nai = make_client(token=creds.token, transport=recording)
    await maybe(nai.account.priority(extra_headers={"user-agent": "my-bot/1.0"}))
    (request,) = recording.to("/user/priority")
    assert ["my-bot/1.0"] == request.headers.get_list("user-agent")


async def test_extra_body_is_merged_into_the_json_body_and_reaches_the_server(
    make_client: Any, creds: Any, recording: Recording
) -> None:
    nai = make_client(token=creds.token, transport=recording)
    await maybe(nai.account.set_client_settings({"theme": "dark"}, extra_body={"fontSize": 14}))
    (request,) = recording.to("/user/clientsettings")
    assert {"theme": "dark", "fontSize": 14} == json.loads(request.content)
    assert {"theme": "dark", "fontSize": 14} == await maybe(nai.account.client_settings())


async def test_extra_body_leaves_requests_without_a_json_body_alone(
    make_client: Any, creds: Any, recording: Recording
) -> None:
    nai = make_client(token=creds.token, transport=recording)
    await maybe(nai.account.priority(extra_body={"ignored": True}))
    (request,) = recording.to("/user/priority")
    assert b"" == request.content


async def test_generation_parameters_and_per_call_options_share_the_keyword_arguments(
    make_client: Any, creds: Any, recording: Recording
) -> None:
    nai = make_client(token=creds.token, transport=recording)
    await maybe(nai.text.generate("Hello", "erato", max_length=5, extra_headers={"X-Trace": "gen"}))
    (request,) = recording.to("/ai/generate")
    assert "gen" == request.headers["x-trace"]
    assert 5 == json.loads(request.content)["parameters"]["max_length"]
    assert "extra_headers" not in json.loads(request.content)["parameters"]


async def test_streams_send_their_request_with_the_options_given_when_they_were_made(
    make_client: Any, creds: Any, recording: Recording
) -> None:
    nai = make_client(token=creds.token, transport=recording)
    pieces = await collect(nai.text.stream("Hello", "erato", max_length=5, extra_query={"trace": "s"}))
    assert pieces
    (request,) = recording.to("/ai/generate-stream")
    assert "s" == request.url.params["trace"]


async def test_chat_takes_the_transport_options_among_its_settings(
    make_client: Any, creds: Any, recording: Recording
) -> None:
    nai = make_client(token=creds.token, transport=recording)
    answer = await maybe(nai.text.chat("Hi", "glm-4-6", max_tokens=5, timeout=30, extra_headers={"X-Chat": "1"}))
    assert answer.text
    (request,) = recording.to("/oa/v1/chat/completions")
    assert "1" == request.headers["x-chat"]
    assert 30.0 == request.extensions["timeout"]["read"]
    assert "timeout" not in json.loads(request.content)


async def test_a_per_call_timeout_applies(make_client: Any, creds: Any, fake: FakeNovelAI) -> None:
    nai = make_client(token=creds.token, max_retries=0)
    fake.inject("/user/priority", latency=3.0, times=1)
    with pytest.raises(APITimeoutError):
        await maybe(nai.account.priority(timeout=0.3))
    fake.faults.clear()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"timeout": -1}, "timeout", id="negative-timeout"),
        pytest.param({"timeout": "5"}, "timeout", id="text-timeout"),
        pytest.param({"extra_headers": {"X-A": 1}}, "extra_headers", id="non-str-header"),
        pytest.param({"extra_headers": {"X-A": "a\r\nInjected: 1"}}, "one line", id="header-injection"),
        pytest.param({"extra_headers": {"X A:": "1"}}, "not an HTTP field name", id="bad-header-name"),
        pytest.param({"extra_body": {"tags": {1, 2}}}, "not JSON", id="set-in-body"),
        pytest.param({"extra_body": {"x": float("nan")}}, "not JSON", id="nan-in-body"),
        pytest.param({"extra_query": {"a": [1]}}, "extra_query", id="list-query"),
        pytest.param({"extra_body": ["a"]}, "extra_body", id="list-body"),
        pytest.param({"tmeout": 5}, "unknown per-call option", id="typo"),
    ],
)
async def test_bad_per_call_options_are_refused_before_anything_is_sent(
    make_client: Any, creds: Any, recording: Recording, options: dict[str, Any], message: str
) -> None:
    nai = make_client(token=creds.token, transport=recording)
    with pytest.raises(ConfigurationError, match=message):
        await maybe(nai.account.priority(**options))
    assert [] == recording.seen


# --- raw responses --------------------------------------------------------------------------------------------


async def test_with_raw_response_gives_status_headers_and_request_id(
    make_client: Any, creds: Any, fake: FakeNovelAI
) -> None:
    nai = make_client(token=creds.token)
    raw = await maybe(nai.with_raw_response(nai.account.priority)())
    assert isinstance(raw, RawResponse)
    assert raw.parsed.max_priority_actions > 0
    assert 200 == raw.status_code
    assert raw.headers["content-type"].startswith("application/json")
    logged = fake.requests.matching("GET", "/user/priority")[-1]
    assert logged.request_id == raw.request_id
    assert 1 == len(raw.responses)


async def test_with_raw_response_also_reads_as_in_other_sdks(make_client: Any, creds: Any) -> None:
    nai = make_client(token=creds.token)
    raw = await maybe(nai.with_raw_response.account.priority(extra_headers={"X-Trace": "attr"}))
    assert isinstance(raw, RawResponse)
    assert 200 == raw.status_code
    assert raw.parsed.max_priority_actions > 0
    with pytest.raises(AttributeError):
        nai.with_raw_response._engine  # noqa: B018  (private attributes are not walked into)


async def test_with_raw_response_lists_every_answer_of_a_call_that_sends_several(make_client: Any, creds: Any) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    raw = await maybe(nai.with_raw_response(nai.storage.create_story)("raw story"))
    assert "raw story" == raw.parsed.title
    paths = [(info.method, httpx.URL(info.url).path) for info in raw.responses]
    assert ("PUT", "/user/keystore") in paths
    assert ("PUT", "/user/objects/stories") in paths
    assert all(200 <= info.status_code < 300 for info in raw.responses)
    assert len({info.request_id for info in raw.responses}) == len(raw.responses)


async def test_with_raw_response_keeps_the_typed_errors(make_client: Any, creds: Any) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    with pytest.raises(NotFoundError):
        await maybe(nai.with_raw_response(nai.storage.get)("stories", "no-such-id"))


def test_with_raw_response_of_a_stream_says_that_nothing_was_sent_yet(fake: FakeNovelAI, creds: Any) -> None:
    with NovelAI(token=creds.token, **fake.urls) as nai, pytest.raises(ConfigurationError, match="sent no request"):
        nai.with_raw_response(nai.text.stream)("Hello", "erato", max_length=5)


def test_raw_responses_of_calls_on_two_threads_stay_apart(fake: FakeNovelAI, creds: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with NovelAI(token=creds.token, **fake.urls) as nai:
        raw_priority = nai.with_raw_response(nai.account.priority)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: raw_priority(), range(8)))
    assert [1] * 8 == [len(raw.responses) for raw in results]
    assert 8 == len({raw.request_id for raw in results})


# --- the HTTP client ------------------------------------------------------------------------------------------


def test_an_injected_httpx_client_sends_every_request_and_stays_open(fake: FakeNovelAI, creds: Any) -> None:
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: seen.append(request.url.path)]})
    with NovelAI(email=creds.email, password=creds.password, http_client=http, **fake.urls) as nai:
        nai.account.priority()
    assert ["/user/login", "/user/priority"] == seen
    assert not http.is_closed
    http.close()


async def test_an_injected_async_httpx_client_sends_every_request_and_stays_open(fake: FakeNovelAI, creds: Any) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    http = httpx.AsyncClient(event_hooks={"request": [hook]})
    async with AsyncNovelAI(token=creds.token, http_client=http, **fake.urls) as nai:
        assert "httpx" == nai.http_backend
        await nai.account.priority()
    assert ["/user/priority"] == seen
    assert not http.is_closed
    await http.aclose()


def test_trust_env_is_opt_in(fake: FakeNovelAI, creds: Any, monkeypatch: pytest.MonkeyPatch, closed_url: str) -> None:
    proxy = closed_url
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with NovelAI(token=creds.token, **fake.urls) as nai:
        assert nai.account.priority().max_priority_actions > 0
    fast = Backoff(initial=0.01, maximum=0.01)
    with (
        NovelAI(token=creds.token, trust_env=True, max_retries=0, backoff=fast, **fake.urls) as nai,
        pytest.raises(APIConnectionError),
    ):
        nai.account.priority()


# --- options refused at construction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"timeout": -1}, id="negative-timeout"),
        pytest.param({"timeout": 0}, id="zero-timeout"),
        pytest.param({"timeout": float("nan")}, id="nan-timeout"),
        pytest.param({"timeout": httpx.Timeout(5, connect=-1)}, id="negative-phase"),
        pytest.param({"timeout": "5"}, id="text-timeout"),
        pytest.param({"max_retries": -1}, id="negative-retries"),
        pytest.param({"max_retries": 1.5}, id="fractional-retries"),
        pytest.param({"backoff": 3}, id="backoff-number"),
        pytest.param({"headers": {"X-A": 1}}, id="non-str-header"),
        pytest.param({"base_url": 5}, id="url-number"),
        pytest.param({"routes": 5}, id="routes-number"),
        pytest.param({"generation_slots": 0}, id="no-slots"),
        pytest.param({"queue_timeout": -1}, id="negative-queue-timeout"),
        pytest.param({"allow_insecure_http": "yes"}, id="text-flag"),
        pytest.param({"http_client": httpx.AsyncClient()}, id="async-client-for-sync"),
        pytest.param({"trust_env": "yes"}, id="text-trust-env"),
        pytest.param({"proxy": "http://127.0.0.1:1", "trust_env": True}, id="proxy-and-trust-env"),
        pytest.param({"token": ""}, id="empty-token"),
    ],
)
def test_bad_options_are_refused_at_construction(options: dict[str, Any]) -> None:
    options.setdefault("token", "pst-x")
    with pytest.raises(ConfigurationError):
        NovelAI(**options)


def test_a_negative_backoff_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"Backoff\.initial"):
        Backoff(initial=-1)


def test_an_async_client_refuses_a_sync_http_client_and_aiohttp_with_one() -> None:
    with pytest.raises(ConfigurationError, match="AsyncClient"):
        AsyncNovelAI(token="pst-x", http_client=httpx.Client())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="http_backend='httpx'"):
        AsyncNovelAI(token="pst-x", http_client=httpx.AsyncClient(), http_backend="aiohttp")

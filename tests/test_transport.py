"""`nai_sdk.AiohttpTransport` and what must hold on every transport: proxies, connection limits, loops, errors."""

from __future__ import annotations

import asyncio
import base64
import gc
import gzip
import json
import socket
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey

from nai_sdk import AiohttpTransport, AsyncNovelAI, NovelAI
from nai_sdk._aiohttp import map_error
from nai_sdk._http import never_reached_server
from nai_sdk.errors import APIConnectionError, ConfigurationError
from nai_sdk.testing import FakeNovelAI
from tests._client_helpers import collect, maybe
from tests._loopback import ForwardingProxy, ScriptedServer
from tests.conftest import FAST_BACKOFF, Credentials

PRIORITY = json.dumps({"maxPriorityActions": 5, "nextRefillAt": 1700000000, "taskPriority": 1}).encode()


def _answer(body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"content-type: application/json", b"content-length: %d" % len(body), *extra]
    return b"\r\n".join([*head, b"", b""]) + body


# --- error mapping ----------------------------------------------------------------------------------------------

_KEY = ConnectionKey("h", 1, False, True, None, None, None)


@pytest.mark.parametrize(
    ("origin", "mapped", "never_sent"),
    [
        (aiohttp.ClientConnectorError(_KEY, OSError(111, "refused")), httpx.ConnectError, True),
        (aiohttp.ClientProxyConnectionError(_KEY, OSError(111, "refused")), httpx.ProxyError, True),
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout, True),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout, False),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError, False),
        (aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError, False),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError, False),
        (aiohttp.InvalidURL("ftp://x"), httpx.UnsupportedProtocol, False),
    ],
)
def test_aiohttp_errors_map_onto_what_happened(
    origin: aiohttp.ClientError, mapped: type[httpx.TransportError], never_sent: bool
) -> None:
    error = map_error(origin)
    assert type(error) is mapped
    assert str(error)
    try:
        raise error from origin
    except httpx.TransportError as raised:
        # The retry policy's question, asked of what the transport raises.
        assert never_reached_server(raised) is never_sent


# --- the transport on its own -----------------------------------------------------------------------------------


async def test_fetch_and_stream_give_the_same_response_and_decode_gzip() -> None:
    packed = gzip.compress(PRIORITY)

    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_answer(packed, b"content-encoding: gzip", b"x-id: 7"))

    with ScriptedServer(handler) as server:
        transport = AiohttpTransport()
        try:
            request = httpx.Request("GET", server.url + "/user/priority", extensions={"timeout": {"read": 5.0}})
            fetched = await transport.fetch(request)
            streamed = await transport.handle_async_request(request)
            await streamed.aread()
            await streamed.aclose()
        finally:
            await transport.aclose()
    for response in (fetched, streamed):
        assert response.status_code == 200
        assert response.content == PRIORITY
        assert response.json()["maxPriorityActions"] == 5
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["x-id"] == "7"
        assert response.reason_phrase == "OK"
        assert response.http_version == "HTTP/1.1"
        assert response.request is request
    assert fetched.is_closed


async def test_stream_hands_on_each_chunk_before_the_next_is_sent() -> None:
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"6\r\nfirst\n\r\n")
        await writer.drain()
        # Waits (on the test's loop) until the client has seen the first chunk.
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(release.wait(), loop))
        writer.write(b"7\r\nsecond\n\r\n0\r\n\r\n")

    with ScriptedServer(handler) as server:
        transport = AiohttpTransport()
        try:
            response = await transport.handle_async_request(httpx.Request("GET", server.url + "/s"))
            chunks = []
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                release.set()
            await response.aclose()
        finally:
            await transport.aclose()
    assert chunks == [b"first\n", b"second\n"]


async def test_a_hang_up_mid_body_is_a_transport_error() -> None:
    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        await writer.drain()
        writer.close()

    with ScriptedServer(handler) as server:
        transport = AiohttpTransport()
        try:
            with pytest.raises(httpx.RemoteProtocolError):
                await transport.fetch(httpx.Request("GET", server.url + "/x"))
        finally:
            await transport.aclose()


def test_repr_hides_the_proxy_password() -> None:
    transport = AiohttpTransport(proxy="http://me:hunter2@127.0.0.1:3128")
    assert "hunter2" not in repr(transport)
    assert "proxy=set" in repr(transport)


# The first loop's sockets can only be closed by the garbage collector once that loop has ended (see AiohttpTransport).
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_transport_survives_a_second_event_loop(fake: FakeNovelAI, creds: Credentials) -> None:
    nai = AsyncNovelAI(token=creds.token, **fake.urls)

    async def priority(client: AsyncNovelAI) -> int:
        result = await client.account.priority()
        return int(result.max_priority_actions)

    assert asyncio.run(priority(nai)) > 0
    # A bot that calls asyncio.run once per command: aiohttp's connections belong to the first loop, now closed.
    assert asyncio.run(priority(nai)) > 0
    # Loops made by hand, stopped but not closed, as `loop.run_until_complete` scripts leave them.
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        assert first.run_until_complete(priority(nai)) > 0
        assert second.run_until_complete(priority(nai)) > 0
    finally:
        first.close()
        second.close()
    # Closing from yet another loop: the previous one has ended too, so its connections can only be dropped.
    asyncio.run(nai.aclose())
    # Collect the ended loops' sockets here, under this test's filter, not in whichever test runs next.
    del nai
    for _ in range(5):  # objects freed by one pass's finalizers are only collected by the next
        gc.collect()


async def test_one_transport_on_two_running_loops_is_refused(fake: FakeNovelAI, creds: Credentials) -> None:
    import threading

    async with AsyncNovelAI(token=creds.token, **fake.urls) as nai:
        await nai.account.priority()
        errors: list[BaseException] = []

        def other_loop() -> None:
            try:
                asyncio.run(nai.account.priority())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_loop)
        thread.start()
        thread.join(10)
        assert len(errors) == 1
        assert isinstance(errors[0], ConfigurationError)
        assert "event loop" in str(errors[0])


# --- what every transport must do alike ---------------------------------------------------------------------------


async def test_requests_go_through_the_proxy_with_its_credentials(
    make_client: Any, creds: Credentials, fake: FakeNovelAI
) -> None:
    with ForwardingProxy() as proxy:
        proxy_url = f"http://me:hunter2@127.0.0.1:{proxy.port}"
        nai = make_client(token=creds.token, proxy=proxy_url)
        priority = await maybe(nai.account.priority())
        assert priority.max_priority_actions > 0
        pieces = await collect(nai.text.stream("x", "kayra", max_length=4, min_length=4))
        assert len(pieces) == 4
        assert "hunter2" not in repr(nai)
    expected = b"Basic " + base64.b64encode(b"me:hunter2")
    assert len(proxy.heads) == 2
    # The priority from the image host, the stream from the text host.
    for head, url in zip(proxy.heads, (fake.image_url, fake.text_url), strict=True):
        request_line, *headers = head.split(b"\r\n")
        # Absolute-form targets: the request was meant for the proxy.
        assert request_line.split(b" ")[1].startswith(url.encode() + b"/")
        assert b"proxy-authorization: " + expected.lower() in [line.lower() for line in headers], head


async def test_an_unreachable_proxy_is_a_connection_error_without_its_password(
    make_client: Any, creds: Credentials
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nai = make_client(token=creds.token, proxy=f"http://me:hunter2@127.0.0.1:{port}", max_retries=1)
    with pytest.raises(APIConnectionError) as info:
        await maybe(nai.account.priority())
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(info.value)


def test_proxy_and_transport_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="proxy"):
        NovelAI(token="t", proxy="http://127.0.0.1:3128", transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with pytest.raises(ConfigurationError, match="proxy"):
        AsyncNovelAI(token="t", proxy="http://127.0.0.1:3128", transport=AiohttpTransport())


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
async def test_connections_are_capped_at_the_pool_limit(backend: str) -> None:
    from nai_sdk._constants import DEFAULT_MAX_CONNECTIONS

    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(_answer(PRIORITY))

    with ScriptedServer(handler) as server:
        async with AsyncNovelAI(token="t", base_url=server.url, http_backend=backend, backoff=FAST_BACKOFF) as nai:  # type: ignore[arg-type]
            results = await asyncio.gather(*(nai.account.priority() for _ in range(DEFAULT_MAX_CONNECTIONS + 30)))
    assert all(r.max_priority_actions == 5 for r in results)
    assert server.max_open_connections == DEFAULT_MAX_CONNECTIONS


async def test_a_finished_stream_leaves_its_connection_for_the_next_request(client_kind: str) -> None:
    from nai_sdk.tokenizers import tokens_to_b64

    events = b"".join(
        b"event: newToken\ndata: "
        + json.dumps({"token": tokens_to_b64([token], "kayra-v1"), "ptr": ptr, "final": ptr == 2}).encode()
        + b"\n\n"
        for ptr, token in enumerate([1000, 1001, 1002])
    )

    async def handler(head: bytes, writer: asyncio.StreamWriter) -> None:
        if head.startswith(b"GET"):
            writer.write(_answer(PRIORITY))
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"%x\r\n%s\r\n" % (len(events), events))
        await writer.drain()
        await asyncio.sleep(0.01)  # the end of the body comes in a packet of its own, after the final event
        writer.write(b"0\r\n\r\n")

    with ScriptedServer(handler) as server:
        kwargs: dict[str, Any] = {"token": "t", "base_url": server.url, "backoff": FAST_BACKOFF}
        nai: Any = (
            NovelAI(**kwargs)
            if client_kind == "sync"
            else AsyncNovelAI(http_backend=client_kind.removeprefix("async-"), **kwargs)  # type: ignore[arg-type]
        )
        try:
            for _ in range(3):
                pieces = await collect(nai.text.stream([1, 2], "kayra-v1", max_length=3))
                assert [piece.final for piece in pieces] == [False, False, True]
            assert (await maybe(nai.account.priority())).max_priority_actions == 5
        finally:
            await maybe(nai.aclose() if client_kind != "sync" else nai.close())
    assert server.connections == 1


@pytest.mark.parametrize(
    ("operation", "kwargs"),
    [
        ("subscription.get_subscription", {}),
        ("objects.delete_object", {"type_": "stories", "id": "abc"}),
        ("objects.get_objects", {"type_": "stories"}),
    ],
)
def test_requests_are_built_as_httpx_builds_them(operation: str, kwargs: dict[str, Any]) -> None:
    """The shortcuts of `_Hosts.build` give the request httpx's own preparation gives, header for header."""
    import importlib

    from nai_sdk._config import ClientOptions
    from nai_sdk._http import Call, _Hosts

    hosts = _Hosts(ClientOptions(headers={"X-Extra": "1"}))
    described = importlib.import_module(f"nai_client.api.{operation}").operation
    for auth in ("Bearer one", "Bearer two", None):
        built = hosts.build(Call(described, kwargs), auth, "api")
        spec = described.get_kwargs(**kwargs)
        headers = {"User-Agent": hosts.headers["User-Agent"], "Accept": "application/json", "X-Extra": "1"}
        if auth:
            headers["Authorization"] = auth
        reference = httpx.Request(
            spec["method"], hosts.bases["api"] + spec["url"], params=spec.get("params"), headers=headers
        )
        assert built.method == reference.method
        assert built.url == reference.url
        assert sorted(built.headers.multi_items()) == sorted(reference.headers.multi_items())
        assert built.headers.raw[0][0] == b"Host"
        assert built.content == reference.content == b""


def test_json_bodies_are_encoded_as_httpx_encodes_them() -> None:
    from nai_client.api.ai import generate
    from nai_client.models import AiGenerateRequest

    from nai_sdk._config import ClientOptions
    from nai_sdk._http import Call, _Hosts

    hosts = _Hosts(ClientOptions())
    body = {"input": "AAE=", "model": "kayra-v1", "parameters": {"text": "ünïcode ✓", "temperature": 1.05}}
    built = hosts.build(Call(generate.operation, {"body": AiGenerateRequest.from_dict(body)}), "Bearer t", "api")
    reference = httpx.Request("POST", "http://x/", json=body)
    assert built.content == reference.content
    assert built.headers["content-length"] == reference.headers["content-length"]
    assert built.headers["content-type"] == "application/json"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_headers_and_tokens_that_http_cannot_carry_are_refused_at_construction(kind: str) -> None:
    client = NovelAI if kind == "sync" else AsyncNovelAI
    with pytest.raises(ConfigurationError, match="X-Name"):
        client(token="t", headers={"X-Name": "Zoë"})
    with pytest.raises(ConfigurationError) as info:
        client(token="pst-sécret")
    assert "sécret" not in str(info.value)
    nai = client(token="t")
    with pytest.raises(ConfigurationError, match="X-Name"):
        nai.with_options(headers={"X-Name": "Zoë"})

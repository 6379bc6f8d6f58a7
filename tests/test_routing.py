"""Routing: each call goes to the host the spec gives, and follows a route that NovelAI moved, once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from _client_helpers import maybe
from nai_client.api.objects import delete_object

from nai_sdk import AsyncNovelAI, NovelAI
from nai_sdk.errors import BadRequestError, ConfigurationError, NotFoundError

API = "https://api.example"
TEXT = "https://text.example"
IMAGE = "https://image.example"
RETIRED = "Please refresh NovelAI.net. If using a third-party tool, update to the image URL."


def _subscription() -> dict[str, Any]:
    """A subscription answer exactly as FakeNovelAI gives one (so it matches the spec's model)."""
    from nai_sdk.testing import FakeNovelAI

    with FakeNovelAI(default_tier=3) as fake:
        token = fake.add_account()[1]
        answer: dict[str, Any] = httpx.get(
            fake.base_url + "/user/subscription", headers={"Authorization": f"Bearer {token}"}
        ).json()
    return answer


SUBSCRIPTION = _subscription()


class Server:
    """Three hosts behind one mock transport; `answer(host, method, path)` decides each reply."""

    def __init__(self, answer: Callable[[str, str, str], httpx.Response]) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host.split(".")[0]
        self.seen.append((host, request.method, request.url.path))
        return self._answer(host, request.method, request.url.path)


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"statusCode": status, "message": message})


def _client(kind: str, server: Server, **options: Any) -> Any:
    urls = {"api_url": API, "text_url": TEXT, "image_url": IMAGE, "max_retries": 0}
    if kind == "sync":
        return NovelAI(token="t", transport=httpx.MockTransport(server), **urls, **options)
    return AsyncNovelAI(token="t", transport=httpx.MockTransport(server), **urls, **options)


KINDS = ["sync", "async"]


@pytest.mark.parametrize("kind", KINDS)
async def test_account_routes_go_to_the_image_host_as_the_spec_says(kind: str) -> None:
    server = Server(lambda host, method, path: httpx.Response(200, json=SUBSCRIPTION))
    nai = _client(kind, server)
    await maybe(nai.account.subscription())
    assert [("image", "GET", "/user/subscription")] == server.seen


@pytest.mark.parametrize("kind", KINDS)
async def test_a_retired_route_is_resent_once_and_the_move_remembered(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    def answer(host: str, method: str, path: str) -> httpx.Response:
        # This account's image host does not serve subscriptions yet; the api host does.
        if host == "image":
            return _error(404, f"Cannot {method} {path}")
        return httpx.Response(200, json=SUBSCRIPTION)

    server = Server(answer)
    nai = _client(kind, server)
    with caplog.at_level(logging.INFO, logger="nai_sdk"):
        for _ in range(3):
            await maybe(nai.account.subscription())
    assert [
        ("image", "GET", "/user/subscription"),
        ("api", "GET", "/user/subscription"),
        ("api", "GET", "/user/subscription"),
        ("api", "GET", "/user/subscription"),
    ] == server.seen
    moves = [record for record in caplog.records if "has moved" in record.getMessage()]
    assert 1 == len(moves)
    assert logging.INFO == moves[0].levelno
    # The move belongs to the login, shared by with_options copies.
    await maybe(nai.with_options(timeout=5).account.subscription())
    assert ("api", "GET", "/user/subscription") == server.seen[-1]


@pytest.mark.parametrize("kind", KINDS)
async def test_the_retired_answer_names_the_host_to_use(kind: str) -> None:
    def answer(host: str, method: str, path: str) -> httpx.Response:
        if host != "image":
            return _error(400, RETIRED)
        return httpx.Response(200, json=SUBSCRIPTION)

    server = Server(answer)
    nai = _client(kind, server, routes={"/user/": "api"})
    await maybe(nai.account.subscription())
    assert [("api", "GET", "/user/subscription"), ("image", "GET", "/user/subscription")] == server.seen


@pytest.mark.parametrize("kind", KINDS)
async def test_a_route_that_moves_back_and_forth_does_not_loop(kind: str) -> None:
    def answer(host: str, method: str, path: str) -> httpx.Response:
        return _error(404, f"Cannot {method} {path}") if host == "image" else _error(400, RETIRED)

    server = Server(answer)
    nai = _client(kind, server)
    with pytest.raises(BadRequestError):
        await maybe(nai.account.subscription())
    assert 2 == len(server.seen)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_missing_object_is_not_a_move(kind: str) -> None:
    server = Server(lambda host, method, path: _error(404, "Specified object was not found."))
    nai = _client(kind, server, routes={"/user/objects/": "api"})
    with pytest.raises(NotFoundError):
        await maybe(nai.call(delete_object.operation.bind("x", "y")))
    assert [("api", "DELETE", "/user/objects/x/y")] == server.seen


@pytest.mark.parametrize("kind", KINDS)
async def test_an_ordinary_bad_request_is_not_a_move(kind: str) -> None:
    server = Server(lambda host, method, path: _error(400, "min_length must be within 1..2048"))
    nai = _client(kind, server)
    with pytest.raises(BadRequestError):
        await maybe(nai.account.subscription())
    assert 1 == len(server.seen)


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        ({"/user/": "api"}, "api"),
        ({"/user/": "api", "/user/subscription": "text"}, "text"),
        ({"/ai/": "api"}, "image"),
    ],
)
def test_route_families_win_over_the_spec_longest_prefix_first(routes: dict[str, str], expected: str) -> None:
    server = Server(lambda host, method, path: httpx.Response(200, json=SUBSCRIPTION))
    with _client("sync", server, routes=routes) as nai:
        nai.account.subscription()
    assert expected == server.seen[0][0]


@pytest.mark.parametrize("routes", [{"user/": "api"}, {"/user/": "mars"}])
def test_bad_route_settings_are_refused(routes: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        NovelAI(token="t", routes=routes)  # type: ignore[typeddict-item]

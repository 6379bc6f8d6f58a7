"""FakeNovelAI(split_hosts=True): three hosts, each answering only its routes, and routes that move mid-session.

The first half talks to the fake with raw httpx; the second drives `NovelAI` and `AsyncNovelAI`, given only the
three host URLs, through a whole session and a route that moves while it runs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _client_helpers import collect, maybe
from conftest import FAST_BACKOFF, Credentials
from nai_client.hosts import HOSTS

from nai_sdk import AsyncNovelAI, NovelAI
from nai_sdk.images import V45Params
from nai_sdk.testing import FakeNovelAI, LoggedRequest

ROOT = Path(__file__).resolve().parent.parent
RETIRED = {
    "statusCode": 400,
    "message": "Please refresh NovelAI.net. If using a third-party tool, update to the image URL.",
}
ROLES = ("api", "text", "image")


@pytest.fixture(scope="module")
def split() -> Iterator[FakeNovelAI]:
    """A split-host fake of this module's own, so that its request log holds only this module's requests."""
    with FakeNovelAI(default_tier=3, split_hosts=True) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_split(request: pytest.FixtureRequest) -> Iterator[None]:
    if "split" not in request.fixturenames:
        yield
        return
    server: FakeNovelAI = request.getfixturevalue("split")
    server.requests.clear()
    yield
    server.restore_routes()
    server.faults.clear()


@pytest.fixture
def token(split: FakeNovelAI) -> str:
    return split.add_account()[1]


def _url(server: FakeNovelAI, role: str) -> str:
    return str(getattr(server, f"{role}_url"))


def _send(server: FakeNovelAI, role: str, method: str, path: str, token: str) -> httpx.Response:
    return httpx.request(method, _url(server, role) + path, headers={"Authorization": f"Bearer {token}"}, json={})


def _refused(response: httpx.Response, method: str, path: str) -> bool:
    """Whether this is one of the two answers of a host that does not serve the route."""
    not_found = {"statusCode": 404, "message": f"Cannot {method} {path}", "error": "Not Found"}
    return response.json() in (RETIRED, not_found) if response.status_code in (400, 404) else False


# --- each host serves its own routes ------------------------------------------------------------------------------


def test_three_urls_in_split_mode_and_one_in_single_mode() -> None:
    with FakeNovelAI(split_hosts=True) as server:
        assert 3 == len({server.api_url, server.text_url, server.image_url})
        assert {"api_url": server.api_url, "text_url": server.text_url, "image_url": server.image_url} == server.urls
        assert server.api_url == f"http://127.0.0.1:{server.port}"
        with pytest.raises(RuntimeError, match="no single base URL"):
            _ = server.base_url
    with FakeNovelAI() as single:
        assert [single.base_url] * 3 == [single.api_url, single.text_url, single.image_url]
        with pytest.raises(RuntimeError, match="split_hosts=True"):
            single.move_route("/user/keystore", to="api")


@pytest.mark.parametrize(
    ("method", "path", "serving"),
    [
        ("GET", "/", {"api"}),
        ("POST", "/user/login", {"image"}),
        ("GET", "/user/keystore", {"image"}),
        ("GET", "/user/objects/stories", {"image"}),
        ("DELETE", "/user/objects/batch", {"image"}),
        ("GET", "/user/subscription", {"image"}),
        ("POST", "/ai/generate", {"text", "api"}),
        ("POST", "/ai/generate-stream", {"text", "api"}),
        ("POST", "/ai/generate-image", {"image"}),
        ("POST", "/ai/upscale", {"image"}),
        ("GET", "/ai/generate-image/suggest-tags", {"image"}),
        ("POST", "/ai/annotate-image", {"api"}),
        ("POST", "/ai/generate-voice", {"api"}),
        ("GET", "/ai/module/all", {"api"}),
        ("POST", "/oa/v1/chat/completions", {"text"}),
    ],
)
def test_each_host_answers_only_its_routes(
    split: FakeNovelAI, token: str, method: str, path: str, serving: set[str]
) -> None:
    for role in ROLES:
        response = _send(split, role, method, path, token)
        assert (role not in serving) == _refused(response, method, path), (role, response.text)


def test_every_operation_of_the_spec_is_served_by_its_first_host_only(split: FakeNovelAI, token: str) -> None:
    for (method, template), hosts in HOSTS.items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        refused = {role for role in ROLES if _refused(_send(split, role, method, path, token), method, path)}
        shared = path in ("/ai/generate", "/ai/generate-stream")
        served = set(ROLES) - refused
        assert (set(hosts) if shared else {hosts[0]}) == served, (method, template)


def test_a_retired_user_route_on_the_api_host_answers_as_novelai_does(split: FakeNovelAI, token: str) -> None:
    response = httpx.get(split.api_url + "/user/keystore", headers={"Authorization": f"Bearer {token}"})
    assert 400 == response.status_code
    assert "application/json" in response.headers["content-type"]
    assert RETIRED == response.json()
    # Even without a token, and with a body.
    assert RETIRED == httpx.post(split.api_url + "/user/login", json={"key": "k" * 64}).json()


def test_a_route_a_host_does_not_have_is_nestjs_404(split: FakeNovelAI, token: str) -> None:
    response = httpx.get(
        split.text_url + "/user/keystore", headers={"Authorization": f"Bearer {token}"}, params={"a": "1"}
    )
    assert 404 == response.status_code
    assert {"statusCode": 404, "message": "Cannot GET /user/keystore?a=1", "error": "Not Found"} == response.json()
    voice = httpx.post(split.image_url + "/ai/generate-voice", json={"text": "hi"})
    assert {"statusCode": 404, "message": "Cannot POST /ai/generate-voice", "error": "Not Found"} == voice.json()


def test_a_request_no_operation_has_is_still_501_on_every_host(split: FakeNovelAI) -> None:
    for url in (split.api_url, split.text_url, split.image_url):
        assert 501 == httpx.get(url + "/no/such/route").status_code


def test_the_text_host_answers_generation_with_200_and_the_api_host_with_201(split: FakeNovelAI, token: str) -> None:
    body = {"input": "Hi", "model": "kayra-v1", "parameters": {"use_string": True, "min_length": 2, "max_length": 2}}
    auth = {"Authorization": f"Bearer {token}"}
    assert 200 == httpx.post(split.text_url + "/ai/generate", json=body, headers=auth).status_code
    assert 201 == httpx.post(split.api_url + "/ai/generate", json=body, headers=auth).status_code


def test_the_request_log_says_which_host(split: FakeNovelAI, token: str) -> None:
    _send(split, "api", "GET", "/user/priority", token)
    _send(split, "image", "GET", "/user/priority", token)
    expected = [
        LoggedRequest("GET", split.api_url.removeprefix("http://"), "/user/priority", 400, "api"),
        LoggedRequest("GET", split.image_url.removeprefix("http://"), "/user/priority", 200, "image"),
    ]
    assert expected == split.requests.all()
    assert expected[1:] == split.requests.matching("GET", "/user/*", role="image")


def test_single_url_mode_logs_no_role() -> None:
    with FakeNovelAI() as single:
        httpx.get(single.base_url + "/")
        assert [None] == [item.role for item in single.requests.all()]


# --- moving routes ------------------------------------------------------------------------------------------------


def test_move_route_mid_session(split: FakeNovelAI, token: str) -> None:
    def status(role: str) -> int:
        return _send(split, role, "GET", "/user/keystore", token).status_code

    assert (400, 404, 200) == (status("api"), status("text"), status("image"))
    split.move_route("/user/keystore", to="api")
    assert (200, 404, 404) == (status("api"), status("text"), status("image"))
    assert {"image": False, "api": True} == {
        role: not _refused(_send(split, role, "PUT", "/user/keystore", token), "PUT", "/user/keystore")
        for role in ("image", "api")
    }
    # A later move wins; restoring puts the spec's table back.
    split.move_route("/user/keystore", to="image")
    assert (400, 404, 200) == (status("api"), status("text"), status("image"))
    split.move_route("/user/*", to="text")
    retired_to_text = _send(split, "api", "GET", "/user/keystore", token).json()
    assert "update to the text URL" in retired_to_text["message"]
    split.restore_routes()
    assert (400, 404, 200) == (status("api"), status("text"), status("image"))


def test_move_route_by_pattern_and_method(split: FakeNovelAI, token: str) -> None:
    split.move_route("/user/objects/*", to="api", method="get")
    assert 200 == _send(split, "api", "GET", "/user/objects/stories", token).status_code
    assert 404 == _send(split, "image", "GET", "/user/objects/stories/abc", token).status_code
    # The PUT did not move.
    assert _refused(_send(split, "api", "PUT", "/user/objects/stories", token), "PUT", "/user/objects/stories")
    assert split.hosts is not None
    table = split.hosts.table()
    assert frozenset({"api"}) == table[("GET", "/user/objects/{type}/{id}")]
    assert frozenset({"image"}) == table[("PUT", "/user/objects/{type}")]


def test_move_route_refuses_what_it_cannot_do(split: FakeNovelAI) -> None:
    with pytest.raises(ValueError, match="no route matches"):
        split.move_route("/user/nothing-here", to="api")
    with pytest.raises(ValueError, match="no route matches"):
        split.move_route("/user/keystore", to="api", method="POST")
    with pytest.raises(ValueError, match="to must be one of"):
        split.move_route("/user/keystore", to="cdn")  # type: ignore[arg-type]


def test_moves_from_many_threads_all_apply(split: FakeNovelAI) -> None:
    paths = ["/user/keystore", "/user/data", "/user/priority", "/user/giftkeys", "/user/information", "/user/login"]
    barrier = threading.Barrier(len(paths))

    def move(path: str) -> None:
        barrier.wait()
        split.move_route(path, to="text")

    threads = [threading.Thread(target=move, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert split.hosts is not None
    table = split.hosts.table()
    assert {frozenset({"text"})} == {serving for (_, path), serving in table.items() if path in paths}


def test_standalone_module_prints_three_urls() -> None:
    command = [sys.executable, "-m", "nai_sdk.testing", "--split-hosts", "--port", "0", "--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"FakeNovelAI listening on api (\S+) text (\S+) image (\S+)\n", line)
        assert match is not None, line
        api, text, image = match.groups()
        assert 3 == len({api, text, image})
        assert 200 == httpx.get(api + "/").status_code
        assert 404 == httpx.get(image + "/").status_code
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert 0 == status


# --- the SDK against three hosts ----------------------------------------------------------------------------------

#: Where each route of the session below must go (the older model, Clio, is generated on the API host).
EXPECTED_HOST = {
    "/user/": "image",
    "/ai/generate-image": "image",
    "/ai/generate-voice": "api",
}


def _expected_role(item: LoggedRequest, older_model_calls: set[int], index: int) -> str:
    if item.path in ("/ai/generate", "/ai/generate-stream"):
        return "api" if index in older_model_calls else "text"
    return next(role for prefix, role in EXPECTED_HOST.items() if item.path.startswith(prefix))


@pytest.fixture
async def three_host_client(
    client_kind: str, split: FakeNovelAI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """A client of the parametrised kind on a fresh account, given only the three host URLs."""
    for name in list(os.environ):
        if name.startswith("NAI_") and name != "NAI_KEYSTORE_JOURNAL":
            monkeypatch.delenv(name)
    creds = Credentials(split)
    options: dict[str, Any] = {
        "email": creds.email,
        "password": creds.password,
        "api_url": split.api_url,
        "text_url": split.text_url,
        "image_url": split.image_url,
        "backoff": FAST_BACKOFF,
    }
    client: NovelAI | AsyncNovelAI
    if client_kind == "sync":
        client = NovelAI(**options)
    else:
        client = AsyncNovelAI(http_backend=client_kind.removeprefix("async-"), **options)  # type: ignore[arg-type]
    yield client
    if isinstance(client, AsyncNovelAI):
        await client.aclose()
    else:
        client.close()


async def test_a_whole_session_goes_to_the_right_hosts(split: FakeNovelAI, three_host_client: Any) -> None:
    nai = three_host_client
    subscription = await maybe(nai.account.subscription())
    assert 3 == subscription.tier
    await maybe(nai.storage.keystore())
    created = await maybe(nai.storage.create_story("A lantern", "The night was quiet."))
    stories = await maybe(nai.storage.stories())
    assert [("A lantern", True)] == [(s.title, s.ok) for s in stories]
    assert "The night was quiet." == stories[0].content.data["story"]["fragments"][0]["data"]
    assert created.content.id == stories[0].content.id
    assert len((await maybe(nai.text.generate("The night was", "kayra", max_length=4, min_length=4))).tokens) == 4
    pieces = await collect(nai.text.stream("The night was", "erato", max_length=4, min_length=4))
    assert 4 == len(pieces)
    before_clio = len(split.requests.all())
    assert (await maybe(nai.text.generate("The night was", "clio", max_length=2, min_length=2))).text
    image = await maybe(nai.image.generate("a lantern", V45Params(width=64, height=64, seed=1)))
    assert image.images[0].data.startswith(b"\x89PNG")
    assert len(await maybe(nai.voice.generate("Hello there.", seed="Aini"))) > 100

    log = split.requests.all()
    older = {before_clio}
    assert [] == [(i, item) for i, item in enumerate(log) if item.role != _expected_role(item, older, i)]
    assert [] == [item for item in log if item.status is None or item.status >= 400]
    seen = {(item.method, item.path, item.role) for item in log}
    for step in [
        ("POST", "/user/login", "image"),
        ("GET", "/user/subscription", "image"),
        ("GET", "/user/keystore", "image"),
        ("PUT", "/user/keystore", "image"),
        ("PUT", "/user/objects/stories", "image"),
        ("GET", "/user/objects/stories", "image"),
        ("POST", "/ai/generate", "text"),
        ("POST", "/ai/generate-stream", "text"),
        ("POST", "/ai/generate", "api"),
        ("POST", "/ai/generate-image", "image"),
        ("GET", "/ai/generate-voice", "api"),
    ]:
        assert step in seen, step


async def test_a_route_moved_mid_session_is_resent_once_then_sent_straight(
    split: FakeNovelAI, three_host_client: Any
) -> None:
    nai = three_host_client
    await maybe(nai.account.subscription())
    split.move_route("/user/subscription", to="api")
    for _ in range(3):
        assert 3 == (await maybe(nai.account.subscription())).tier
    expected = [("image", 200), ("image", 404), ("api", 200), ("api", 200), ("api", 200)]
    assert expected == [(item.role, item.status) for item in split.requests.matching("GET", "/user/subscription")]
    # The other account routes stayed where they were, and the client still sends them there.
    await maybe(nai.account.priority())
    assert [("image", 200)] == [(item.role, item.status) for item in split.requests.matching("GET", "/user/priority")]


async def test_a_storage_route_moved_mid_session_loses_nothing(split: FakeNovelAI, three_host_client: Any) -> None:
    nai = three_host_client
    await maybe(nai.storage.create_story("Before", "one"))
    split.requests.clear()
    split.move_route("/user/objects/*", to="api")
    await maybe(nai.storage.create_story("After", "two"))
    assert ["After", "Before"] == sorted(s.title for s in await maybe(nai.storage.stories()))
    # One refused request per route (PUT and GET of /user/objects/{type}), resent once; then straight to api.
    expected = [
        ("PUT", "/user/objects/storycontent", "image", 404),
        ("PUT", "/user/objects/storycontent", "api", 200),
        ("PUT", "/user/objects/stories", "api", 200),
        ("GET", "/user/objects/stories", "image", 404),
        ("GET", "/user/objects/stories", "api", 200),
        ("GET", "/user/objects/storycontent", "api", 200),
    ]
    moved = split.requests.matching(path="/user/objects/*")
    assert expected == [(item.method, item.path, item.role, item.status) for item in moved]


async def test_a_route_moved_back_is_followed_back(split: FakeNovelAI, three_host_client: Any) -> None:
    """NovelAI moves a route, then moves it back: the client follows each move once, then goes straight there."""
    nai = three_host_client
    split.move_route("/user/subscription", to="api")
    await maybe(nai.account.subscription())
    split.restore_routes()
    for _ in range(3):
        assert 3 == (await maybe(nai.account.subscription())).tier
    expected = [("image", 404), ("api", 200), ("api", 400), ("image", 200), ("image", 200), ("image", 200)]
    assert expected == [(item.role, item.status) for item in split.requests.matching("GET", "/user/subscription")]

"""Shared fixtures: one FakeNovelAI for the session, fresh accounts, and the client under test.

The session's `fake` serves the api, text and image hosts apart (`split_hosts=True`), as NovelAI does, so every
integration test also checks that each call goes to the host that serves it; `single_fake` (one URL for all three
hosts) is for the tests about `base_url` itself and for programs that only take one URL.

`client_kind` parametrises a test over the synchronous client and the asynchronous one on both transports; tests
written with `await maybe(...)` and `await collect(...)` (from `tests/_client_helpers.py`) run unchanged on all
three.
"""

from __future__ import annotations

import io
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from _cli_helpers import ENV_NAMES, Result

from nai_sdk import crypto
from nai_sdk._client import AsyncNovelAI, NovelAI
from nai_sdk._config import Backoff
from nai_sdk.cli import main
from nai_sdk.testing import FakeNovelAI

#: Waits between retries short enough for tests, with the same shape as the defaults.
FAST_BACKOFF = Backoff(initial=0.001, maximum=0.01, retry_after_cap=0.05)

CLIENT_KINDS = ("sync", "async-aiohttp", "async-httpx")


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeNovelAI]:
    """A split-host FakeNovelAI (Opus accounts by default) shared by the session.

    Faults and moved routes are cleared after each test.
    """
    with FakeNovelAI(default_tier=3, split_hosts=True) as server:
        yield server


@pytest.fixture(scope="session")
def single_fake() -> Iterator[FakeNovelAI]:
    """A FakeNovelAI answering all three hosts on one `base_url` (Opus accounts by default), shared by the session."""
    with FakeNovelAI(default_tier=3) as server:
        yield server


@pytest.fixture(scope="session", autouse=True)
def _keystore_journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Clients keep their keystore journal in a temporary folder, never in the user's home."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NAI_KEYSTORE_JOURNAL", str(tmp_path_factory.mktemp("keystore-journal")))
        yield


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("fake", "single_fake"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            server.faults.clear()
            server.restore_routes()


class Credentials:
    """A fresh account on the fake server: its e-mail, password, access key and a bearer token."""

    def __init__(self, server: FakeNovelAI) -> None:
        self.email = f"user-{secrets.token_hex(4)}@example.com"
        self.password = "pw-" + secrets.token_urlsafe(12)
        self.access_key = crypto.access_key(self.email, self.password)
        self.account, self.token = server.add_account(self.access_key, email=self.email)


@pytest.fixture
def creds(fake: FakeNovelAI) -> Credentials:
    return Credentials(fake)


@pytest.fixture
def single_creds(single_fake: FakeNovelAI) -> Credentials:
    """A fresh account on `single_fake`."""
    return Credentials(single_fake)


@pytest.fixture(params=CLIENT_KINDS)
def client_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def make_client(
    client_kind: str, fake: FakeNovelAI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    """Builds clients of the parametrised kind against the fake server's three hosts, and closes them after the test.

    A `base_url` given replaces the three host URLs.
    """
    for name in (
        "NAI_TOKEN",
        "NAI_USERNAME",
        "NAI_PASSWORD",
        "NAI_BASE_URL",
        "NAI_API_BASE_URL",
        "NAI_TEXT_BASE_URL",
        "NAI_IMAGE_BASE_URL",
        "NAI_HTTP_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)
    made: list[NovelAI | AsyncNovelAI] = []

    def build(**kwargs: Any) -> NovelAI | AsyncNovelAI:
        if "base_url" not in kwargs:
            for option, url in fake.urls.items():
                kwargs.setdefault(option, url)
        kwargs.setdefault("backoff", FAST_BACKOFF)
        client: NovelAI | AsyncNovelAI
        if client_kind == "sync":
            client = NovelAI(**kwargs)
        else:
            client = AsyncNovelAI(http_backend=client_kind.removeprefix("async-"), **kwargs)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield build
    for client in made:
        if isinstance(client, AsyncNovelAI):
            await client.aclose()
        else:
            client.close()


@pytest.fixture
def nai(make_client: Callable[..., Any], creds: Credentials) -> Any:
    """A client of the parametrised kind, logged in by e-mail and password on a fresh account."""
    return make_client(email=creds.email, password=creds.password)


# --- the nai command ------------------------------------------------------------------------------------------


@pytest.fixture
def closed_url() -> str:
    """A loopback URL nothing listens on: a free port, bound and closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def clean_cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI tests' environment: none of `ENV_NAMES`, and an empty stdin."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`run("generate", ...)`: `nai generate ...` in this process."""

    def call(*argv: str) -> Result:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def login_env(monkeypatch: pytest.MonkeyPatch, fake: FakeNovelAI, creds: Credentials) -> Credentials:
    """The fresh account's e-mail and password, and the fake's three hosts, in the environment (as a user sets them)."""
    monkeypatch.setenv("NAI_API_BASE_URL", fake.api_url)
    monkeypatch.setenv("NAI_TEXT_BASE_URL", fake.text_url)
    monkeypatch.setenv("NAI_IMAGE_BASE_URL", fake.image_url)
    monkeypatch.setenv("NAI_USERNAME", creds.email)
    monkeypatch.setenv("NAI_PASSWORD", creds.password)
    return creds

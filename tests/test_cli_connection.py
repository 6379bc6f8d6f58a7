"""A server that cannot be reached: the CLI retries briefly, then says which URL and how to fix it (exit 4).

Nothing here measures time: the tests count the connection attempts the CLI's transport saw, and check the waits
the CLI configures between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from _cli_helpers import Result

from nai_sdk import Backoff
from nai_sdk.cli import ExitCode
from nai_sdk.cli._connect import CLI_BACKOFF, ConnectionLog, client_options, refused_connection_wait
from nai_sdk.cli._parser import build_parser
from nai_sdk.testing import FakeNovelAI
from tests.conftest import Credentials

pytestmark = pytest.mark.usefixtures("clean_cli_env")

HINTS = ("--base-url", "NAI_BASE_URL", "nai fake-server")


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The URL of every request the CLI's transport sent, counted as it passes."""
    sent: list[str] = []
    handle = ConnectionLog.handle_request

    def counting(self: ConnectionLog, request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return handle(self, request)

    monkeypatch.setattr(ConnectionLog, "handle_request", counting)
    yield sent


def _assert_one_line(result: Result, code: int) -> None:
    assert code == result.code, result
    assert result.err.startswith("nai: "), result
    assert 1 == result.err.count("\n"), result
    assert "Traceback" not in result.err


# --- the message and the attempts --------------------------------------------------------------------------------


def test_a_refused_connection_names_the_url_and_the_fixes(
    run: Callable[..., Result], closed_url: str, attempts: list[str]
) -> None:
    result = run("login", "-e", "a@example.com", "--password", "pw-secret", "--base-url", closed_url)
    _assert_one_line(result, ExitCode.CONNECTION)
    assert result.err.startswith(f"nai: cannot reach NovelAI at {closed_url} (POST /user/login failed: ConnectError")
    for hint in HINTS:
        assert hint in result.err
    assert "pw-secret" not in result.err
    # The first attempt and the client's default 2 retries, all to the same URL: no more.
    assert [f"{closed_url}/user/login"] * 3 == attempts
    assert "; 3 attempts)" in result.err


def test_max_retries_0_tries_once(run: Callable[..., Result], closed_url: str, attempts: list[str]) -> None:
    result = run("generate", "Hi", "--token", "tok-secret", "--base-url", closed_url, "--max-retries", "0")
    _assert_one_line(result, ExitCode.CONNECTION)
    assert 1 == len(attempts)
    assert "; 1 attempt)" in result.err
    assert "tok-secret" not in result.err


def test_nai_max_retries_is_honoured(
    run: Callable[..., Result], closed_url: str, attempts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAI_MAX_RETRIES", "1")
    monkeypatch.setenv("NAI_BASE_URL", closed_url)
    result = run("generate", "Hi", "--token", "tok")
    _assert_one_line(result, ExitCode.CONNECTION)
    assert 2 == len(attempts)


def test_the_url_that_refused_is_named_not_the_others(
    run: Callable[..., Result], fake: FakeNovelAI, creds: Credentials, closed_url: str
) -> None:
    # The api host answers; only the text host is down, where generations go.
    result = run(
        "generate",
        "Hi",
        "--token",
        creds.token,
        "--api-base-url",
        fake.api_url,
        "--text-base-url",
        closed_url,
        "--image-base-url",
        fake.image_url,
    )
    _assert_one_line(result, ExitCode.CONNECTION)
    assert f"cannot reach NovelAI at {closed_url} " in result.err
    assert fake.api_url not in result.err


def test_a_command_that_needs_storage_fails_the_same_way(
    run: Callable[..., Result], closed_url: str, attempts: list[str]
) -> None:
    result = run("sanity-check", "-e", "a@example.com", "--password", "pw", "--base-url", closed_url)
    _assert_one_line(result, ExitCode.CONNECTION)
    assert 3 == len(attempts)


def test_doctor_tries_an_unreachable_url_once(run: Callable[..., Result], closed_url: str, attempts: list[str]) -> None:
    # Five route families on three hosts, all at one closed URL: one request (with its retries), not fifteen.
    result = run("doctor", "--token", "tok", "--base-url", closed_url)
    _assert_one_line(result, ExitCode.CONNECTION)
    assert 3 == len(attempts)
    assert f"cannot reach NovelAI at {closed_url}: no host accepted a connection" in result.err
    for hint in HINTS:
        assert hint in result.err


def test_doctor_reports_a_down_host_and_asks_the_others(
    run: Callable[..., Result], fake: FakeNovelAI, login_env_token: str, closed_url: str, attempts: list[str]
) -> None:
    result = run(
        "doctor",
        "--token",
        login_env_token,
        "--api-base-url",
        fake.api_url,
        "--text-base-url",
        closed_url,
        "--image-base-url",
        fake.image_url,
    )
    assert ExitCode.OK == result.code, result
    rows = {line.split()[0]: line for line in result.out.splitlines() if line.strip()}
    assert "no answer (not reached)" in rows["modules"]
    assert 3 == sum(url.startswith(closed_url) for url in attempts)


@pytest.fixture
def login_env_token(creds: Credentials) -> str:
    return creds.token


# --- the settings: brief retries after a refused connection ------------------------------------------------------


def _args(*argv: str) -> Any:
    return build_parser().parse_args(["login", *argv])


def test_the_client_gets_the_brief_backoff() -> None:
    options = client_options(_args("--base-url", "http://127.0.0.1:1"))
    assert CLI_BACKOFF == options["backoff"]
    assert options["max_retries"] is None  # NAI_MAX_RETRIES, then the SDK's default of 2
    assert "timeout" not in options  # NAI_TIMEOUT, then the SDK's default


def test_options_pass_through() -> None:
    options = client_options(_args("--max-retries", "0", "--timeout", "5", "--text-base-url", "http://x.test"))
    assert (0, 5.0, "http://x.test") == (options["max_retries"], options["timeout"], options["text_url"])


@pytest.mark.parametrize(
    ("argv", "message"), [(("--max-retries", "-1"), "0 or more"), (("--timeout", "0"), "positive")]
)
def test_bad_retry_options_are_usage_errors(run: Callable[..., Result], argv: tuple[str, ...], message: str) -> None:
    result = run("generate", "Hi", "--token", "tok", *argv)
    _assert_one_line(result, ExitCode.USAGE)
    assert message in result.err


def test_a_refused_connection_waits_half_a_second_at_most_in_all() -> None:
    # With the default 2 retries: 0.15 s + 0.3 s (jitter only shortens them), against the SDK's 0.5 s + 1 s.
    assert 0.45 == pytest.approx(refused_connection_wait())
    assert 1.5 == pytest.approx(refused_connection_wait(2, Backoff()))
    assert refused_connection_wait() <= 0.5
    # A larger --max-retries grows it by at most CLI_BACKOFF.maximum a retry.
    assert 0.15 + 0.3 + 0.6 + 1.0 + 1.0 == pytest.approx(refused_connection_wait(5))


def test_retry_after_hints_keep_the_sdk_cap() -> None:
    assert Backoff().retry_after_cap == CLI_BACKOFF.retry_after_cap

"""The client the CLI talks to NovelAI with: its options, and what it says when a server cannot be reached.

A command run by hand should not sit silent for seconds when the URL is wrong or the local fake is not running.
The SDK's default waits between retries (0.5 s, then 1 s) suit a program that can afford to wait out a blip; the
CLI keeps the same number of retries but waits `CLI_BACKOFF` between them, so a refused connection ends the command
within `refused_connection_wait()` seconds of waiting in all (about half a second), with one message naming the
URL that refused. Server hints (`Retry-After`) are honoured as in the SDK, and generations refused with 429 wait in
the account's queue as they always do (that wait does not use the backoff).

Imported only by commands that talk to NovelAI (it imports the HTTP client).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

import httpx

from nai_sdk import _constants as c
from nai_sdk._config import Backoff
from nai_sdk._http import make_sync_transport, never_reached_server
from nai_sdk.cli._errors import CliError, ExitCode

if TYPE_CHECKING:
    from nai_sdk import NovelAI
    from nai_sdk.cli._auth import Credentials

__all__ = ["CLI_BACKOFF", "ConnectionLog", "client_options", "connect", "refused_connection_wait"]

#: The waits between the CLI's retries: 0.15 s, then 0.3 s (each minus up to a quarter of jitter), at most 1 s.
CLI_BACKOFF: Final = Backoff(initial=0.15, maximum=1.0)


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of `NovelAI` for a command's server options (`--base-url`, `--timeout`, ...).

    `max_retries` is None unless `--max-retries` is given, so the client reads `NAI_MAX_RETRIES`, then its default.

    Raises:
        CliError: a negative `--max-retries` or a timeout that is not positive (`ExitCode.USAGE`).
    """
    if args.max_retries is not None and args.max_retries < 0:
        raise CliError("--max-retries must be 0 or more", ExitCode.USAGE)
    options: dict[str, Any] = {
        "base_url": args.base_url,
        "api_url": args.api_base_url,
        "text_url": args.text_base_url,
        "image_url": args.image_base_url,
        "max_retries": args.max_retries,
        "backoff": CLI_BACKOFF,
    }
    if args.timeout is not None:
        if args.timeout <= 0:
            raise CliError("--timeout must be a positive number of seconds", ExitCode.USAGE)
        options["timeout"] = args.timeout
    return options


def refused_connection_wait(max_retries: int = c.DEFAULT_MAX_RETRIES, backoff: Backoff = CLI_BACKOFF) -> float:
    """The longest the client waits between attempts in all before a refused connection ends the command, in seconds.

    Each retry waits `initial * 2**n`, at most `maximum`; jitter only shortens a wait.
    """
    return sum(min(backoff.initial * 2.0**attempt, backoff.maximum) for attempt in range(max_retries))


class ConnectionLog(httpx.BaseTransport):
    """The client's transport, noting each attempt that failed before any answer, and where it was sent.

    Args:
        inner: the transport that sends (the SDK's pooled one); closed with this one.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        #: The URL of every attempt that got no answer, in order.
        self.failures: list[httpx.URL] = []
        #: How many of them never made a connection (refused, unknown host, connect timeout).
        self.unconnected = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.inner.handle_request(request)
        except httpx.TransportError as exc:
            self.failures.append(request.url)
            if never_reached_server(exc):
                self.unconnected += 1
            raise

    def close(self) -> None:
        self.inner.close()


def _base_of(url: httpx.URL, bases: list[str]) -> str:
    """The configured base URL `url` was sent to (the longest that prefixes it), else its scheme, host and port."""
    text = str(url)
    matching = [base for base in bases if text.startswith(base.rstrip("/") + "/") or text == base]
    if matching:
        return max(matching, key=len)
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


def unreachable_message(exc: BaseException, log: ConnectionLog, bases: list[str]) -> str | None:
    """The one line for a request that got no answer: the URL, what failed, how often, and where to fix it.

    Returns:
        None when `log` saw no failed attempt (the error came from elsewhere: `describe` words it).
    """
    from nai_sdk.errors import APITimeoutError

    if not log.failures:
        return None
    where = _base_of(log.failures[-1], bases)
    attempts = len(log.failures)
    tried = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    if isinstance(exc, APITimeoutError) and not log.unconnected:
        return f"{where} did not answer in time ({exc}; {tried}): raise --timeout, or check --base-url or NAI_BASE_URL"
    return (
        f"cannot reach NovelAI at {where} ({exc}; {tried}): is the URL right? Set it with --base-url or "
        "NAI_BASE_URL, or start a local fake NovelAI with `nai fake-server`"
    )


@contextlib.contextmanager
def connect(args: argparse.Namespace, credentials: Credentials) -> Iterator[NovelAI]:
    """A `NovelAI` client for the command, closed at the end of the block.

    A request that gets no answer ends the command with `ExitCode.CONNECTION` and one message naming the URL.

    Raises:
        CliError: bad server options (`ExitCode.USAGE`), or a server that could not be reached
            (`ExitCode.CONNECTION`).
        ConfigurationError: a malformed URL or setting (reported as a usage error).
    """
    from nai_sdk import NovelAI
    from nai_sdk.errors import APIConnectionError

    options = client_options(args)
    log = ConnectionLog(make_sync_transport())
    try:
        client = NovelAI(
            token=credentials.token,
            email=credentials.email,
            password=credentials.password,
            transport=log,
            **options,
        )
        with client as nai:
            bases = [nai.options.api_url, nai.options.text_url, nai.options.image_url]
            try:
                yield nai
            except APIConnectionError as exc:
                message = unreachable_message(exc, log, bases)
                if message is None:
                    raise
                raise CliError(message, ExitCode.CONNECTION) from exc
    finally:
        log.close()

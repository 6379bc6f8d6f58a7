"""FakeNovelAI: the fake served by uvicorn on loopback, in a thread of the test process."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypedDict

import uvicorn

from ._app import FakeConfig, build_app
from ._faults import Fault, FaultInjector, RequestLog, install_log_filter
from ._hosts import ROLES, HostTable, Role
from ._state import TIERS, Account, FakeState, new_id

__all__ = ["NO_BODY", "FakeNovelAI", "HostURLs"]

_START_TIMEOUT = 10.0
NO_BODY: Any = object()
"""The default of `FakeNovelAI.inject(body=...)`: no body given, so the fault answers as its other settings say
(`body=None` answers JSON `null`)."""


class HostURLs(TypedDict):
    """The base URLs of the three hosts, named as the clients' options (so ``**urls`` type-checks)."""

    api_url: str
    text_url: str
    image_url: str


class FakeNovelAI:
    """A local NovelAI: a real HTTP server on 127.0.0.1 answering for the api, text and image hosts.

    By default one URL (:attr:`base_url`) answers every route, for all three hosts at once. With
    ``split_hosts=True`` the server listens on three ports, :attr:`api_url`, :attr:`text_url` and
    :attr:`image_url`, and each answers only the routes NovelAI serves on that host today (the spec's first
    choice for each route); elsewhere a route answers as NovelAI does (see :mod:`nai_sdk.testing._hosts`), and
    :meth:`move_route` moves one while the server runs.

    Example:
        >>> with FakeNovelAI(default_tier=3) as server:  # doctest: +SKIP
        ...     httpx.post(server.base_url + "/user/login", json={"key": key})
        >>> with FakeNovelAI(default_tier=3, split_hosts=True) as server:  # doctest: +SKIP
        ...     nai = NovelAI(email=email, password=password, **server.urls)

    ``async with FakeNovelAI() as server:`` works the same way; the server runs in its own thread either way, so
    a test's event loop never serves requests.

    Args:
        default_tier: Subscription tier (0 Paper, 1 Tablet, 2 Scroll, 3 Opus) of every new account; None (the
            default) gives new accounts no subscription, so AI routes answer 402 as NovelAI does.
        latency: Seconds added before every request.
        seed: Mixed into every generation (text, images, modules).
        state_file: JSON file the state is loaded from (if it exists) and saved to after every change.
        host: Interface to listen on.
        port: Port to listen on; 0 picks a free one. In split-host mode, the API host's port, with the text and
            image hosts on the next two (0: three free ones).
        log_level: uvicorn's log level.
        split_hosts: Serve the api, text and image hosts on three ports, each with its own routes.
        generation_latency: Seconds each generation runs while it holds the account's generation lock; an
            overlapping generation of the same account is answered 429 "Concurrent generation is locked".
    """

    def __init__(
        self,
        *,
        default_tier: int | None = None,
        latency: float = 0.0,
        seed: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        split_hosts: bool = False,
        generation_latency: float = 0.0,
    ) -> None:
        if default_tier is not None and default_tier not in TIERS:
            raise ValueError(f"default_tier must be one of {sorted(TIERS)} or None")
        if split_hosts and port and port + len(ROLES) - 1 > 65535:
            raise ValueError("split_hosts needs port, port + 1 and port + 2")
        self.state_file = Path(state_file) if state_file is not None else None
        self.state = (
            FakeState.load(self.state_file) if self.state_file is not None and self.state_file.exists() else FakeState()
        )
        self.faults = FaultInjector()
        #: Every request the server saw: method, Host header, path, status (None when cut) and, in split-host
        #: mode, the role of the host it reached.
        self.requests = RequestLog()
        self.config = FakeConfig(
            default_tier=default_tier,
            seed=seed,
            state_file=self.state_file,
            generation_latency=generation_latency,
        )
        #: Split-host mode: which host serves each route now (None in single-URL mode).
        self.hosts = HostTable() if split_hosts else None
        # Filled by start() once the sockets are bound; the app reads it at every request.
        self._roles: dict[int, Role] = {}
        self.app = build_app(self.state, self.config, self.faults, latency, self.requests, self.hosts, self._roles)
        self._host = host
        self._port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sockets: list[socket.socket] = []

    # -- lifecycle ------------------------------------------------------------------------------------------------

    @property
    def split_hosts(self) -> bool:
        """Whether the three hosts are served apart (see the class)."""
        return self.hosts is not None

    @property
    def port(self) -> int:
        """The port the server listens on (known once started); the API host's in split-host mode."""
        if not self._sockets:
            raise RuntimeError("the server is not running")
        port: int = self._sockets[0].getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: use it as the base URL of every NovelAI host (single-URL mode only).

        Raises:
            RuntimeError: The server is not running, or serves the hosts apart (use :attr:`urls`).
        """
        if self.hosts is not None:
            raise RuntimeError(
                "a FakeNovelAI with split_hosts=True has no single base URL: use api_url, text_url and image_url"
            )
        return self._url(0)

    @property
    def api_url(self) -> str:
        """Base URL of the API host (:attr:`base_url` in single-URL mode)."""
        return self._url(0)

    @property
    def text_url(self) -> str:
        """Base URL of the text host (:attr:`base_url` in single-URL mode)."""
        return self._url(1)

    @property
    def image_url(self) -> str:
        """Base URL of the image host (:attr:`base_url` in single-URL mode)."""
        return self._url(2)

    @property
    def urls(self) -> HostURLs:
        """The three base URLs as client options: ``NovelAI(token=..., **server.urls)``."""
        return HostURLs(api_url=self.api_url, text_url=self.text_url, image_url=self.image_url)

    def _url(self, index: int) -> str:
        if not self._sockets:
            raise RuntimeError("the server is not running")
        port = self._sockets[index if self.hosts is not None else 0].getsockname()[1]
        return f"http://{self._host}:{port}"

    def start(self) -> None:
        """Start serving in a background thread; returns once the server accepts connections.

        Raises:
            RuntimeError: Already running, or the server did not come up within 10 seconds.
        """
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        install_log_filter()
        # Binding the sockets here (not in uvicorn) makes the ports known before the thread starts. One uvicorn
        # server listens on all of them; the app tells the hosts apart by the local port of each connection.
        count = len(ROLES) if self.hosts is not None else 1
        sockets: list[socket.socket] = []
        try:
            for index in range(count):
                sockets.append(_listen(self._host, self._port + index if self._port else 0))
        except OSError:
            # A port in use must not leak the sockets (a ResourceWarning, an error under filterwarnings=error).
            for sock in sockets:
                sock.close()
            raise
        if self.hosts is not None:
            self._roles.update({sock.getsockname()[1]: role for sock, role in zip(sockets, ROLES, strict=True)})
        config = uvicorn.Config(
            self.app,
            log_level=self._log_level,
            lifespan="off",
            access_log=False,
            # An open SSE stream must not keep stop() waiting.
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, name="FakeNovelAI", daemon=True)
        self._sockets, self._server, self._thread = sockets, server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("FakeNovelAI did not start")
            time.sleep(0.001)

    def stop(self) -> None:
        """Stop the server, wait for its thread and save the state (if a state file was given)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()
        self._server = self._thread = None
        self._sockets = []
        self._roles.clear()
        self.save()

    def save(self) -> None:
        """Write the state to the state file now (a no-op without one)."""
        if self.state_file is not None:
            self.state.save(self.state_file)

    def __enter__(self) -> FakeNovelAI:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeNovelAI:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- helpers for tests ----------------------------------------------------------------------------------------

    def inject(
        self,
        path: str,
        *,
        method: str | None = None,
        times: int = 1,
        status: int | None = None,
        retry_after: float | None = None,
        message: str | None = None,
        latency: float = 0.0,
        drop_after_bytes: int | None = None,
        drop_mid_stream: int | None = None,
        slow_stream: float = 0.0,
        cut: Literal["before", "after"] | None = None,
        body: Any = NO_BODY,
    ) -> Fault:
        """Make the next ``times`` requests matching ``path`` misbehave (for clients that cannot set headers).

        Args:
            path: Request path, or an ``fnmatch`` pattern such as ``/user/objects/*``.
            method: Only requests with this method (default: any).
            times: How many requests the fault applies to.
            status: Answer this status (an ``ApiError`` body) instead of handling the request.
            retry_after: ``Retry-After`` seconds of that answer.
            message: Message of that answer.
            latency: Seconds to wait first.
            drop_after_bytes: Close the connection after this many body bytes.
            drop_mid_stream: Close the connection after this many body chunks (SSE events).
            slow_stream: Seconds to wait before each body chunk (SSE event).
            cut: "before": close the connection without handling the request; "after": handle it, then close the
                connection before the answer (the change is made; the client sees a connection error).
            body: Answer this JSON value (with ``status``, default 200) instead of handling the request; for
                answers no route gives, such as a keystore answer of ``[]``.

        Returns:
            The queued fault.
        """
        fault = Fault(
            status=status,
            retry_after=retry_after,
            message=message,
            latency=latency,
            drop_after_bytes=drop_after_bytes,
            drop_mid_stream=drop_mid_stream,
            slow_stream=slow_stream,
            cut=cut,
            body=None if body is NO_BODY else json.dumps(body),
        )
        self.faults.add(path, fault, method=method, times=times)
        return fault

    def move_route(self, path: str, *, to: Role, method: str | None = None) -> None:
        """Move routes to another host while the server runs (split-host mode), as NovelAI does now and then.

        From the next request on, only ``to`` serves the matching routes; the host that served them answers as
        NovelAI does for a route it no longer has (400 "update to the image URL" for ``/user/*`` on the API host,
        else NestJS's 404 "Cannot GET /path"). A later move of the same route wins; :meth:`restore_routes` undoes
        them all.

        Args:
            path: Request path or route template, or an ``fnmatch`` pattern of either, such as
                ``/user/objects/*`` or ``/user/keystore``.
            to: The host that serves them from now on: "api", "text" or "image".
            method: Only the route with this method (default: every method of the path).

        Raises:
            RuntimeError: The server serves every route on one URL (``split_hosts=False``).
            ValueError: ``to`` is not a host, or no route matches.
        """
        if self.hosts is None:
            raise RuntimeError("move_route needs a FakeNovelAI with split_hosts=True")
        self.hosts.move(path, to, method=method)

    def restore_routes(self) -> None:
        """Undo every :meth:`move_route`: each route is served where the spec says again (a no-op when not split)."""
        if self.hosts is not None:
            self.hosts.reset()

    def add_account(
        self,
        access_key: str | None = None,
        *,
        email: str | None = None,
        tier: int | None = None,
        days: int = 30,
        subscribed: bool = True,
    ) -> tuple[Account, str]:
        """Create an account directly, skipping registration.

        Args:
            access_key: Its access key (default: 64 random characters).
            email: Its cleartext e-mail.
            tier: Subscription tier to grant (default: the server's ``default_tier``).
            days: Length of that subscription.
            subscribed: False creates the account without a subscription, whatever ``tier`` and the server's
                ``default_tier`` say.

        Returns:
            The account and a bearer token for it.
        """
        key = access_key if access_key is not None else secrets.token_urlsafe(48)[:64]
        with self.state.lock:
            if self.state.account_by_key(key) is not None:
                raise ValueError("an account with this access key exists")
            account = Account(id=new_id(), access_key=key, email=email)
            chosen = tier if tier is not None else self.config.default_tier
            if chosen is not None and subscribed:
                account.grant(chosen, days)
            self.state.accounts[account.id] = account
            token = self.state.issue_token(account)
        return account, token

    def add_giftkey(self, tier: int = 3, days: int = 30, key: str | None = None) -> str:
        """Mint a gift key that ``/user/subscription/bind`` (or registration) redeems once for ``tier``."""
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {sorted(TIERS)}")
        gift = key if key is not None else secrets.token_hex(12)
        with self.state.lock:
            self.state.giftkeys[gift] = {"tier": tier, "days": days, "usedBy": None}
        return gift

    def __repr__(self) -> str:
        if not self._sockets:
            where = "stopped"
        elif self.hosts is not None:
            where = f"api {self.api_url}, text {self.text_url}, image {self.image_url}"
        else:
            where = self.base_url
        return f"<FakeNovelAI {where}: {len(self.state.accounts)} accounts>"


def _listen(host: str, port: int) -> socket.socket:
    # The explicit IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it Nagle + delayed ACKs add 40 ms to every response sent in two writes (headers, then body).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock

"""The login, the keystore and the engines that run flows: the one home of a client's shared state.

A `Session` is what a client and all its `with_options` copies share: the bearer token, the keys derived from the
e-mail and password (the password itself is never kept), and the account keystore with its lock. An engine
(`SyncEngine`, `AsyncEngine`) is one client's way of running flows: it sends each `Call` over the client's HTTP
stack with the session's token, logs in (again) when needed, and serves the runner requests of flows (`Acquire`,
`Pause`). Resources hold an engine and talk to nothing else, so they never reach into a client.

Each call goes to the host `nai_sdk._routing.route` picks; an answer that proves the route moved (see there) sends
it once more, to the host that serves it now, and the move is remembered in the session.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from nai_sdk import _constants as c
from nai_sdk._config import ClientOptions, Host
from nai_sdk._http import AsyncHTTP, Call, Kind, SyncHTTP
from nai_sdk._locks import Acquire, Pause
from nai_sdk._routing import log_move, moved_to, route
from nai_sdk.errors import APIStatusError, AuthenticationError, ConfigurationError, NovelAIError

if TYPE_CHECKING:
    from nai_sdk.resources._base import Flow
    from nai_sdk.resources._keystore import KeystoreJournal, KeystoreState

__all__ = ["AsyncEngine", "Session", "SyncEngine", "make_session"]

T = TypeVar("T")

NO_CREDENTIALS = (
    "no credentials: pass token= or email= and password=, or set NAI_TOKEN or NAI_USERNAME and NAI_PASSWORD"
)


class Session:
    """The secrets of one login and the account keystore, shared by a client and every `with_options` copy of it.

    Attributes are deliberately plain (no attrs, no dataclass) so that no generated repr or eq can ever show them.

    Attributes:
        authorization: the `Authorization` header value, or None before the first login.
        access_key: the key that logs in (from the e-mail and password), or None for a token-only client.
        keystore: the account keystore, cached, behind its own lock (see `nai_sdk.resources._keystore`).
        moves: the routes this client saw move to another host, and where to.
    """

    __slots__ = ("_encryption_key", "access_key", "async_lock", "authorization", "keystore", "moves", "sync_lock")

    def __init__(
        self,
        token: str | None,
        access_key: str | None,
        encryption_key: bytes | None,
        journal: KeystoreJournal | None = None,
    ) -> None:
        from nai_sdk.resources._keystore import KeystoreState

        self.authorization: str | None = f"Bearer {token}" if token else None
        self.access_key = access_key
        self._encryption_key = encryption_key
        self.keystore: KeystoreState = KeystoreState(journal)
        # Routes seen to have moved to another host (see nai_sdk._routing): remembered for the client's life.
        self.moves: dict[tuple[str, str, str], Host] = {}
        # Serialise logins: threads of a NovelAI, tasks of an AsyncNovelAI (one asyncio lock, made on first use).
        self.sync_lock = threading.Lock()
        self.async_lock: asyncio.Lock | None = None

    @property
    def token(self) -> str | None:
        """The bearer token in use, or None."""
        return self.authorization[len("Bearer ") :] if self.authorization else None

    @property
    def encryption_key(self) -> bytes:
        """The key that opens the keystore.

        Raises:
            ConfigurationError: the client has no e-mail and password (a token cannot open the keystore).
        """
        if self._encryption_key is None:
            raise ConfigurationError("opening the keystore needs the account e-mail and password (not only a token)")
        return self._encryption_key

    def switch_keys(self, access_key: str, encryption_key: bytes) -> None:
        """Use new account keys (after the e-mail or password changed)."""
        self.access_key = access_key
        self._encryption_key = encryption_key

    def __repr__(self) -> str:
        return "<session redacted>"


def make_session(
    token: str | None,
    email: str | None,
    password: str | None,
    environ: Mapping[str, str],
    journal: str | os.PathLike[str] | bool | None = None,
) -> Session:
    """The session of a new client. Arguments win as a group over the environment, so `NovelAI(token=...)` never
    mixes in `NAI_USERNAME`.

    Raises:
        ConfigurationError: a non-ASCII token, or an e-mail without a password (or the reverse).
    """
    if token is None and email is None and password is None:
        token = environ.get(c.ENV_TOKEN) or None
        email = environ.get(c.ENV_USERNAME) or None
        password = environ.get(c.ENV_PASSWORD) or None
    if token is not None and not token.isascii():
        # Never shown: a mistyped token may still be most of a real one.
        raise ConfigurationError("the token must be ASCII (it is sent in an HTTP header)")
    if (email is None) != (password is None):
        raise ConfigurationError("an e-mail needs a password and a password needs an e-mail")
    access_key = encryption = None
    if email is not None and password is not None:
        from nai_sdk import crypto

        access_key = crypto.access_key(email, password)
        encryption = crypto.encryption_key(email, password)
    from nai_sdk.resources._keystore import KeystoreJournal

    return Session(token, access_key, encryption, KeystoreJournal.resolve(journal, environ))


def login_flow(access_key: str) -> Flow[str]:
    """`POST /user/login`: the new access token."""
    from nai_client.api.user import login
    from nai_client.models import LoginRequest

    from nai_sdk.resources._base import call

    # Logging in changes nothing on the server but a session list: safe to retry like a GET.
    body = LoginRequest(key=access_key)
    answer = yield from call(login.operation.bind(body=body), kind=Kind.IDEMPOTENT, auth=False)
    return answer.access_token


def _moved(session: Session, options: ClientOptions, error: APIStatusError, call: Call, host: Host) -> Host | None:
    """Where to resend `call` after `error` from `host`, remembering the move (None: not a move).

    Moves are remembered against the host the route would go to without them, so a route that moves on again,
    or back, is remembered where it is now (and a move back to where it started is simply forgotten).
    """
    new = moved_to(error, call, host)
    if new is not None:
        intended = route(call, options, {})
        key = (call.op.method, call.op.path, intended)
        if session.moves.get(key, intended) != new:
            log_move(call, host, new)
            if new == intended:
                session.moves.pop(key, None)
            else:
                session.moves[key] = new
    return new


class SyncEngine:
    """Runs flows for a `NovelAI`: blocking I/O, one thread or many.

    Attributes:
        options: the client's settings.
        session: the login and keystore it shares with its `with_options` copies.
    """

    __slots__ = ("_http", "options", "session")

    def __init__(self, options: ClientOptions, transport: httpx.BaseTransport, session: Session) -> None:
        self.options = options
        self.session = session
        self._http = SyncHTTP(options, transport)

    @property
    def transport_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions the transport raises while a streamed body is read (mapped by `_http.stream_error`)."""
        return self._http.raw_errors

    def run(self, flow: Flow[T]) -> T:
        """Runs a flow to its end and returns its value; API errors are thrown into the flow."""
        try:
            step = next(flow)
            while True:
                if isinstance(step, Acquire):
                    step.semaphore.acquire()
                    step = flow.send(None)
                elif isinstance(step, Pause):
                    time.sleep(step.seconds)
                    step = flow.send(None)
                else:
                    try:
                        result = self._send(step)
                    except NovelAIError as exc:
                        step = flow.throw(exc)
                    else:
                        # Not kept alive while the next request is sent: a page of a listing can be megabytes.
                        step, result = flow.send(result), None
        except StopIteration as stop:
            value: T = stop.value
            return value
        finally:
            # Runs the flow's own `finally` blocks (releasing what it acquired) when something other than an API
            # error (KeyboardInterrupt, a bug) stopped it half way; a no-op for a flow that finished.
            flow.close()

    def login(self) -> str:
        """Logs in now with the e-mail and password; returns the new access token.

        Raises:
            ConfigurationError: the client was built from a token only.
        """
        session = self.session
        if session.access_key is None:
            raise ConfigurationError("logging in needs an e-mail and a password")
        with session.sync_lock:
            token = self.run(login_flow(session.access_key))
            session.authorization = "Bearer " + token
        return token

    def _authorization(self, stale: str | None) -> str:
        """The Authorization header, logging in when there is none yet or the one in use (`stale`) was refused."""
        session = self.session
        with session.sync_lock:
            current = session.authorization
            if current is not None and current != stale:
                return current
            if session.access_key is None:
                raise ConfigurationError(NO_CREDENTIALS)
            session.authorization = "Bearer " + self.run(login_flow(session.access_key))
            return session.authorization

    def _send(self, call: Call) -> Any:
        host = route(call, self.options, self.session.moves)
        try:
            return self._send_to(call, host)
        except APIStatusError as exc:
            new = _moved(self.session, self.options, exc, call, host) if call.follow_moves else None
            if new is None:
                raise
            return self._send_to(call, new)

    def _send_to(self, call: Call, host: Host) -> Any:
        if not call.auth:
            return self._http.send(call, None, host)
        authorization = self.session.authorization or self._authorization(None)
        try:
            return self._http.send(call, authorization, host)
        except AuthenticationError:
            # An expired session token: log in again once, if we can; a refused static token stays refused.
            if self.session.access_key is None:
                raise
            return self._http.send(call, self._authorization(authorization), host)

    def open_stream(self, call: Call) -> httpx.Response:
        """Sends a streamed request and returns the open response (its body not read yet)."""
        host = route(call, self.options, self.session.moves)
        try:
            return self._open_stream_to(call, host)
        except APIStatusError as exc:
            new = _moved(self.session, self.options, exc, call, host) if call.follow_moves else None
            if new is None:
                raise
            return self._open_stream_to(call, new)

    def _open_stream_to(self, call: Call, host: Host) -> httpx.Response:
        authorization = self.session.authorization or self._authorization(None)
        try:
            return self._http.open_stream(call, authorization, host)
        except AuthenticationError:
            if self.session.access_key is None:
                raise
            return self._http.open_stream(call, self._authorization(authorization), host)

    def close(self) -> None:
        """Closes the transport."""
        self._http.close()


class AsyncEngine:
    """Runs flows for an `AsyncNovelAI` (see `SyncEngine`)."""

    __slots__ = ("_http", "options", "session")

    def __init__(self, options: ClientOptions, transport: httpx.AsyncBaseTransport, session: Session) -> None:
        self.options = options
        self.session = session
        self._http = AsyncHTTP(options, transport)

    @property
    def transport_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions the transport raises while a streamed body is read."""
        return self._http.raw_errors

    async def run(self, flow: Flow[T]) -> T:
        """Runs a flow to its end (see `SyncEngine.run`)."""
        try:
            step = next(flow)
            while True:
                if isinstance(step, Acquire):
                    await step.semaphore.acquire_async()
                    step = flow.send(None)
                elif isinstance(step, Pause):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                else:
                    try:
                        result = await self._send(step)
                    except NovelAIError as exc:
                        step = flow.throw(exc)
                    else:
                        step, result = flow.send(result), None
        except StopIteration as stop:
            value: T = stop.value
            return value
        finally:
            # A cancelled task must not keep what its flow acquired.
            flow.close()

    def _lock(self) -> asyncio.Lock:
        session = self.session
        if session.async_lock is None:
            session.async_lock = asyncio.Lock()
        return session.async_lock

    async def login(self) -> str:
        """Logs in now with the e-mail and password (see `SyncEngine.login`)."""
        session = self.session
        if session.access_key is None:
            raise ConfigurationError("logging in needs an e-mail and a password")
        async with self._lock():
            token = await self.run(login_flow(session.access_key))
            session.authorization = "Bearer " + token
        return token

    async def _authorization(self, stale: str | None) -> str:
        session = self.session
        async with self._lock():
            current = session.authorization
            if current is not None and current != stale:
                return current
            if session.access_key is None:
                raise ConfigurationError(NO_CREDENTIALS)
            session.authorization = "Bearer " + await self.run(login_flow(session.access_key))
            return session.authorization

    async def _send(self, call: Call) -> Any:
        host = route(call, self.options, self.session.moves)
        try:
            return await self._send_to(call, host)
        except APIStatusError as exc:
            new = _moved(self.session, self.options, exc, call, host) if call.follow_moves else None
            if new is None:
                raise
            return await self._send_to(call, new)

    async def _send_to(self, call: Call, host: Host) -> Any:
        if not call.auth:
            return await self._http.send(call, None, host)
        authorization = self.session.authorization or await self._authorization(None)
        try:
            return await self._http.send(call, authorization, host)
        except AuthenticationError:
            if self.session.access_key is None:
                raise
            return await self._http.send(call, await self._authorization(authorization), host)

    async def open_stream(self, call: Call) -> httpx.Response:
        """Sends a streamed request and returns the open response (see `SyncEngine.open_stream`)."""
        host = route(call, self.options, self.session.moves)
        try:
            return await self._open_stream_to(call, host)
        except APIStatusError as exc:
            new = _moved(self.session, self.options, exc, call, host) if call.follow_moves else None
            if new is None:
                raise
            return await self._open_stream_to(call, new)

    async def _open_stream_to(self, call: Call, host: Host) -> httpx.Response:
        authorization = self.session.authorization or await self._authorization(None)
        try:
            return await self._http.open_stream(call, authorization, host)
        except AuthenticationError:
            if self.session.access_key is None:
                raise
            return await self._http.open_stream(call, await self._authorization(authorization), host)

    async def aclose(self) -> None:
        """Closes the transport."""
        await self._http.aclose()

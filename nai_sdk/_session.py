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
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from nai_sdk import _constants as c
from nai_sdk._config import ClientOptions, Host
from nai_sdk._http import AsyncHTTP, Call, Kind, SyncHTTP
from nai_sdk._locks import Acquire, Pause
from nai_sdk._queue import STREAM_GRACE_SECONDS, GenerationQueue, account_key, log_wait, queue_for
from nai_sdk._request import PerCall, enter, leave
from nai_sdk._routing import log_move, moved_to, route
from nai_sdk.errors import (
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    NovelAIError,
    QueueTimeoutError,
    RateLimitError,
)

if TYPE_CHECKING:
    from nai_sdk.resources._base import Flow
    from nai_sdk.resources._keystore import KeystoreJournal, KeystoreState

__all__ = ["AsyncEngine", "Session", "SyncEngine", "make_session"]

T = TypeVar("T")

logger = logging.getLogger("nai_sdk")

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
        queue: the account's generation queue (`nai_sdk._queue`), shared by every client of the account.
    """

    __slots__ = (
        "_encryption_key",
        "access_key",
        "async_lock",
        "authorization",
        "keystore",
        "moves",
        "queue",
        "sync_lock",
    )

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
        # The account's generation queue, shared in the process (attached by the client: see attach_queue).
        self.queue: GenerationQueue = GenerationQueue()
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

    def attach_queue(self, options: ClientOptions) -> None:
        """Join the account's generation queue of this process (made with `options` if it is the first)."""
        key = account_key(self.access_key, self.token)
        self.queue = queue_for(
            key, options.generation_slots, options.min_generation_interval, options.daily_generation_budget
        )

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
    anonymous: bool = False,
) -> Session:
    """The session of a new client. Arguments win as a group over the environment, so `NovelAI(token=...)` never
    mixes in `NAI_USERNAME`.

    Raises:
        ConfigurationError: a non-ASCII or empty token, an e-mail without a password (or the reverse), or no
            credentials at all without `anonymous`.
    """
    if token is None and email is None and password is None:
        token = environ.get(c.ENV_TOKEN) or None
        email = environ.get(c.ENV_USERNAME) or None
        password = environ.get(c.ENV_PASSWORD) or None
    for name, value in (("token", token), ("email", email), ("password", password)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigurationError(f"{name} must be a non-empty str")
    if token is not None and not token.isascii():
        # Never shown: a mistyped token may still be most of a real one.
        raise ConfigurationError("the token must be ASCII (it is sent in an HTTP header)")
    if (email is None) != (password is None):
        raise ConfigurationError("an e-mail needs a password and a password needs an e-mail")
    if token is None and email is None and not anonymous:
        raise ConfigurationError(
            NO_CREDENTIALS + "; or anonymous=True for a client that only calls routes needing none (account recovery)"
        )
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


def _deadline(options: ClientOptions) -> float | None:
    return None if options.queue_timeout is None else time.monotonic() + options.queue_timeout


def _timed_out(call: Call, what: str) -> QueueTimeoutError:
    return QueueTimeoutError(
        f"{call.op.method} {call.op.path}: gave up {what} after queue_timeout; nothing was generated",
        status_code=429,
    )


#: The 429 that means another generation of the account runs (on another device): it was refused, so resending is
#: safe; waits are short and jittered.
_CONCURRENT = ("concurrent generation", "generation is locked")


def _after_429(error: RateLimitError, deadline: float | None, call: Call) -> float:
    """How long to wait before resending a generation refused with 429, or QueueTimeoutError past the deadline."""
    message = error.message.lower() if isinstance(error.message, str) else ""
    if any(marker in message for marker in _CONCURRENT):
        delay = random.uniform(0.05, 0.5)
    else:
        hint = error.retry_after
        delay = (hint if hint is not None else 1.0) + random.uniform(0, 0.25)
    if deadline is not None and time.monotonic() + delay > deadline:
        raise _timed_out(call, f"resending after 429 ({error.message})") from error
    logger.info("%s %s refused with 429 (%s); resending in %.2f s", call.op.method, call.op.path, error.message, delay)
    return delay


_RELEASE_LOCK = threading.Lock()


class _Releasing(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A streamed body that gives the generation's place back when it is closed (later if it was cut)."""

    def __init__(self, inner: Any, queue: GenerationQueue) -> None:
        self._inner = inner
        self._queue = queue
        self._ended = False
        self._released = False

    def __iter__(self) -> Any:
        yield from self._inner
        self._ended = True

    async def __aiter__(self) -> Any:
        async for chunk in self._inner:
            yield chunk
        self._ended = True

    def release_if_open(self) -> None:
        """For a response collected without being closed: counts as cut."""
        self._release()

    def _release(self) -> None:
        with _RELEASE_LOCK:
            if self._released:
                return
            self._released = True
        if self._ended:
            self._queue.semaphore.release()
        else:
            self._queue.release_later(STREAM_GRACE_SECONDS)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._release()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._release()


def _release_with(response: httpx.Response, queue: GenerationQueue) -> None:
    """Hands the held place to `response`: released when its body is closed.

    A body that already arrived whole (an in-memory transport reads it at once) ended the generation: the place is
    given back now. A response dropped without being closed gives it back when it is collected, as a cut.
    """
    if response.is_closed:
        queue.semaphore.release()
        return
    releasing = _Releasing(response.stream, queue)
    response.stream = releasing
    weakref.finalize(response, releasing.release_if_open)


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

    def run(self, flow: Flow[T], request: PerCall | None = None) -> T:
        """Runs a flow to its end and returns its value; API errors are thrown into the flow.

        `request` holds the per-call options of the method (`nai_sdk.RequestOptions`), applied to every request the
        flow sends; a run without them (a login the flow needed) sends none.
        """
        token = enter(request)
        try:
            return self._run(flow)
        finally:
            leave(token)

    def _run(self, flow: Flow[T]) -> T:
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
        if call.op.generation:
            return self._generation(call, stream=False)
        return self._send_routed(call)

    def _generation(self, call: Call, stream: bool) -> Any:
        """A generation: a place in the account's queue, then the call, resent after 429s until the deadline."""
        queue = self.session.queue
        deadline = _deadline(self.options)
        if queue.semaphore.locked():
            log_wait(queue, call.op.method, call.op.path)
        if not queue.semaphore.acquire(None if deadline is None else max(0.0, deadline - time.monotonic())):
            raise _timed_out(call, "waiting for the account's generation queue")
        handed_over = False
        try:
            pause = queue.start()
            if pause:
                time.sleep(pause)
            while True:
                try:
                    if not stream:
                        return self._send_routed(call)
                    response = self._open_stream_routed(call)
                    _release_with(response, queue)
                    handed_over = True
                    return response
                except RateLimitError as exc:
                    delay = _after_429(exc, deadline, call)
                    time.sleep(delay)
        finally:
            if not handed_over:
                queue.semaphore.release()

    def _send_routed(self, call: Call) -> Any:
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

    def open_stream(self, call: Call, request: PerCall | None = None) -> httpx.Response:
        """Sends a streamed request and returns the open response (its body not read yet).

        A generation keeps its place in the account's queue until the response is closed: at once when it was read
        to the end, `STREAM_GRACE_SECONDS` later when it was cut (the server finishes it anyway). `request` holds
        the per-call options (see `run`).
        """
        token = enter(request)
        try:
            return self._open_stream(call)
        finally:
            leave(token)

    def _open_stream(self, call: Call) -> httpx.Response:
        if call.op.generation:
            response: httpx.Response = self._generation(call, stream=True)
            return response
        return self._open_stream_routed(call)

    def _open_stream_routed(self, call: Call) -> httpx.Response:
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

    async def run(self, flow: Flow[T], request: PerCall | None = None) -> T:
        """Runs a flow to its end (see `SyncEngine.run`)."""
        token = enter(request)
        try:
            return await self._run(flow)
        finally:
            leave(token)

    async def _run(self, flow: Flow[T]) -> T:
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
        if call.op.generation:
            return await self._generation(call, stream=False)
        return await self._send_routed(call)

    async def _generation(self, call: Call, stream: bool) -> Any:
        """A generation: a place in the account's queue (see `SyncEngine._generation`)."""
        queue = self.session.queue
        deadline = _deadline(self.options)
        if queue.semaphore.locked():
            log_wait(queue, call.op.method, call.op.path)
        try:
            if deadline is None:
                await queue.semaphore.acquire_async()
            else:
                await asyncio.wait_for(queue.semaphore.acquire_async(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise _timed_out(call, "waiting for the account's generation queue") from None
        handed_over = False
        try:
            pause = queue.start()
            if pause:
                await asyncio.sleep(pause)
            while True:
                try:
                    if not stream:
                        return await self._send_routed(call)
                    response = await self._open_stream_routed(call)
                    _release_with(response, queue)
                    handed_over = True
                    return response
                except RateLimitError as exc:
                    await asyncio.sleep(_after_429(exc, deadline, call))
        finally:
            if not handed_over:
                queue.semaphore.release()

    async def _send_routed(self, call: Call) -> Any:
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

    async def open_stream(self, call: Call, request: PerCall | None = None) -> httpx.Response:
        """Sends a streamed request and returns the open response (see `SyncEngine.open_stream`)."""
        token = enter(request)
        try:
            return await self._open_stream(call)
        finally:
            leave(token)

    async def _open_stream(self, call: Call) -> httpx.Response:
        if call.op.generation:
            response: httpx.Response = await self._generation(call, stream=True)
            return response
        return await self._open_stream_routed(call)

    async def _open_stream_routed(self, call: Call) -> httpx.Response:
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

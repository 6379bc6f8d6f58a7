"""`NovelAI` and `AsyncNovelAI`: the clients people use.

Both have the same constructor, the same resources (`account`, `storage`, `text`, `image`, `voice`, `modules`) and
the same methods; every method of a resource is one flow (see `nai_sdk.resources._base`) run by `_run`, which is
the only place where the two clients differ.

Credentials: a token (`token=`, an access token or a persistent `pst-` token) is sent as a bearer token. An e-mail
and password derive the access key (to log in, lazily, on the first request that needs it, and again if the token
expires) and the encryption key (to open the keystore); the password itself is not kept. Nothing secret appears in
a repr, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack

import httpx

from nai_sdk import _constants as c
from nai_sdk._config import ClientOptions, Host, HttpBackend, OptionArgs, resolve_backend
from nai_sdk._config import resolve_options as _resolve_options
from nai_sdk._http import AsyncHTTP, Call, Kind, SyncHTTP, make_async_transport, make_sync_transport
from nai_sdk._locks import Acquire, Pause
from nai_sdk.errors import AuthenticationError, ConfigurationError, NovelAIError

if TYPE_CHECKING:
    from nai_client.types import Bound

    from nai_sdk.resources._base import Flow
    from nai_sdk.resources._keystore import KeystoreJournal
    from nai_sdk.resources.account import Account, AsyncAccount
    from nai_sdk.resources.image import AsyncImages, Images
    from nai_sdk.resources.modules import AsyncModules, Modules
    from nai_sdk.resources.storage import AsyncStorage, Storage
    from nai_sdk.resources.text import AsyncText, Text
    from nai_sdk.resources.voice import AsyncVoice, Voice

__all__ = ["AsyncNovelAI", "NovelAI"]

T = TypeVar("T")

_NO_CREDENTIALS = (
    "no credentials: pass token= or email= and password=, or set NAI_TOKEN or NAI_USERNAME and NAI_PASSWORD"
)


class _Credentials:
    """The secrets of one login, shared by a client and every `with_options` copy of it.

    Attributes are deliberately plain (no attrs, no dataclass) so that no generated repr or eq can ever show them.
    """

    __slots__ = ("access_key", "async_lock", "authorization", "encryption_key", "keystore", "sync_lock")

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
        self.encryption_key = encryption_key
        # The account keystore: cached once per client (and its copies), behind its own lock (resources._keystore).
        self.keystore = KeystoreState(journal)
        self.sync_lock = threading.Lock()
        self.async_lock: asyncio.Lock | None = None

    @property
    def token(self) -> str | None:
        return self.authorization[len("Bearer ") :] if self.authorization else None

    def __repr__(self) -> str:
        return "<credentials redacted>"


def _check_proxy(proxy: object, transport: object) -> None:
    if proxy is not None and transport is not None:
        raise ConfigurationError("pass proxy= or transport=, not both: a transport passed in brings its own proxy")


def _credentials(
    token: str | None,
    email: str | None,
    password: str | None,
    environ: Mapping[str, str],
    journal: str | os.PathLike[str] | bool | None = None,
) -> _Credentials:
    """Arguments win as a group over the environment, so `NovelAI(token=...)` never mixes in `NAI_USERNAME`."""
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

    return _Credentials(token, access_key, encryption, KeystoreJournal.resolve(journal, environ))


def _login_flow(access_key: str) -> Flow[str]:
    from nai_client.api.user import login
    from nai_client.models import LoginRequest

    from nai_sdk.resources._base import call

    # Logging in changes nothing on the server but a session list: safe to retry like a GET.
    body = LoginRequest(key=access_key)
    answer = yield from call(login.operation.bind(body=body), kind=Kind.IDEMPOTENT, auth=False)
    return answer.access_token


def _call_flow(bound: Bound[T], host: Host, kind: Kind | None) -> Flow[T]:
    from nai_sdk.resources._base import call

    if kind is None:
        # As for the SDK's own calls: reads and idempotent writes are retried after any failure, other writes only
        # after failures that prove the server did not act.
        kind = Kind.IDEMPOTENT if bound.operation.method in ("GET", "PUT", "DELETE") else Kind.UNSAFE
    return (yield from call(bound, host=host, kind=kind))


class _BaseClient:
    """What the two clients share: settings, credentials, and how they are shown."""

    _options: ClientOptions
    _credentials: _Credentials

    @property
    def options(self) -> ClientOptions:
        """The settings of this client (frozen; change them with `with_options`)."""
        return self._options

    @property
    def logged_in(self) -> bool:
        """Whether the client holds a token (it logs in on first use when built from an e-mail and password)."""
        return self._credentials.authorization is not None

    def __repr__(self) -> str:
        o = self._options
        return f"{type(self).__name__}(api_url={o.api_url!r}, text_url={o.text_url!r}, image_url={o.image_url!r})"

    def _sharing_copy(self, options: ClientOptions) -> Self:
        """A client of the same class with `options`, sharing this one's login and transport (`with_options`).

        Built without `__init__`, and without this instance's cached resources, which belong to it.
        """
        copy = object.__new__(type(self))
        copy._options = options
        copy._credentials = self._credentials
        copy._adopt(self)
        return copy

    def _adopt(self, original: Self) -> None:
        """Takes the transport of `original` (whose owner closes it) and sends over it with `self._options`."""
        raise NotImplementedError


class NovelAI(_BaseClient):
    """The synchronous NovelAI client.

    Example:
        >>> with NovelAI(email="me@example.com", password="...") as nai:  # doctest: +SKIP
        ...     print(nai.account.subscription().tier)
        ...     for story in nai.storage.stories():
        ...         print(story.title)

    Args:
        token: an access token or a persistent API token (`pst-...`); default `NAI_TOKEN`.
        email: the account e-mail (with `password`); default `NAI_USERNAME`.
        password: the account password; default `NAI_PASSWORD`. Only the keys derived from it are kept.

        The settings below are `nai_sdk.OptionArgs` (one list for the constructors and `with_options`):

        base_url: the base URL of all three hosts (a local fake server, a proxy); default `NAI_BASE_URL`.
        api_url: the main API; default `NAI_API_BASE_URL`, then https://api.novelai.net.
        text_url: the text generation host; default `NAI_TEXT_BASE_URL`, then https://text.novelai.net.
        image_url: the image generation host; default `NAI_IMAGE_BASE_URL`, then https://image.novelai.net.
        timeout: seconds, an `httpx.Timeout`, or None for none; default `NAI_TIMEOUT`, then 120 s (10 s to connect).
        max_retries: retries after a failed attempt (see `nai_sdk._http.Kind`); default `NAI_MAX_RETRIES`, then 2.
        backoff: the waits between retries.
        headers: extra headers for every request.
        allow_insecure_http: accept plain `http://` URLs to hosts other than loopback ones (credentials would cross
            the network in clear); default `NAI_ALLOW_INSECURE_HTTP`, then off.
        sse_max_line: the longest event-stream line accepted, in characters; default `NAI_SSE_MAX_LINE`.
        sse_max_event: the largest event-stream event accepted, in characters; default `NAI_SSE_MAX_EVENT`.
        proxy: an HTTP proxy for every request (`http://user:password@host:port`). Proxy environment variables
            (`HTTPS_PROXY`...) are not read: pass `proxy=os.environ["HTTPS_PROXY"]` to use one.
        transport: an httpx transport to use instead of the default pool (a mock in tests, a custom setup); the
            caller keeps ownership of it.
        keystore_journal: the directory where the server's keystore is kept before every keystore write, so that
            a bad write can be undone (files of mode 0600); default `NAI_KEYSTORE_JOURNAL` (`off` for none), then
            `$XDG_STATE_HOME/nai-sdk/keystore-journal`. False keeps no journal.

    Raises:
        ConfigurationError: contradictory or malformed settings.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        email: str | None = None,
        password: str | None = None,
        proxy: str | httpx.Proxy | None = None,
        transport: httpx.BaseTransport | None = None,
        keystore_journal: str | os.PathLike[str] | bool | None = None,
        **options: Unpack[OptionArgs],
    ) -> None:
        environ = os.environ
        self._options = _resolve_options(environ, **options)
        _check_proxy(proxy, transport)
        self._credentials = _credentials(token, email, password, environ, keystore_journal)
        self._owns_transport = transport is None
        self._transport = transport if transport is not None else make_sync_transport(proxy)
        self._http = SyncHTTP(self._options, self._transport)

    def with_options(self, **changes: Unpack[OptionArgs]) -> NovelAI:
        """A client with some settings changed, sharing this one's connections and login.

        Example:
            >>> nai.with_options(timeout=300, max_retries=0).image.generate(...)  # doctest: +SKIP

        Closing the copy does nothing; close the original.
        """
        return self._sharing_copy(self._options.changed(**changes))

    def _adopt(self, original: NovelAI) -> None:
        self._owns_transport = False
        self._transport = original._transport
        self._http = SyncHTTP(self._options, self._transport)

    # -- resources -------------------------------------------------------------------------------------------------

    @cached_property
    def account(self) -> Account:
        """Account information, subscription, settings, tokens, deletion and recovery."""
        from nai_sdk.resources.account import Account

        return Account(self)

    @cached_property
    def storage(self) -> Storage:
        """The keystore and the encrypted user objects (stories, story content, modules, presets, shelves)."""
        from nai_sdk.resources.storage import Storage

        return Storage(self)

    @cached_property
    def text(self) -> Text:
        """Text generation, whole or streamed."""
        from nai_sdk.resources.text import Text

        return Text(self)

    @cached_property
    def image(self) -> Images:
        """Image generation, upscaling, annotation and tag suggestions."""
        from nai_sdk.resources.image import Images

        return Images(self)

    @cached_property
    def voice(self) -> Voice:
        """Text to speech."""
        from nai_sdk.resources.voice import Voice

        return Voice(self)

    @cached_property
    def modules(self) -> Modules:
        """Custom AI modules: train, list, get, delete, buy training steps."""
        from nai_sdk.resources.modules import Modules

        return Modules(self)

    def call(self, bound: Bound[T], *, host: Host = "api", kind: Kind | None = None) -> T:
        """Calls any generated operation through this client: its hosts, login, retries and typed errors.

        Example:
            >>> from nai_client.api.user import get_priority
            >>> nai.call(get_priority.operation.bind()).max_priority_actions  # doctest: +SKIP

        Args:
            bound: `<operation module>.operation.bind(...)` from `nai_client.api`; mypy checks its arguments.
            host: the host that serves it (`"api"`, `"text"` or `"image"`).
            kind: its retry class (`nai_sdk.Kind`); by default GET, PUT and DELETE are idempotent, the rest unsafe.

        Returns:
            The operation's parsed 2xx answer, typed as its generated model.

        Raises:
            APIStatusError: the server refused it (one subclass per status).
            UnexpectedAnswerError: the answer does not match the spec.
        """
        return self._run(_call_flow(bound, host, kind))

    # -- running flows ---------------------------------------------------------------------------------------------

    def login(self) -> None:
        """Logs in now with the e-mail and password (normally done on the first request that needs it).

        Raises:
            ConfigurationError: the client was built from a token only.
            AuthenticationError: wrong e-mail or password.
        """
        creds = self._credentials
        if creds.access_key is None:
            raise ConfigurationError("logging in needs an e-mail and a password")
        with creds.sync_lock:
            creds.authorization = "Bearer " + self._run(_login_flow(creds.access_key))

    def _token(self) -> str:
        if self._credentials.authorization is None:
            self._authorization(None)
        token = self._credentials.token
        assert token is not None
        return token

    def _authorization(self, stale: str | None) -> str:
        """The Authorization header, logging in when there is none yet or the one in use (`stale`) was refused."""
        creds = self._credentials
        with creds.sync_lock:
            current = creds.authorization
            if current is not None and current != stale:
                return current
            if creds.access_key is None:
                raise ConfigurationError(_NO_CREDENTIALS)
            creds.authorization = "Bearer " + self._run(_login_flow(creds.access_key))
            return creds.authorization

    def _send(self, call: Call) -> Any:
        if not call.auth:
            return self._http.send(call, None)
        authorization = self._credentials.authorization or self._authorization(None)
        try:
            return self._http.send(call, authorization)
        except AuthenticationError:
            # An expired session token: log in again once, if we can; a refused static token stays refused.
            if self._credentials.access_key is None:
                raise
            return self._http.send(call, self._authorization(authorization))

    def _run(self, flow: Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                if isinstance(step, Acquire):
                    step.semaphore.acquire()
                    step = flow.send(None)
                    continue
                if isinstance(step, Pause):
                    time.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    result = self._send(step)
                except NovelAIError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value
        finally:
            # Runs the flow's own `finally` blocks (releasing what it acquired) when something other than an API
            # error (KeyboardInterrupt, a bug) stopped it half way; a no-op for a flow that finished.
            flow.close()

    def _open_stream(self, call: Call) -> httpx.Response:
        authorization = self._credentials.authorization or self._authorization(None)
        try:
            return self._http.open_stream(call, authorization)
        except AuthenticationError:
            if self._credentials.access_key is None:
                raise
            return self._http.open_stream(call, self._authorization(authorization))

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the connection pool (a no-op for `with_options` copies and for a transport passed in)."""
        if self._owns_transport:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncNovelAI(_BaseClient):
    """The asynchronous NovelAI client: the same constructor, resources and methods as `NovelAI`, awaited.

    Example:
        >>> async with AsyncNovelAI(token="pst-...") as nai:  # doctest: +SKIP
        ...     async for piece in nai.text.stream("The night was", model="erato"):
        ...         print(piece.text, end="")

    Args:
        http_backend: the HTTP transport: `"aiohttp"` (default; `nai_sdk.AiohttpTransport`, httpx's API over
            aiohttp's faster connection pool) or `"httpx"` (httpx's own pool). Default `NAI_HTTP_BACKEND`.
            Timeouts, retries, proxies, streaming, cancellation and connection limits behave the same with both.
        transport: an httpx async transport to use instead (a mock in tests); overrides `http_backend`.

    The other arguments are those of `NovelAI`.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        email: str | None = None,
        password: str | None = None,
        proxy: str | httpx.Proxy | None = None,
        http_backend: HttpBackend | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        keystore_journal: str | os.PathLike[str] | bool | None = None,
        **options: Unpack[OptionArgs],
    ) -> None:
        environ = os.environ
        self._options = _resolve_options(environ, **options)
        _check_proxy(proxy, transport)
        self._credentials = _credentials(token, email, password, environ, keystore_journal)
        self.http_backend: HttpBackend = resolve_backend(http_backend, environ)
        self._owns_transport = transport is None
        self._transport = transport if transport is not None else make_async_transport(self.http_backend, proxy)
        self._http = AsyncHTTP(self._options, self._transport)

    def with_options(self, **changes: Unpack[OptionArgs]) -> AsyncNovelAI:
        """A client with some settings changed, sharing this one's connections and login (see `NovelAI`)."""
        return self._sharing_copy(self._options.changed(**changes))

    def _adopt(self, original: AsyncNovelAI) -> None:
        self.http_backend = original.http_backend
        self._owns_transport = False
        self._transport = original._transport
        self._http = AsyncHTTP(self._options, self._transport)

    # -- resources -------------------------------------------------------------------------------------------------

    @cached_property
    def account(self) -> AsyncAccount:
        """Account information, subscription, settings, tokens, deletion and recovery."""
        from nai_sdk.resources.account import AsyncAccount

        return AsyncAccount(self)

    @cached_property
    def storage(self) -> AsyncStorage:
        """The keystore and the encrypted user objects."""
        from nai_sdk.resources.storage import AsyncStorage

        return AsyncStorage(self)

    @cached_property
    def text(self) -> AsyncText:
        """Text generation, whole or streamed."""
        from nai_sdk.resources.text import AsyncText

        return AsyncText(self)

    @cached_property
    def image(self) -> AsyncImages:
        """Image generation, upscaling, annotation and tag suggestions."""
        from nai_sdk.resources.image import AsyncImages

        return AsyncImages(self)

    @cached_property
    def voice(self) -> AsyncVoice:
        """Text to speech."""
        from nai_sdk.resources.voice import AsyncVoice

        return AsyncVoice(self)

    @cached_property
    def modules(self) -> AsyncModules:
        """Custom AI modules."""
        from nai_sdk.resources.modules import AsyncModules

        return AsyncModules(self)

    async def call(self, bound: Bound[T], *, host: Host = "api", kind: Kind | None = None) -> T:
        """Calls any generated operation through this client (see `NovelAI.call`)."""
        return await self._run(_call_flow(bound, host, kind))

    # -- running flows ---------------------------------------------------------------------------------------------

    async def login(self) -> None:
        """Logs in now with the e-mail and password (see `NovelAI.login`)."""
        creds = self._credentials
        if creds.access_key is None:
            raise ConfigurationError("logging in needs an e-mail and a password")
        async with self._lock():
            creds.authorization = "Bearer " + await self._run(_login_flow(creds.access_key))

    def _lock(self) -> asyncio.Lock:
        creds = self._credentials
        if creds.async_lock is None:
            creds.async_lock = asyncio.Lock()
        return creds.async_lock

    async def _authorization(self, stale: str | None) -> str:
        creds = self._credentials
        async with self._lock():
            current = creds.authorization
            if current is not None and current != stale:
                return current
            if creds.access_key is None:
                raise ConfigurationError(_NO_CREDENTIALS)
            creds.authorization = "Bearer " + await self._run(_login_flow(creds.access_key))
            return creds.authorization

    async def _send(self, call: Call) -> Any:
        if not call.auth:
            return await self._http.send(call, None)
        authorization = self._credentials.authorization or await self._authorization(None)
        try:
            return await self._http.send(call, authorization)
        except AuthenticationError:
            if self._credentials.access_key is None:
                raise
            return await self._http.send(call, await self._authorization(authorization))

    async def _run(self, flow: Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                if isinstance(step, Acquire):
                    await step.semaphore.acquire_async()
                    step = flow.send(None)
                    continue
                if isinstance(step, Pause):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    result = await self._send(step)
                except NovelAIError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value
        finally:
            # A cancelled task must not keep what its flow acquired (see NovelAI._run).
            flow.close()

    async def _open_stream(self, call: Call) -> httpx.Response:
        authorization = self._credentials.authorization or await self._authorization(None)
        try:
            return await self._http.open_stream(call, authorization)
        except AuthenticationError:
            if self._credentials.access_key is None:
                raise
            return await self._http.open_stream(call, await self._authorization(authorization))

    # -- lifecycle -------------------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Closes the connection pool (a no-op for `with_options` copies and for a transport passed in)."""
        if self._owns_transport:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

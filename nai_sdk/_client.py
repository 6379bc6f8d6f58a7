"""`NovelAI` and `AsyncNovelAI`: the clients people use.

Both have the same constructor, the same resources (`account`, `storage`, `text`, `image`, `voice`, `modules`) and
the same methods; every method of a resource is one flow (see `nai_sdk.resources._base`) run by the client's
engine (`nai_sdk._session`), which is the only place where the two clients differ.

Credentials: a token (`token=`, an access token or a persistent `pst-` token) is sent as a bearer token. An e-mail
and password derive the access key (to log in, lazily, on the first request that needs it, and again if the token
expires) and the encryption key (to open the keystore); the password itself is not kept. Nothing secret appears in
a repr, a log line or an error message.
"""

from __future__ import annotations

import os
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, ParamSpec, Self, TypeVar, Unpack

import httpx

from nai_sdk._config import ClientOptions, Host, HttpBackend, OptionArgs, resolve_backend
from nai_sdk._config import resolve_options as _resolve_options
from nai_sdk._http import (
    AsyncClientTransport,
    ClientTransport,
    Kind,
    async_environment_client,
    environment_client,
    make_async_transport,
    make_sync_transport,
)
from nai_sdk._logging import configure_from_env
from nai_sdk._request import AsyncRawResponses, RawResponses, RequestOptions, per_call
from nai_sdk._session import AsyncEngine, Session, SyncEngine, make_session
from nai_sdk.errors import ConfigurationError

if TYPE_CHECKING:
    from nai_client.types import Bound

    from nai_sdk.resources._base import Flow
    from nai_sdk.resources.account import Account, AsyncAccount
    from nai_sdk.resources.image import AsyncImages, Images
    from nai_sdk.resources.modules import AsyncModules, Modules
    from nai_sdk.resources.storage import AsyncStorage, Storage
    from nai_sdk.resources.text import AsyncText, Text
    from nai_sdk.resources.voice import AsyncVoice, Voice

__all__ = ["AsyncNovelAI", "NovelAI"]

T = TypeVar("T")
P = ParamSpec("P")


def _check_connection_args(
    proxy: object, transport: object, http_client: object, trust_env: object, client_type: type
) -> None:
    """At most one way of reaching the network, each of the right type."""
    if not isinstance(trust_env, bool):
        raise ConfigurationError(f"trust_env must be True or False, not {type(trust_env).__name__}")
    named = (("proxy=", proxy), ("transport=", transport), ("http_client=", http_client))
    given = [name for name, value in named if value is not None]
    if trust_env:
        given.append("trust_env=True")
    if len(given) > 1:
        raise ConfigurationError(
            f"pass one of proxy=, transport=, http_client= and trust_env=True, not {' and '.join(given)}: each "
            "decides how requests reach the network"
        )
    if http_client is not None and not isinstance(http_client, client_type):
        raise ConfigurationError(f"http_client must be an {client_type.__module__}.{client_type.__qualname__}")
    if proxy is not None and not isinstance(proxy, str | httpx.Proxy):
        raise ConfigurationError(f"proxy must be a URL or an httpx.Proxy, not {type(proxy).__name__}")


def _call_flow(bound: Bound[T], host: Host | None, kind: Kind | None, follow_moves: bool) -> Flow[T]:
    from nai_sdk.resources._base import call

    if kind is None:
        # As for the SDK's own calls: reads and idempotent writes are retried after any failure, other writes only
        # after failures that prove the server did not act.
        kind = Kind.IDEMPOTENT if bound.operation.method in ("GET", "PUT", "DELETE") else Kind.UNSAFE
    return (yield from call(bound, host=host, kind=kind, follow_moves=follow_moves))


class _BaseClient:
    """What the two clients share: settings, credentials, and how they are shown."""

    _options: ClientOptions
    _session: Session

    @property
    def options(self) -> ClientOptions:
        """The settings of this client (frozen; change them with `with_options`)."""
        return self._options

    @property
    def logged_in(self) -> bool:
        """Whether the client holds a token (it logs in on first use when built from an e-mail and password)."""
        return self._session.authorization is not None

    def __repr__(self) -> str:
        o = self._options
        return f"{type(self).__name__}(api_url={o.api_url!r}, text_url={o.text_url!r}, image_url={o.image_url!r})"

    def _sharing_copy(self, options: ClientOptions) -> Self:
        """A client of the same class with `options`, sharing this one's login and transport (`with_options`).

        Built without `__init__`, and without this instance's cached resources, which belong to it.
        """
        copy = object.__new__(type(self))
        copy._options = options
        copy._session = self._session
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
        proxy: an HTTP proxy for every request (`http://user:password@host:port`). Proxy environment variables
            (`HTTPS_PROXY`...) are not read unless `trust_env=True`; or pass `proxy=os.environ["HTTPS_PROXY"]`.
        transport: an httpx transport to use instead of the default pool (a mock in tests, a custom setup); the
            caller keeps ownership of it.
        http_client: an `httpx.Client` to send through (its transport, mounts, certificates, event hooks, auth
            and cookies; not its base URL, headers or timeout, which come from the options). It stays the caller's:
            `close()` leaves it open.
        trust_env: honour the environment as httpx does: `HTTP(S)_PROXY`, `ALL_PROXY`, `NO_PROXY`,
            `SSL_CERT_FILE`, `SSL_CERT_DIR` and `.netrc`. Off by default, so that a variable set for other programs
            never reroutes the requests that carry your credentials.
        anonymous: build a client without credentials, for the few routes that need none (account recovery).
            Without it, missing credentials are a `ConfigurationError` here, not at the first request.
        keystore_journal: the directory where the server's keystore is kept before every keystore write, so that
            a bad write can be undone (files of mode 0600); default `NAI_KEYSTORE_JOURNAL` (`off` for none), then
            `$XDG_STATE_HOME/nai-sdk/keystore-journal`. False keeps no journal.
        **options: the settings (`nai_sdk.OptionArgs`, the one list shared with `with_options`):
            `base_url`, the base URL of all three hosts (a local fake server, a proxy), default `NAI_BASE_URL`;
            `api_url`, the main API, default `NAI_API_BASE_URL`, then https://api.novelai.net;
            `text_url`, the text generation host, default `NAI_TEXT_BASE_URL`, then https://text.novelai.net;
            `image_url`, the image generation host, default `NAI_IMAGE_BASE_URL`, then https://image.novelai.net;
            `timeout`, seconds, an `httpx.Timeout`, or None for none, default `NAI_TIMEOUT`, then 120 s (10 s to
            connect); `max_retries`, retries after a failed attempt (see `nai_sdk.Kind`), default `NAI_MAX_RETRIES`,
            then 2; `backoff`, the waits between retries; `headers`, extra headers for every request;
            `allow_insecure_http`, accept plain `http://` URLs to hosts other than loopback ones (credentials would
            cross the network in clear), default `NAI_ALLOW_INSECURE_HTTP`, then off; `sse_max_line` and
            `sse_max_event`, the longest event-stream line and the largest event accepted, in characters, default
            `NAI_SSE_MAX_LINE` and `NAI_SSE_MAX_EVENT`.

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
        http_client: httpx.Client | None = None,
        trust_env: bool = False,
        keystore_journal: str | os.PathLike[str] | bool | None = None,
        anonymous: bool = False,
        **options: Unpack[OptionArgs],
    ) -> None:
        environ = os.environ
        configure_from_env(environ)
        self._options = _resolve_options(environ, **options)
        _check_connection_args(proxy, transport, http_client, trust_env, httpx.Client)
        self._session = make_session(token, email, password, environ, keystore_journal, anonymous)
        self._session.attach_queue(self._options)
        self._owns_transport = transport is None
        if transport is not None:
            self._transport = transport
        elif http_client is not None:
            self._transport = ClientTransport(http_client, owned=False)
        elif trust_env:
            self._transport = ClientTransport(environment_client(), owned=True)
        else:
            self._transport = make_sync_transport(proxy)
        self._engine = SyncEngine(self._options, self._transport, self._session)

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
        self._engine = SyncEngine(self._options, self._transport, self._session)

    # -- resources -------------------------------------------------------------------------------------------------

    @cached_property
    def account(self) -> Account:
        """Account information, subscription, settings, tokens, deletion and recovery."""
        from nai_sdk.resources.account import Account

        return Account(self._engine)

    @cached_property
    def storage(self) -> Storage:
        """The keystore and the encrypted user objects (stories, story content, modules, presets, shelves)."""
        from nai_sdk.resources.storage import Storage

        return Storage(self._engine)

    @cached_property
    def text(self) -> Text:
        """Text generation, whole or streamed."""
        from nai_sdk.resources.text import Text

        return Text(self._engine)

    @cached_property
    def image(self) -> Images:
        """Image generation, upscaling, annotation and tag suggestions."""
        from nai_sdk.resources.image import Images

        return Images(self._engine)

    @cached_property
    def voice(self) -> Voice:
        """Text to speech."""
        from nai_sdk.resources.voice import Voice

        return Voice(self._engine)

    @cached_property
    def modules(self) -> Modules:
        """Custom AI modules: train, list, get, delete, buy training steps."""
        from nai_sdk.resources.modules import Modules

        return Modules(self._engine)

    def call(
        self,
        bound: Bound[T],
        *,
        host: Host | None = None,
        kind: Kind | None = None,
        follow_moves: bool = True,
        **request: Unpack[RequestOptions],
    ) -> T:
        """Calls any generated operation through this client: its hosts, login, retries and typed errors.

        Example:
            >>> from nai_client.api.user import get_priority
            >>> nai.call(get_priority.operation.bind()).max_priority_actions  # doctest: +SKIP

        Args:
            bound: `<operation module>.operation.bind(...)` from `nai_client.api`; mypy checks its arguments.
            host: the host to send it to (`"api"`, `"text"` or `"image"`); by default the one the spec gives for it
                (or the client's `routes` option, or where the route was seen to move).
            kind: its retry class (`nai_sdk.Kind`); by default GET, PUT and DELETE are idempotent, the rest unsafe.
            follow_moves: resend to the host that serves the route when the answer proves it moved (see
                Configuration, "Hosts and routing"); False gets each host's own answer (`nai doctor` does).
            **request: the per-call options (`nai_sdk.RequestOptions`), as every resource method takes them.

        Returns:
            The operation's parsed 2xx answer, typed as its generated model.

        Raises:
            APIStatusError: the server refused it (one subclass per status).
            UnexpectedAnswerError: the answer does not match the spec.
        """
        return self._engine.run(_call_flow(bound, host, kind, follow_moves), per_call(request))

    @cached_property
    def with_raw_response(self) -> RawResponses:
        """Wraps a method of this client so that it returns its answers' status and headers with its value.

        Example:
            >>> raw = nai.with_raw_response(nai.account.priority)()  # doctest: +SKIP
            >>> raw.status_code, raw.request_id, raw.headers["content-type"], raw.parsed.max_priority_actions
            >>> nai.with_raw_response.account.priority().status_code  # the other SDKs' spelling (untyped)

        `nai.with_raw_response(method)` takes any method of the client or its resources (or a function that calls
        them) and returns a function with the same parameters, returning a `RawResponse`: `parsed` (the method's
        value), `status_code`, `headers` and `request_id` of the last answer, and `responses`, every answer of
        the call. A method that sent no request before it returned (a stream sends its own when first read)
        raises `ConfigurationError`.
        """
        return RawResponses(self)

    # -- running flows ---------------------------------------------------------------------------------------------

    def login(self) -> str:
        """Logs in now with the e-mail and password (normally done on the first request that needs it).

        Returns:
            The new access token (valid for some days; for scripts, a persistent token is better:
            `account.create_persistent_token()`).

        Raises:
            ConfigurationError: the client was built from a token only.
            AuthenticationError: wrong e-mail or password.
        """
        return self._engine.login()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the connection pool (a no-op for `with_options` copies and for a transport passed in)."""
        if self._owns_transport:
            self._engine.close()

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
        http_client: an `httpx.AsyncClient` to send through (see `NovelAI`); implies `http_backend="httpx"`.
        trust_env: honour the proxy and certificate environment (see `NovelAI`); sends through httpx.

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
        http_client: httpx.AsyncClient | None = None,
        trust_env: bool = False,
        keystore_journal: str | os.PathLike[str] | bool | None = None,
        anonymous: bool = False,
        **options: Unpack[OptionArgs],
    ) -> None:
        environ = os.environ
        configure_from_env(environ)
        self._options = _resolve_options(environ, **options)
        _check_connection_args(proxy, transport, http_client, trust_env, httpx.AsyncClient)
        self._session = make_session(token, email, password, environ, keystore_journal, anonymous)
        self._session.attach_queue(self._options)
        through_httpx = http_client is not None or trust_env
        if through_httpx and http_backend == "aiohttp":
            raise ConfigurationError("http_client= and trust_env=True send through httpx: pass http_backend='httpx'")
        self.http_backend: HttpBackend = "httpx" if through_httpx else resolve_backend(http_backend, environ)
        self._owns_transport = transport is None
        if transport is not None:
            self._transport = transport
        elif http_client is not None:
            self._transport = AsyncClientTransport(http_client, owned=False)
        elif trust_env:
            self._transport = AsyncClientTransport(async_environment_client(), owned=True)
        else:
            self._transport = make_async_transport(self.http_backend, proxy)
        self._engine = AsyncEngine(self._options, self._transport, self._session)

    def with_options(self, **changes: Unpack[OptionArgs]) -> AsyncNovelAI:
        """A client with some settings changed, sharing this one's connections and login (see `NovelAI`)."""
        return self._sharing_copy(self._options.changed(**changes))

    def _adopt(self, original: AsyncNovelAI) -> None:
        self.http_backend = original.http_backend
        self._owns_transport = False
        self._transport = original._transport
        self._engine = AsyncEngine(self._options, self._transport, self._session)

    # -- resources -------------------------------------------------------------------------------------------------

    @cached_property
    def account(self) -> AsyncAccount:
        """Account information, subscription, settings, tokens, deletion and recovery."""
        from nai_sdk.resources.account import AsyncAccount

        return AsyncAccount(self._engine)

    @cached_property
    def storage(self) -> AsyncStorage:
        """The keystore and the encrypted user objects."""
        from nai_sdk.resources.storage import AsyncStorage

        return AsyncStorage(self._engine)

    @cached_property
    def text(self) -> AsyncText:
        """Text generation, whole or streamed."""
        from nai_sdk.resources.text import AsyncText

        return AsyncText(self._engine)

    @cached_property
    def image(self) -> AsyncImages:
        """Image generation, upscaling, annotation and tag suggestions."""
        from nai_sdk.resources.image import AsyncImages

        return AsyncImages(self._engine)

    @cached_property
    def voice(self) -> AsyncVoice:
        """Text to speech."""
        from nai_sdk.resources.voice import AsyncVoice

        return AsyncVoice(self._engine)

    @cached_property
    def modules(self) -> AsyncModules:
        """Custom AI modules."""
        from nai_sdk.resources.modules import AsyncModules

        return AsyncModules(self._engine)

    async def call(
        self,
        bound: Bound[T],
        *,
        host: Host | None = None,
        kind: Kind | None = None,
        follow_moves: bool = True,
        **request: Unpack[RequestOptions],
    ) -> T:
        """Calls any generated operation through this client (see `NovelAI.call`)."""
        return await self._engine.run(_call_flow(bound, host, kind, follow_moves), per_call(request))

    @cached_property
    def with_raw_response(self) -> AsyncRawResponses:
        """Wraps a coroutine method of this client so that it returns its answers' status and headers with its value.

        Example:
            >>> raw = await nai.with_raw_response(nai.account.priority)()  # doctest: +SKIP
            >>> raw.status_code, raw.request_id, raw.parsed.max_priority_actions

        See `NovelAI.with_raw_response`.
        """
        return AsyncRawResponses(self)

    # -- running flows ---------------------------------------------------------------------------------------------

    async def login(self) -> str:
        """Logs in now with the e-mail and password; returns the new access token (see `NovelAI.login`)."""
        return await self._engine.login()

    # -- lifecycle -------------------------------------------------------------------------------------------------

    async def close(self) -> None:
        """The same as `aclose` (awaited), for code written against other async clients."""
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connection pool (a no-op for `with_options` copies and for a transport passed in)."""
        if self._owns_transport:
            await self._engine.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

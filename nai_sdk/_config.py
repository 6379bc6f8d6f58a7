"""Client settings: resolved once at construction (argument, then environment, then `_constants`), then frozen.

`ClientOptions` holds everything a per-call `with_options(...)` may change; credentials live elsewhere (see
`nai_sdk._auth`) so that options can be shown, compared and copied without ever carrying a secret.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, TypedDict, Unpack, get_args
from urllib.parse import urlsplit

import attrs
import httpx

from nai_sdk import _constants as c
from nai_sdk.errors import ConfigurationError

__all__ = [
    "KEEP",
    "Backoff",
    "ClientOptions",
    "Host",
    "HttpBackend",
    "OptionArgs",
    "TimeoutTypes",
    "resolve_backend",
    "resolve_options",
]

Host: TypeAlias = Literal["api", "text", "image"]
#: Every host, in the order the options list them.
HOSTS: tuple[Host, ...] = get_args(Host)
HttpBackend: TypeAlias = Literal["aiohttp", "httpx"]
#: A number of seconds for every phase, None for no timeout, or a full `httpx.Timeout`.
TimeoutTypes: TypeAlias = float | httpx.Timeout | None

_BACKENDS: tuple[HttpBackend, ...] = ("aiohttp", "httpx")


class OptionArgs(TypedDict, total=False):
    """The client settings as keyword arguments: the one list behind `NovelAI(...)`, `AsyncNovelAI(...)`,
    `with_options(...)`, `resolve_options` and `ClientOptions.changed` (see `ClientOptions` for each one).

    An absent key keeps the current value (or takes the environment's, then the default); `timeout=None` means no
    timeout.
    """

    base_url: str
    api_url: str
    text_url: str
    image_url: str
    timeout: TimeoutTypes
    max_retries: int
    backoff: Backoff
    headers: Mapping[str, str]
    allow_insecure_http: bool
    sse_max_line: int
    sse_max_event: int
    routes: Mapping[str, Host]
    generation_slots: int
    queue_timeout: float | None
    min_generation_interval: float
    daily_generation_budget: int | None


class _Keep(enum.Enum):
    """The type of `KEEP`: "leave the timeout as it is", since None already means "no timeout"."""

    KEEP = enum.auto()


KEEP = _Keep.KEEP


@attrs.frozen
class Backoff:
    """How long to wait between attempts.

    Attributes:
        initial: seconds before the first retry; each further retry doubles it, with up to 25% jitter removed.
        maximum: the longest computed wait, in seconds.
        retry_after_cap: the longest server `Retry-After` hint honoured, in seconds; longer hints are cut to it.
    """

    initial: float = c.DEFAULT_BACKOFF_INITIAL
    maximum: float = c.DEFAULT_BACKOFF_MAX
    retry_after_cap: float = c.DEFAULT_RETRY_AFTER_CAP

    def __attrs_post_init__(self) -> None:
        for name in ("initial", "maximum", "retry_after_cap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"Backoff.{name} must be 0 or more seconds, got {value!r}")


def _freeze_headers(value: Mapping[str, str]) -> Mapping[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigurationError("headers must be a mapping of str names to str values")
    return MappingProxyType(dict(value))


def _freeze_routes(value: Mapping[str, str]) -> Mapping[str, Host]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"routes must be a mapping of path prefixes to hosts, not {type(value).__name__}")
    routes: dict[str, Host] = {}
    for prefix, host in value.items():
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ConfigurationError(f"a route prefix must be a path starting with '/', got {prefix!r}")
        if host not in HOSTS:
            raise ConfigurationError(f"routes[{prefix!r}] must be 'api', 'text' or 'image', got {host!r}")
        routes[prefix] = host
    # Longest prefix first, so that the most specific family wins (see nai_sdk._routing.route).
    return MappingProxyType(dict(sorted(routes.items(), key=lambda item: -len(item[0]))))


def _to_timeout(value: TimeoutTypes) -> httpx.Timeout:
    """An `httpx.Timeout` whose every phase is a positive, finite number of seconds or None (no limit)."""
    if isinstance(value, httpx.Timeout):
        timeout = value
    elif value is None:
        timeout = httpx.Timeout(None)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds or None, got {value!r}")
        timeout = httpx.Timeout(value)
    else:
        raise ConfigurationError(f"timeout must be seconds, an httpx.Timeout or None, not {type(value).__name__}")
    for phase, seconds in timeout.as_dict().items():
        if seconds is not None and (not math.isfinite(seconds) or seconds <= 0):
            raise ConfigurationError(f"timeout ({phase}) must be a positive number of seconds or None, got {seconds!r}")
    return timeout


@attrs.frozen
class ClientOptions:
    """The settings of one client; `with_options` makes changed copies with `attrs.evolve`.

    Attributes:
        api_url: base URL of the main API (account, storage, modules, voice, older text models).
        text_url: base URL of the text generation service (Kayra, Erato).
        image_url: base URL of the image generation service.
        timeout: the httpx timeout of every request.
        max_retries: retries after the first attempt (0 disables retrying).
        backoff: the waits between attempts.
        headers: extra headers sent with every request.
        allow_insecure_http: accept plain `http://` base URLs to hosts other than loopback ones. Off by default:
            the bearer token, the access key sent at login and the encrypted stories' keys would cross the network
            in clear.
        sse_max_line: the longest line of an event stream, in characters; a longer one is a `StreamError`.
        sse_max_event: the largest event of an event stream (its data), in characters; a larger one is a
            `StreamError`.
        routes: hosts for route families, by path prefix (`{"/user/": "api"}`): they win over the spec's choice
            of host (see the Configuration guide, "Hosts and routing").
        generation_slots: generations of the account in flight at once (NovelAI allows 1; see the Streaming guide).
        queue_timeout: seconds a generation may wait in all (for a place, through 429s) before `QueueTimeoutError`;
            None waits without limit.
        min_generation_interval: seconds between the starts of two generations of the account (0: no pacing).
        daily_generation_budget: generations per local day before `GenerationBudgetError`; None for no limit.
    """

    api_url: str = c.DEFAULT_API_URL
    text_url: str = c.DEFAULT_TEXT_URL
    image_url: str = c.DEFAULT_IMAGE_URL
    timeout: httpx.Timeout = attrs.field(
        default=httpx.Timeout(c.DEFAULT_TIMEOUT, connect=c.DEFAULT_CONNECT_TIMEOUT), converter=_to_timeout
    )
    max_retries: int = attrs.field(default=c.DEFAULT_MAX_RETRIES)
    backoff: Backoff = attrs.field(default=Backoff())
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze_headers)
    allow_insecure_http: bool = attrs.field(default=False)
    sse_max_line: int = attrs.field(default=c.DEFAULT_SSE_MAX_LINE)
    sse_max_event: int = attrs.field(default=c.DEFAULT_SSE_MAX_EVENT)
    routes: Mapping[str, Host] = attrs.field(factory=dict, converter=_freeze_routes)
    generation_slots: int = attrs.field(default=1)
    queue_timeout: float | None = attrs.field(default=c.DEFAULT_QUEUE_TIMEOUT)
    min_generation_interval: float = attrs.field(default=0.0)
    daily_generation_budget: int | None = attrs.field(default=None)

    @generation_slots.validator
    def _check_slots(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"generation_slots must be a whole number of at least 1, got {value!r}")

    @queue_timeout.validator
    def _check_queue_timeout(self, _attribute: attrs.Attribute[float | None], value: float | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
            raise ConfigurationError(f"queue_timeout must be a positive number of seconds or None, got {value!r}")

    @min_generation_interval.validator
    def _check_interval(self, _attribute: attrs.Attribute[float], value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigurationError(f"min_generation_interval must be 0 or more seconds, got {value!r}")

    @daily_generation_budget.validator
    def _check_budget(self, _attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigurationError(f"daily_generation_budget must be a whole number or None, got {value!r}")

    @max_retries.validator
    def _check_retries(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(f"max_retries must be a whole number, 0 or more, got {value!r}")

    @backoff.validator
    def _check_backoff(self, _attribute: attrs.Attribute[Backoff], value: Backoff) -> None:
        if not isinstance(value, Backoff):
            raise ConfigurationError(f"backoff must be a nai_sdk.Backoff, not {type(value).__name__}")

    @allow_insecure_http.validator
    def _check_insecure(self, _attribute: attrs.Attribute[bool], value: bool) -> None:
        if not isinstance(value, bool):
            raise ConfigurationError(f"allow_insecure_http must be True or False, not {type(value).__name__}")

    @sse_max_line.validator
    @sse_max_event.validator
    def _check_limit(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"{attribute.name} must be a positive number of characters, got {value!r}")

    def __attrs_post_init__(self) -> None:
        # Checked here, on every construction (resolve_options, `changed`, a ClientOptions built by hand), so that
        # no way of making options lets a plain-http URL through unnoticed.
        if not self.allow_insecure_http:
            for name in ("api_url", "text_url", "image_url"):
                _check_plain_http(getattr(self, name), name)

    def url(self, host: Host) -> str:
        """The base URL of `host`."""
        if host == "api":
            return self.api_url
        if host == "text":
            return self.text_url
        return self.image_url

    def changed(self, **changes: Unpack[OptionArgs]) -> ClientOptions:
        """A copy with the given settings changed; `base_url` sets the three hosts unless one is given too.

        `headers` are merged into the current ones.

        Raises:
            ConfigurationError: a malformed URL, a plain-http URL to a host other than loopback without
                `allow_insecure_http`, or a limit below 1.
        """
        values: dict[str, Any] = dict(changes)
        base_url = values.pop("base_url", None)
        if base_url is not None:
            for name in ("api_url", "text_url", "image_url"):
                values.setdefault(name, base_url)
        for name in ("api_url", "text_url", "image_url"):
            if name in values:
                values[name] = _clean_url(str(values[name]))
        if "headers" in values:
            values["headers"] = {**self.headers, **values["headers"]}
        return attrs.evolve(self, **values) if values else self


def _clean_url(url: str) -> str:
    if not isinstance(url, str):
        raise ConfigurationError(f"a base URL must be a str, not {type(url).__name__}")
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"a base URL must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    """True for `localhost` and the loopback addresses (127.0.0.0/8, ::1, and 127.x written as IPv4-mapped IPv6).

    Other names are not resolved: a name that resolves to a loopback address today may not tomorrow, and
    resolving at construction would block.
    """
    if host.rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _check_plain_http(url: str, setting: str) -> None:
    """Refuses a plain `http://` URL to a host that is not loopback (the caller checked `allow_insecure_http`).

    Only the host is quoted: a URL may carry a user and password.
    """
    if not url.startswith("http://"):
        return
    try:
        host = urlsplit(url).hostname or ""
    except ValueError as exc:
        raise ConfigurationError(f"{setting} is not a valid URL ({exc})") from None
    if _is_loopback(host):
        return
    raise ConfigurationError(
        f"{setting} is plain http:// to {host or 'no host'!r}: plain http:// is accepted only for a loopback host "
        "(127.0.0.0/8, ::1, localhost), because the access token, the access key and your stories' keys would "
        "cross the network in clear. Use https://, or opt in with allow_insecure_http=True (or "
        f"{c.ENV_ALLOW_INSECURE_HTTP}=1) if this host is reached over a network you trust."
    )


def _env_flag(environ: Mapping[str, str], name: str) -> bool:
    value = _env(environ, name)
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be 1 or 0 (or true/false, yes/no, on/off), got {value!r}")


def _env_size(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _env(environ, name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number of characters, got {value!r}") from None


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value else None


def resolve_options(environ: Mapping[str, str] | None = None, **args: Unpack[OptionArgs]) -> ClientOptions:
    """Resolves the constructor's settings: argument, then environment, then `nai_sdk._constants`.

    A per-host URL (argument or environment) wins over `base_url`/`NAI_BASE_URL`, and an argument wins over any
    environment variable, so `NovelAI(base_url=...)` reaches one server even when `NAI_TEXT_BASE_URL` is set.

    Raises:
        ConfigurationError: a malformed URL, timeout, retry count or limit; or a plain `http://` URL to a host that
            is not loopback, without `allow_insecure_http` (or `NAI_ALLOW_INSECURE_HTTP=1`).
    """
    env = os.environ if environ is None else environ
    base_arg = args.get("base_url")
    allow_insecure_http = args.get("allow_insecure_http")
    base_env = _env(env, c.ENV_BASE_URL)
    insecure = _env_flag(env, c.ENV_ALLOW_INSECURE_HTTP) if allow_insecure_http is None else allow_insecure_http

    def pick(host: Host, arg: str | None, env_name: str, default: str) -> str:
        # The setting the URL came from, named in the error if it is refused.
        if arg is not None:
            url, setting = arg, f"{host}_url"
        elif base_arg is not None:
            url, setting = base_arg, "base_url"
        elif _env(env, env_name) is not None:
            url, setting = env[env_name], env_name
        elif base_env is not None:
            url, setting = base_env, c.ENV_BASE_URL
        else:
            return default
        url = _clean_url(url)
        if not insecure:
            _check_plain_http(url, setting)
        return url

    timeout: TimeoutTypes | _Keep = args.get("timeout", KEEP)
    if timeout is KEEP:
        env_timeout = _env(env, c.ENV_TIMEOUT)
        if env_timeout is not None:
            try:
                timeout = httpx.Timeout(float(env_timeout), connect=min(float(env_timeout), c.DEFAULT_CONNECT_TIMEOUT))
            except ValueError:
                raise ConfigurationError(f"{c.ENV_TIMEOUT} must be a number of seconds") from None
        else:
            timeout = httpx.Timeout(c.DEFAULT_TIMEOUT, connect=c.DEFAULT_CONNECT_TIMEOUT)
    max_retries = args.get("max_retries")
    if max_retries is None:
        env_retries = _env(env, c.ENV_MAX_RETRIES)
        try:
            max_retries = int(env_retries) if env_retries is not None else c.DEFAULT_MAX_RETRIES
        except ValueError:
            raise ConfigurationError(f"{c.ENV_MAX_RETRIES} must be an integer") from None
    return ClientOptions(
        api_url=pick("api", args.get("api_url"), c.ENV_API_URL, c.DEFAULT_API_URL),
        text_url=pick("text", args.get("text_url"), c.ENV_TEXT_URL, c.DEFAULT_TEXT_URL),
        image_url=pick("image", args.get("image_url"), c.ENV_IMAGE_URL, c.DEFAULT_IMAGE_URL),
        timeout=timeout,
        max_retries=max_retries,
        backoff=args.get("backoff") or Backoff(),
        headers=args.get("headers") or {},
        allow_insecure_http=insecure,
        sse_max_line=_arg_or_env_size(args.get("sse_max_line"), env, c.ENV_SSE_MAX_LINE, c.DEFAULT_SSE_MAX_LINE),
        sse_max_event=_arg_or_env_size(args.get("sse_max_event"), env, c.ENV_SSE_MAX_EVENT, c.DEFAULT_SSE_MAX_EVENT),
        routes=args.get("routes") or {},
        generation_slots=args.get("generation_slots", 1),
        queue_timeout=args.get("queue_timeout", c.DEFAULT_QUEUE_TIMEOUT),
        min_generation_interval=args.get("min_generation_interval", 0.0),
        daily_generation_budget=args.get("daily_generation_budget"),
    )


def _arg_or_env_size(value: int | None, env: Mapping[str, str], name: str, default: int) -> int:
    return _env_size(env, name, default) if value is None else value


def resolve_backend(value: str | None, environ: Mapping[str, str] | None = None) -> HttpBackend:
    """The async transport to use: the argument, then `NAI_HTTP_BACKEND`, then aiohttp.

    Raises:
        ConfigurationError: an unknown name.
    """
    env = os.environ if environ is None else environ
    chosen = value if value is not None else (_env(env, c.ENV_HTTP_BACKEND) or "aiohttp")
    for backend in _BACKENDS:
        if chosen == backend:
            return backend
    raise ConfigurationError(f"http_backend must be one of {', '.join(_BACKENDS)}, got {chosen!r}")

"""Client settings: resolved once at construction (argument, then environment, then `_constants`), then frozen.

`ClientOptions` holds everything a per-call `with_options(...)` may change; credentials live elsewhere (see
`nai_sdk._auth`) so that options can be shown, compared and copied without ever carrying a secret.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

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
    "TimeoutTypes",
    "resolve_backend",
    "resolve_options",
]

Host: TypeAlias = Literal["api", "text", "image"]
HttpBackend: TypeAlias = Literal["aiohttp", "httpx"]
#: A number of seconds for every phase, None for no timeout, or a full `httpx.Timeout`.
TimeoutTypes: TypeAlias = float | httpx.Timeout | None

_BACKENDS: tuple[HttpBackend, ...] = ("aiohttp", "httpx")


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


def _freeze_headers(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _to_timeout(value: TimeoutTypes) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value)


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
    """

    api_url: str = c.DEFAULT_API_URL
    text_url: str = c.DEFAULT_TEXT_URL
    image_url: str = c.DEFAULT_IMAGE_URL
    timeout: httpx.Timeout = attrs.field(
        default=httpx.Timeout(c.DEFAULT_TIMEOUT, connect=c.DEFAULT_CONNECT_TIMEOUT), converter=_to_timeout
    )
    max_retries: int = attrs.field(default=c.DEFAULT_MAX_RETRIES)
    backoff: Backoff = Backoff()
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze_headers)

    @max_retries.validator
    def _check_retries(self, _attribute: attrs.Attribute[int], value: int) -> None:
        if value < 0:
            raise ConfigurationError("max_retries must be 0 or more")

    def url(self, host: Host) -> str:
        """The base URL of `host`."""
        if host == "api":
            return self.api_url
        if host == "text":
            return self.text_url
        return self.image_url

    def changed(
        self,
        *,
        base_url: str | None = None,
        api_url: str | None = None,
        text_url: str | None = None,
        image_url: str | None = None,
        timeout: TimeoutTypes | _Keep = KEEP,
        max_retries: int | None = None,
        backoff: Backoff | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ClientOptions:
        """A copy with the given settings changed; `base_url` sets the three hosts unless one is given too.

        `timeout` defaults to `KEEP` because None is a valid timeout (no timeout); `headers` are merged into the
        current ones.
        """
        changes: dict[str, Any] = {}
        if base_url is not None:
            changes.update(api_url=base_url, text_url=base_url, image_url=base_url)
        for name, value in (("api_url", api_url), ("text_url", text_url), ("image_url", image_url)):
            if value is not None:
                changes[name] = value
        if timeout is not KEEP:
            changes["timeout"] = timeout
        if max_retries is not None:
            changes["max_retries"] = max_retries
        if backoff is not None:
            changes["backoff"] = backoff
        if headers is not None:
            changes["headers"] = {**self.headers, **headers}
        for name in ("api_url", "text_url", "image_url"):
            if name in changes:
                changes[name] = _clean_url(str(changes[name]))
        return attrs.evolve(self, **changes) if changes else self


def _clean_url(url: str) -> str:
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"a base URL must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value else None


def resolve_options(
    *,
    base_url: str | None,
    api_url: str | None,
    text_url: str | None,
    image_url: str | None,
    timeout: TimeoutTypes | _Keep,
    max_retries: int | None,
    backoff: Backoff | None,
    headers: Mapping[str, str] | None,
    environ: Mapping[str, str] | None = None,
) -> ClientOptions:
    """Resolves the constructor's settings: argument, then environment, then `nai_sdk._constants`.

    A per-host URL (argument or environment) wins over `base_url`/`NAI_BASE_URL`, and an argument wins over any
    environment variable, so `NovelAI(base_url=...)` reaches one server even when `NAI_TEXT_BASE_URL` is set.

    Raises:
        ConfigurationError: a malformed URL, timeout or retry count.
    """
    env = os.environ if environ is None else environ
    base_arg = base_url
    base_env = _env(env, c.ENV_BASE_URL)

    def pick(arg: str | None, env_name: str, default: str) -> str:
        if arg is not None:
            return _clean_url(arg)
        if base_arg is not None:
            return _clean_url(base_arg)
        value = _env(env, env_name) or base_env
        return _clean_url(value) if value is not None else default

    if timeout is KEEP:
        env_timeout = _env(env, c.ENV_TIMEOUT)
        if env_timeout is not None:
            try:
                timeout = httpx.Timeout(float(env_timeout), connect=min(float(env_timeout), c.DEFAULT_CONNECT_TIMEOUT))
            except ValueError:
                raise ConfigurationError(f"{c.ENV_TIMEOUT} must be a number of seconds") from None
        else:
            timeout = httpx.Timeout(c.DEFAULT_TIMEOUT, connect=c.DEFAULT_CONNECT_TIMEOUT)
    if max_retries is None:
        env_retries = _env(env, c.ENV_MAX_RETRIES)
        try:
            max_retries = int(env_retries) if env_retries is not None else c.DEFAULT_MAX_RETRIES
        except ValueError:
            raise ConfigurationError(f"{c.ENV_MAX_RETRIES} must be an integer") from None
    return ClientOptions(
        api_url=pick(api_url, c.ENV_API_URL, c.DEFAULT_API_URL),
        text_url=pick(text_url, c.ENV_TEXT_URL, c.DEFAULT_TEXT_URL),
        image_url=pick(image_url, c.ENV_IMAGE_URL, c.DEFAULT_IMAGE_URL),
        timeout=timeout,
        max_retries=max_retries,
        backoff=backoff or Backoff(),
        headers=headers or {},
    )


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

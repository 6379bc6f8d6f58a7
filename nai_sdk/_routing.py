"""Which host a call goes to, and what counts as proof that a route has moved to another one.

NovelAI serves its routes from three hosts and moves them between hosts from time to time (in 2026, `/user/*`
moved from api.novelai.net to image.novelai.net). A call's host is, in order:

1. the host the caller chose (`Call.host`: text generation picks it by model; `nai.call(..., host=...)`);
2. else the client's `routes` option: the longest path prefix that matches (`routes={"/user/": "api"}`);
3. else the spec's first choice (`Operation.hosts`, from the `servers` of the built document);

and then, if this client saw that route move away from that host, the host it moved to (remembered for the rest
of the client's life, shared with its `with_options` copies).

An answer is proof that a route moved, and that the request was not processed, only when it says so:

* 400 whose message asks third-party tools to "update to the <host> URL" (NovelAI's answer on a retired route);
* 404 whose message is the web framework's own "Cannot <METHOD> <path>" (the route does not exist on that host:
  a missing object says "Specified object was not found." instead, and is not a move);
* 404 or 410 whose message says the route is deprecated, retired or moved.

The call is then sent once more, to the host the message names or else the spec's next host, and never more than
once: a route that moves back and forth cannot loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from nai_sdk._config import HOSTS
from nai_sdk.errors import APIStatusError

if TYPE_CHECKING:
    from nai_sdk._config import ClientOptions, Host
    from nai_sdk._http import Call

__all__ = ["Moves", "log_move", "moved_to", "route"]

logger = logging.getLogger("nai_sdk")

_UPDATE_URL = re.compile(r"update to the (api|text|image) url", re.IGNORECASE)
_NO_ROUTE = re.compile(r"^Cannot (GET|PUT|POST|PATCH|DELETE|HEAD|OPTIONS) /")
_DEPRECATED = re.compile(r"\b(deprecated|retired|has moved|moved to)\b", re.IGNORECASE)


#: A move seen: (method, path, the host it was sent to) -> the host that serves it.
Moves = Mapping[tuple[str, str, str], "Host"]


def route(call: Call, options: ClientOptions, moves: Moves) -> Host:
    """The host `call` goes to (see the module)."""
    operation = call.op
    host = call.host or _configured(operation.path, options) or cast("Host", operation.hosts[0])
    if moves:
        return moves.get((operation.method, operation.path, host), host)
    return host


def _configured(path: str, options: ClientOptions) -> Host | None:
    for prefix, host in options.routes.items():
        # Longest prefix first: ClientOptions keeps them sorted that way.
        if path.startswith(prefix):
            return host
    return None


def moved_to(error: APIStatusError, call: Call, host: Host) -> Host | None:
    """The host to resend `call` to when `error` (from `host`) proves the route moved; None when it does not."""
    message = error.message if isinstance(error.message, str) else ""
    named: str | None = None
    status = error.status_code
    if status == 400:
        match = _UPDATE_URL.search(message)
        if match is None:
            return None
        named = match.group(1).lower()
    elif status in (404, 410):
        if not (_NO_ROUTE.match(message) or _DEPRECATED.search(message)):
            return None
    else:
        return None
    if named in HOSTS and named != host:
        return named
    for candidate in call.op.hosts:
        if candidate != host and candidate in HOSTS:
            return candidate
    return None


def log_move(call: Call, old: Host, new: Host) -> None:
    """Said once per route and client, at INFO: the move is remembered, so it is not seen again."""
    logger.info(
        "%s %s has moved from the %s host to the %s host; sending it there from now on",
        call.op.method,
        call.op.path,
        old,
        new,
    )

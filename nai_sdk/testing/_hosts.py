"""Split-host mode: which of NovelAI's three hosts serves each route, and what the others answer instead.

The table is the spec's: :data:`nai_client.hosts.HOSTS` (built from the ``servers`` of the built document, the
extension routes included) gives each operation's hosts, first choice first, and a host serves a route when it is
that route's first choice. The one exception is text generation, which NovelAI serves on two hosts at once (the
text host for Kayra, Erato and newer models, the API host for the older ones), so both answer it here.

A host asked for a route it does not serve answers as NovelAI does:

* the API host, for a retired ``/user/*`` route: 400 ``{"statusCode": 400, "message": "Please refresh
  NovelAI.net. If using a third-party tool, update to the image URL."}`` (the host named is the one that serves
  the route now);
* any host, for any other route: NestJS's route-not-found, 404 ``{"statusCode": 404, "message": "Cannot GET
  /path", "error": "Not Found"}``.

Requests the table does not know (a method or path no operation has) pass through to the routes, which answer
501 as in single-URL mode: the fake does not pretend to know what NovelAI answers there.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from nai_client.hosts import HOSTS
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ROLES", "SHARED_ROUTES", "HostGate", "HostTable", "Role", "not_found_body", "retired_body"]

Role = Literal["api", "text", "image"]
ROLES: Final[tuple[Role, ...]] = ("api", "text", "image")
#: Routes every host that the spec lists serves, not only the first (see the module).
SHARED_ROUTES: Final = frozenset({("POST", "/ai/generate"), ("POST", "/ai/generate-stream")})
#: The ASGI scope key under which the gate leaves the role of the host a request reached.
ROLE_SCOPE_KEY: Final = "nai_fake.role"

_RETIRED = "Please refresh NovelAI.net. If using a third-party tool, update to the {role} URL."


def retired_body(role: Role = "image") -> dict[str, object]:
    """NovelAI's answer, on the API host, to a ``/user/*`` route it no longer serves."""
    return {"statusCode": 400, "message": _RETIRED.format(role=role)}


def not_found_body(method: str, target: str) -> dict[str, object]:
    """NestJS's answer to a route that does not exist: ``target`` is the path with its query, as NestJS says it."""
    return {"statusCode": 404, "message": f"Cannot {method} {target}", "error": "Not Found"}


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    serves: frozenset[Role]
    # Fewer path parameters first: DELETE /user/objects/batch is itself, not /user/objects/{type} with "batch".
    params: int


@dataclass(frozen=True)
class _Move:
    pattern: str
    method: str | None
    to: Role

    def applies(self, route: _Route, path: str) -> bool:
        return self.method in (None, route.method) and (
            fnmatch.fnmatchcase(path, self.pattern) or fnmatch.fnmatchcase(route.template, self.pattern)
        )


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts) + r"\Z")


class HostTable:
    """Which host serves each route now: the spec's table plus the moves a test made. Thread-safe.

    Args:
        hosts: The operations' hosts, first choice first (default: the generated ``nai_client.hosts.HOSTS``).
    """

    def __init__(self, hosts: Mapping[tuple[str, str], tuple[str, ...]] = HOSTS) -> None:
        routes = []
        for (method, template), listed in hosts.items():
            known = tuple(role for role in listed if role in ROLES)
            if not known:
                continue
            serves = frozenset(known) if (method, template) in SHARED_ROUTES else frozenset(known[:1])
            routes.append(_Route(method, template, _compile(template), serves, template.count("{")))
        self._routes: tuple[_Route, ...] = tuple(sorted(routes, key=lambda r: r.params))
        self._lock = threading.Lock()
        self._moves: tuple[_Move, ...] = ()

    def _route(self, method: str, path: str) -> _Route | None:
        for route in self._routes:
            if route.method == method and route.pattern.match(path):
                return route
        return None

    def serving(self, method: str, path: str) -> frozenset[Role] | None:
        """The hosts that serve this request now; None when no operation has this method and path."""
        route = self._route(method, path)
        if route is None:
            return None
        serves = route.serves
        # Read once: a move made meanwhile applies to the next request.
        for move in self._moves:
            if move.applies(route, path):
                serves = frozenset((move.to,))
        return serves

    def move(self, pattern: str, to: Role, *, method: str | None = None) -> None:
        """Serve the routes matching ``pattern`` on ``to`` only, from the next request on (see FakeNovelAI)."""
        if to not in ROLES:
            raise ValueError(f"to must be one of {', '.join(ROLES)}, not {to!r}")
        move = _Move(pattern, method.upper() if method else None, to)
        # A pattern names routes by their template (`/user/objects/*`) or by a path of theirs (`/user/objects/x`).
        if not any(
            move.method in (None, route.method)
            and (fnmatch.fnmatchcase(route.template, pattern) or route.pattern.match(pattern))
            for route in self._routes
        ):
            raise ValueError(f"no route matches {pattern!r}" + (f" with method {method.upper()}" if method else ""))
        with self._lock:
            self._moves = (*self._moves, move)

    def reset(self) -> None:
        """Undo every move: each route is served where the spec says again."""
        with self._lock:
            self._moves = ()

    def table(self) -> dict[tuple[str, str], frozenset[Role]]:
        """Each operation (method, path template) and the hosts serving it now, moves included."""
        return {(route.method, route.template): self._serving_template(route) for route in self._routes}

    def _serving_template(self, route: _Route) -> frozenset[Role]:
        serves = route.serves
        for move in self._moves:
            if move.applies(route, route.template):
                serves = frozenset((move.to,))
        return serves


def _sole(roles: Iterable[Role]) -> Role | None:
    found = list(roles)
    return found[0] if len(found) == 1 else None


class HostGate:
    """ASGI middleware: tells the host a request reached by the local port, and refuses routes it does not serve.

    Args:
        app: The routes.
        table: Which host serves what.
        roles: The role of each local port the server listens on.
    """

    def __init__(self, app: ASGIApp, table: HostTable, roles: Mapping[int, Role]) -> None:
        self.app = app
        self.table = table
        self.roles = roles

    def role(self, scope: Scope) -> Role | None:
        """The host a request reached (None for a socket that is not one of the three)."""
        server = scope.get("server")
        return self.roles.get(server[1]) if server else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        role = self.role(scope)
        scope[ROLE_SCOPE_KEY] = role
        method: str = scope["method"]
        path: str = scope["path"]
        serving = self.table.serving(method, path) if role is not None else None
        if serving is None or role in serving:
            await self.app(scope, receive, send)
            return
        if role == "api" and path.startswith("/user/"):
            status, body = 400, retired_body(_sole(serving) or "image")
        else:
            query = scope.get("query_string", b"").decode("latin-1")
            status, body = 404, not_found_body(method, path + ("?" + query if query else ""))
        # Read the body NovelAI would ignore, so the connection stays usable for the client's next request.
        while (await receive()).get("more_body", False):
            pass
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(raw)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})

"""The fake's generation lock: one generation per account at a time, as NovelAI enforces it.

Every route the spec marks as a generation (`nai_client.hosts.GENERATIONS`) takes the account's lock for the time
the generation runs: `generation_latency` seconds (spent before the answer, so that clients see the overlap), plus
the time the answer takes to send. An overlapping generation of the same account is answered 429 with NovelAI's
message, and counts nothing. A stream the client cuts keeps the lock until its simulated completion (the start plus
twice the latency), as NovelAI finishes a generation the client stopped reading.

The generations of each account are counted per day in the state (`Account.generations`), which is how tests see
the budget a client used.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._state import FakeState

__all__ = ["CONCURRENT_MESSAGE", "GenerationLock"]

#: NovelAI's answer to an overlapping generation (429).
CONCURRENT_MESSAGE = "Concurrent generation is locked"


def _generations() -> frozenset[tuple[str, str]]:
    from nai_client.hosts import GENERATIONS

    return GENERATIONS


class GenerationLock:
    """ASGI middleware enforcing one generation per account (see the module).

    Args:
        app: The routes.
        state: The accounts (the bearer token says whose generation it is).
        latency: Seconds each generation runs.
    """

    def __init__(self, app: ASGIApp, state: FakeState, latency: float = 0.0) -> None:
        self.app = app
        self.state = state
        self.latency = latency
        self._busy_until: dict[str, float] = {}
        self._routes = _generations()
        self._templates = [(method, path.split("/")) for method, path in self._routes]

    def _is_generation(self, method: str, path: str) -> bool:
        if (method, path) in self._routes:
            return True
        parts = path.split("/")
        return any(
            m == method
            and len(t) == len(parts)
            and all(a.startswith("{") or a == b for a, b in zip(t, parts, strict=True))
            for m, t in self._templates
        )

    def _account_id(self, scope: Scope) -> str | None:
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self.state.lock:
            account = self.state.account_by_token(token.strip())
            return account.id if account is not None else None

    def _count(self, account_id: str) -> None:
        with self.state.lock:
            account = self.state.accounts.get(account_id)
            if account is not None:
                day = dt.date.today().isoformat()
                account.generations[day] = account.generations.get(day, 0) + 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_generation(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        account_id = self._account_id(scope)
        if account_id is None:
            # Not logged in: the route answers 401 itself.
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        if self._busy_until.get(account_id, 0.0) > now:
            body = json.dumps({"statusCode": 429, "message": CONCURRENT_MESSAGE}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        # Held with no end in sight while it runs; the end is set when the answer is over (or was cut).
        self._busy_until[account_id] = float("inf")
        self._count(account_id)
        completed = False

        async def tracking_send(message: Message) -> None:
            nonlocal completed
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                completed = True

        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            await self.app(scope, receive, tracking_send)
        finally:
            end = time.monotonic()
            if not completed:
                # Cut by the client: the server generates on until its simulated completion.
                end = max(end, now + 2 * self.latency)
            self._busy_until[account_id] = end

    def busy(self, account_id: str) -> bool:
        """Whether the account's lock is held now."""
        return self._busy_until.get(account_id, 0.0) > time.monotonic()

    def __repr__(self) -> str:
        return f"<GenerationLock latency={self.latency}>"

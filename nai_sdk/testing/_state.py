"""The fake server's memory: accounts, tokens, objects, modules, gift keys. JSON in, JSON out.

Everything is plain data (dicts of JSON values) so that :meth:`FakeState.to_json` is a complete snapshot and a
test can read or edit any of it directly through ``server.state``. Handlers hold :attr:`FakeState.lock` while they
touch it; tests that edit state while the server runs should too.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["OBJECT_TYPES", "TIERS", "Account", "FakeState", "TierPerks"]

OBJECT_TYPES = ("stories", "storycontent", "aimodules", "presets", "shelf")
"""The user object types the fake stores (`/user/objects/{type}`)."""

STATE_VERSION = 1


@dataclass(frozen=True)
class TierPerks:
    """The perks the fake grants per subscription tier (0 Paper, 1 Tablet, 2 Scroll, 3 Opus)."""

    max_priority_actions: int
    start_priority: int
    context_tokens: int
    unlimited_max_priority: bool
    module_training_steps: int

    def to_wire(self) -> dict[str, Any]:
        """The ``SubscriptionTierPerks`` JSON object."""
        return {
            "maxPriorityActions": self.max_priority_actions,
            "startPriority": self.start_priority,
            "contextTokens": self.context_tokens,
            "unlimitedMaxPriority": self.unlimited_max_priority,
            "moduleTrainingSteps": self.module_training_steps,
        }


TIERS: dict[int, TierPerks] = {
    0: TierPerks(0, 1, 3072, False, 0),
    1: TierPerks(1000, 10, 4096, False, 0),
    2: TierPerks(1000, 10, 8192, False, 2000),
    3: TierPerks(1000, 10, 8192, True, 10000),
}
"""The fake's subscription tiers (0 Paper, 1 Tablet, 2 Scroll, 3 Opus) and what each allows."""


def now_s() -> int:
    """UNIX time in seconds (subscription expiry, account creation)."""
    return int(time.time())


def now_ms() -> int:
    """UNIX time in milliseconds (object and module ``lastUpdatedAt``, as NovelAI's JavaScript backend writes)."""
    return int(time.time() * 1000)


def new_id() -> str:
    """A fresh object or account id."""
    return secrets.token_hex(16)


@dataclass
class Account:
    """One NovelAI account.

    Attributes:
        id: Internal id.
        access_key: The 64-character access key that logs in.
        email_hash: SHA-256 hex of the e-mail as the client sent it at registration, or None.
        email: Cleartext e-mail, or None.
        tier: Subscription tier (0-3), or None for no subscription.
        expires_at: Subscription expiry (UNIX seconds); 0 without a subscription.
        trial_activated: Whether a trial has been bound.
        keystore: The opaque keystore string, or None when never stored.
        keystore_change_index: Incremented on every keystore write.
        client_settings: The opaque client settings body (a JSON text), or None.
        objects: Object type -> id -> the object exactly as the wire shows it.
        modules: Module id -> ``AiModuleDto`` JSON.
        persistent_token: The account's persistent API token, or None.
        fixed_training_steps: Monthly module training steps left.
        purchased_training_steps: Purchased module training steps left.
        allow_marketing_emails: As registered.
        email_verified: Whether the e-mail was verified.
        created_at: UNIX seconds.
        generations: Generations started per day (ISO date -> count), the budget a client used.
    """

    id: str
    access_key: str
    email_hash: str | None = None
    email: str | None = None
    tier: int | None = None
    expires_at: int = 0
    trial_activated: bool = False
    keystore: str | None = None
    keystore_change_index: int = 0
    client_settings: str | None = None
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    persistent_token: str | None = None
    fixed_training_steps: int = 0
    purchased_training_steps: int = 0
    allow_marketing_emails: bool = False
    email_verified: bool = False
    created_at: int = field(default_factory=now_s)
    generations: dict[str, int] = field(default_factory=dict)

    @property
    def subscribed(self) -> bool:
        """Whether the account has an active subscription now."""
        return self.tier is not None and self.expires_at > now_s()

    def grant(self, tier: int, days: int = 30) -> None:
        """Start or replace a subscription of ``tier`` for ``days`` days, refilling the monthly training steps."""
        self.tier = tier
        self.expires_at = now_s() + days * 86400
        self.fixed_training_steps = TIERS[tier].module_training_steps


@dataclass
class FakeState:
    """All state of one fake server.

    Attributes:
        accounts: Account id -> account.
        tokens: Bearer token (session or persistent) -> account id.
        giftkeys: Gift key -> ``{"tier": int, "days": int, "usedBy": account id or None}``.
        recovery_tokens: Recovery token -> account id (tests read it here instead of from an e-mail).
        deletion_tokens: Deletion token -> account id.
        verification_tokens: E-mail verification token -> account id.
    """

    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    giftkeys: dict[str, dict[str, Any]] = field(default_factory=dict)
    recovery_tokens: dict[str, str] = field(default_factory=dict)
    deletion_tokens: dict[str, str] = field(default_factory=dict)
    verification_tokens: dict[str, str] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def account_by_key(self, access_key: str) -> Account | None:
        """The account that logs in with ``access_key``, if any."""
        return next((a for a in self.accounts.values() if a.access_key == access_key), None)

    def account_by_email(self, email: str) -> Account | None:
        """The account registered with this cleartext e-mail or e-mail hash, if any."""
        return next((a for a in self.accounts.values() if email in (a.email, a.email_hash)), None)

    def account_by_token(self, token: str) -> Account | None:
        """The account a bearer token belongs to, if the token is valid."""
        account_id = self.tokens.get(token)
        return self.accounts.get(account_id) if account_id is not None else None

    def issue_token(self, account: Account) -> str:
        """Create a new session token for ``account``."""
        token = "fake-" + secrets.token_urlsafe(32)
        self.tokens[token] = account.id
        return token

    def revoke_session_tokens(self, account: Account) -> None:
        """Invalidate every session token of ``account`` (its persistent token stays valid)."""
        for token in [t for t, a in self.tokens.items() if a == account.id and t != account.persistent_token]:
            del self.tokens[token]

    def delete_account(self, account: Account) -> None:
        """Remove ``account`` and every token pointing at it."""
        self.accounts.pop(account.id, None)
        for table in (self.tokens, self.recovery_tokens, self.deletion_tokens, self.verification_tokens):
            for token in [t for t, a in table.items() if a == account.id]:
                del table[token]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready snapshot of the whole state."""
        with self.lock:
            return {
                "version": STATE_VERSION,
                "accounts": [asdict(account) for account in self.accounts.values()],
                "tokens": dict(self.tokens),
                "giftkeys": {k: dict(v) for k, v in self.giftkeys.items()},
                "recoveryTokens": dict(self.recovery_tokens),
                "deletionTokens": dict(self.deletion_tokens),
                "verificationTokens": dict(self.verification_tokens),
            }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FakeState:
        """Rebuild a state from :meth:`to_json` output.

        Raises:
            ValueError: The snapshot has another version.
        """
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported FakeNovelAI state version {data.get('version')!r}")
        return cls(
            accounts={a["id"]: Account(**a) for a in data["accounts"]},
            tokens=dict(data["tokens"]),
            giftkeys=dict(data["giftkeys"]),
            recovery_tokens=dict(data["recoveryTokens"]),
            deletion_tokens=dict(data["deletionTokens"]),
            verification_tokens=dict(data["verificationTokens"]),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a snapshot to ``path`` atomically (a crash never leaves half a file)."""
        target = Path(path)
        text = json.dumps(self.to_json(), indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FakeState:
        """Read a snapshot written by :meth:`save`."""
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

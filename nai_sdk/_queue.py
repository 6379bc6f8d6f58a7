"""One generation at a time per account: the queue every generation of this process waits in.

NovelAI runs one generation per account at a time. A second one that overlaps is refused with 429 ("Concurrent
generation is locked"), and a generation the client stops keeps the lock until it completes on the server. So
every call of an operation marked as a generation in the spec (`Operation.generation`: text, streams, images,
voice, director tools, chat) waits in its account's `GenerationQueue`:

* at most `generation_slots` in flight (1 by default, as NovelAI allows), served first in, first out across
  threads and asyncio tasks, sync and async clients alike (`nai_sdk._locks.FairSemaphore`); a cancelled waiter
  gives its place up;
* one queue per account and process, shared by every client of that account: clients built from the same e-mail
  and password (or the same token) find the same queue. A client built from a token and one built from a password
  cannot be told to be the same account, and queue apart;
* a stream the user abandons keeps its place until its answer ends, or for `STREAM_GRACE_SECONDS` after a cut
  (the server finishes the generation anyway);
* opt-in pacing: `min_generation_interval` seconds between the starts of two generations, and a
  `daily_generation_budget` (generations per local day) past which `GenerationBudgetError` is raised before
  anything is sent.

Account and storage calls never wait here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from typing import Final

from nai_sdk._locks import FairSemaphore
from nai_sdk.errors import GenerationBudgetError

__all__ = ["STREAM_GRACE_SECONDS", "GenerationQueue", "queue_for"]

logger = logging.getLogger("nai_sdk")

#: Seconds a cut stream keeps its place: NovelAI finishes the generation after the client stops reading.
STREAM_GRACE_SECONDS: Final = 5.0

_registry_lock = threading.Lock()
_registry: dict[str, GenerationQueue] = {}


class GenerationQueue:
    """The queue of one account's generations in this process (see the module).

    Attributes:
        semaphore: the places (`generation_slots` of them).
        min_interval: seconds between the starts of two generations (0: no pacing).
        daily_budget: generations per local day, or None for no limit.
    """

    __slots__ = ("_count", "_day", "_last_start", "_lock", "daily_budget", "min_interval", "semaphore")

    def __init__(self, slots: int = 1, min_interval: float = 0.0, daily_budget: int | None = None) -> None:
        self.semaphore = FairSemaphore(slots)
        self.min_interval = min_interval
        self.daily_budget = daily_budget
        self._lock = threading.Lock()
        self._last_start = 0.0
        self._day = dt.date.today()
        self._count = 0

    @property
    def used_today(self) -> int:
        """Generations started today (local day) through this queue."""
        with self._lock:
            return self._count if self._day == dt.date.today() else 0

    def waiting(self) -> int:
        """How many generations wait for a place now."""
        return self.semaphore.waiting()

    def start(self) -> float:
        """Counts a generation that is about to be sent; returns how long to wait first (pacing).

        Called with a place held.

        Raises:
            GenerationBudgetError: the daily budget is spent (nothing is counted or sent).
        """
        with self._lock:
            today = dt.date.today()
            if today != self._day:
                self._day, self._count = today, 0
            if self.daily_budget is not None and self._count >= self.daily_budget:
                raise GenerationBudgetError(
                    f"the daily generation budget ({self.daily_budget}) is spent; nothing was sent"
                )
            self._count += 1
            now = time.monotonic()
            wait = max(0.0, self._last_start + self.min_interval - now) if self.min_interval else 0.0
            self._last_start = now + wait
            return wait

    def release_later(self, seconds: float) -> None:
        """Gives a place back after `seconds` (a cut stream: the server is still generating)."""
        timer = threading.Timer(seconds, self.semaphore.release)
        timer.daemon = True
        timer.start()

    def __repr__(self) -> str:
        return f"<GenerationQueue {self.semaphore!r}>"


def account_key(access_key: str | None, token: str | None) -> str:
    """A one-way name for an account in this process: from its access key, else its token."""
    secret = access_key or token or ""
    return hashlib.blake2b(secret.encode(), digest_size=16, person=b"nai-sdk-queue").hexdigest()


def queue_for(key: str, slots: int, min_interval: float, daily_budget: int | None) -> GenerationQueue:
    """The account's queue, made on first use with these settings (later clients share it as it is)."""
    with _registry_lock:
        queue = _registry.get(key)
        if queue is None:
            queue = _registry[key] = GenerationQueue(slots, min_interval, daily_budget)
        return queue


def log_wait(queue: GenerationQueue, method: str, path: str) -> None:
    """Said once per wait, at INFO, when a generation has to queue."""
    logger.info("%s %s waits for the account's generation queue (position %d)", method, path, queue.waiting() + 1)

"""A first-in, first-out semaphore shared by threads and asyncio tasks at once.

`threading.Lock` cannot be awaited and `asyncio.Lock` belongs to one event loop, yet one client's shared state (its
keystore cache) is touched by threads of a `NovelAI`, by tasks of an `AsyncNovelAI`, and by both when a program
mixes them. `FairSemaphore` serves all of them from one queue: waiters are granted in arrival order, whatever they
are, and a release hands the place straight to the next waiter, so no newcomer can overtake a waiter.

Flows (see `nai_sdk.resources._base`) do no I/O and cannot block, so they ask their runner to acquire with
`yield Acquire(semaphore)` and release it themselves in a `finally`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from types import TracebackType

import attrs

__all__ = ["Acquire", "FairSemaphore", "Pause"]


class _Waiter:
    """One queued acquirer: a thread (an Event) or a task (a future of its loop)."""

    __slots__ = ("event", "future", "granted", "loop")

    def __init__(
        self, event: threading.Event | None, loop: asyncio.AbstractEventLoop | None, future: asyncio.Future[None] | None
    ) -> None:
        self.event = event
        self.loop = loop
        self.future = future
        # Set under the semaphore's mutex when a place is handed over; decides who releases on a cancellation.
        self.granted = False

    def wake(self) -> bool:
        """Tell the waiter it holds a place; False when it never can (its event loop is closed)."""
        if self.event is not None:
            self.event.set()
            return True
        assert self.loop is not None and self.future is not None
        try:
            self.loop.call_soon_threadsafe(_resolve, self.future)
        except RuntimeError:
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class FairSemaphore:
    """At most `value` holders at once, granted first in, first out to threads and tasks alike.

    Example:
        >>> lock = FairSemaphore()
        >>> with lock:
        ...     pass

    `async with lock:` works in any event loop; a task cancelled while it waits gives its place up.

    Args:
        value: how many holders may hold it at once (1 makes it a lock).

    Raises:
        ValueError: `value` is less than 1.
    """

    __slots__ = ("_free", "_mutex", "_value", "_waiters")

    def __init__(self, value: int = 1) -> None:
        if value < 1:
            raise ValueError("a FairSemaphore needs a value of at least 1")
        self._value = value
        self._free = value
        self._mutex = threading.Lock()
        self._waiters: deque[_Waiter] = deque()

    @property
    def value(self) -> int:
        """How many holders it allows at once."""
        return self._value

    def waiting(self) -> int:
        """How many acquirers are queued now."""
        return len(self._waiters)

    def locked(self) -> bool:
        """True when an acquirer would have to wait."""
        return self._free == 0

    def _take_or_enqueue(self, waiter: _Waiter) -> bool:
        # Called with the mutex held. A free place goes to a newcomer only when nobody queues before it.
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        self._waiters.append(waiter)
        return False

    def _abandon(self, waiter: _Waiter) -> None:
        """A waiter gives up (timeout, cancellation): leave the queue, or pass on a place it was already given."""
        with self._mutex:
            if waiter.granted:
                self._release_locked()
            else:
                self._waiters.remove(waiter)

    def acquire(self, timeout: float | None = None) -> bool:
        """Blocks until a place is free (or `timeout` seconds pass).

        Returns:
            True when acquired, False on timeout.
        """
        waiter = _Waiter(threading.Event(), None, None)
        with self._mutex:
            if self._take_or_enqueue(waiter):
                return True
        assert waiter.event is not None
        try:
            if waiter.event.wait(timeout):
                return True
        except BaseException:
            self._abandon(waiter)
            raise
        with self._mutex:
            if waiter.granted:
                # Granted between the timeout and the mutex: take it after all rather than pass it on.
                return True
            self._waiters.remove(waiter)
        return False

    async def acquire_async(self) -> None:
        """Waits, without blocking the event loop, until a place is free."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(None, loop, loop.create_future())
        with self._mutex:
            if self._take_or_enqueue(waiter):
                return
        assert waiter.future is not None
        try:
            await waiter.future
        except BaseException:
            self._abandon(waiter)
            raise

    def release(self) -> None:
        """Gives a place back; the longest waiter, if any, gets it."""
        with self._mutex:
            self._release_locked()

    def _release_locked(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            waiter.granted = True
            if waiter.wake():
                return
            # Its task can never run again: pass the place on rather than hand it to nobody.
        if self._free >= self._value:
            raise RuntimeError("FairSemaphore released more often than acquired")
        self._free += 1

    def __enter__(self) -> FairSemaphore:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    async def __aenter__(self) -> FairSemaphore:
        await self.acquire_async()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<FairSemaphore {self._value - self._free}/{self._value} held, {len(self._waiters)} waiting>"


@attrs.frozen
class Acquire:
    """A flow's request to its runner: acquire `semaphore` (blocking or awaiting), then resume the flow.

    The flow releases it itself, in a `finally` right after the `yield`.
    """

    semaphore: FairSemaphore


@attrs.frozen
class Pause:
    """A flow's request to its runner: wait `seconds` (sleeping or awaiting), then resume the flow."""

    seconds: float

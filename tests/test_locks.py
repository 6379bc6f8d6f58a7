"""FairSemaphore: one first-in, first-out queue for threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest

from nai_sdk._locks import FairSemaphore


def test_value_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FairSemaphore(0)


def test_over_release_is_an_error() -> None:
    lock = FairSemaphore()
    with pytest.raises(RuntimeError, match="released more often"):
        lock.release()


def test_threads_are_served_in_arrival_order() -> None:
    lock = FairSemaphore()
    order: list[int] = []
    lock.acquire()
    threads = []
    for index in range(6):
        thread = threading.Thread(target=lambda i=index: (lock.acquire(), order.append(i), lock.release()))
        thread.start()
        threads.append(thread)
        # Each thread must be queued before the next one starts, so that arrival order is known.
        while lock.waiting() < index + 1:
            time.sleep(0.001)
    lock.release()
    for thread in threads:
        thread.join(5)
    assert [0, 1, 2, 3, 4, 5] == order


def test_timeout_gives_the_place_up() -> None:
    lock = FairSemaphore()
    lock.acquire()
    assert lock.acquire(timeout=0.01) is False
    assert 0 == lock.waiting()
    lock.release()
    assert lock.acquire(timeout=0.01) is True


def test_value_two_admits_two_holders() -> None:
    lock = FairSemaphore(2)
    assert lock.acquire(timeout=0)
    assert lock.acquire(timeout=0)
    assert lock.locked()
    assert lock.acquire(timeout=0.01) is False


async def test_tasks_and_threads_share_one_queue() -> None:
    lock = FairSemaphore()
    order: list[str] = []
    await lock.acquire_async()

    async def task(name: str) -> None:
        async with lock:
            order.append(name)

    def thread_body() -> None:
        with lock:
            order.append("thread")

    first = asyncio.create_task(task("task-1"))
    while lock.waiting() < 1:
        await asyncio.sleep(0.001)
    thread = threading.Thread(target=thread_body)
    thread.start()
    while lock.waiting() < 2:
        await asyncio.sleep(0.001)
    second = asyncio.create_task(task("task-2"))
    while lock.waiting() < 3:
        await asyncio.sleep(0.001)
    lock.release()
    await first
    await asyncio.to_thread(thread.join, 5)
    await second
    assert ["task-1", "thread", "task-2"] == order
    assert not lock.locked()


async def test_a_cancelled_waiter_frees_its_place() -> None:
    lock = FairSemaphore()
    await lock.acquire_async()
    waiter = asyncio.create_task(lock.acquire_async())
    while lock.waiting() < 1:
        await asyncio.sleep(0.001)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert 0 == lock.waiting()
    lock.release()
    assert not lock.locked()


async def test_a_waiter_cancelled_after_being_granted_passes_the_place_on() -> None:
    lock = FairSemaphore()
    await lock.acquire_async()
    granted = asyncio.create_task(lock.acquire_async())
    nxt = asyncio.create_task(lock.acquire_async())
    while lock.waiting() < 2:
        await asyncio.sleep(0.001)
    # Hand the place to `granted`, then cancel it before it runs: the place must reach `nxt`, not vanish.
    lock.release()
    granted.cancel()
    with pytest.raises(asyncio.CancelledError):
        await granted
    await asyncio.wait_for(nxt, 5)
    assert lock.locked()
    lock.release()
    assert not lock.locked()


def test_a_waiter_of_a_closed_loop_is_skipped() -> None:
    lock = FairSemaphore()
    lock.acquire()
    loop = asyncio.new_event_loop()
    task = loop.create_task(lock.acquire_async())
    loop.run_until_complete(asyncio.sleep(0.01))
    assert 1 == lock.waiting()
    # The loop goes away with its task still queued (never cancelled, never run again); asyncio's complaint about the
    # pending task, when it is collected, is expected here.
    loop.set_exception_handler(lambda _loop, _context: None)
    loop.close()
    lock.release()
    assert not lock.locked()
    assert lock.acquire(timeout=1)
    del task
    gc.collect()

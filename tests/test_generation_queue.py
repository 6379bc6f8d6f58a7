"""One generation at a time per account: the SDK's queue against a FakeNovelAI that enforces NovelAI's lock."""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from nai_sdk import AsyncNovelAI, NovelAI, crypto
from nai_sdk.errors import GenerationBudgetError, QueueTimeoutError, RateLimitError
from nai_sdk.testing import FakeNovelAI

LATENCY = 0.02


@pytest.fixture(scope="module")
def slow_fake() -> Iterator[FakeNovelAI]:
    """A fake whose generations take LATENCY seconds and hold the account's lock meanwhile."""
    with FakeNovelAI(default_tier=3, generation_latency=LATENCY) as server:
        yield server


@pytest.fixture
def account(slow_fake: FakeNovelAI) -> tuple[str, str, str]:
    """A fresh account: e-mail, password, and its id on the fake."""
    email, password = f"q-{secrets.token_hex(4)}@example.com", "pw-" + secrets.token_hex(6)
    created, _ = slow_fake.add_account(crypto.access_key(email, password), email=email)
    return email, password, created.id


def _statuses(fake: FakeNovelAI, path: str = "/ai/generate") -> list[int | None]:
    return [request.status for request in fake.requests.matching("POST", path)]


def test_fifty_generations_from_threads_and_tasks_on_two_clients_never_overlap(
    slow_fake: FakeNovelAI, account: tuple[str, str, str]
) -> None:
    email, password, account_id = account
    slow_fake.requests.clear()
    sync = NovelAI(email=email, password=password, base_url=slow_fake.base_url)
    done: list[str] = []

    def in_a_thread(index: int) -> None:
        result = sync.text.generate([1, 2, 3], "kayra", max_length=3)
        assert 3 >= len(result.tokens) > 0
        done.append(f"thread-{index}")

    async def tasks() -> None:
        async with AsyncNovelAI(email=email, password=password, base_url=slow_fake.base_url) as nai:

            async def one(index: int) -> None:
                for _ in range(3):
                    await nai.text.generate([1, 2, 3], "kayra", max_length=3)
                done.append(f"task-{index}")

            await asyncio.gather(*(one(index) for index in range(10)))

    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(in_a_thread, index) for index in range(20)]
        asyncio.run(tasks())
        for future in futures:
            future.result()
    sync.close()
    assert 30 == len(done)
    statuses = _statuses(slow_fake)
    # 20 from the threads and 30 from the tasks, none refused: the server never saw two at once.
    assert 50 == len(statuses)
    assert [] == [status for status in statuses if status not in (200, 201)]
    assert 50 == sum(slow_fake.state.accounts[account_id].generations.values())


async def test_a_cancelled_waiter_leaves_no_hole(slow_fake: FakeNovelAI, account: tuple[str, str, str]) -> None:
    email, password, _ = account
    async with AsyncNovelAI(email=email, password=password, base_url=slow_fake.base_url) as nai:
        first = asyncio.create_task(nai.text.generate([1], "kayra", max_length=2))
        waiter = asyncio.create_task(nai.text.generate([1], "kayra", max_length=2))
        last = asyncio.create_task(nai.text.generate([1], "kayra", max_length=2))
        while nai._session.queue.waiting() < 2:
            await asyncio.sleep(0.001)
        waiter.cancel()
        await first
        await last
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not nai._session.queue.semaphore.locked()
        assert 0 == nai._session.queue.waiting()


def test_a_cut_stream_holds_the_place_for_the_grace_period(
    slow_fake: FakeNovelAI, account: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import nai_sdk._session

    monkeypatch.setattr(nai_sdk._session, "STREAM_GRACE_SECONDS", 0.2)
    email, password, _ = account
    with NovelAI(email=email, password=password, base_url=slow_fake.base_url) as nai:
        queue = nai._session.queue
        with nai.text.stream([1, 2, 3], "kayra", max_length=20) as stream:
            next(iter(stream))
        # Cut after one piece: NovelAI goes on generating, so the place stays taken for the grace period.
        assert queue.semaphore.locked()
        time.sleep(0.35)
        assert not queue.semaphore.locked()
        # A stream read to its end gives the place back at once.
        with nai.text.stream([1, 2, 3], "kayra", max_length=3) as stream:
            list(stream)
        assert not queue.semaphore.locked()


def test_a_rate_limit_storm_ends_in_a_typed_error_within_the_deadline(
    slow_fake: FakeNovelAI, account: tuple[str, str, str]
) -> None:
    email, password, _ = account
    slow_fake.inject("/ai/generate", status=429, retry_after=0.05, message="rate limited", times=1000)
    try:
        with NovelAI(email=email, password=password, base_url=slow_fake.base_url, queue_timeout=0.5) as nai:
            start = time.monotonic()
            with pytest.raises(QueueTimeoutError) as info:
                nai.text.generate([1], "kayra", max_length=2)
            took = time.monotonic() - start
    finally:
        slow_fake.faults.clear()
    assert isinstance(info.value, RateLimitError)
    assert took < 0.5 + 0.5
    assert "nothing was generated" in str(info.value)


def test_a_concurrent_generation_429_waits_and_resends(
    slow_fake: FakeNovelAI, account: tuple[str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    email, password, _ = account
    # Another device holds the account's lock for the next two attempts.
    slow_fake.inject("/ai/generate", status=429, message="Concurrent generation is locked", times=2)
    with (
        caplog.at_level(logging.INFO, logger="nai_sdk"),
        NovelAI(email=email, password=password, base_url=slow_fake.base_url, max_retries=0) as nai,
    ):
        result = nai.text.generate([1], "kayra", max_length=2)
    assert result.tokens
    assert 2 == sum("resending" in record.getMessage() for record in caplog.records)


def test_the_daily_budget_is_a_typed_error_before_anything_is_sent(
    slow_fake: FakeNovelAI, account: tuple[str, str, str]
) -> None:
    email, password, account_id = account
    with NovelAI(email=email, password=password, base_url=slow_fake.base_url, daily_generation_budget=2) as nai:
        nai.text.generate([1], "kayra", max_length=2)
        nai.text.generate([1], "kayra", max_length=2)
        with pytest.raises(GenerationBudgetError):
            nai.text.generate([1], "kayra", max_length=2)
        assert 2 == nai._session.queue.used_today
    # The fake's state shows the budget used.
    assert [2] == list(slow_fake.state.accounts[account_id].generations.values())


def test_pacing_spaces_the_starts(slow_fake: FakeNovelAI, account: tuple[str, str, str]) -> None:
    email, password, _ = account
    with NovelAI(email=email, password=password, base_url=slow_fake.base_url, min_generation_interval=0.1) as nai:
        start = time.monotonic()
        for _ in range(3):
            nai.text.generate([1], "kayra", max_length=2)
        assert time.monotonic() - start >= 0.2


def test_account_calls_do_not_wait_for_the_queue(slow_fake: FakeNovelAI, account: tuple[str, str, str]) -> None:
    email, password, _ = account
    with NovelAI(email=email, password=password, base_url=slow_fake.base_url) as nai:
        nai.login()
        queue = nai._session.queue
        queue.semaphore.acquire()
        try:
            finished = threading.Event()

            def read() -> None:
                nai.account.subscription()
                nai.storage.keystore()
                finished.set()

            threading.Thread(target=read).start()
            assert finished.wait(5)
        finally:
            queue.semaphore.release()


def test_clients_of_one_account_share_one_queue(slow_fake: FakeNovelAI, account: tuple[str, str, str]) -> None:
    email, password, _ = account
    one = NovelAI(email=email, password=password, base_url=slow_fake.base_url)
    two = AsyncNovelAI(email=email, password=password, base_url=slow_fake.base_url)
    other = NovelAI(token="t", base_url=slow_fake.base_url)
    try:
        assert one._session.queue is two._session.queue
        assert one._session.queue is one.with_options(timeout=5)._session.queue
        assert one._session.queue is not other._session.queue
    finally:
        one.close()
        other.close()


def test_the_fake_refuses_an_overlapping_generation() -> None:
    import httpx

    email, password = "overlap@example.com", "pw"
    # Generations that take long enough for the second request to arrive while the first runs.
    with FakeNovelAI(default_tier=3, generation_latency=0.5) as fake:
        fake.add_account(crypto.access_key(email, password), email=email)
        with NovelAI(email=email, password=password, base_url=fake.base_url) as nai:
            token = nai.login()
        body: dict[str, Any] = {
            "input": "AAEAAgAD",
            "model": "kayra-v1",
            "parameters": {"min_length": 1, "max_length": 3},
        }
        headers = {"Authorization": f"Bearer {token}"}

        def post() -> httpx.Response:
            return httpx.post(fake.base_url + "/ai/generate", json=body, headers=headers, timeout=10)

        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(post)
            # The first holds the lock for 0.5 s (its answer is logged only when it starts to leave).
            time.sleep(0.2)
            second = pool.submit(post).result()
            answers = [first.result(), second]
    statuses = sorted(answer.status_code for answer in answers)
    assert [201, 429] == statuses
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert {"statusCode": 429, "message": "Concurrent generation is locked"} == refused.json()

"""The generation queue: 20 generations submitted at once, and what the queue costs when nothing waits.

    .venv/bin/python bench/bench_queue.py [--latency 0.05] [--count 20]

* Against a FakeNovelAI whose generations take `--latency` seconds and hold the account's lock (overlaps are
  answered 429), an AsyncNovelAI submits `--count` generations at once. The goal: the total within 10% of
  count x latency (the generations run back to back, nothing is wasted), and no 429 at the server.
* The queue's own cost per generation when nothing waits (take a place, count it, give it back), against the
  bare semaphore cycle, in one process. The goal: under 20 µs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nai_sdk import AsyncNovelAI, crypto
from nai_sdk._queue import GenerationQueue
from nai_sdk.testing import FakeNovelAI


async def _burst(fake: FakeNovelAI, email: str, password: str, count: int) -> float:
    async with AsyncNovelAI(email=email, password=password, base_url=fake.base_url) as nai:
        await nai.login()
        start = time.perf_counter()
        await asyncio.gather(*(nai.text.generate([1, 2, 3], "kayra", max_length=3) for _ in range(count)))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    totals = []
    refused = 0
    with FakeNovelAI(default_tier=3, generation_latency=args.latency) as fake:
        for round_ in range(args.rounds):
            email, password = f"bench-{round_}@example.com", "pw"
            fake.add_account(crypto.access_key(email, password), email=email)
            fake.requests.clear()
            totals.append(asyncio.run(_burst(fake, email, password, args.count)))
            refused += sum(1 for request in fake.requests.all() if request.status == 429)
    ideal = args.count * args.latency
    total = statistics.median(totals)
    print(
        f"{args.count} generations at once, {args.latency * 1000:.0f} ms each: {total:.3f} s "
        f"(ideal {ideal:.3f} s, {total / ideal:.2f}x; goal within 1.10x), 429s at the server: {refused}"
    )

    queue = GenerationQueue()
    semaphore = queue.semaphore

    def cycle() -> None:
        semaphore.acquire()
        queue.start()
        semaphore.release()

    def bare() -> None:
        semaphore.acquire()
        semaphore.release()

    n = 100_000
    ours = min(timeit.repeat(cycle, number=n, repeat=5)) / n
    floor = min(timeit.repeat(bare, number=n, repeat=5)) / n
    print(
        f"queue cost per generation when nothing waits: {ours * 1e6:.2f} µs (semaphore alone {floor * 1e6:.2f} µs;"
        " goal under 20 µs)"
    )


if __name__ == "__main__":
    main()

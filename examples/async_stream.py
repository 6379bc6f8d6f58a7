"""Stream two generations at once with the asynchronous client.

Run: `python examples/async_stream.py`.
"""

from __future__ import annotations

import asyncio

from _setup import novelai_environment

from nai_sdk import AsyncNovelAI


async def continue_story(nai: AsyncNovelAI, prompt: str) -> str:
    pieces: list[str] = []
    async with nai.text.stream(prompt, "erato", max_length=20) as stream:
        async for piece in stream:
            pieces.append(piece.text)
    return "".join(pieces)


async def run() -> None:
    async with AsyncNovelAI() as nai:
        # Both requests share one connection pool and run concurrently.
        first, second = await asyncio.gather(
            continue_story(nai, "The lantern swung in the wind,"),
            continue_story(nai, "Mira climbed the tower steps,"),
        )
    print(f"first:  {first!r}")
    print(f"second: {second!r}")


def main() -> None:
    with novelai_environment():
        asyncio.run(run())


if __name__ == "__main__":
    main()

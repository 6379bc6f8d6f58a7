"""Helpers that let one test body drive `NovelAI` and `AsyncNovelAI` alike."""

from __future__ import annotations

import inspect
from typing import Any


async def maybe(value: Any) -> Any:
    """The result of a client call: awaited for the async client, as is for the sync one."""
    if inspect.isawaitable(value):
        return await value
    return value


async def collect(stream: Any) -> list[Any]:
    """Every piece of a text stream, sync or async, closing it afterwards."""
    if hasattr(stream, "__aiter__"):
        async with stream:
            return [piece async for piece in stream]
    with stream:
        return list(stream)

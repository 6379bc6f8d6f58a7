"""What every resource shares: the flow type, request bodies, and the runner protocol.

A *flow* is a generator that yields `Call`s and receives their results (or has their errors thrown into it), and
finally returns the value of the method. Flows hold all the logic of a resource method (building requests,
chaining them, reacting to a 409) and do no I/O, so `NovelAI` and `AsyncNovelAI` run the very same flows: the
sync and async resource classes are one-line wrappers, and cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

from nai_sdk._http import Call, Kind
from nai_sdk._locks import Acquire, Pause

if TYPE_CHECKING:
    from nai_sdk._client import AsyncNovelAI, NovelAI

__all__ = ["Acquire", "AsyncResource", "AsyncRunner", "Body", "Call", "Flow", "Kind", "Pause", "Resource", "SyncRunner"]

T = TypeVar("T")

#: A resource method's logic: yields calls (or `Acquire`, `Pause`), receives their results, returns the method's value.
Flow: TypeAlias = Generator[Call | Acquire | Pause, Any, T]


class Body:
    """A JSON request body handed to a generated `_get_kwargs` in place of its model.

    The generated code only calls `body.to_dict()`; passing the dict this way skips a `from_dict`/`to_dict` round
    trip per request and never rejects a value that NovelAI accepts but the spec's enums do not list yet (a new
    model name).
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object to send."""
        return self._data

    def __repr__(self) -> str:
        # Bodies can hold access keys (login, change of access key): never show them.
        return f"Body(<{len(self._data)} fields>)"


class SyncRunner(Protocol):
    """Runs flows to completion (implemented by `NovelAI`)."""

    def _run(self, flow: Flow[T]) -> T: ...


class AsyncRunner(Protocol):
    """Runs flows to completion asynchronously (implemented by `AsyncNovelAI`)."""

    async def _run(self, flow: Flow[T]) -> T: ...


class Resource:
    """Base of the synchronous resources: holds the client that runs their flows."""

    __slots__ = ("_client",)

    def __init__(self, client: NovelAI) -> None:
        self._client = client


class AsyncResource:
    """Base of the asynchronous resources."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncNovelAI) -> None:
        self._client = client


Progress: TypeAlias = Callable[[str, int, int | None], None]

"""What every resource shares: the flow type, request bodies, and the runner protocol.

A *flow* is a generator that yields `Call`s and receives their results (or has their errors thrown into it), and
finally returns the value of the method. Flows hold all the logic of a resource method (building requests,
chaining them, reacting to a 409) and do no I/O, so `NovelAI` and `AsyncNovelAI` run the very same flows: the
sync and async resource classes are one-line wrappers, and cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

from nai_sdk._http import Call, Kind
from nai_sdk._locks import Acquire, Pause

if TYPE_CHECKING:
    from nai_client.types import Bound

    from nai_sdk._config import Host
    from nai_sdk._session import AsyncEngine, SyncEngine

__all__ = [
    "Acquire",
    "AsyncResource",
    "Call",
    "Flow",
    "Kind",
    "Pause",
    "Progress",
    "Resource",
    "Step",
    "call",
    "call_buffer",
    "call_content",
]

T = TypeVar("T")

#: One step of a flow: a request, or a request to its runner (acquire a lock, wait).
Step: TypeAlias = Call | Acquire | Pause

#: A resource method's logic: yields steps, receives their results, returns the method's value.
Flow: TypeAlias = Generator[Step, Any, T]


def call(
    bound: Bound[T],
    *,
    host: Host | None = None,
    kind: Kind = Kind.IDEMPOTENT,
    auth: bool = True,
    follow_moves: bool = True,
) -> Generator[Step, Any, T]:
    """Send one generated operation and return its parsed 2xx answer, typed as the operation's model.

    `bound` is `<module>.operation.bind(...)`, whose arguments mypy checks against the operation's parameters; the
    runner sends it (retries, re-login, typed errors) and parses the answer with the operation's own parser.

    Example:
        >>> answer = yield from call(get_keystore.operation.bind())  # doctest: +SKIP
        >>> answer.keystore  # GetKeystoreResponse.keystore: a rename in the spec fails type checking here
    """
    result = yield Call(
        bound.operation, bound.kwargs, host=host, kind=kind, auth=auth, args=bound.args, follow_moves=follow_moves
    )
    # The one cast: the runner sends back what bound.operation.parse returned, which is a T.
    return cast(T, result)


def call_content(
    bound: Bound[Any], *, host: Host | None = None, kind: Kind = Kind.IDEMPOTENT, auth: bool = True
) -> Generator[Step, Any, bytes]:
    """Send one generated operation and return the raw bytes of its 2xx answer (images, audio, ZIP archives)."""
    result = yield Call(
        bound.operation, bound.kwargs, host=host, kind=kind, auth=auth, result="content", args=bound.args
    )
    return cast(bytes, result)


def call_buffer(bound: Bound[Any], *, kind: Kind = Kind.IDEMPOTENT) -> Generator[Step, Any, bytearray]:
    """Like `call_content`, for large answers: the body is read chunk by chunk into one `bytearray`, so the memory it
    takes is its own size (httpx's own read holds the chunks and their join at once: twice it)."""
    result = yield Call(bound.operation, bound.kwargs, kind=kind, result="buffer", args=bound.args)
    return cast(bytearray, result)


class Resource:
    """Base of the synchronous resources: holds the engine that runs their flows (and nothing of the client)."""

    __slots__ = ("_engine",)

    def __init__(self, engine: SyncEngine) -> None:
        self._engine = engine


class AsyncResource:
    """Base of the asynchronous resources."""

    __slots__ = ("_engine",)

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine


#: `progress(object_type, done_so_far, total_or_None)`, called after every page of a download or a backup.
Progress: TypeAlias = Callable[[str, int, int | None], None]

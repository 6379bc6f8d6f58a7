"""A local NovelAI for tests: :class:`FakeNovelAI` serves NovelAI's routes on loopback from an in-memory state.

Needs the optional extra ``testing`` (Starlette, uvicorn, sse-starlette: ``pip install '.[testing]'`` from a
checkout). Nothing in the SDK proper imports this package.

    with FakeNovelAI(default_tier=3) as server:
        client = NovelAI(base_url=server.base_url, ...)

``FakeNovelAI(split_hosts=True)`` serves the api, text and image hosts apart, each with only the routes NovelAI
serves there today (``NovelAI(**server.urls, ...)``), and ``server.move_route(...)`` moves one mid-session; see
`FakeNovelAI.move_route`.

Faults can be injected per request (``X-Fake-Fault: status=429;retry-after=1``) or per server
(``server.inject("/ai/generate", status=429, retry_after=1, times=3)``); see `FakeNovelAI.inject` and `Fault`.
Run it standalone with ``python -m nai_sdk.testing --port 8080 --state state.json`` (add ``--split-hosts`` for
three hosts).
"""

from ._app import ApiError, FakeConfig, build_app
from ._faults import FAULT_HEADER, Fault, LoggedRequest, RequestLog, parse_fault
from ._hosts import HostTable
from ._server import NO_BODY, FakeNovelAI, HostURLs
from ._state import OBJECT_TYPES, TIERS, Account, FakeState
from ._textgen import TEXT_MODELS, TextModel

__all__ = [
    "FAULT_HEADER",
    "NO_BODY",
    "OBJECT_TYPES",
    "TEXT_MODELS",
    "TIERS",
    "Account",
    "ApiError",
    "FakeConfig",
    "FakeNovelAI",
    "FakeState",
    "Fault",
    "HostTable",
    "HostURLs",
    "LoggedRequest",
    "RequestLog",
    "TextModel",
    "build_app",
    "parse_fault",
]

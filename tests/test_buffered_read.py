"""Large answers read into one buffer (`Result` "buffer", used by backups): the exact bytes, however they arrive."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest
from _client_helpers import maybe

from nai_sdk._client import AsyncNovelAI, NovelAI
from nai_sdk._http import _Buffer, _buffer_size
from nai_sdk.resources._backup import _list_page

BODY = b'{"objects": [' + b",".join(b'{"id": "%d"}' % n for n in range(2000)) + b"]}"


@pytest.mark.parametrize(
    "size", [len(BODY), None, len(BODY) - 10, len(BODY) + 10], ids=["exact", "none", "short", "long"]
)
@pytest.mark.parametrize("chunk", [1, 7, 4096, len(BODY)])
def test_a_buffer_holds_exactly_the_chunks_given(size: int | None, chunk: int) -> None:
    buffer = _Buffer(size)
    for start in range(0, len(BODY), chunk):
        buffer.add(BODY[start : start + chunk])
    assert BODY == bytes(buffer.done())


def test_the_size_is_trusted_only_without_a_content_encoding() -> None:
    assert 12 == _buffer_size(httpx.Response(200, headers={"content-length": "12"}))
    assert _buffer_size(httpx.Response(200, headers={"content-length": "12", "content-encoding": "gzip"})) is None
    assert _buffer_size(httpx.Response(200, headers={"content-length": "-1"})) is None
    assert _buffer_size(httpx.Response(200, headers={"content-length": "9" * 30})) is None


class Chunked(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers every request with BODY, gzipped or not, in small chunks of a stream."""

    def __init__(self, gzipped: bool) -> None:
        self.gzipped = gzipped

    def _response(self) -> httpx.Response:
        data = gzip.compress(BODY) if self.gzipped else BODY
        headers = {"content-type": "application/json", "content-length": str(len(data))}
        if self.gzipped:
            headers["content-encoding"] = "gzip"
        chunks = [data[i : i + 333] for i in range(0, len(data), 333)]
        return httpx.Response(200, headers=headers, stream=_Stream(chunks))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._response()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._response()


class _Stream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Any:
        yield from self.chunks

    async def __aiter__(self) -> Any:
        for chunk in self.chunks:
            yield chunk


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_listing_page_arrives_byte_for_byte(kind: str, gzipped: bool) -> None:
    transport = Chunked(gzipped)
    if kind == "sync":
        with NovelAI(token="pst-x", base_url="http://127.0.0.1:9", transport=transport) as nai:
            page = nai._engine.run(_list_page("stories", 0, 10))
    else:
        async with AsyncNovelAI(token="pst-x", base_url="http://127.0.0.1:9", transport=transport) as nai:
            page = await maybe(nai._engine.run(_list_page("stories", 0, 10)))
    assert isinstance(page, bytearray)
    assert BODY == bytes(page)

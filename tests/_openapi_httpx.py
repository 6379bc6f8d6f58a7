"""openapi-core adapters for httpx requests and responses (openapi-core 0.23 ships none for httpx).

`validator()` builds one OpenAPI validator for generated/openapi.yaml (built once: it is slow to build) that also
knows how to read the non-JSON bodies: text/event-stream (events that each carry a `data:` field), ZIP archives
and audio.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

BUILT_DOCUMENT = Path(__file__).resolve().parent.parent / "generated" / "openapi.yaml"


class HttpxOpenAPIRequest:
    """An httpx.Request seen through openapi-core's Request protocol."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(request.headers.multi_items()),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        url = self._request.url
        return f"{url.scheme}://{url.netloc.decode('ascii')}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        content = self._request.content
        return content or None

    @property
    def content_type(self) -> str:
        return str(self._request.headers.get("content-type", "")).lower()


class HttpxOpenAPIResponse:
    """An httpx.Response seen through openapi-core's Response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return str(self._response.headers.get("content-type", "")).lower()

    @property
    def headers(self) -> Headers:
        return Headers(self._response.headers.multi_items())


def read_event_stream(body: bytes, **_parameters: str) -> str:
    """Deserialize a text/event-stream body: UTF-8 text made of events that each carry a `data:` field."""
    text = body.decode("utf-8")
    events = [event for event in text.replace("\r\n", "\n").split("\n\n") if event.strip()]
    for event in events:
        fields = [line.partition(":")[0] for line in event.split("\n") if line and not line.startswith(":")]
        if "data" not in fields:
            raise ValueError(f"server-sent event without data: {event!r}")
    return text


def read_binary(body: bytes, **_parameters: str) -> str:
    """Deserialize an opaque binary body for a `{type: string, format: binary}` schema.

    openapi-core hands raw bytes to the JSON Schema validator, which knows no bytes type; the body is passed on as
    latin-1 text (one character per byte), so "is a string" holds for any bytes.
    """
    return body.decode("latin-1")


def read_zip(body: bytes, **parameters: str) -> str:
    """Deserialize an application/zip body: it must be a ZIP archive."""
    if not body.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise ValueError("not a ZIP archive")
    return read_binary(body, **parameters)


@functools.cache
def validator() -> OpenAPI:
    document: dict[str, Any] = yaml.safe_load(BUILT_DOCUMENT.read_text(encoding="utf-8"))
    deserializers: dict[str, Callable[[bytes], Any]] = {
        "text/event-stream": read_event_stream,
        "application/zip": read_zip,
        "audio/mpeg": read_binary,
        "audio/webm": read_binary,
        "application/octet-stream": read_binary,
    }
    config = Config(extra_media_type_deserializers=deserializers)
    return OpenAPI.from_dict(document, config=config)


def validate_request(request: httpx.Request) -> None:
    """Validate a request against the built document (raise on any error)."""
    validator().validate_request(HttpxOpenAPIRequest(request))


def validate_response(request: httpx.Request, response: httpx.Response) -> None:
    """Validate a response to request against the built document (raise on any error)."""
    validator().validate_response(HttpxOpenAPIRequest(request), HttpxOpenAPIResponse(response))

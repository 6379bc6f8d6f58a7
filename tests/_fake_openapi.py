"""openapi-core set up to judge FakeNovelAI: the shared httpx adapters (tests/_openapi_httpx.py) plus

* a request adapter that reports the spec's host: the fake answers on 127.0.0.1, the spec's server is
  https://api.novelai.net;
* a ``text/event-stream`` deserializer that validates every event against ``AiGenerateStreamableResponse``, or
  for the OpenAI-compatible API, checks every chunk's ``choices`` and lets ``[DONE]`` end the stream;
* deserializers for the binary media types (ZIP, MP3, WebM) that check the payload's magic bytes and hand the
  validator a string, since JSON Schema's ``type: string`` rejects Python bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from _openapi_httpx import HttpxOpenAPIRequest as _SharedRequest
from _openapi_httpx import HttpxOpenAPIResponse
from openapi_core import Config, OpenAPI

__all__ = ["SPEC_PATH", "HttpxOpenAPIRequest", "HttpxOpenAPIResponse", "openapi", "parse_sse", "spec_document"]

ROOT = Path(__file__).resolve().parent.parent
# The fixed document; the raw restored one only until the overlays have run (it has known defects).
SPEC_PATH = next(p for p in (ROOT / "generated/openapi.yaml", ROOT / "spec/novelai-primary.openapi.yaml") if p.exists())


class HttpxOpenAPIRequest(_SharedRequest):
    """The shared adapter, reporting the spec's host instead of the fake's loopback address."""

    def __init__(self, request: httpx.Request, host_url: str = "https://api.novelai.net") -> None:
        super().__init__(request)
        self._host_url = host_url

    @property
    def host_url(self) -> str:
        return self._host_url


def parse_sse(text: str) -> list[dict[str, str]]:
    """Split an SSE body into events (field -> value; repeated ``data`` lines joined with newlines)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            event[name] = event[name] + "\n" + value if name in event else value
        if event:
            events.append(event)
    return events


@cache
def spec_document() -> dict[str, Any]:
    """The spec as plain data."""
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


_JSON_TYPES: dict[str, tuple[type, ...]] = {"number": (int, float), "string": (str,), "boolean": (bool,)}


def _event_errors(payload: Any) -> list[str]:
    """What is wrong with one event's JSON, judged by the spec's ``AiGenerateStreamableResponse``."""
    if not isinstance(payload, dict):
        return ["not an object"]
    properties = spec_document()["components"]["schemas"]["AiGenerateStreamableResponse"]["properties"]
    errors = [f"{name} missing" for name in ("ptr", "token", "final") if name not in payload]
    for name, value in payload.items():
        kind = properties.get(name, {}).get("type")
        expected = _JSON_TYPES.get(kind, (object,))
        # bool is an int in Python, but never a number in JSON.
        if not isinstance(value, expected) or (kind == "number" and isinstance(value, bool)):
            errors.append(f"{name}={value!r} is not a {kind}")
    return errors


def _chunk_errors(payload: dict[str, Any]) -> list[str]:
    """What is wrong with one chunk of an OpenAI-compatible stream (ChatCompletionChunk or CompletionResponse)."""
    choices = payload["choices"]
    if not isinstance(choices, list):
        return ["choices is not a list"]
    return [
        f"choices[{index}] has neither a delta object nor a text"
        for index, choice in enumerate(choices)
        if not (
            isinstance(choice, dict) and (isinstance(choice.get("delta"), dict) or isinstance(choice.get("text"), str))
        )
    ]


def _sse_loads(value: bytes, **parameters: str) -> str:
    """Deserialize a ``text/event-stream`` body, validating every event's JSON against the spec's event schema.

    Returns the text (the spec declares the stream as a binary string); raises ValueError on any bad event, which
    openapi-core reports as a deserialization error.
    """
    text = value.decode(parameters.get("charset", "utf-8"))
    events = parse_sse(text)
    if not events:
        raise ValueError("an SSE stream without events")
    for event in events:
        if event.get("data") == "[DONE]":
            # The end of an OpenAI-compatible stream (/oa/v1).
            continue
        payload = json.loads(event["data"])
        errors = (
            _chunk_errors(payload) if isinstance(payload, dict) and "choices" in payload else _event_errors(payload)
        )
        if errors:
            raise ValueError(f"SSE event {payload!r} is invalid: {', '.join(errors)}")
    return text


def _binary_loads(magic: tuple[bytes, ...]) -> Callable[..., str]:
    def loads(value: bytes, **parameters: str) -> str:
        if not value.startswith(magic):
            raise ValueError(f"payload starts with {value[:8]!r}, expected one of {magic!r}")
        return value.decode("latin-1")

    return loads


@cache
def openapi() -> OpenAPI:
    """An openapi-core validator of :data:`SPEC_PATH` (built once: building it costs about a second)."""
    config = Config(
        extra_media_type_deserializers={
            "text/event-stream": _sse_loads,
            "application/zip": _binary_loads((b"PK\x03\x04",)),
            "audio/mpeg": _binary_loads((b"\xff\xfb", b"\xff\xf3", b"ID3")),
            "audio/webm": _binary_loads((b"\x1a\x45\xdf\xa3",)),
        }
    )
    return OpenAPI.from_file_path(str(SPEC_PATH), config=config)

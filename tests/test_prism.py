"""Prism, an independent OpenAPI implementation, judges our requests and the fake's answers.

* ``prism mock``: a request for every operation of generated/openapi.yaml, built from the spec's schemas, must not
  be rejected (422, or any answer with an ``sl-violations`` header).
* ``prism proxy`` in front of FakeNovelAI: the fake's answers to a short session must carry no ``sl-violations``.

Prism is pinned in package.json / package-lock.json (``npm ci``); the tests skip only when node or
node_modules/.bin/prism is absent.
"""

from __future__ import annotations

import functools
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from nai_sdk.testing import FakeNovelAI

ROOT = Path(__file__).resolve().parent.parent
PRISM = ROOT / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "generated" / "openapi.yaml"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not PRISM.exists(),
    reason="Prism needs node and node_modules/.bin/prism: run `npm ci` at the repository root",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_prism(*arguments: str) -> Iterator[str]:
    port = _free_port()
    command = [str(PRISM), *arguments, "-p", str(port), "-h", "127.0.0.1", "-v", "error"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    stderr = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"Prism did not start: {stderr[-2000:]}")
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture(scope="session")
def prism_mock() -> Iterator[str]:
    yield from _start_prism("mock", str(SPEC))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeNovelAI]:
    with FakeNovelAI(default_tier=3) as server:
        yield server


@pytest.fixture(scope="module")
def prism_proxy(fake: FakeNovelAI) -> Iterator[str]:
    yield from _start_prism("proxy", str(SPEC), fake.base_url, "--errors")


# -- building a valid request from the spec -------------------------------------------------------------------


@functools.cache
def _document() -> dict[str, Any]:
    # The C loader when PyYAML has it: the pure-Python one takes about half a second for this document.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)
    return document


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def instance(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """The smallest value that satisfies ``schema``: required properties only, bounds respected."""
    schema = _resolve(document, schema)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged = {**merged, **_resolve(document, part)}
        return instance(document, {**merged, **{k: v for k, v in schema.items() if k != "allOf"}})
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return instance(document, schema[key][0])
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: instance(document, properties.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return [instance(document, schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        if "examples" in schema:
            return schema["examples"][0]
        return "A" * max(4, schema.get("minLength", 0))
    if kind in ("number", "integer"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    raise AssertionError(f"no instance for {schema}")


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = _document()
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    ]


def build_request(method: str, path: str, operation: dict[str, Any]) -> httpx.Request:
    document = _document()
    query: dict[str, Any] = {}
    for parameter in operation.get("parameters", []):
        parameter = _resolve(document, parameter)
        value = instance(document, parameter.get("schema", {}))
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(value))
        elif parameter["in"] == "query" and parameter.get("required"):
            query[parameter["name"]] = json.dumps(value) if isinstance(value, bool) else value
    headers = {"Authorization": "Bearer prism-test-token"} if operation.get("security") else {}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    content = None
    if body is not None:
        content = json.dumps(instance(document, body.get("schema", {}))).encode()
        headers["Content-Type"] = "application/json"
    return httpx.Request(method, "http://placeholder" + path, params=query, headers=headers, content=content)


# -- the tests ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "operation"), operations(), ids=lambda v: v if isinstance(v, str) else "")
def test_prism_accepts_a_spec_built_request(prism_mock: str, method: str, path: str, operation: dict[str, Any]) -> None:
    request = build_request(method, path, operation)
    with httpx.Client(base_url=prism_mock, timeout=30) as client:
        response = client.request(
            request.method, request.url.raw_path.decode(), headers=request.headers, content=request.content
        )
    assert 422 != response.status_code, response.text
    assert "sl-violations" not in response.headers, response.headers["sl-violations"]


def _session(base_url: str, fake: FakeNovelAI) -> list[httpx.Response]:
    _, token = fake.add_account()
    auth = {"Authorization": f"Bearer {token}"}
    generate = {"input": "", "model": "kayra-v1", "parameters": {"min_length": 1, "max_length": 4}}
    with httpx.Client(base_url=base_url, headers=auth, timeout=30) as client:
        obj = client.put("/user/objects/stories", json={"meta": "m", "data": "AAAA"}).json()
        return [
            client.get("/user/information"),
            client.get("/user/data"),
            client.get("/user/subscription"),
            client.get("/user/keystore"),
            client.put("/user/keystore", json={"keystore": "AAAA"}),
            client.get("/user/objects/stories"),
            client.get(f"/user/objects/stories/{obj['id']}"),
            client.patch(f"/user/objects/stories/{obj['id']}", json={"meta": "m", "data": "AAAA", "changeIndex": 1}),
            client.patch(f"/user/objects/stories/{obj['id']}", json={"meta": "m", "data": "AAAA", "changeIndex": 1}),
            client.delete(f"/user/objects/stories/{obj['id']}"),
            client.post("/ai/generate", json=generate),
            client.post("/ai/generate-stream", json=generate),
            client.post(
                "/ai/generate-image",
                json={"input": "x", "model": "nai-diffusion-3", "parameters": {"width": 64, "height": 64}},
            ),
            client.post(
                "/ai/generate-voice", json={"text": "Hi", "seed": "a", "voice": -1, "opus": False, "version": "v2"}
            ),
            client.get("/ai/module/all"),
        ]


def test_prism_proxy_finds_no_violation_in_the_fake_answers(prism_proxy: str, fake: FakeNovelAI) -> None:
    responses = _session(prism_proxy, fake)
    violations = [
        (r.request.method, r.request.url.path, r.status_code, r.headers["sl-violations"])
        for r in responses
        if "sl-violations" in r.headers or r.status_code == 422
    ]
    assert [] == violations
    assert [200, 200, 200, 200, 200, 200, 200, 200, 409, 200, 201, 201, 201, 201, 200] == [
        r.status_code for r in responses
    ]

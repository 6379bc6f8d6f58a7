"""Schemathesis throws schema-generated requests at FakeNovelAI: no crash, and every declared answer conforms.

A small budget (5 examples per operation) keeps the run well under a minute; it is a smoke test of the fake's
input handling, not a search. Each example runs as a fresh subscribed account, so a generated ``/user/delete`` or
``/user/change-access-key`` cannot spoil the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance

from nai_sdk.testing import FakeNovelAI

SPEC = Path(__file__).resolve().parent.parent / "generated" / "openapi.yaml"

schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeNovelAI]:
    with FakeNovelAI(default_tier=3) as server:
        yield server


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_fake_survives_generated_requests(case: Any, fake: FakeNovelAI) -> None:
    _, token = fake.add_account()
    response = case.call(base_url=fake.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    # 501 is the fake's honest "not implemented"; anything else from 500 up is a bug in the fake.
    assert response.status_code < 500 or (
        response.status_code == 501 and response.json()["message"].startswith("not implemented by FakeNovelAI")
    ), (response.status_code, response.text[:500])
    # The spec declares the SSE stream as one binary string; schemathesis reads it as events and would compare each
    # event to that string schema. tests/test_fake_server_spec.py validates every event's JSON instead.
    is_stream = any(value.startswith("text/event-stream") for value in response.headers.get("content-type", []))
    checks = [content_type_conformance] if is_stream else [response_schema_conformance, content_type_conformance]
    case.validate_response(response, checks=checks)

"""Tokens, access keys, passwords and encryption keys never appear in reprs, logs or error messages."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

import pytest
from _client_helpers import collect, maybe

from nai_sdk import crypto
from nai_sdk.errors import AuthenticationError, NovelAIError
from nai_sdk.testing import FakeNovelAI


async def test_no_secret_in_logs_reprs_or_errors(
    make_client: Any, creds: Any, fake: FakeNovelAI, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("nai_sdk", "httpx", "httpcore", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    nai = make_client(email=creds.email, password=creds.password)
    shown: list[str] = [repr(nai), repr(nai.options), repr(nai._session), repr(nai._engine), str(nai.__dict__)]
    await maybe(nai.account.information())
    stream = nai.text.stream("x", "kayra", max_length=3, min_length=3)
    await collect(stream)
    keystore = await maybe(nai.storage.keystore())
    shown += [repr(keystore), repr(stream), repr(stream.result)]
    persistent = await maybe(nai.account.create_persistent_token())
    fake.inject("/user/subscription", status=500, times=5)
    errors: list[NovelAIError] = []
    calls: list[Callable[[], Any]] = [
        lambda: nai.account.subscription(),
        lambda: make_client(token="refused-" + creds.token).account.priority(),
        lambda: make_client(email=creds.email, password=creds.password + "x").account.priority(),
        lambda: make_client(token=creds.token, base_url="http://127.0.0.1:9").account.priority(),
    ]
    for call in calls:
        with pytest.raises(NovelAIError) as info:
            await maybe(call())
        errors.append(info.value)
    assert isinstance(errors[1], AuthenticationError)
    for error in errors:
        shown += [str(error), repr(error), repr(getattr(error, "body", None)), str(getattr(error, "headers", ""))]
        if error.__cause__ is not None:
            shown += [str(error.__cause__), repr(error.__cause__)]
    shown += [record.getMessage() for record in caplog.records]
    shown += [repr(record.args) for record in caplog.records]
    text = "\n".join(shown)

    assert caplog.records, "expected httpx/httpcore debug logs to be captured"
    encryption = crypto.encryption_key(creds.email, creds.password)
    session_token = nai._session.token
    secrets = {
        "password": creds.password,
        "access key": creds.access_key,
        "access key prefix": creds.access_key[:16],
        "session token": session_token,
        "bearer token": creds.token,
        "persistent token": persistent,
        "encryption key hex": encryption.hex(),
        "encryption key b64": base64.b64encode(encryption).decode(),
        "encryption key bytes": repr(encryption)[2:30],
    }
    for what, secret in secrets.items():
        assert secret, what
        assert secret not in text, f"the {what} leaked"

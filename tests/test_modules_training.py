"""Module training: the data set encoded as the web client encodes it, trainable models only, the fake's checks.

The expected `data` literals were computed once outside the SDK, with Python's zlib in a shell:
`base64.b64encode(zlib.compressobj(1, zlib.DEFLATED, -15).compress(text.encode()) + ...flush())`.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from _client_helpers import maybe

from nai_sdk import NovelAI
from nai_sdk._config import Backoff
from nai_sdk.errors import BadRequestError, ConfigurationError, UnknownModelError
from nai_sdk.resources.modules import (
    DEFAULT_LEARNING_RATE,
    DEFAULT_TRAINING_MODEL,
    TRAINABLE_MODELS,
    encode_training_data,
    training_text,
)
from nai_sdk.testing import FakeNovelAI

# Two files as the web client would upload them: the first with a CRLF line end and leading spaces (trimmed), the
# second with a character outside ASCII and one outside Latin-1.
TEXTS = ("  The lantern swung.\r\n", "Night fell on the river — 夜.")
TRAINING_SET = "The lantern swung.\n<|endoftext|>Night fell on the river — 夜.<|endoftext|>"
ENCODED = "C8lIVchJzCtJLcpTKC4vzUvX47KpSc1LyU8rSa0oqbHzy0zPKFFIS83JUcjPUygBqi7KLEstUnjUMEXh6ZI5eiiKAQ=="
# 100 steps over 50 UTF-16 units, at 3.5 * 256 characters a step: 100 / (50 / 896) * 100.
PERCENTAGE = 179200.0
UNTRAINABLE = ("kayra-v1", "Kayra", "clio-v1", "llama-3-erato-v1", "glm-4-6", "krake-v2", "no-such-model")
BASE = "https://nai.test"
FAST = Backoff(initial=0.001, maximum=0.002, retry_after_cap=0.01)
MODULE = {
    "id": "m1",
    "name": "m",
    "description": "",
    "model": "euterpe-v2",
    "status": "pending",
    "steps": 100,
    "lr": 0.0001,
    "lossHistory": [],
    "lastUpdatedAt": 1,
    "data": ENCODED,
}


def _mock_client(sent: list[httpx.Request]) -> NovelAI:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json=MODULE)

    return NovelAI(token="tok", base_url=BASE, backoff=FAST, transport=httpx.MockTransport(handler))


def _train_posts(fake: FakeNovelAI, since: int) -> list[str]:
    return [r.path for r in fake.requests.all()[since:] if (r.method, r.path) == ("POST", "/ai/module/train")]


# --- the encoding ---------------------------------------------------------------------------------------------------


def test_the_training_set_is_built_as_the_web_client_builds_it() -> None:
    assert TRAINING_SET == training_text(TEXTS)
    assert "One.<|endoftext|>" == training_text("One.")
    # A text that already ends with the separator keeps one, not two.
    assert "a<|endoftext|>b<|endoftext|>" == training_text(["a", "b<|endoftext|>"])
    # JavaScript's trim: U+FEFF and U+00A0 go, U+0085 (which Python's strip would remove) stays.
    assert "\x85x<|endoftext|>" == training_text("\ufeff\u00a0 \x85x")


def test_the_data_is_base64_of_raw_deflate_at_level_1_of_the_utf8_training_set() -> None:
    assert ENCODED == encode_training_data(TEXTS)
    assert "889LTlUoLcjPU0hUKMnMTdWzqUnNS8lPK0mtKKmxAwA=" == encode_training_data("Once upon a time.")
    # Whatever the zlib build, the stream inflates to the training set: raw DEFLATE, no header.
    assert TRAINING_SET.encode() == zlib.decompress(base64.b64decode(encode_training_data(TEXTS)), -15)


def test_a_training_text_that_is_not_a_str_is_refused() -> None:
    with pytest.raises(TypeError, match="index 1"):
        training_text(["a", b"b"])  # type: ignore[list-item]


# --- the request --------------------------------------------------------------------------------------------------


def test_train_sends_what_the_web_client_sends() -> None:
    sent: list[httpx.Request] = []
    with _mock_client(sent) as nai:
        module = nai.modules.train(TEXTS, name="m", steps=100)
    expected = {
        "data": ENCODED,
        "lr": 0.0001,
        "steps": 100,
        "model": "euterpe-v2",
        "percentage": PERCENTAGE,
        "name": "m",
        "description": "",
    }
    assert expected == json.loads(sent[0].content)
    assert ("POST", "/ai/module/train") == (sent[0].method, sent[0].url.path)
    assert ("euterpe-v2", 0.0001) == (DEFAULT_TRAINING_MODEL, DEFAULT_LEARNING_RATE)
    assert "pending" == module.status


def test_encoded_data_is_sent_as_given_without_a_percentage() -> None:
    sent: list[httpx.Request] = []
    with _mock_client(sent) as nai:
        nai.modules.train(data=ENCODED, name="m", steps=100, model="sigurd")
    body = json.loads(sent[0].content)
    assert (ENCODED, "6B-v4") == (body["data"], body["model"])
    assert "percentage" not in body


@pytest.mark.parametrize("model", sorted(TRAINABLE_MODELS))
def test_every_trainable_model_is_sent(model: str) -> None:
    sent: list[httpx.Request] = []
    with _mock_client(sent) as nai:
        nai.modules.train("text", name="m", model=model)
    assert model == json.loads(sent[0].content)["model"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"model": "kayra-v1"}, UnknownModelError),
        ({"data": ENCODED}, ConfigurationError),  # text and data
        ({"text": None}, ConfigurationError),  # neither
        ({"text": ""}, ValueError),  # nothing to train on
        ({"text": []}, ValueError),
    ],
)
def test_refusals_send_nothing(arguments: dict[str, Any], error: type[Exception]) -> None:
    sent: list[httpx.Request] = []
    with _mock_client(sent) as nai, pytest.raises(error):
        nai.modules.train(**{"text": "text", "name": "m", **arguments})
    assert [] == sent


# --- against the fake, sync and async -----------------------------------------------------------------------------


async def test_training_plain_text_works_end_to_end(nai: Any) -> None:
    module = await maybe(nai.modules.train(TEXTS, name="Lanterns", description="night", steps=100))
    # The fake keeps the data set as sent until the module is trained: the SDK sent exactly the expected bytes.
    assert ("pending", "euterpe-v2", ENCODED) == (module.status, module.model, module.data)
    assert "training" == (await maybe(nai.modules.get(module.id))).status
    assert "ready" == (await maybe(nai.modules.get(module.id))).status


@pytest.mark.parametrize("model", UNTRAINABLE)
async def test_an_untrainable_model_is_refused_before_sending(nai: Any, fake: FakeNovelAI, model: str) -> None:
    since = len(fake.requests.all())
    with pytest.raises(UnknownModelError, match="does not train modules"):
        await maybe(nai.modules.train("Once upon a time.", name="m", steps=100, model=model))
    assert [] == _train_posts(fake, since)


async def test_the_fake_refuses_data_that_is_not_encoded(nai: Any, fake: FakeNovelAI) -> None:
    since = len(fake.requests.all())
    with pytest.raises(BadRequestError, match="Incorrect body") as caught:
        await maybe(nai.modules.train(data="Once upon a time.", name="m", steps=100))
    assert 400 == caught.value.status_code
    assert ["/ai/module/train"] == _train_posts(fake, since)


# --- the fake's checks, over plain HTTP -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_fake() -> Iterator[FakeNovelAI]:
    with FakeNovelAI(default_tier=3) as server:
        yield server


@pytest.fixture
def post(own_fake: FakeNovelAI) -> Iterator[Callable[..., httpx.Response]]:
    _, token = own_fake.add_account()
    with httpx.Client(base_url=own_fake.base_url, headers={"Authorization": f"Bearer {token}"}) as client:

        def send(**changes: Any) -> httpx.Response:
            body = {"data": ENCODED, "lr": 0.0001, "steps": 100, "name": "m", "description": "", **changes}
            return client.post("/ai/module/train", json=body)

        yield send


def _raw(data: bytes) -> str:
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(data) + compressor.flush()).decode()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("Once upon a time.", "it is not base64"),
        (base64.b64encode(b"Once upon a time.").decode(), "not raw DEFLATE"),  # base64 of the plain text
        (base64.b64encode(zlib.compress(b"Once upon a time.")).decode(), "not raw DEFLATE"),  # zlib header
        (_raw(b"Once upon a time.")[:-8], "truncated"),
        (_raw(b"\xff\xfe\x00"), "not UTF-8"),
    ],
)
def test_the_fake_checks_the_encoding(post: Callable[..., httpx.Response], data: str, problem: str) -> None:
    answer = post(data=data)
    assert 400 == answer.status_code
    assert answer.json()["message"].startswith("Incorrect body. ")
    assert problem in answer.json()["message"]


def test_the_fake_checks_the_model_then_the_steps(post: Callable[..., httpx.Response]) -> None:
    refused = post(model="kayra-v1")
    expected = {"statusCode": 400, "message": "Specified model does not support module training."}
    assert (400, expected) == (refused.status_code, refused.json())
    assert 409 == post(steps=10).status_code
    assert 409 == post(steps=10**9).status_code
    trained = post()
    assert (201, "euterpe-v2") == (trained.status_code, trained.json()["model"])
    assert 201 == post(model="6B-v4").status_code

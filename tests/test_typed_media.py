"""Images, voice and modules through the generated operations: the bodies on the wire and the typed answers."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nai_client.models import AiModuleDto, AiRequestImageGenerationTag

from nai_sdk import Module, NovelAI, V3Params
from nai_sdk._config import Backoff
from nai_sdk.errors import UnexpectedAnswerError
from nai_sdk.resources.image import TagSuggestion

BASE = "https://nai.test"
FAST = Backoff(initial=0.001, maximum=0.002, retry_after_cap=0.01)
PNG = b"\x89PNG\r\n\x1a\nfake"
MODULE = {
    "id": "m1",
    "name": "m",
    "description": "",
    "model": "kayra-v1",
    "status": "ready",
    "steps": 100,
    "lr": 0.0001,
    "lossHistory": [3.0, 2.5],
    "lastUpdatedAt": 1700000000000,
    "data": "QUJD" * 1000,
}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("image_0.png", PNG)
    return buffer.getvalue()


def _client(answer: Callable[[httpx.Request], httpx.Response], sent: list[httpx.Request]) -> NovelAI:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    return NovelAI(token="tok", base_url=BASE, backoff=FAST, transport=httpx.MockTransport(handler))


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_image_generation_sends_the_parameters_and_the_extra_keys_the_spec_does_not_list() -> None:
    sent: list[httpx.Request] = []
    # No quality tags and no preset: the prompts go out as typed (tests/test_images_v5.py covers what they add).
    params = V3Params(
        width=64,
        height=128,
        seed=7,
        smea=True,
        quality_toggle=False,
        uc_preset=None,
        extra={"skip_cfg_above_sigma": 19},
    )
    with _client(lambda _: httpx.Response(200, content=_zip()), sent) as nai:
        result = nai.image.generate("a lantern", params)
    assert (result.seed, [image.data for image in result.images]) == (7, [PNG])
    expected = {
        "input": "a lantern",
        "model": "nai-diffusion-3",
        "action": "generate",
        "parameters": {
            "width": 64,
            "height": 128,
            "steps": 28,
            "scale": 5.0,
            "sampler": "k_euler_ancestral",
            "noise_schedule": "karras",
            "seed": 7,
            "n_samples": 1,
            "negative_prompt": "",
            "uc": "",
            "cfg_rescale": 0.0,
            "qualityToggle": False,
            "params_version": 3,
            "legacy": False,
            "sm": True,
            "sm_dyn": False,
            "dynamic_thresholding": False,
            "uncond_scale": 1.0,
            "legacy_v3_extend": False,
            "skip_cfg_above_sigma": 19,
        },
    }
    assert ("POST", "/ai/generate-image", expected) == (sent[0].method, sent[0].url.path, _body(sent[0]))
    assert expected == params.to_request("a lantern")


def test_image_tools_send_the_generated_models() -> None:
    sent: list[httpx.Request] = []
    with _client(lambda _: httpx.Response(201, content=_zip()), sent) as nai:
        assert nai.image.upscale(b"png", 64, 32, scale=2).data == PNG
        assert nai.image.annotate(b"png", "canny", width=64).data == PNG
    assert [(r.url.path, _body(r)) for r in sent] == [
        ("/ai/upscale", {"image": "cG5n", "width": 64, "height": 32, "scale": 2}),
        ("/ai/annotate-image", {"model": "canny", "parameters": {"image": "cG5n", "width": 64}}),
    ]


def test_suggest_tags_returns_the_generated_model() -> None:
    sent: list[httpx.Request] = []
    tags = {"tags": [{"tag": "night sky", "count": 12, "confidence": 0.5}]}
    with _client(lambda _: httpx.Response(200, json=tags), sent) as nai:
        (suggestion,) = nai.image.suggest_tags("night s", model="nai-diffusion-3")
    assert TagSuggestion is AiRequestImageGenerationTag
    assert ("night sky", 12, 0.5) == (suggestion.tag, suggestion.count, suggestion.confidence)
    assert {"model": "nai-diffusion-3", "prompt": "night s"} == dict(sent[0].url.params)


@pytest.mark.parametrize("answer", [{"tags": "none"}, {}, [], None, {"tags": [{"tag": "x"}]}])
def test_suggest_tags_refuses_an_answer_that_is_not_the_spec_s(answer: Any) -> None:
    with _client(lambda _: httpx.Response(200, json=answer), []) as nai, pytest.raises(UnexpectedAnswerError):
        nai.image.suggest_tags("x")


def test_voice_sends_every_query_parameter() -> None:
    sent: list[httpx.Request] = []
    with _client(lambda _: httpx.Response(200, content=b"ID3audio"), sent) as nai:
        assert nai.voice.generate("Hi.", seed="Orea") == b"ID3audio"
    expected = {"text": "Hi.", "seed": "Orea", "voice": "-1", "opus": "false", "version": "v2"}
    assert ("GET", "/ai/generate-voice", expected) == (sent[0].method, sent[0].url.path, dict(sent[0].url.params))


def test_modules_send_the_generated_models_and_return_modules() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ai/module/train":
            return httpx.Response(201, json=MODULE)
        if request.url.path == "/ai/module/all":
            return httpx.Response(200, json=[MODULE])
        if request.url.path == "/ai/module/buy-training-steps":
            return httpx.Response(200)
        return httpx.Response(200, json=MODULE)

    with _client(answer, sent) as nai:
        trained = nai.modules.train(data="QUJD", name="m", steps=100)
        listed = nai.modules.list()
        got = nai.modules.get("m1")
        nai.modules.delete("m1")
        nai.modules.buy_steps(2000)
    assert all(type(module) is Module for module in (trained, *listed, got))
    assert [3.0, 2.5] == trained.loss_history and trained.to_dict() == MODULE
    assert [(r.method, r.url.path) for r in sent] == [
        ("POST", "/ai/module/train"),
        ("GET", "/ai/module/all"),
        ("GET", "/ai/module/m1"),
        ("DELETE", "/ai/module/m1"),
        ("POST", "/ai/module/buy-training-steps"),
    ]
    train = {"data": "QUJD", "lr": 0.0001, "steps": 100, "name": "m", "description": "", "model": "euterpe-v2"}
    assert (train, {"amount": 2000}) == (_body(sent[0]), _body(sent[4]))


@pytest.mark.parametrize("answer", [{"modules": []}, None, [{"id": "m1"}]])
def test_module_listing_refuses_an_answer_that_is_not_the_spec_s(answer: Any) -> None:
    with _client(lambda _: httpx.Response(200, json=answer), []) as nai, pytest.raises(UnexpectedAnswerError):
        nai.modules.list()


def test_module_repr_gives_the_size_of_data_not_its_text() -> None:
    module = Module.of(AiModuleDto.from_dict({**MODULE, "future": 1}))
    expected = (
        "Module(data=<4000 chars>, lr=0.0001, steps=100, last_updated_at=1700000000000, status='ready', "
        "loss_history=[3.0, 2.5], id='m1', name='m', description='', model='kayra-v1', "
        "additional_properties={'future': 1})"
    )
    assert expected == repr(module)
    assert {**MODULE, "future": 1} == module.to_dict()

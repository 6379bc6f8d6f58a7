"""Generated operations against mocked NovelAI answers; every request and every answer is validated against
generated/openapi.yaml with openapi-core, so the client and the document cannot drift apart unnoticed."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from _openapi_httpx import validate_request, validate_response
from nai_client import AuthenticatedClient, Client
from nai_client.api.ai import generate, generate_image, generate_stream, generate_voice, generate_voice_get
from nai_client.api.health import health_check
from nai_client.api.modules import get_modules, train_module
from nai_client.api.objects import get_objects
from nai_client.api.user import get_client_settings, get_keystore, login, set_client_settings, set_keystore
from nai_client.models import (
    AiGenerateParameters,
    AiGenerateRequest,
    AiGenerateResponse,
    AiGenerateVoiceRequest,
    AiModuleDto,
    AiModuleTrainRequest,
    ApiError,
    ClientSettings,
    GetKeystoreResponse,
    LoginRequest,
    ObjectsResponse,
    SuccessfulLoginResponse,
    UpdateKeystoreRequest,
)
from nai_client.types import File
from openapi_core.templating.paths.exceptions import ServerNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.response.exceptions import DataValidationError

BASE = "https://api.novelai.net"
TOKEN = "pst-test-token"
KEY = "k" * 64


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """A respx router for the Primary API; after the test, every call it saw is validated against the document."""
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router
        # respx forgets its calls when the context closes: validate them before.
        assert router.calls, "the test made no request"
        for call in router.calls:
            validate_request(call.request)
            validate_response(call.request, call.response)


@pytest.fixture
def client() -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE, token=TOKEN)


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def module_json(status: str) -> dict[str, Any]:
    return {
        "data": "",
        "lr": 0.0001,
        "steps": 100,
        "model": "kayra-v1",
        "lastUpdatedAt": 1700000000,
        "status": status,
        "lossHistory": [2.5, 2.1],
        "id": "mod-1",
        "name": "Sea shanties",
        "description": "Songs",
    }


def test_login(mock: respx.MockRouter) -> None:
    route = mock.post("/user/login").mock(return_value=json_response(201, {"accessToken": "jwt"}))
    result = login.sync(client=Client(base_url=BASE), body=LoginRequest(key=KEY))
    assert SuccessfulLoginResponse(access_token="jwt") == result
    assert json.loads(route.calls.last.request.content) == {"key": KEY}


def test_login_error_comes_back_with_its_body(mock: respx.MockRouter) -> None:
    body = {"statusCode": 401, "message": "Access Key is incorrect."}
    mock.post("/user/login").mock(return_value=json_response(401, body))
    response = login.sync_detailed(client=Client(base_url=BASE), body=LoginRequest(key=KEY))
    assert response.status_code == 401
    assert body == json.loads(response.content)
    assert isinstance(response.parsed, ApiError)
    assert (response.parsed.message, response.parsed.status_code) == ("Access Key is incorrect.", 401.0)


async def test_get_keystore_async(mock: respx.MockRouter, client: AuthenticatedClient) -> None:
    route = mock.get("/user/keystore").mock(return_value=json_response(200, {"keystore": "eyJ2ZXJzaW9uIjoyfQ=="}))
    result = await get_keystore.asyncio(client=client)
    assert GetKeystoreResponse(keystore="eyJ2ZXJzaW9uIjoyfQ==") == result
    assert f"Bearer {TOKEN}" == route.calls.last.request.headers["authorization"]


def test_set_keystore(mock: respx.MockRouter, client: AuthenticatedClient) -> None:
    route = mock.put("/user/keystore").mock(return_value=httpx.Response(200))
    response = set_keystore.sync_detailed(client=client, body=UpdateKeystoreRequest(keystore="a2V5", change_index=3))
    assert (response.status_code, response.parsed) == (200, None)
    assert json.loads(route.calls.last.request.content) == {"keystore": "a2V5", "changeIndex": 3}


def test_get_objects_with_optional_integer_paging(mock: respx.MockRouter, client: AuthenticatedClient) -> None:
    story = {"id": "s1", "meta": "m", "data": "ZGF0YQ==", "lastUpdatedAt": 1, "changeIndex": 2, "type": "stories"}
    route = mock.get("/user/objects/stories").mock(return_value=json_response(200, {"objects": [story]}))
    result = get_objects.sync(type_="stories", client=client, offset=0, limit=500)
    assert isinstance(result, ObjectsResponse)
    # Items stay raw envelopes (spec/overlays/40-typed-answers.yaml): the SDK checks each one on its own.
    assert [item["id"] for item in result.objects] == ["s1"]
    assert route.calls.last.request.url.query.decode() == "offset=0&limit=500"
    get_objects.sync(type_="stories", client=client)
    assert route.calls.last.request.url.query.decode() == ""


def generation_request(model: str) -> AiGenerateRequest:
    parameters = AiGenerateParameters(temperature=1.0, max_length=40, min_length=1, use_string=True)
    return AiGenerateRequest(input_="Once upon a time", model=model, parameters=parameters)


@pytest.mark.parametrize("variant", ["sync", "asyncio"])
async def test_generate_with_a_model_newer_than_the_spec(
    mock: respx.MockRouter, client: AuthenticatedClient, variant: str
) -> None:
    route = mock.post("/ai/generate").mock(return_value=json_response(201, {"output": " there was"}))
    body = generation_request("llama-3-erato-v1")
    if variant == "sync":
        result = generate.sync(client=client, body=body)
    else:
        result = await generate.asyncio(client=client, body=body)
    assert AiGenerateResponse(output=" there was") == result
    sent = json.loads(route.calls.last.request.content)
    assert (sent["model"], sent["parameters"]["max_length"]) == ("llama-3-erato-v1", 40)


async def test_generate_stream_returns_the_event_stream_intact(
    mock: respx.MockRouter, client: AuthenticatedClient
) -> None:
    events = (
        b'event: newToken\nid: 1\ndata: {"ptr":0,"token":" there","final":false}\n\n'
        b'event: newToken\nid: 2\ndata: {"ptr":1,"token":" was","final":true}\n\n'
    )
    mock.post("/ai/generate-stream").mock(
        return_value=httpx.Response(201, content=events, headers={"content-type": "text/event-stream"})
    )
    result = await generate_stream.asyncio(client=client, body=generation_request("kayra-v1"))
    assert isinstance(result, File)
    assert events == result.payload.read()


def test_generate_image_returns_the_zip_intact(mock: respx.MockRouter, client: AuthenticatedClient) -> None:
    from nai_client.models import AiGenerateImageRequest, AiGenerateImageRequestParameters

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("image_0.png", b"\x89PNG\r\n\x1a\n fake")
    mock.post("/ai/generate-image").mock(
        return_value=httpx.Response(200, content=archive.getvalue(), headers={"content-type": "application/zip"})
    )
    parameters = AiGenerateImageRequestParameters.from_dict({"width": 832, "height": 1216, "seed": 7})
    body = AiGenerateImageRequest(
        input_="a lighthouse", model="nai-diffusion-4-5-full", parameters=parameters, action="generate"
    )
    result = generate_image.sync(client=client, body=body)
    assert isinstance(result, File)
    payload = result.payload.read()
    assert archive.getvalue() == payload
    assert zipfile.ZipFile(io.BytesIO(payload)).namelist() == ["image_0.png"]


def test_generate_voice_post_and_get_return_audio(mock: respx.MockRouter, client: AuthenticatedClient) -> None:
    audio = b"\x1aE\xdf\xa3 webm bytes"
    mock.post("/ai/generate-voice").mock(
        return_value=httpx.Response(201, content=audio, headers={"content-type": "audio/webm"})
    )
    get_route = mock.get("/ai/generate-voice").mock(
        return_value=httpx.Response(200, content=b"ID3 mp3", headers={"content-type": "audio/mpeg"})
    )
    body = AiGenerateVoiceRequest(text="Hello", seed="Aini", voice=-1, opus=True, version="v2")
    posted = generate_voice.sync(client=client, body=body)
    assert isinstance(posted, File) and audio == posted.payload.read()
    got = generate_voice_get.sync(client=client, text="Hello", seed="Aini", voice=-1, opus=False, version="v2")
    assert isinstance(got, File) and got.payload.read() == b"ID3 mp3"
    assert dict(get_route.calls.last.request.url.params) == {
        "text": "Hello",
        "seed": "Aini",
        "voice": "-1",
        "opus": "false",
        "version": "v2",
    }


def test_get_modules_accepts_a_status_newer_than_the_spec(mock: respx.MockRouter, client: AuthenticatedClient) -> None:
    mock.get("/ai/module/all").mock(return_value=json_response(200, [module_json("ready"), module_json("queued")]))
    result = get_modules.sync(client=client)
    assert isinstance(result, list)
    assert [(module.status, module.model) for module in result if isinstance(module, AiModuleDto)] == [
        ("ready", "kayra-v1"),
        ("queued", "kayra-v1"),
    ]


async def test_train_module_async(mock: respx.MockRouter, client: AuthenticatedClient) -> None:
    route = mock.post("/ai/module/train").mock(return_value=json_response(201, module_json("pending")))
    body = AiModuleTrainRequest(data="c2hhbnRpZXM=", lr=0.0001, steps=100, name="Sea shanties", description="Songs")
    result = await train_module.asyncio(client=client, body=body)
    assert isinstance(result, AiModuleDto) and result.status == "pending"
    assert {"data", "lr", "steps", "name", "description"} == set(json.loads(route.calls.last.request.content))


def test_client_settings_round_trip_an_opaque_document(mock: respx.MockRouter, client: AuthenticatedClient) -> None:
    settings = {"theme": "dark", "editor": {"fontSize": 16}, "flags": [1, 2]}
    mock.get("/user/clientsettings").mock(return_value=json_response(200, settings))
    put = mock.put("/user/clientsettings").mock(return_value=httpx.Response(200))
    result = get_client_settings.sync(client=client)
    assert isinstance(result, ClientSettings)
    assert settings == result.to_dict()
    response = set_client_settings.sync_detailed(client=client, body=ClientSettings.from_dict(settings))
    assert response.status_code == 200
    assert settings == json.loads(put.calls.last.request.content)


def test_health_check_has_all_four_callables_even_without_a_body(mock: respx.MockRouter) -> None:
    mock.get("/").mock(return_value=httpx.Response(200))
    assert health_check.sync(client=Client(base_url=BASE)) is None


def test_validation_is_not_vacuous() -> None:
    """The validator rejects what the document forbids: an undocumented status, a body of the wrong shape."""
    request = httpx.Request("POST", f"{BASE}/user/login", json={"key": KEY})
    validate_request(request)
    with pytest.raises(ResponseNotFound):
        validate_response(request, httpx.Response(418, json={}))
    with pytest.raises(DataValidationError):
        validate_response(request, httpx.Response(201, json={"token": 1}))


def test_error_with_an_unparsable_body_comes_back_with_it(client: AuthenticatedClient) -> None:
    # Not validated: the body breaks the document on purpose (a proxy's HTML page instead of ApiError JSON).
    with respx.mock(base_url=BASE) as router:
        router.get("/user/keystore").mock(return_value=httpx.Response(500, text="<html>Bad gateway</html>"))
        response = get_keystore.sync_detailed(client=client)
    assert (response.status_code, response.content, response.parsed) == (500, b"<html>Bad gateway</html>", None)


# --- Extension routes (spec/extensions/novelai-extra.openapi.yaml), on their own hosts -------------------------

IMAGE = "https://image.novelai.net"
TEXT = "https://text.novelai.net"


@pytest.fixture
def hosts() -> Iterator[respx.MockRouter]:
    """A respx router for any host; every call is validated against the document, as for the Primary API."""
    with respx.mock(assert_all_called=True) as router:
        yield router
        assert router.calls, "the test made no request"
        for call in router.calls:
            validate_request(call.request)
            validate_response(call.request, call.response)


def test_encode_vibe_returns_bytes_from_the_image_host(hosts: respx.MockRouter) -> None:
    from nai_client.api.image import encode_vibe
    from nai_client.models import EncodeVibeRequest

    vibe = bytes(range(256))
    route = hosts.post(f"{IMAGE}/ai/encode-vibe").mock(
        return_value=httpx.Response(200, content=vibe, headers={"content-type": "application/octet-stream"})
    )
    client = AuthenticatedClient(base_url=IMAGE, token=TOKEN)
    body = EncodeVibeRequest(image="iVBORw0KGgo=", model="nai-diffusion-4-5-full", information_extracted=0.7)
    result = encode_vibe.sync(client=client, body=body)
    assert isinstance(result, File)
    assert result.payload.read() == vibe
    assert json.loads(route.calls.last.request.content) == {
        "image": "iVBORw0KGgo=",
        "model": "nai-diffusion-4-5-full",
        "information_extracted": 0.7,
    }


async def test_openai_compatible_completion_on_the_text_host(hosts: respx.MockRouter) -> None:
    from nai_client.api.text import create_completion
    from nai_client.models import CompletionRequest, CompletionResponse

    answer = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1700000000,
        "model": "llama-3-erato-v1",
        "choices": [{"text": " there was a lighthouse", "index": 0, "finish_reason": "length"}],
    }
    hosts.post(f"{TEXT}/oa/v1/completions").mock(return_value=json_response(200, answer))
    client = AuthenticatedClient(base_url=TEXT, token=TOKEN)
    body = CompletionRequest(model="llama-3-erato-v1", prompt="Once upon a time", max_tokens=8)
    result = await create_completion.asyncio(client=client, body=body)
    assert isinstance(result, CompletionResponse)
    assert [choice.text for choice in result.choices] == [" there was a lighthouse"]


def test_validation_knows_which_host_serves_what() -> None:
    request = httpx.Request("POST", f"{BASE}/ai/encode-vibe", json={"image": "x", "model": "m"})
    with pytest.raises(ServerNotFound, match="encode-vibe"):
        validate_request(request)
    body = {"input": "a lighthouse", "model": "nai-diffusion-4-5-full", "parameters": {}}
    headers = {"authorization": f"Bearer {TOKEN}"}
    validate_request(httpx.Request("POST", f"{IMAGE}/ai/generate-image", json=body, headers=headers))

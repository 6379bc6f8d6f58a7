"""FakeNovelAI driven in raw httpx, independently of the SDK: accounts, storage, generation, faults, the CLI."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2.low_level import Type, hash_secret_raw
from PIL import Image

from nai_sdk.testing import FAULT_HEADER, FakeNovelAI

ROOT = Path(__file__).resolve().parent.parent


def access_key(email: str, password: str) -> str:
    """docs/formats.md §1, written out here so that this test depends on nothing in nai_sdk but the fake."""
    presalt = password[:6] + email + "novelai_data_access_key"
    salt = hashlib.blake2b(presalt.encode(), digest_size=16).digest()
    raw = hash_secret_raw(
        password.encode(), salt, time_cost=2, memory_cost=1953, parallelism=1, hash_len=64, type=Type.ID
    )
    return base64.urlsafe_b64encode(raw).decode()[:64]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(client: httpx.Client, key: str, email: str = "") -> str:
    body = {"key": key, "recaptcha": "x", "emailCleartext": email, "allowMarketingEmails": False}
    response = client.post("/user/register", json=body)
    assert response.status_code == 201, response.text
    token: str = response.json()["accessToken"]
    return token


def new_key(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest()


def gen_body(model: str = "kayra-v1", **parameters: Any) -> dict[str, Any]:
    return {"input": "", "model": model, "parameters": {"min_length": 1, "max_length": 8, **parameters}}


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data:"):
            yield json.loads(line[5:])


@pytest.fixture(scope="module")
def server() -> Iterator[FakeNovelAI]:
    with FakeNovelAI() as fake:
        yield fake


@pytest.fixture
def client(server: FakeNovelAI) -> Iterator[httpx.Client]:
    server.faults.clear()
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        yield http


@pytest.fixture
def subscriber(server: FakeNovelAI) -> str:
    return server.add_account(tier=3)[1]


# -- accounts ---------------------------------------------------------------------------------------------------


def test_access_key_derivation_matches_the_known_vector() -> None:
    assert "5TjO-5RT1mNI59hEHZXjBJZpp2yvC4L0LJUeIhRwkZHxgIHEutHp8EgOwvynvwLu" == access_key(
        "test@example.com", "password123"
    )


def test_register_then_login_with_a_derived_key(client: httpx.Client) -> None:
    key = access_key("alice@example.com", "correct horse")
    token = register(client, key, "alice@example.com")
    login = client.post("/user/login", json={"key": key})
    assert 201 == login.status_code
    assert login.json()["accessToken"] != token
    for bearer_token in (token, login.json()["accessToken"]):
        assert 200 == client.get("/user/information", headers=bearer(bearer_token)).status_code
    assert (
        409
        == client.post(
            "/user/register", json={"key": key, "recaptcha": "x", "emailCleartext": "", "allowMarketingEmails": False}
        ).status_code
    )
    wrong = client.post("/user/login", json={"key": access_key("alice@example.com", "wrong")})
    assert (401, {"statusCode": 401, "message": "Access Key is incorrect."}) == (wrong.status_code, wrong.json())
    assert 400 == client.post("/user/login", json={"key": "short"}).status_code


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_missing_or_wrong_token_is_401(client: httpx.Client, headers: dict[str, str]) -> None:
    response = client.get("/user/keystore", headers=headers)
    assert (401, {"statusCode": 401, "message": "Access Token is incorrect."}) == (
        response.status_code,
        response.json(),
    )


def test_persistent_token(client: httpx.Client) -> None:
    token = register(client, new_key("persistent"))
    first = client.post("/user/create-persistent-token", json={}, headers=bearer(token))
    assert 201 == first.status_code
    persistent = first.json()["token"]
    assert persistent.startswith("pst-")
    assert 200 == client.get("/user/subscription", headers=bearer(persistent)).status_code
    assert {"token": None} == client.post("/user/create-persistent-token", json={}, headers=bearer(token)).json()
    replaced = client.post("/user/create-persistent-token", json={"overwrite": True}, headers=bearer(token))
    assert replaced.json()["token"] not in (None, persistent)
    assert 401 == client.get("/user/subscription", headers=bearer(persistent)).status_code


def test_change_access_key_revokes_sessions(client: httpx.Client) -> None:
    old, new = new_key("change-old"), new_key("change-new")
    token = register(client, old)
    body = {"currentAccessKey": old, "newAccessKey": new}
    changed = client.post("/user/change-access-key", json=body, headers=bearer(token))
    assert 200 == changed.status_code
    assert 401 == client.get("/user/data", headers=bearer(token)).status_code
    assert 200 == client.get("/user/data", headers=bearer(changed.json()["accessToken"])).status_code
    assert 401 == client.post("/user/login", json={"key": old}).status_code
    assert 201 == client.post("/user/login", json={"key": new}).status_code


def test_recovery_with_content_deletion(server: FakeNovelAI, client: httpx.Client) -> None:
    token = register(client, new_key("recover-old"), "lost@example.com")
    client.put("/user/keystore", json={"keystore": "AAAA"}, headers=bearer(token))
    client.put("/user/objects/stories", json={"meta": "m", "data": "AAAA"}, headers=bearer(token))
    assert 202 == client.post("/user/recovery/request", json={"email": "lost@example.com"}).status_code
    (recovery_token,) = list(server.state.recovery_tokens)
    body = {"recoveryToken": recovery_token, "newAccessKey": new_key("recover-new"), "deleteContent": True}
    recovered = client.post("/user/recovery/recover", json=body)
    assert 201 == recovered.status_code
    fresh = bearer(recovered.json()["accessToken"])
    assert {"keystore": None, "changeIndex": 2} == client.get("/user/keystore", headers=fresh).json()
    assert {"objects": []} == client.get("/user/objects/stories", headers=fresh).json()
    assert 401 == client.post("/user/recovery/recover", json=body).status_code


def test_account_data_routes(client: httpx.Client) -> None:
    token = register(client, new_key("data"), "data@example.com")
    information = client.get("/user/information", headers=bearer(token)).json()
    assert (True, "data@example.com", False) == (
        information["hasPlaintextEmail"],
        information["plaintextEmail"],
        information["trialActivated"],
    )
    subscription = client.get("/user/subscription", headers=bearer(token)).json()
    assert (0, False) == (subscription["tier"], subscription["active"])
    assert {"giftKeys": []} == client.get("/user/giftkeys", headers=bearer(token)).json()
    assert {"maxPriorityActions", "nextRefillAt", "taskPriority"} == set(
        client.get("/user/priority", headers=bearer(token)).json()
    )
    settings = '{"theme":"dark","fontSize":18}'
    put = client.put(
        "/user/clientsettings", content=settings, headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert 200 == put.status_code
    assert settings == client.get("/user/clientsettings", headers=bearer(token)).text
    data = client.get("/user/data", headers=bearer(token)).json()
    assert (settings, {"keystore": None}) == (data["settings"], data["keystore"])


def test_account_deletion(server: FakeNovelAI, client: httpx.Client) -> None:
    token = register(client, new_key("delete-me"), "gone@example.com")
    request = client.post("/user/deletion/request", json={"email": "gone@example.com"}, headers=bearer(token))
    assert 202 == request.status_code
    (deletion_token,) = [t for t, a in server.state.deletion_tokens.items() if a in server.state.accounts]
    assert 200 == client.post("/user/deletion/delete", json={"deletionToken": deletion_token}).status_code
    assert 401 == client.get("/user/data", headers=bearer(token)).status_code


# -- subscriptions ----------------------------------------------------------------------------------------------


def test_no_subscription_is_402_until_a_trial_is_bound(client: httpx.Client) -> None:
    token = register(client, new_key("trial"))
    refused = client.post("/ai/generate", json=gen_body(), headers=bearer(token))
    assert (402, 402) == (refused.status_code, refused.json()["statusCode"])
    trial = {"paymentProcessor": "trial", "subscriptionId": "trial"}
    assert 201 == client.post("/user/subscription/bind", json=trial, headers=bearer(token)).status_code
    assert 201 == client.post("/ai/generate", json=gen_body(), headers=bearer(token)).status_code
    assert 409 == client.post("/user/subscription/bind", json=trial, headers=bearer(token)).status_code


def test_gift_key_grants_its_tier_once(server: FakeNovelAI, client: httpx.Client) -> None:
    gift = server.add_giftkey(tier=2)
    token = register(client, new_key("gift"))
    bind = {"paymentProcessor": "giftkey", "subscriptionId": gift}
    assert 201 == client.post("/user/subscription/bind", json=bind, headers=bearer(token)).status_code
    subscription = client.get("/user/subscription", headers=bearer(token)).json()
    assert (2, True, 2000) == (
        subscription["tier"],
        subscription["active"],
        subscription["trainingStepsLeft"]["fixedTrainingStepsLeft"],
    )
    other = register(client, new_key("gift-2"))
    assert 409 == client.post("/user/subscription/bind", json=bind, headers=bearer(other)).status_code
    unknown = {"paymentProcessor": "giftkey", "subscriptionId": "no-such-key"}
    assert 404 == client.post("/user/subscription/bind", json=unknown, headers=bearer(other)).status_code


def test_default_tier_subscribes_new_accounts() -> None:
    with FakeNovelAI(default_tier=1) as fake, httpx.Client(base_url=fake.base_url) as http:
        token = register(http, new_key("default-tier"))
        assert (1, True) == tuple(
            http.get("/user/subscription", headers=bearer(token)).json()[k] for k in ("tier", "active")
        )


# -- storage ----------------------------------------------------------------------------------------------------


def test_keystore_round_trip_and_stale_change_index(client: httpx.Client) -> None:
    token = register(client, new_key("keystore"))
    assert {"keystore": None, "changeIndex": 0} == client.get("/user/keystore", headers=bearer(token)).json()
    keystore = base64.b64encode(b'{"version":2,"nonce":[],"sdata":[]}').decode()
    assert 200 == client.put("/user/keystore", json={"keystore": keystore}, headers=bearer(token)).status_code
    assert {"keystore": keystore, "changeIndex": 1} == client.get("/user/keystore", headers=bearer(token)).json()
    stale = client.put("/user/keystore", json={"keystore": keystore, "changeIndex": 0}, headers=bearer(token))
    assert 409 == stale.status_code
    assert "stale" in stale.json()["message"]
    assert 200 == client.put("/user/keystore", json={"keystore": ""}, headers=bearer(token)).status_code
    assert {"keystore": None, "changeIndex": 2} == client.get("/user/keystore", headers=bearer(token)).json()


def test_objects_crud_with_change_index(client: httpx.Client) -> None:
    auth = bearer(register(client, new_key("objects")))
    created = client.put("/user/objects/stories", json={"meta": "m1", "data": "AAEC"}, headers=auth)
    assert 200 == created.status_code
    obj = created.json()
    assert ("stories", "m1", "AAEC", 1) == (obj["type"], obj["meta"], obj["data"], obj["changeIndex"])
    assert {"objects": [obj]} == client.get("/user/objects/stories", headers=auth).json()
    assert obj == client.get(f"/user/objects/stories/{obj['id']}", headers=auth).json()

    edit = {"meta": "m1", "data": "AwQF", "changeIndex": 1}
    edited = client.patch(f"/user/objects/stories/{obj['id']}", json=edit, headers=auth)
    assert (200, 2, "AwQF") == (edited.status_code, edited.json()["changeIndex"], edited.json()["data"])
    stale = client.patch(f"/user/objects/stories/{obj['id']}", json={**edit, "data": "BgcI"}, headers=auth)
    assert 409 == stale.status_code
    assert "changeIndex 1" in stale.json()["message"] and "at 2" in stale.json()["message"]
    assert "AwQF" == client.get(f"/user/objects/stories/{obj['id']}", headers=auth).json()["data"]

    deleted = client.delete(f"/user/objects/stories/{obj['id']}", headers=auth)
    assert (200, obj["id"]) == (deleted.status_code, deleted.json()["id"])
    assert 404 == client.get(f"/user/objects/stories/{obj['id']}", headers=auth).status_code
    assert 404 == client.patch(f"/user/objects/stories/{obj['id']}", json=edit, headers=auth).status_code
    assert 400 == client.put("/user/objects/nonsense", json={"meta": "", "data": ""}, headers=auth).status_code
    assert 400 == client.put("/user/objects/shelf", json={"meta": "", "data": "not b64!"}, headers=auth).status_code


def test_object_listing_order_paging_and_batch_delete(client: httpx.Client) -> None:
    auth = bearer(register(client, new_key("listing")))
    ids = []
    for index in range(3):
        ids.append(
            client.put("/user/objects/presets", json={"meta": str(index), "data": ""}, headers=auth).json()["id"]
        )
        time.sleep(0.002)
    client.put("/user/objects/shelf", json={"meta": "", "data": ""}, headers=auth)
    page = client.get("/user/objects/presets", params={"offset": 1, "limit": 1, "order": "desc"}, headers=auth)
    assert [ids[1]] == [o["id"] for o in page.json()["objects"]]
    batch = client.request("DELETE", "/user/objects/batch", json={"types": ["presets"]}, headers=auth)
    assert 200 == batch.status_code
    assert {"objects": []} == client.get("/user/objects/presets", headers=auth).json()
    assert 1 == len(client.get("/user/objects/shelf", headers=auth).json()["objects"])


# -- text generation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "width", "limit"),
    [("euterpe-v2", 2, 50257), ("krake-v2", 2, 50257), ("kayra-v1", 2, 65535), ("llama-3-erato-v1", 4, 128000)],
)
def test_generate_returns_valid_tokens_of_the_model_width(
    client: httpx.Client, subscriber: str, model: str, width: int, limit: int
) -> None:
    body = gen_body(model, min_length=5, max_length=12)
    response = client.post("/ai/generate", json=body, headers=bearer(subscriber))
    assert 201 == response.status_code
    raw = base64.b64decode(response.json()["output"])
    assert 0 == len(raw) % width
    tokens = [int.from_bytes(raw[i : i + width], "little") for i in range(0, len(raw), width)]
    assert 5 <= len(tokens) <= 12
    assert all(0 <= t < limit for t in tokens)
    assert response.json() == client.post("/ai/generate", json=body, headers=bearer(subscriber)).json()


def test_generate_logprobs_and_use_string(client: httpx.Client, subscriber: str) -> None:
    body = gen_body(min_length=4, max_length=4, num_logprobs=3)
    answer = client.post("/ai/generate", json=body, headers=bearer(subscriber)).json()
    assert 4 == len(answer["logprobs"])
    assert {"chosen", "before", "after"} == set(answer["logprobs"][0])
    assert 3 == len(answer["logprobs"][0]["before"])
    text = client.post(
        "/ai/generate", json={**gen_body(use_string=True), "input": "Once"}, headers=bearer(subscriber)
    ).json()
    assert isinstance(text["output"], str) and text["output"].strip()


@pytest.mark.parametrize(
    "body",
    [
        gen_body("no-such-model"),
        gen_body(min_length=9, max_length=3),
        {"input": "AAA", "model": "kayra-v1", "parameters": {"min_length": 1, "max_length": 2}},
        {"model": "kayra-v1", "parameters": {}},
    ],
)
def test_generate_rejects_invalid_requests(client: httpx.Client, subscriber: str, body: dict[str, Any]) -> None:
    response = client.post("/ai/generate", json=body, headers=bearer(subscriber))
    assert (400, 400) == (response.status_code, response.json()["statusCode"])


def test_stream_arrives_token_by_token(client: httpx.Client, subscriber: str) -> None:
    body = gen_body(min_length=6, max_length=6)
    whole = client.post("/ai/generate", json=body, headers=bearer(subscriber)).json()["output"]
    arrivals: list[float] = []
    events: list[dict[str, Any]] = []
    headers = {**bearer(subscriber), FAULT_HEADER: "slow-stream=0.1"}
    start = time.monotonic()
    with client.stream("POST", "/ai/generate-stream", json=body, headers=headers) as response:
        assert (201, "text/event-stream") == (
            response.status_code,
            response.headers["content-type"].split(";")[0],
        )
        for event in sse_events(response):
            arrivals.append(time.monotonic() - start)
            events.append(event)
    assert list(range(6)) == [e["ptr"] for e in events]
    assert [False] * 5 + [True] == [e["final"] for e in events]
    assert base64.b64decode(whole) == b"".join(base64.b64decode(e["token"]) for e in events)
    # The server sends the last event only after 6 x 0.1 s; the first must be here long before that.
    assert arrivals[0] < arrivals[-1] - 0.3


# -- images, voice, modules -----------------------------------------------------------------------------------


def test_generate_image_is_a_zip_of_decodable_pngs(client: httpx.Client, subscriber: str) -> None:
    body: dict[str, Any] = {
        "input": "a lantern over a river",
        "model": "nai-diffusion-3",
        "action": "generate",
        "parameters": {"width": 64, "height": 128, "n_samples": 3, "seed": 42},
    }
    response = client.post("/ai/generate-image", json=body, headers=bearer(subscriber))
    assert (201, "application/zip") == (response.status_code, response.headers["content-type"])
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        images = [Image.open(io.BytesIO(archive.read(name))) for name in names]
        for image in images:
            image.load()
    assert ["image_0.png", "image_1.png", "image_2.png"] == names
    assert [("PNG", (64, 128))] * 3 == [(i.format, i.size) for i in images]
    assert "NovelAI" == images[0].info["Software"]
    assert response.content == client.post("/ai/generate-image", json=body, headers=bearer(subscriber)).content
    other_seed = {**body, "parameters": {**body["parameters"], "seed": 43}}
    assert response.content != client.post("/ai/generate-image", json=other_seed, headers=bearer(subscriber)).content


def test_upscale_and_annotate_return_zipped_pngs(client: httpx.Client, subscriber: str) -> None:
    upscale = {"image": base64.b64encode(b"fake").decode(), "width": 32, "height": 16, "scale": 2}
    response = client.post("/ai/upscale", json=upscale, headers=bearer(subscriber))
    assert 201 == response.status_code
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert (64, 32) == Image.open(io.BytesIO(archive.read("image_0.png"))).size
    annotate = client.post("/ai/annotate-image", json={"model": "canny", "parameters": {}}, headers=bearer(subscriber))
    assert (201, "application/zip") == (annotate.status_code, annotate.headers["content-type"])


def test_suggest_tags(client: httpx.Client, subscriber: str) -> None:
    response = client.get(
        "/ai/generate-image/suggest-tags",
        params={"model": "nai-diffusion-3", "prompt": "1girl, nig"},
        headers=bearer(subscriber),
    )
    assert ["night", "night sky"] == [t["tag"] for t in response.json()["tags"]]


def test_voice_is_mp3(client: httpx.Client, subscriber: str) -> None:
    body: dict[str, Any] = {"text": "Hello there", "seed": "Aini", "voice": -1, "opus": False, "version": "v2"}
    posted = client.post("/ai/generate-voice", json=body, headers=bearer(subscriber))
    assert (201, "audio/mpeg") == (posted.status_code, posted.headers["content-type"])
    assert posted.content.startswith(b"\xff\xfb") and 0 == len(posted.content) % 417
    query = {**body, "opus": "false"}
    fetched = client.get("/ai/generate-voice", params=query, headers=bearer(subscriber))
    assert (200, posted.content) == (fetched.status_code, fetched.content)
    assert 501 == client.post("/ai/generate-voice", json={**body, "opus": True}, headers=bearer(subscriber)).status_code


def test_module_training_goes_pending_training_ready(client: httpx.Client, subscriber: str) -> None:
    auth = bearer(subscriber)
    # "AwA=": base64 of the raw DEFLATE stream of an empty text.
    request = {"data": "AwA=", "lr": 0.0001, "steps": 100, "name": "m", "description": "d", "model": "euterpe-v2"}
    trained = client.post("/ai/module/train", json=request, headers=auth)
    assert (201, "pending") == (trained.status_code, trained.json()["status"])
    module_id = trained.json()["id"]
    assert "training" == client.get(f"/ai/module/{module_id}", headers=auth).json()["status"]
    ready = client.get("/ai/module/all", headers=auth).json()
    assert [(module_id, "ready")] == [(m["id"], m["status"]) for m in ready]
    assert ready[0]["lossHistory"] and base64.b64decode(ready[0]["data"])
    left = client.get("/user/subscription", headers=auth).json()["trainingStepsLeft"]
    assert {"fixedTrainingStepsLeft": 9900, "purchasedTrainingSteps": 0} == left
    assert 409 == client.post("/ai/module/train", json={**request, "steps": 10}, headers=auth).status_code
    assert 409 == client.post("/ai/module/train", json={**request, "steps": 20000}, headers=auth).status_code
    assert 200 == client.post("/ai/module/buy-training-steps", json={"amount": 10000}, headers=auth).status_code
    assert 201 == client.post("/ai/module/train", json={**request, "steps": 19900}, headers=auth).status_code
    assert 200 == client.delete(f"/ai/module/{module_id}", headers=auth).status_code
    assert 404 == client.get(f"/ai/module/{module_id}", headers=auth).status_code


# -- faults -----------------------------------------------------------------------------------------------------


def test_fault_latency(client: httpx.Client) -> None:
    start = time.monotonic()
    assert 200 == client.get("/", headers={FAULT_HEADER: "latency=0.2"}).status_code
    assert time.monotonic() - start >= 0.2


def test_fault_status(client: httpx.Client) -> None:
    response = client.get("/", headers={FAULT_HEADER: "status=503"})
    assert (503, 503, None) == (
        response.status_code,
        response.json()["statusCode"],
        response.headers.get("retry-after"),
    )


def test_fault_429_with_retry_after(client: httpx.Client) -> None:
    response = client.get("/", headers={FAULT_HEADER: "status=429;retry-after=1"})
    assert (429, "1") == (response.status_code, response.headers["retry-after"])


def test_fault_drop_after_bytes(client: httpx.Client, subscriber: str) -> None:
    body = {"input": "x", "model": "nai-diffusion-3", "parameters": {"width": 64, "height": 64}}
    headers = {**bearer(subscriber), FAULT_HEADER: "drop-after-bytes=100"}
    received = bytearray()
    with (
        pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
        client.stream("POST", "/ai/generate-image", json=body, headers=headers) as response,
    ):
        assert 201 == response.status_code
        for chunk in response.iter_raw():
            received += chunk
    assert 100 == len(received)


def test_fault_drop_mid_stream(client: httpx.Client, subscriber: str) -> None:
    headers = {**bearer(subscriber), FAULT_HEADER: "drop-mid-stream=3"}
    events: list[dict[str, Any]] = []
    with (
        pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
        client.stream("POST", "/ai/generate-stream", json=gen_body(min_length=8), headers=headers) as response,
    ):
        events.extend(sse_events(response))
    assert [0, 1, 2] == [e["ptr"] for e in events]


def test_bad_fault_header_is_400(client: httpx.Client) -> None:
    response = client.get("/", headers={FAULT_HEADER: "stauts=500"})
    assert 400 == response.status_code
    assert "stauts" in response.json()["message"]


def test_injected_faults_apply_to_the_next_matching_requests(
    server: FakeNovelAI, client: httpx.Client, subscriber: str
) -> None:
    server.inject("/ai/generate", status=429, retry_after=1, times=3)
    server.inject("/user/objects/*", method="GET", status=500)
    statuses = [
        (r.status_code, r.headers.get("retry-after"))
        for r in (client.post("/ai/generate", json=gen_body(), headers=bearer(subscriber)) for _ in range(4))
    ]
    assert [(429, "1")] * 3 + [(201, None)] == statuses
    assert 201 == client.post("/ai/generate-stream", json=gen_body(), headers=bearer(subscriber)).status_code
    assert (
        200 == client.put("/user/objects/shelf", json={"meta": "", "data": ""}, headers=bearer(subscriber)).status_code
    )
    assert 500 == client.get("/user/objects/shelf", headers=bearer(subscriber)).status_code
    assert 0 == server.faults.pending()


def test_injected_drop_and_slow_stream(server: FakeNovelAI, client: httpx.Client, subscriber: str) -> None:
    server.inject("/ai/generate-stream", drop_mid_stream=1, slow_stream=0.05)
    events: list[dict[str, Any]] = []
    start = time.monotonic()
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/ai/generate-stream", json=gen_body(min_length=4), headers=bearer(subscriber)) as r,
    ):
        events.extend(sse_events(r))
    assert [0] == [e["ptr"] for e in events]
    assert time.monotonic() - start >= 0.05


def test_server_latency_option() -> None:
    with FakeNovelAI(latency=0.15) as fake:
        start = time.monotonic()
        assert 200 == httpx.get(fake.base_url + "/").status_code
        assert time.monotonic() - start >= 0.15


# -- unimplemented ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/user/sso/google"), ("POST", "/ai/classify"), ("GET", "/user/submission/e"), ("GET", "/no/such/route")],
)
def test_unimplemented_routes_answer_501(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    assert (501, 501) == (response.status_code, response.json()["statusCode"])
    assert response.json()["message"].startswith("not implemented by FakeNovelAI")


# -- lifecycle --------------------------------------------------------------------------------------------------


async def test_async_context_manager() -> None:
    async with FakeNovelAI(default_tier=3) as fake, httpx.AsyncClient(base_url=fake.base_url) as http:
        _, token = fake.add_account()
        response = await http.post("/ai/generate", json=gen_body(), headers=bearer(token))
        assert 201 == response.status_code


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    key = new_key("persisted")
    with FakeNovelAI(state_file=state) as fake, httpx.Client(base_url=fake.base_url) as http:
        token = register(http, key)
        http.put("/user/objects/stories", json={"meta": "kept", "data": ""}, headers=bearer(token))
    with FakeNovelAI(state_file=state) as fake, httpx.Client(base_url=fake.base_url) as http:
        token = http.post("/user/login", json={"key": key}).json()["accessToken"]
        assert ["kept"] == [
            o["meta"] for o in http.get("/user/objects/stories", headers=bearer(token)).json()["objects"]
        ]


def test_standalone_module_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    command = [sys.executable, "-m", "nai_sdk.testing", "--port", "0", "--state", str(state), "--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("FakeNovelAI listening on http://127.0.0.1:")
        base_url = line.split()[-1]
        with httpx.Client(base_url=base_url) as http:
            register(http, new_key("standalone"))
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert 0 == status
    saved = json.loads(state.read_text())
    assert [new_key("standalone")] == [a["access_key"] for a in saved["accounts"]]


def test_port_in_use_raises_without_leaking_the_socket() -> None:
    # In-process on purpose: a leaked socket is a ResourceWarning, which filterwarnings=error turns into a failure.
    import gc

    with FakeNovelAI() as running:
        second = FakeNovelAI(port=running.port)
        with pytest.raises(OSError):
            second.start()
        gc.collect()

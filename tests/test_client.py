"""NovelAI and AsyncNovelAI (both transports) against FakeNovelAI: the same cases for all three clients."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from _client_helpers import collect, maybe

from nai_sdk._client import AsyncNovelAI, NovelAI
from nai_sdk.content import UserObject
from nai_sdk.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    PaymentRequiredError,
    RateLimitError,
    StreamError,
    UploadRefusedError,
)
from nai_sdk.images import Character, V3Params, V4Params, V45Params
from nai_sdk.keystore import MissingKeyError
from nai_sdk.testing import FakeNovelAI

PNG = b"\x89PNG\r\n\x1a\n"


# --- authentication -------------------------------------------------------------------------------------------


async def test_login_by_password_and_account_information(nai: Any, creds: Any) -> None:
    assert not nai.logged_in
    info = await maybe(nai.account.information())
    assert info.plaintext_email == creds.email
    assert nai.logged_in


async def test_token_and_persistent_token(make_client: Any, creds: Any) -> None:
    nai = make_client(token=creds.token)
    token = await maybe(nai.account.create_persistent_token())
    assert token is not None and token.startswith("pst-")
    assert await maybe(nai.account.create_persistent_token()) is None
    persistent = make_client(token=token)
    assert (await maybe(persistent.account.subscription())).tier == 3


async def test_invalid_token_is_an_authentication_error(make_client: Any) -> None:
    nai = make_client(token="not-a-token")
    with pytest.raises(AuthenticationError) as info:
        await maybe(nai.account.priority())
    assert info.value.status_code == 401
    assert info.value.message == "Access Token is incorrect."


async def test_wrong_password_is_an_authentication_error(make_client: Any, creds: Any) -> None:
    nai = make_client(email=creds.email, password="wrong password")
    with pytest.raises(AuthenticationError):
        await maybe(nai.account.priority())


async def test_expired_session_logs_in_again(nai: Any, creds: Any, fake: FakeNovelAI) -> None:
    await maybe(nai.account.priority())
    with fake.state.lock:
        fake.state.revoke_session_tokens(creds.account)
    assert (await maybe(nai.account.priority())).max_priority_actions > 0


async def test_no_credentials_is_refused_at_construction(make_client: Any) -> None:
    with pytest.raises(ConfigurationError, match="no credentials"):
        make_client()


async def test_an_anonymous_client_is_refused_at_the_first_call_that_needs_a_login(make_client: Any) -> None:
    nai = make_client(anonymous=True)
    with pytest.raises(ConfigurationError, match="no credentials"):
        await maybe(nai.account.priority())


async def test_token_cannot_open_the_keystore(make_client: Any, creds: Any) -> None:
    nai = make_client(token=creds.token)
    with pytest.raises(ConfigurationError):
        await maybe(nai.storage.keystore())


# --- account --------------------------------------------------------------------------------------------------


async def test_account_endpoints(nai: Any) -> None:
    subscription = await maybe(nai.account.subscription())
    assert subscription.tier == 3 and subscription.active
    data = await maybe(nai.account.data())
    assert data.subscription.tier == 3
    assert await maybe(nai.account.gift_keys()) == []
    await maybe(nai.account.set_client_settings({"theme": "dark", "n": 1}))
    assert await maybe(nai.account.client_settings()) == {"theme": "dark", "n": 1}


async def test_change_access_key_keeps_the_keystore_readable(make_client: Any, creds: Any) -> None:
    nai = make_client(email=creds.email, password=creds.password)
    story = await maybe(nai.storage.create_story("Before", "text"))
    await maybe(nai.account.change_access_key(creds.email, "a new password"))
    again = make_client(email=creds.email, password="a new password")
    stories = await maybe(again.storage.stories())
    assert [s.title for s in stories] == ["Before"]
    assert stories[0].id == story.id and stories[0].ok


# --- storage --------------------------------------------------------------------------------------------------


async def test_storage_round_trip_with_a_modified_story(nai: Any) -> None:
    created = await maybe(nai.storage.create_story("A lantern", "The night was quiet."))
    stories = await maybe(nai.storage.stories())
    assert [(s.title, s.ok) for s in stories] == [("A lantern", True)]
    content = stories[0].content
    assert content.data["story"]["fragments"][0]["data"] == "The night was quiet."
    assert content.id == created.content.id

    content.data["story"]["fragments"].append({"data": " A bell rang."})
    assert content.modified
    stored = await maybe(nai.storage.edit(content))
    assert stored.change_index == content.change_index + 1

    again = await maybe(nai.storage.get("storycontent", content.id))
    assert [f["data"] for f in again.data["story"]["fragments"]] == ["The night was quiet.", " A bell rang."]
    # Unchanged: nothing is sent, the same object comes back.
    assert await maybe(nai.storage.edit(again)) is again


async def test_stale_edit_is_a_conflict_with_both_versions(nai: Any) -> None:
    story = await maybe(nai.storage.create_story("Shared", "v0"))
    mine = await maybe(nai.storage.get("storycontent", story.content.id))
    theirs = await maybe(nai.storage.get("storycontent", story.content.id))
    theirs.data["story"]["fragments"][0]["data"] = "their change"
    await maybe(nai.storage.edit(theirs))

    mine.data["story"]["fragments"][0]["data"] = "my change"
    with pytest.raises(ConflictError) as info:
        await maybe(nai.storage.edit(mine))
    assert info.value.status_code == 409
    assert info.value.local is mine
    assert info.value.remote.data["story"]["fragments"][0]["data"] == "their change"
    # Nothing was overwritten.
    current = await maybe(nai.storage.get("storycontent", story.content.id))
    assert current.data["story"]["fragments"][0]["data"] == "their change"


async def test_undecryptable_object_is_never_uploaded(nai: Any, make_client: Any, creds: Any) -> None:
    keystore = await maybe(nai.storage.keystore())
    obj = UserObject.new("stories", {"title": "x"}, keystore)
    stored = await maybe(nai.storage.create(obj))
    # An object whose meta no keystore holds (its key was lost) cannot be read, even after the client re-read the
    # keystore to look for it, and must not be written back.
    creds.account.objects["stories"][stored.id]["meta"] = "meta-whose-key-was-lost"
    other = make_client(email=creds.email, password=creds.password)
    broken = await maybe(other.storage.get("stories", stored.id))
    assert not broken.ok
    assert isinstance(broken.error, MissingKeyError)
    with pytest.raises(UploadRefusedError):
        await maybe(other.storage.edit(broken))


async def test_bulk_download_reports_progress(nai: Any) -> None:
    for index in range(3):
        await maybe(nai.storage.create_story(f"story {index}"))
    seen: list[tuple[str, int, int | None]] = []
    found = await maybe(
        nai.storage.download(["stories", "storycontent"], progress=lambda *a: seen.append(a), page_size=2)
    )
    assert {t: len(v) for t, v in found.items()} == {"stories": 3, "storycontent": 3}
    assert seen == [
        ("stories", 2, None),
        ("stories", 3, None),
        ("storycontent", 2, None),
        ("storycontent", 3, None),
    ]


# --- text -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["kayra", "erato"])
async def test_generate(nai: Any, model: str) -> None:
    result = await maybe(nai.text.generate("The night was", model, max_length=12, min_length=12, num_logprobs=2))
    assert len(result.tokens) == 12
    assert result.text
    assert result.logprobs is not None and len(result.logprobs) == 12


async def test_stream_yields_the_generation_piece_by_piece(nai: Any) -> None:
    stream = nai.text.stream("The night was", "erato", max_length=8, min_length=8)
    pieces = await collect(stream)
    assert len(pieces) == 8
    assert [p.final for p in pieces] == [False] * 7 + [True]
    assert "".join(p.text for p in pieces) == stream.result.text
    whole = await maybe(nai.text.generate("The night was", "erato", max_length=8, min_length=8))
    assert stream.result.tokens == whole.tokens


async def test_stream_cut_midway_is_a_stream_error(nai: Any) -> None:
    cut = nai.with_options(headers={"X-Fake-Fault": "drop-mid-stream=3"})
    stream = cut.text.stream("The night was", "kayra", max_length=8, min_length=8)
    pieces: list[Any] = []
    with pytest.raises(StreamError):
        if isinstance(nai, AsyncNovelAI):
            async with stream:
                async for piece in stream:
                    pieces.append(piece)
        else:
            with stream:
                pieces.extend(stream)
    assert len(pieces) == 3


async def test_stream_is_incremental(nai: Any) -> None:
    slow = nai.with_options(headers={"X-Fake-Fault": "slow-stream=0.15"})
    await maybe(nai.account.priority())  # log in outside the timed part
    start = time.monotonic()
    arrivals: list[float] = []
    stream = slow.text.stream("The night was", "kayra", max_length=5, min_length=5)
    if isinstance(nai, AsyncNovelAI):
        async with stream:
            async for _ in stream:
                arrivals.append(time.monotonic() - start)
    else:
        with stream:
            for _ in stream:
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) == 5
    # The first event arrives well before the server sends the last one (5 x 0.15 s).
    assert arrivals[0] < 0.45 < arrivals[-1]


async def test_payment_required_without_subscription(make_client: Any, fake: FakeNovelAI) -> None:
    account, token = fake.add_account()
    with fake.state.lock:
        account.tier, account.expires_at = None, 0
    with pytest.raises(PaymentRequiredError):
        await maybe(make_client(token=token).text.generate("x", "kayra", max_length=4))


# --- retries --------------------------------------------------------------------------------------------------


async def test_429_storm_is_retried_then_raised(nai: Any, fake: FakeNovelAI) -> None:
    await maybe(nai.account.priority())
    fake.inject("/user/priority", status=429, retry_after=0, times=5)
    with pytest.raises(RateLimitError) as info:
        await maybe(nai.account.priority())
    assert info.value.retry_after == 0
    assert fake.faults.pending() == 2  # 1 attempt + 2 retries


async def test_429_on_generation_is_retried(nai: Any, fake: FakeNovelAI) -> None:
    fake.inject("/ai/generate", status=429, times=2)
    result = await maybe(nai.text.generate("x", "kayra", max_length=4, min_length=4))
    assert len(result.tokens) == 4
    assert fake.faults.pending() == 0


async def test_5xx_is_retried_on_get(nai: Any, fake: FakeNovelAI) -> None:
    fake.inject("/user/subscription", status=503, times=2)
    assert (await maybe(nai.account.subscription())).tier == 3
    assert fake.faults.pending() == 0


async def test_5xx_is_not_retried_on_generation(nai: Any, fake: FakeNovelAI) -> None:
    await maybe(nai.account.priority())
    fake.inject("/ai/generate", status=500, times=2)
    with pytest.raises(InternalServerError):
        await maybe(nai.text.generate("x", "kayra", max_length=4))
    assert fake.faults.pending() == 1


async def test_timeout_is_an_api_timeout_error(nai: Any) -> None:
    await maybe(nai.account.priority())
    slow = nai.with_options(timeout=0.2, max_retries=0, headers={"X-Fake-Fault": "latency=1"})
    with pytest.raises(APITimeoutError):
        await maybe(slow.account.priority())


async def test_connection_refused_is_an_api_connection_error(make_client: Any, creds: Any) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nai = make_client(token=creds.token, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(APIConnectionError) as info:
        await maybe(nai.text.generate("x", "kayra", max_length=4))
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, Exception)


# --- images, voice, modules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        V3Params(width=64, height=64, steps=1, seed=7, smea=True),
        V4Params(width=64, height=128, seed=1, n_samples=2, characters=(Character("a", center=(0.2, 0.5)),)),
        V45Params(width=64, height=64, image=PNG + b"x", strength=0.5),
    ],
)
async def test_image_generate_returns_png_bytes(nai: Any, params: Any, tmp_path: Path) -> None:
    result = await maybe(nai.image.generate("a lantern", params))
    assert len(result.images) == params.n_samples
    assert all(image.data.startswith(PNG) for image in result.images)
    assert result.seed == params.seed if params.seed is not None else 0 < result.seed < 2**32
    saved = result.save(tmp_path)
    assert saved[0].read_bytes() == result.images[0].data


async def test_image_tools(nai: Any) -> None:
    image = (await maybe(nai.image.generate("x", V45Params(width=64, height=64)))).images[0]
    upscaled = await maybe(nai.image.upscale(image.data, 64, 64, scale=2))
    assert upscaled.data.startswith(PNG)
    annotated = await maybe(nai.image.annotate(image.data, "canny", width=64, height=64))
    assert annotated.data.startswith(PNG)
    tags = await maybe(nai.image.suggest_tags("night s"))
    assert [t.tag for t in tags] == ["night sky"]


async def test_voice(nai: Any) -> None:
    audio = await maybe(nai.voice.generate("Hello there, traveller.", seed="Aini"))
    assert len(audio) > 100
    assert audio[:3] == b"ID3" or audio[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")


async def test_modules(nai: Any) -> None:
    module = await maybe(nai.modules.train("data" * 10, name="m", steps=100))
    assert module.status == "pending"
    listed = await maybe(nai.modules.list())
    assert [m.id for m in listed] == [module.id]
    assert (await maybe(nai.modules.get(module.id))).status == "ready"
    await maybe(nai.modules.buy_steps(2000))
    await maybe(nai.modules.delete(module.id))
    assert await maybe(nai.modules.list()) == []


# --- options and lifecycle ------------------------------------------------------------------------------------


async def test_with_options_shares_the_login(nai: Any) -> None:
    await maybe(nai.account.priority())
    copy = nai.with_options(max_retries=0, timeout=5)
    assert copy.options.max_retries == 0 and copy.options.timeout.read == 5
    assert nai.options.max_retries == 2
    assert copy.logged_in
    assert (await maybe(copy.account.subscription())).tier == 3


async def test_async_stream_can_be_cancelled(make_client: Any, creds: Any, client_kind: str) -> None:
    if client_kind == "sync":
        pytest.skip("cancellation is an asyncio feature")
    nai = make_client(email=creds.email, password=creds.password)
    await nai.login()
    slow = nai.with_options(headers={"X-Fake-Fault": "slow-stream=0.5"})
    got: list[Any] = []

    async def consume() -> None:
        async with slow.text.stream("x", "kayra", max_length=6, min_length=6) as stream:
            async for piece in stream:
                got.append(piece)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.8)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 1 <= len(got) < 6
    # The client still works afterwards.
    assert (await nai.account.priority()).max_priority_actions > 0


def test_sync_and_async_surfaces_match() -> None:
    import inspect

    from nai_sdk.resources import account, image, modules, storage, text, voice

    pairs = [
        (NovelAI, AsyncNovelAI),
        (account.Account, account.AsyncAccount),
        (storage.Storage, storage.AsyncStorage),
        (text.Text, text.AsyncText),
        (image.Images, image.AsyncImages),
        (voice.Voice, voice.AsyncVoice),
        (modules.Modules, modules.AsyncModules),
    ]
    ignore = {"close", "aclose", "__enter__", "__exit__", "__aenter__", "__aexit__", "http_backend"}
    for sync_cls, async_cls in pairs:
        sync_names = {n for n in dir(sync_cls) if not n.startswith("_")} - ignore
        async_names = {n for n in dir(async_cls) if not n.startswith("_")} - ignore
        assert sync_names == async_names, sync_cls
        for name in sync_names:
            a, b = getattr(sync_cls, name), getattr(async_cls, name)
            if inspect.isfunction(a) and inspect.isfunction(b):
                pa = [(p.name, p.kind, p.default) for p in inspect.signature(a).parameters.values()]
                pb = [(p.name, p.kind, p.default) for p in inspect.signature(b).parameters.values()]
                assert pa == pb, f"{sync_cls.__name__}.{name}"
    init_a = inspect.signature(NovelAI.__init__).parameters
    init_b = inspect.signature(AsyncNovelAI.__init__).parameters
    assert set(init_b) - set(init_a) == {"http_backend"}

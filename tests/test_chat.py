"""The OpenAI-compatible API (`nai.text.chat`, `chat_stream`, `complete`, `models`, `count_tokens`) against the fake,
for `NovelAI` and `AsyncNovelAI` on both transports, and its pure parts (requests, the stream assembler, the
registry) on their own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _client_helpers import collect, maybe

from nai_sdk._client import AsyncNovelAI
from nai_sdk.errors import (
    BadRequestError,
    PaymentRequiredError,
    StreamError,
    UnexpectedAnswerError,
    UnknownModelError,
    UnknownSettingError,
)
from nai_sdk.models import CHAT_MODELS, TEXT_MODELS, ChatModel, get_chat_model, get_model
from nai_sdk.resources.chat import ChatResult, Usage, _ChatAssembler, chat_request, completion_request
from nai_sdk.testing import FakeNovelAI
from nai_sdk.testing._faults import Fault

HELLO = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello there"}]


def _oa_requests(fake: FakeNovelAI) -> int:
    return len(fake.requests.matching(path="/oa/v1/*"))


async def _pieces(stream: Any) -> list[Any]:
    """The pieces read before the stream failed or ended (`collect` loses them when it raises)."""
    pieces: list[Any] = []
    if isinstance(stream, AsyncNovelAI) or hasattr(stream, "__aiter__"):
        async with stream:
            async for piece in stream:
                pieces.append(piece)
    else:
        with stream:
            pieces.extend(stream)
    return pieces


# --- chat -----------------------------------------------------------------------------------------------------


async def test_chat(nai: Any, fake: FakeNovelAI) -> None:
    result = await maybe(nai.text.chat(HELLO, model="glm-4-6", max_tokens=5, temperature=0.7))
    assert isinstance(result, ChatResult)
    assert (result.model, result.finish_reason, result.role) == ("glm-4-6", "length", "assistant")
    assert len(result.text.split()) == 5
    assert result.message == {"role": "assistant", "content": result.text}
    assert result.usage == Usage(prompt_tokens=8, completion_tokens=5, total_tokens=13)
    assert result.raw is not None and result.raw.choices[0].message.content == result.text
    (last,) = fake.requests.matching("POST", "/oa/v1/chat/completions")[-1:]
    assert last.status == 200
    if fake.split_hosts:
        assert last.role == "text"


async def test_chat_takes_a_text_aliases_and_the_previous_answer(nai: Any) -> None:
    first = await maybe(nai.text.chat("Hello there", "GLM-4.6"))
    assert first.finish_reason == "stop" and first.text
    again = await maybe(nai.text.chat([{"role": "user", "content": "Hello there"}], "glm"))
    assert again.text == first.text
    turn = await maybe(nai.text.chat([*HELLO, first.message, {"role": "user", "content": "More"}], "xialong"))
    assert turn.model == "xialong-v1" and turn.text


async def test_chat_stop_and_extra_body(nai: Any) -> None:
    whole = await maybe(nai.text.chat(HELLO, "glm-4-6"))
    word = whole.text.split()[2]
    cut = await maybe(nai.text.chat(HELLO, "glm-4-6", stop=[word], extra_body={"unified_linear": 0.5}))
    assert cut.finish_reason == "stop"
    assert word not in cut.text and len(cut.text) < len(whole.text)


async def test_chat_stream(nai: Any) -> None:
    stream = nai.text.chat_stream(HELLO, model="glm-4-6", max_tokens=6)
    pieces = await collect(stream)
    whole = await maybe(nai.text.chat(HELLO, model="glm-4-6", max_tokens=6))
    assert "".join(p.text for p in pieces) == stream.text == whole.text
    # A first chunk naming the role, one a word, a last one with the finish reason.
    assert len(pieces) == 8
    assert [p.index for p in pieces] == list(range(8))
    assert [p.finish_reason for p in pieces] == [None] * 7 + ["length"]
    assert stream.result == ChatResult(text=whole.text, finish_reason="length", usage=None, model="glm-4-6")


async def test_complete(nai: Any) -> None:
    result = await maybe(nai.text.complete("[ Style: prose ]\nThe night", "xialong-v1", max_tokens=3, top_k=40))
    assert (result.model, result.finish_reason, len(result.text.split())) == ("xialong-v1", "length", 3)
    assert result.usage is not None and result.usage.completion_tokens == 3
    assert result.raw is not None and result.raw.choices[0].text == result.text


async def test_models(nai: Any) -> None:
    models = await maybe(nai.text.models())
    assert [m.id for m in models] == ["glm-4-6", "xialong-v1"]
    assert [m.model for m in models] == [CHAT_MODELS["glm-4-6"], CHAT_MODELS["xialong-v1"]]
    assert {m.owned_by for m in models} == {"novelai"}


async def test_count_tokens(nai: Any) -> None:
    count = await maybe(nai.text.count_tokens("one two three", "glm"))
    assert (count.length, len(count.tokens), int(count)) == (3, 3, 3)
    messages = await maybe(nai.text.count_tokens(HELLO, "glm-4-6"))
    texts = await maybe(nai.text.count_tokens([m["content"] for m in HELLO], "glm-4-6"))
    assert messages == texts
    assert messages.length == 5


async def test_payment_required_without_subscription(make_client: Any, fake: FakeNovelAI) -> None:
    account, token = fake.add_account()
    with fake.state.lock:
        account.tier, account.expires_at = None, 0
    with pytest.raises(PaymentRequiredError):
        await maybe(make_client(token=token).text.chat("x", "glm-4-6"))


async def test_the_fake_validates_like_the_service(nai: Any) -> None:
    with pytest.raises(BadRequestError, match=r"messages\[0\].role"):
        await maybe(nai.text.chat([{"role": "narrator", "content": "x"}], "glm-4-6"))
    with pytest.raises(BadRequestError, match="Unknown model"):
        await maybe(nai.text.chat("x", ChatModel(id="glm-9", name="GLM-9")))
    with pytest.raises(BadRequestError, match="top_p"):
        await maybe(nai.text.chat("x", "glm-4-6", top_p=2.0))


# --- refused before anything is sent --------------------------------------------------------------------------


async def test_unknown_setting_sends_nothing(nai: Any, fake: FakeNovelAI) -> None:
    await maybe(nai.text.models())  # logged in: the count below is only about the chat
    before = _oa_requests(fake)
    with pytest.raises(UnknownSettingError, match="'temperature'") as info:
        await maybe(nai.text.chat("x", "glm-4-6", temprature=1.0))
    assert (info.value.name, info.value.suggestion) == ("temprature", "temperature")
    with pytest.raises(UnknownSettingError, match="'max_tokens'"):
        nai.text.chat_stream("x", "glm-4-6", max_token=5)
    with pytest.raises(UnknownSettingError):
        await maybe(nai.text.complete("x", "glm-4-6", enable_thinking=True))
    assert _oa_requests(fake) == before


async def test_unknown_model_lists_ids_and_aliases(nai: Any, fake: FakeNovelAI) -> None:
    before = _oa_requests(fake)
    with pytest.raises(UnknownModelError) as info:
        await maybe(nai.text.chat("x", "glm-5"))
    assert "glm-4-6 (glm, glm-4.6, glm4.6)" in str(info.value) and "xialong-v1 (xialong)" in str(info.value)
    with pytest.raises(UnknownModelError, match=r"nai\.text\.generate"):
        await maybe(nai.text.chat("x", "erato"))
    with pytest.raises(UnknownModelError, match="xialong"):
        await maybe(nai.text.count_tokens("x", "kayra"))
    assert _oa_requests(fake) == before


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([], ValueError),
        ({"role": "user", "content": "x"}, TypeError),
        (["x"], TypeError),
        ([{"role": "user"}], ValueError),
        ([{"content": "x"}], ValueError),
        ([{"role": "user", "content": 3}], ValueError),
        (None, TypeError),
    ],
)
def test_malformed_messages_are_refused(messages: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        chat_request(messages, "glm-4-6", {})


def test_request_bodies() -> None:
    body = chat_request(HELLO, "GLM", {"max_tokens": 9, "stop": ("a", "b")}, {"unified_linear": 0.5}, stream=True)
    assert body.to_dict() == {
        "model": "glm-4-6",
        "messages": HELLO,
        "max_tokens": 9,
        "stop": ["a", "b"],
        "unified_linear": 0.5,
        "stream": True,
    }
    completion = completion_request("Once", "xialong", {"temperature": 1.1})
    assert completion.to_dict() == {"model": "xialong-v1", "prompt": "Once", "temperature": 1.1, "stream": False}


# --- hostile answers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "this is not JSON",
        '"a string"',
        "[]",
        '{"id": "x"}',
        '{"choices": []}',
        '{"choices": [{"index": 0}]}',
        '{"choices": [{"message": "hi"}]}',
        '{"choices": [{"message": {"role": "assistant", "content": null}}]}',
        '{"choices": [{"message": {"role": "assistant", "content": 42}}]}',
        '{"choices": "many"}',
        "[" * 100_000,
    ],
)
async def test_a_chat_answer_that_does_not_parse_is_an_unexpected_answer(
    nai: Any, fake: FakeNovelAI, body: str
) -> None:
    fake.faults.add("/oa/v1/chat/completions", Fault(body=body))
    with pytest.raises(UnexpectedAnswerError):
        await maybe(nai.text.chat("x", "glm-4-6"))


@pytest.mark.parametrize(
    ("path", "body", "call"),
    [
        ("/oa/v1/completions", '{"choices": [{"text": null}]}', "complete"),
        ("/oa/v1/completions", "nope", "complete"),
        ("/oa/v1/models", '{"data": [{"object": "model"}]}', "models"),
        ("/oa/v1/models", '{"data": 5}', "models"),
        ("/oa/v1/internal/token-count", '{"length": -1}', "count_tokens"),
        ("/oa/v1/internal/token-count", '{"length": 2, "encoded": ["a", "b"]}', "count_tokens"),
        ("/oa/v1/internal/token-count", '{"encoded": [1]}', "count_tokens"),
    ],
)
async def test_other_answers_that_do_not_parse(nai: Any, fake: FakeNovelAI, path: str, body: str, call: str) -> None:
    fake.faults.add(path, Fault(body=body))
    with pytest.raises(UnexpectedAnswerError):
        if call == "complete":
            await maybe(nai.text.complete("x", "glm-4-6"))
        elif call == "models":
            await maybe(nai.text.models())
        else:
            await maybe(nai.text.count_tokens("x", "glm-4-6"))


async def test_a_stream_cut_midway_is_a_stream_error(nai: Any) -> None:
    cut = nai.with_options(headers={"X-Fake-Fault": "drop-mid-stream=3"})
    with pytest.raises(StreamError, match="cut"):
        await _pieces(cut.text.chat_stream(HELLO, "glm-4-6", max_tokens=8))


def _sse(*events: object) -> str:
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)


_CHUNK = {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_sse(_CHUNK), "before data: \\[DONE\\]"),
        ("", "without a single event"),
        ('{"choices": []}', "without a single event"),
        (_sse(_CHUNK, "not json", "[DONE]"), "malformed"),
        (_sse(_CHUNK, [1, 2], "[DONE]"), "malformed"),
        (_sse({"choices": [{"index": 0}]}, "[DONE]"), "malformed"),
        (_sse({"choices": [{"index": 0, "delta": {"content": 7}}]}, "[DONE]"), "malformed"),
        (_sse({"choices": {"a": 1}}, "[DONE]"), "malformed"),
        (_sse(_CHUNK, {"error": {"message": "overloaded"}}), "overloaded"),
        ("event: error\ndata: the node fell over\n\n", "fell over"),
    ],
)
async def test_a_stream_that_does_not_parse_is_a_stream_error(
    nai: Any, fake: FakeNovelAI, body: str, message: str
) -> None:
    fake.faults.add("/oa/v1/chat/completions", Fault(body=body))
    with pytest.raises(StreamError, match=message):
        await _pieces(nai.text.chat_stream("x", "glm-4-6"))


async def test_events_after_done_are_ignored(nai: Any, fake: FakeNovelAI) -> None:
    fake.faults.add("/oa/v1/chat/completions", Fault(body=_sse(_CHUNK, "[DONE]", "garbage")))
    stream = nai.text.chat_stream("x", "glm-4-6")
    pieces = await collect(stream)
    assert [p.text for p in pieces] == ["Hi"] and stream.text == "Hi"


# --- the assembler alone --------------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\n\n", "\r\n\r\n", "\r\r", "\n\r\n"])
def test_the_assembler_reads_a_stream_split_anywhere(separator: str) -> None:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "Ça "}, "finish_reason": None}]},
        {"choices": [{"index": 1, "delta": {"content": "other choice"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "va 🌙"}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}},
    ]
    raw = (_sse(*chunks, "[DONE]")).replace("\n\n", separator).encode()
    for size in (1, 2, 7, 100, len(raw)):
        assembler = _ChatAssembler("glm-4-6")
        pieces = [p for start in range(0, len(raw), size) for p in assembler.feed(raw[start : start + size])]
        assembler.end()
        assert [p.text for p in pieces] == ["", "Ça ", "va 🌙", ""]
        assert assembler.result() == ChatResult(
            text="Ça va 🌙", finish_reason="stop", usage=Usage(3, 2, 5), model="glm-4-6"
        )


# --- the registry ---------------------------------------------------------------------------------------------


def test_chat_models_as_sourced() -> None:
    glm, xialong = get_chat_model("glm-4.6"), get_chat_model("Xialong")
    assert (glm.id, glm.name, glm.context_tokens, glm.tokenizer, glm.host) == (
        "glm-4-6",
        "GLM-4.6",
        12288,
        None,
        "text",
    )
    assert (xialong.id, xialong.context_tokens, xialong.tokenizer) == ("xialong-v1", None, None)
    assert glm.base_url == "https://text.novelai.net"
    custom = ChatModel(id="glm-5", name="GLM-5")
    assert get_chat_model(custom) is custom
    # The native models stay where they were.
    assert {"llama-3-erato-v1", "kayra-v1", "clio-v1"} <= set(TEXT_MODELS)


def test_each_registry_refuses_the_others_names() -> None:
    with pytest.raises(UnknownModelError, match=r"nai\.text\.chat"):
        get_model("glm")
    with pytest.raises(UnknownModelError, match=r"kayra-v1 \(kayra\)"):
        get_model("kayra-v9")
    with pytest.raises(UnknownModelError, match="image model"):
        get_chat_model("nai-diffusion-3")
    with pytest.raises(UnknownModelError, match=r"glm-4-6 \(glm, glm-4.6, glm4.6\); xialong-v1 \(xialong\)"):
        get_chat_model("")

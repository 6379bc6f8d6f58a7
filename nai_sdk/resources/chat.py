"""Text on NovelAI's OpenAI-compatible API: `nai.text.chat`, `chat_stream`, `complete`, `models`, `count_tokens`.

The text host serves GLM-4.6 and Xialong (`nai_sdk.models.CHAT_MODELS`) under `/oa/v1`, in OpenAI's request and
answer format (routes and shapes: novelai-python 0.9.0, `novelai_python/sdk/ai/openai_compat.py`; the spec's
extension document cites each). Text goes in and comes out as text: no tokenizer is involved on this side.

These methods are mixed into `Text` and `AsyncText` (`nai_sdk.resources.text`), so they are `nai.text.chat(...)`.
Request building and answer checking are pure functions shared by the two clients; the stream classes are the two
thin I/O loops over one `_ChatAssembler`, as `TextStream` and `AsyncTextStream` are.

A streamed chat answer is Server-Sent Events whose `data:` fields are `ChatCompletionChunk` objects, ended by
`data: [DONE]` (novelai-python `_OAIGenerateBase.stream`). A stream that ends without `[DONE]`, is cut, or sends an
event that is not a chunk raises `StreamError`; a whole answer that does not parse raises `UnexpectedAnswerError`.
"""

from __future__ import annotations

import difflib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, Unpack

import attrs
import httpx
from nai_client.api.text import count_tokens as count_tokens_op
from nai_client.api.text import create_chat_completion, create_completion, list_models
from nai_client.models import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
    CompletionUsage,
    TokenCountRequest,
)
from nai_client.typed_dicts import ChatSettingsDict, CompletionSettingsDict
from nai_client.types import Unset

from nai_sdk import _constants as c
from nai_sdk._http import stream_error
from nai_sdk._json import loads_answer
from nai_sdk._request import PerCall, RequestOptions, TransportOptions, per_call, split_request
from nai_sdk._sse import ServerSentEvent, SSEDecoder
from nai_sdk.errors import FormatError, StreamError, UnexpectedAnswerError, UnknownSettingError
from nai_sdk.models import ChatModel, get_chat_model
from nai_sdk.resources._base import AsyncResource, Call, Flow, Kind, Resource, call

if TYPE_CHECKING:
    from nai_client.typed_dicts import ChatMessageDict

    from nai_sdk._session import AsyncEngine, SyncEngine

__all__ = [
    "AsyncChat",
    "AsyncChatStream",
    "AvailableModel",
    "Chat",
    "ChatPiece",
    "ChatResult",
    "ChatStream",
    "CompletionResult",
    "TokenCount",
    "Usage",
]

#: The keyword settings of `chat` and `complete`: the spec's request schemas, less what the methods set themselves.
_CHAT_SETTINGS: Final = frozenset(ChatSettingsDict.__required_keys__ | ChatSettingsDict.__optional_keys__)
_COMPLETION_SETTINGS: Final = frozenset(
    CompletionSettingsDict.__required_keys__ | CompletionSettingsDict.__optional_keys__
)
#: The data of the event that ends a stream (OpenAI's convention, which NovelAI follows).
_DONE: Final = "[DONE]"
#: The most characters of a server's text quoted in an error (an event may hold megabytes).
_QUOTED: Final = 200


class ChatCallArgs(ChatSettingsDict, TransportOptions, total=False):
    """The keyword arguments of `chat` and `chat_stream`: the chat settings and the per-call options."""


class CompletionCallArgs(CompletionSettingsDict, TransportOptions, total=False):
    """The keyword arguments of `complete`: the completion settings and the per-call options."""


Messages = str | Sequence["ChatMessageDict | Mapping[str, Any]"]


# --- results --------------------------------------------------------------------------------------------------


@attrs.frozen
class Usage:
    """The tokens an answer spent, as the server counted them (each None when the server left it out).

    Attributes:
        prompt_tokens: tokens of the prompt (the messages, with the chat template).
        completion_tokens: tokens of the answer.
        total_tokens: both together.
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@attrs.frozen
class ChatResult:
    """A chat answer.

    Attributes:
        text: the answer's text. GLM may think aloud first, inside `<think>...</think>`: the text is as the model
            wrote it.
        finish_reason: why it stopped (`"stop"`, `"length"`, ...), or None when the server did not say.
        usage: the tokens spent, or None when the server sent no usage.
        model: the model id.
        role: the role of the answer's author (`"assistant"`).
        raw: the whole answer as the spec's model (`nai_client.models.ChatCompletionResponse`), fields the spec does
            not list included (`raw.additional_properties`); None for the result of a stream.
    """

    text: str
    finish_reason: str | None
    usage: Usage | None
    model: str
    role: str = "assistant"
    raw: ChatCompletionResponse | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def message(self) -> ChatMessageDict:
        """The answer as a message, ready to append to the conversation for the next turn."""
        return {"role": self.role, "content": self.text}


@attrs.frozen
class CompletionResult:
    """A completion (`nai.text.complete`).

    Attributes:
        text: the generated text (the prompt is not repeated).
        finish_reason: why it stopped (`"stop"`, `"length"`, ...), or None when the server did not say.
        usage: the tokens spent, or None when the server sent no usage.
        model: the model id.
        raw: the whole answer as the spec's model (`nai_client.models.CompletionResponse`).
    """

    text: str
    finish_reason: str | None
    usage: Usage | None
    model: str
    raw: CompletionResponse | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class ChatPiece:
    """One chunk of a streamed chat answer.

    Attributes:
        text: the text this chunk adds (empty for a chunk that only names the role or the finish reason).
        index: the chunk's position in the stream, from 0.
        finish_reason: set on the chunk that ends the answer (`"stop"`, `"length"`, ...), else None.
        raw: the chunk as the spec's model (`nai_client.models.ChatCompletionChunk`).
    """

    text: str
    index: int
    finish_reason: str | None = None
    raw: ChatCompletionChunk | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class AvailableModel:
    """A model that `GET /oa/v1/models` lists for the account.

    Attributes:
        id: the model id, as `chat(model=...)` takes it.
        owned_by: who the server says owns it (`"novelai"`), if it says.
        created: the UNIX time the server gives, if any.
        model: this SDK's record of the model (`nai_sdk.models.CHAT_MODELS`), or None for a model it does not know
            yet (pass `ChatModel(id=..., name=...)` to use it).
    """

    id: str
    owned_by: str | None = None
    created: int | None = None
    model: ChatModel | None = None


@attrs.frozen
class TokenCount:
    """The server's tokenization of a text (`nai.text.count_tokens`).

    Attributes:
        length: how many tokens.
        tokens: the token ids, when the server sent them (else empty).
    """

    length: int
    tokens: tuple[int, ...] = ()

    def __int__(self) -> int:
        return self.length


# --- requests -------------------------------------------------------------------------------------------------


def _check_settings(settings: Mapping[str, Any], known: frozenset[str], method: str) -> None:
    """Refuse a setting the spec's request schema does not list, naming the nearest one (nothing is sent)."""
    for name in settings:
        if name not in known:
            nearest = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
            raise UnknownSettingError(
                f"unknown {method} setting {name!r}{hint} (nothing was sent; fields the spec does not list go in "
                "extra_body={...})",
                name,
                nearest[0] if nearest else None,
            )


def _messages(messages: Messages) -> list[dict[str, Any]]:
    """The messages as the request sends them: one text is one user message."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, Mapping) or not isinstance(messages, Sequence):
        raise TypeError(f"messages must be a text or a list of messages, not {type(messages).__name__}")
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise TypeError(f"messages[{index}] must be a mapping with role and content, not {type(message).__name__}")
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or not role:
            raise ValueError(f"messages[{index}] needs a role (system, user or assistant)")
        if not isinstance(content, str):
            raise ValueError(f"messages[{index}] needs its content as text, not {type(content).__name__}")
        out.append(dict(message))
    if not out:
        raise ValueError("messages must hold at least one message")
    return out


def _with_settings(
    body: dict[str, Any], settings: Mapping[str, Any], extra_body: Mapping[str, Any] | None
) -> dict[str, Any]:
    body.update(settings)
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str):
        body["stop"] = list(stop)
    if extra_body:
        # The escape hatch wins, as in the openai SDK: it can send anything, `stream` aside.
        body.update(extra_body)
    return body


def chat_request(
    messages: Messages,
    model: str | ChatModel,
    settings: Mapping[str, Any],
    extra_body: Mapping[str, Any] | None = None,
    *,
    stream: bool = False,
) -> ChatCompletionRequest:
    """The body of `POST /oa/v1/chat/completions`, checked before anything is sent.

    Raises:
        UnknownModelError: not a model of the OpenAI-compatible API (the message lists the ids and aliases).
        UnknownSettingError: a setting the spec does not list.
        TypeError, ValueError: messages that are not a text or a list of role/content mappings.
    """
    _check_settings(settings, _CHAT_SETTINGS, "chat")
    chat_model = get_chat_model(model)
    body = _with_settings({"model": chat_model.id, "messages": _messages(messages)}, settings, extra_body)
    body["stream"] = stream
    return ChatCompletionRequest.from_dict(body)


def completion_request(
    prompt: str,
    model: str | ChatModel,
    settings: Mapping[str, Any],
    extra_body: Mapping[str, Any] | None = None,
) -> CompletionRequest:
    """The body of `POST /oa/v1/completions`, checked before anything is sent (see `chat_request`)."""
    _check_settings(settings, _COMPLETION_SETTINGS, "completion")
    chat_model = get_chat_model(model)
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a text, not {type(prompt).__name__}")
    body = _with_settings({"model": chat_model.id, "prompt": prompt}, settings, extra_body)
    body["stream"] = False
    return CompletionRequest.from_dict(body)


# --- answers --------------------------------------------------------------------------------------------------


def _shorten(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= _QUOTED else f"{text[:_QUOTED]}... ({len(text):,} characters)"


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage(value: CompletionUsage | Unset | None) -> Usage | None:
    if not isinstance(value, CompletionUsage):
        return None
    return Usage(
        prompt_tokens=_optional_int(value.prompt_tokens),
        completion_tokens=_optional_int(value.completion_tokens),
        total_tokens=_optional_int(value.total_tokens),
    )


def _chat_result(answer: ChatCompletionResponse, model: str) -> ChatResult:
    choices: object = answer.choices
    if not isinstance(choices, list) or not choices:
        raise UnexpectedAnswerError("the chat answer has no choices")
    message = choices[0].message
    content: object = message.content
    if not isinstance(content, str):
        # One unofficial source says NovelAI's whole (non-streamed) answer can come without it; the stream has it.
        raise UnexpectedAnswerError(
            f"the chat answer has no text (message.content is {_shorten(content)}); nai.text.chat_stream reads the "
            "same answer as a stream"
        )
    finish_reason: object = choices[0].finish_reason
    return ChatResult(
        text=content,
        finish_reason=_optional_str(finish_reason),
        usage=_usage(answer.usage),
        model=_optional_str(answer.model) or model,
        role=_optional_str(message.role) or "assistant",
        raw=answer,
    )


def _completion_result(answer: CompletionResponse, model: str) -> CompletionResult:
    choices: object = answer.choices
    if not isinstance(choices, list) or not choices:
        raise UnexpectedAnswerError("the completion answer has no choices")
    text: object = choices[0].text
    if not isinstance(text, str):
        raise UnexpectedAnswerError(f"the completion answer's text is {_shorten(text)}, not text")
    finish_reason: object = choices[0].finish_reason
    return CompletionResult(
        text=text,
        finish_reason=_optional_str(finish_reason),
        usage=_usage(answer.usage),
        model=_optional_str(answer.model) or model,
        raw=answer,
    )


def _chat_flow(body: ChatCompletionRequest) -> Flow[ChatResult]:
    answer = yield from call(create_chat_completion.operation.bind(body=body), kind=Kind.GENERATION)
    return _chat_result(answer, body.model)


def _completion_flow(body: CompletionRequest) -> Flow[CompletionResult]:
    answer = yield from call(create_completion.operation.bind(body=body), kind=Kind.GENERATION)
    return _completion_result(answer, body.model)


def _models_flow() -> Flow[list[AvailableModel]]:
    from nai_sdk.models import CHAT_MODELS

    answer = yield from call(list_models.operation.bind())
    data: object = answer.data
    if not isinstance(data, list):
        raise UnexpectedAnswerError("the model list has no data")
    models = []
    for entry in data:
        model_id: object = entry.id
        if not isinstance(model_id, str):
            raise UnexpectedAnswerError(f"a listed model has no id: {_shorten(model_id)}")
        models.append(
            AvailableModel(
                id=model_id,
                owned_by=_optional_str(entry.owned_by),
                created=_optional_int(entry.created),
                model=CHAT_MODELS.get(model_id),
            )
        )
    return models


def _count_request(
    text: str | Sequence[str] | Sequence[Mapping[str, Any]], model: str | ChatModel
) -> TokenCountRequest:
    chat_model = get_chat_model(model)
    prompt: str | list[str]
    if isinstance(text, str):
        prompt = text
    elif isinstance(text, Sequence) and not isinstance(text, Mapping):
        # Messages count by their contents (as a list, which the route accepts); the chat template is not counted.
        prompt = [item if isinstance(item, str) else _messages([item])[0]["content"] for item in text]
    else:
        raise TypeError(f"count_tokens takes a text, texts or messages, not {type(text).__name__}")
    return TokenCountRequest(model=chat_model.id, prompt=prompt)


def _count_flow(body: TokenCountRequest) -> Flow[TokenCount]:
    # A token count spends nothing and changes nothing: safe to resend.
    answer = yield from call(count_tokens_op.operation.bind(body=body))
    length: object = answer.length
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise UnexpectedAnswerError(f"the token count's length is {_shorten(length)}, not a count")
    encoded: object = answer.encoded
    if isinstance(encoded, Unset):
        return TokenCount(length=length)
    if not isinstance(encoded, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in encoded):
        raise UnexpectedAnswerError("the token count's tokens are not a list of token ids")
    return TokenCount(length=length, tokens=tuple(encoded))


# --- streams --------------------------------------------------------------------------------------------------


class _ChatAssembler:
    """Turns the events of a streamed chat answer into pieces; pure, shared by both stream classes."""

    def __init__(
        self, model: str, *, max_line: int = c.DEFAULT_SSE_MAX_LINE, max_event: int = c.DEFAULT_SSE_MAX_EVENT
    ) -> None:
        self.model = model
        self.decoder = SSEDecoder(max_line=max_line, max_event=max_event)
        self.parts: list[str] = []
        self.pieces = 0
        self.events = 0
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.role = "assistant"
        self.done = False

    def feed(self, chunk: bytes) -> Iterator[ChatPiece]:
        """The pieces of the events completed by `chunk`, each decoded only when asked for; events after `[DONE]`
        are ignored.

        A read often holds many events (a fast server, a slow reader): the decoder is fed up to the end of one
        event at a time, so that the first piece is not held up by decoding the rest of the read.
        """
        decoder = self.decoder
        separator = b"\r\n\r\n" if b"\r" in chunk else b"\n\n"
        start = 0
        while start < len(chunk):
            end = chunk.find(separator, start)
            stop = len(chunk) if end < 0 else end + len(separator)
            for event in decoder.feed(chunk[start:stop] if start or stop < len(chunk) else chunk):
                if self.done:
                    return
                piece = self._piece(event)
                if piece is not None:
                    yield piece
            start = stop

    def end(self) -> None:
        """The stream's body ended: it must have ended with `[DONE]`."""
        self.decoder.close()
        if not self.done:
            what = "before data: [DONE]" if self.events else "without a single event (not an event stream?)"
            raise StreamError(f"the chat stream ended {what}")

    def _piece(self, event: ServerSentEvent) -> ChatPiece | None:
        self.events += 1
        data = event.data
        if data == _DONE or data.strip() == _DONE:
            self.done = True
            return None
        value: Any
        try:
            value = loads_answer(data, "the stream event")
        except FormatError as exc:
            if event.event == "error":
                raise StreamError(f"the server ended the stream with an error: {_shorten(data)}") from exc
            raise StreamError(f"malformed chat stream event: {exc}") from exc
        if event.event == "error" or (isinstance(value, dict) and "error" in value and "choices" not in value):
            error = value.get("error") if isinstance(value, dict) else value
            if isinstance(error, dict):
                error = error.get("message", error)
            raise StreamError(f"the server ended the stream with an error: {_shorten(error)}")
        if not isinstance(value, dict):
            raise StreamError(f"malformed chat stream event: {_shorten(data)}")
        try:
            chunk = ChatCompletionChunk.from_dict(value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StreamError(f"malformed chat stream event ({type(exc).__name__}): {_shorten(data)}") from exc
        usage = _usage(chunk.usage)
        if usage is not None:
            self.usage = usage
        choices: object = chunk.choices
        if not isinstance(choices, list):
            raise StreamError(f"malformed chat stream event: {_shorten(data)}")
        # The first choice only (`n` > 1 interleaves the others); a chunk without one (usage only) adds nothing.
        choice = next((ch for ch in choices if isinstance(ch.index, Unset) or ch.index == 0), None)
        if choice is None:
            return None
        delta = choice.delta
        content: object = delta.content
        if content is None or isinstance(content, Unset):
            content = ""
        elif not isinstance(content, str):
            raise StreamError(f"malformed chat stream event: content {_shorten(content)}")
        role: object = delta.role
        if isinstance(role, str) and role:
            self.role = role
        finish_reason = _optional_str(choice.finish_reason)
        if finish_reason is not None:
            self.finish_reason = finish_reason
        if content:
            self.parts.append(content)
        piece = ChatPiece(text=content, index=self.pieces, finish_reason=finish_reason, raw=chunk)
        self.pieces += 1
        return piece

    def result(self) -> ChatResult:
        return ChatResult(
            text="".join(self.parts),
            finish_reason=self.finish_reason,
            usage=self.usage,
            model=self.model,
            role=self.role,
        )


def _stream_call(body: ChatCompletionRequest) -> Call:
    bound = create_chat_completion.operation.bind(body=body)
    return Call(bound.operation, bound.kwargs, kind=Kind.GENERATION)


def _assembler(engine: SyncEngine | AsyncEngine, body: ChatCompletionRequest) -> _ChatAssembler:
    options = engine.options
    return _ChatAssembler(body.model, max_line=options.sse_max_line, max_event=options.sse_max_event)


class ChatStream:
    """The pieces of a streamed chat answer, as they arrive; iterate it, ideally inside `with`.

    The request is sent on the first iteration. `result` (and `text`) hold the answer so far; complete once the
    iteration ended.

    Raises (while iterating):
        StreamError: the stream ended (or was cut) before `data: [DONE]`, sent an error, or an event that is not a
            chat chunk.
        APIStatusError: the server refused the request (400 for an unknown model or bad settings, 402, ...).
        APIConnectionError: no connection.
    """

    def __init__(self, engine: SyncEngine, body: ChatCompletionRequest, request: PerCall | None = None) -> None:
        self._engine = engine
        self._request = request
        self._call = _stream_call(body)
        self._assembler = _assembler(engine, body)
        self._response: httpx.Response | None = None
        self._iterator: Iterator[ChatPiece] | None = None

    @property
    def result(self) -> ChatResult:
        """The answer so far (whole once the stream ended)."""
        return self._assembler.result()

    @property
    def text(self) -> str:
        """The text so far."""
        return "".join(self._assembler.parts)

    def __iter__(self) -> Iterator[ChatPiece]:
        return self

    def __next__(self) -> ChatPiece:
        if self._iterator is None:
            self._iterator = self._pieces()
        return next(self._iterator)

    def _pieces(self) -> Iterator[ChatPiece]:
        assembler = self._assembler
        self._response = response = self._engine.open_stream(self._call, self._request)
        try:
            try:
                # Read to the end of the body even after [DONE] (it follows at once), so that the connection goes
                # back to the pool instead of being closed.
                for chunk in response.iter_bytes():
                    yield from assembler.feed(chunk)
            except httpx.TransportError as exc:
                raise stream_error(exc) from exc
            assembler.end()
        finally:
            response.close()

    def close(self) -> None:
        """Stops reading and closes the connection."""
        if self._iterator is not None:
            self._iterator.close()  # type: ignore[attr-defined]
        elif self._response is not None:
            self._response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncChatStream:
    """The asynchronous twin of `ChatStream`: `async for piece in stream`, ideally inside `async with`."""

    def __init__(self, engine: AsyncEngine, body: ChatCompletionRequest, request: PerCall | None = None) -> None:
        self._engine = engine
        self._request = request
        self._call = _stream_call(body)
        self._assembler = _assembler(engine, body)
        self._iterator: AsyncIterator[ChatPiece] | None = None

    @property
    def result(self) -> ChatResult:
        """The answer so far (whole once the stream ended)."""
        return self._assembler.result()

    @property
    def text(self) -> str:
        """The text so far."""
        return "".join(self._assembler.parts)

    def __aiter__(self) -> AsyncIterator[ChatPiece]:
        return self

    async def __anext__(self) -> ChatPiece:
        if self._iterator is None:
            self._iterator = self._pieces()
        return await anext(self._iterator)

    async def _pieces(self) -> AsyncIterator[ChatPiece]:
        assembler = self._assembler
        engine = self._engine
        response = await engine.open_stream(self._call, self._request)
        try:
            try:
                async for chunk in response.aiter_bytes():
                    for piece in assembler.feed(chunk):
                        yield piece
            except engine.transport_errors as exc:
                raise stream_error(exc) from exc
            assembler.end()
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Stops reading and closes the connection."""
        if self._iterator is not None:
            await self._iterator.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


# --- the methods ----------------------------------------------------------------------------------------------


class Chat(Resource):
    """The OpenAI-compatible API's methods of `nai.text` (mixed into `Text`)."""

    __slots__ = ()

    def chat(
        self,
        messages: Messages,
        model: str | ChatModel,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **settings: Unpack[ChatCallArgs],
    ) -> ChatResult:
        """Answers a conversation (`POST /oa/v1/chat/completions` on the text host).

        Example:
            >>> answer = nai.text.chat("Name three rivers.", model="glm-4-6", max_tokens=100)  # doctest: +SKIP
            >>> answer.text, answer.finish_reason, answer.usage  # doctest: +SKIP

        Args:
            messages: a text (one user message), or the conversation: `{"role": "system" | "user" | "assistant",
                "content": "..."}` mappings, oldest first (`result.message` appends an answer).
            model: a model of the OpenAI-compatible API: an id, name or alias (`"glm-4-6"`, `"glm"`, `"xialong"`)
                or a `ChatModel`.
            extra_body: fields to send that the spec does not list (NovelAI's own samplers), sent as they are.
            **settings: `max_tokens`, `temperature`, `top_p`, `top_k`, `min_p`, `stop`, ... as the spec names them
                (`nai_client.typed_dicts.ChatSettingsDict`: mypy checks them). An unknown name is an
                `UnknownSettingError`, raised before anything is sent. The per-call options `timeout`,
                `extra_headers` and `extra_query` (`nai_sdk.RequestOptions`) are taken here too.

        Returns:
            The answer's text, message, finish reason and usage, and the whole answer (`raw`).

        Raises:
            UnknownModelError: not a model of this API (the message lists the ids and aliases).
            APIStatusError: refused (400 for invalid settings, 402 without a subscription, ...).
            UnexpectedAnswerError: an answer without choices or text.
            APIConnectionError: no answer. A generation is retried only if it provably never reached the server.
        """
        values, request = split_request(settings)
        return self._engine.run(_chat_flow(chat_request(messages, model, values, extra_body)), request)

    def chat_stream(
        self,
        messages: Messages,
        model: str | ChatModel,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **settings: Unpack[ChatCallArgs],
    ) -> ChatStream:
        """Answers like `chat`, yielding pieces as the server sends them.

        Example:
            >>> with nai.text.chat_stream("Tell me a story.", model="glm-4-6") as stream:  # doctest: +SKIP
            ...     for piece in stream:
            ...         print(piece.text, end="", flush=True)

        Returns:
            A `ChatStream` (the request is sent when iteration starts; the arguments are checked now).
        """
        values, request = split_request(settings)
        return ChatStream(self._engine, chat_request(messages, model, values, extra_body, stream=True), request)

    def complete(
        self,
        prompt: str,
        model: str | ChatModel,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **settings: Unpack[CompletionCallArgs],
    ) -> CompletionResult:
        """Continues a text (`POST /oa/v1/completions`): the prompt is sent as it is, with no chat template.

        Args:
            prompt: the text to continue.
            model: a model of the OpenAI-compatible API (see `chat`).
            extra_body: fields to send that the spec does not list.
            **settings: as for `chat` (`nai_client.typed_dicts.CompletionSettingsDict`).

        Returns:
            The generated text, finish reason and usage.
        """
        values, request = split_request(settings)
        return self._engine.run(_completion_flow(completion_request(prompt, model, values, extra_body)), request)

    def models(self, **request: Unpack[RequestOptions]) -> list[AvailableModel]:
        """The models of the OpenAI-compatible API that the account can use (`GET /oa/v1/models`)."""
        return self._engine.run(_models_flow(), per_call(request))

    def count_tokens(
        self,
        text: str | Sequence[str] | Sequence[ChatMessageDict | Mapping[str, Any]],
        model: str | ChatModel,
        **request: Unpack[RequestOptions],
    ) -> TokenCount:
        """Counts tokens as the model's tokenizer does, on the server (`POST /oa/v1/internal/token-count`).

        Args:
            text: a text, several texts, or messages (their contents are counted; the chat template's role tags
                are not, so a chat's prompt spends a few tokens more).
            model: a model of the OpenAI-compatible API.

        Returns:
            The count, and the token ids when the server sends them.
        """
        return self._engine.run(_count_flow(_count_request(text, model)), per_call(request))


class AsyncChat(AsyncResource):
    """The OpenAI-compatible API's methods of `nai.text` for `AsyncNovelAI` (mixed into `AsyncText`); see `Chat`."""

    __slots__ = ()

    async def chat(
        self,
        messages: Messages,
        model: str | ChatModel,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **settings: Unpack[ChatCallArgs],
    ) -> ChatResult:
        """Answers a conversation (see `Chat.chat`)."""
        values, request = split_request(settings)
        return await self._engine.run(_chat_flow(chat_request(messages, model, values, extra_body)), request)

    def chat_stream(
        self,
        messages: Messages,
        model: str | ChatModel,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **settings: Unpack[ChatCallArgs],
    ) -> AsyncChatStream:
        """Answers, yielding pieces as they arrive (see `Chat.chat_stream`); use `async for`."""
        values, request = split_request(settings)
        return AsyncChatStream(self._engine, chat_request(messages, model, values, extra_body, stream=True), request)

    async def complete(
        self,
        prompt: str,
        model: str | ChatModel,
        *,
        extra_body: Mapping[str, Any] | None = None,
        **settings: Unpack[CompletionCallArgs],
    ) -> CompletionResult:
        """Continues a text (see `Chat.complete`)."""
        values, request = split_request(settings)
        return await self._engine.run(_completion_flow(completion_request(prompt, model, values, extra_body)), request)

    async def models(self, **request: Unpack[RequestOptions]) -> list[AvailableModel]:
        """The models the account can use (see `Chat.models`)."""
        return await self._engine.run(_models_flow(), per_call(request))

    async def count_tokens(
        self,
        text: str | Sequence[str] | Sequence[ChatMessageDict | Mapping[str, Any]],
        model: str | ChatModel,
        **request: Unpack[RequestOptions],
    ) -> TokenCount:
        """Counts tokens on the server (see `Chat.count_tokens`)."""
        return await self._engine.run(_count_flow(_count_request(text, model)), per_call(request))

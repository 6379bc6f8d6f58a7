"""Text generation: `nai.text.generate(...)` and `nai.text.stream(...)`; the OpenAI-compatible API's `chat`,
`chat_stream`, `complete`, `models` and `count_tokens` come from `nai_sdk.resources.chat`.

Requests are assembled by `nai_sdk.presets.build_request` (preset, global settings, ban lists, bias groups,
truncation to the context) and sent to the model's host (`model.host`: Kayra and Erato to the text host). Tokens
come back in the base64 format of `nai_sdk.tokenizers` and are decoded with the model's tokenizer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, Unpack

import attrs
import httpx
from nai_client.api.ai import generate, generate_stream
from nai_client.models import AiGenerateParameters, AiGenerateRequest, AiGenerateStreamableResponse
from nai_client.typed_dicts import GenerationSettingsDict
from nai_client.types import Unset

from nai_sdk import _constants as c
from nai_sdk._http import stream_error
from nai_sdk._json import loads_answer
from nai_sdk._request import PerCall, RequestOptions, split_request
from nai_sdk._sse import ServerSentEvent, SSEDecoder
from nai_sdk.errors import APIError, FormatError, StreamError, TokenEncodingError
from nai_sdk.resources._base import Call, Flow, Kind, call
from nai_sdk.resources.chat import AsyncChat, Chat
from nai_sdk.tokenizers._b64 import b64_to_tokens

if TYPE_CHECKING:
    from nai_sdk._session import AsyncEngine, SyncEngine
    from nai_sdk.content import StoryContent, StoryFile, UserObject
    from nai_sdk.context import Context
    from nai_sdk.models import TextModel
    from nai_sdk.presets import BanList, BiasGroup, GenerationRequest, GlobalSettings, Preset
    from nai_sdk.resources.storage import Story

__all__ = [
    "AsyncText",
    "AsyncTextStream",
    "GenerationCallArgs",
    "GenerationResult",
    "StreamPiece",
    "Text",
    "TextStream",
]


class GenerationCallArgs(GenerationSettingsDict, RequestOptions, total=False):
    """The keyword arguments of `generate`, `stream` and `continue_story`: the generation parameters (named as in
    the spec) and the per-call options (`nai_sdk.RequestOptions`)."""


@attrs.frozen
class GenerationResult:
    """A finished generation.

    Attributes:
        text: the generated text (the prompt is not repeated), decoded from `tokens` when first read.
        tokens: the generated token ids.
        logprobs: the server's log-probabilities per token when asked for (`num_logprobs=`), else None.
        model: the model id.
        input_tokens: the prompt tokens that were sent (after truncation).
    """

    tokens: tuple[int, ...]
    logprobs: list[Any] | None
    model: str
    input_tokens: tuple[int, ...] = ()
    # Decoding costs more than the rest of handling an answer; a caller that only wants tokens never pays it.
    _text: str | None = attrs.field(default=None, alias="text", eq=False, repr=False)

    @property
    def text(self) -> str:
        """The generated text."""
        if self._text is None:
            from nai_sdk.models import get_model

            object.__setattr__(self, "_text", _decode(get_model(self.model), self.tokens))
        assert self._text is not None
        return self._text

    def __repr__(self) -> str:
        return (
            f"GenerationResult(text={self.text!r}, tokens={self.tokens!r}, logprobs={self.logprobs!r}, "
            f"model={self.model!r}, input_tokens={self.input_tokens!r})"
        )


@attrs.frozen
class StreamPiece:
    """One streamed event.

    Attributes:
        text: the text this piece adds. Text is held back while its last token ends inside a multi-byte character,
            so pieces always join into valid text (a piece may therefore be empty).
        tokens: the token ids of this event.
        index: the event's position (`ptr`).
        final: this is the last piece.
        logprobs: the server's log-probabilities for this event, if asked for.
    """

    text: str
    tokens: tuple[int, ...]
    index: int
    final: bool
    logprobs: Any = None


def _request(
    prompt: str | Sequence[int],
    model: str | TextModel,
    preset: Preset | str | None,
    global_settings: GlobalSettings | Mapping[str, Any] | None,
    ban_lists: BanList | Iterable[BanList],
    bias_groups: BiasGroup | Iterable[BiasGroup],
    stop_sequences: Iterable[str | Sequence[int]] | None,
    prefix: str | None,
    max_context: int | str | None,
    parameters: Mapping[str, Any],
) -> GenerationRequest:
    from nai_sdk.presets import build_request

    return build_request(
        prompt,
        model,
        preset,
        global_settings=global_settings,
        ban_lists=ban_lists,
        bias_groups=bias_groups,
        stop_sequences=stop_sequences,
        prefix=prefix,
        max_context=max_context,
        **parameters,
    )


def _decode(model: TextModel, tokens: Sequence[int]) -> str:
    from nai_sdk.tokenizers import get_tokenizer

    return get_tokenizer(model.id).decode(list(tokens))


def _body(request: GenerationRequest) -> AiGenerateRequest:
    """The generated model of a request's body (`build_request` assembled it as the JSON the spec describes)."""
    return AiGenerateRequest(
        input_=request["input"],
        model=request["model"],
        parameters=AiGenerateParameters.from_dict(request["parameters"]),
    )


def _generate_flow(request: GenerationRequest) -> Flow[GenerationResult]:
    # The text host answers 200 and the API host 201: the spec declares both (spec/overlays/10-defects.yaml).
    answer = yield from call(
        generate.operation.bind(body=_body(request)), host=request.model.host, kind=Kind.GENERATION
    )
    output: object = answer.output
    if not isinstance(output, str):
        error: object = answer.error
        raise APIError(f"the generation failed: {error}" if isinstance(error, str) else "the answer has no output")
    tokens = tuple(b64_to_tokens(output, request.model))
    logprobs = None if isinstance(answer.logprobs, Unset) else answer.logprobs
    return GenerationResult(
        tokens=tokens,
        logprobs=logprobs if isinstance(logprobs, list) else None,
        model=request.model.id,
        input_tokens=tuple(request.input_tokens),
    )


#: The most characters of a server's error text quoted in a StreamError (an event may hold megabytes).
_QUOTED = 200


def _shorten(value: object) -> str:
    """`value` as text for a message, cut to `_QUOTED` characters."""
    try:
        text = str(value)
    except RecursionError:
        # A parsed error value nested deeper than the stack left here can show.
        text = f"<{type(value).__name__} nested too deeply to show>"
    return text if len(text) <= _QUOTED else f"{text[:_QUOTED]}... ({len(text):,} characters)"


def _assembler(engine: SyncEngine | AsyncEngine, request: GenerationRequest) -> _Assembler:
    """The assembler of a stream run by `engine`, with the event-stream limits of its client's options."""
    options = engine.options
    return _Assembler(request, max_line=options.sse_max_line, max_event=options.sse_max_event)


def _stream_call(request: GenerationRequest) -> Call:
    bound = generate_stream.operation.bind(body=_body(request))
    return Call(bound.operation, bound.kwargs, host=request.model.host, kind=Kind.GENERATION)


class _Assembler:
    """Turns the events of `/ai/generate-stream` into pieces; pure, shared by both stream classes."""

    def __init__(
        self,
        request: GenerationRequest,
        *,
        max_line: int = c.DEFAULT_SSE_MAX_LINE,
        max_event: int = c.DEFAULT_SSE_MAX_EVENT,
    ) -> None:
        self.request = request
        self.decoder = SSEDecoder(max_line=max_line, max_event=max_event)
        self.tokens: list[int] = []
        self.logprobs: list[Any] = []
        # Incremental decoding: the text of tokens[read:] is new, judged against that of tokens[prefix:read] so
        # that a tokenizer's context (a leading space, a multi-byte character split across tokens) is respected;
        # each event decodes a few tokens, not the whole generation again.
        self.prefix = 0
        self.read = 0
        self.finished = False
        # Resolved on the first event (not per event: each lookup costs as much as decoding a token).
        self._decode: Callable[[list[int]], str] | None = None

    def feed(self, chunk: bytes) -> Iterator[StreamPiece]:
        """The pieces of the events completed by `chunk`, each decoded only when asked for (the first piece of a
        chunk holding many events is not held up by the others). Events after the final one are ignored."""
        for event in self.decoder.feed(chunk):
            if self.finished:
                return
            yield self._piece(event)

    def end(self) -> None:
        self.decoder.close()
        if not self.finished:
            raise StreamError("the stream ended before its final event")

    def _piece(self, event: ServerSentEvent) -> StreamPiece:
        data: Any
        try:
            data = loads_answer(event.data, "the stream event")
        except FormatError:
            # Not JSON, NaN, or nested too deeply: malformed, or the text of an error event.
            data = None
        if event.event == "error" or (isinstance(data, dict) and "error" in data and "token" not in data):
            message = data.get("error") or data.get("message") if isinstance(data, dict) else event.data
            raise StreamError(f"the server ended the stream with an error: {_shorten(message)}")
        if not isinstance(data, dict):
            raise StreamError(f"malformed stream event {_shorten(event.event)!r}")
        # The generated model reads the event's fields (a renamed field in the spec fails type checking here);
        # their values are checked below, as the server's word is not trusted.
        parsed = AiGenerateStreamableResponse.from_dict(data)
        token: object = parsed.token
        if not isinstance(token, str):
            raise StreamError(f"malformed stream event {_shorten(event.event)!r}")
        try:
            tokens = b64_to_tokens(token, self.request.model.token_width)
        except TokenEncodingError as exc:
            raise StreamError(f"malformed stream event {_shorten(event.event)!r}: {exc}") from exc
        self.tokens.extend(tokens)
        final = parsed.final is True
        logprobs = None if isinstance(parsed.logprobs, Unset) else parsed.logprobs
        if logprobs is not None:
            self.logprobs.append(logprobs)
        piece = self._new_text(final)
        self.finished = final
        ptr: object = parsed.ptr
        return StreamPiece(
            text=piece,
            tokens=tuple(tokens),
            index=int(ptr) if isinstance(ptr, int | float) else len(self.tokens) - 1,
            final=final,
            logprobs=logprobs,
        )

    def _new_text(self, final: bool) -> str:
        """The text the tokens received since the last emitted text add, or "" while a character is incomplete."""
        decode = self._decode
        if decode is None:
            from nai_sdk.tokenizers import get_tokenizer

            decode = self._decode = get_tokenizer(self.request.model.id).decode
        tokens = self.tokens
        before = decode(tokens[self.prefix : self.read]) if self.read > self.prefix else ""
        after = decode(tokens[self.prefix :])
        # A token that ends inside a multi-byte character decodes to U+FFFD until the next one completes it.
        if not final and (len(after) <= len(before) or after.endswith("\ufffd")):
            return ""
        self.prefix, self.read = self.read, len(tokens)
        return after[len(before) :]

    def result(self) -> GenerationResult:
        return GenerationResult(
            tokens=tuple(self.tokens),
            logprobs=self.logprobs or None,
            model=self.request.model.id,
            input_tokens=tuple(self.request.input_tokens),
        )


class TextStream:
    """The pieces of a streamed generation, as they arrive; iterate it, ideally inside `with`.

    The request is sent on the first iteration. `result` holds the whole generation once the final piece came.

    Raises (while iterating):
        StreamError: an `error` event, or the stream ended (or was cut) before its final event.
        APIStatusError: the server refused the request.
        APIConnectionError: no connection.
    """

    def __init__(self, engine: Any, request: GenerationRequest, options: PerCall | None = None) -> None:
        self._engine = engine
        self._options = options
        self._assembler = _assembler(engine, request)
        self._response: httpx.Response | None = None
        self._iterator: Iterator[StreamPiece] | None = None

    @property
    def result(self) -> GenerationResult:
        """The whole generation so far (complete once the final piece was read)."""
        return self._assembler.result()

    def __iter__(self) -> Iterator[StreamPiece]:
        return self

    def __next__(self) -> StreamPiece:
        if self._iterator is None:
            self._iterator = self._pieces()
        return next(self._iterator)

    def _pieces(self) -> Iterator[StreamPiece]:
        assembler = self._assembler
        self._response = response = self._engine.open_stream(_stream_call(assembler.request), self._options)
        try:
            try:
                # Read to the end of the body even after the final event (it follows at once), so that the
                # connection goes back to the pool instead of being closed.
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


class AsyncTextStream:
    """The asynchronous twin of `TextStream`: `async for piece in stream`, ideally inside `async with`."""

    def __init__(self, engine: Any, request: GenerationRequest, options: PerCall | None = None) -> None:
        self._engine = engine
        self._options = options
        self._assembler = _assembler(engine, request)
        self._iterator: AsyncIterator[StreamPiece] | None = None

    @property
    def result(self) -> GenerationResult:
        """The whole generation so far (complete once the final piece was read)."""
        return self._assembler.result()

    def __aiter__(self) -> AsyncIterator[StreamPiece]:
        return self

    async def __anext__(self) -> StreamPiece:
        if self._iterator is None:
            self._iterator = self._pieces()
        return await anext(self._iterator)

    async def _pieces(self) -> AsyncIterator[StreamPiece]:
        assembler = self._assembler
        engine = self._engine
        response = await engine.open_stream(_stream_call(assembler.request), self._options)
        try:
            try:
                # Read to the end of the body, as `TextStream` does, to keep the connection.
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


class Text(Chat):
    """Text generation (`nai.text`): NovelAI's own models here, the OpenAI-compatible API's from `Chat`."""

    def generate(
        self,
        prompt: str | Sequence[int],
        model: str | TextModel,
        preset: Preset | str | None = None,
        *,
        global_settings: GlobalSettings | Mapping[str, Any] | None = None,
        ban_lists: BanList | Iterable[BanList] = (),
        bias_groups: BiasGroup | Iterable[BiasGroup] = (),
        stop_sequences: Iterable[str | Sequence[int]] | None = (),
        prefix: str | None = None,
        max_context: int | str | None = None,
        **parameters: Unpack[GenerationCallArgs],
    ) -> GenerationResult:
        """Generates a continuation of `prompt`.

        Args:
            prompt: the text, or its token ids.
            model: the model (id, name or alias: `"kayra"`, `"erato"`, or a `TextModel`).
            preset: a `Preset`, an official preset name, or None for the model's default preset.
            global_settings: see `nai_sdk.presets.build_request`, as are the other settings.
            ban_lists: banned sequences.
            bias_groups: biased sequences.
            stop_sequences: sequences that end the generation.
            prefix: the AI module.
            max_context: the most prompt tokens to send, or a tier name.
            **parameters: request parameters that override the preset (`max_length=80`, `num_logprobs=5`), named
                as in the spec (`nai_client.typed_dicts.GenerationSettingsDict`: mypy checks them). An unknown name
                is an `UnknownSettingError`, raised before anything is sent.

        Returns:
            The text, tokens and log-probabilities.

        Raises:
            APIStatusError: refused (402 without a subscription, 400 for invalid parameters, ...).
            APIConnectionError: no answer. A generation is retried only if it provably never reached the server.
        """
        settings, options = split_request(parameters)
        request = _request(
            prompt,
            model,
            preset,
            global_settings,
            ban_lists,
            bias_groups,
            stop_sequences,
            prefix,
            max_context,
            settings,
        )
        return self._engine.run(_generate_flow(request), options)

    def stream(
        self,
        prompt: str | Sequence[int],
        model: str | TextModel,
        preset: Preset | str | None = None,
        *,
        global_settings: GlobalSettings | Mapping[str, Any] | None = None,
        ban_lists: BanList | Iterable[BanList] = (),
        bias_groups: BiasGroup | Iterable[BiasGroup] = (),
        stop_sequences: Iterable[str | Sequence[int]] | None = (),
        prefix: str | None = None,
        max_context: int | str | None = None,
        **parameters: Unpack[GenerationCallArgs],
    ) -> TextStream:
        """Generates like `generate`, yielding pieces as the server sends them.

        Example:
            >>> with nai.text.stream("The night was", "erato") as stream:  # doctest: +SKIP
            ...     for piece in stream:
            ...         print(piece.text, end="", flush=True)

        Returns:
            A `TextStream` (the request is sent when iteration starts).
        """
        settings, options = split_request(parameters)
        request = _request(
            prompt,
            model,
            preset,
            global_settings,
            ban_lists,
            bias_groups,
            stop_sequences,
            prefix,
            max_context,
            settings,
        )
        return TextStream(self._engine, request, options)

    def continue_story(
        self,
        story: Story | UserObject | StoryFile | StoryContent | Mapping[str, Any],
        model: str | TextModel | None = None,
        *,
        context: Context | None = None,
        max_tokens: int | None = None,
        step: int | None = None,
        text: str | None = None,
        **parameters: Unpack[GenerationCallArgs],
    ) -> GenerationResult:
        """Generates the continuation of a story, as the web client does: its context built from the story's
        memory, author's note, lorebook and ephemeral entries (`nai_sdk.context.build`), sent with the story's own
        settings, module, phrase bias, bans and stop sequences (`nai_sdk.context.story_request`).

        Example:
            >>> built = context.build(story, max_tokens=4000)  # doctest: +SKIP
            >>> [entry.label for entry in built.included]  # doctest: +SKIP
            >>> nai.text.continue_story(story, context=built).text  # doctest: +SKIP

        Args:
            story: the story, its content object, a `.story` file read, or the content's view or dict.
            model: the model (by default the story's `settings.model`).
            context: a context built before (to look at its report first); by default one is built.
            max_tokens: the prompt's budget (see `nai_sdk.context.build`).
            step: the story step for ephemeral entries.
            text: the story text to use instead of its own (say, with the user's next input appended).
            **parameters: request parameters that override the story's settings (`max_length=80`).

        Returns:
            The generation (the story is not changed: append `result.text` yourself).

        Raises:
            ConfigurationError, StoryFileError, PresetError: see `nai_sdk.context.story_request`.
            APIStatusError, APIConnectionError: as `generate`.
        """
        from nai_sdk.context import story_request

        settings, options = split_request(parameters)
        request = story_request(story, model, context=context, max_tokens=max_tokens, step=step, text=text, **settings)
        return self._engine.run(_generate_flow(request), options)


class AsyncText(AsyncChat):
    """Text generation (`nai.text` of `AsyncNovelAI`); see `Text`."""

    async def generate(
        self,
        prompt: str | Sequence[int],
        model: str | TextModel,
        preset: Preset | str | None = None,
        *,
        global_settings: GlobalSettings | Mapping[str, Any] | None = None,
        ban_lists: BanList | Iterable[BanList] = (),
        bias_groups: BiasGroup | Iterable[BiasGroup] = (),
        stop_sequences: Iterable[str | Sequence[int]] | None = (),
        prefix: str | None = None,
        max_context: int | str | None = None,
        **parameters: Unpack[GenerationCallArgs],
    ) -> GenerationResult:
        """Generates a continuation of `prompt` (see `Text.generate`)."""
        settings, options = split_request(parameters)
        request = _request(
            prompt,
            model,
            preset,
            global_settings,
            ban_lists,
            bias_groups,
            stop_sequences,
            prefix,
            max_context,
            settings,
        )
        return await self._engine.run(_generate_flow(request), options)

    def stream(
        self,
        prompt: str | Sequence[int],
        model: str | TextModel,
        preset: Preset | str | None = None,
        *,
        global_settings: GlobalSettings | Mapping[str, Any] | None = None,
        ban_lists: BanList | Iterable[BanList] = (),
        bias_groups: BiasGroup | Iterable[BiasGroup] = (),
        stop_sequences: Iterable[str | Sequence[int]] | None = (),
        prefix: str | None = None,
        max_context: int | str | None = None,
        **parameters: Unpack[GenerationCallArgs],
    ) -> AsyncTextStream:
        """Generates, yielding pieces as they arrive (see `Text.stream`); use `async for`."""
        settings, options = split_request(parameters)
        request = _request(
            prompt,
            model,
            preset,
            global_settings,
            ban_lists,
            bias_groups,
            stop_sequences,
            prefix,
            max_context,
            settings,
        )
        return AsyncTextStream(self._engine, request, options)

    async def continue_story(
        self,
        story: Story | UserObject | StoryFile | StoryContent | Mapping[str, Any],
        model: str | TextModel | None = None,
        *,
        context: Context | None = None,
        max_tokens: int | None = None,
        step: int | None = None,
        text: str | None = None,
        **parameters: Unpack[GenerationCallArgs],
    ) -> GenerationResult:
        """Generates the continuation of a story with its own context and settings (see `Text.continue_story`)."""
        from nai_sdk.context import story_request

        settings, options = split_request(parameters)
        request = story_request(story, model, context=context, max_tokens=max_tokens, step=step, text=text, **settings)
        return await self._engine.run(_generate_flow(request), options)

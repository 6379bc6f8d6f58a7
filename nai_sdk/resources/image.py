"""Images (`nai.image`): generation (V3 to V5, whole or streamed), director tools, vibe encoding, upscaling,
annotation, tag suggestions, and what each costs in Anlas."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TypeAlias, Unpack, overload

import httpx
import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information
from nai_client.api.ai import annotate_image, generate_image, suggest_tags, upscale_image
from nai_client.api.image import augment_image, encode_vibe, generate_image_stream
from nai_client.api.subscription import get_subscription
from nai_client.models import (
    AiAnnotateImageRequest,
    AiAnnotateImageRequestParameters,
    AiGenerateImageRequest,
    AiRequestImageGenerationTag,
    AiUpscaleImageRequest,
    AiUpscaleImageRequestScale,
    AugmentImageRequest,
    EncodeVibeRequest,
)

from nai_sdk._http import stream_error
from nai_sdk._image_io import ImageInput, as_png, image_size
from nai_sdk._request import PerCall, RequestOptions, per_call, split_request
from nai_sdk.errors import AnlasLimitError, ImageParamsError, StreamError
from nai_sdk.images import (
    DirectorTool,
    Emotion,
    Image,
    ImageParams,
    ImagePreview,
    ImageResult,
    V45Params,
    Vibe,
    VibeFile,
    _vibe_key,
    anlas_cost,
    director_cost,
    images_from_zip,
)
from nai_sdk.resources._base import AsyncResource, Call, Flow, Kind, Resource, call, call_content

if TYPE_CHECKING:
    from nai_sdk._session import AsyncEngine, SyncEngine

__all__ = ["AsyncImageStream", "AsyncImages", "ImageStream", "Images", "TagSuggestion"]

TagSuggestion: TypeAlias = AiRequestImageGenerationTag
"""A tag NovelAI suggests for a prompt: the generated `AiRequestImageGenerationTag`, under the SDK's name.

Its fields: `tag`; `count`, how many images of the training set carry it; `confidence`, how well it matches, 0..1.
"""

#: The tools that take no options.
_PLAIN_TOOLS: Final = frozenset(
    {
        DirectorTool.BG_REMOVAL,
        DirectorTool.LINEART,
        DirectorTool.SKETCH,
        DirectorTool.DECLUTTER,
        DirectorTool.DECLUTTER_KEEP_BUBBLES,
    }
)
PlainTool: TypeAlias = Literal["bg-removal", "lineart", "sketch", "declutter", "declutter-keep-bubbles"]
# Encodings kept per client: each cost Anlas, and a bot sends the same few references again and again.
_VIBE_CACHE_SIZE: Final = 256
# The stream's frames: a 32-bit big-endian length, then a msgpack map (novelai-python 0.9.0
# `GenerateImageInfer._iter_msgpack_frames`). A preview is a small picture: anything this large is not a frame.
_MAX_FRAME: Final = 64 * 1024 * 1024


def _tier_flow() -> Flow[tuple[int, bool]]:
    answer = yield from call(get_subscription.operation.bind())
    return int(answer.tier), bool(answer.active)


def _check_cost(params: ImageParams, model: str | None, max_anlas: int) -> Flow[int]:
    tier, active = yield from _tier_flow()
    price = anlas_cost(params, tier=tier, model=model, active=active)
    if price > max_anlas:
        raise AnlasLimitError(
            f"this request would cost {price} Anlas, more than max_anlas={max_anlas}; nothing was sent",
            price,
            max_anlas,
        )
    return price


def _generate_flow(prompt: str, params: ImageParams, model: str | None, max_anlas: int | None) -> Flow[ImageResult]:
    body = params.request(prompt, model)
    if max_anlas is not None:
        yield from _check_cost(params, model, max_anlas)
    data = yield from call_content(generate_image.operation.bind(body=body), kind=Kind.GENERATION)
    seed = body.parameters.additional_properties.get("seed")
    return ImageResult(images=images_from_zip(data), seed=seed)


def _cost_flow(params: ImageParams, model: str | None, tier: str | int | None) -> Flow[int]:
    if tier is None:
        found, active = yield from _tier_flow()
        return anlas_cost(params, tier=found, model=model, active=active)
    return anlas_cost(params, tier=tier, model=model)


def _upscale_flow(image: bytes, width: int, height: int, scale: AiUpscaleImageRequestScale) -> Flow[Image]:
    body = AiUpscaleImageRequest(image=base64.b64encode(image).decode("ascii"), width=width, height=height, scale=scale)
    data = yield from call_content(upscale_image.operation.bind(body=body), kind=Kind.GENERATION)
    return images_from_zip(data)[0]


def _annotate_flow(image: bytes, model: str, parameters: dict[str, Any]) -> Flow[Image]:
    options = AiAnnotateImageRequestParameters()
    # The spec leaves `parameters` open (annotator specific): every key is one of its additional properties.
    options.additional_properties = {"image": base64.b64encode(image).decode("ascii"), **parameters}
    body = AiAnnotateImageRequest(model=model, parameters=options)
    data = yield from call_content(annotate_image.operation.bind(body=body), kind=Kind.GENERATION)
    return images_from_zip(data)[0]


def _suggest_flow(prompt: str, model: str) -> Flow[list[TagSuggestion]]:
    answer = yield from call(suggest_tags.operation.bind(model=model, prompt=prompt))
    return answer.tags


# --- director tools -----------------------------------------------------------------------------------------------


def director_request(
    tool: DirectorTool | str,
    image: ImageInput,
    *,
    prompt: str | None = None,
    emotion: Emotion | str | None = None,
    defry: int | None = None,
) -> AugmentImageRequest:
    """The body of `POST /ai/augment-image` for a director tool (what `director` sends).

    The body is JSON: `req_type`, the image in base64, its `width` and `height`, and for `colorize` and `emotion`
    a `prompt` (`"<emotion>;;<prompt>"` for emotion) and `defry` 0..5 (novelai-python 0.9.0
    `augment_image/__init__.py`, `AugmentImageInfer`; novelai-api 0.34.1 `DirectorToolsPreset.to_settings`).

    Raises:
        ImageParamsError: an unknown tool, an option the tool does not take, a missing emotion, `defry` out of range.
        ImageFormatError: the image cannot be read.
    """
    try:
        kind = DirectorTool(tool)
    except ValueError:
        names = ", ".join(tool.value for tool in DirectorTool)
        raise ImageParamsError(f"unknown director tool {tool!r}; the tools are {names}") from None
    data = as_png(image)
    width, height = image_size(data)
    body = AugmentImageRequest(
        req_type=str(kind), image=base64.b64encode(data).decode("ascii"), width=width, height=height
    )
    if kind in _PLAIN_TOOLS:
        if prompt is not None or emotion is not None or defry is not None:
            raise ImageParamsError(f"the {kind} tool takes no prompt, emotion or defry")
        return body
    if defry is not None and not 0 <= defry <= 5:
        raise ImageParamsError(f"defry must be within 0..5, got {defry}")
    body.defry = 0 if defry is None else defry
    if kind == DirectorTool.EMOTION:
        if emotion is None:
            raise ImageParamsError("the emotion tool needs an emotion (nai_sdk.images.Emotion)")
        try:
            mood = Emotion(emotion)
        except ValueError:
            raise ImageParamsError(f"unknown emotion {emotion!r}; see nai_sdk.images.Emotion") from None
        body.prompt = f"{mood};;{prompt or ''}"
    else:
        if emotion is not None:
            raise ImageParamsError("only the emotion tool takes an emotion")
        body.prompt = prompt or ""
    return body


def _director_flow(body: AugmentImageRequest, max_anlas: int | None) -> Flow[ImageResult]:
    if max_anlas is not None:
        tier, active = yield from _tier_flow()
        price = director_cost(body.req_type, body.width, body.height, tier=tier, active=active)
        if price > max_anlas:
            raise AnlasLimitError(
                f"this {body.req_type} would cost {price} Anlas, more than max_anlas={max_anlas}; nothing was sent",
                price,
                max_anlas,
            )
    data = yield from call_content(augment_image.operation.bind(body=body), kind=Kind.GENERATION)
    return ImageResult(images=images_from_zip(data))


# --- vibes --------------------------------------------------------------------------------------------------------


class _VibeCache:
    """Encodings already paid for, by (image digest, model key, information extracted); oldest dropped first."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, float], bytes] = {}

    def get(self, key: tuple[str, str, float]) -> bytes | None:
        return self._items.get(key)

    def put(self, key: tuple[str, str, float], encoding: bytes) -> None:
        self._items[key] = encoding
        while len(self._items) > _VIBE_CACHE_SIZE:
            self._items.pop(next(iter(self._items)))


def _vibe_plan(
    image: ImageInput | VibeFile, model: str, information_extracted: float | None
) -> tuple[Vibe | None, bytes, str, float]:
    """(a vibe the file already holds, or None; the image to encode; the model key; information extracted)."""
    key = _vibe_key(model)
    if key is None:
        raise ImageParamsError(f"vibes are encoded for V4 and V4.5 models, not {model} (V5 has no vibe transfer)")
    if isinstance(image, VibeFile):
        extracted = image.information_extracted if information_extracted is None else information_extracted
        try:
            return image.vibe(model, information_extracted=extracted), b"", key, extracted
        except ImageParamsError:
            if image.image is None:
                raise
        data = image.image
    else:
        data = as_png(image, what="vibe image")
        extracted = 1.0 if information_extracted is None else information_extracted
    if not 0 <= extracted <= 1:
        raise ImageParamsError(f"information_extracted must be within 0..1, got {extracted}")
    return None, data, key, extracted


def _encode_flow(data: bytes, model: str, information_extracted: float) -> Flow[bytes]:
    body = EncodeVibeRequest(
        image=base64.b64encode(data).decode("ascii"), model=model, information_extracted=information_extracted
    )
    encoding = yield from call_content(encode_vibe.operation.bind(body=body), kind=Kind.GENERATION)
    return encoding


# --- streaming ----------------------------------------------------------------------------------------------------


def _stream_body(prompt: str, params: ImageParams, model: str | None) -> AiGenerateImageRequest:
    body = params.request(prompt, model)
    body.parameters.additional_properties["stream"] = "msgpack"
    return body


class _FrameDecoder:
    """Turns the stream's bytes into `ImagePreview`s: length-prefixed msgpack maps."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[ImagePreview]:
        buffer = self._buffer
        buffer += chunk
        while len(buffer) >= 4:
            (length,) = struct.unpack_from(">I", buffer)
            if length > _MAX_FRAME:
                raise StreamError(f"the image stream sent a frame of {length} bytes")
            if len(buffer) < 4 + length:
                return
            frame = bytes(buffer[4 : 4 + length])
            del buffer[: 4 + length]
            yield self._event(frame)

    def end(self) -> None:
        if self._buffer:
            raise StreamError(f"the image stream ended inside a frame ({len(self._buffer)} bytes left)")

    @staticmethod
    def _event(frame: bytes) -> ImagePreview:
        try:
            event = msgpack.unpackb(frame, raw=False)
        except (ValueError, msgpack.UnpackException) as exc:
            raise StreamError(f"the image stream sent a frame that is not msgpack: {exc}") from exc
        if not isinstance(event, dict):
            raise StreamError("the image stream sent a frame that is not a map")
        kind = event.get("event_type")
        if kind == "error":
            # NovelAI can fail mid-stream with HTTP 200 and an error frame (novelai-python 0.9.0 `request_stream`).
            raise StreamError(f"the image stream failed: {event.get('message') or event.get('code') or 'error'}")
        image = event.get("image")
        sample = event.get("samp_ix", 0)
        step = event.get("step_ix")
        if (
            kind not in ("intermediate", "final")
            or not isinstance(image, bytes)
            or not isinstance(sample, int)
            or not (step is None or isinstance(step, int))
        ):
            raise StreamError(f"the image stream sent an event it should not: {kind!r}")
        final = kind == "final"
        return ImagePreview(sample, None if final else step, final, image)


class ImageStream:
    """The previews and the final images of a streamed generation, as they arrive; iterate it inside `with`.

    The request is sent on the first iteration. Each `ImagePreview` is a preview (`final` False) or a finished image.

    Raises (while iterating):
        StreamError: the stream was cut, or sent an error event or a frame that is not one.
        APIStatusError: the server refused the request.
        AnlasLimitError: with `max_anlas`, the request would cost more; nothing was sent.
    """

    def __init__(
        self, engine: SyncEngine, body: AiGenerateImageRequest, check: Flow[int] | None, request: PerCall | None = None
    ) -> None:
        self._engine = engine
        self._body = body
        self._check = check
        self._request = request
        self._iterator: Iterator[ImagePreview] | None = None
        self._response: httpx.Response | None = None

    @property
    def seed(self) -> int | None:
        """The seed sent."""
        seed = self._body.parameters.additional_properties.get("seed")
        return seed if isinstance(seed, int) else None

    def __iter__(self) -> Iterator[ImagePreview]:
        return self

    def __next__(self) -> ImagePreview:
        if self._iterator is None:
            self._iterator = self._events()
        return next(self._iterator)

    def _events(self) -> Iterator[ImagePreview]:
        if self._check is not None:
            self._engine.run(self._check, self._request)
        bound = generate_image_stream.operation.bind(body=self._body)
        decoder = _FrameDecoder()
        self._response = response = self._engine.open_stream(
            Call(bound.operation, bound.kwargs, kind=Kind.GENERATION), self._request
        )
        try:
            try:
                for chunk in response.iter_bytes():
                    yield from decoder.feed(chunk)
            except httpx.TransportError as exc:
                raise stream_error(exc) from exc
            decoder.end()
        finally:
            response.close()

    def images(self) -> ImageResult:
        """Reads the rest of the stream and returns the final images."""
        finals = [event for event in self if event.final]
        return ImageResult(tuple(Image(event.name, event.data) for event in finals), self.seed)

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


class AsyncImageStream:
    """The asynchronous twin of `ImageStream`: `async for preview in stream`, inside `async with`."""

    def __init__(
        self, engine: AsyncEngine, body: AiGenerateImageRequest, check: Flow[int] | None, request: PerCall | None = None
    ) -> None:
        self._engine = engine
        self._body = body
        self._check = check
        self._request = request
        self._iterator: AsyncIterator[ImagePreview] | None = None

    @property
    def seed(self) -> int | None:
        """The seed sent."""
        seed = self._body.parameters.additional_properties.get("seed")
        return seed if isinstance(seed, int) else None

    def __aiter__(self) -> AsyncIterator[ImagePreview]:
        return self

    async def __anext__(self) -> ImagePreview:
        if self._iterator is None:
            self._iterator = self._events()
        return await anext(self._iterator)

    async def _events(self) -> AsyncIterator[ImagePreview]:
        engine = self._engine
        if self._check is not None:
            await engine.run(self._check, self._request)
        bound = generate_image_stream.operation.bind(body=self._body)
        decoder = _FrameDecoder()
        response = await engine.open_stream(Call(bound.operation, bound.kwargs, kind=Kind.GENERATION), self._request)
        try:
            try:
                async for chunk in response.aiter_bytes():
                    for event in decoder.feed(chunk):
                        yield event
            except engine.transport_errors as exc:
                raise stream_error(exc) from exc
            decoder.end()
        finally:
            await response.aclose()

    async def images(self) -> ImageResult:
        """Reads the rest of the stream and returns the final images."""
        finals = [event async for event in self if event.final]
        return ImageResult(tuple(Image(event.name, event.data) for event in finals), self.seed)

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


# --- the resources ------------------------------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Images(Resource):
    """Images (`nai.image`)."""

    __slots__ = ("_vibes",)

    def __init__(self, engine: SyncEngine) -> None:
        super().__init__(engine)
        self._vibes = _VibeCache()

    def generate(
        self,
        prompt: str,
        params: ImageParams | None = None,
        *,
        model: str | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult:
        """Generates images; the parameter class picks the model generation (see `nai_sdk.images`).

        Args:
            prompt: the prompt, as typed: quality tags (and V5's text block) are added as the web client adds them.
            params: `V5Params`, `V45Params`, `V4Params` or `V3Params` (default: `V45Params()`), with `image=`/`mask=`
                for img2img and inpainting.
            model: a model id other than the parameter class's default (e.g. `nai-diffusion-4-5-curated`).
            max_anlas: refuse (`AnlasLimitError`, nothing sent) if the request would cost more Anlas than this;
                reads the account's tier first.

        Returns:
            The PNG images, unzipped.

        Raises:
            ImageParamsError: settings the model refuses (before anything is sent).
            AnlasLimitError: dearer than `max_anlas`.
        """
        return self._engine.run(_generate_flow(prompt, params or V45Params(), model, max_anlas), per_call(request))

    def generate_stream(
        self,
        prompt: str,
        params: ImageParams | None = None,
        *,
        model: str | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageStream:
        """Generates images through `/ai/generate-image-stream`: previews as the steps go, then each final image.

        Arguments as for `generate`. The settings are checked now; the request is sent on the first iteration:

            with nai.image.generate_stream("a lantern", V5Params(seed=1)) as stream:
                for event in stream:
                    event.save(f"step-{event.step}.png" if not event.final else "final.png")
        """
        params = params or V45Params()
        body = _stream_body(prompt, params, model)
        check = _check_cost(params, model, max_anlas) if max_anlas is not None else None
        return ImageStream(self._engine, body, check, per_call(request))

    def cost(
        self,
        params: ImageParams | None = None,
        *,
        model: str | None = None,
        tier: str | int | None = None,
        **request: Unpack[RequestOptions],
    ) -> int:
        """What `generate(prompt, params, model=model)` would cost in Anlas; nothing is generated.

        Args:
            params: the parameters (default `V45Params()`).
            model: a model other than the class's.
            tier: the subscription tier to price for; by default the account's (one request for it).
        """
        return self._engine.run(_cost_flow(params or V45Params(), model, tier), per_call(request))

    @overload
    def director(
        self,
        tool: PlainTool | DirectorTool,
        image: ImageInput,
        *,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult: ...

    @overload
    def director(
        self,
        tool: Literal["colorize"],
        image: ImageInput,
        *,
        prompt: str | None = None,
        defry: int | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult: ...

    @overload
    def director(
        self,
        tool: Literal["emotion"],
        image: ImageInput,
        *,
        emotion: Emotion | str,
        prompt: str | None = None,
        defry: int | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult: ...

    def director(
        self,
        tool: DirectorTool | str,
        image: ImageInput,
        *,
        prompt: str | None = None,
        emotion: Emotion | str | None = None,
        defry: int | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult:
        """Runs a director tool on an image: `bg-removal`, `lineart`, `sketch`, `declutter`,
        `declutter-keep-bubbles`, `colorize` (`prompt`, `defry`) or `emotion` (`emotion`, `prompt`, `defry`).

        Args:
            tool: the tool (`DirectorTool`).
            image: the image (PNG bytes, a path, or with Pillow any image).
            prompt: colorize and emotion: what to add.
            emotion: emotion: the emotion (`Emotion`).
            defry: colorize and emotion: how much weaker the change, 0..5.
            max_anlas: refuse if it would cost more Anlas (reads the account's tier first).

        Returns:
            The images NovelAI answered with (`save()` each, or all).

        Raises:
            ImageParamsError: an unknown tool, or an option it does not take (before anything is sent).
        """
        body = director_request(tool, image, prompt=prompt, emotion=emotion, defry=defry)
        return self._engine.run(_director_flow(body, max_anlas), per_call(request))

    def encode_vibe(
        self,
        image: ImageInput | VibeFile,
        *,
        model: str = "nai-diffusion-4-5-full",
        information_extracted: float | None = None,
        strength: float = 0.6,
        **request: Unpack[RequestOptions],
    ) -> Vibe:
        """Encodes a reference image for vibe transfer on `model` (V4 or V4.5), for `generate(vibes=[...])`.

        An encoding costs Anlas (2), so none is made twice: a `VibeFile` that already holds one for the model is
        used as it is, and this client remembers the ones it made (by image, model and information extracted).
        Keep them across runs with `VibeFile.with_encoding(vibe).save(path)`.

        Args:
            image: the reference image, or a `VibeFile` (its encoding, else its image).
            model: the model the vibe is for.
            information_extracted: how much of the image to take, 0..1 (default 1, or the file's).
            strength: the strength the vibe is used with, 0..1.
        """
        held, data, key, extracted = _vibe_plan(image, model, information_extracted)
        if held is not None:
            return Vibe(held.image, held.information_extracted, strength, model=model)
        cache_key = (_digest(data), key, extracted)
        encoding = self._vibes.get(cache_key)
        if encoding is None:
            encoding = self._engine.run(_encode_flow(data, model, extracted), per_call(request))
            self._vibes.put(cache_key, encoding)
        return Vibe(encoding, extracted, strength, model=model)

    def upscale(
        self,
        image: bytes,
        width: int,
        height: int,
        *,
        scale: AiUpscaleImageRequestScale = 4,
        **request: Unpack[RequestOptions],
    ) -> Image:
        """Upscales a PNG of `width` x `height` by `scale` (2 or 4)."""
        return self._engine.run(_upscale_flow(image, width, height, scale), per_call(request))

    def annotate(self, image: bytes, model: str = "canny", **parameters: Any) -> Image:
        """Runs a ControlNet annotator (`canny`, `hed`, `midas`, `mlsd`, `openpose`, ...) on a PNG.

        `parameters` are the annotator's own; the per-call options (`nai_sdk.RequestOptions`) are taken among them.
        """
        settings, request = split_request(parameters)
        return self._engine.run(_annotate_flow(image, model, settings), request)

    def suggest_tags(
        self, prompt: str, model: str = "nai-diffusion-4-5-full", **request: Unpack[RequestOptions]
    ) -> list[TagSuggestion]:
        """Tags that complete the last one of `prompt`."""
        return self._engine.run(_suggest_flow(prompt, model), per_call(request))


class AsyncImages(AsyncResource):
    """Images (`nai.image` of `AsyncNovelAI`); see `Images`."""

    __slots__ = ("_vibes",)

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._vibes = _VibeCache()

    async def generate(
        self,
        prompt: str,
        params: ImageParams | None = None,
        *,
        model: str | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult:
        """Generates images (see `Images.generate`)."""
        return await self._engine.run(
            _generate_flow(prompt, params or V45Params(), model, max_anlas), per_call(request)
        )

    def generate_stream(
        self,
        prompt: str,
        params: ImageParams | None = None,
        *,
        model: str | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> AsyncImageStream:
        """Generates images, streaming previews then the final images (see `Images.generate_stream`)."""
        params = params or V45Params()
        body = _stream_body(prompt, params, model)
        check = _check_cost(params, model, max_anlas) if max_anlas is not None else None
        return AsyncImageStream(self._engine, body, check, per_call(request))

    async def cost(
        self,
        params: ImageParams | None = None,
        *,
        model: str | None = None,
        tier: str | int | None = None,
        **request: Unpack[RequestOptions],
    ) -> int:
        """What a generation would cost in Anlas (see `Images.cost`)."""
        return await self._engine.run(_cost_flow(params or V45Params(), model, tier), per_call(request))

    @overload
    async def director(
        self,
        tool: PlainTool | DirectorTool,
        image: ImageInput,
        *,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult: ...

    @overload
    async def director(
        self,
        tool: Literal["colorize"],
        image: ImageInput,
        *,
        prompt: str | None = None,
        defry: int | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult: ...

    @overload
    async def director(
        self,
        tool: Literal["emotion"],
        image: ImageInput,
        *,
        emotion: Emotion | str,
        prompt: str | None = None,
        defry: int | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult: ...

    async def director(
        self,
        tool: DirectorTool | str,
        image: ImageInput,
        *,
        prompt: str | None = None,
        emotion: Emotion | str | None = None,
        defry: int | None = None,
        max_anlas: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> ImageResult:
        """Runs a director tool on an image (see `Images.director`)."""
        body = director_request(tool, image, prompt=prompt, emotion=emotion, defry=defry)
        return await self._engine.run(_director_flow(body, max_anlas), per_call(request))

    async def encode_vibe(
        self,
        image: ImageInput | VibeFile,
        *,
        model: str = "nai-diffusion-4-5-full",
        information_extracted: float | None = None,
        strength: float = 0.6,
        **request: Unpack[RequestOptions],
    ) -> Vibe:
        """Encodes a reference image for vibe transfer (see `Images.encode_vibe`)."""
        held, data, key, extracted = _vibe_plan(image, model, information_extracted)
        if held is not None:
            return Vibe(held.image, held.information_extracted, strength, model=model)
        cache_key = (_digest(data), key, extracted)
        encoding = self._vibes.get(cache_key)
        if encoding is None:
            encoding = await self._engine.run(_encode_flow(data, model, extracted), per_call(request))
            self._vibes.put(cache_key, encoding)
        return Vibe(encoding, extracted, strength, model=model)

    async def upscale(
        self,
        image: bytes,
        width: int,
        height: int,
        *,
        scale: AiUpscaleImageRequestScale = 4,
        **request: Unpack[RequestOptions],
    ) -> Image:
        """Upscales a PNG by `scale` (2 or 4)."""
        return await self._engine.run(_upscale_flow(image, width, height, scale), per_call(request))

    async def annotate(self, image: bytes, model: str = "canny", **parameters: Any) -> Image:
        """Runs a ControlNet annotator on a PNG."""
        settings, request = split_request(parameters)
        return await self._engine.run(_annotate_flow(image, model, settings), request)

    async def suggest_tags(
        self, prompt: str, model: str = "nai-diffusion-4-5-full", **request: Unpack[RequestOptions]
    ) -> list[TagSuggestion]:
        """Tags that complete the last one of `prompt`."""
        return await self._engine.run(_suggest_flow(prompt, model), per_call(request))

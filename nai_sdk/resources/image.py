"""Images: generation (v3, v4, v4.5), upscaling, annotation and tag suggestions (`nai.image`)."""

from __future__ import annotations

import base64
from typing import Any, TypeAlias

from nai_client.api.ai import annotate_image, generate_image, suggest_tags, upscale_image
from nai_client.models import (
    AiAnnotateImageRequest,
    AiAnnotateImageRequestParameters,
    AiRequestImageGenerationTag,
    AiUpscaleImageRequest,
    AiUpscaleImageRequestScale,
)

from nai_sdk.images import Image, ImageParams, ImageResult, V45Params, images_from_zip
from nai_sdk.resources._base import AsyncResource, Flow, Kind, Resource, call, call_content

__all__ = ["AsyncImages", "Images", "TagSuggestion"]

TagSuggestion: TypeAlias = AiRequestImageGenerationTag
"""A tag NovelAI suggests for a prompt: the generated `AiRequestImageGenerationTag`, under the SDK's name.

Its fields: `tag`; `count`, how many images of the training set carry it; `confidence`, how well it matches, 0..1.
"""


def _generate_flow(prompt: str, params: ImageParams, model: str | None) -> Flow[ImageResult]:
    body = params.request(prompt, model)
    data = yield from call_content(generate_image.operation.bind(body=body), kind=Kind.GENERATION)
    seed = body.parameters.additional_properties.get("seed")
    return ImageResult(images=images_from_zip(data), seed=seed)


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


class Images(Resource):
    """Images (`nai.image`)."""

    def generate(self, prompt: str, params: ImageParams | None = None, *, model: str | None = None) -> ImageResult:
        """Generates images; the parameter class picks the model generation (see `nai_sdk.images`).

        Args:
            prompt: the prompt.
            params: `V3Params`, `V4Params` or `V45Params` (default: `V45Params()`), with `image=`/`mask=` for
                img2img and inpainting.
            model: a model id other than the parameter class's default (e.g. `nai-diffusion-4-5-curated`).

        Returns:
            The PNG images, unzipped.
        """
        return self._engine.run(_generate_flow(prompt, params or V45Params(), model))

    def upscale(self, image: bytes, width: int, height: int, *, scale: AiUpscaleImageRequestScale = 4) -> Image:
        """Upscales a PNG of `width` x `height` by `scale` (2 or 4)."""
        return self._engine.run(_upscale_flow(image, width, height, scale))

    def annotate(self, image: bytes, model: str = "canny", **parameters: Any) -> Image:
        """Runs a ControlNet annotator (`canny`, `hed`, `midas`, `mlsd`, `openpose`, ...) on a PNG."""
        return self._engine.run(_annotate_flow(image, model, parameters))

    def suggest_tags(self, prompt: str, model: str = "nai-diffusion-4-5-full") -> list[TagSuggestion]:
        """Tags that complete the last one of `prompt`."""
        return self._engine.run(_suggest_flow(prompt, model))


class AsyncImages(AsyncResource):
    """Images (`nai.image` of `AsyncNovelAI`); see `Images`."""

    async def generate(
        self, prompt: str, params: ImageParams | None = None, *, model: str | None = None
    ) -> ImageResult:
        """Generates images (see `Images.generate`)."""
        return await self._engine.run(_generate_flow(prompt, params or V45Params(), model))

    async def upscale(self, image: bytes, width: int, height: int, *, scale: AiUpscaleImageRequestScale = 4) -> Image:
        """Upscales a PNG by `scale` (2 or 4)."""
        return await self._engine.run(_upscale_flow(image, width, height, scale))

    async def annotate(self, image: bytes, model: str = "canny", **parameters: Any) -> Image:
        """Runs a ControlNet annotator on a PNG."""
        return await self._engine.run(_annotate_flow(image, model, parameters))

    async def suggest_tags(self, prompt: str, model: str = "nai-diffusion-4-5-full") -> list[TagSuggestion]:
        """Tags that complete the last one of `prompt`."""
        return await self._engine.run(_suggest_flow(prompt, model))

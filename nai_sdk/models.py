"""The registry of NovelAI models: one record per model, in one place.

Everything that differs between models and that a client needs to know lives here: the API value, the host that
serves it, the tokenizer, the token width of the base64 token format, the context size per subscription tier, the
preamble for an empty context and the default preset. To add a model, add one `TextModel` (or `ChatModel`, or
`ImageModel`) to `_TEXT_MODELS` (or `_CHAT_MODELS`, or `_IMAGE_MODELS`) below; nothing else has to change.

Text models come in two kinds, served by two different APIs of the text host:

* `TextModel`: Erato, Kayra, Clio and their elders, on NovelAI's own `/ai/generate` (`nai.text.generate`), which
  takes and gives token ids, so the SDK needs each one's tokenizer;
* `ChatModel`: GLM-4.6 and Xialong, on the OpenAI-compatible API under `/oa/v1` (`nai.text.chat`,
  `nai.text.complete`), which takes and gives text; the server counts tokens (`nai.text.count_tokens`).

`get_model` and `get_chat_model` each refuse the other kind's names with an error that says which API serves them.

Sources (each value below names the one it comes from):

* [lib] novelai-api 0.34.1 (PyPI, MIT), as pinned by the project's vectors (`tests/data/vectors/tokens.json`,
  `presets.json`) and described in docs/formats.md §4-§5: model values, tokenizers, widths, preambles,
  hosts, success statuses, default presets.
* [spec] NovelAI's OpenAPI document (`AiGenerateRequest.model` and `AiGenerateImageRequest.model` enums).
* [st] SillyTavern's NovelAI page, https://docs.sillytavern.app/usage/api-connections/novelai/ ("Context Size"):
  Kayra Tablet 3072, Scroll 6144, Opus 8192; Clio 8192 on all tiers; Erato 8192, Opus only.

* [npy] novelai-python 0.9.0 (PyPI), `novelai_python/sdk/ai/openai_compat.py`: the `/oa/v1` routes on
  https://text.novelai.net.
* [sttrack] SillyTavern's tracker, issues 4575 (GLM-4.5 "Untuned Preview" for Opus, updated to GLM-4.6 about
  2025-10-02) and 4664 (GLM-4.6 for every subscriber, 2025-10-16): the id `glm-4-6`.
* [xl] a NovelAI userscript's CHANGELOG, "[0.10.4] - 2026-04-01 ... choose between GLM 4.6 and Xialong
  (`xialong-v1`)", and a model list that sends `xialong-v1` and `glm-4-6` to text.novelai.net (both found by a
  public code search that does not name their repositories): the id `xialong-v1`.
* [npy5] novelai-python 0.9.0 (PyPI), `novelai_python/sdk/ai/_enum.py` (`Model`, `get_inpainting_model`): the V5
  and V4.5 inpainting ids. [nsdk5] novelai-sdk 0.14.1 (PyPI), `novelai/constants/models.py` and
  `novelai/utils/anlas.py`: the same ids. [v5live] bedovyy/ComfyUI_NAIDGenerator pull request 52 (2026-09-13):
  `nai-diffusion-5-full` and `nai-diffusion-5-curated` generate on the live API; Nya-Foundation/NekoAI-API pull
  request 32 adds `nai-diffusion-5-full-inpainting`.
* [tomori] TomoriBot (palinalif/TomoriBot), `src/providers/novelai/novelaiStreamAdapter.ts`:
  `NAI_GLM_CONTEXT_LIMIT` defaults to 12288 tokens, prompt and answer together, "Matches the real NovelAI API
  limit". One unofficial source, not checked against the service.

Context sizes that no source gives are left out of `context_tokens` (None for a `ChatModel`) rather than guessed.
No public source gives Xialong's context size or tokenizer, nor says which tokenizer file NovelAI uses for GLM-4.6
(the upstream one is zai-org/GLM-4.6's `tokenizer.json` on Hugging Face, which this SDK does not ship): for both,
`tokenizer` is None, and `nai.text.count_tokens` asks the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

import attrs

from nai_sdk.errors import UnknownModelError

__all__ = [
    "CHAT_MODELS",
    "IMAGE_MODELS",
    "TEXT_MODELS",
    "TIERS",
    "ChatModel",
    "ImageModel",
    "TextModel",
    "get_chat_model",
    "get_image_model",
    "get_model",
]

TIERS: Final = ("paper", "tablet", "scroll", "opus")
"""Subscription tiers, lowest first, as the keys of `TextModel.context_tokens`."""

API_URL: Final = "https://api.novelai.net"
TEXT_URL: Final = "https://text.novelai.net"


def _frozen_mapping(value: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(value))


def _preset_folder(model_id: str) -> str:
    return "presets_" + model_id.replace("-", "_")


@attrs.frozen
class TextModel:
    """A NovelAI text generation model.

    Attributes:
        id: the value sent as `model` in a generation request, e.g. `"kayra-v1"`.
        name: the name NovelAI shows, e.g. `"Kayra"`.
        host: `"text"` for models served by https://text.novelai.net, `"api"` for https://api.novelai.net.
        tokenizer: the name of the tokenizer (see `nai_sdk.tokenizers.get_tokenizer`).
        token_width: bytes per token in the base64 token format of `input` and `output` (little-endian).
        context_tokens: the context size per subscription tier (`TIERS`), where a source gives it; a tier that
            is missing is unknown or cannot use the model.
        preamble: what NovelAI's own client puts in an empty context: text, a token list (Genji, whose preamble
            cannot be produced by its tokenizer from text), `""` for none, or None where none is documented.
        default_preset: the name of the model's default official preset, or None where NovelAI ships none.
        preset_folder: the folder of the model's official presets (the model id with `-` turned into `_`).
        bos_token: the token NovelAI expects at the start of a prompt, and only there (never in ban lists,
            biases or stop sequences); None when the model takes none.
        aliases: other names accepted by `get_model` (matched case-insensitively), the first being the model's
            lower-cased name.
        deprecated: NovelAI lists the model as legacy, or has retired it.
        success_status: the HTTP status of a successful generation (200 on the text host, 201 on the API host).
    """

    id: str
    name: str
    host: Literal["api", "text"]
    tokenizer: str
    token_width: int
    context_tokens: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_mapping)
    preamble: str | tuple[int, ...] | None = None
    default_preset: str | None = None
    preset_folder: str = attrs.field(default=attrs.Factory(lambda self: _preset_folder(self.id), takes_self=True))
    bos_token: int | None = None
    aliases: tuple[str, ...] = ()
    deprecated: bool = False
    success_status: int = attrs.field(
        default=attrs.Factory(lambda self: 200 if self.host == "text" else 201, takes_self=True)
    )

    @property
    def base_url(self) -> str:
        """The URL of the service that runs this model's generation endpoints."""
        return TEXT_URL if self.host == "text" else API_URL

    @property
    def max_token(self) -> int:
        """The largest token id the base64 token format of this model can carry."""
        return (1 << (8 * self.token_width)) - 1

    def __str__(self) -> str:
        return self.id


@attrs.frozen
class ChatModel:
    """A NovelAI text model of the OpenAI-compatible API (`/oa/v1` on the text host).

    Attributes:
        id: the value sent as `model`, e.g. `"glm-4-6"`.
        name: the name NovelAI shows, e.g. `"GLM-4.6"`.
        context_tokens: the most tokens of prompt and answer together, where a public source gives it, else None.
        tokenizer: the name of a tokenizer of `nai_sdk.tokenizers` that counts as the server does, or None where
            none is known (count with `nai.text.count_tokens`, which asks the server).
        aliases: other names accepted by `get_chat_model` (matched case-insensitively).
        deprecated: NovelAI has retired the model, or lists it as legacy.
    """

    id: str
    name: str
    context_tokens: int | None = None
    tokenizer: str | None = None
    aliases: tuple[str, ...] = ()
    deprecated: bool = False

    @property
    def host(self) -> Literal["text"]:
        """The host that serves the OpenAI-compatible API: always `"text"` [npy]."""
        return "text"

    @property
    def base_url(self) -> str:
        """The URL of the service that runs this model."""
        return TEXT_URL

    def __str__(self) -> str:
        return self.id


@attrs.frozen
class ImageModel:
    """A NovelAI image generation model.

    Attributes:
        id: the value sent as `model` in an image request, e.g. `"nai-diffusion-3"`.
        name: a readable name.
        tokenizer: `"clip"` for the v1 models, whose prompts are CLIP-tokenized; None where this SDK has no
            tokenizer for the model (v2 and later; v4 prompts would need T5).
        version: the generation of the model (1, 2, 3, 4, 4.5, 5).
        inpainting: the model is the inpainting variant of another.
        base: for an inpainting model, the id of the model it inpaints for.
        aliases: other names accepted by `get_image_model` (case-insensitive).
    """

    id: str
    name: str
    tokenizer: str | None
    version: float
    inpainting: bool = False
    base: str | None = None
    aliases: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.id


# The context sizes of [st]; Erato is Opus only.
_KAYRA_CONTEXT = {"tablet": 3072, "scroll": 6144, "opus": 8192}
_CLIO_CONTEXT = {"paper": 8192, "tablet": 8192, "scroll": 8192, "opus": 8192}
_ERATO_CONTEXT = {"opus": 8192}

_TEXT_MODELS: tuple[TextModel, ...] = (
    TextModel(
        id="llama-3-erato-v1",
        name="Erato",
        host="text",
        tokenizer="llama3",
        token_width=4,
        context_tokens=_ERATO_CONTEXT,
        # [lib]; NovelAI's client is said to use <|reserved_special_token_81|> when the context is not full.
        preamble="<|endoftext|>",
        # [lib] ships five Erato presets but no default.txt.
        default_preset=None,
        bos_token=128000,
        aliases=("erato", "llama-3-erato"),
    ),
    TextModel(
        id="kayra-v1",
        name="Kayra",
        host="text",
        tokenizer="nerdstash_v2",
        token_width=2,
        context_tokens=_KAYRA_CONTEXT,
        # No preamble: NovelAI starts Kayra stories with its "special_openings" module instead [lib].
        preamble="",
        default_preset="Carefree",
        aliases=("kayra",),
    ),
    TextModel(
        id="clio-v1",
        name="Clio",
        host="api",
        tokenizer="nerdstash_v1",
        token_width=2,
        context_tokens=_CLIO_CONTEXT,
        preamble="[ Author: Various ]\n[ Prologue ]\n",
        default_preset="Vingt-Un",
        aliases=("clio",),
    ),
    TextModel(
        id="krake-v2",
        name="Krake",
        host="api",
        tokenizer="pile",
        token_width=2,
        preamble="<|endoftext|>[ Prologue ]\n",
        default_preset="Blue Lighter",
        aliases=("krake",),
        deprecated=True,
    ),
    TextModel(
        id="euterpe-v2",
        name="Euterpe",
        host="api",
        tokenizer="gpt2",
        token_width=2,
        preamble="\n***\n",
        default_preset="Genesis",
        aliases=("euterpe",),
        deprecated=True,
    ),
    TextModel(
        id="6B-v4",
        name="Sigurd",
        host="api",
        tokenizer="gpt2",
        token_width=2,
        preamble="⁂\n",
        default_preset="Storywriter",
        aliases=("sigurd",),
        deprecated=True,
    ),
    TextModel(
        id="genji-jp-6b-v2",
        name="Genji",
        host="api",
        tokenizer="gpt2-genji",
        token_width=2,
        # "]\n\n" as tokens: the tokenizer would merge the newlines, a combination the model never saw [lib].
        preamble=(60, 198, 198),
        default_preset="Genji Default",
        aliases=("genji",),
        deprecated=True,
    ),
    TextModel(
        id="genji-python-6b",
        name="Snek",
        host="api",
        tokenizer="gpt2",
        token_width=2,
        preamble="<|endoftext|>\n",
        default_preset="Storywriter",
        aliases=("snek",),
        deprecated=True,
    ),
    TextModel(
        id="hypebot",
        name="HypeBot",
        host="api",
        tokenizer="gpt2",
        token_width=2,
        default_preset="Default",
        aliases=(),
    ),
    TextModel(
        id="infillmodel",
        name="Inline",
        host="api",
        tokenizer="gpt2",
        token_width=2,
        default_preset="Default",
        aliases=("inline",),
    ),
)

_CHAT_MODELS: tuple[ChatModel, ...] = (
    # [sttrack]; context [tomori]; tokenizer unknown (see the module).
    ChatModel(id="glm-4-6", name="GLM-4.6", context_tokens=12288, aliases=("glm", "glm-4.6", "glm4.6")),
    # [xl]; no public source gives its context size or tokenizer.
    ChatModel(id="xialong-v1", name="Xialong", aliases=("xialong",)),
)

_IMAGE_MODELS: tuple[ImageModel, ...] = (
    ImageModel("safe-diffusion", "NAI Diffusion Anime V1 (Curated)", "clip", 1, aliases=("anime-curated",)),
    ImageModel("nai-diffusion", "NAI Diffusion Anime V1 (Full)", "clip", 1, aliases=("anime-full",)),
    ImageModel("nai-diffusion-furry", "NAI Diffusion Furry V1", "clip", 1, aliases=("furry",)),
    ImageModel(
        "safe-diffusion-inpainting", "NAI Diffusion Anime V1 (Curated) Inpainting", "clip", 1, True, "safe-diffusion"
    ),
    ImageModel(
        "nai-diffusion-inpainting", "NAI Diffusion Anime V1 (Full) Inpainting", "clip", 1, True, "nai-diffusion"
    ),
    ImageModel(
        "furry-diffusion-inpainting", "NAI Diffusion Furry V1 Inpainting", "clip", 1, True, "nai-diffusion-furry"
    ),
    ImageModel("nai-diffusion-2", "NAI Diffusion Anime V2", None, 2, aliases=("anime-v2",)),
    ImageModel("nai-diffusion-3", "NAI Diffusion Anime V3", None, 3, aliases=("anime-v3",)),
    ImageModel("nai-diffusion-3-inpainting", "NAI Diffusion Anime V3 Inpainting", None, 3, True, "nai-diffusion-3"),
    ImageModel("nai-diffusion-furry-3", "NAI Diffusion Furry V3", None, 3, aliases=("furry-v3",)),
    ImageModel(
        "nai-diffusion-furry-3-inpainting", "NAI Diffusion Furry V3 Inpainting", None, 3, True, "nai-diffusion-furry-3"
    ),
    # Renamed from "preview" to "curated" by NovelAI, the API value stayed [lib].
    ImageModel(
        "nai-diffusion-4-curated-preview",
        "NAI Diffusion V4 Curated",
        None,
        4,
        aliases=("anime-v4-curated", "nai-diffusion-4-curated"),
    ),
    ImageModel("nai-diffusion-4-full", "NAI Diffusion V4 Full", None, 4, aliases=("anime-v4-full",)),
    ImageModel(
        "nai-diffusion-4-curated-inpainting",
        "NAI Diffusion V4 Curated Inpainting",
        None,
        4,
        True,
        "nai-diffusion-4-curated-preview",
    ),
    ImageModel(
        "nai-diffusion-4-full-inpainting", "NAI Diffusion V4 Full Inpainting", None, 4, True, "nai-diffusion-4-full"
    ),
    ImageModel("nai-diffusion-4-5-curated", "NAI Diffusion V4.5 Curated", None, 4.5, aliases=("anime-v4.5-curated",)),
    ImageModel("nai-diffusion-4-5-full", "NAI Diffusion V4.5 Full", None, 4.5, aliases=("anime-v4.5-full",)),
    # [npy5] and [nsdk5]; the V4.5 inpainting models were missing before.
    ImageModel(
        "nai-diffusion-4-5-curated-inpainting",
        "NAI Diffusion V4.5 Curated Inpainting",
        None,
        4.5,
        True,
        "nai-diffusion-4-5-curated",
    ),
    ImageModel(
        "nai-diffusion-4-5-full-inpainting",
        "NAI Diffusion V4.5 Full Inpainting",
        None,
        4.5,
        True,
        "nai-diffusion-4-5-full",
    ),
    # [npy5], [nsdk5], [v5live]. The V5 prompt tokenizer (Qwen 3.5) is not shipped.
    ImageModel("nai-diffusion-5-full", "NAI Diffusion V5 Full", None, 5, aliases=("anime-v5-full", "v5")),
    ImageModel("nai-diffusion-5-curated", "NAI Diffusion V5 Curated", None, 5, aliases=("anime-v5-curated",)),
    ImageModel(
        "nai-diffusion-5-full-inpainting", "NAI Diffusion V5 Full Inpainting", None, 5, True, "nai-diffusion-5-full"
    ),
    # Not listed: `nai-diffusion-5-curated-inpainting` ([npy5] says NovelAI answers that it does not exist, and that
    # the web client inpaints V5 Curated images with V4.5 Curated inpainting: `nai_sdk.images.inpainting_model`),
    # and `nai-diffusion-5-full-medium` (one source only).
)


def _index(models: tuple[TextModel, ...] | tuple[ChatModel, ...] | tuple[ImageModel, ...]) -> dict[str, str]:
    """Every accepted lower-cased name -> model id; fails on a clash, so a bad registry cannot import."""
    index: dict[str, str] = {}
    for model in models:
        names = {model.id.lower(), *(alias.lower() for alias in model.aliases)}
        if isinstance(model, TextModel | ChatModel):
            names.add(model.name.lower())
        for name in names:
            if index.setdefault(name, model.id) != model.id:
                raise RuntimeError(f"model name {name!r} names both {index[name]!r} and {model.id!r}")
    return index


def _known(models: Mapping[str, TextModel] | Mapping[str, ChatModel] | Mapping[str, ImageModel]) -> str:
    """The ids of `models`, each followed by its other accepted names: what an unknown name's error lists."""
    parts = []
    for model in models.values():
        others = [alias for alias in model.aliases if alias.lower() != model.id.lower()]
        parts.append(f"{model.id} ({', '.join(others)})" if others else model.id)
    return "; ".join(parts)


TEXT_MODELS: Final[Mapping[str, TextModel]] = MappingProxyType({m.id: m for m in _TEXT_MODELS})
"""Every text model by id, in NovelAI's order (newest first)."""
CHAT_MODELS: Final[Mapping[str, ChatModel]] = MappingProxyType({m.id: m for m in _CHAT_MODELS})
"""Every model of the OpenAI-compatible API by id, newest first."""
IMAGE_MODELS: Final[Mapping[str, ImageModel]] = MappingProxyType({m.id: m for m in _IMAGE_MODELS})
"""Every image model by id."""

_TEXT_NAMES: Final = _index(_TEXT_MODELS)
_CHAT_NAMES: Final = _index(_CHAT_MODELS)
_IMAGE_NAMES: Final = _index(_IMAGE_MODELS)
# A name is one model's, whichever API serves it: `nai.text.generate("...", "glm")` must not find another model.
_clash = (_TEXT_NAMES.keys() & _CHAT_NAMES.keys()) | ((_TEXT_NAMES.keys() | _CHAT_NAMES.keys()) & _IMAGE_NAMES.keys())
if _clash:
    raise RuntimeError(f"model names used twice: {sorted(_clash)}")


def get_model(model: str | TextModel) -> TextModel:
    """The text model with this id, name or alias.

    Args:
        model: an API value (`"kayra-v1"`), a name or alias (`"Kayra"`, `"erato"`), any case; or a `TextModel`,
            returned as it is.

    Returns:
        The model's record.

    Raises:
        UnknownModelError: no text model has that name.
    """
    if isinstance(model, TextModel):
        return model
    if isinstance(model, str):
        model_id = _TEXT_NAMES.get(model.lower())
        if model_id is not None:
            return TEXT_MODELS[model_id]
        if model.lower() in _IMAGE_NAMES:
            raise UnknownModelError(f"{model!r} is an image model, not a text model")
        chat_id = _CHAT_NAMES.get(model.lower())
        if chat_id is not None:
            raise UnknownModelError(
                f"{model!r} ({chat_id}) is served by the OpenAI-compatible API: use nai.text.chat or "
                "nai.text.complete, not nai.text.generate"
            )
    raise UnknownModelError(f"unknown text model {model!r}; known: {_known(TEXT_MODELS)}")


def get_chat_model(model: str | ChatModel) -> ChatModel:
    """The model of the OpenAI-compatible API with this id, name or alias.

    Args:
        model: an API value (`"glm-4-6"`), a name or alias (`"GLM-4.6"`, `"xialong"`), any case; or a `ChatModel`,
            returned as it is (a way to use a model this registry does not list yet:
            `ChatModel(id="new-model", name="New")`).

    Returns:
        The model's record.

    Raises:
        UnknownModelError: no chat model has that name; the message lists every id with its aliases.
    """
    if isinstance(model, ChatModel):
        return model
    if isinstance(model, str):
        model_id = _CHAT_NAMES.get(model.lower())
        if model_id is not None:
            return CHAT_MODELS[model_id]
        text_id = _TEXT_NAMES.get(model.lower())
        if text_id is not None:
            raise UnknownModelError(
                f"{model!r} ({text_id}) is served by NovelAI's own /ai/generate: use nai.text.generate; "
                f"the OpenAI-compatible API serves {_known(CHAT_MODELS)}"
            )
        if model.lower() in _IMAGE_NAMES:
            raise UnknownModelError(f"{model!r} is an image model, not a text model")
    raise UnknownModelError(f"unknown chat model {model!r}; known: {_known(CHAT_MODELS)}")


def get_image_model(model: str | ImageModel) -> ImageModel:
    """The image model with this id or alias.

    Args:
        model: an API value (`"nai-diffusion-3"`) or an alias, any case; or an `ImageModel`, returned as it is.

    Returns:
        The model's record.

    Raises:
        UnknownModelError: no image model has that name.
    """
    if isinstance(model, ImageModel):
        return model
    if isinstance(model, str):
        model_id = _IMAGE_NAMES.get(model.lower())
        if model_id is not None:
            return IMAGE_MODELS[model_id]
    raise UnknownModelError(f"unknown image model {model!r}; known: {_known(IMAGE_MODELS)}")

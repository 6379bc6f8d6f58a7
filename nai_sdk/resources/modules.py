"""Custom AI modules: train, list, get, delete, buy training steps (`nai.modules`).

Sources of what training sends (no NovelAI document describes it):

* [web] NovelAI's 2022 web client, whose source leaked and is indexed publicly: its module trainer
  (`components/modals/prefix...`, `PrefixUploader`, `startTraining`) builds the training set and posts
  `{data, lr: 0.0001, model, steps, percentage, name, description}`; `util/models`, `modelSupportsUserModules`,
  lets only `6B-v3`, `6B-v4` and `euterpe-v2` train; `data/request/model` makes `euterpe-v2` the default model.
* [spec] NovelAI's OpenAPI document: `AiModuleDto.model` ("Used text generation model for module training")
  defaults to `euterpe-v2`; the route's leaked `trainModule` source answers 400 "Specified model does not support
  module training." for a model without `canTrainModules`.
* [kayra] jrrobison1/novel-ai-module-tools, README: "module creation for Kayra is not currently available"; no
  public source says Clio, Erato or the GLM models train modules.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Final, Unpack

import attrs
from nai_client.api.modules import buy_training_steps, delete_module, get_module, get_modules, train_module
from nai_client.models import AiModuleDto, AiModuleTrainRequest, BuyTrainingStepsRequest
from nai_client.types import UNSET, Unset

from nai_sdk._request import RequestOptions, per_call
from nai_sdk.crypto import b64encode
from nai_sdk.errors import ConfigurationError, UnknownModelError
from nai_sdk.models import TextModel, get_model
from nai_sdk.resources._base import AsyncResource, Flow, Kind, Resource, call

__all__ = [
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_TRAINING_MODEL",
    "TRAINABLE_MODELS",
    "TRAINING_DATA_LEVEL",
    "TRAINING_TEXT_SEPARATOR",
    "AsyncModules",
    "Module",
    "Modules",
    "encode_training_data",
    "training_text",
]

#: The models NovelAI trains modules for [web]: Sigurd (`6B-v3`, `6B-v4`) and Euterpe (`euterpe-v2`). Every other
#: model, Kayra, Clio and Erato included [kayra], is refused before anything is sent.
TRAINABLE_MODELS: Final = frozenset({"6B-v3", "6B-v4", "euterpe-v2"})
#: The model `train` uses unless told otherwise: the default of both [web] and [spec].
DEFAULT_TRAINING_MODEL: Final = "euterpe-v2"
#: The learning rate NovelAI's web client sends, always [web].
DEFAULT_LEARNING_RATE: Final = 0.0001
#: What the web client puts after each training text, the last one included [web].
TRAINING_TEXT_SEPARATOR: Final = "<|endoftext|>"
#: The DEFLATE level of the web client (fflate's `deflate(data, {level: 1})`) [web].
TRAINING_DATA_LEVEL: Final = 1
# Characters per estimated training step: the web client estimates one pass over a text at
# `characters / (3.5 * 256)` steps [web], and sends the chosen steps as a percentage of that.
_CHARACTERS_PER_STEP = 3.5 * 256
# What JavaScript's String.prototype.trim removes (WhiteSpace and LineTerminator of ECMA-262), which differs from
# Python's str.strip (no U+FEFF there; U+001C..U+001F and U+0085 only there).
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_RAW_DEFLATE_WBITS = -15  # negative: raw DEFLATE (RFC 1951), no zlib header or checksum


def _texts(text: str | Iterable[str]) -> tuple[str, ...]:
    texts = (text,) if isinstance(text, str) else tuple(text)
    for index, item in enumerate(texts):
        if not isinstance(item, str):
            raise TypeError(f"training texts must be str, not {type(item).__name__} (at index {index})")
    return texts


def training_text(text: str | Iterable[str]) -> str:
    """The training set NovelAI's web client builds from one or more texts, before it is compressed.

    Each text is followed by `<|endoftext|>` (the last one too), CRLF line ends become LF, the whole is trimmed
    as JavaScript trims, and when it ends with `<|endoftext|>` twice (a text that ended with one) one is dropped.

    Args:
        text: one training text, or several (the web client's files), in order.

    Returns:
        The training set, as text.

    Raises:
        TypeError: one of the texts is not a str.
    """
    joined = "".join(item + TRAINING_TEXT_SEPARATOR for item in _texts(text))
    joined = joined.replace("\r\n", "\n").strip(_JS_WHITESPACE)
    if joined.endswith(TRAINING_TEXT_SEPARATOR * 2):
        joined = joined[: -len(TRAINING_TEXT_SEPARATOR)]
    return joined


def encode_training_data(text: str | Iterable[str]) -> str:
    """The `data` of a training request for one or more texts, encoded as NovelAI's web client encodes it.

    That is base64 of a raw DEFLATE stream (RFC 1951: no zlib header, no checksum) of the UTF-8 bytes of
    `training_text(text)`, compressed at level 1. The bytes differ from the web client's (fflate's encoder is not
    zlib's), as any two DEFLATE encoders may; whatever inflates one inflates the other.

    Args:
        text: one training text, or several, in order.

    Returns:
        The base64 text to send as `data`.

    Raises:
        TypeError: one of the texts is not a str.
    """
    raw = training_text(text).encode("utf-8")
    # Not nai_sdk.crypto.compress: that is level 9, for stored objects; this follows the web client's level 1.
    compressor = zlib.compressobj(TRAINING_DATA_LEVEL, zlib.DEFLATED, _RAW_DEFLATE_WBITS)
    return b64encode(compressor.compress(raw) + compressor.flush())


def _utf16_length(text: str) -> int:
    # JavaScript's String.length, which the web client's step estimate counts: characters beyond U+FFFF count twice.
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _percentage(texts: tuple[str, ...], steps: int) -> float:
    """The web client's `percentage`: the steps as a share of one estimated pass over the texts [web]."""
    estimate = sum(_utf16_length(item) for item in texts) / _CHARACTERS_PER_STEP
    if not estimate:
        raise ValueError("nothing to train on: the training text is empty")
    return steps / estimate * 100


def _training_model(model: str | TextModel) -> str:
    """The id of `model`, which must be one NovelAI trains modules for."""
    if isinstance(model, str) and model in TRAINABLE_MODELS:
        return model  # 6B-v3 is not in the registry: NovelAI's API no longer lists it
    try:
        model_id = get_model(model).id
    except UnknownModelError:
        model_id = str(model)
    if model_id not in TRAINABLE_MODELS:
        raise UnknownModelError(
            f"NovelAI does not train modules for {model_id!r}: only for {', '.join(sorted(TRAINABLE_MODELS))}"
        )
    return model_id


class Module(AiModuleDto):
    """A trained (or training) module: the generated `AiModuleDto`, whose fields it has, typed as the spec says.

    Attributes:
        id: its id.
        name: its name.
        description: its description.
        model: the text model it was trained for.
        status: `pending`, `training`, `ready` or `error`.
        steps: training steps.
        lr: learning rate.
        loss_history: the recorded losses.
        last_updated_at: UNIX time of the last change.
        data: base64 of the trained module once ready (of the training set before that, or the error text), as
            NovelAI sends it.
        additional_properties: fields NovelAI sent that the spec does not list.

    It differs from `AiModuleDto` only in its repr, which gives the size of `data` rather than its text.
    """

    __slots__ = ()

    @classmethod
    def of(cls, answer: AiModuleDto) -> Module:
        """The module of a parsed answer (every field, unknown ones included, carried over)."""
        return cls.from_dict(answer.to_dict())

    def __repr__(self) -> str:
        shown = []
        for field in attrs.fields(AiModuleDto):
            value = getattr(self, field.name)
            if field.name == "data" and isinstance(value, str):
                # The training set, or the trained weights: both can run to megabytes.
                shown.append(f"data=<{len(value)} chars>")
            elif field.name != "additional_properties" or value:
                shown.append(f"{field.name}={value!r}")
        return f"Module({', '.join(shown)})"


def _train_flow(
    text: str | Iterable[str] | None,
    data: str | None,
    lr: float,
    steps: int,
    name: str,
    description: str,
    model: str | TextModel,
) -> Flow[Module]:
    # Everything is checked before the first yield: a refused call sends nothing.
    model_id = _training_model(model)
    percentage: float | Unset = UNSET
    if (text is None) == (data is None):
        raise ConfigurationError("pass the training text, or data= already encoded, not both or neither")
    if text is not None:
        texts = _texts(text)
        percentage = _percentage(texts, steps)
        data = encode_training_data(texts)
    elif not isinstance(data, str):
        raise TypeError(f"data must be a str (base64), not {type(data).__name__}")
    body = AiModuleTrainRequest(
        data=data,
        lr=lr,
        steps=steps,
        name=name,
        description=description,
        model=model_id,
        percentage=percentage,
    )
    # Spends training steps: a generation-class request, retried only if it never reached NovelAI.
    answer = yield from call(train_module.operation.bind(body=body), kind=Kind.GENERATION)
    return Module.of(answer)


def _list_flow() -> Flow[list[Module]]:
    answer = yield from call(get_modules.operation.bind())
    return [Module.of(item) for item in answer]


def _get_flow(module_id: str) -> Flow[Module]:
    return Module.of((yield from call(get_module.operation.bind(module_id))))


def _delete_flow(module_id: str) -> Flow[None]:
    # The answer is the deleted module, which `delete` does not return.
    yield from call(delete_module.operation.bind(module_id))


def _buy_flow(amount: int) -> Flow[None]:
    # Spends money: a generation-class request, retried only if it never reached NovelAI.
    yield from call(
        buy_training_steps.operation.bind(body=BuyTrainingStepsRequest(amount=amount)), kind=Kind.GENERATION
    )


class Modules(Resource):
    """Custom AI modules (`nai.modules`)."""

    def train(
        self,
        text: str | Iterable[str] | None = None,
        *,
        name: str,
        data: str | None = None,
        description: str = "",
        model: str | TextModel = DEFAULT_TRAINING_MODEL,
        steps: int = 1000,
        lr: float = DEFAULT_LEARNING_RATE,
        **request: Unpack[RequestOptions],
    ) -> Module:
        """Starts training a module on a text (or several); spends training steps (one Anlas each).

        The request is the one NovelAI's web client sends: the texts joined into one training set
        (`training_text`), compressed and base64-encoded (`encode_training_data`), with the learning rate, the
        steps and their share of one pass over the set (`percentage`). Training runs on NovelAI's side: follow it
        with `get(module.id)` until its `status` is `ready` (or `error`).

        Which models still train today is not published: the only public sources ([web] and [spec] in this
        module's docstring) name `6B-v3`, `6B-v4` (Sigurd) and `euterpe-v2` (Euterpe), the default here; Kayra,
        Clio, Erato and the GLM models are refused before anything is sent.

        Args:
            text: the training text, or several texts in order (each is followed by `<|endoftext|>`).
            name: the module's name (at most 64 characters).
            data: instead of `text`, a training set already encoded as `encode_training_data` encodes it; it is
                sent as it is, without `percentage`.
            description: the module's description (at most 256 characters).
            model: the model to train for: an id, name or alias of a model in `TRAINABLE_MODELS`.
            steps: training steps (at least 50, within the account's training steps).
            lr: the learning rate.

        Returns:
            The module as NovelAI created it (status `pending`).

        Raises:
            UnknownModelError: the model is not one NovelAI trains modules for; nothing was sent.
            ConfigurationError: both `text` and `data` were given, or neither; nothing was sent.
            ValueError: the training text is empty; nothing was sent.
            BadRequestError: NovelAI refused the request (a model it cannot train, a malformed data set).
            PaymentRequiredError: the account has no active subscription.
            ConflictError: fewer than 50 steps, not enough training steps left, or too many modules training.
        """
        return self._engine.run(_train_flow(text, data, lr, steps, name, description, model), per_call(request))

    def list(self, **request: Unpack[RequestOptions]) -> list[Module]:
        """Every module of the account."""
        return self._engine.run(_list_flow(), per_call(request))

    def get(self, module_id: str, **request: Unpack[RequestOptions]) -> Module:
        """One module."""
        return self._engine.run(_get_flow(module_id), per_call(request))

    def delete(self, module_id: str, **request: Unpack[RequestOptions]) -> None:
        """Deletes a module."""
        self._engine.run(_delete_flow(module_id), per_call(request))

    def buy_steps(self, amount: int, **request: Unpack[RequestOptions]) -> None:
        """Buys `amount` training steps (2000..10000) with Anlas."""
        self._engine.run(_buy_flow(amount), per_call(request))


class AsyncModules(AsyncResource):
    """Custom AI modules (`nai.modules` of `AsyncNovelAI`); see `Modules`."""

    async def train(
        self,
        text: str | Iterable[str] | None = None,
        *,
        name: str,
        data: str | None = None,
        description: str = "",
        model: str | TextModel = DEFAULT_TRAINING_MODEL,
        steps: int = 1000,
        lr: float = DEFAULT_LEARNING_RATE,
        **request: Unpack[RequestOptions],
    ) -> Module:
        """Starts training a module on a text (or several); see `Modules.train`."""
        return await self._engine.run(_train_flow(text, data, lr, steps, name, description, model), per_call(request))

    async def list(self, **request: Unpack[RequestOptions]) -> list[Module]:
        """Every module of the account."""
        return await self._engine.run(_list_flow(), per_call(request))

    async def get(self, module_id: str, **request: Unpack[RequestOptions]) -> Module:
        """One module."""
        return await self._engine.run(_get_flow(module_id), per_call(request))

    async def delete(self, module_id: str, **request: Unpack[RequestOptions]) -> None:
        """Deletes a module."""
        await self._engine.run(_delete_flow(module_id), per_call(request))

    async def buy_steps(self, amount: int, **request: Unpack[RequestOptions]) -> None:
        """Buys `amount` training steps (2000..10000) with Anlas."""
        await self._engine.run(_buy_flow(amount), per_call(request))

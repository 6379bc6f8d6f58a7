"""Model names on the command line: the lookups of `-m/--model` and of `tokenize`/`decode`'s MODEL.

An unknown name is a usage error whose message lists every name the option accepts: each model's id followed by
its aliases (`llama-3-erato-v1 (erato, llama-3-erato)`), which are the short names the help and the examples use.
A model of another kind (`nai generate -m glm-4-6`) names the command that takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from nai_sdk.cli._errors import CliError, ExitCode

if TYPE_CHECKING:
    from nai_sdk.models import ChatModel, ImageModel, TextModel

__all__ = ["accepted_names", "chat_model", "image_model", "text_model", "tokenizer_target"]

Kind = Literal["text", "chat", "image"]

#: The command that takes each kind of model, named when a model of another kind is given.
_COMMAND: Mapping[Kind, str] = {"text": "nai generate", "chat": "nai chat", "image": "nai image"}


def accepted_names(kind: Kind) -> str:
    """Every name `-m` takes for a kind of model: each id, then its other accepted names in brackets.

    Example: `"llama-3-erato-v1 (erato, llama-3-erato); kayra-v1 (kayra); ..."`.
    """
    from nai_sdk.models import CHAT_MODELS, IMAGE_MODELS, TEXT_MODELS

    models: list[TextModel] | list[ChatModel] | list[ImageModel]
    if kind == "text":
        models = list(TEXT_MODELS.values())
    elif kind == "chat":
        models = list(CHAT_MODELS.values())
    else:
        models = list(IMAGE_MODELS.values())
    parts = []
    for model in models:
        others = [alias for alias in model.aliases if alias.lower() != model.id.lower()]
        parts.append(f"{model.id} ({', '.join(others)})" if others else model.id)
    return "; ".join(parts)


def _kind_of(name: str) -> Kind | None:
    """Which kind of model `name` names, if any."""
    from nai_sdk.errors import UnknownModelError
    from nai_sdk.models import get_chat_model, get_image_model, get_model

    for kind, lookup in (("text", get_model), ("chat", get_chat_model), ("image", get_image_model)):
        try:
            lookup(name)
        except UnknownModelError:
            continue
        return kind  # type: ignore[return-value]
    return None


def _unknown(name: str, kind: Kind, option: str) -> CliError:
    other = _kind_of(name)
    if other is not None and other != kind:
        return CliError(
            f"{name!r} is a{'n' if other == 'image' else ''} {other} model, which `{_COMMAND[other]}` takes; "
            f"{option} takes a{'n' if kind == 'image' else ''} {kind} model: "
            f"{accepted_names(kind)}",
            ExitCode.USAGE,
        )
    return CliError(f"unknown {kind} model {name!r}; {option} takes: {accepted_names(kind)}", ExitCode.USAGE)


def text_model(name: str, option: str = "-m/--model") -> TextModel:
    """The text model `name` names (an id, name or alias, any case).

    Raises:
        CliError: no text model has that name; the message lists the accepted names (`ExitCode.USAGE`).
    """
    from nai_sdk.errors import UnknownModelError
    from nai_sdk.models import get_model

    try:
        return get_model(name)
    except UnknownModelError:
        raise _unknown(name, "text", option) from None


def chat_model(name: str, option: str = "-m/--model") -> ChatModel:
    """The chat model `name` names (an id, name or alias, any case).

    Raises:
        CliError: no chat model has that name; the message lists the accepted names (`ExitCode.USAGE`).
    """
    from nai_sdk.errors import UnknownModelError
    from nai_sdk.models import get_chat_model

    try:
        return get_chat_model(name)
    except UnknownModelError:
        raise _unknown(name, "chat", option) from None


def image_model(name: str, option: str = "-m/--model") -> ImageModel:
    """The image model `name` names (an id or alias, any case).

    Raises:
        CliError: no image model has that name; the message lists the accepted names (`ExitCode.USAGE`).
    """
    from nai_sdk.errors import UnknownModelError
    from nai_sdk.models import get_image_model

    try:
        return get_image_model(name)
    except UnknownModelError:
        raise _unknown(name, "image", option) from None


def tokenizer_target(name: str) -> str:
    """Checks that `tokenize` can tokenize for `name` (a text model, a tokenizer, a V1 image model); returns it.

    Raises:
        CliError: nothing of that name has a tokenizer; the message lists the text models with their aliases,
            and the tokenizers (`ExitCode.USAGE`).
    """
    from nai_sdk.errors import UnknownModelError
    from nai_sdk.models import IMAGE_MODELS
    from nai_sdk.tokenizers import TOKENIZER_NAMES, tokenizer_name

    try:
        tokenizer_name(name)
    except UnknownModelError as exc:
        images = ", ".join(model.id for model in IMAGE_MODELS.values() if model.tokenizer is not None)
        known = (
            f"text models: {accepted_names('text')}; tokenizers: {', '.join(TOKENIZER_NAMES)}; "
            f"image models with a tokenizer: {images}"
        )
        if _kind_of(name) is not None:
            raise CliError(f"{exc}; MODEL takes {known}", ExitCode.USAGE) from None
        raise CliError(f"unknown model or tokenizer {name!r}; MODEL takes {known}", ExitCode.USAGE) from None
    return name

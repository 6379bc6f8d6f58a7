"""This is the public API of nai-sdk, the typed Python SDK for NovelAI.

Importing this package is cheap: tokenizers, presets and the HTTP client load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nai_sdk.errors import (
    AnlasLimitError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BackupError,
    BadRequestError,
    CompressionError,
    ConfigurationError,
    ConflictError,
    CryptoError,
    DecryptionError,
    DocumentError,
    FormatError,
    ImageFormatError,
    ImageParamsError,
    InternalServerError,
    KeystoreConflictError,
    KeystoreFormatError,
    NotFoundError,
    NovelAIError,
    ObjectFormatError,
    PaymentRequiredError,
    PermissionDeniedError,
    PresetError,
    RateLimitError,
    StoryFileError,
    StreamError,
    TokenEncodingError,
    TokenizerError,
    UnexpectedAnswerError,
    UnknownModelError,
    UnknownSettingError,
    UnprocessableEntityError,
    UploadRefusedError,
)

#: The package version, written here only: the build (pyproject.toml, [tool.hatch.version]) and the User-Agent read it.
__version__ = "0.1.0"

# Names served on first access, so that `import nai_sdk` loads no tokenizer, preset, argon2 or HTTP stack.
_LAZY: dict[str, str] = {
    "ClientOptions": "nai_sdk._config",
    "Backoff": "nai_sdk._config",
    "OptionArgs": "nai_sdk._config",
    "Kind": "nai_sdk._http",
    "RawResponse": "nai_sdk._request",
    "RequestOptions": "nai_sdk._request",
    "ResponseInfo": "nai_sdk._request",
    "TransportOptions": "nai_sdk._request",
    "V3Params": "nai_sdk.images",
    "V4Params": "nai_sdk.images",
    "V45Params": "nai_sdk.images",
    "V5Params": "nai_sdk.images",
    "CharacterReference": "nai_sdk.images",
    "VibeFile": "nai_sdk.images",
    "ImageMetadata": "nai_sdk.images",
    "read_metadata": "nai_sdk.images",
    "anlas_cost": "nai_sdk.images",
    "Character": "nai_sdk.images",
    "Vibe": "nai_sdk.images",
    "Image": "nai_sdk.images",
    "ImageResult": "nai_sdk.images",
    "GenerationResult": "nai_sdk.resources.text",
    "StreamPiece": "nai_sdk.resources.text",
    "TextStream": "nai_sdk.resources.text",
    "AsyncTextStream": "nai_sdk.resources.text",
    "ChatResult": "nai_sdk.resources.chat",
    "ChatPiece": "nai_sdk.resources.chat",
    "ChatStream": "nai_sdk.resources.chat",
    "AsyncChatStream": "nai_sdk.resources.chat",
    "CompletionResult": "nai_sdk.resources.chat",
    "Story": "nai_sdk.resources.storage",
    "Manifest": "nai_sdk.backup",
    "RestoreReport": "nai_sdk.backup",
    "VerifyReport": "nai_sdk.backup",
    "verify_backup": "nai_sdk.backup",
    "Module": "nai_sdk.resources.modules",
    "NovelAI": "nai_sdk._client",
    "AsyncNovelAI": "nai_sdk._client",
    "AiohttpTransport": "nai_sdk._aiohttp",
    "access_key": "nai_sdk.crypto",
    "encryption_key": "nai_sdk.crypto",
    "Keystore": "nai_sdk.keystore",
    "Document": "nai_sdk.content",
    "UserObject": "nai_sdk.content",
    "decode_document": "nai_sdk.content",
    "decrypt_object": "nai_sdk.content",
    "decrypt_objects": "nai_sdk.content",
    "encode_document": "nai_sdk.content",
    "encrypt_object": "nai_sdk.content",
    "StoryFile": "nai_sdk.content",
    "ScenarioFile": "nai_sdk.content",
    "LorebookFile": "nai_sdk.content",
    "StoryContent": "nai_sdk.content",
    "TextModel": "nai_sdk.models",
    "ImageModel": "nai_sdk.models",
    "get_model": "nai_sdk.models",
    "ChatModel": "nai_sdk.models",
    "get_chat_model": "nai_sdk.models",
    "get_image_model": "nai_sdk.models",
    "Tokenizer": "nai_sdk.tokenizers",
    "get_tokenizer": "nai_sdk.tokenizers",
    "tokens_to_b64": "nai_sdk.tokenizers",
    "b64_to_tokens": "nai_sdk.tokenizers",
    "Preset": "nai_sdk.presets",
    "GlobalSettings": "nai_sdk.presets",
    "BanList": "nai_sdk.presets",
    "BiasGroup": "nai_sdk.presets",
    "build_request": "nai_sdk.presets",
}

if TYPE_CHECKING:
    from nai_sdk._aiohttp import AiohttpTransport
    from nai_sdk._client import AsyncNovelAI, NovelAI
    from nai_sdk._config import Backoff, ClientOptions, OptionArgs
    from nai_sdk._http import Kind
    from nai_sdk._request import RawResponse, RequestOptions, ResponseInfo, TransportOptions
    from nai_sdk.backup import Manifest, RestoreReport, VerifyReport, verify_backup
    from nai_sdk.content import (
        Document,
        LorebookFile,
        ScenarioFile,
        StoryContent,
        StoryFile,
        UserObject,
        decode_document,
        decrypt_object,
        decrypt_objects,
        encode_document,
        encrypt_object,
    )
    from nai_sdk.crypto import access_key, encryption_key
    from nai_sdk.images import (
        Character,
        CharacterReference,
        Image,
        ImageMetadata,
        ImageResult,
        V3Params,
        V4Params,
        V5Params,
        V45Params,
        Vibe,
        VibeFile,
        anlas_cost,
        read_metadata,
    )
    from nai_sdk.keystore import Keystore
    from nai_sdk.models import ChatModel, ImageModel, TextModel, get_chat_model, get_image_model, get_model
    from nai_sdk.presets import BanList, BiasGroup, GlobalSettings, Preset, build_request
    from nai_sdk.resources.chat import AsyncChatStream, ChatPiece, ChatResult, ChatStream, CompletionResult
    from nai_sdk.resources.modules import Module
    from nai_sdk.resources.storage import Story
    from nai_sdk.resources.text import AsyncTextStream, GenerationResult, StreamPiece, TextStream
    from nai_sdk.tokenizers import Tokenizer, b64_to_tokens, get_tokenizer, tokens_to_b64


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nai_sdk' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AiohttpTransport",
    "AnlasLimitError",
    "AsyncChatStream",
    "AsyncNovelAI",
    "AsyncTextStream",
    "AuthenticationError",
    "Backoff",
    "BackupError",
    "BadRequestError",
    "BanList",
    "BiasGroup",
    "Character",
    "CharacterReference",
    "ChatModel",
    "ChatPiece",
    "ChatResult",
    "ChatStream",
    "ClientOptions",
    "CompletionResult",
    "CompressionError",
    "ConfigurationError",
    "ConflictError",
    "CryptoError",
    "DecryptionError",
    "Document",
    "DocumentError",
    "FormatError",
    "GenerationResult",
    "GlobalSettings",
    "Image",
    "ImageFormatError",
    "ImageMetadata",
    "ImageModel",
    "ImageParamsError",
    "ImageResult",
    "InternalServerError",
    "Keystore",
    "KeystoreConflictError",
    "KeystoreFormatError",
    "Kind",
    "LorebookFile",
    "Manifest",
    "Module",
    "NotFoundError",
    "NovelAI",
    "NovelAIError",
    "ObjectFormatError",
    "OptionArgs",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "Preset",
    "PresetError",
    "RateLimitError",
    "RawResponse",
    "RequestOptions",
    "ResponseInfo",
    "RestoreReport",
    "ScenarioFile",
    "Story",
    "StoryContent",
    "StoryFile",
    "StoryFileError",
    "StreamError",
    "StreamPiece",
    "TextModel",
    "TextStream",
    "TokenEncodingError",
    "Tokenizer",
    "TokenizerError",
    "TransportOptions",
    "UnexpectedAnswerError",
    "UnknownModelError",
    "UnknownSettingError",
    "UnprocessableEntityError",
    "UploadRefusedError",
    "UserObject",
    "V3Params",
    "V4Params",
    "V5Params",
    "V45Params",
    "VerifyReport",
    "Vibe",
    "VibeFile",
    "__version__",
    "access_key",
    "anlas_cost",
    "b64_to_tokens",
    "build_request",
    "decode_document",
    "decrypt_object",
    "decrypt_objects",
    "encode_document",
    "encrypt_object",
    "encryption_key",
    "get_chat_model",
    "get_image_model",
    "get_model",
    "get_tokenizer",
    "read_metadata",
    "tokens_to_b64",
    "verify_backup",
]

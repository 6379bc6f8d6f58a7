"""This is the public API of nai-sdk, the typed Python SDK for NovelAI.

Importing this package is cheap: tokenizers, presets and the HTTP client load on first use.
"""

from __future__ import annotations

from nai_sdk.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CompressionError,
    ConfigurationError,
    ConflictError,
    CryptoError,
    DecryptionError,
    DocumentError,
    FormatError,
    InternalServerError,
    KeystoreFormatError,
    NotFoundError,
    NovelAIError,
    ObjectFormatError,
    PaymentRequiredError,
    PermissionDeniedError,
    PresetError,
    RateLimitError,
    StreamError,
    TokenEncodingError,
    TokenizerError,
    UnknownModelError,
    UnprocessableEntityError,
    UploadRefusedError,
)

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CompressionError",
    "ConfigurationError",
    "ConflictError",
    "CryptoError",
    "DecryptionError",
    "DocumentError",
    "FormatError",
    "InternalServerError",
    "KeystoreFormatError",
    "NotFoundError",
    "NovelAIError",
    "ObjectFormatError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PresetError",
    "RateLimitError",
    "StreamError",
    "TokenEncodingError",
    "TokenizerError",
    "UnknownModelError",
    "UnprocessableEntityError",
    "UploadRefusedError",
    "__version__",
]

"""Every error nai-sdk raises, in one tree.

    NovelAIError
    ├── APIError                          anything that went wrong talking to NovelAI
    │   ├── APIConnectionError            the request never got an answer
    │   │   └── APITimeoutError
    │   ├── StreamError                   a stream ended early or sent an error event
    │   ├── UnexpectedAnswerError         a 2xx answer that does not match the spec
    │   └── APIStatusError                the server answered with a non-2xx status
    │       ├── BadRequestError           400
    │       ├── AuthenticationError       401
    │       ├── PaymentRequiredError      402 (no subscription, not enough Anlas)
    │       ├── PermissionDeniedError     403
    │       ├── NotFoundError             404
    │       ├── ConflictError             409 (for objects: a stale changeIndex)
    │       ├── UnprocessableEntityError  422
    │       ├── RateLimitError            429
    │       │   └── QueueTimeoutError         the generation queue's deadline passed (waiting, 429s)
    │       └── InternalServerError       5xx
    ├── CryptoError (also ValueError)     key derivation, encryption, decryption
    │   ├── DecryptionError               wrong key or tampered data
    │   └── KeystoreConflictError         one meta, two different keys: nothing is written
    ├── FormatError (also ValueError)     bytes or JSON that are not what the format says
    │   ├── KeystoreFormatError
    │   ├── ObjectFormatError
    │   ├── CompressionError
    │   ├── DocumentError                 msgpackr story documents
    │   ├── TokenEncodingError            token <-> base64
    │   ├── PresetError                   .preset files and preset data
    │   ├── ImageFormatError              a PNG, image metadata or .naiv4vibe file that cannot be read
    │   ├── BackupError                   a backup folder that cannot be used
    │   └── StoryFileError                .story, .scenario and .lorebook files, and story content
    ├── UploadRefusedError                an object that failed to decrypt cannot be uploaded
    ├── UnknownModelError (also LookupError)
    ├── ImageParamsError (also ValueError)  image settings NovelAI would refuse, caught before sending
    ├── AnlasLimitError                   a request would cost more Anlas than `max_anlas` allows
    ├── TokenizerError                    a tokenizer file is missing or does not match its manifest
    ├── GenerationBudgetError             the opt-in daily generation budget is spent
    └── ConfigurationError                missing credentials or contradictory settings
        └── UnknownSettingError (also TypeError)  a setting name the spec does not know

Messages never contain key material, tokens, access keys or passwords.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AnlasLimitError",
    "AuthenticationError",
    "BackupError",
    "BadRequestError",
    "CompressionError",
    "ConfigurationError",
    "ConflictError",
    "CryptoError",
    "DecryptionError",
    "DocumentError",
    "FormatError",
    "GenerationBudgetError",
    "ImageFormatError",
    "ImageParamsError",
    "InternalServerError",
    "KeystoreConflictError",
    "KeystoreFormatError",
    "NotFoundError",
    "NovelAIError",
    "ObjectFormatError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PresetError",
    "QueueTimeoutError",
    "RateLimitError",
    "StoryFileError",
    "StreamError",
    "TokenEncodingError",
    "TokenizerError",
    "UnexpectedAnswerError",
    "UnknownModelError",
    "UnknownSettingError",
    "UnprocessableEntityError",
    "UploadRefusedError",
    "status_error_class",
]


class NovelAIError(Exception):
    """Base class of every error raised by nai-sdk."""


# --- talking to the service -------------------------------------------------------------------------------------


class APIError(NovelAIError):
    """Something went wrong while talking to NovelAI."""


class APIConnectionError(APIError):
    """The request got no answer: DNS, refused or dropped connection, protocol error."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class StreamError(APIError):
    """A streamed response ended before its final event, or the server sent an error event."""


class UnexpectedAnswerError(APIError):
    """A successful (2xx) answer that the spec's model does not describe: a missing field, a wrong type, a status
    the spec does not declare. The message names the route; the parser's error is the cause."""


class APIStatusError(APIError):
    """The server answered with a status outside 2xx.

    Attributes:
        status_code: the HTTP status.
        message: the server's message if its body had one, else the reason phrase.
        body: the decoded JSON body, or the raw text when it was not JSON.
        headers: the response headers (lower-cased names).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.body = body
        self.headers = headers or {}


class BadRequestError(APIStatusError):
    """400: the request was rejected as invalid."""


class AuthenticationError(APIStatusError):
    """401: missing, wrong or expired credentials."""


class PaymentRequiredError(APIStatusError):
    """402: the account has no active subscription or not enough Anlas."""


class PermissionDeniedError(APIStatusError):
    """403: the account may not do this."""


class NotFoundError(APIStatusError):
    """404: no such object or route."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the server's state.

    For user objects this means the object changed on the server since it was read (a stale changeIndex).
    `local` and `remote` hold both versions when the caller could fetch them.
    """

    local: Any = None
    remote: Any = None


class UnprocessableEntityError(APIStatusError):
    """422: the request was well formed but its content was refused."""


class RateLimitError(APIStatusError):
    """429: too many requests. `retry_after` is the server's hint in seconds, if it gave one."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return None


class QueueTimeoutError(RateLimitError):
    """A generation waited past its deadline (`queue_timeout`): in the account's queue, or through 429s.

    Nothing was generated. It is a `RateLimitError`, so code that handles 429s handles it too.
    """


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The error class for an HTTP status: the one place where statuses are mapped to errors."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


# --- local data -------------------------------------------------------------------------------------------------


class CryptoError(NovelAIError, ValueError):
    """Key derivation, encryption or decryption failed."""


class DecryptionError(CryptoError):
    """The data did not decrypt: the key is wrong or the data was tampered with."""


class KeystoreConflictError(CryptoError):
    """Two keystores give one meta different keys (two devices registered the same meta, or a keystore was altered).

    Keeping either key would make the objects under the other unreadable, so nothing is written. `meta` names it.
    """

    def __init__(self, message: str, meta: str = "") -> None:
        super().__init__(message)
        self.meta = meta


class FormatError(NovelAIError, ValueError):
    """Data is not in the format it claims to be in. The message says what is wrong."""


class KeystoreFormatError(FormatError):
    """The keystore field is not valid base64 of the expected JSON."""


class ObjectFormatError(FormatError):
    """A user object's envelope or payload is malformed."""


class CompressionError(FormatError):
    """A compressed payload is not a valid raw DEFLATE stream."""


class DocumentError(FormatError):
    """A msgpackr story document could not be decoded or encoded."""


class TokenEncodingError(FormatError):
    """Tokens could not be packed into, or unpacked from, base64 with the model's token width."""


class PresetError(FormatError):
    """A preset file or preset data is invalid."""


class BackupError(FormatError):
    """A backup folder that cannot be used: no manifest, an unreadable one, or a damaged keystore file."""


class StoryFileError(FormatError):
    """A `.story`, `.scenario` or `.lorebook` file (or the story content it holds) that cannot be read as one.

    Attributes:
        field: where in the data the problem is, as a path (`"content.lorebook.entries[2].keys"`), or "".
        path: the file, when the data came from one, else None.
    """

    def __init__(self, message: str, *, field: str = "", path: str | None = None) -> None:
        where = f"{field}: " if field else ""
        super().__init__(f"{path}: {where}{message}" if path else f"{where}{message}")
        self.field = field
        self.path = path


class ImageFormatError(FormatError):
    """A PNG, its metadata (text chunks or the alpha-channel form), or a `.naiv4vibe` file that cannot be read."""


class UploadRefusedError(NovelAIError):
    """Refused to encrypt or upload an object whose original content could not be decrypted."""


class UnknownModelError(NovelAIError, LookupError):
    """No model (or tokenizer, or preset) is known by that name."""


class ImageParamsError(NovelAIError, ValueError):
    """Image settings NovelAI would refuse, found before anything is sent.

    Too many characters, a position outside the image, a side that is not a multiple of 64, a mask of another size
    than its image, a feature the model does not have (vibes or Variety+ on V5, ...). Also a `ValueError`.
    """


class AnlasLimitError(NovelAIError):
    """A request would cost more Anlas than the `max_anlas` it was given; nothing was sent.

    Attributes:
        cost: what the request would cost.
        limit: the `max_anlas` it was given.
    """

    def __init__(self, message: str, cost: int, limit: int) -> None:
        super().__init__(message)
        self.cost = cost
        self.limit = limit


class TokenizerError(NovelAIError):
    """A tokenizer file is missing, unreadable or does not match its manifest."""


class GenerationBudgetError(NovelAIError):
    """The opt-in daily generation budget (`daily_generation_budget`) is spent; nothing was sent."""


class ConfigurationError(NovelAIError):
    """Missing credentials or contradictory settings."""


class UnknownSettingError(ConfigurationError, TypeError):
    """A setting (a generation parameter, ...) that the spec does not know, refused before anything is sent.

    Also a `TypeError`, as Python's own error for an unexpected keyword argument. `name` is the setting;
    `suggestion` the nearest known one, or None.
    """

    def __init__(self, message: str, name: str = "", suggestion: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.suggestion = suggestion

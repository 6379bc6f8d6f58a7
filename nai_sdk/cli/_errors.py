"""Exit codes, and the one place where an exception becomes a one-line message and an exit code."""

from __future__ import annotations

from typing import Final

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "describe",
]

#: Everything worked.
EXIT_OK: Final = 0
#: The command ran and something failed: sanity-check found unreadable data, the server refused a request.
EXIT_FAILURE: Final = 1
#: Bad arguments or input (argparse uses 2 as well): unknown model or preset, bad base64, malformed URL.
EXIT_USAGE: Final = 2
#: No credentials, a wrong e-mail or password, a refused or expired token.
EXIT_AUTH: Final = 3
#: The server could not be reached, or did not answer in time.
EXIT_CONNECTION: Final = 4
#: Interrupted with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED: Final = 130


class CliError(Exception):
    """A failure the CLI reports as one line on stderr, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def describe(exc: BaseException, server: str | None = None) -> tuple[int, str] | None:
    """The exit code and message for an expected failure, or None for a bug (shown with a hint to `--debug`).

    SDK messages never contain secrets (see `nai_sdk.errors`), so they are shown as they are.

    Args:
        exc: the failure.
        server: the base URL the command used, named in connection errors.
    """
    from nai_sdk import errors as e

    where = f"is {server} right? check --base-url or NAI_BASE_URL" if server else "check --base-url or NAI_BASE_URL"

    if isinstance(exc, CliError):
        return exc.code, exc.message
    if isinstance(exc, e.AuthenticationError):
        return EXIT_AUTH, f"authentication failed ({exc}): check the e-mail and password, or the token"
    if isinstance(exc, e.PermissionDeniedError):
        return EXIT_AUTH, f"permission denied ({exc})"
    if isinstance(exc, e.PaymentRequiredError):
        return EXIT_FAILURE, f"NovelAI refused: this needs an active subscription or more Anlas ({exc})"
    if isinstance(exc, e.RateLimitError):
        return EXIT_FAILURE, f"too many requests, try again later ({exc})"
    if isinstance(exc, e.APIStatusError):
        return EXIT_FAILURE, f"the server refused the request ({exc})"
    if isinstance(exc, e.APITimeoutError):
        return EXIT_CONNECTION, f"NovelAI did not answer in time: {exc} ({where}, or raise --timeout)"
    if isinstance(exc, e.APIConnectionError):
        return EXIT_CONNECTION, f"cannot reach NovelAI: {exc} ({where})"
    if isinstance(exc, e.UnknownModelError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, e.TokenEncodingError):
        return EXIT_USAGE, f"bad token data: {exc}"
    if isinstance(exc, e.PresetError):
        return EXIT_USAGE, f"bad preset: {exc}"
    if isinstance(exc, e.ConfigurationError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, e.NovelAIError):
        return EXIT_FAILURE, f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_FAILURE, f"{exc.strerror or exc}{where}"
    return None

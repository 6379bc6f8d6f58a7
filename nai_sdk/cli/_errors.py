"""The exit codes of `nai`, and the one place where an exception becomes a one-line message and an exit code.

`ExitCode` is the one table: `nai --help` prints it, docs/cli.md shows it (a test keeps the page equal to it), and
every command returns or raises with one of its members. Failures of files (a missing input, an unwritable output,
a malformed file) are `ExitCode.FILE` in every command: commands read their inputs through `file_errors`, check
their outputs with `check_output_folder` / `check_output_file` before they spend anything, and `describe` maps what
still escapes.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_FAILURE",
    "EXIT_FILE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MEANINGS",
    "CliError",
    "ExitCode",
    "check_output_file",
    "check_output_folder",
    "describe",
    "file_errors",
]


class ExitCode(enum.IntEnum):
    """The exit codes of `nai`, the same for every command (see `MEANINGS` for what each one covers)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    AUTH = 3
    CONNECTION = 4
    FILE = 5
    API = 6
    INTERRUPTED = 130


#: What each exit code means: the text of the table in `nai --help` and in docs/cli.md.
MEANINGS: Final[Mapping[ExitCode, str]] = MappingProxyType(
    {
        ExitCode.OK: "success",
        ExitCode.FAILURE: (
            "failure: the command ran and found a problem (unreadable data in sanity-check or verify-backup, an "
            "object not downloaded, exported, imported or restored, a route family no host serves in doctor, a "
            "cost above --max-anlas), or an unexpected error"
        ),
        ExitCode.USAGE: (
            "usage error: bad arguments or options, an unknown model, preset or setting, bad base64 input, "
            "settings NovelAI would refuse (all checked before anything is sent)"
        ),
        ExitCode.AUTH: "authentication: no credentials, a wrong e-mail or password, a refused or expired token",
        ExitCode.CONNECTION: "connection: the server could not be reached, or did not answer in time",
        ExitCode.FILE: (
            "file error: an input file or folder that is missing, unreadable or malformed, or an output "
            "that cannot be written"
        ),
        ExitCode.API: (
            "API error: NovelAI refused the request (400, 402 no subscription or Anlas, 404, 409, 429, 5xx), or its "
            "answer could not be used (a stream cut short, an answer the spec does not describe)"
        ),
        ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    }
)

# The names the CLI used before `ExitCode`; tests and scripts import them.
#: Everything worked.
EXIT_OK: Final = ExitCode.OK
#: The command ran and something failed: sanity-check found unreadable data, an object was not restored.
EXIT_FAILURE: Final = ExitCode.FAILURE
#: Bad arguments or input (argparse uses 2 as well): unknown model or preset, bad base64, malformed URL.
EXIT_USAGE: Final = ExitCode.USAGE
#: No credentials, a wrong e-mail or password, a refused or expired token.
EXIT_AUTH: Final = ExitCode.AUTH
#: The server could not be reached, or did not answer in time.
EXIT_CONNECTION: Final = ExitCode.CONNECTION
#: A file or folder the command reads is missing, unreadable or malformed, or one it writes cannot be written.
EXIT_FILE: Final = ExitCode.FILE
#: NovelAI answered with an error status (other than 401 and 403), or an answer that cannot be used.
EXIT_API: Final = ExitCode.API
#: Interrupted with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED: Final = ExitCode.INTERRUPTED


class CliError(Exception):
    """A failure the CLI reports as one line on stderr, with its exit code."""

    def __init__(self, message: str, code: int = ExitCode.FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _invalid(what: str, name: str, problem: str) -> str:
    """The message for a malformed file, naming it once (the SDK's own message may name it already)."""
    return f"{what} is not valid: {problem}" if name in problem else f"{what} {name} is not valid: {problem}"


@contextlib.contextmanager
def file_errors(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Turns a failure to read `path`, or a malformed file, into a file error (`ExitCode.FILE`) naming it.

    Args:
        path: the file (or folder) the block reads.
        what: what the file is, for the message ("the preset file").

    Raises:
        CliError: the block raised an `OSError` or a format error of a file (`ExitCode.FILE`).
    """
    from nai_sdk import errors as e

    name = os.fspath(path)
    try:
        yield
    except OSError as exc:
        raise CliError(f"cannot read {what} {name}: {exc.strerror or exc}", ExitCode.FILE) from exc
    except (e.PresetError, e.ImageFormatError, e.StoryFileError, e.BackupError) as exc:
        cause = exc.__cause__
        if isinstance(cause, OSError) and cause.errno is not None:
            # The SDK's wrapping of a read that failed: the file is missing or unreadable, not malformed.
            raise CliError(f"cannot read {what} {name}: {cause.strerror or cause}", ExitCode.FILE) from exc
        if type(cause).__module__.split(".")[0] == "PIL":
            # Pillow's reason names its in-memory buffer (`<_io.BytesIO object at 0x...>`), not the file.
            raise CliError(f"{what} {name} is not an image (a PNG, or a format Pillow reads)", ExitCode.FILE) from exc
        raise CliError(_invalid(what, name, str(exc)), ExitCode.FILE) from exc


def _writable_parent(path: Path) -> None:
    """Raises a file error unless the nearest existing folder above `path` is a folder this process can write."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise CliError(f"cannot write {path}: {parent} is not a folder", ExitCode.FILE)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"cannot write {path}: {parent} is not writable", ExitCode.FILE)


def check_output_folder(path: str | os.PathLike[str], *, empty: bool = False) -> None:
    """Checks, before anything is sent or spent, that files can be written into folder `path`; creates nothing.

    Args:
        path: the output folder: an existing folder, or one that can be created.
        empty: the folder must also be new or empty (a backup never writes over anything).

    Raises:
        CliError: it cannot be used (`ExitCode.FILE`).
    """
    folder = Path(path)
    if folder.exists():
        if not folder.is_dir():
            raise CliError(f"cannot write into {folder}: it is a file, not a folder", ExitCode.FILE)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise CliError(f"cannot write into {folder}: the folder is not writable", ExitCode.FILE)
        if empty and any(folder.iterdir()):
            raise CliError(f"{folder} is not empty: pass a new or empty folder", ExitCode.FILE)
        return
    _writable_parent(folder)


def check_output_file(path: str | os.PathLike[str]) -> None:
    """Checks, before anything is sent or spent, that the file `path` can be written (replaced if it exists).

    Raises:
        CliError: it cannot be written (`ExitCode.FILE`).
    """
    file = Path(path)
    if file.is_dir():
        raise CliError(f"cannot write {file}: it is a folder", ExitCode.FILE)
    if file.exists() and not os.access(file, os.W_OK):
        raise CliError(f"cannot write {file}: the file is not writable", ExitCode.FILE)
    _writable_parent(file)


def describe(exc: BaseException, server: str | None = None) -> tuple[int, str] | None:
    """The exit code and message for an expected failure, or None for a bug (shown with a hint to `--debug`).

    SDK messages never contain secrets (see `nai_sdk.errors`), so they are shown as they are.

    Args:
        exc: the failure.
        server: the base URL the command used, named in connection errors the command did not describe itself.
    """
    from nai_sdk import errors as e

    where = f"is {server} right? check --base-url or NAI_BASE_URL" if server else "check --base-url or NAI_BASE_URL"

    if isinstance(exc, CliError):
        return exc.code, exc.message
    if isinstance(exc, e.AuthenticationError):
        return ExitCode.AUTH, f"authentication failed ({exc}): check the e-mail and password, or the token"
    if isinstance(exc, e.PermissionDeniedError):
        return ExitCode.AUTH, f"permission denied ({exc})"
    if isinstance(exc, e.PaymentRequiredError):
        return ExitCode.API, f"NovelAI refused: this needs an active subscription or more Anlas ({exc})"
    if isinstance(exc, e.RateLimitError):
        return ExitCode.API, f"too many requests, try again later ({exc})"
    if isinstance(exc, e.APIStatusError):
        return ExitCode.API, f"the server refused the request ({exc})"
    if isinstance(exc, e.APITimeoutError):
        return ExitCode.CONNECTION, f"NovelAI did not answer in time: {exc} ({where}, or raise --timeout)"
    if isinstance(exc, e.APIConnectionError):
        return ExitCode.CONNECTION, f"cannot reach NovelAI: {exc} ({where}, or try `nai fake-server`)"
    if isinstance(exc, e.StreamError | e.UnexpectedAnswerError):
        return ExitCode.API, f"NovelAI's answer could not be used: {exc}"
    if isinstance(exc, e.UnknownModelError):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, e.TokenEncodingError):
        return ExitCode.USAGE, f"bad token data: {exc}"
    if isinstance(exc, e.PresetError):
        return ExitCode.USAGE, f"bad preset: {exc}"
    if isinstance(exc, e.ImageParamsError):
        return ExitCode.USAGE, f"invalid image settings: {exc}"
    if isinstance(exc, e.ConfigurationError):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, e.ImageFormatError | e.StoryFileError | e.BackupError | e.TokenizerError):
        return ExitCode.FILE, str(exc)
    if isinstance(exc, e.NovelAIError):
        return ExitCode.FAILURE, f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ConnectionError):
        return ExitCode.CONNECTION, f"{exc.strerror or exc} ({where})"
    if isinstance(exc, OSError):
        name = f": {exc.filename}" if exc.filename else ""
        return ExitCode.FILE, f"{exc.strerror or exc}{name}"
    return None

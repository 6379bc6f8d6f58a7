"""`nai`: the command-line interface of nai-sdk (also `python -m nai_sdk`).

Run `nai --help` for the commands, the credentials they read, and the exit codes scripts can test (`ExitCode`,
the same for every command, documented in docs/cli.md):

    0 success, 1 the command failed, 2 usage error, 3 authentication, 4 connection, 5 file error,
    6 NovelAI refused the request, 130 interrupted.

Errors are reported as one line on stderr (`nai: ...`), never as a traceback unless `--debug` is given.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from nai_sdk.cli._errors import (
    EXIT_API,
    EXIT_AUTH,
    EXIT_CONNECTION,
    EXIT_FAILURE,
    EXIT_FILE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    ExitCode,
    describe,
)
from nai_sdk.cli._image import normalize_argv
from nai_sdk.cli._parser import build_parser

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_CONNECTION",
    "EXIT_FAILURE",
    "EXIT_FILE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "ExitCode",
    "main",
]


def _tolerant_output() -> None:
    # Generated text can hold characters a legacy console encoding cannot show: show an escape, not a crash.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _server(args: object) -> str | None:
    """The base URL a command talked to, as far as its options and the environment tell."""
    for name in ("base_url", "api_base_url", "text_base_url", "image_base_url"):
        value = getattr(args, name, None)
        if value:
            return str(value)
    return os.environ.get("NAI_BASE_URL") or None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs `nai` with `argv` (default: the process arguments).

    Returns:
        The exit code, an `ExitCode`; argparse exits with 0 for `--help` and 2 (`ExitCode.USAGE`) for bad
        arguments.
    """
    parser = build_parser()
    args = parser.parse_args(normalize_argv(sys.argv[1:] if argv is None else argv))
    debug: bool = getattr(args, "debug", False)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _tolerant_output()
    if debug:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("nai_sdk").setLevel(logging.DEBUG)
    from nai_sdk.cli._commands import COMMANDS

    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("\nnai: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`nai generate ... | head`): stop quietly, and keep Python from complaining
        # again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:
        if debug:
            traceback.print_exc()
        described = describe(exc, _server(args))
        code: int
        if described is None:
            code, message = (
                EXIT_FAILURE,
                f"unexpected {type(exc).__name__}: {exc} (a bug: rerun with --debug and report the traceback)",
            )
        else:
            code, message = described
        print(f"nai: {message}", file=sys.stderr)
        return code

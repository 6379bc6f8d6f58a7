"""Credentials from options, the environment or a prompt, and the client built from them.

Options win over the environment. A password is read from `--password`, then `--password-stdin`, then
`NAI_PASSWORD`, then a prompt when stdin is a terminal; it is handed to the client (which keeps only the keys
derived from it) and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Literal

import attrs

from nai_sdk import _constants as c
from nai_sdk.cli._errors import EXIT_AUTH, CliError

if TYPE_CHECKING:
    from nai_sdk import NovelAI

__all__ = ["Credentials", "make_client", "read_password", "resolve_credentials"]

#: `token`: a token, or an e-mail and password to log in with. `password`: the e-mail and password are required
#: (to log in, or to open the keystore); a token, if given, is used for the requests.
Need = Literal["token", "password"]


@attrs.frozen(repr=False)
class Credentials:
    """What the command logs in with. No repr: it holds secrets."""

    token: str | None
    email: str | None
    password: str | None


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def read_password(args: argparse.Namespace, email: str) -> str:
    """The password: `--password`, `--password-stdin`, `$NAI_PASSWORD`, or a prompt on a terminal.

    Raises:
        CliError: none of those gave a password (EXIT_AUTH).
    """
    password: str | None = getattr(args, "password", None)
    if password is None and getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CliError("--password-stdin: stdin held no password", EXIT_AUTH)
    if password is None:
        password = _env(c.ENV_PASSWORD)
    if password is None and sys.stdin.isatty():
        try:
            password = getpass.getpass(f"NovelAI password for {email}: ", stream=sys.stderr)
        except EOFError:
            password = None
    if not password:
        raise CliError(
            f"no password: set {c.ENV_PASSWORD}, use --password-stdin, or run in a terminal to be asked", EXIT_AUTH
        )
    return password


def resolve_credentials(args: argparse.Namespace, need: Need) -> Credentials:
    """The credentials of a command that talks to NovelAI.

    Raises:
        CliError: something required is missing (EXIT_AUTH).
    """
    token = getattr(args, "token", None) or _env(c.ENV_TOKEN)
    email = getattr(args, "email", None) or _env(c.ENV_USERNAME)
    if need == "token" and token is not None:
        return Credentials(token=token, email=None, password=None)
    if email is None:
        if need == "password":
            raise CliError(
                f"this command needs the account e-mail and password: pass --email (or set {c.ENV_USERNAME}) "
                f"and a password ({c.ENV_PASSWORD}, --password-stdin, or the prompt)",
                EXIT_AUTH,
            )
        raise CliError(
            f"no credentials: pass --token (or set {c.ENV_TOKEN}), or --email (or {c.ENV_USERNAME}) with a password",
            EXIT_AUTH,
        )
    if getattr(args, "lowercase_email", False):
        email = email.lower()
    return Credentials(token=token, email=email, password=read_password(args, email))


def make_client(args: argparse.Namespace, credentials: Credentials) -> AbstractContextManager[NovelAI]:
    """A `NovelAI` client with the command's server options and credentials, for a `with` block.

    Its retries after a refused connection are brief, and a server that cannot be reached ends the command with
    one message naming the URL (see `nai_sdk.cli._connect`).

    Raises:
        CliError: bad server options (`ExitCode.USAGE`), or an unreachable server (`ExitCode.CONNECTION`).
        ConfigurationError: a malformed URL or setting (reported as a usage error).
    """
    from nai_sdk.cli._connect import connect

    return connect(args, credentials)

"""The argument parser of `nai`: every subcommand, its options and its help. Imports nothing heavy."""

from __future__ import annotations

import argparse
import textwrap
from typing import Final

from nai_sdk.cli._errors import MEANINGS, ExitCode
from nai_sdk.cli._image import DEFAULT_IMAGE_MODEL, add_image_parser

__all__ = ["DEFAULT_CHAT_MODEL", "DEFAULT_IMAGE_MODEL", "DEFAULT_TEXT_MODEL", "build_parser"]

DEFAULT_TEXT_MODEL: Final = "erato"
DEFAULT_CHAT_MODEL: Final = "glm-4-6"

_DESCRIPTION = """\
nai: NovelAI from the command line (nai-sdk).

Compute your access key, log in, check that all your stories decrypt, download them, back them up and restore
them, tokenize text, generate text and images, or run a local fake NovelAI to try all of it without an account."""

_EPILOG = """\
getting started (no account needed):
  NAI_PASSWORD=secret nai fake-server --account me@example.com &   # a local NovelAI on port 8080
  export NAI_BASE_URL=http://127.0.0.1:8080 NAI_USERNAME=me@example.com NAI_PASSWORD=secret
  nai login                      # prints an access token
  nai generate "The lantern swung in the wind"
  nai tokenize erato "Hello world"

credentials (options win over the environment):
  --token / NAI_TOKEN            an access token or a persistent API token (pst-...)
  --email / NAI_USERNAME         the account e-mail, with a password from --password, --password-stdin,
                                 NAI_PASSWORD, or a prompt when run in a terminal
  Reading stories (sanity-check, download, backup, restore, verify-backup) needs the e-mail and password:
  the keystore key comes from them.
  Secrets are never printed, except what access-key and login are asked to print.

servers: --base-url / NAI_BASE_URL sets all three hosts; --api-base-url, --text-base-url, --image-base-url
  (NAI_API_BASE_URL, NAI_TEXT_BASE_URL, NAI_IMAGE_BASE_URL) set one each.

exit codes (the same for every command):
{exit_codes}

Errors are one line on stderr; add --debug to see the traceback. Run `nai COMMAND --help` for each command."""


def _exit_codes() -> str:
    """The exit-code table of `nai --help`, from `ExitCode` and its meanings (the one table)."""
    lines = []
    for code in ExitCode:
        lines += textwrap.wrap(
            MEANINGS[code],
            width=114,
            initial_indent=f"  {code.value:<4}",
            subsequent_indent=" " * 6,
            break_on_hyphens=False,  # option names (--max-anlas) stay whole
        )
    return "\n".join(lines)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-wrapped description and epilog, and shows defaults where they are set."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=118)


def _common() -> argparse.ArgumentParser:
    # SUPPRESS: a subparser's default would otherwise overwrite `nai --debug generate ...`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and HTTP logging"
    )
    return common


def _email_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    group = parser.add_argument_group("account")
    group.add_argument("-e", "--email", metavar="EMAIL", help="the account e-mail (default: $NAI_USERNAME)")
    group.add_argument(
        "--password",
        metavar="PASSWORD",
        help="the password (default: $NAI_PASSWORD, else a prompt; visible to other users in `ps`, prefer those)",
    )
    group.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    group.add_argument(
        "--lowercase-email",
        action="store_true",
        help="lower-case the e-mail first, as NovelAI's web client does (for addresses typed with capitals)",
    )
    return group


def _server_options(parser: argparse.ArgumentParser, *, token: bool = True) -> None:
    account = _email_options(parser)
    if token:
        account.add_argument(
            "--token", metavar="TOKEN", help="an access token or persistent API token (default: $NAI_TOKEN)"
        )
    group = parser.add_argument_group("server")
    group.add_argument("--base-url", metavar="URL", help="base URL of all three hosts (default: $NAI_BASE_URL)")
    group.add_argument("--api-base-url", metavar="URL", help="the main API (default: https://api.novelai.net)")
    group.add_argument("--text-base-url", metavar="URL", help="text generation (default: https://text.novelai.net)")
    group.add_argument("--image-base-url", metavar="URL", help="images (default: https://image.novelai.net)")
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="per request (default: $NAI_TIMEOUT or 120)")
    group.add_argument(
        "--max-retries", type=int, metavar="N", help="retries after a failure (default: $NAI_MAX_RETRIES or 2)"
    )


def _sub(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    epilog: str,
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog="examples:\n" + epilog,
        formatter_class=_Formatter,
        parents=[common],
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of `nai` and all its subcommands; `args.command` names the subcommand chosen."""
    from nai_sdk import __version__

    common = _common()
    parser = argparse.ArgumentParser(
        prog="nai",
        description=_DESCRIPTION,
        epilog=_EPILOG.format(exit_codes=_exit_codes()),
        formatter_class=_Formatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"nai-sdk {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    p = _sub(
        subparsers,
        "access-key",
        "print the 64-character access key of an e-mail and password (computed locally, nothing is sent)",
        "  nai access-key --email me@example.com          # asks for the password\n"
        "  NAI_PASSWORD=... nai access-key -e me@example.com",
        common,
    )
    _email_options(p)

    p = _sub(
        subparsers,
        "login",
        "log in with the e-mail and password and print an access token (valid for about 30 days)",
        "  nai login -e me@example.com\n"
        "  export NAI_TOKEN=$(nai login -e me@example.com --password-stdin < password.txt)",
        common,
    )
    _server_options(p, token=False)

    p = _sub(
        subparsers,
        "sanity-check",
        "download and decrypt everything (keystore, stories, story content, modules, presets, shelves) "
        "and report what fails and why; exits 1 if anything failed",
        "  nai sanity-check -e me@example.com\n  nai sanity-check --verbose          # also list every object",
        common,
    )
    _server_options(p)
    p.add_argument("-v", "--verbose", action="store_true", help="list every object, not only the failures")

    p = _sub(
        subparsers,
        "doctor",
        "ask every NovelAI host which route families it serves for this account, and show the tier and the "
        "models it can use: the command to run when NovelAI moves something (free reads only, no generation)",
        "  nai doctor -e me@example.com\n  nai doctor --token pst-...        # storage probes then show 401s",
        common,
    )
    _server_options(p)

    p = _sub(
        subparsers,
        "decode",
        "decode base64 token data (a generation's `output`) into token ids and text",
        '  nai decode erato AAEAAAIAAAA=\n  nai decode kayra "$(cat output.b64)" --json',
        common,
    )
    p.add_argument("model", help="the text model (erato, kayra, clio, ...)")
    p.add_argument("data", help="the base64 token data; - reads it from stdin")
    p.add_argument("--json", action="store_true", help='print {"tokens": [...], "text": ...} as JSON')

    p = _sub(
        subparsers,
        "tokenize",
        "tokenize text with a model's tokenizer: token ids, count and the base64 form NovelAI expects",
        '  nai tokenize erato "The lantern swung in the wind."\n  nai tokenize kayra - < chapter.txt --json',
        common,
    )
    p.add_argument("model", help="a text model (erato, kayra, ...) or a tokenizer name (nerdstash_v2, llama3, ...)")
    p.add_argument("text", help="the text; - reads it from stdin")
    p.add_argument("--bos", action="store_true", help="add the model's beginning-of-text token (prompts only)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = _sub(
        subparsers,
        "generate",
        "generate text and stream it to the terminal as it arrives",
        f'  nai generate "The lantern swung in the wind"           # {DEFAULT_TEXT_MODEL}, its default preset\n'
        '  nai generate -m kayra --preset Carefree --max-length 100 "Once upon a time"\n'
        "  nai generate --param temperature=1.2 --param min_length=10 - < prompt.txt",
        common,
    )
    _server_options(p)
    p.add_argument("prompt", help="the prompt; - reads it from stdin")
    p.add_argument("-m", "--model", default=DEFAULT_TEXT_MODEL, help="the text model (default: %(default)s)")
    preset = p.add_mutually_exclusive_group()
    preset.add_argument("--preset", metavar="NAME", help="an official preset of the model (default: its default one)")
    preset.add_argument("--preset-file", metavar="FILE", help="a .preset file exported from NovelAI")
    p.add_argument("--max-length", type=int, metavar="TOKENS", help="the most tokens to generate")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any generation parameter (VALUE is read as JSON when it parses, else as text); repeatable",
    )
    p.add_argument("--no-stream", action="store_true", help="wait for the whole text instead of streaming it")

    p = _sub(
        subparsers,
        "chat",
        "chat with a model of NovelAI's OpenAI-compatible API (GLM-4.6, Xialong), streaming the answers",
        f'  nai chat "Name three rivers of Europe."                    # {DEFAULT_CHAT_MODEL}\n'
        '  nai chat -m xialong --system "You write prose." --max-tokens 200 "A night by the river"\n'
        "  nai chat --param temperature=0.8 --param top_k=40 - < question.txt\n"
        '  nai chat -s "You are terse."      # no message: a conversation, one message a line, Ctrl-D ends it',
        common,
    )
    _server_options(p)
    p.add_argument(
        "message",
        nargs="?",
        help="the message; - reads it from stdin; left out: a conversation, one message a line of stdin",
    )
    p.add_argument("-m", "--model", default=DEFAULT_CHAT_MODEL, help="the chat model (default: %(default)s)")
    p.add_argument("-s", "--system", metavar="TEXT", help="a system message, sent before the conversation")
    p.add_argument("--max-tokens", type=int, metavar="TOKENS", help="the most tokens of each answer")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any chat setting (temperature, top_p, top_k, min_p, stop, ...; VALUE is read as JSON when it parses, "
        "else as text); repeatable",
    )
    p.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a field the spec does not list (NovelAI's own samplers), sent as it is; repeatable",
    )
    p.add_argument("--no-stream", action="store_true", help="wait for each whole answer instead of streaming it")

    add_image_parser(subparsers, common, _sub, _server_options)

    p = _sub(
        subparsers,
        "download",
        "download every story with its content, decrypted, as one JSON file per story (progress on stderr)",
        "  nai download -o my-stories\n  nai download -o backup --no-progress 2> errors.log",
        common,
    )
    _server_options(p)
    p.add_argument("-o", "--out", default="novelai-stories", metavar="DIR", help="folder (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")

    p = _sub(
        subparsers,
        "export",
        "write stories as NovelAI .story files (all of them, or those named by id), decrypted, 0600 "
        "(progress on stderr)",
        "  nai export -o my-stories\n  nai export 3fa1c0... -o .",
        common,
    )
    _server_options(p, token=False)
    p.add_argument("ids", nargs="*", metavar="STORY_ID", help="the stories to export (default: every story)")
    p.add_argument("-o", "--out", default="novelai-stories", metavar="DIR", help="folder (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")

    p = _sub(
        subparsers,
        "import",
        "import .story, .scenario and .lorebook files as new stories (a scenario's placeholders from --set, "
        "else asked for in a terminal, else their defaults); each file is read whole before anything is sent",
        "  nai import ferry.story crossing.scenario\n  nai import crossing.scenario --set pilot=Mira --set "
        "cargo=salt\n  nai import *.story --no-progress",
        common,
    )
    _server_options(p, token=False)
    p.add_argument("files", nargs="+", metavar="FILE", help="the files to import")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="placeholders",
        help="a scenario placeholder's value (repeatable)",
    )
    p.add_argument("--no-prompt", action="store_true", help="never ask for placeholders: use their defaults")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")

    p = _sub(
        subparsers,
        "backup",
        "back up every object and the keystore, byte for byte as NovelAI holds them, with a manifest of sha256s "
        "(into a new or empty folder; files 0600, folders 0700)",
        "  nai backup novelai-backup-$(date +%F)\n  nai backup /mnt/usb/novelai --no-progress",
        common,
    )
    _server_options(p)
    p.add_argument("dir", metavar="DIR", help="the backup folder: new, or empty")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")

    p = _sub(
        subparsers,
        "restore",
        "put a backup back: objects the account lacks are created again (stories pointing at their content); "
        "exits 1 if any object failed",
        "  nai restore novelai-backup-2026-01-31\n  nai restore novelai-backup-2026-01-31 --overwrite -v",
        common,
    )
    _server_options(p)
    p.add_argument("dir", metavar="DIR", help="the backup folder")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="also write the backup's version over objects the account holds under the same id (a 409 is reported)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="list every object and what was done with it")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")

    p = _sub(
        subparsers,
        "verify-backup",
        "check a backup without any network: every file against its sha256, every object decrypts with the "
        "backup's keystore; exits 1 if anything failed",
        "  nai verify-backup novelai-backup-2026-01-31 -e me@example.com",
        common,
    )
    _email_options(p)
    p.add_argument("dir", metavar="DIR", help="the backup folder")

    p = _sub(
        subparsers,
        "fake-server",
        "run a local fake NovelAI (FakeNovelAI) until Ctrl-C, to try the SDK and this CLI without an account",
        "  nai fake-server --state fake.json --account me@example.com     # asks for the account's password\n"
        "  nai fake-server --port 0             # any free port; the first line printed gives the URL",
        common,
    )
    p.add_argument(
        "--split-hosts",
        action="store_true",
        help="serve the api, text and image hosts on three ports, each with the routes NovelAI serves there",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8080, help="port, 0 for any free one (default: %(default)s)")
    p.add_argument("--state", metavar="FILE", help="JSON file the state is loaded from and saved to")
    p.add_argument(
        "--default-tier",
        type=int,
        choices=(0, 1, 2, 3),
        default=3,
        help="subscription of new accounts: 0 Paper .. 3 Opus (default: %(default)s)",
    )
    p.add_argument("--no-subscription", action="store_true", help="new accounts get no subscription (402 on AI)")
    p.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="added before every request")
    p.add_argument("--seed", type=int, default=0, help="seed mixed into every generation (default: %(default)s)")
    p.add_argument("--account", metavar="EMAIL", help="create this account (if missing), with the password given")
    p.add_argument("--password", metavar="PASSWORD", help="password of --account (default: $NAI_PASSWORD or a prompt)")
    p.add_argument("--password-stdin", action="store_true", help="read the password of --account from stdin")
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default: %(default)s)")

    return parser

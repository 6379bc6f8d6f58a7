"""The subcommands of `nai`, one function each: `(args) -> exit code`.

Heavy modules (the HTTP client, tokenizers, presets, the fake server) are imported inside the functions, so that
`nai --help` and a typo cost only argparse.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nai_sdk._files import private_folder, write_private
from nai_sdk.cli._auth import make_client, read_password, resolve_credentials
from nai_sdk.cli._errors import (
    EXIT_CONNECTION,
    EXIT_FAILURE,
    EXIT_FILE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    check_output_file,
    check_output_folder,
    file_errors,
)
from nai_sdk.cli._models import chat_model, text_model, tokenizer_target
from nai_sdk.cli._progress import ProgressBar

if TYPE_CHECKING:
    from nai_sdk import NovelAI
    from nai_sdk.content import UserObject
    from nai_sdk.models import ChatModel
    from nai_sdk.presets import Preset

__all__ = ["COMMANDS"]

#: The object types sanity-check reads, in the order NovelAI's client lists them.
_OBJECT_TYPES = ("stories", "storycontent", "aimodules", "presets", "shelf")
_ENCRYPTED = frozenset({"stories", "storycontent", "aimodules"})


def _out(text: str = "") -> None:
    print(text, file=sys.stdout)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _read_input(value: str, args: argparse.Namespace) -> str:
    """`value`, or all of stdin for `-` (which cannot also carry the password)."""
    if value != "-":
        return value
    if getattr(args, "password_stdin", False):
        raise CliError("stdin cannot carry both the input (-) and the password (--password-stdin)", EXIT_USAGE)
    return sys.stdin.read()


# --- no network ---------------------------------------------------------------------------------------------------


def access_key(args: argparse.Namespace) -> int:
    from nai_sdk import _constants as c
    from nai_sdk import crypto

    email = args.email or os.environ.get(c.ENV_USERNAME) or None
    if email is None:
        raise CliError(f"pass --email (or set {c.ENV_USERNAME})", EXIT_USAGE)
    if args.lowercase_email:
        email = email.lower()
    _out(crypto.access_key(email, read_password(args, email)))
    return EXIT_OK


def decode(args: argparse.Namespace) -> int:
    from nai_sdk.tokenizers import b64_to_tokens, get_tokenizer

    model = text_model(args.model, "MODEL")  # before reading stdin: a typo is a usage error
    data = _read_input(args.data, args).strip()
    tokens = b64_to_tokens(data, model)
    text = get_tokenizer(model).decode(tokens)
    if args.json:
        _out(json.dumps({"model": args.model, "tokens": tokens, "text": text}, ensure_ascii=False))
    else:
        _out(f"tokens ({len(tokens)}): {tokens}")
        _out(f"text: {text}")
    return EXIT_OK


def tokenize(args: argparse.Namespace) -> int:
    from nai_sdk.errors import UnknownModelError
    from nai_sdk.tokenizers import get_tokenizer, tokens_to_b64

    tokenizer_target(args.model)  # before reading stdin: a typo is a usage error
    text = _read_input(args.text, args)
    tokens = get_tokenizer(args.model).encode(text, add_bos=args.bos)
    b64: str | None
    try:
        b64 = tokens_to_b64(tokens, args.model)
    except UnknownModelError:
        # A tokenizer name or an image model: no generation request carries these tokens, so no base64 form.
        b64 = None
    if args.json:
        _out(json.dumps({"model": args.model, "tokens": tokens, "count": len(tokens), "b64": b64}))
    else:
        _out(f"tokens: {tokens}")
        _out(f"count: {len(tokens)}")
        _out(f"b64: {b64 if b64 is not None else '(only for text models)'}")
    return EXIT_OK


# --- account ------------------------------------------------------------------------------------------------------


def login(args: argparse.Namespace) -> int:
    credentials = resolve_credentials(args, "password")
    with make_client(args, credentials) as nai:
        _out(nai.login())
    return EXIT_OK


def sanity_check(args: argparse.Namespace) -> int:
    from nai_sdk.errors import CryptoError, FormatError

    credentials = resolve_credentials(args, "password")
    checked = failed = 0
    with make_client(args, credentials) as nai:
        try:
            keystore = nai.storage.keystore()
        except (CryptoError, FormatError) as exc:
            keystore_ok = False
            failed += 1
            _out(f"keystore: FAILED: {type(exc).__name__}: {exc}")
        else:
            keystore_ok = True
            _out(f"keystore: ok ({len(keystore)} keys)")
        for object_type in _OBJECT_TYPES:
            if object_type in _ENCRYPTED and not keystore_ok:
                _out(f"{object_type}: skipped: encrypted with keys from the keystore, which did not open")
                continue
            objects = nai.storage.objects(object_type)
            bad = [(obj, reason) for obj in objects if (reason := _problem(obj)) is not None]
            checked += len(objects)
            failed += len(bad)
            status = "ok" if not bad else f"{len(bad)} FAILED"
            _out(f"{object_type}: {len(objects)} objects, {status}")
            for obj, reason in bad:
                _out(f"  FAILED {object_type} {obj.id or '(no id)'}: {reason}")
            if args.verbose:
                for obj in objects:
                    if _problem(obj) is None:
                        _out(f"  ok {object_type} {obj.id}{_title_of(obj)}")
    if failed:
        _out(f"sanity check FAILED: {failed} problem(s) in {checked} objects and the keystore")
        return EXIT_FAILURE
    _out(f"sanity check passed: the keystore and all {checked} objects decrypt")
    return EXIT_OK


def doctor(args: argparse.Namespace) -> int:
    from nai_sdk.cli._doctor import diagnose, render

    credentials = resolve_credentials(args, "token")
    with make_client(args, credentials) as nai:
        options = nai.options
        report = diagnose(nai)
    urls = {"api": options.api_url, "text": options.text_url, "image": options.image_url}
    if set(urls.values()) <= set(report.unreachable):
        raise CliError(
            f"cannot reach NovelAI at {', '.join(report.unreachable)}: no host accepted a connection; is the URL "
            "right? Set it with --base-url or NAI_BASE_URL, or start a local fake NovelAI with `nai fake-server`",
            EXIT_CONNECTION,
        )
    _out(render(report, urls))
    unreachable = [family for family, results in report.results.items() if all(r.verdict != "serves" for r in results)]
    if unreachable:
        _err(f"no host serves: {', '.join(unreachable)}")
        return EXIT_FAILURE
    return EXIT_OK


def _problem(obj: UserObject) -> str | None:
    """Why an object is unreadable (its decryption error, or a story document that does not decode), or None."""
    from nai_sdk.errors import NovelAIError

    if obj.error is not None:
        return f"{type(obj.error).__name__}: {obj.error}"
    if obj.type == "storycontent":
        try:
            obj.document()
        except NovelAIError as exc:
            return f"its document does not decode: {type(exc).__name__}: {exc}"
    return None


def _title_of(obj: UserObject) -> str:
    title = obj.data.get("title") if obj.data else None
    return f" ({title!r})" if isinstance(title, str) else ""


# --- generation ---------------------------------------------------------------------------------------------------


def _parameters(pairs: list[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--param takes KEY=VALUE, got {pair!r}", EXIT_USAGE)
        try:
            parameters[key] = json.loads(raw)
        except ValueError:
            parameters[key] = raw
    return parameters


def generate(args: argparse.Namespace) -> int:
    from nai_sdk.presets import Preset

    model = text_model(args.model)  # before asking for a password: a typo is a usage error
    preset: Preset | str | None = args.preset
    if args.preset_file is not None:
        with file_errors(args.preset_file, "the preset file"):
            preset = Preset.from_file(args.preset_file)
    elif args.preset is not None:
        preset = Preset.official(model, args.preset)
    parameters = _parameters(args.param)
    if args.max_length is not None:
        parameters["max_length"] = args.max_length
    prompt = _read_input(args.prompt, args)
    credentials = resolve_credentials(args, "token")
    with make_client(args, credentials) as nai:
        if args.no_stream:
            text = nai.text.generate(prompt, model, preset, **parameters).text
            sys.stdout.write(text)
        else:
            text = ""
            try:
                with nai.text.stream(prompt, model, preset, **parameters) as stream:
                    for piece in stream:
                        text += piece.text
                        sys.stdout.write(piece.text)
                        sys.stdout.flush()
            finally:
                # A stream cut halfway still ends its line, so the error message starts on a line of its own.
                if text and not text.endswith("\n"):
                    sys.stdout.write("\n")
                    text += "\n"
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
    return EXIT_OK


def _chat_turn(
    nai: NovelAI,
    messages: list[dict[str, str]],
    model: ChatModel,
    settings: dict[str, Any],
    extra: dict[str, Any],
    no_stream: bool,
) -> str:
    """Sends one turn and writes the answer to stdout as it arrives; returns the answer."""
    if no_stream:
        text = nai.text.chat(messages, model, extra_body=extra, **settings).text
        sys.stdout.write(text)
    else:
        text = ""
        try:
            with nai.text.chat_stream(messages, model, extra_body=extra, **settings) as stream:
                for piece in stream:
                    text += piece.text
                    sys.stdout.write(piece.text)
                    sys.stdout.flush()
        finally:
            # A stream cut halfway still ends its line, so the error message starts on a line of its own.
            if text and not text.endswith("\n"):
                sys.stdout.write("\n")
                text += "\n"
    if not text.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()
    return text.removesuffix("\n")


def chat(args: argparse.Namespace) -> int:
    from nai_sdk.errors import UnknownSettingError
    from nai_sdk.resources.chat import chat_request

    model = chat_model(args.model)  # before asking for a password: a typo is a usage error
    settings = _parameters(args.param)
    extra = _parameters(args.extra)
    if args.max_tokens is not None:
        settings["max_tokens"] = args.max_tokens
    try:
        chat_request("check", model, settings)  # an unknown setting too
    except UnknownSettingError as exc:
        hint = f"; did you mean {exc.suggestion!r}?" if exc.suggestion else ""
        raise CliError(
            f"unknown chat setting {exc.name!r}{hint} (send fields the spec does not list with --extra)", EXIT_USAGE
        ) from exc
    messages = [{"role": "system", "content": args.system}] if args.system else []
    if args.message is None and getattr(args, "password_stdin", False):
        raise CliError("stdin cannot carry both the conversation and the password (--password-stdin)", EXIT_USAGE)
    first = None if args.message is None else _read_input(args.message, args)
    credentials = resolve_credentials(args, "token")
    with make_client(args, credentials) as nai:
        if first is not None:
            _chat_turn(nai, [*messages, {"role": "user", "content": first}], model, settings, extra, args.no_stream)
            return EXIT_OK
        interactive = sys.stdin.isatty()
        while True:
            if interactive:
                sys.stderr.write("> ")
                sys.stderr.flush()
            line = sys.stdin.readline()
            if not line:
                break
            if not line.strip():
                continue
            messages.append({"role": "user", "content": line.rstrip("\r\n")})
            answer = _chat_turn(nai, messages, model, settings, extra, args.no_stream)
            messages.append({"role": "assistant", "content": answer})
    return EXIT_OK


def image(args: argparse.Namespace) -> int:
    from nai_sdk.cli._image import image as run_image

    return run_image(args)


# --- stories ------------------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w.-]+")


def _file_name(title: str | None, object_id: str) -> str:
    slug = _UNSAFE.sub("-", title or "").strip("-.")[:40]
    safe_id = _UNSAFE.sub("-", object_id) or "no-id"
    return f"{slug}-{safe_id}.json" if slug else f"{safe_id}.json"


def download(args: argparse.Namespace) -> int:
    folder = Path(args.out)
    check_output_folder(folder)  # before the password and the download
    credentials = resolve_credentials(args, "password")
    bar = ProgressBar(enabled=not args.no_progress)
    with make_client(args, credentials) as nai:
        stories = nai.storage.stories(progress=lambda kind, done, total: bar.update(f"downloading {kind}", done, total))
    bar.finish()
    private_folder(folder)
    failed = 0
    for index, story in enumerate(stories, 1):
        errors = []
        if story.story.error is not None:
            errors.append(f"story: {type(story.story.error).__name__}: {story.story.error}")
        if story.content is None:
            errors.append("content: the story's content object is missing")
        elif story.content.error is not None:
            errors.append(f"content: {type(story.content.error).__name__}: {story.content.error}")
        record = {
            "id": story.id,
            "title": story.title,
            "story": story.story.data,
            "content": story.content.data if story.content is not None else None,
            "errors": errors,
        }
        path = folder / _file_name(story.title, story.id)
        # Decrypted text: 0600 from the moment the file exists, even when it replaces an older one.
        write_private(path, (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), durable=False)
        bar.update("writing stories", index, len(stories))
        if errors:
            failed += 1
            bar.finish()
            _err(f"nai: story {story.id}: {'; '.join(errors)}")
    bar.finish()
    _out(f"saved {len(stories)} stories to {folder}")
    if failed:
        _err(f"nai: {failed} of {len(stories)} stories could not be read completely (see their 'errors')")
        return EXIT_FAILURE
    return EXIT_OK


def export(args: argparse.Namespace) -> int:
    from nai_sdk.errors import NovelAIError

    folder = Path(args.out)
    check_output_folder(folder)  # before the password and the download
    credentials = resolve_credentials(args, "password")
    bar = ProgressBar(enabled=not args.no_progress)
    failed = 0
    with make_client(args, credentials) as nai:
        if args.ids:
            stories: list[Any] = list(args.ids)
        else:
            stories = nai.storage.stories(progress=lambda kind, done, total: bar.update(f"reading {kind}", done, total))
            bar.finish()
        private_folder(folder)
        for index, story in enumerate(stories, 1):
            story_id = story if isinstance(story, str) else story.id
            title = None if isinstance(story, str) else story.title
            path = folder / _file_name(title, story_id).removesuffix(".json")
            try:
                nai.storage.export(story, path.with_name(path.name + ".story"))
            except NovelAIError as exc:
                if _ends_the_command(exc):
                    raise
                failed += 1
                bar.finish()
                _err(f"nai: story {story_id} not exported: {exc}")
            bar.update("exporting stories", index, len(stories))
    bar.finish()
    _out(f"exported {len(stories) - failed} of {len(stories)} stories to {folder}")
    return EXIT_FAILURE if failed else EXIT_OK


def _ends_the_command(exc: BaseException) -> bool:
    """Whether a failure of one story or file concerns them all: no connection, or the login refused.

    Those end the command with their own exit code (4, 3) and one message, instead of one "not exported" line per
    story that would all say the same.
    """
    from nai_sdk.errors import APIConnectionError, AuthenticationError, PermissionDeniedError

    return isinstance(exc, APIConnectionError | AuthenticationError | PermissionDeniedError)


def _placeholder_values(args: argparse.Namespace) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in args.placeholders:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--set takes KEY=VALUE, not {pair!r}", EXIT_USAGE)
        values[key] = value
    return values


def _ask_placeholders(file: Any, given: dict[str, str], ask: bool) -> dict[str, str]:
    """A scenario's placeholder values: given ones, then (in a terminal) asked for, then the defaults."""
    values = dict(given)
    for placeholder in file.placeholders:
        if placeholder.key in values or not ask:
            continue
        question = placeholder.description or placeholder.key
        default = f" [{placeholder.default}]" if placeholder.default is not None else ""
        answer = input(f"{file.title or file.path}: {question}{default}: ")
        if answer or placeholder.default is None:
            values[placeholder.key] = answer
    return values


def import_files(args: argparse.Namespace) -> int:
    from nai_sdk.content import ScenarioFile, read_file
    from nai_sdk.errors import NovelAIError

    given = _placeholder_values(args)
    ask = not args.no_prompt and sys.stdin.isatty()
    # Every file is read and checked, and every question answered, before the first upload.
    files = []
    for name in args.files:
        with file_errors(name, "the story file"):
            file = read_file(name)
        values = _ask_placeholders(file, given, ask) if isinstance(file, ScenarioFile) else None
        files.append((name, file, values))
    credentials = resolve_credentials(args, "password")
    bar = ProgressBar(enabled=not args.no_progress)
    failed = 0
    with make_client(args, credentials) as nai:
        for index, (name, file, values) in enumerate(files, 1):
            try:
                story = nai.storage.import_file(file, placeholders=values)
            except NovelAIError as exc:
                if _ends_the_command(exc):
                    raise
                failed += 1
                bar.finish()
                _err(f"nai: {name} not imported: {exc}")
            else:
                if len(files) == 1 or args.no_progress:
                    _out(f"imported {name} as story {story.id} ({story.title or 'untitled'})")
            bar.update("importing files", index, len(files))
    bar.finish()
    if len(files) > 1:
        _out(f"imported {len(files) - failed} of {len(files)} files")
    return EXIT_FAILURE if failed else EXIT_OK


# --- backups ------------------------------------------------------------------------------------------------------


def backup(args: argparse.Namespace) -> int:
    from nai_sdk.errors import BackupError

    check_output_folder(args.dir, empty=True)  # before the password and the download
    credentials = resolve_credentials(args, "password")
    bar = ProgressBar(enabled=not args.no_progress)
    with make_client(args, credentials) as nai:
        try:
            manifest = nai.storage.backup(
                args.dir, progress=lambda kind, done, total: bar.update(f"backing up {kind}", done, total)
            )
        except BackupError as exc:
            # Here it means the account's listing kept changing (another device at work), not a damaged file.
            raise CliError(str(exc), EXIT_FAILURE) from exc
    bar.finish()
    counts = ", ".join(f"{kind} {count}" for kind, count in manifest.counts().items())
    _out(f"backed up {len(manifest.objects)} objects ({counts}) and the keystore to {args.dir}")
    return EXIT_OK


def restore(args: argparse.Namespace) -> int:
    from nai_sdk.backup import read_manifest

    read_manifest(args.dir)  # before asking for a password: not a backup is a file error, and worth none
    credentials = resolve_credentials(args, "password")
    bar = ProgressBar(enabled=not args.no_progress)

    def progress(kind: str, done: int, total: int | None) -> None:
        bar.update(f"reading {kind}" if total is None else f"restoring {kind}", done, total)

    with make_client(args, credentials) as nai:
        report = nai.storage.restore(args.dir, overwrite=args.overwrite, progress=progress)
    bar.finish()
    if args.verbose:
        for verb, items in (
            ("created", report.created),
            ("overwrote", report.overwritten),
            ("skipped", report.skipped),
        ):
            for item in items:
                reason = f": {item.reason}" if item.reason else ""
                _out(f"  {verb} {item.type} {item.backup_id} -> {item.server_id}{reason}")
    for item in report.failed:
        _err(f"nai: {item.type} {item.backup_id} not restored: {item.reason}")
    _out(
        f"restored from {args.dir}: {len(report.created)} created, {len(report.overwritten)} overwritten, "
        f"{len(report.skipped)} already there, {len(report.failed)} failed"
    )
    return EXIT_OK if report.ok else EXIT_FAILURE


def verify_backup(args: argparse.Namespace) -> int:
    from nai_sdk import _constants as c
    from nai_sdk import crypto
    from nai_sdk.backup import read_manifest
    from nai_sdk.backup import verify_backup as verify

    read_manifest(args.dir)  # before asking for a password: not a backup is not worth one
    email = args.email or os.environ.get(c.ENV_USERNAME) or None
    if email is None:
        raise CliError(f"pass --email (or set {c.ENV_USERNAME}): the keystore key comes from it", EXIT_USAGE)
    if args.lowercase_email:
        email = email.lower()
    report = verify(args.dir, crypto.encryption_key(email, read_password(args, email)))
    for failure in report.failures:
        what = "keystore" if failure.type == "keystore" else f"{failure.type} {failure.id}"
        _out(f"FAILED {what} ({failure.file}): {failure.reason}")
    if report.failures:
        _out(f"backup check FAILED: {len(report.failures)} problem(s) in {report.checked} files")
        return EXIT_FAILURE
    _out(f"backup check passed: all {report.checked} files are intact and decrypt (made {report.manifest.created_at})")
    return EXIT_OK


# --- fake server --------------------------------------------------------------------------------------------------


def fake_server(args: argparse.Namespace) -> int:
    try:
        from nai_sdk.testing import FakeNovelAI
    except ModuleNotFoundError as exc:
        raise CliError(
            f"the fake server needs the testing extra ({exc.name} is missing): pip install '.[testing]' from a checkout"
        ) from exc
    from nai_sdk import crypto

    if args.state is not None:
        check_output_file(args.state)  # saved after every change: an unwritable path would fail mid-run
    password = read_password(args, args.account) if args.account else None
    try:
        server = FakeNovelAI(
            default_tier=None if args.no_subscription else args.default_tier,
            latency=args.latency,
            seed=args.seed,
            state_file=args.state,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            split_hosts=args.split_hosts,
        )
    except OSError as exc:
        raise CliError(f"cannot read the state file {args.state}: {exc.strerror or exc}", EXIT_FILE) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise CliError(f"the state file {args.state} is not valid: {exc}", EXIT_FILE) from exc
    if args.account and password is not None:
        key = crypto.access_key(args.account, password)
        if server.state.account_by_key(key) is None:
            server.add_account(key, email=args.account)
            server.save()
    try:
        server.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (from `kill` or a supervisor) stops the server cleanly, which saves the state.
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        if args.split_hosts:
            _out(f"FakeNovelAI listening on api {server.api_url} text {server.text_url} image {server.image_url}")
            sys.stdout.flush()
            for name, url in (("API", server.api_url), ("TEXT", server.text_url), ("IMAGE", server.image_url)):
                _err(f"  export NAI_{name}_BASE_URL={url}")
        else:
            _out(f"FakeNovelAI listening on {server.base_url}")
            sys.stdout.flush()
            _err(f"  export NAI_BASE_URL={server.base_url}")
        if args.account:
            _err(f"  account: {args.account} (with the password given)")
        _err("  state: " + (str(args.state) if args.state else "in memory only (pass --state FILE to keep it)"))
        _err("  stop with Ctrl-C")
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "access-key": access_key,
    "login": login,
    "sanity-check": sanity_check,
    "doctor": doctor,
    "decode": decode,
    "tokenize": tokenize,
    "generate": generate,
    "chat": chat,
    "image": image,
    "download": download,
    "export": export,
    "import": import_files,
    "backup": backup,
    "restore": restore,
    "verify-backup": verify_backup,
    "fake-server": fake_server,
}

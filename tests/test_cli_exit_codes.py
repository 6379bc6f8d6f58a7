"""The exit codes of `nai`: one table (`ExitCode`), printed by the help, and each code from a real run.

Every category of the table is produced by a command run in process against FakeNovelAI (or a closed port), and
every command that reads or writes a file gives `ExitCode.FILE` for a missing input, an unwritable output and a
malformed file; a guard checks that each FILE or DIR argument of the parser has its cases here.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _cli_helpers import Result

from nai_sdk import NovelAI
from nai_sdk._png import encode_png
from nai_sdk.cli import ExitCode, main
from nai_sdk.cli._errors import MEANINGS
from nai_sdk.cli._parser import build_parser
from nai_sdk.testing import FakeNovelAI
from tests.conftest import Credentials

pytestmark = pytest.mark.usefixtures("clean_cli_env")


@pytest.fixture
def run(run: Callable[..., Result], capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """conftest's `run`, with argparse's usage errors (a `SystemExit`) given back as their exit code."""

    def call(*argv: str) -> Result:
        try:
            result: Result = run(*argv)
        except SystemExit as exc:
            captured = capsys.readouterr()
            return Result(int(exc.code or 0), captured.out, captured.err)
        return result

    return call


def _one_line(result: Result) -> None:
    assert result.err.startswith("nai: "), result
    assert 1 == result.err.count("\n"), result
    assert "Traceback" not in result.err


# --- the one table ---------------------------------------------------------------------------------------------


def test_every_code_has_a_meaning_and_the_codes_are_distinct() -> None:
    assert list(ExitCode) == list(MEANINGS)
    assert len({code.value for code in ExitCode}) == len(ExitCode)
    assert (0, 2, 130) == (ExitCode.OK, ExitCode.USAGE, ExitCode.INTERRUPTED)  # the shell's and argparse's


def test_the_help_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    table = help_text.split("exit codes (the same for every command):\n", 1)[1].split("\n\n", 1)[0]
    rows = re.split(r"\n  (?=\d)", "\n" + table)[1:]
    found = [(int(row.split()[0]), " ".join(row.split()[1:])) for row in rows]
    assert [(code.value, MEANINGS[code]) for code in ExitCode] == found


# --- each category from a real run -------------------------------------------------------------------------------


def _corrupt_a_story(fake: FakeNovelAI, creds: Credentials) -> None:
    with NovelAI(email=creds.email, password=creds.password, **fake.urls) as nai:
        story = nai.storage.create_story("Doomed", "text")
    with fake.state.lock:
        obj = fake.state.accounts[creds.account.id].objects["stories"][story.id]
        obj["data"] = base64.b64encode(os.urandom(64)).decode()


class _Interrupting(io.StringIO):
    def read(self, size: int | None = -1) -> str:
        raise KeyboardInterrupt


def test_ok(run: Callable[..., Result]) -> None:
    assert ExitCode.OK == run("tokenize", "erato", "Hello").code


def test_failure_when_the_command_finds_a_problem(
    run: Callable[..., Result], login_env: Credentials, fake: FakeNovelAI
) -> None:
    _corrupt_a_story(fake, login_env)
    result = run("sanity-check")
    assert ExitCode.FAILURE == result.code, result
    assert "sanity check FAILED" in result.out


def test_failure_when_a_request_costs_more_than_max_anlas(
    run: Callable[..., Result], login_env: Credentials, tmp_path: Path
) -> None:
    argv = ("--width", "1024", "--height", "1024", "--steps", "50", "--max-anlas", "0", "-o", str(tmp_path))
    result = run("image", "a castle", *argv)
    assert ExitCode.FAILURE == result.code, result
    assert "nothing was sent" in result.err


@pytest.mark.parametrize(
    "argv",
    [("tokenize", "--nope", "erato", "x"), ("generate", "-m", "gpt-17", "Hello"), ("decode", "erato", "not base64!")],
)
def test_usage(run: Callable[..., Result], argv: tuple[str, ...]) -> None:
    assert ExitCode.USAGE == run(*argv).code


def test_auth(run: Callable[..., Result], login_env: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAI_PASSWORD", "not-the-password")
    result = run("login")
    assert ExitCode.AUTH == result.code, result
    _one_line(result)


def test_connection(run: Callable[..., Result], closed_url: str) -> None:
    result = run("login", "-e", "a@example.com", "--password", "pw", "--base-url", closed_url)
    assert ExitCode.CONNECTION == result.code, result
    _one_line(result)


def test_file(run: Callable[..., Result], tmp_path: Path) -> None:
    result = run("image", "info", str(tmp_path / "missing.png"))
    assert ExitCode.FILE == result.code, result
    _one_line(result)


@pytest.mark.parametrize(
    ("path", "status", "argv"),
    [
        ("/ai/generate", 500, ("generate", "--no-stream", "-m", "kayra", "Hi")),
        ("/ai/generate", 402, ("generate", "--no-stream", "-m", "kayra", "Hi")),
        ("/user/objects/stories", 400, ("download", "--no-progress")),
    ],
)
def test_api(
    run: Callable[..., Result],
    login_env: Credentials,
    fake: FakeNovelAI,
    tmp_path: Path,
    path: str,
    status: int,
    argv: tuple[str, ...],
) -> None:
    fake.inject(path, status=status, message="refused by the test", times=5)
    extra = ("-o", str(tmp_path / "out")) if argv[0] == "download" else ()
    result = run(*argv, *extra)
    assert ExitCode.API == result.code, result
    _one_line(result)
    assert str(status) in result.err


def test_api_when_a_stream_is_cut(run: Callable[..., Result], login_env: Credentials, fake: FakeNovelAI) -> None:
    fake.inject("/ai/generate-stream", drop_mid_stream=3)
    result = run("generate", "The lantern", "-m", "kayra", "--max-length", "40", "--param", "min_length=40")
    assert ExitCode.API == result.code, result


def test_interrupted(run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Interrupting())
    result = run("tokenize", "erato", "-")
    assert ExitCode.INTERRUPTED == result.code, result
    assert "nai: interrupted\n" == result.err.lstrip("\n")


def test_every_code_has_a_test_of_a_real_run() -> None:
    tests = [name for name in globals() if name.startswith("test_")]
    untested = [code for code in ExitCode if not any(name.startswith(f"test_{code.name.lower()}") for name in tests)]
    assert [] == untested


# --- file errors: the same code in every command ------------------------------------------------------------------


def _png(path: Path) -> Path:
    path.write_bytes(encode_png(64, 64, [bytes([80]) * 64 * 3] * 64, alpha=False))
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Paths for the file cases: missing ones, malformed ones, an output below a regular file, a good image."""
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot the rest of a PNG")
    (tmp_path / "bad.preset").write_text("{ not json")
    (tmp_path / "bad.story").write_text("{ not json")
    (tmp_path / "bad.naiv4vibe").write_text("{ not json")
    (tmp_path / "bad-state.json").write_text('{"version": 99}')
    (tmp_path / "bad-backup").mkdir()
    (tmp_path / "bad-backup" / "manifest.json").write_text("{ not json")
    (tmp_path / "in-use").mkdir()
    (tmp_path / "in-use" / "notes.txt").write_text("mine")
    return {
        "missing": str(tmp_path / "missing"),
        "missing.png": str(tmp_path / "missing.png"),
        "unwritable": str(tmp_path / "a-file" / "out"),
        "a-file": str(tmp_path / "a-file"),
        "folder": str(tmp_path),
        "good.png": str(_png(tmp_path / "good.png")),
        "bad.png": str(tmp_path / "bad.png"),
        "bad.preset": str(tmp_path / "bad.preset"),
        "bad.story": str(tmp_path / "bad.story"),
        "bad.naiv4vibe": str(tmp_path / "bad.naiv4vibe"),
        "bad-state.json": str(tmp_path / "bad-state.json"),
        "bad-backup": str(tmp_path / "bad-backup"),
        "in-use": str(tmp_path / "in-use"),
    }


#: (command, file argument) -> its cases: (what is wrong, argv with {placeholders} from `files`).
FILE_CASES: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {
    ("generate", "--preset-file"): [
        ("missing", ("generate", "--preset-file", "{missing}", "Hi")),
        ("malformed", ("generate", "-m", "kayra", "--preset-file", "{bad.preset}", "Hi")),
    ],
    ("import", "files"): [
        ("missing", ("import", "{missing}")),
        ("malformed", ("import", "{bad.story}")),
    ],
    ("download", "--out"): [("unwritable", ("download", "-o", "{unwritable}"))],
    ("export", "--out"): [("unwritable", ("export", "-o", "{unwritable}"))],
    ("backup", "dir"): [
        ("unwritable", ("backup", "{unwritable}")),
        ("a file", ("backup", "{a-file}")),
        ("not empty", ("backup", "{in-use}")),
    ],
    ("restore", "dir"): [
        ("missing", ("restore", "{missing}")),
        ("malformed", ("restore", "{bad-backup}")),
    ],
    ("verify-backup", "dir"): [
        ("missing", ("verify-backup", "{missing}")),
        ("malformed", ("verify-backup", "{bad-backup}")),
    ],
    ("fake-server", "--state"): [
        ("malformed", ("fake-server", "--port", "0", "--state", "{bad-state.json}")),
        ("unwritable", ("fake-server", "--port", "0", "--state", "{unwritable}")),
        ("a folder", ("fake-server", "--port", "0", "--state", "{folder}")),
    ],
    ("image generate", "--image"): [
        ("missing", ("image", "x", "--image", "{missing.png}")),
        ("malformed", ("image", "x", "--image", "{bad.png}")),
    ],
    ("image generate", "--mask"): [
        ("missing", ("image", "x", "--image", "{good.png}", "--mask", "{missing.png}")),
        ("malformed", ("image", "x", "--image", "{good.png}", "--mask", "{bad.png}")),
    ],
    ("image generate", "--vibe"): [
        ("missing", ("image", "x", "--vibe", "{missing}")),
        ("malformed", ("image", "x", "--vibe", "{bad.naiv4vibe}")),
    ],
    ("image generate", "--reference"): [
        ("missing", ("image", "x", "--reference", "{missing.png}")),
        ("malformed", ("image", "x", "--reference", "{bad.png}")),
    ],
    ("image generate", "--out"): [("unwritable", ("image", "x", "-o", "{unwritable}"))],
    ("image cost", "--image"): [("missing", ("image", "cost", "x", "--tier", "opus", "--image", "{missing.png}"))],
    ("image cost", "--mask"): [
        ("malformed", ("image", "cost", "x", "--tier", "opus", "--image", "{good.png}", "--mask", "{bad.png}"))
    ],
    ("image cost", "--vibe"): [("missing", ("image", "cost", "x", "--tier", "opus", "--vibe", "{missing}"))],
    ("image cost", "--reference"): [
        ("malformed", ("image", "cost", "x", "--tier", "opus", "--reference", "{bad.png}"))
    ],
    ("image info", "file"): [
        ("missing", ("image", "info", "{missing.png}")),
        ("malformed", ("image", "info", "{bad.png}")),
    ],
    ("image director", "file"): [
        ("missing", ("image", "director", "lineart", "{missing.png}")),
        ("malformed", ("image", "director", "lineart", "{bad.png}")),
    ],
    ("image director", "--out"): [("unwritable", ("image", "director", "lineart", "{good.png}", "-o", "{unwritable}"))],
    ("image upscale", "file"): [
        ("missing", ("image", "upscale", "{missing.png}")),
        ("malformed", ("image", "upscale", "{bad.png}")),
    ],
    ("image upscale", "--out"): [("unwritable", ("image", "upscale", "{good.png}", "-o", "{unwritable}"))],
    ("image encode-vibe", "file"): [
        ("missing", ("image", "encode-vibe", "{missing.png}")),
        ("malformed image", ("image", "encode-vibe", "{bad.png}")),
        ("malformed vibe file", ("image", "encode-vibe", "{bad.naiv4vibe}")),
    ],
    ("image encode-vibe", "--out"): [("unwritable", ("image", "encode-vibe", "{good.png}", "-o", "{unwritable}"))],
}


def _file_arguments() -> Iterator[tuple[str, str]]:
    """(command, argument) for every argument of the parser whose metavar is FILE or DIR."""

    def walk(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, str]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{prefix} {name}".strip())
            elif action.metavar in ("FILE", "DIR"):
                yield prefix, max(action.option_strings, key=len) if action.option_strings else action.dest

    return walk(build_parser(), "")


def test_every_file_argument_has_file_cases() -> None:
    assert set(_file_arguments()) == set(FILE_CASES)


@pytest.fixture
def nothing_to_reach(monkeypatch: pytest.MonkeyPatch, closed_url: str) -> None:
    """Credentials and a server nobody answers on: a file error found late would show as another code."""
    monkeypatch.setenv("NAI_BASE_URL", closed_url)
    monkeypatch.setenv("NAI_TOKEN", "tok-unused")
    monkeypatch.setenv("NAI_USERNAME", "me@example.com")
    monkeypatch.setenv("NAI_PASSWORD", "pw-unused")
    monkeypatch.setenv("NAI_MAX_RETRIES", "0")


@pytest.mark.usefixtures("nothing_to_reach")
@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(argv, id=f"{command}:{argument}:{what}")
        for (command, argument), cases in FILE_CASES.items()
        for what, argv in cases
    ],
)
def test_file_errors_are_the_same_in_every_command(
    run: Callable[..., Result], files: dict[str, str], tmp_path: Path, argv: tuple[str, ...]
) -> None:
    filled = [re.sub(r"\{([\w.-]+)\}", lambda match: files[match.group(1)], arg) for arg in argv]
    before = sorted(path.name for path in tmp_path.iterdir())
    result = run(*filled)
    assert ExitCode.FILE == result.code, result
    _one_line(result)
    assert before == sorted(path.name for path in tmp_path.iterdir()), "nothing written"


# --- a failure of the account or the connection is not a failure of each story -----------------------------------


@pytest.mark.parametrize("command", ["export", "import"])
@pytest.mark.parametrize(("breakage", "expected"), [("password", ExitCode.AUTH), ("server", ExitCode.CONNECTION)])
def test_export_and_import_stop_at_the_first_account_wide_failure(
    run: Callable[..., Result],
    login_env: Credentials,
    fake: FakeNovelAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    closed_url: str,
    command: str,
    breakage: str,
    expected: ExitCode,
) -> None:
    with NovelAI(email=login_env.email, password=login_env.password, **fake.urls) as nai:
        stories = [nai.storage.create_story(title, "text") for title in ("One", "Two")]
        files = [str(nai.storage.export(story, tmp_path / f"{story.id}.story")) for story in stories]
    if breakage == "password":
        monkeypatch.setenv("NAI_PASSWORD", "not-the-password")
    else:
        for name in ("NAI_API_BASE_URL", "NAI_TEXT_BASE_URL", "NAI_IMAGE_BASE_URL"):
            monkeypatch.setenv(name, closed_url)
    if command == "export":
        result = run("export", *(story.id for story in stories), "-o", str(tmp_path / "out"), "--no-progress")
    else:
        result = run("import", *files, "--no-progress")
    assert expected == result.code, result
    _one_line(result)

"""The `nai` command line, in process (`main(argv)` with captured output) and as a subprocess, against FakeNovelAI."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import Result

from nai_sdk import NovelAI, crypto
from nai_sdk.cli import EXIT_API, EXIT_AUTH, EXIT_CONNECTION, EXIT_FAILURE, EXIT_FILE, EXIT_OK, EXIT_USAGE, main
from nai_sdk.cli._progress import ProgressBar
from nai_sdk.content import UserObject
from nai_sdk.testing import FakeNovelAI
from tests.conftest import Credentials

pytestmark = pytest.mark.usefixtures("clean_cli_env")

COMMANDS = (
    "access-key",
    "login",
    "sanity-check",
    "doctor",
    "decode",
    "tokenize",
    "generate",
    "chat",
    "image",
    "download",
    "fake-server",
)
# "The lantern swung in the wind." with Erato's tokenizer (Llama 3), and its 4-bytes-a-token base64.
LANTERN = "The lantern swung in the wind."
LANTERN_ERATO = [791, 74265, 70955, 304, 279, 10160, 13]
LANTERN_ERATO_B64 = "FwMAABkiAQArFQEAMAEAABcBAACwJwAADQAAAA=="


def _client(fake: FakeNovelAI, creds: Credentials) -> NovelAI:
    return NovelAI(email=creds.email, password=creds.password, **fake.urls)


def _host_env(fake: FakeNovelAI) -> dict[str, str]:
    """The fake's three hosts as the environment variables that name them (it serves each host apart)."""
    return {"NAI_API_BASE_URL": fake.api_url, "NAI_TEXT_BASE_URL": fake.text_url, "NAI_IMAGE_BASE_URL": fake.image_url}


def _host_options(fake: FakeNovelAI) -> tuple[str, ...]:
    """The fake's three hosts as command-line options."""
    return ("--api-base-url", fake.api_url, "--text-base-url", fake.text_url, "--image-base-url", fake.image_url)


def _assert_clean_failure(result: Result, code: int, *secrets: str) -> None:
    assert code == result.code, result
    assert "Traceback" not in result.err
    assert result.err.startswith("nai: ")
    assert result.err.count("\n") == 1, "one line"
    for secret in secrets:
        assert secret not in result.err
        assert secret not in result.out


# --- help, usage ---------------------------------------------------------------------------------------------------


def test_help_documents_exit_codes_and_environment(run: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run("--help")
    assert 0 == exit_info.value.code


def test_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for expected in ("exit codes", "3   authentication", "4   connection", "5   file error", "NAI_BASE_URL", *COMMANDS):
        assert expected in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert 0 == exit_info.value.code
    assert "examples:\n  nai " + command in capsys.readouterr().out


def test_no_command_is_a_usage_error(run: Any) -> None:
    result = run()
    assert EXIT_USAGE == result.code
    assert "usage: nai" in result.err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tokenize", "--nope", "erato", "x"])
    assert EXIT_USAGE == exit_info.value.code


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom nai_sdk.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('httpx', 'nai_client', 'tokenizers', 'nacl', 'argon2', 'nai_sdk._client', 'attrs')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "[]" == completed.stdout.strip().splitlines()[-1]


def test_python_m_nai_sdk_runs_the_cli() -> None:
    completed = subprocess.run([sys.executable, "-m", "nai_sdk", "--version"], capture_output=True, text=True)
    assert 0 == completed.returncode
    assert completed.stdout.startswith("nai-sdk ")


# --- access-key ----------------------------------------------------------------------------------------------------


def test_access_key_matches_the_vector(run: Any) -> None:
    result = run("access-key", "--email", "test@example.com", "--password", "password123")
    assert (EXIT_OK, "5TjO-5RT1mNI59hEHZXjBJZpp2yvC4L0LJUeIhRwkZHxgIHEutHp8EgOwvynvwLu\n") == (result.code, result.out)


def test_access_key_reads_environment_and_password_stdin(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAI_USERNAME", "test@example.com")
    monkeypatch.setattr(sys, "stdin", io.StringIO("password123\n"))
    result = run("access-key", "--password-stdin")
    assert "5TjO-5RT1mNI59hEHZXjBJZpp2yvC4L0LJUeIhRwkZHxgIHEutHp8EgOwvynvwLu\n" == result.out


def test_access_key_lowercase_email(run: Any) -> None:
    result = run("access-key", "-e", "Test@Example.com", "--password", "password123", "--lowercase-email")
    assert "5TjO-5RT1mNI59hEHZXjBJZpp2yvC4L0LJUeIhRwkZHxgIHEutHp8EgOwvynvwLu\n" == result.out


def test_access_key_without_password_off_a_terminal(run: Any) -> None:
    result = run("access-key", "-e", "test@example.com")
    _assert_clean_failure(result, EXIT_AUTH)
    assert "NAI_PASSWORD" in result.err


def test_access_key_prompts_on_a_terminal(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def fake_getpass(prompt: str, stream: Any = None) -> str:
        prompts.append(prompt)
        return "password123"

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    result = run("access-key", "-e", "test@example.com")
    assert "5TjO-5RT1mNI59hEHZXjBJZpp2yvC4L0LJUeIhRwkZHxgIHEutHp8EgOwvynvwLu\n" == result.out
    assert ["NovelAI password for test@example.com: "] == prompts


# --- login ---------------------------------------------------------------------------------------------------------


def test_login_prints_a_working_token(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    result = run("login")
    assert EXIT_OK == result.code, result
    token = result.out.strip()
    with fake.state.lock:
        assert login_env.account.id == fake.state.tokens[token]
    assert login_env.password not in result.out + result.err


def test_login_with_options(run: Any, fake: FakeNovelAI, creds: Credentials) -> None:
    result = run("login", *_host_options(fake), "-e", creds.email, "--password", creds.password)
    assert EXIT_OK == result.code, result


def test_login_wrong_password(run: Any, login_env: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAI_PASSWORD", "not-the-password")
    result = run("login")
    _assert_clean_failure(result, EXIT_AUTH, "not-the-password")
    assert "authentication failed" in result.err
    assert "401" in result.err


def test_login_missing_email(run: Any, fake: FakeNovelAI) -> None:
    result = run("login", *_host_options(fake))
    _assert_clean_failure(result, EXIT_AUTH)
    assert "--email" in result.err


def test_login_unreachable_server(run: Any, closed_url: str) -> None:
    url = closed_url
    result = run("login", "-e", "a@example.com", "--password", "pw-secret", "--base-url", url, "--max-retries", "0")
    _assert_clean_failure(result, EXIT_CONNECTION, "pw-secret")
    assert "cannot reach NovelAI" in result.err
    assert url in result.err


def test_malformed_base_url(run: Any) -> None:
    result = run("login", "-e", "a@example.com", "--password", "pw", "--base-url", "ftp://example.com")
    _assert_clean_failure(result, EXIT_USAGE)


def test_debug_shows_the_traceback(run: Any, login_env: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAI_PASSWORD", "wrong")
    result = run("--debug", "login")
    assert EXIT_AUTH == result.code
    assert "Traceback" in result.err
    assert "AuthenticationError" in result.err


def test_wrong_password_in_a_subprocess_has_no_traceback(fake: FakeNovelAI, creds: Credentials) -> None:
    env = {**os.environ, **_host_env(fake), "NAI_USERNAME": creds.email, "NAI_PASSWORD": "wrong-pw"}
    completed = subprocess.run([sys.executable, "-m", "nai_sdk", "login"], capture_output=True, text=True, env=env)
    assert EXIT_AUTH == completed.returncode
    assert "" == completed.stdout
    assert completed.stderr.startswith("nai: authentication failed")
    assert "Traceback" not in completed.stderr
    assert "wrong-pw" not in completed.stderr


# --- tokenize, decode ----------------------------------------------------------------------------------------------


def test_tokenize(run: Any) -> None:
    result = run("tokenize", "erato", LANTERN)
    assert EXIT_OK == result.code
    assert f"tokens: {LANTERN_ERATO}\ncount: 7\nb64: {LANTERN_ERATO_B64}\n" == result.out


def test_tokenize_json_from_stdin(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(LANTERN))
    result = run("tokenize", "erato", "-", "--json")
    expected = {"model": "erato", "tokens": LANTERN_ERATO, "count": 7, "b64": LANTERN_ERATO_B64}
    assert expected == json.loads(result.out)


def test_tokenize_with_a_tokenizer_name_has_no_b64(run: Any) -> None:
    result = run("tokenize", "llama3", LANTERN, "--json")
    assert {"model": "llama3", "tokens": LANTERN_ERATO, "count": 7, "b64": None} == json.loads(result.out)


def test_tokenize_unknown_model(run: Any) -> None:
    result = run("tokenize", "no-such-model", "text")
    _assert_clean_failure(result, EXIT_USAGE)
    assert "no-such-model" in result.err


def test_decode(run: Any) -> None:
    result = run("decode", "erato", LANTERN_ERATO_B64)
    assert EXIT_OK == result.code
    assert f"tokens (7): {LANTERN_ERATO}\ntext: {LANTERN}\n" == result.out


def test_decode_json(run: Any) -> None:
    result = run("decode", "erato", LANTERN_ERATO_B64, "--json")
    assert {"model": "erato", "tokens": LANTERN_ERATO, "text": LANTERN} == json.loads(result.out)


@pytest.mark.parametrize(
    "data",
    [
        "not base64!",
        "AAA",  # not a multiple of four characters
        "AAAAAAA=",  # 5 bytes: not a whole number of 4-byte tokens
        base64.b64encode((200_000).to_bytes(4, "little")).decode(),  # beyond the vocabulary
    ],
)
def test_decode_bad_data(run: Any, data: str) -> None:
    result = run("decode", "erato", data)
    _assert_clean_failure(result, EXIT_USAGE)
    assert "bad token data" in result.err


def test_decode_unknown_model(run: Any) -> None:
    result = run("decode", "gpt-17", "AAAA")
    _assert_clean_failure(result, EXIT_USAGE)
    assert "unknown text model 'gpt-17'" in result.err


# --- generate, image -----------------------------------------------------------------------------------------------


def test_generate_streams(run: Any, login_env: Credentials) -> None:
    result = run("generate", "The lantern swung", "--max-length", "12", "--param", "min_length=12")
    assert EXIT_OK == result.code, result
    assert result.out.strip()
    assert result.out.endswith("\n")


@pytest.mark.parametrize(
    "extra",
    [
        ("--no-stream",),
        ("-m", "kayra", "--preset", "Carefree"),
        ("-m", "erato", "--preset", "Golden Arrow", "--param", "temperature=1.2", "--param", "min_length=2"),
    ],
)
def test_generate_options(run: Any, login_env: Credentials, extra: tuple[str, ...]) -> None:
    result = run("generate", "The lantern swung", "--max-length", "8", *extra)
    assert EXIT_OK == result.code, result
    assert result.out.strip()


def test_generate_stream_cut_midway(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    fake.inject("/ai/generate-stream", drop_mid_stream=3)
    result = run("generate", "The lantern swung", "-m", "kayra", "--max-length", "40", "--param", "min_length=40")
    _assert_clean_failure(result, EXIT_API)
    assert "stream" in result.err
    assert result.out.endswith("\n")


def test_chat_streams(run: Any, login_env: Credentials) -> None:
    result = run("chat", "-s", "You are terse.", "Hello", "--max-tokens", "5", "--param", "temperature=0.5")
    assert EXIT_OK == result.code, result
    assert 5 == len(result.out.split())
    assert result.out.endswith("\n")


def test_chat_conversation_from_stdin(run: Any, login_env: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Hello\n\nAnd then?\n"))
    result = run("chat", "-m", "xialong", "--no-stream", "--max-tokens", "3", "--extra", "unified_linear=0.5")
    assert EXIT_OK == result.code, result
    assert [3, 3] == [len(line.split()) for line in result.out.splitlines()]


def test_chat_stream_cut_midway(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    fake.inject("/oa/v1/chat/completions", drop_mid_stream=3)
    result = run("chat", "Hello", "--max-tokens", "20")
    _assert_clean_failure(result, EXIT_API)
    assert "stream" in result.err
    assert result.out.endswith("\n")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("-m", "kayra"), "'kayra' is a text model, which `nai generate` takes"),
        (("-m", "glm-9"), "xialong-v1 (xialong)"),
        (("--param", "tempreture=1"), "--extra"),
    ],
)
def test_chat_usage_errors_before_credentials(run: Any, argv: tuple[str, ...], expected: str) -> None:
    result = run("chat", *argv, "Hello")
    _assert_clean_failure(result, EXIT_USAGE)
    assert expected in result.err


def test_generate_with_a_token(
    run: Any, fake: FakeNovelAI, creds: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAI_TOKEN", creds.token)
    result = run("generate", "Hello", "--max-length", "4", *_host_options(fake))
    assert EXIT_OK == result.code, result


def test_generate_with_a_preset_file(run: Any, login_env: Credentials, tmp_path: Path) -> None:
    from nai_sdk.presets import Preset

    path = tmp_path / "mine.preset"
    Preset.official("kayra", "Carefree").to_file(path)
    result = run("generate", "-m", "kayra", "--preset-file", str(path), "--max-length", "4", "Hi")
    assert EXIT_OK == result.code, result


def test_generate_bad_preset_file(run: Any, login_env: Credentials, tmp_path: Path) -> None:
    path = tmp_path / "broken.preset"
    path.write_text("{ not json", encoding="utf-8")
    result = run("generate", "-m", "kayra", "--preset-file", str(path), "Hi")
    _assert_clean_failure(result, EXIT_FILE)
    assert f"nai: the preset file is not valid: {path}: " in result.err


def test_generate_missing_token(run: Any, fake: FakeNovelAI) -> None:
    result = run("generate", "Hello", *_host_options(fake))
    _assert_clean_failure(result, EXIT_AUTH)
    assert "no credentials" in result.err
    assert "NAI_TOKEN" in result.err


def test_generate_refused_token(run: Any, fake: FakeNovelAI) -> None:
    result = run("generate", "Hello", "--token", "fake-not-a-token", *_host_options(fake))
    _assert_clean_failure(result, EXIT_AUTH, "fake-not-a-token")


def test_generate_unknown_model_before_credentials(run: Any) -> None:
    result = run("generate", "-m", "gpt-17", "Hello")
    _assert_clean_failure(result, EXIT_USAGE)
    assert "gpt-17" in result.err


def test_generate_unknown_preset(run: Any) -> None:
    result = run("generate", "-m", "kayra", "--preset", "Nope", "Hello")
    _assert_clean_failure(result, EXIT_USAGE)
    assert "Carefree" in result.err  # the known presets are listed


def test_generate_bad_param(run: Any) -> None:
    result = run("generate", "--param", "temperature", "Hello")
    _assert_clean_failure(result, EXIT_USAGE)


def test_generate_without_subscription(
    run: Any, fake: FakeNovelAI, monkeypatch: pytest.MonkeyPatch, creds: Credentials
) -> None:
    with FakeNovelAI() as poor:  # no default tier: AI routes answer 402
        _, token = poor.add_account(crypto.access_key(creds.email, creds.password))
        result = run("generate", "Hi", "--token", token, "--base-url", poor.base_url)
    _assert_clean_failure(result, EXIT_API, token)
    assert "subscription" in result.err


def test_generate_unreachable(run: Any, closed_url: str) -> None:
    url = closed_url
    result = run("generate", "Hi", "--token", "tok-secret", "--base-url", url, "--max-retries", "0")
    _assert_clean_failure(result, EXIT_CONNECTION, "tok-secret")


def test_image_saves_pngs(run: Any, login_env: Credentials, tmp_path: Path) -> None:
    out = tmp_path / "pictures"
    result = run("image", "a lantern", "-o", str(out), "--seed", "7", "--samples", "2", "--width", "512")
    assert EXIT_OK == result.code, result
    assert [str(out / "nai-7-0.png"), str(out / "nai-7-1.png")] == result.out.split()
    for path in out.iterdir():
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_image_count_runs_generations_one_after_another(
    run: Any, login_env: Credentials, fake: FakeNovelAI, tmp_path: Path
) -> None:
    # Another device holds the account's generation lock for the first attempt: the user never sees the 429.
    fake.inject("/ai/generate-image", status=429, message="Concurrent generation is locked")
    out = tmp_path / "batch"
    result = run("image", "a lantern", "-o", str(out), "--seed", "7", "--count", "3", "--width", "512")
    assert EXIT_OK == result.code, result
    assert [str(out / f"nai-{seed}-0.png") for seed in (7, 8, 9)] == result.out.split()
    assert "429" not in result.err
    assert "3 image(s) saved" in result.err


@pytest.mark.parametrize("model", ["nai-diffusion-3", "nai-diffusion-4-full"])
def test_image_other_models(run: Any, login_env: Credentials, tmp_path: Path, model: str) -> None:
    result = run("image", "a lantern", "-o", str(tmp_path), "-m", model, "--width", "512", "--height", "512")
    assert EXIT_OK == result.code, result


def test_image_unknown_model(run: Any, tmp_path: Path) -> None:
    result = run("image", "x", "-m", "dall-e", "-o", str(tmp_path))
    _assert_clean_failure(result, EXIT_USAGE)


def test_image_bad_size(run: Any, tmp_path: Path) -> None:
    result = run("image", "x", "--width", "500", "-o", str(tmp_path))
    _assert_clean_failure(result, EXIT_USAGE)
    assert "invalid image settings" in result.err


# --- sanity-check, download ----------------------------------------------------------------------------------------


def _corrupt(fake: FakeNovelAI, creds: Credentials, object_type: str, object_id: str) -> None:
    """Replace an object's ciphertext on the server with random bytes of a plausible length."""
    with fake.state.lock:
        obj = fake.state.accounts[creds.account.id].objects[object_type][object_id]
        obj["data"] = base64.b64encode(os.urandom(64)).decode()


def test_sanity_check_passes(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    with _client(fake, login_env) as nai:
        nai.storage.create_story("One", "first")
        nai.storage.create_story("Two", "second")
    result = run("sanity-check", "--verbose")
    assert EXIT_OK == result.code, result
    assert "keystore: ok (2 keys)" in result.out
    assert "stories: 2 objects, ok" in result.out
    assert "'One'" in result.out
    assert "sanity check passed" in result.out


def test_sanity_check_reports_a_corrupted_object(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    with _client(fake, login_env) as nai:
        story = nai.storage.create_story("Doomed", "text")
        nai.storage.create_story("Fine", "text")
    assert story.content is not None
    _corrupt(fake, login_env, "storycontent", story.content.id)
    result = run("sanity-check")
    assert EXIT_FAILURE == result.code, result
    assert f"FAILED storycontent {story.content.id}: DecryptionError" in result.out
    assert "storycontent: 2 objects, 1 FAILED" in result.out
    assert "stories: 2 objects, ok" in result.out
    assert "sanity check FAILED: 1 problem(s)" in result.out


def test_sanity_check_reports_a_bad_document(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    with _client(fake, login_env) as nai:
        keystore = nai.storage.keystore()
        bad = nai.storage.create(UserObject.new("storycontent", {"document": "not base64 at all!"}, keystore))
    result = run("sanity-check")
    assert EXIT_FAILURE == result.code, result
    assert f"FAILED storycontent {bad.id}: its document does not decode: DocumentError" in result.out


def test_sanity_check_reports_a_corrupted_keystore(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    with _client(fake, login_env) as nai:
        nai.storage.create_story("Lost", "text")
        nai.storage.create(UserObject.new("presets", {"name": "plain"}))
    with fake.state.lock:
        account = fake.state.accounts[login_env.account.id]
        field = json.loads(base64.b64decode(account.keystore or ""))
        field["sdata"] = [(b + 1) % 256 for b in field["sdata"]]
        account.keystore = base64.b64encode(json.dumps(field).encode()).decode()
    result = run("sanity-check")
    assert EXIT_FAILURE == result.code, result
    assert "keystore: FAILED: DecryptionError" in result.out
    assert "stories: skipped" in result.out
    assert "presets: 1 objects, ok" in result.out


def test_sanity_check_needs_email_and_password(run: Any, fake: FakeNovelAI, creds: Credentials) -> None:
    result = run("sanity-check", "--token", creds.token, *_host_options(fake))
    _assert_clean_failure(result, EXIT_AUTH, creds.token)
    assert "e-mail and password" in result.err


def test_download_writes_one_json_per_story(
    run: Any, login_env: Credentials, fake: FakeNovelAI, tmp_path: Path
) -> None:
    with _client(fake, login_env) as nai:
        story = nai.storage.create_story("The Lantern / Keeper", "Once upon a time")
    result = run("download", "-o", str(tmp_path / "out"))
    assert EXIT_OK == result.code, result
    files = list((tmp_path / "out").iterdir())
    assert [f"The-Lantern-Keeper-{story.id}.json"] == [path.name for path in files]
    record = json.loads(files[0].read_text(encoding="utf-8"))
    assert (story.id, "The Lantern / Keeper", []) == (record["id"], record["title"], record["errors"])
    assert {"fragments": [{"data": "Once upon a time"}]} == record["content"]["story"]
    assert "saved 1 stories" in result.out
    # Off a terminal, the progress bar prints one line per phase.
    assert "downloading stories: 1\ndownloading storycontent: 1\nwriting stories [" in result.err


def test_download_reports_unreadable_stories(
    run: Any, login_env: Credentials, fake: FakeNovelAI, tmp_path: Path
) -> None:
    with _client(fake, login_env) as nai:
        story = nai.storage.create_story("Doomed", "text")
    _corrupt(fake, login_env, "stories", story.id)
    result = run("download", "-o", str(tmp_path), "--no-progress")
    assert EXIT_FAILURE == result.code, result
    assert f"nai: story {story.id}: story: DecryptionError" in result.err
    record = json.loads((tmp_path / f"{story.id}.json").read_text(encoding="utf-8"))
    assert record["story"] is None
    assert record["errors"]


def test_download_wrong_password(
    run: Any, login_env: Credentials, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAI_PASSWORD", "wrong-password")
    result = run("download", "-o", str(tmp_path))
    _assert_clean_failure(result, EXIT_AUTH, "wrong-password")


# --- progress bar --------------------------------------------------------------------------------------------------


def test_progress_bar_live_redraws_in_place() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, live=True)
    bar.update("writing", 2, 4)
    bar.update("writing", 4, 4)
    bar.finish()
    assert stream.getvalue().endswith("\r\x1b[Kwriting [" + "#" * 30 + "] 4/4\n")
    assert stream.getvalue().startswith("\r\x1b[Kwriting [" + "#" * 15 + "." * 15 + "] 2/4")


def test_progress_bar_disabled_writes_nothing() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, enabled=False)
    bar.update("x", 1)
    bar.finish()
    assert "" == stream.getvalue()


# --- fake-server ---------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_server_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    state = tmp_path / "state.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nai_sdk",
            "fake-server",
            "--port",
            "0",
            "--state",
            str(state),
            "--account",
            "me@example.com",
            "--password-stdin",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("s3cret-pw\n")
        process.stdin.close()
        first = process.stdout.readline()
        assert first.startswith("FakeNovelAI listening on http://127.0.0.1:"), first
        yield process, first.split()[-1], state
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_fake_server_serves_the_cli_and_saves_its_state(
    run: Any, fake_server_process: tuple[subprocess.Popen[str], str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    process, url, state = fake_server_process
    monkeypatch.setenv("NAI_PASSWORD", "s3cret-pw")
    result = run("login", "--base-url", url, "-e", "me@example.com")
    assert EXIT_OK == result.code, result
    process.send_signal(signal.SIGTERM)
    assert 0 == process.wait(timeout=10)
    assert process.stderr is not None
    err = process.stderr.read()
    assert "s3cret-pw" not in err
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert ["me@example.com"] == [account["email"] for account in saved["accounts"]]
    assert result.out.strip() in saved["tokens"]


def test_fake_server_port_in_use(fake: FakeNovelAI) -> None:
    # In a subprocess: FakeNovelAI.start() leaves its socket unclosed when the bind fails (a ResourceWarning).
    completed = subprocess.run(
        [sys.executable, "-m", "nai_sdk", "fake-server", "--port", str(fake.port)], capture_output=True, text=True
    )
    _assert_clean_failure(Result(completed.returncode, completed.stdout, completed.stderr), EXIT_FAILURE)
    assert "cannot listen" in completed.stderr


def test_fake_server_bad_state_file(run: Any, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"version": 99}', encoding="utf-8")
    result = run("fake-server", "--port", "0", "--state", str(state))
    _assert_clean_failure(result, EXIT_FILE)
    assert "state file" in result.err


# --- backups -------------------------------------------------------------------------------------------------------

BACKUP_COMMANDS = ("backup", "restore", "verify-backup")


@pytest.mark.parametrize("command", BACKUP_COMMANDS)
def test_backup_commands_have_help_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert 0 == exit_info.value.code
    assert "examples:\n  nai " + command in capsys.readouterr().out


def test_backup_restore_and_verify_end_to_end(
    run: Any, login_env: Credentials, fake: FakeNovelAI, tmp_path: Path
) -> None:
    with _client(fake, login_env) as nai:
        nai.storage.create_story("The Lantern", "It swung.")
        nai.storage.create_story("Snow", "White.")
    folder = tmp_path / "backup"
    result = run("backup", str(folder))
    assert EXIT_OK == result.code, result
    assert (
        f"backed up 4 objects (stories 2, storycontent 2, aimodules 0, presets 0, shelf 0) and the keystore to {folder}"
        in result.out
    )
    # Off a terminal, one line per phase.
    assert "backing up stories: 2\nbacking up storycontent: 2\n" in result.err
    assert 0o700 == stat.S_IMODE(folder.stat().st_mode)

    result = run("verify-backup", str(folder))
    assert EXIT_OK == result.code, result
    assert "backup check passed: all 5 files are intact and decrypt" in result.out

    with fake.state.lock:
        login_env.account.objects.clear()
    result = run("restore", str(folder), "-v")
    assert EXIT_OK == result.code, result
    assert "restored from" in result.out and "4 created, 0 overwritten, 0 already there, 0 failed" in result.out
    assert "restoring storycontent [" in result.err
    with _client(fake, login_env) as nai:
        found = {
            story.title: story.content.data["story"]
            for story in nai.storage.stories()
            if story.content is not None and story.content.data is not None
        }
    assert {"The Lantern": {"fragments": [{"data": "It swung."}]}, "Snow": {"fragments": [{"data": "White."}]}} == found

    result = run("restore", str(folder), "--no-progress")
    assert EXIT_OK == result.code, result
    assert "0 created, 0 overwritten, 4 already there, 0 failed" in result.out
    assert "" == result.err


def test_verify_backup_reports_a_damaged_file(
    run: Any, login_env: Credentials, fake: FakeNovelAI, tmp_path: Path
) -> None:
    with _client(fake, login_env) as nai:
        story = nai.storage.create_story("Doomed", "text")
    folder = tmp_path / "backup"
    assert EXIT_OK == run("backup", str(folder), "--no-progress").code
    (file,) = (folder / "objects" / "stories").iterdir()
    damaged = bytearray(file.read_bytes())
    damaged[-5] ^= 0x20
    file.write_bytes(bytes(damaged))
    result = run("verify-backup", str(folder))
    assert EXIT_FAILURE == result.code, result
    assert f"FAILED stories {story.id} (objects/stories/{file.name}): BackupError: the file's sha256" in result.out
    assert "backup check FAILED: 1 problem(s) in 3 files" in result.out


def test_backup_refuses_a_folder_in_use_and_verify_a_folder_that_is_no_backup(
    run: Any, login_env: Credentials, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    _assert_clean_failure(run("backup", str(tmp_path), "--no-progress"), EXIT_FILE)
    assert "not empty" in run("backup", str(tmp_path), "--no-progress").err
    result = run("verify-backup", str(tmp_path))
    _assert_clean_failure(result, EXIT_FILE)
    assert "manifest.json does not exist" in result.err
    assert "mine" == (tmp_path / "notes.txt").read_text()


def test_restore_exits_1_when_an_object_fails(
    run: Any, login_env: Credentials, fake: FakeNovelAI, tmp_path: Path
) -> None:
    with _client(fake, login_env) as nai:
        nai.storage.create_story("Refused", "text")
    folder = tmp_path / "backup"
    assert EXIT_OK == run("backup", str(folder), "--no-progress").code
    with fake.state.lock:
        login_env.account.objects.clear()
    fake.inject("/user/objects/storycontent", method="PUT", status=400, message="no")
    result = run("restore", str(folder), "--no-progress")
    assert EXIT_FAILURE == result.code, result
    assert "storycontent" in result.err and "not restored: BadRequestError" in result.err
    # Its story is not created pointing at nothing.
    assert "stories" in result.err and "its content" in result.err
    assert "0 created, 0 overwritten, 0 already there, 2 failed" in result.out


def test_download_files_are_private(run: Any, login_env: Credentials, fake: FakeNovelAI, tmp_path: Path) -> None:
    with _client(fake, login_env) as nai:
        story = nai.storage.create_story("Secret", "decrypted text")
    folder = tmp_path / "out"
    # A file of an earlier download, readable by all: the new one replaces it, private.
    folder.mkdir(mode=0o755)
    old = folder / f"Secret-{story.id}.json"
    old.write_text("{}")
    old.chmod(0o644)
    assert EXIT_OK == run("download", "-o", str(folder), "--no-progress").code
    assert [0o600] == [stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()]
    assert "decrypted text" in old.read_text()
    fresh = tmp_path / "fresh" / "stories"
    assert EXIT_OK == run("download", "-o", str(fresh), "--no-progress").code
    assert 0o700 == stat.S_IMODE(fresh.stat().st_mode)
    assert {0o600} == {stat.S_IMODE(path.stat().st_mode) for path in fresh.iterdir()}


def test_doctor_shows_which_host_serves_each_route_family(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    result = run("doctor")
    assert EXIT_OK == result.code, result
    rows = {line.split()[0]: line for line in result.out.splitlines() if line.strip()}
    # The split-host fake serves the account on the image host and answers as NovelAI does on the api host.
    account = rows["account"]
    assert "moved (400 Please refresh" in account
    assert account.rstrip().endswith("image")
    assert "serves (2xx)" in rows["modules"]
    assert "tier: opus" in result.out
    assert "glm-4-6" in result.out or "kayra-v1" in result.out


def test_doctor_follows_a_moved_route_family(run: Any, login_env: Credentials, fake: FakeNovelAI) -> None:
    fake.move_route("/user/subscription", to="api")
    result = run("doctor")
    assert EXIT_OK == result.code, result
    account = next(line for line in result.out.splitlines() if line.startswith("account"))
    # The api host serves it now; the image host (the spec's first choice) answers that it has no such route.
    assert account.startswith("account        serves (2xx)")
    assert account.rstrip().endswith("image -> api")

"""Every script in examples/ runs to completion against a FakeNovelAI (the session's, through NAI_BASE_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nai_sdk.testing import FakeNovelAI

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(path.name for path in EXAMPLES.glob("*.py") if not path.name.startswith("_"))
# Credentials and URLs of the developer's shell must not leak into the examples.
CLEARED = (
    "NAI_BASE_URL",
    "NAI_TOKEN",
    "NAI_USERNAME",
    "NAI_PASSWORD",
    "NAI_API_BASE_URL",
    "NAI_TEXT_BASE_URL",
    "NAI_IMAGE_BASE_URL",
)


def _run(script: str, env_changes: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in CLEARED and name != "NAI_EXAMPLES_LIVE"}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_every_feature_has_an_example() -> None:
    expected = {
        "async_stream.py",
        "fake_server_testing.py",
        "generate_with_preset.py",
        "image.py",
        "login.py",
        "presets.py",
        "request_options.py",
        "storage_roundtrip.py",
        "stream.py",
        "tokenize_text.py",
    }
    assert expected == set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_against_the_fake(script: str, single_fake: FakeNovelAI, tmp_path: Path) -> None:
    # The examples take one URL for all three hosts (NAI_BASE_URL), as `nai fake-server` gives.
    args = (str(tmp_path),) if script == "image.py" else ()
    completed = _run(script, {"NAI_BASE_URL": single_fake.base_url}, *args)
    assert 0 == completed.returncode, completed.stderr
    assert completed.stdout.strip()
    if script == "image.py":
        assert [path.suffix for path in tmp_path.iterdir()] == [".png"]


def test_example_starts_its_own_fake_without_nai_base_url() -> None:
    completed = _run("login.py", {})
    assert 0 == completed.returncode, completed.stderr
    assert "logged in: tier 3" in completed.stdout


def test_example_uses_the_given_account(single_fake: FakeNovelAI) -> None:
    from nai_sdk import crypto

    email, password = "given@example.com", "given-password"
    if single_fake.state.account_by_key(crypto.access_key(email, password)) is None:
        single_fake.add_account(crypto.access_key(email, password), email=email)
    env = {"NAI_BASE_URL": single_fake.base_url, "NAI_USERNAME": email, "NAI_PASSWORD": password}
    completed = _run("login.py", env)
    assert 0 == completed.returncode, completed.stderr

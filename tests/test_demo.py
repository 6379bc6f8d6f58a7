"""`python -m nai_sdk.demo` (`make demo`): a whole session against an embedded FakeNovelAI."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nai_sdk.demo import main, run_demo


def test_run_demo_narrates_every_step(tmp_path: Path) -> None:
    out = io.StringIO()
    written = run_demo(tmp_path / "images", out)
    text = out.getvalue()
    for expected in (
        " 1. Started a fake NovelAI on http://127.0.0.1:",
        " 2. Registered demo@example.com",
        " 3. Logged in with the e-mail and password",
        " 4. Created the keystore",
        " 5. Uploaded the story 'The Lantern Keeper'",
        " 6. Downloaded and decrypted 1 story: 'The Lantern Keeper'",
        " 7. Generated ",
        " 8. Streamed a generation with Kayra",
        " 9. Made 1 image",
    ):
        assert expected in text
    assert "correct horse" not in text  # the password is never shown
    assert [tmp_path / "images" / "demo-42-0.png"] == written
    assert written[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_main_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == main(["--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.startswith("nai-sdk demo:")
    assert "Done in" in out


def test_python_m_nai_sdk_demo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAI_")}
    completed = subprocess.run(
        [sys.executable, "-m", "nai_sdk.demo", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert 0 == completed.returncode, completed.stderr
    assert "" == completed.stderr
    assert (tmp_path / "demo-42-0.png").exists()

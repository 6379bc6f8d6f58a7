"""Generation settings are typed from the spec: a misspelt one fails mypy, and at run time nothing is sent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _client_helpers import maybe

from nai_sdk import UnknownSettingError
from nai_sdk.presets import build_request
from nai_sdk.testing import FakeNovelAI

ROOT = Path(__file__).resolve().parent.parent

SNIPPET = """
from nai_sdk import AsyncNovelAI, NovelAI, build_request

def sync(nai: NovelAI) -> None:
    nai.text.generate("x", "kayra", temprature=1.0)
    nai.text.generate("x", "kayra", temperature="hot")
    nai.text.generate("x", "kayra", temperature=1.0, max_length=40, min_p=0.1)

async def asynchronous(nai: AsyncNovelAI) -> None:
    nai.text.stream("x", "erato", top_kk=5)

build_request("x", "kayra", repetition_penalty_rang=3)
"""


def test_a_misspelt_setting_fails_mypy(tmp_path: Path) -> None:
    source = tmp_path / "uses.py"
    source.write_text(SNIPPET, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    lines = sorted({int(line.split(":")[1]) for line in errors})
    # Lines 5 (typo), 6 (wrong type), 10 (typo in stream) and 12 (typo in build_request); line 7 is valid.
    assert [5, 6, 10, 12] == lines, result.stdout


@pytest.mark.parametrize(("name", "nearest"), [("temprature", "temperature"), ("top_kk", "top_k")])
def test_build_request_refuses_an_unknown_setting_naming_the_nearest(name: str, nearest: str) -> None:
    settings: Any = {name: 1}
    with pytest.raises(UnknownSettingError, match=f"did you mean '{nearest}'") as info:
        build_request("Hello", "kayra", **settings)
    assert name == info.value.name
    assert nearest == info.value.suggestion
    assert isinstance(info.value, TypeError)


def test_every_parameter_the_sdk_itself_sends_is_known() -> None:
    # Official presets and global settings assemble these: each is a setting a caller may override too.
    for model in ("kayra", "erato", "clio", "euterpe", "krake", "sigurd", "genji"):
        parameters = build_request("Hello", model)["parameters"]
        build_request("Hello", model, **parameters)


async def test_an_unknown_setting_sends_nothing(make_client: Any, creds: Any, fake: FakeNovelAI) -> None:
    nai = make_client(token=creds.token)
    fake.requests.clear()
    settings: Any = {"temprature": 1.0}
    with pytest.raises(UnknownSettingError):
        await maybe(nai.text.generate("Hello", "kayra", **settings))
    with pytest.raises(UnknownSettingError):
        nai.text.stream("Hello", "kayra", **settings)
    assert [] == fake.requests.all()

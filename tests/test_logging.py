"""NAI_LOG: the `nai_sdk` logger's level and a stderr handler, only when the variable is set."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nai_sdk import ConfigurationError, NovelAI
from nai_sdk._logging import configure_from_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sdk_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("nai_sdk")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_unset_changes_nothing(sdk_logger: logging.Logger) -> None:
    before = (list(sdk_logger.handlers), sdk_logger.level)
    configure_from_env({})
    configure_from_env({"NAI_LOG": ""})
    assert before == (list(sdk_logger.handlers), sdk_logger.level)


LEVELS = [("debug", logging.DEBUG), ("INFO", logging.INFO), ("warning", logging.WARNING)]


@pytest.mark.parametrize(("value", "level"), LEVELS)
def test_sets_the_level_and_one_stderr_handler(sdk_logger: logging.Logger, value: str, level: int) -> None:
    configure_from_env({"NAI_LOG": value})
    configure_from_env({"NAI_LOG": value})  # a second client adds no second handler
    assert level == sdk_logger.level
    added = [h for h in sdk_logger.handlers if type(h).__name__ == "_EnvHandler"]
    assert 1 == len(added)


def test_a_bad_value_is_refused_at_construction(sdk_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAI_LOG", "verbose")
    with pytest.raises(ConfigurationError, match="NAI_LOG must be one of debug, info, warning, not 'verbose'"):
        NovelAI(token="pst-x")


def test_a_client_logs_retries_to_stderr_without_secrets() -> None:
    """In a process of its own, as a user would run it: NAI_LOG=debug, a 503 then a 200, through a mock transport."""
    script = """
import httpx
from nai_sdk import NovelAI

answers = iter([httpx.Response(503), httpx.Response(200, json={"tier": 3, "active": True})])
transport = httpx.MockTransport(lambda request: next(answers))
with NovelAI(token="pst-secret-token", transport=transport, max_retries=1) as nai:
    try:
        nai.account.subscription()
    except Exception:  # the fake answer may not parse as a full subscription: the log is what is tested
        pass
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAI_")}
    env["NAI_LOG"] = "debug"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert "" == run.stdout
    lines = run.stderr.splitlines()
    assert any(" INFO nai_sdk: retrying GET /user/subscription" in line for line in lines), run.stderr
    assert any(" DEBUG nai_sdk: GET /user/subscription -> 503" in line for line in lines), run.stderr
    assert any(" DEBUG nai_sdk: GET /user/subscription -> 200" in line for line in lines), run.stderr
    assert "pst-secret-token" not in run.stderr


def test_import_does_not_configure_logging() -> None:
    script = "import logging, nai_sdk; print(logging.getLogger('nai_sdk').handlers, logging.getLogger('nai_sdk').level)"
    env = {**os.environ, "NAI_LOG": "debug"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert "[] 0" == run.stdout.strip()

"""What the CLI tests share: the result of running `nai` in this process, and the environment it must not see.

The fixtures are in `conftest.py`: `run` runs `nai`, and `clean_cli_env` clears `ENV_NAMES`; a CLI test module
applies it to all its tests with `pytestmark = pytest.mark.usefixtures("clean_cli_env")`.
"""

from __future__ import annotations

#: The environment variables that would point `nai` at another server or account; cleared for every test.
ENV_NAMES = (
    "NAI_TOKEN",
    "NAI_USERNAME",
    "NAI_PASSWORD",
    "NAI_BASE_URL",
    "NAI_API_BASE_URL",
    "NAI_TEXT_BASE_URL",
    "NAI_IMAGE_BASE_URL",
    "NAI_MAX_RETRIES",
    "NAI_TIMEOUT",
)


class Result:
    """What one run of `nai` gave: its exit code and what it printed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"

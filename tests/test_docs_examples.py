"""Every ```python block of the documentation and the README runs, against a FakeNovelAI.

The blocks of one page share a namespace and run in order, in a temporary working directory, with the environment
a reader would have: `NAI_BASE_URL` pointing at the fake server and `NAI_USERNAME`/`NAI_PASSWORD` naming a fresh
Opus account (one per page, so pages do not see each other's stories).

A block fenced with ```py instead is shown but not run (it needs a real account, a terminal, ...); it must still
compile. Keep those rare. Shell blocks (```console, ```sh) are not run.

The last test builds the site with `mkdocs build --strict` when mkdocs is installed (`pip install -e '.[docs]'`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from nai_sdk import crypto
from nai_sdk.testing import FakeNovelAI

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(p.relative_to(ROOT).as_posix() for p in DOCS.rglob("*.md")), "README.md"]

#: The fence info string of blocks that run, and of blocks that are only compiled.
RUN = "python"
NO_RUN = "py"

# An opening fence at any indentation (blocks may sit in admonitions or lists); its closing fence is the first
# line at the same indentation holding only the same number of backticks or more.
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})[ \t]*(?P<info>[^`\n]*)$")

#: Environment variables that would change what a block talks to; cleared so the tests see only what they set.
_NAI_ENV = (
    "NAI_TOKEN",
    "NAI_USERNAME",
    "NAI_PASSWORD",
    "NAI_BASE_URL",
    "NAI_API_BASE_URL",
    "NAI_TEXT_BASE_URL",
    "NAI_IMAGE_BASE_URL",
    "NAI_TIMEOUT",
    "NAI_MAX_RETRIES",
    "NAI_HTTP_BACKEND",
    "NAI_LOG",
)


class Block(NamedTuple):
    """One fenced code block: its language word, the line its code starts on (1-based) and the code."""

    language: str
    line: int
    code: str


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, dedented, in order."""
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, ticks = opening["indent"], opening["ticks"]
        info = opening["info"].strip()
        closing = re.compile(rf"^{re.escape(indent)}`{{{len(ticks)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and closing.match(lines[end]) is None:
            end += 1
        body = textwrap.dedent("\n".join(lines[index + 1 : end]))
        language = info.split()[0].lstrip(".{").rstrip("}") if info else ""
        found.append(Block(language, index + 2, body + "\n"))
        index = end + 1
    return found


def _compile(block: Block, page: str) -> Any:
    # Blank lines in front make tracebacks give the page's own line numbers.
    return compile("\n" * (block.line - 1) + block.code, page, "exec")


def test_blocks_are_found_with_their_lines() -> None:
    text = "Intro\n\n```python\nx = 1\n```\n\n!!! note\n    ```py\n    y = 2\n    ```\n\n````console\n$ nai\n````\n"
    assert [
        Block("python", 4, "x = 1\n"),
        Block("py", 9, "y = 2\n"),
        Block("console", 13, "$ nai\n"),
    ] == blocks(text)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeNovelAI]:
    with FakeNovelAI(default_tier=3) as fake:
        yield fake


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page: str, server: FakeNovelAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / page
    if not path.exists():
        pytest.skip(f"{page} does not exist yet")
    found = blocks(path.read_text(encoding="utf-8"))
    for block in found:
        if block.language in (RUN, NO_RUN):
            _compile(block, page)
    runnable = [block for block in found if block.language == RUN]
    if not runnable:
        return

    email = f"reader-{secrets.token_hex(4)}@example.com"
    password = "docs-" + secrets.token_urlsafe(12)
    server.add_account(crypto.access_key(email, password), email=email)
    for name in _NAI_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NAI_BASE_URL", server.base_url)
    monkeypatch.setenv("NAI_USERNAME", email)
    monkeypatch.setenv("NAI_PASSWORD", password)
    monkeypatch.chdir(tmp_path)

    namespace: dict[str, Any] = {"__name__": f"docs_{path.stem.replace('-', '_')}"}
    try:
        for block in runnable:
            try:
                exec(_compile(block, page), namespace)
            except BaseException as exc:
                exc.add_note(f"in the python block of {page} that starts on line {block.line}")
                _close_clients(namespace)
                raise
    finally:
        server.faults.clear()


def _close_clients(namespace: dict[str, Any]) -> None:
    """Closes the sync clients a failed page left open, so the failure is not buried under ResourceWarnings.

    A page that passes must close its own clients, as a reader's code should.
    """
    from nai_sdk._client import NovelAI

    for value in namespace.values():
        if isinstance(value, NovelAI):
            value.close()


def test_site_builds_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]'")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert 0 == done.returncode, done.stderr[-4000:]

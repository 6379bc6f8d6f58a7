"""Every ```python block of the documentation and the README runs on its own, against a FakeNovelAI.

Each block is a test of its own: a fresh namespace, a fresh temporary working directory, and the environment a
reader would have: `NAI_BASE_URL` pointing at the fake server and `NAI_USERNAME`/`NAI_PASSWORD` naming a fresh Opus
account (one per block, so a block sees no story, file or name that another block made). A reader can copy any
block into a file and run it.

A block fenced with ```py instead is shown but not run; it must still compile, and it must be listed with its
reason in `NOT_RUN` (a real account, a file only the reader has). Keep those rare. Shell blocks (```console) are
not run. `test_no_python_block_is_skipped_silently` counts: every Python block is run or listed.

The blocks run in this process, not in a subprocess each (that would add about 0.3 s of start-up and imports to
every block, and load each tokenizer again): a block cannot see another's names, files or account, but modules
imported once stay imported. The logging configuration is put back after each block.

The last test builds the site with `mkdocs build --strict` when mkdocs is installed, and checks that the rendered
API reference shows no private path or sentinel.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
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
#: Info strings that say "Python" in other ways; a block fenced with one of them is refused (use RUN or NO_RUN).
OTHER_PYTHON = frozenset({"python3", "py3", "pycon", "pyi", "ipython", "ipython3"})
_PYTHONISH = frozenset({RUN, NO_RUN, *OTHER_PYTHON})

#: The ```py blocks of each page, in order, each with the reason it cannot run against the fake server.
NOT_RUN: dict[str, tuple[str, ...]] = {
    "README.md": ("a real account: the placeholder e-mail and password of 'Using it'",),
    "docs/index.md": ("a real account: the placeholder e-mail and password of the first example",),
}

# An opening fence at any indentation (blocks may sit in admonitions or lists); its closing fence is the first
# line at the same indentation holding only the same character, at least as many times.
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")

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
        closing = re.compile(rf"^{re.escape(indent)}{re.escape(ticks[0])}{{{len(ticks)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and closing.match(lines[end]) is None:
            end += 1
        body = textwrap.dedent("\n".join(lines[index + 1 : end]))
        found.append(Block(_language(info), index + 2, body + "\n"))
        index = end + 1
    return found


def _language(info: str) -> str:
    """The language word of an info string: `python`, `python title="x"`, `{.python .extra}` all give python."""
    if not info:
        return ""
    return info.split()[0].lstrip(".{").rstrip("}")


def _compile(block: Block, page: str) -> Any:
    # Blank lines in front make tracebacks give the page's own line numbers.
    return compile("\n" * (block.line - 1) + block.code, page, "exec")


def _page_blocks() -> dict[str, list[Block]]:
    return {page: blocks((ROOT / page).read_text(encoding="utf-8")) for page in PAGES if (ROOT / page).exists()}


#: Every block that runs, as (page, block).
EXAMPLES = [(page, block) for page, found in _page_blocks().items() for block in found if block.language == RUN]


def test_blocks_are_found_with_their_lines() -> None:
    text = (
        "Intro\n\n```python\nx = 1\n```\n\n!!! note\n    ```py\n    y = 2\n    ```\n\n````console\n$ nai\n````\n"
        '\n~~~python title="t"\nz = 3\n~~~\n'
    )
    assert [
        Block("python", 4, "x = 1\n"),
        Block("py", 9, "y = 2\n"),
        Block("console", 13, "$ nai\n"),
        Block("python", 17, "z = 3\n"),
    ] == blocks(text)


def test_no_python_block_is_skipped_silently() -> None:
    """Every Python block is run or listed in NOT_RUN with its reason; nothing else looks like Python."""
    problems: list[str] = []
    ran = 0
    for page, found in _page_blocks().items():
        text = (ROOT / page).read_text(encoding="utf-8")
        # The parser saw every line that opens a Python block (a block it missed would be skipped silently).
        openers = [_FENCE.match(line) for line in text.splitlines()]
        opened = sum(_language(o["info"].strip()).lower() in _PYTHONISH for o in openers if o is not None)
        pythonish = [b for b in found if b.language.lower() in _PYTHONISH]
        if opened != len(pythonish):
            problems.append(f"{page}: {opened} Python fences in the text, {len(pythonish)} parsed")
        for block in found:
            where = f"{page}:{block.line}"
            if block.language == RUN:
                ran += 1
            elif block.language != NO_RUN and block.language.lower() in _PYTHONISH:
                problems.append(f"{where}: fence it ```{RUN} (runs) or ```{NO_RUN} (listed in NOT_RUN)")
            elif block.language == "" and "nai_sdk" in block.code and _compiles(block.code):
                problems.append(f"{where}: a Python block without a language: fence it ```{RUN}")
        shown, reasons = sum(block.language == NO_RUN for block in found), len(NOT_RUN.get(page, ()))
        if shown != reasons:
            problems.append(f"{page}: {shown} ```{NO_RUN} blocks, but NOT_RUN gives reasons for {reasons}")
    assert [] == [page for page in NOT_RUN if page not in PAGES]
    assert [] == problems
    assert len(EXAMPLES) == ran


def _compiles(code: str) -> bool:
    try:
        compile(code, "<block>", "exec")
    except SyntaxError:
        return False
    return True


@pytest.mark.parametrize(
    ("page", "block"),
    [(page, block) for page, found in _page_blocks().items() for block in found if block.language == NO_RUN],
    ids=lambda value: value if isinstance(value, str) else str(value.line),
)
def test_shown_block_compiles(page: str, block: Block) -> None:
    _compile(block, page)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeNovelAI]:
    with FakeNovelAI(default_tier=3) as fake:
        yield fake


@pytest.fixture
def _logging_restored() -> Iterator[None]:
    """Puts back what a block may change in logging (`logging.basicConfig`, a logger's level)."""
    root = logging.getLogger()
    sdk = logging.getLogger("nai_sdk")
    saved = (root.level, list(root.handlers), sdk.level, list(sdk.handlers))
    yield
    for handler in root.handlers:
        if handler not in saved[1]:
            handler.close()
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    sdk.setLevel(saved[2])
    sdk.handlers[:] = saved[3]


@pytest.mark.usefixtures("_logging_restored")
@pytest.mark.parametrize(
    ("page", "block"), EXAMPLES, ids=lambda value: value if isinstance(value, str) else str(value.line)
)
def test_example_runs_alone(
    page: str, block: Block, server: FakeNovelAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = f"reader-{secrets.token_hex(4)}@example.com"
    password = "docs-" + secrets.token_urlsafe(12)
    server.add_account(crypto.access_key(email, password), email=email)
    for name in _NAI_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NAI_BASE_URL", server.base_url)
    monkeypatch.setenv("NAI_USERNAME", email)
    monkeypatch.setenv("NAI_PASSWORD", password)
    monkeypatch.chdir(tmp_path)

    namespace: dict[str, Any] = {"__name__": f"docs_{Path(page).stem.replace('-', '_')}_{block.line}"}
    try:
        exec(_compile(block, page), namespace)
    except BaseException as exc:
        exc.add_note(f"in the python block of {page} that starts on line {block.line}")
        _close_clients(namespace)
        raise
    finally:
        server.faults.clear()
        server.restore_routes()
        namespace.clear()
    # A client the block left open warns now, in this test, rather than in whichever test the collector runs in.
    gc.collect()


def _close_clients(namespace: dict[str, Any]) -> None:
    """Closes the sync clients a failed block left open, so the failure is not buried under ResourceWarnings.

    A block that passes must close its own clients, as a reader's code should.
    """
    from nai_sdk import NovelAI

    for value in namespace.values():
        if isinstance(value, NovelAI):
            value.close()


#: What the rendered API reference must not show: a heading, anchor or link under a private module path, a
#: private base class, or the `KEEP` sentinel's private type (hover titles of annotations are not checked: they
#: name where griffe found a type, which for exported names is their private home).
_PRIVATE_IN_HTML = re.compile(
    r'(?:id|href)="[^"]*#?nai_sdk(?:\.[A-Za-z0-9]\w*)*\._[A-Za-z]'
    r"|Bases: <code>(?:<[^>]*>)*_[A-Za-z]"
    r"|_Keep\b"
)


def test_site_builds_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]'")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert 0 == done.returncode, done.stderr[-4000:]
    private = [
        f"{page.relative_to(site).as_posix()}: {match.group()}"
        for page in sorted((site / "reference").rglob("*.html"))
        for match in _PRIVATE_IN_HTML.finditer(page.read_text(encoding="utf-8"))
    ]
    assert [] == private

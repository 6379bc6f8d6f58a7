"""The CLI's documentation cannot drift from the parser: a page per command, its options, its exit codes.

docs/cli.md holds the exit-code table (equal to `ExitCode` and its meanings) and the options every command shares;
docs/cli/<command>.md has, per command (per action for `nai image`), a table of options whose first column names
them in backticks. The tests read those tables and compare them with `build_parser()` both ways.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import yaml

from nai_sdk.cli import ExitCode
from nai_sdk.cli._errors import MEANINGS
from nai_sdk.cli._parser import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = DOCS / "cli"
#: The argument groups documented once, in docs/cli.md, and the heading of their table there.
SHARED = {"account": "Account options", "server": "Server options"}
#: Where a page links the shared groups and the exit-code table.
LINKS = {"account": "../cli.md#account-options", "server": "../cli.md#server-options"}
TABLE_LINK = "../cli.md#exit-codes"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


COMMANDS = _subparsers(build_parser())


def _sections(text: str) -> dict[str, str]:
    """The text under each `##` and `###` heading, by heading (a `##` section runs to the next `##`)."""
    found: dict[str, str] = {}
    for level in ("##", "###"):
        parts = re.split(rf"^{level} (.+)$", text, flags=re.MULTILINE)
        for heading, body in zip(parts[1::2], parts[2::2], strict=True):
            found[heading.strip()] = body.split("\n## ", 1)[0]
    return found


def _documented(section: str) -> set[str]:
    """The options and arguments a section's tables name: each backticked word of a row's first cell."""
    names: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split("|")[1]
        names |= {quoted.split()[0] for quoted in re.findall(r"`([^`]+)`", first)}
    return names


def _arguments(parser: argparse.ArgumentParser) -> tuple[set[str], dict[str, set[str]]]:
    """A parser's own options and positional arguments (as their metavar), and those of each shared group."""
    groups = {id(action): group.title for group in parser._action_groups for action in group._group_actions}
    own: set[str] = set()
    shared: dict[str, set[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction) or "--debug" in action.option_strings:
            continue
        names = set(action.option_strings) or {str(action.metavar or action.dest).upper()}
        title = groups.get(id(action))
        if title in SHARED:
            shared.setdefault(str(title), set()).update(names)
        else:
            own |= names
    return own, shared


def _page(command: str) -> str:
    return (PAGES / f"{command}.md").read_text(encoding="utf-8")


def _parts(command: str) -> list[tuple[str, argparse.ArgumentParser, str]]:
    """(what, parser, the documenting section) for a command, or for each action of one that has actions."""
    sections = _sections(_page(command))
    actions = _subparsers(COMMANDS[command])
    if not actions:
        return [(command, COMMANDS[command], sections.get("Options", ""))]
    return [(f"{command} {name}", sub, sections.get(f"nai {command} {name}", "")) for name, sub in actions.items()]


def _with_included(section: str, page: str) -> set[str]:
    """A section's options, with those of a `### ...` table it links to on the same page (`[...](#anchor)`)."""
    names = _documented(section)
    sections = _sections(page)
    for anchor in re.findall(r"\]\(#([\w-]+)\)", section):
        target = next(body for heading, body in sections.items() if re.sub(r"\W+", "-", heading.lower()) == anchor)
        names |= _documented(target)
    return names


# --- the exit-code table -----------------------------------------------------------------------------------------


def _docs_table() -> list[tuple[int, str, str]]:
    """The rows of the table under `## Exit codes` in docs/cli.md: (code, name, meaning)."""
    section = _sections((DOCS / "cli.md").read_text(encoding="utf-8"))["Exit codes"]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            rows.append((int(cells[0]), cells[1].strip("`"), cells[2]))
    return rows


def test_the_docs_table_equals_the_enum() -> None:
    expected = [(code.value, code.name, MEANINGS[code]) for code in ExitCode]
    assert expected == _docs_table()


# --- a page per command ------------------------------------------------------------------------------------------


def test_every_command_has_a_page_and_every_page_a_command() -> None:
    assert sorted(COMMANDS) == sorted(path.stem for path in PAGES.glob("*.md"))


def test_every_page_is_in_the_nav_and_linked_from_the_overview() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    flat = yaml.dump(config["nav"])
    overview = (DOCS / "cli.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"cli/{command}.md" in flat
        assert f"[`nai {command}`](cli/{command}.md)" in overview


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_page_has_its_sections_and_its_title(command: str) -> None:
    page = _page(command)
    assert page.startswith(f"# nai {command}\n")
    for heading in ("Synopsis", "Examples", "Exit codes"):
        assert heading in _sections(page), heading
    assert f"$ nai {command}" in _sections(page)["Examples"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_documented_options_exist_in_the_parser(command: str) -> None:
    page = _page(command)
    for what, parser, section in _parts(command):
        own, shared = _arguments(parser)
        everything = own.union(*shared.values())
        assert set() == _with_included(section, page) - everything, what


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_of_the_parser_is_documented(command: str) -> None:
    page = _page(command)
    for what, parser, section in _parts(command):
        own, shared = _arguments(parser)
        assert set() == own - _with_included(section, page), what
        for group, names in shared.items():
            # Documented on the page, or by a link to the overview's table of the group.
            if LINKS[group] not in page:
                assert set() == names - _with_included(section, page), (what, group)


def test_the_overview_documents_the_shared_options() -> None:
    sections = _sections((DOCS / "cli.md").read_text(encoding="utf-8"))
    for group, heading in SHARED.items():
        union: set[str] = set()
        for command in COMMANDS:
            for _what, parser, _section in _parts(command):
                union |= _arguments(parser)[1].get(group, set())
        assert union == _documented(sections[heading]), group


# --- each page's exit codes --------------------------------------------------------------------------------------


def _page_codes(command: str) -> list[int]:
    section = _sections(_page(command))["Exit codes"]
    return [int(code) for code in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_page_lists_codes_of_the_table_and_links_it(command: str) -> None:
    codes = _page_codes(command)
    assert codes == sorted(codes)
    assert set() == set(codes) - {code.value for code in ExitCode}
    assert ExitCode.OK in codes
    assert TABLE_LINK in _sections(_page(command))["Exit codes"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_that_reads_or_writes_files_documents_the_file_code(command: str) -> None:
    # Every FILE or DIR argument can fail with a file error, and so can the tokenizer files of decode and tokenize.
    parsers = [parser for _what, parser, _section in _parts(command)]
    takes_files = any(action.metavar in ("FILE", "DIR") for parser in parsers for action in parser._actions)
    expected = takes_files or command in ("decode", "tokenize")
    assert expected == (ExitCode.FILE in _page_codes(command))

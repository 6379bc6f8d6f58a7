"""The API reference shows the public API under the paths users import, and all of it.

`docs/reference/*.md` holds mkdocstrings directives (`::: path`, then indented YAML options). This test reads them
as text, without mkdocs and without the network:

- every path is public (no part starts with `_`) and imports: `::: nai_sdk.NovelAI`, never
  `::: nai_sdk._client.NovelAI`;
- every name in the `__all__` of every public module of nai_sdk (no part of its name starts with `_`) is
  documented, unless the module is listed in `NOT_IN_REFERENCE`: by a directive naming it (under any path that gives
  the same object, so `::: nai_sdk.NovelAI` documents `nai_sdk._client.NovelAI`'s re-exports too), or by a module
  directive whose members include it. A new public name fails here until the reference shows it.
- with griffe (installed with the docs dependency group), every name a module directive covers has a docstring,
  since mkdocstrings leaves out members without one (`show_if_no_docstring` is off), except those in
  `NO_DOCSTRING`; and no documented signature shows a private name (a private sentinel's type, such as
  `_config._Keep`, as a default or in an annotation), except those in `PRIVATE_IN_SIGNATURES`.

`tests/test_docs_examples.py::test_site_builds_strict` checks the rendered HTML too, when mkdocs is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
PACKAGE = "nai_sdk"

#: Public modules that the reference leaves to another page, and why.
NOT_IN_REFERENCE: dict[str, str] = {
    "nai_sdk.cli": "the `nai` command, documented in docs/cli.md",
    "nai_sdk.demo": "the script behind `make demo`; its one public name runs it",
}

#: Names of `__all__` lists that are documented in prose rather than by a directive.
IN_PROSE: dict[str, str] = {
    "nai_sdk.__version__": "a version string, named in docs/reference/index.md",
}

#: Names a module directive covers that mkdocstrings does not show, for want of a docstring griffe can read: their
#: description is a `#:` comment above the assignment, which griffe ignores (a string literal under the
#: assignment, or the griffe-sphinx extension, would show them). The set must match exactly: remove a name once
#: it shows, and give a new public name a docstring rather than a place here.
NO_DOCSTRING: frozenset[str] = frozenset()

#: Private names that documented signatures show today ("where: what"), each a defect of the code, not of the
#: reference; the set must match exactly, so it can only shrink.
PRIVATE_IN_SIGNATURES: frozenset[str] = frozenset()

_DIRECTIVE = re.compile(r"^:::[ \t]+(?P<path>\S+)[ \t]*$")
# A private name in a rendered annotation or default: `_Keep`, `_NO_BODY`, `_noop`; not `x._y` (an attribute).
_PRIVATE_NAME = re.compile(r"(?<![\w.])_[A-Za-z]\w*")


class Directive(NamedTuple):
    """One `::: path` directive: where it is, what it names, and its options."""

    page: str
    line: int
    path: str
    options: dict[str, Any]


def directives_of(text: str, page: str) -> list[Directive]:
    """The directives of one page, each with the options of its indented YAML block."""
    found: list[Directive] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if match is None:
            continue
        end = index + 1
        while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "\t")):
            end += 1
        block = yaml.safe_load(textwrap.dedent("\n".join(lines[index + 1 : end]))) or {}
        options = block.get("options") or {} if isinstance(block, dict) else {}
        found.append(Directive(page, index + 1, match["path"], dict(options)))
    return found


@cache
def directives() -> tuple[Directive, ...]:
    return tuple(
        directive
        for page in sorted(REFERENCE.glob("*.md"))
        for directive in directives_of(page.read_text(encoding="utf-8"), page.relative_to(ROOT).as_posix())
    )


def resolve(path: str) -> tuple[str, Any]:
    """The module part of a dotted path (the longest prefix that imports) and the object the path names."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            value: Any = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # a dependency of the module is missing, not the module
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return name, value
    raise ModuleNotFoundError(path)


def public_names(module: ModuleType) -> list[str]:
    """The module's `__all__`, or without one the public names defined in it."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    ]


def public_modules() -> list[str]:
    """Every module of the package whose dotted name has no part starting with `_`, found on disk (no import)."""
    found = []
    for file in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(file.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(part.startswith("_") for part in parts):
            found.append(".".join(parts))
    return found


class Coverage(NamedTuple):
    """What the reference documents: (name, id(object)) pairs, and the module members shown by module directives."""

    objects: set[tuple[str, int]]
    module_members: list[tuple[str, str]]


@cache
def coverage() -> Coverage:
    objects: set[tuple[str, int]] = set()
    module_members: list[tuple[str, str]] = []
    for directive in directives():
        _, value = resolve(directive.path)
        if not inspect.ismodule(value):
            objects.add((directive.path.rsplit(".", 1)[-1], id(value)))
            continue
        members = directive.options.get("members", True)
        names = public_names(value) if members is True or members is None else list(members or [])
        for name in names:
            objects.add((name, id(getattr(value, name))))
            module_members.append((value.__name__, name))
    return Coverage(objects, module_members)


def is_documented(module: ModuleType, name: str) -> bool:
    documented = coverage().objects
    if (name, id(getattr(module, name))) in documented:
        return True
    # The resources page says that each async twin has its sync class's methods, awaited.
    twin = name.removeprefix("Async")
    return (
        module.__name__.startswith(f"{PACKAGE}.resources.")
        and twin != name
        and hasattr(module, twin)
        and (twin, id(getattr(module, twin))) in documented
    )


def test_directives_are_found_with_their_options() -> None:
    text = "# T\n\n::: nai_sdk.NovelAI\n\n::: nai_sdk.content\n    options:\n      members: false\n\nProse.\n"
    assert [
        Directive("t.md", 3, "nai_sdk.NovelAI", {}),
        Directive("t.md", 5, "nai_sdk.content", {"members": False}),
    ] == directives_of(text, "t.md")


def test_the_reference_has_directives() -> None:
    assert len(directives()) > 20
    assert {path.name for path in REFERENCE.glob("*.md")} == {Path(d.page).name for d in directives()}


@pytest.mark.parametrize("directive", directives(), ids=lambda d: f"{Path(d.page).name}:{d.path}")
def test_directive_path_is_public_and_imports(directive: Directive) -> None:
    private = [part for part in directive.path.split(".") if part.startswith("_")]
    assert [] == private, f"{directive.page}:{directive.line}: document {directive.path} by its public path"
    assert directive.path.split(".")[0] == PACKAGE
    resolve(directive.path)


def test_every_public_name_is_in_the_reference() -> None:
    missing = []
    for module_name in public_modules():
        if any(module_name == skip or module_name.startswith(skip + ".") for skip in NOT_IN_REFERENCE):
            continue
        module = importlib.import_module(module_name)
        for name in public_names(module):
            if f"{module_name}.{name}" not in IN_PROSE and not is_documented(module, name):
                missing.append(f"{module_name}.{name}")
    assert [] == missing, "add these to a page of docs/reference/ (by the path users import them by)"


def test_names_documented_in_prose_are_named() -> None:
    text = "\n".join(page.read_text(encoding="utf-8") for page in REFERENCE.glob("*.md"))
    assert [] == [name for name in IN_PROSE if name not in text]


def test_modules_left_out_exist() -> None:
    assert [] == [name for name in NOT_IN_REFERENCE if name not in public_modules()]


# With griffe, what mkdocstrings will make of the objects: it reads the source, as mkdocstrings does.


@cache
def _griffe_package() -> Any:
    griffe = pytest.importorskip("griffe", reason="griffe comes with the docs dependency group")
    loader = griffe.GriffeLoader(search_paths=[str(ROOT), str(ROOT / "generated")])
    package = loader.load(PACKAGE)
    loader.resolve_aliases(implicit=False, external=None)
    return package


def _griffe_object(path: str) -> Any:
    package = _griffe_package()
    inner = path.removeprefix(PACKAGE).lstrip(".")
    value = package[inner] if inner else package
    return value.final_target if value.is_alias else value


def test_module_members_have_docstrings() -> None:
    """mkdocstrings leaves out a member without a docstring: a name in `__all__` would be missing from the page."""
    silent = {
        f"{module}.{name}"
        for module, name in coverage().module_members
        if not (_griffe_object(f"{module}.{name}").docstring or None)
    }
    assert sorted(NO_DOCSTRING) == sorted(silent)


def _rendered(value: Any, root: bool = True) -> Iterator[tuple[str, Any]]:
    """(where, object) for the object and the members mkdocstrings shows with it: public, with a docstring.

    A class's `__init__`, its own or inherited, is shown as the class's signature (`merge_init_into_class`).
    """
    if not root and not value.docstring:
        return
    yield value.path, value
    if value.is_class:
        init = value.all_members.get("__init__")
        if init is not None:
            yield value.path, init.final_target if init.is_alias else init
        for name, member in value.members.items():
            if not name.startswith("_") and not member.is_alias:
                yield from _rendered(member, root=False)


def _signature_parts(value: Any) -> Iterator[str]:
    if value.is_function:
        for parameter in value.parameters:
            yield from (str(part) for part in (parameter.annotation, parameter.default) if part is not None)
        if value.returns is not None:
            yield str(value.returns)
    elif value.is_attribute and value.annotation is not None:
        yield str(value.annotation)


def test_signatures_show_no_private_names() -> None:
    """A private type or sentinel in a signature (`timeout: ... | _Keep = KEEP`) is a private name on the page."""
    roots = [d.path for d in directives() if not inspect.ismodule(resolve(d.path)[1])]
    roots += [f"{module}.{name}" for module, name in coverage().module_members]
    shown: set[str] = set()
    for root in roots:
        for where, value in _rendered(_griffe_object(root)):
            for part in _signature_parts(value):
                shown.update(f"{where}: {name}" for name in _PRIVATE_NAME.findall(part))
    assert sorted(PRIVATE_IN_SIGNATURES) == sorted(shown)

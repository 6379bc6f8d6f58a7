"""The regeneration drill: a spec change reaches the facade through the type checker, in a temporary copy.

The promise of the generated engine is that when NovelAI's document changes, `make generate` and `mypy --strict`
show every facade line that must follow, and a change that asks nothing of the facade (a description) touches a
handful of generated files. Each test copies the sources into a temporary folder, changes the vendored document
there, regenerates there, and checks.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = Path("spec/novelai-primary.openapi.yaml")

#: Fields the facade reads or sends: (schema, JSON name, the facade file whose line must fail).
RENAMES = [
    ("SuccessfulLoginResponse", "accessToken", "nai_sdk/_session.py"),
    ("GetKeystoreResponse", "keystore", "nai_sdk/resources/_keystore.py"),
    ("CreatePersistentTokenInput", "overwrite", "nai_sdk/resources/account.py"),
]


def _copy(tmp: Path) -> Path:
    copy = tmp / "repo"
    ignore = shutil.ignore_patterns("__pycache__", ".mypy_cache")
    for name in ("spec", "templates", "scripts", "nai_sdk", "generated"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copyfile(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _edit_spec(copy: Path, edit: object) -> None:
    path = copy / SPEC
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(document)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=120, allow_unicode=True), encoding="utf-8")


def _generate(copy: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(copy / "scripts" / "generate.py")], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stdout + result.stderr


def _changed_files(before: Path, after: Path) -> list[str]:
    changed: list[str] = []

    def walk(comparison: filecmp.dircmp[str], prefix: str) -> None:
        changed.extend(f"{prefix}{name}" for name in comparison.left_only + comparison.right_only)
        changed.extend(
            f"{prefix}{name}"
            for name in comparison.common_files
            if not filecmp.cmp(Path(comparison.left) / name, Path(comparison.right) / name, shallow=False)
        )
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(before, after, ignore=["__pycache__"]), "")
    return changed


def test_a_description_change_touches_at_most_three_generated_files(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    before = tmp_path / "before"
    shutil.copytree(copy / "generated", before, ignore=shutil.ignore_patterns("__pycache__"))

    def reword(document: dict) -> None:  # type: ignore[type-arg]
        schema = document["components"]["schemas"]["SuccessfulLoginResponse"]["properties"]["accessToken"]
        schema["description"] = "The access token, reworded."

    _edit_spec(copy, reword)
    _generate(copy)
    changed = _changed_files(before, copy / "generated")
    # The built document, the stamp holding its hash, and the one model whose docstring changed.
    assert sorted(changed) == sorted(
        ["openapi.yaml", "nai_client/_stamp.py", "nai_client/models/successful_login_response.py"]
    )


@pytest.mark.slow
def test_renaming_fields_the_facade_uses_fails_mypy_at_each_use(tmp_path: Path) -> None:
    copy = _copy(tmp_path)

    def rename(document: dict) -> None:  # type: ignore[type-arg]
        for schema_name, field, _ in RENAMES:
            schema = document["components"]["schemas"][schema_name]
            schema["properties"] = {
                (f"{key}Renamed" if key == field else key): value for key, value in schema["properties"].items()
            }
            if field in schema.get("required", []):
                schema["required"] = [f"{key}Renamed" if key == field else key for key in schema["required"]]

    _edit_spec(copy, rename)
    _generate(copy)
    environment = {**os.environ, "MYPYPATH": str(copy / "generated")}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy-cache"), "nai_sdk"],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert 1 == result.returncode, result.stdout + result.stderr
    for _, _, facade in RENAMES:
        assert f"{facade}:" in result.stdout, f"no type error in {facade}:\n{result.stdout}"


def test_a_new_route_without_a_name_fails_the_build_saying_what_to_do(tmp_path: Path) -> None:
    copy = _copy(tmp_path)

    def add_route(document: dict) -> None:  # type: ignore[type-arg]
        document["paths"]["/user/new-thing"] = {
            "get": {"operationId": "UserController_getNewThing", "responses": {"200": {"description": "ok"}}}
        }

    _edit_spec(copy, add_route)
    result = subprocess.run(
        [sys.executable, str(copy / "scripts" / "generate.py")], capture_output=True, text=True, check=False
    )
    assert 0 != result.returncode
    assert "GET /user/new-thing" in result.stderr
    assert "spec/overlays/20-names.yaml" in result.stderr

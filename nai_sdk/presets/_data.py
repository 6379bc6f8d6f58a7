"""Reading the vendored preset data, each file checked against MANIFEST.json before it is used.

Nothing here runs at import time: the manifest and every file are read on first use and cached.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from nai_sdk.errors import PresetError

__all__ = ["data_names", "read_data", "read_json"]

_DATA = resources.files("nai_sdk.presets") / "data"


@functools.cache
def _manifest() -> Mapping[str, str]:
    """File name in data/ -> expected sha256."""
    try:
        manifest = json.loads((_DATA / "MANIFEST.json").read_bytes())
        return {entry["name"]: entry["sha256"] for entry in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PresetError(f"the preset manifest nai_sdk/presets/data/MANIFEST.json is unreadable: {exc}") from exc


def data_names() -> list[str]:
    """Every file listed in the manifest, as paths relative to data/ (`presets_kayra_v1/Asper.preset`)."""
    return list(_manifest())


@functools.cache
def read_data(name: str) -> bytes:
    """The bytes of a vendored file, after checking them against the manifest.

    Args:
        name: the path relative to data/, with `/` separators.

    Returns:
        The file's content.

    Raises:
        PresetError: the file is not in the manifest, is missing, or its sha256 differs from the manifest's.
    """
    expected = _manifest().get(name)
    if expected is None:
        raise PresetError(f"{name!r} is not a vendored preset file (not in nai_sdk/presets/data/MANIFEST.json)")
    try:
        content = _DATA.joinpath(*name.split("/")).read_bytes()
    except OSError as exc:
        raise PresetError(f"vendored preset file {name!r} is missing: {exc}") from exc
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise PresetError(
            f"vendored preset file {name!r} does not match its manifest (sha256 {actual}, expected {expected}); "
            "reinstall nai-sdk or run scripts/vendor_presets.py"
        )
    return content


def read_json(name: str) -> Any:
    """A vendored JSON file, checked against the manifest and parsed. The caller must not mutate the result."""
    return _read_json(name)


@functools.cache
def _read_json(name: str) -> Any:
    try:
        return json.loads(read_data(name))
    except ValueError as exc:
        raise PresetError(f"vendored file {name!r} is not valid JSON: {exc}") from exc

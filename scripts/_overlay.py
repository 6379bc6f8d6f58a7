"""Apply OpenAPI Overlay 1.0 documents (https://spec.openapis.org/overlay/v1.0.0) with jsonpath-ng.

Only what the project's overlays use: `target` (JSONPath), `update` (merged into every node the target selects)
and `remove`. Each action must also say why (`description`), and must select at least one node: an overlay that no
longer matches the vendored document is a bug to fix, not a no-op to ignore.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from jsonpath_ng.ext.parser import parse as parse_jsonpath


class OverlayError(Exception):
    """An overlay document is malformed or one of its actions selects nothing."""


def load_overlay(path: Path) -> dict[str, Any]:
    """Read an overlay document and check its shape."""
    overlay = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(overlay, dict) or not str(overlay.get("overlay", "")).startswith("1."):
        raise OverlayError(f"{path.name}: not an Overlay 1.x document")
    info = overlay.get("info")
    if not isinstance(info, dict) or not info.get("title") or not info.get("version"):
        raise OverlayError(f"{path.name}: info.title and info.version are required")
    actions = overlay.get("actions")
    if not isinstance(actions, list) or not actions:
        raise OverlayError(f"{path.name}: no actions")
    for number, action in enumerate(actions, 1):
        where = f"{path.name} action {number}"
        if not isinstance(action, dict) or not isinstance(action.get("target"), str):
            raise OverlayError(f"{where}: needs a target")
        if not str(action.get("description", "")).strip():
            raise OverlayError(f"{where} ({action['target']}): needs a description saying why")
        if ("update" in action) == bool(action.get("remove")):
            raise OverlayError(f"{where} ({action['target']}): needs exactly one of update and remove: true")
    return overlay


def merge(target: Any, update: Any) -> Any:
    """Merge update into target as the Overlay specification says, returning the merged node.

    Objects merge key by key (recursively); any other value replaces the one it meets; an array target gets the
    update's items appended.
    """
    if isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            target[key] = merge(target[key], value) if key in target else copy.deepcopy(value)
        return target
    if isinstance(target, list):
        target.extend(copy.deepcopy(update) if isinstance(update, list) else [copy.deepcopy(update)])
        return target
    return copy.deepcopy(update)


def _remove(parent: Any, match: Any) -> None:
    path = match.path
    if isinstance(parent, dict) and hasattr(path, "fields"):
        for field in path.fields:
            parent.pop(field, None)
    elif isinstance(parent, list) and hasattr(path, "index"):
        del parent[path.index]
    else:
        raise OverlayError(f"cannot remove {match.full_path}")


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any], name: str = "overlay") -> None:
    """Apply every action of overlay to document, in order, in place."""
    for number, action in enumerate(overlay["actions"], 1):
        matches = parse_jsonpath(action["target"]).find(document)
        if not matches:
            raise OverlayError(f"{name} action {number}: target {action['target']} selects nothing")
        if action.get("remove"):
            # Remove from the end so list indexes of the remaining matches stay right.
            for match in reversed(matches):
                if match.context is None:
                    raise OverlayError(f"{name} action {number}: cannot remove the document root")
                _remove(match.context.value, match)
            continue
        for match in matches:
            merged = merge(match.value, action["update"])
            if merged is not match.value:
                parent = match.context.value if match.context is not None else None
                if parent is None:
                    raise OverlayError(f"{name} action {number}: cannot replace the document root")
                path = match.path
                if isinstance(parent, dict) and hasattr(path, "fields"):
                    for field in path.fields:
                        parent[field] = merged
                elif isinstance(parent, list) and hasattr(path, "index"):
                    parent[path.index] = merged
                else:
                    raise OverlayError(f"{name} action {number}: cannot update {match.full_path}")


def apply_overlays(document: dict[str, Any], directory: Path) -> list[Path]:
    """Apply every spec/overlays/*.yaml document in file name order; return the files applied."""
    applied = []
    for path in sorted(directory.glob("*.yaml")):
        apply_overlay(document, load_overlay(path), path.name)
        applied.append(path)
    return applied

"""Checks shared by the preset readers: bounded nesting, and values shown in messages without risk.

Preset files and stored bias groups come from files and servers a user does not control, so a message must never
recurse through a deeply nested value, print megabytes of it, or fail to print an integer too long for `repr`.
"""

from __future__ import annotations

import reprlib
from typing import Any

from nai_sdk.errors import PresetError

__all__ = ["check_depth", "shown"]

# reprlib stops at `maxlevel` (it never recurses further) and cuts long strings and containers.
_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8
_REPR.maxlong = 40


def shown(value: Any) -> str:
    """`repr(value)` for a message: short, and safe for any JSON value however deep or large."""
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):
        # ValueError: an int past Python's digit limit for str(); RecursionError: a deep object that is not JSON.
        return f"<a {type(value).__name__}>"


def check_depth(value: Any, limit: int, what: str) -> None:
    """Refuse `value` if its dicts and lists nest more than `limit` levels deep (a cycle counts as too deep).

    Iterative, so it never recurses itself: run it before anything that does (`copy.deepcopy`, `json.dumps`).

    Raises:
        PresetError: nested too deeply.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            raise PresetError(f"{what} nests more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))

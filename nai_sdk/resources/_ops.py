"""Finds the generated operation module of an HTTP route.

Routes are named by method and path (`op("POST", "/user/login")`), which the spec fixes, rather than by the
generated module names, which follow operationIds that overlays may rename. The index is built once, on first use,
by reading the `_get_kwargs` of every module under `nai_client.api` as text (importing them all would import every
model); only the modules actually used are imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import threading
from pathlib import Path
from typing import Any

__all__ = ["op"]

_METHOD = re.compile(r'"method":\s*"(\w+)"')
_URL = re.compile(r'"url":\s*f?"([^"]+)"')
_PARAM = re.compile(r"\{[^}]*\}")

_lock = threading.Lock()
_index: dict[tuple[str, str], str] | None = None
_modules: dict[tuple[str, str], Any] = {}


def _normalise(path: str) -> str:
    return _PARAM.sub("{}", path)


def _build_index() -> dict[tuple[str, str], str]:
    import nai_client.api

    index: dict[tuple[str, str], str] = {}
    for package in pkgutil.iter_modules(nai_client.api.__path__, "nai_client.api."):
        if not package.ispkg:
            continue
        spec = importlib.util.find_spec(package.name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for module in pkgutil.iter_modules(spec.submodule_search_locations, package.name + "."):
            source_spec = importlib.util.find_spec(module.name)
            if source_spec is None or source_spec.origin is None:
                continue
            text = Path(source_spec.origin).read_text(encoding="utf-8")
            method, url = _METHOD.search(text), _URL.search(text)
            if method and url:
                index[(method.group(1).upper(), _normalise(url.group(1)))] = module.name
    return index


def op(method: str, path: str) -> Any:
    """The generated module of `method path` (path parameters written `{}` or `{name}`).

    Raises:
        LookupError: the generated client has no such operation (the spec or its overlays lack the route).
    """
    key = (method.upper(), _normalise(path))
    found = _modules.get(key)
    if found is not None:
        return found
    global _index
    with _lock:
        if _index is None:
            _index = _build_index()
        name = _index.get(key)
    if name is None:
        raise LookupError(f"the generated client has no operation {key[0]} {key[1]}")
    module = importlib.import_module(name)
    _modules[key] = module
    return module

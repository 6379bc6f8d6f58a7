"""The public surface: `__all__` is complete and true, and importing nai_sdk is cheap."""

from __future__ import annotations

import subprocess
import sys

import nai_sdk


def test_every_name_in_all_resolves() -> None:
    missing = [name for name in nai_sdk.__all__ if not hasattr(nai_sdk, name)]
    assert missing == []


def test_all_lists_every_lazy_name() -> None:
    assert set(nai_sdk._LAZY) - set(nai_sdk.__all__) == set()


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        nai_sdk.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_loads_nothing_heavy() -> None:
    code = (
        "import sys, nai_sdk\n"
        "heavy = ['tokenizers', 'sentencepiece', 'argon2', 'nacl', 'httpx', 'nai_client', 'starlette', 'msgpack']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""

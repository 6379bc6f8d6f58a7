"""JSON nested beyond the bound in files a stranger can hand over (a preset, a vibe file, an image's metadata):
a typed error on every Python, read in a thread with a small stack, where the C parser of Python 3.13 would crash
the interpreter before its own limit."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from nai_sdk._png import encode_png
from nai_sdk.errors import FormatError, ImageFormatError, PresetError
from nai_sdk.images import read_metadata, read_vibe_files
from nai_sdk.presets import Preset

#: Deeper than the JSON bound (256 levels) and than a 256 KiB thread's stack can take in the C parser of 3.13.
DEEP = b"[" * 20_000 + b"]" * 20_000


def _in_a_small_thread(read: Any) -> BaseException | None:
    """Runs `read()` in a thread with a 256 KiB stack; the exception it raised, or None."""
    caught: list[BaseException | None] = [None]

    def run() -> None:
        try:
            read()
        except BaseException as exc:  # handed to the test to check
            caught[0] = exc

    old = threading.stack_size(256 * 1024)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old)
    return caught[0]


def test_a_deep_preset_file_is_a_preset_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.preset"
    path.write_bytes(DEEP)
    error = _in_a_small_thread(lambda: Preset.from_file(path))
    assert isinstance(error, PresetError), repr(error)


def test_a_deep_vibe_file_is_an_image_format_error() -> None:
    error = _in_a_small_thread(lambda: read_vibe_files(DEEP))
    assert isinstance(error, ImageFormatError), repr(error)


@pytest.mark.parametrize("field", ["Comment"])
def test_a_deep_metadata_comment_is_an_image_format_error(field: str) -> None:
    png = encode_png(8, 8, [bytes(24)] * 8, alpha=False, text={field: DEEP.decode()})
    error = _in_a_small_thread(lambda: read_metadata(png))
    assert isinstance(error, ImageFormatError), repr(error)
    assert isinstance(error, FormatError)

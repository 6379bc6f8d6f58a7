"""Finding, verifying, loading and caching tokenizers."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

from nai_sdk.errors import TokenizerError, UnknownModelError
from nai_sdk.models import ImageModel, TextModel, get_image_model, get_model
from nai_sdk.tokenizers._base import Tokenizer

__all__ = ["DATA_DIR", "ENV_DIR", "TOKENIZER_NAMES", "get_tokenizer", "tokenizer_name"]

DATA_DIR: Final = Path(__file__).resolve().parent / "data"
"""The folder of the vendored tokenizer files and their manifest."""
ENV_DIR: Final = "NAI_TOKENIZER_DIR"
"""The environment variable that points at another folder holding the same files."""
_MANIFEST: Final = DATA_DIR / "MANIFEST.json"

# tokenizer name -> its file in DATA_DIR (the manifest gives the file's sha256).
_FILES: Final = {
    "gpt2": "gpt2_tokenizer.json",
    "gpt2-genji": "gpt2-genji_tokenizer.json",
    "pile": "pile_tokenizer.json",
    "nerdstash_v1": "nerdstash_v1.model",
    "nerdstash_v2": "nerdstash_v2.model",
    "llama3": "llama3.json",
    "clip": "bpe_simple_vocab_16e6.txt.gz",
}
TOKENIZER_NAMES: Final = tuple(_FILES)
"""Every tokenizer name `get_tokenizer` accepts."""

_cache: dict[tuple[str, str], Tokenizer] = {}
_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_lock = threading.Lock()


def tokenizer_name(model_or_name: str | TextModel | ImageModel) -> str:
    """The name of the tokenizer for a model (id, name or alias) or a tokenizer name.

    Raises:
        UnknownModelError: no such model or tokenizer, or an image model without a tokenizer in this SDK.
    """
    if isinstance(model_or_name, str) and model_or_name in _FILES:
        return model_or_name
    if isinstance(model_or_name, TextModel):
        return model_or_name.tokenizer
    image: ImageModel | None = model_or_name if isinstance(model_or_name, ImageModel) else None
    if image is None:
        if not isinstance(model_or_name, str):
            raise UnknownModelError(f"expected a model or tokenizer name, not {type(model_or_name).__name__}")
        try:
            return get_model(model_or_name).tokenizer
        except UnknownModelError:
            pass
        try:
            image = get_image_model(model_or_name)
        except UnknownModelError:
            raise UnknownModelError(
                f"no model or tokenizer named {model_or_name!r}; tokenizers: {', '.join(_FILES)}"
            ) from None
    if image.tokenizer is None:
        raise UnknownModelError(f"nai-sdk has no tokenizer for the image model {image.id!r}")
    return image.tokenizer


def get_tokenizer(model_or_name: str | TextModel | ImageModel, *, directory: str | Path | None = None) -> Tokenizer:
    """The tokenizer of a model, loaded on first use and then shared.

    Loading reads the vocabulary file, checks its sha256 against the packaged `MANIFEST.json`, and builds the
    tokenizer; later calls return the same instance. Safe to call from several threads: each tokenizer is
    loaded once.

    Args:
        model_or_name: a text model (`"kayra-v1"`, `"Kayra"`, a `TextModel`), a v1 image model (CLIP), or a
            tokenizer name (`"nerdstash_v2"`, see `TOKENIZER_NAMES`).
        directory: a folder holding the vocabulary files under their usual names, instead of the packaged ones
            (default: `$NAI_TOKENIZER_DIR`, else the package's `data` folder). The files must still match the
            manifest.

    Returns:
        The tokenizer.

    Raises:
        UnknownModelError: no such model or tokenizer.
        TokenizerError: the file is missing, unreadable, does not match the manifest, or does not load.
    """
    name = tokenizer_name(model_or_name)
    # Keyed by the folder as given (normalised, not resolved): no Path is built on the hot path of a cached hit.
    key = (name, os.path.normpath(directory or os.environ.get(ENV_DIR) or DATA_DIR))
    tokenizer = _cache.get(key)
    if tokenizer is not None:
        return tokenizer
    folder = Path(key[1])
    with _locks_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        tokenizer = _cache.get(key)
        if tokenizer is None:
            tokenizer = _load(name, folder / _FILES[name])
            _cache[key] = tokenizer
    return tokenizer


@functools.cache
def _expected_hashes() -> dict[str, str]:
    try:
        manifest = json.loads(_MANIFEST.read_text(encoding="utf-8"))
        return {entry["name"]: entry["sha256"] for entry in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TokenizerError(f"cannot read the tokenizer manifest {_MANIFEST}: {exc}") from exc


def _reader(path: Path) -> Callable[[], bytes]:
    """A function returning the verified bytes of `path` (called again if a second instance is needed)."""
    expected = _expected_hashes().get(path.name)
    if expected is None:
        raise TokenizerError(f"{path.name} is not listed in the tokenizer manifest {_MANIFEST}")

    def read() -> bytes:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TokenizerError(
                f"cannot read the tokenizer file {path}: {exc.strerror or exc} (set {ENV_DIR} or pass "
                f"directory= to use another folder)"
            ) from exc
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise TokenizerError(f"{path} has sha256 {actual}, but the manifest expects {expected}")
        return data

    return read


def _load(name: str, path: Path) -> Tokenizer:
    read = _reader(path)
    # The libraries are imported here, not at the top: importing nai_sdk must not cost their import time.
    try:
        if name in ("nerdstash_v1", "nerdstash_v2"):
            from nai_sdk.tokenizers._sentencepiece import load_sentencepiece

            return load_sentencepiece(name, read())
        if name == "clip":
            from nai_sdk.tokenizers._clip import load_clip

            return load_clip(read)
        from nai_sdk.tokenizers._hf import load_hf

        if name == "llama3":
            return load_hf(name, read, bos_id=128000, eos_token="<|end_of_text|>")
        return load_hf(name, read, eos_token="<|endoftext|>")
    except TokenizerError:
        raise
    except Exception as exc:  # the libraries raise bare Exception/RuntimeError subclasses on bad files
        raise TokenizerError(f"cannot load the {name} tokenizer from {path}: {exc}") from exc

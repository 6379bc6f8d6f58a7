"""The benchmark worker of bench/.peer-venv: novelai-api 0.34.1 ("peer"), doing the work worker_ours.py does.

Started by bench/run.py; speaks bench/_proto.py on stdin/stdout. It imports nothing from this project.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http_runs import Plan, async_cases, check_async
from _proto import Case, Metrics, Setup, SkipGroup, serve, timed

EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple"
# tokenizer name -> a model the peer maps to it (novelai_api.Tokenizer._tokenizers_name)
MODELS = {
    "gpt2": ("Model", "Euterpe"),
    "gpt2-genji": ("Model", "Genji"),
    "pile": ("Model", "Krake"),
    "nerdstash_v1": ("Model", "Clio"),
    "nerdstash_v2": ("Model", "Kayra"),
    "llama3": ("Model", "Erato"),
    "clip": ("ImageModel", "Anime_Full"),
}


def _corpus(params: dict[str, Any]) -> dict[str, str]:
    folder = Path(params["corpus"])
    size = int(params.get("size", 1_000_000))
    texts = {}
    for lang in ("en", "ja"):
        texts[lang] = (folder / f"{lang}.txt").read_bytes()[:size].decode("utf-8", errors="ignore")
    return texts


def _label(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size / 1e3:.0f} kB"


def _case(func: Callable[[Any], object], arg: Any, items: float | None = None) -> Case:
    """A case timing `func(arg)`."""
    return lambda: timed(lambda: func(arg), items)


def _encoder(model: Any) -> Callable[[str], list[int]]:
    from novelai_api.Tokenizer import Tokenizer

    return lambda text: Tokenizer.encode(model, text)


def _per_line(encode: Callable[[str], list[int]]) -> Callable[[list[str]], list[list[int]]]:
    return lambda lines: [encode(line) for line in lines]


def setup_tokenizers(params: dict[str, Any]) -> Setup:
    from novelai_api.ImagePreset import ImageModel
    from novelai_api.Preset import Model
    from novelai_api.Tokenizer import Tokenizer

    texts = _corpus(params)
    cases: dict[str, tuple[str, Case]] = {}
    info: dict[str, Any] = {"tokens": {}}
    for name, (kind, member) in MODELS.items():
        if name not in params.get("tokenizers", MODELS):
            continue
        model = getattr(ImageModel if kind == "ImageModel" else Model, member)
        for lang, text in texts.items():
            size = len(text.encode())
            lines = [line for line in text.splitlines() if line]
            Tokenizer.encode(model, text[:10_000])
            info["tokens"][f"{name}:{lang}"] = len(Tokenizer.encode(model, text))
            key = f"{name}:{lang}"
            label = _label(int(params.get("size", 1_000_000)))
            cases[f"peer:encode {label}:{key}"] = ("MB/s", _case(_encoder(model), text, size))
            cases[f"peer:encode per line:{key}"] = ("MB/s", _case(_per_line(_encoder(model)), lines, size))
    return cases, info


def setup_crypto(params: dict[str, Any]) -> Setup:
    import nacl.utils
    from novelai_api.Keystore import Keystore
    from novelai_api.utils import decrypt_user_data, encrypt_user_data, get_access_key, get_encryption_key

    document = json.loads((Path(params["corpus"]) / "objects.json").read_text(encoding="utf-8"))
    keys = {meta: bytes.fromhex(key) for meta, key in document["keystores_used"]["bench"]["keys"].items()}
    envelopes = [entry["object"] for entry in document["objects"]]
    small = [e for e in envelopes if e["type"] == "stories"]
    large = [e for e in envelopes if e["type"] == "storycontent"]
    # The peer's Keystore is built from the encrypted field only; fill a decrypted one directly.
    store = Keystore(None)
    store._keystore = dict(keys)
    store._decrypted = True

    def kdf() -> tuple[str, bytes]:
        return get_access_key(EMAIL, PASSWORD), get_encryption_key(EMAIL, PASSWORD)

    def decrypt(raws: list[dict[str, Any]]) -> Metrics:
        items = [dict(raw) for raw in raws]  # the peer decrypts in place
        metrics = timed(lambda: decrypt_user_data(items, store))
        assert all(item["decrypted"] for item in items)
        return metrics

    def reencrypt(raws: list[dict[str, Any]]) -> Metrics:
        items = [dict(raw) for raw in raws]
        decrypt_user_data(items, store)
        for item in items:
            data = item["data"]
            if "story" in data:
                data["story"]["fragments"].append({"data": " And then the lantern went out.", "origin": "user"})
            else:
                data["title"] = data["title"] + " (edited)"

        def run() -> None:
            for item in items:
                # The peer would reuse the nonce it read (docs/formats.md §7 item 8); give it a fresh one, as ours does.
                item["nonce"] = nacl.utils.random(24)
            encrypt_user_data(items, store)

        return timed(run)

    access, key = kdf()
    info = {
        "access_key_sha256": hashlib.sha256(access.encode()).hexdigest(),
        "encryption_key_sha256": hashlib.sha256(key).hexdigest(),
    }
    cases: dict[str, tuple[str, Case]] = {
        "peer:key derivation (access + encryption key)": ("ms", lambda: timed(kdf)),
        "peer:decrypt 1000 small objects": ("ms", lambda: decrypt(small)),
        "peer:decrypt 5 MB storycontent": ("ms", lambda: decrypt(large)),
        "peer:re-encrypt 1000 modified small objects": ("ms", lambda: reencrypt(small)),
        "peer:re-encrypt modified 5 MB storycontent": ("ms", lambda: reencrypt(large)),
    }
    return cases, info


def setup_http(params: dict[str, Any]) -> Setup:
    """One peer column of the http group: params["column"] is "peer-off" or "peer-on" (schema validation)."""
    import aiohttp
    import novelai_api._low_level as low_level_module
    from novelai_api.NovelAI_API import NovelAIAPI
    from novelai_api.Preset import Model

    column = str(params["column"])
    if column not in ("peer-off", "peer-on"):
        raise SkipGroup(f"no http column {column!r} in the peer worker")
    base, token = str(params["base_url"]), str(params["token"])
    prompt = [int(token_id) for token_id in params["prompt_tokens"]]
    length = int(params["events"])
    model = Model(params["model"])
    plan = Plan.from_params(params)
    # The peer has no base-URL setting: BASE_ADDRESS serves most calls, but generation reads module constants
    # (TEXT_API_ADDRESS for Kayra/Erato, GENERAL_API_ADDRESS for older models such as Clio).
    low_level_module.GENERAL_API_ADDRESS = base
    low_level_module.TEXT_API_ADDRESS = base
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def make() -> NovelAIAPI:
        # An attached ClientSession is the peer's fastest mode; without one it opens a session per request.
        api = NovelAIAPI(aiohttp.ClientSession())
        api.BASE_ADDRESS = base
        api.headers["Authorization"] = f"Bearer {token}"
        return api

    api = loop.run_until_complete(make())
    low_level = api.low_level
    if not hasattr(low_level, "is_schema_validation_enabled"):
        raise SkipGroup("novelai-api has no LowLevel.is_schema_validation_enabled")
    # Validation of response bodies against the peer's JSON schemas (on by default); of the three routes here,
    # only get_subscription validates (generate does not).
    low_level.is_schema_validation_enabled = column == "peer-on"
    parameters = {"min_length": length, "max_length": length}

    async def get() -> object:
        return await low_level.get_subscription()

    async def post() -> object:
        answer = None
        async for content in low_level.generate(prompt, model, parameters):
            answer = content
        return answer

    async def stream() -> AsyncIterator[bool]:
        async for content in low_level.generate(prompt, model, parameters, stream=True):
            yield bool(json.loads(content)["final"])

    check_async(loop, get, post, stream, plan.events)
    connector = api.session.connector if api.session is not None else None
    info = {
        "novelai-api": importlib.metadata.version("novelai-api"),
        "aiohttp": importlib.metadata.version("aiohttp"),
        "connection limit": connector.limit if connector is not None else None,
        "is_schema_validation_enabled": low_level.is_schema_validation_enabled,
    }
    return async_cases(column, loop, get, post, stream, plan), info


def setup(group: str, params: dict[str, Any]) -> Setup:
    if group == "tokenizers":
        return setup_tokenizers(params)
    if group == "crypto":
        return setup_crypto(params)
    if group == "http":
        return setup_http(params)
    raise SkipGroup(f"no group {group!r} in the peer worker")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    serve(setup)

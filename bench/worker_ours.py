"""The benchmark worker of the project venv: nai_sdk ("ours") and the raw libraries under it ("floor").

Started by bench/run.py; speaks bench/_proto.py on stdin/stdout. Each group imports its modules in `setup`, so a
module that is missing (or still being written) skips only its group, with the reason.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _proto import Case, Metrics, Setup, SkipGroup, serve, timed

TOKENIZERS = ("gpt2", "gpt2-genji", "pile", "nerdstash_v1", "nerdstash_v2", "llama3", "clip")
MARKER = b"\x00" * 15 + b"\x01"
EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple"


def _require(module: str) -> None:
    try:
        __import__(module)
    except Exception as exc:  # a module being written may fail in any way
        raise SkipGroup(f"{module} is not importable in the project venv ({type(exc).__name__}: {exc})") from exc


def _corpus(params: dict[str, Any]) -> dict[str, str]:
    folder = Path(params["corpus"])
    size = int(params.get("size", 1_000_000))
    texts = {}
    for lang in ("en", "ja"):
        data = (folder / f"{lang}.txt").read_bytes()[:size]
        texts[lang] = data.decode("utf-8", errors="ignore")
    return texts


# --- tokenizers --------------------------------------------------------------------------------------------------


def _raw_tokenizer(name: str) -> tuple[Callable[[str], list[int]], Callable[[list[str]], object], Callable[[str], str]]:
    """The library call on the vendored file: (encode one, encode a batch, prepare text outside the timer)."""
    import sentencepiece
    import tokenizers

    from nai_sdk.tokenizers._registry import _FILES, DATA_DIR

    path = DATA_DIR / _FILES[name]
    if name.startswith("nerdstash"):
        sp = sentencepiece.SentencePieceProcessor(model_file=str(path))

        def sp_one(text: str) -> list[int]:
            ids: list[int] = sp.EncodeAsIds(text)
            return ids

        return sp_one, sp.Encode, lambda text: text
    if name == "clip":
        # No library reads CLIP's merges file directly: the floor is the `tokenizers` BPE built from it, fed text
        # that was cleaned (lower case, whitespace) before the timer starts.
        from nai_sdk.tokenizers._clip import _build_backend, clean_text

        backend = _build_backend(path.read_bytes())
        prepare: Callable[[str], str] = clean_text
    else:
        backend = tokenizers.Tokenizer.from_file(str(path))
        prepare = lambda text: text  # noqa: E731

    def hf_one(text: str) -> list[int]:
        ids: list[int] = backend.encode(text, add_special_tokens=False).ids
        return ids

    # The leanest batch call the library has (no offsets), ids taken out as ours does.
    batch = getattr(backend, "encode_batch_fast", backend.encode_batch)

    def hf_batch(texts: list[str]) -> object:
        return [encoding.ids for encoding in batch(texts, add_special_tokens=False)]

    return hf_one, hf_batch, prepare


def _label(size: int) -> str:
    return f"{size / 1e6:g} MB" if size >= 1_000_000 else f"{size / 1e3:.0f} kB"


def _case(func: Callable[[Any], object], arg: Any, items: float | None = None) -> Case:
    """A case timing `func(arg)`."""
    return lambda: timed(lambda: func(arg), items)


def _per_line(encode: Callable[[str], list[int]]) -> Callable[[list[str]], list[list[int]]]:
    return lambda lines: [encode(line) for line in lines]


def setup_tokenizers(params: dict[str, Any]) -> Setup:
    _require("nai_sdk.tokenizers")
    from nai_sdk.tokenizers import get_tokenizer

    texts = _corpus(params)
    names = [name for name in TOKENIZERS if name in params.get("tokenizers", TOKENIZERS)]
    cases: dict[str, tuple[str, Case]] = {}
    info: dict[str, Any] = {"bytes": {lang: len(text.encode()) for lang, text in texts.items()}, "tokens": {}}
    for name in names:
        ours = get_tokenizer(name)
        raw_one, raw_batch, prepare = _raw_tokenizer(name)
        for lang, text in texts.items():
            size = len(text.encode())
            lines = [line for line in text.splitlines() if line]
            prepared = prepare(text)
            prepared_lines = [prepare(line) for line in lines]
            # Warm up on a slice, then check the two agree (CLIP's floor is fed pre-cleaned text).
            ours.encode(text[:10_000])
            raw_one(prepared[:10_000])
            ours_ids, raw_ids = ours.encode(text), raw_one(prepared)
            same = ours_ids == raw_ids
            info["tokens"][f"{name}:{lang}"] = {"ours": len(ours_ids), "floor": len(raw_ids), "same": same}
            key = f"{name}:{lang}"
            label = _label(int(params.get("size", 1_000_000)))
            cases[f"ours:encode {label}:{key}"] = ("MB/s", _case(ours.encode, text, size))
            cases[f"floor:encode {label}:{key}"] = ("MB/s", _case(raw_one, prepared, size))
            cases[f"ours:encode_batch(lines):{key}"] = ("MB/s", _case(ours.encode_batch, lines, size))
            cases[f"ours:encode per line:{key}"] = ("MB/s", _case(_per_line(ours.encode), lines, size))
            cases[f"floor:encode_batch(lines):{key}"] = ("MB/s", _case(raw_batch, prepared_lines, size))
    return cases, info


# --- crypto and user data ----------------------------------------------------------------------------------------


def _load_objects(params: dict[str, Any]) -> tuple[dict[str, bytes], list[dict[str, Any]], dict[str, Any]]:
    document = json.loads((Path(params["corpus"]) / "objects.json").read_text(encoding="utf-8"))
    keys = {meta: bytes.fromhex(key) for meta, key in document["keystores_used"]["bench"]["keys"].items()}
    envelopes = [entry["object"] for entry in document["objects"]]
    small = [e for e in envelopes if e["type"] == "stories"]
    (large,) = [e for e in envelopes if e["type"] == "storycontent"]
    return keys, small, large


def _floor_open(raw: dict[str, Any], keys: dict[str, bytes]) -> tuple[dict[str, Any], bool]:
    import nacl.bindings

    blob = base64.b64decode(raw["data"])
    compressed = blob.startswith(MARKER)
    if compressed:
        blob = blob[16:]
    plain = nacl.bindings.crypto_secretbox_open_easy(blob[24:], blob[:24], keys[raw["meta"]])
    data: dict[str, Any] = json.loads(zlib.decompress(plain, -15) if compressed else plain)
    return data, compressed


def _floor_seal(raw: dict[str, Any], data: dict[str, Any], compressed: bool, keys: dict[str, bytes]) -> dict[str, Any]:
    import nacl.bindings
    import nacl.utils

    plain = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    if compressed:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        plain = packer.compress(plain) + packer.flush()
    nonce = nacl.utils.random(24)
    payload = nonce + nacl.bindings.crypto_secretbox_easy(plain, nonce, keys[raw["meta"]])
    return {**raw, "data": base64.b64encode(MARKER + payload if compressed else payload).decode("ascii")}


def _modify(data: dict[str, Any]) -> None:
    """The edit every side makes before re-encrypting: a changed title, or one more story fragment."""
    if "story" in data:
        data["story"]["fragments"].append({"data": " And then the lantern went out.", "origin": "user"})
    else:
        data["title"] = data["title"] + " (edited)"


def setup_crypto(params: dict[str, Any]) -> Setup:
    for module in ("nai_sdk.crypto", "nai_sdk.keystore", "nai_sdk.content"):
        _require(module)
    from argon2.low_level import Type, hash_secret_raw

    from nai_sdk.content import decrypt_object, decrypt_objects, encrypt_object
    from nai_sdk.crypto import access_key, encryption_key
    from nai_sdk.keystore import Keystore

    keys, small, large = _load_objects(params)
    store = Keystore(keys)

    def floor_kdf() -> tuple[str, bytes]:
        def argon(size: int, domain: str) -> bytes:
            salt = hashlib.blake2b(f"{PASSWORD[:6]}{EMAIL}{domain}".encode(), digest_size=16).digest()
            return hash_secret_raw(PASSWORD.encode(), salt, 2, 2_000_000 // 1024, 1, size, Type.ID)

        access = base64.urlsafe_b64encode(argon(64, "novelai_data_access_key")).decode()[:64]
        pre = base64.urlsafe_b64encode(argon(128, "novelai_data_encryption_key")).decode().replace("=", "")
        return access, hashlib.blake2b(pre.encode(), digest_size=32).digest()

    def ours_kdf() -> tuple[str, bytes]:
        return access_key(EMAIL, PASSWORD), encryption_key(EMAIL, PASSWORD)

    def floor_reencrypt(raws: list[dict[str, Any]]) -> Metrics:
        opened = [_floor_open(raw, keys) for raw in raws]
        for data, _ in opened:
            _modify(data)
        return timed(lambda: [_floor_seal(raw, d, c, keys) for raw, (d, c) in zip(raws, opened, strict=True)])

    def ours_reencrypt(raws: list[dict[str, Any]]) -> Metrics:
        objects = decrypt_objects(raws, store)
        for obj in objects:
            assert obj.data is not None, obj.error
            _modify(obj.data)
        return timed(lambda: [encrypt_object(obj, store) for obj in objects])

    ours_keys, floor_keys = ours_kdf(), floor_kdf()
    info = {
        "access_key_sha256": hashlib.sha256(ours_keys[0].encode()).hexdigest(),
        "encryption_key_sha256": hashlib.sha256(ours_keys[1]).hexdigest(),
        "ours_equals_floor": ours_keys == floor_keys,
        "small_objects": len(small),
        "storycontent_wire_bytes": len(large["data"]),
    }
    ok = decrypt_object(large, store)
    if ok.error is not None:
        raise SkipGroup(f"nai_sdk could not decrypt the corpus storycontent: {ok.error!r}")
    info["storycontent_json_bytes"] = len(json.dumps(ok.data, separators=(",", ":"), ensure_ascii=False).encode())
    cases: dict[str, tuple[str, Case]] = {
        "floor:key derivation (access + encryption key)": ("ms", lambda: timed(floor_kdf)),
        "ours:key derivation (access + encryption key)": ("ms", lambda: timed(ours_kdf)),
        "floor:decrypt 1000 small objects": ("ms", lambda: timed(lambda: [_floor_open(r, keys) for r in small])),
        "ours:decrypt 1000 small objects": ("ms", lambda: timed(lambda: decrypt_objects(small, store))),
        "floor:decrypt 5 MB storycontent": ("ms", lambda: timed(lambda: _floor_open(large, keys))),
        "ours:decrypt 5 MB storycontent": ("ms", lambda: timed(lambda: decrypt_object(large, store))),
        "floor:re-encrypt 1000 modified small objects": ("ms", lambda: floor_reencrypt(small)),
        "ours:re-encrypt 1000 modified small objects": ("ms", lambda: ours_reencrypt(small)),
        "floor:re-encrypt modified 5 MB storycontent": ("ms", lambda: floor_reencrypt([large])),
        "ours:re-encrypt modified 5 MB storycontent": ("ms", lambda: ours_reencrypt([large])),
    }
    return cases, info


# --- HTTP against the local fake ---------------------------------------------------------------------------------


def setup_http(params: dict[str, Any]) -> Setup:
    import httpx

    base, token = params["base_url"], params["token"]
    requests, concurrency = int(params["requests"]), int(params["concurrency"])
    prompt = list(params["prompt_tokens"])
    length = int(params["stream_tokens"])
    auth = {"Authorization": f"Bearer {token}"}
    body = {
        "input": base64.b64encode(b"".join(t.to_bytes(2, "little") for t in prompt)).decode(),
        "model": "clio-v1",
        "parameters": {"min_length": length, "max_length": length, "temperature": 1.0},
    }
    cases: dict[str, tuple[str, Case]] = {}
    info: dict[str, Any] = {}

    # The floor: raw httpx at its leanest (one client, keep-alive, no proxy lookup from the environment); responses
    # are checked and parsed as JSON, which every side does.
    floor_client = httpx.Client(headers=auth, trust_env=False)

    def floor_seq() -> Metrics:
        def run() -> None:
            for _ in range(requests):
                response = floor_client.get(f"{base}/user/subscription")
                response.raise_for_status()
                response.json()

        return timed(run, requests)

    def floor_conc() -> Metrics:
        async def run() -> Metrics:
            limits = httpx.Limits(max_connections=concurrency)
            async with httpx.AsyncClient(headers=auth, limits=limits, trust_env=False) as client:
                gate = asyncio.Semaphore(concurrency)

                async def one() -> None:
                    async with gate:
                        response = await client.get(f"{base}/user/subscription")
                        response.raise_for_status()
                        response.json()

                await one()
                start = time.perf_counter()
                await asyncio.gather(*(one() for _ in range(requests)))
                return {"s": time.perf_counter() - start, "items": float(requests)}

        return asyncio.run(run())

    def floor_stream(first_only: bool) -> Metrics:
        start = time.perf_counter()
        first = None
        with floor_client.stream("POST", f"{base}/ai/generate-stream", json=body) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if first is None:
                        first = time.perf_counter() - start
                        if first_only:
                            break
                    if event.get("final"):
                        break
        assert first is not None
        return {"s": first if first_only else time.perf_counter() - start}

    cases["floor:GET /user/subscription, sequential"] = ("req/s", floor_seq)
    cases[f"floor:GET /user/subscription, {concurrency} in flight (async)"] = ("req/s", floor_conc)
    cases["floor:stream: time to first token"] = ("ms", lambda: floor_stream(True))
    cases[f"floor:stream: {length} tokens, whole stream"] = ("ms", lambda: floor_stream(False))

    try:
        _require("nai_sdk._client")
        from nai_sdk._client import AsyncNovelAI, NovelAI
    except SkipGroup as exc:
        info["ours_skipped"] = str(exc)
        return cases, info

    nai = NovelAI(token=token, base_url=base)
    info["ours_async_backend"] = AsyncNovelAI(token=token, base_url=base).http_backend

    def ours_seq() -> Metrics:
        return timed(lambda: [nai.account.subscription() for _ in range(requests)], requests)

    def ours_conc() -> Metrics:
        async def run() -> Metrics:
            async with AsyncNovelAI(token=token, base_url=base) as client:
                gate = asyncio.Semaphore(concurrency)

                async def one() -> None:
                    async with gate:
                        await client.account.subscription()

                await one()
                start = time.perf_counter()
                await asyncio.gather(*(one() for _ in range(requests)))
                return {"s": time.perf_counter() - start, "items": float(requests)}

        return asyncio.run(run())

    def ours_stream(first_only: bool) -> Metrics:
        start = time.perf_counter()
        first = None
        with nai.text.stream(prompt, "clio-v1", min_length=length, max_length=length) as stream:
            for piece in stream:
                if first is None:
                    first = time.perf_counter() - start
                    if first_only:
                        break
                if piece.final:
                    break
        assert first is not None
        return {"s": first if first_only else time.perf_counter() - start}

    ours_stream(False)  # loads the Clio tokenizer, which decodes the pieces
    cases["ours:GET /user/subscription, sequential"] = ("req/s", ours_seq)
    cases[f"ours:GET /user/subscription, {concurrency} in flight (async)"] = ("req/s", ours_conc)
    cases["ours:stream: time to first token"] = ("ms", lambda: ours_stream(True))
    cases[f"ours:stream: {length} tokens, whole stream"] = ("ms", lambda: ours_stream(False))
    return cases, info


def setup(group: str, params: dict[str, Any]) -> Setup:
    if group == "tokenizers":
        return setup_tokenizers(params)
    if group == "crypto":
        return setup_crypto(params)
    if group == "http":
        return setup_http(params)
    raise SkipGroup(f"no group {group!r} in this worker")


if __name__ == "__main__":
    serve(setup)

"""The benchmark worker of the project venv: nai_sdk ("ours") and the raw libraries under it ("floor").

Started by bench/run.py; speaks bench/_proto.py on stdin/stdout. Each group imports its modules in `setup`, so a
module that is missing (or still being written) skips only its group, with the reason.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.metadata
import json
import sys
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http_runs import Plan, async_cases, check_async, check_sync, sync_cases
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


# --- HTTP against the local fixed-answer server (bench/http_server.py) ------------------------------------------

OURS_BACKENDS: dict[str, Literal["aiohttp", "httpx"]] = {
    "AsyncNovelAI-aiohttp": "aiohttp",
    "AsyncNovelAI-httpx": "httpx",
}

_PATHS = ("/user/subscription", "/ai/generate", "/ai/generate-stream")  # GET, POST, stream


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class _Target:
    """What every client of the http group sends: the server, the token and one generation request."""

    base: str
    token: str
    model: str
    prompt: list[int]
    length: int

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def body(self) -> dict[str, Any]:
        """The raw clients' generation request: 2-byte token ids (Clio's width) and the length, nothing else."""
        tokens = b"".join(token.to_bytes(2, "little") for token in self.prompt)
        parameters = {"min_length": self.length, "max_length": self.length}
        return {"input": base64.b64encode(tokens).decode(), "model": self.model, "parameters": parameters}


class _Events:
    """The raw clients' SSE parsing, lean: events end with a blank line (LF, as the server sends them), and each
    has one `data:` line of JSON. Yields the `final` of each complete event as soon as it is parsed, so the first
    event of a chunk is handed over before the rest are parsed."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, chunk: bytes) -> Iterator[bool]:
        self.buffer += chunk
        while (end := self.buffer.find(b"\n\n")) >= 0:
            event, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
            for line in event.split(b"\n"):
                if line.startswith(b"data:"):
                    yield bool(json.loads(line[5:])["final"])


def _http_aiohttp(target: _Target, loop: asyncio.AbstractEventLoop, plan: Plan) -> Setup:
    import aiohttp

    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(headers=target.auth)

    session = loop.run_until_complete(make())
    body = target.body
    get_url, post_url, stream_url = (target.base + path for path in _PATHS)

    async def get() -> object:
        async with session.get(get_url) as response:
            response.raise_for_status()
            return await response.json()

    async def post() -> object:
        async with session.post(post_url, json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def stream() -> AsyncIterator[bool]:
        async with session.post(stream_url, json=body) as response:
            response.raise_for_status()
            events = _Events()
            async for chunk in response.content.iter_any():
                for final in events.feed(chunk):
                    yield final

    check_async(loop, get, post, stream, plan.events)
    connector = session.connector
    limit = connector.limit if connector is not None else None
    info = {"aiohttp": _version("aiohttp"), "connection limit": limit}
    return async_cases("aiohttp", loop, get, post, stream, plan), info


def _httpx_limits() -> Any:
    import httpx

    # httpx's own defaults, spelled out so that the report can name them.
    return httpx.Limits(max_connections=100, max_keepalive_connections=20)


def _http_httpx(target: _Target, plan: Plan) -> Setup:
    import httpx

    client = httpx.Client(headers=target.auth, trust_env=False, limits=_httpx_limits())
    body = target.body
    get_url, post_url, stream_url = (target.base + path for path in _PATHS)

    def get() -> object:
        response = client.get(get_url)
        response.raise_for_status()
        return response.json()

    def post() -> object:
        response = client.post(post_url, json=body)
        response.raise_for_status()
        return response.json()

    def stream() -> Iterator[bool]:
        with client.stream("POST", stream_url, json=body) as response:
            response.raise_for_status()
            events = _Events()
            for chunk in response.iter_bytes():
                yield from events.feed(chunk)

    check_sync(get, post, stream, plan.events)
    info = {"httpx": _version("httpx"), "limits": repr(_httpx_limits())}
    return sync_cases("httpx", get, post, stream, plan), info


def _http_httpx_async(target: _Target, loop: asyncio.AbstractEventLoop, plan: Plan) -> Setup:
    import httpx

    async def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(headers=target.auth, trust_env=False, limits=_httpx_limits())

    client = loop.run_until_complete(make())
    body = target.body
    get_url, post_url, stream_url = (target.base + path for path in _PATHS)

    async def get() -> object:
        response = await client.get(get_url)
        response.raise_for_status()
        return response.json()

    async def post() -> object:
        response = await client.post(post_url, json=body)
        response.raise_for_status()
        return response.json()

    async def stream() -> AsyncIterator[bool]:
        async with client.stream("POST", stream_url, json=body) as response:
            response.raise_for_status()
            events = _Events()
            async for chunk in response.aiter_bytes():
                for final in events.feed(chunk):
                    yield final

    check_async(loop, get, post, stream, plan.events)
    info = {"httpx": _version("httpx"), "limits": repr(_httpx_limits())}
    return async_cases("httpx-async", loop, get, post, stream, plan), info


def _ours_info() -> dict[str, Any]:
    from nai_sdk import _constants

    limits = {name: getattr(_constants, name, None) for name in ("DEFAULT_MAX_CONNECTIONS", "DEFAULT_MAX_KEEPALIVE")}
    return {"nai-sdk": _version("nai-sdk"), **limits}


#: Generations in flight that the clients of the http group allow: at least the most requests it has in flight.
GENERATION_SLOTS = 1000


def _http_novelai(target: _Target, plan: Plan) -> Setup:
    _require("nai_sdk._client")
    from nai_sdk import NovelAI

    # The http group measures the transport against a server without NovelAI's one-generation lock, as the peer and
    # the raw libraries are: the account's generation queue is opened wide here (bench_queue.py measures the queue).
    nai = NovelAI(token=target.token, base_url=target.base, generation_slots=GENERATION_SLOTS)
    prompt, model, length = target.prompt, target.model, target.length

    def get() -> object:
        return nai.account.subscription()

    def post() -> object:
        return nai.text.generate(prompt, model, min_length=length, max_length=length)

    def stream() -> Iterator[bool]:
        with nai.text.stream(prompt, model, min_length=length, max_length=length) as pieces:
            for piece in pieces:
                yield piece.final

    check_sync(get, post, stream, plan.events)  # also loads the model's tokenizer, which decodes the answers
    return sync_cases("NovelAI", get, post, stream, plan), _ours_info()


def _http_async_novelai(column: str, target: _Target, loop: asyncio.AbstractEventLoop, plan: Plan) -> Setup:
    _require("nai_sdk._client")
    from nai_sdk import AsyncNovelAI

    backend = OURS_BACKENDS[column]

    async def make() -> AsyncNovelAI:
        return AsyncNovelAI(
            token=target.token, base_url=target.base, http_backend=backend, generation_slots=GENERATION_SLOTS
        )

    nai = loop.run_until_complete(make())
    prompt, model, length = target.prompt, target.model, target.length

    async def get() -> object:
        return await nai.account.subscription()

    async def post() -> object:
        return await nai.text.generate(prompt, model, min_length=length, max_length=length)

    async def stream() -> AsyncIterator[bool]:
        async with nai.text.stream(prompt, model, min_length=length, max_length=length) as pieces:
            async for piece in pieces:
                yield piece.final

    check_async(loop, get, post, stream, plan.events)
    return async_cases(column, loop, get, post, stream, plan), {**_ours_info(), "http_backend": nai.http_backend}


def setup_http(params: dict[str, Any]) -> Setup:
    """One column of the http group (params["column"]): a raw library or one of ours."""
    column = str(params["column"])
    target = _Target(
        base=str(params["base_url"]),
        token=str(params["token"]),
        model=str(params["model"]),
        prompt=[int(token_id) for token_id in params["prompt_tokens"]],
        length=int(params["events"]),
    )
    plan = Plan.from_params(params)
    if column == "httpx":
        return _http_httpx(target, plan)
    if column == "NovelAI":
        return _http_novelai(target, plan)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if column == "aiohttp":
        return _http_aiohttp(target, loop, plan)
    if column == "httpx-async":
        return _http_httpx_async(target, loop, plan)
    if column in OURS_BACKENDS:
        return _http_async_novelai(column, target, loop, plan)
    raise SkipGroup(f"no http column {column!r} in this worker")


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

"""Time decrypting user objects with nai_sdk against the floor: pynacl + zlib + json called directly.

Run from anywhere: `.venv/bin/python scripts/bench_storage.py`. Prints best-of-N wall times.
"""

from __future__ import annotations

import base64
import json
import random
import time
import zlib
from collections.abc import Callable
from typing import Any

import nacl.bindings
import nacl.utils

from nai_sdk.content import decrypt_object, decrypt_objects, encrypt_object
from nai_sdk.keystore import Keystore

MARKER = b"\x00" * 15 + b"\x01"
META = "8e4e8538-21e1-47d0-b8ab-31f485f18564"
KEY = bytes(range(32))


def wire(plaintext: bytes, *, compressed: bool, obj_type: str, index: int) -> dict[str, Any]:
    if compressed:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        plaintext = packer.compress(plaintext) + packer.flush()
    nonce = nacl.utils.random(24)
    payload = nonce + nacl.bindings.crypto_secretbox_easy(plaintext, nonce, KEY)
    data = base64.b64encode(MARKER + payload if compressed else payload).decode()
    return {"id": f"id{index:019d}", "type": obj_type, "meta": META, "data": data, "changeIndex": 1, "lastUpdatedAt": 1}


def floor(raw: dict[str, Any]) -> Any:
    blob = base64.b64decode(raw["data"])
    compressed = blob.startswith(MARKER)
    if compressed:
        blob = blob[16:]
    plain = nacl.bindings.crypto_secretbox_open_easy(blob[24:], blob[:24], KEY)
    return json.loads(zlib.decompress(plain, -15) if compressed else plain)


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def versus(sdk: Callable[[], Any], base: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best-of times of both, interleaved so that load from other processes hits both alike."""
    pairs = [(best(sdk, 1), best(base, 1)) for _ in range(repeat)]
    return min(p[0] for p in pairs), min(p[1] for p in pairs)


def main() -> None:
    rng = random.Random(0)
    store = Keystore({META: KEY})
    small = [
        wire(
            json.dumps(
                {
                    "storyMetadataVersion": 1,
                    "id": META,
                    "remoteStoryId": f"r{i}",
                    "title": f"Story {i} ✨",
                    "description": "d" * rng.randint(0, 200),
                    "textPreview": "The lantern swung in the wind " * 3,
                    "favorite": False,
                    "tags": ["a", "b"],
                    "createdAt": 1700000000000,
                    "lastUpdatedAt": 1700000000000,
                    "isModified": False,
                },
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode(),
            compressed=False,
            obj_type="stories",
            index=i,
        )
        for i in range(1000)
    ]
    words = ["the", "lantern", "swung", "in", "wind", "casting", "long", "shadows", "over", "dragon", "shelf"]
    fragments = [
        {"data": " ".join(rng.choice(words) for _ in range(rng.randint(5, 60))), "origin": rng.choice(["user", "ai"])}
        for _ in range(22_000)
    ]
    big_plain = json.dumps(
        {"storyContentVersion": 4, "story": {"fragments": fragments}, "lore": [{"text": "x" * 500}] * 200},
        separators=(",", ":"),
    ).encode()
    big = wire(big_plain, compressed=True, obj_type="storycontent", index=0)
    print(f"small: 1000 objects, {sum(len(o['data']) for o in small) / 1000:.0f} b64 chars each")
    print(f"big: {len(big_plain) / 1e6:.2f} MB JSON, {len(big['data']) / 1e6:.2f} MB on the wire (compressed)")

    t_sdk, t_floor = versus(lambda: decrypt_objects(small, store), lambda: [floor(o) for o in small], 30)
    print(f"1000 small: nai_sdk {t_sdk * 1e3:.2f} ms, floor {t_floor * 1e3:.2f} ms, ratio {t_sdk / t_floor:.2f}")
    t_sdk, t_floor = versus(lambda: decrypt_object(big, store), lambda: floor(big), 10)
    print(f"5 MB storycontent: nai_sdk {t_sdk * 1e3:.1f} ms, floor {t_floor * 1e3:.1f} ms, ratio {t_sdk / t_floor:.2f}")

    obj = decrypt_object(big, store)
    unmodified = best(lambda: encrypt_object(obj, store), 5)
    print(f"  unmodified encrypt (modified check + original bytes): {unmodified * 1e3:.1f} ms")
    assert obj.data is not None
    obj.data["storyContentVersion"] = 5
    print(
        f"  modified encrypt (serialise, deflate 9, seal): {best(lambda: encrypt_object(obj, store), 5) * 1e3:.1f} ms"
    )
    objs = decrypt_objects(small, store)
    print(f"  1000 small unmodified encrypt: {best(lambda: [encrypt_object(o, store) for o in objs], 5) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()

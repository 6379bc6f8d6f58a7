"""The image helpers' speed against the issue's goals: reading metadata, pricing a request, building a body.

    .venv/bin/python bench/bench_images.py [--rounds N] [--json]

Also the `images` group of bench/run.py (`make bench`). Runs from any working directory. Medians of `--rounds`
rounds, each timing a batch, in one process:

1. `read_metadata` of the alpha-channel form of a 1216x832 RGBA PNG (goal: under 50 ms), on two images Pillow writes
   (its own filters and compression): random noise, the worst case for inflating, and a smooth gradient. The floor
   column is what the peers do (novelai-python 0.9.0, novelai-sdk 0.14.1: decode every pixel with Pillow, then take
   the alpha channel's bits), without their numpy step: Pillow's decode and `getchannel("A")`, then the same bit
   packing as ours. Also the text-chunk form.
2. `anlas_cost` of a V4.5 request (goal: under 20 µs); the floor is the bare formula, inline.
3. `V45Params.request` with 6 characters and 4 vibes (goal: under 200 µs). Vibe encodings are opaque bytes of a size
   no public source gives; 48 KiB each here (their base64 is made once per `Vibe`, so the size barely matters).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import random
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nai_sdk.images import Character, V45Params, Vibe, anlas_cost, read_metadata  # noqa: E402

GOAL_ALPHA_S = 0.050
GOAL_COST_S = 20e-6
GOAL_BODY_S = 200e-6
WIDTH, HEIGHT = 1216, 832
ALPHA_NOISE = "read_metadata, alpha form, 1216x832 noise"
ALPHA_SMOOTH = "read_metadata, alpha form, 1216x832 gradient"
TEXT = "read_metadata, text chunks, 1216x832"
COST = "anlas_cost, V4.5"
BODY = "V4.5 body, 6 characters and 4 vibes"


def _comment() -> dict[str, Any]:
    params = V45Params(seed=1, width=WIDTH, height=HEIGHT, characters=[Character(f"character {i}") for i in range(3)])
    body = params.to_request("a quiet harbour at dusk, " * 8)
    return {"prompt": body["input"], "seed": 1, **body["parameters"]}


def _image(noise: bool, text: dict[str, str] | None) -> bytes:
    """An RGBA PNG Pillow writes, with NovelAI's metadata hidden in the alpha channel's lowest bits."""
    from PIL import Image, PngImagePlugin

    rng = random.Random(1)
    if noise:
        pixels = bytearray(rng.randbytes(WIDTH * HEIGHT * 4))
    else:
        row = b"".join(bytes((x * 255 // WIDTH, 60, 200 - x * 100 // WIDTH, 255)) for x in range(WIDTH))
        pixels = bytearray(row * HEIGHT)
    pixels[3::4] = b"\xff" * (WIDTH * HEIGHT)
    fields = {"Description": "x", "Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 B9F340FD"}
    fields["Comment"] = json.dumps(_comment())
    data = gzip.compress(json.dumps(fields).encode())
    payload = b"stealth_pngcomp" + struct.pack(">I", len(data) * 8) + data
    for n, bit in enumerate("".join(f"{byte:08b}" for byte in payload)):
        x, y = divmod(n, HEIGHT)
        pixels[(y * WIDTH + x) * 4 + 3] = 254 | int(bit)
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.frombytes("RGBA", (WIDTH, HEIGHT), bytes(pixels)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


_LSB = bytes(48 + (value & 1) for value in range(256))


def _pillow_floor(data: bytes) -> dict[str, Any]:
    """The peers' way without numpy: decode every pixel with Pillow, then read the bits."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        alpha = picture.getchannel("A").tobytes()

    def bits(count: int) -> bytes:
        columns = -(-count // HEIGHT)
        flat = b"".join(alpha[x::WIDTH] for x in range(columns))[:count]
        return int(flat.translate(_LSB), 2).to_bytes(count // 8, "big")

    header = bits(19 * 8)
    (length,) = struct.unpack(">I", header[15:])
    fields: dict[str, Any] = json.loads(gzip.decompress(bits(19 * 8 + length)[19:]))
    return fields


def _cost_floor(width: int, height: int, steps: int, samples: int, tier: int) -> int:
    pixels = width * height
    per_image = max(math.ceil(math.ceil(2.951823174884865e-6 * pixels + 5.753298233447344e-7 * pixels * steps)), 2)
    free = tier == 3 and pixels <= 1048576 and steps <= 28
    return per_image * (samples - free)


def _time(work: Callable[[], object], batch: int, rounds: int) -> float:
    """The median seconds one call takes: `rounds` batches of `batch` calls."""
    work()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            work()
        times.append((time.perf_counter() - start) / batch)
    return statistics.median(times)


def measure(rounds: int) -> dict[str, Any]:
    noisy = _image(True, None)
    smooth = _image(False, None)
    # Both ways read the same metadata.
    assert dict(read_metadata(noisy, where="alpha").comment) == json.loads(_pillow_floor(noisy)["Comment"])
    with_text = _image(False, {"Comment": json.dumps(_comment()), "Source": "NovelAI Diffusion V4.5 B9F340FD"})
    params = V45Params(n_samples=1)
    vibes = [Vibe(random.Random(i).randbytes(48 * 1024), 0.7, 0.5, model="nai-diffusion-4-5-full") for i in range(4)]
    body = V45Params(
        seed=1,
        use_coords=True,
        characters=[Character(f"character {i}, red coat", "hat", center=(0.1 + i / 8, 0.5)) for i in range(6)],
        vibes=vibes,
    )
    rows: dict[str, dict[str, Any]] = {
        ALPHA_NOISE: {
            "unit": "ms",
            "ours": _time(lambda: read_metadata(noisy, where="alpha"), 3, rounds),
            "floor": _time(lambda: _pillow_floor(noisy), 3, rounds),
        },
        ALPHA_SMOOTH: {
            "unit": "ms",
            "ours": _time(lambda: read_metadata(smooth, where="alpha"), 3, rounds),
            "floor": _time(lambda: _pillow_floor(smooth), 3, rounds),
        },
        TEXT: {"unit": "ms", "ours": _time(lambda: read_metadata(with_text, where="text"), 20, rounds)},
        COST: {
            "unit": "ms",
            "ours": _time(lambda: anlas_cost(params, tier="opus"), 2000, rounds),
            "floor": _time(lambda: _cost_floor(832, 1216, 28, 1, 3), 2000, rounds),
        },
        BODY: {"unit": "ms", "ours": _time(lambda: body.request("a quiet harbour at dusk"), 200, rounds)},
    }
    goals = ((ALPHA_NOISE, GOAL_ALPHA_S), (ALPHA_SMOOTH, GOAL_ALPHA_S), (COST, GOAL_COST_S), (BODY, GOAL_BODY_S))
    notes = []
    for name, goal in goals:
        ours = rows[name]["ours"]
        verdict = "met" if ours < goal else "MISSED"
        notes.append(f"{name}: {_shown(ours)}, goal under {_shown(goal)}: {verdict}")
    return {"rows": rows, "notes": notes}


def _shown(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=9, help="rounds of each measure (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (for bench/run.py)")
    args = parser.parse_args(argv)
    figures = measure(args.rounds)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{'workload':<48} {'ours':>12} {'floor':>12}")
    for name, values in figures["rows"].items():
        floor = _shown(values["floor"]) if "floor" in values else "-"
        print(f"{name:<48} {_shown(values['ours']):>12} {floor:>12}")
    print()
    for note in figures["notes"]:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())

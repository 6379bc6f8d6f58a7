"""A whole NovelAI session against a local fake server: `python -m nai_sdk.demo` (or `make demo`).

No account and no network are needed: the demo starts `FakeNovelAI` (nai_sdk.testing) on 127.0.0.1 and then does
what a real program does, printing each step:

1. registers an account with an e-mail and password (through the generated client: NovelAI's registration needs a
   captcha, so the SDK does not wrap it),
2. logs in with that e-mail and password,
3. creates the keystore that holds the keys of encrypted objects,
4. uploads an encrypted story whose content holds a msgpackr document,
5. downloads it and decrypts it again,
6. generates text with an official preset, and streams another generation,
7. makes an image and saves it as PNG.

The fake answers generations with random tokens, so the text is word salad and the image a plain test pattern;
against NovelAI (`NovelAI(email=..., password=...)` without `base_url`) the same code does the real thing. Read the
source of `run_demo` below: each step is a few lines of ordinary SDK use.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from nai_sdk.content import Document

__all__ = ["main", "run_demo"]

EMAIL = "demo@example.com"
PASSWORD = "correct horse battery staple"
STORY_TITLE = "The Lantern Keeper"
PARAGRAPHS = (
    "The lantern swung in the wind, casting long shadows over the river.",
    "Mira climbed the tower steps, counting them as her grandmother had taught her.",
)


def _story_document() -> Document:
    """A story-shaped msgpackr document: sections of text in a Map, the way NovelAI's editor lays them out."""
    from nai_sdk.content import Document, JSMap, NaiExt

    sections = JSMap(
        {
            1000 + index: NaiExt(40, {"type": 1, "text": text, "meta": JSMap(), "source": 0, "formatting": []})
            for index, text in enumerate(PARAGRAPHS)
        }
    )
    return Document(NaiExt(20, {"version": 1, "sections": sections, "order": list(sections)}))


class _Steps:
    """Numbered, friendly lines."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.number = 0

    def __call__(self, text: str, *details: str) -> None:
        self.number += 1
        self.out.write(f"{self.number:>2}. {text}\n")
        for detail in details:
            self.out.write(textwrap.indent(textwrap.fill(detail, 100), "      ") + "\n")
        self.out.flush()


def _short(text: str, limit: int = 70) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def run_demo(output_dir: Path, out: TextIO = sys.stdout) -> list[Path]:
    """Runs the whole session, writing one line per step to `out`.

    Args:
        output_dir: where the image is saved (created if missing).
        out: where the narration goes.

    Returns:
        The files written.

    Raises:
        NovelAIError: a step failed.
    """
    from nai_client import Client
    from nai_client.api.user import register
    from nai_client.models import CreateUserRequest

    from nai_sdk import NovelAI, crypto
    from nai_sdk.content import UserObject
    from nai_sdk.images import V45Params
    from nai_sdk.presets import Preset
    from nai_sdk.testing import FakeNovelAI

    step = _Steps(out)
    with FakeNovelAI(default_tier=3) as server:
        step(
            f"Started a fake NovelAI on {server.base_url}",
            "FakeNovelAI serves NovelAI's routes from memory, on loopback: nothing leaves this machine.",
        )

        # Registration sends only keys derived from the e-mail and password; the password never leaves the machine.
        access_key = crypto.access_key(EMAIL, PASSWORD)
        with Client(base_url=server.base_url) as raw:
            answer = register.sync(
                client=raw,
                body=CreateUserRequest(
                    recaptcha="demo",
                    key=access_key,
                    email_cleartext=EMAIL,
                    allow_marketing_emails=False,
                    email=hashlib.sha256(EMAIL.encode()).hexdigest(),
                ),
            )
        if answer is None or not hasattr(answer, "access_token"):
            raise RuntimeError(f"the registration failed: {answer!r}")
        step(
            f"Registered {EMAIL} with an Opus subscription",
            f"Only the access key left the client: {access_key[:6]}… (64 characters, Argon2 of e-mail and "
            "password). The password itself is never sent.",
        )

        with NovelAI(email=EMAIL, password=PASSWORD, base_url=server.base_url) as nai:
            nai.login()
            subscription = nai.account.subscription()
            step("Logged in with the e-mail and password", f"Subscription tier {subscription.tier} (3 is Opus).")

            keystore = nai.storage.keystore()
            nai.storage.save_keystore(keystore)
            step(
                "Created the keystore and uploaded it, encrypted",
                "The keystore holds one key per encrypted object; it is encrypted with a key derived from the "
                "password, so NovelAI cannot read it, nor your stories.",
            )

            meta = keystore.new_meta()
            content = UserObject.new("storycontent", {"storyContentVersion": 6}, keystore, meta=meta)
            content.set_document(_story_document())
            content = nai.storage.create(content)
            story = nai.storage.create(
                UserObject.new(
                    "stories",
                    {"storyMetadataVersion": 1, "id": content.id, "remoteStoryId": content.id, "title": STORY_TITLE},
                    keystore,
                    meta=meta,
                )
            )
            step(
                f"Uploaded the story {STORY_TITLE!r}",
                f"Its content (a msgpackr document of {len(PARAGRAPHS)} paragraphs) was compressed and encrypted "
                f"under a new keystore key; the keystore now holds {len(nai.storage.keystore())} key(s).",
            )

            stories = nai.storage.stories()
            downloaded = next(s for s in stories if s.id == story.id)
            document = downloaded.document()
            texts = [text for path, text in document.strings() if path and path[-1] == "text"] if document else []
            if texts != list(PARAGRAPHS):
                raise RuntimeError("the story read back differs from the one uploaded")
            step(
                f"Downloaded and decrypted {len(stories)} story: {downloaded.title!r}",
                f"The document decoded back to the same {len(texts)} paragraphs: {_short(texts[0], 60)} …",
            )

            preset = Preset.official("erato", "Golden Arrow")
            result = nai.text.generate(PARAGRAPHS[0], "erato", preset, max_length=24)
            step(
                f"Generated {len(result.tokens)} tokens with Erato and the official preset {preset.name!r}",
                f"Text: {_short(result.text)}",
            )

            pieces = 0
            streamed = ""
            with nai.text.stream(PARAGRAPHS[1], "kayra", "Carefree", max_length=16) as text_stream:
                for piece in text_stream:
                    pieces += 1
                    streamed += piece.text
            step(f"Streamed a generation with Kayra: {pieces} pieces as they arrived", f"Text: {_short(streamed)}")

            images = nai.image.generate(
                "a lantern on a river at night", V45Params(width=512, height=512, steps=20, seed=42)
            )
            output_dir.mkdir(parents=True, exist_ok=True)
            written = [picture.save(output_dir / f"demo-{images.seed}-{n}.png") for n, picture in enumerate(images)]
            step(
                f"Made {len(images)} image with NAI Diffusion 4.5 (seed {images.seed})",
                "Saved to " + ", ".join(str(path) for path in written),
            )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the demo; returns 0 on success, 1 with a one-line message on failure."""
    parser = argparse.ArgumentParser(
        prog="python -m nai_sdk.demo",
        description="A whole NovelAI session (login, encrypted storage, text, streaming, images) against a local "
        "fake server: no account, no network.",
    )
    parser.add_argument("-o", "--output", metavar="DIR", help="where to save the image (default: a new temp folder)")
    args = parser.parse_args(argv)
    output = Path(args.output) if args.output else Path(tempfile.mkdtemp(prefix="nai-demo-"))
    print("nai-sdk demo: a whole session against a fake NovelAI on this machine (no account, no network)\n")
    started = time.monotonic()
    try:
        run_demo(output)
    except ModuleNotFoundError as exc:
        print(
            f"demo: the fake server needs the testing extra ({exc.name} is missing): "
            "pip install '.[testing]' from a checkout",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # one line, not a traceback: the demo is the first thing a newcomer runs
        print(f"demo: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"\nDone in {time.monotonic() - started:.1f} s. The code behind each step: {__file__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What read-merge-write costs: keystore writes re-read the server's keystore first; edits write no keystore.

    .venv/bin/python bench/bench_keystore.py [--rounds N] [--stories N]

Against FakeNovelAI on loopback, in one process, alternating rounds:

* "blind" is the old way of adding a story: a new key, one `PUT /user/keystore` of the cached copy (no read, no
  changeIndex: what lost stories), then the two object uploads;
* "ours" is `storage.create_story`: the same, plus the `GET /user/keystore` before the write, under the lock;
* "edit" is `storage.edit` of a story's content, which adds no key and so sends no keystore request at all.

Prints medians per story, the ratio ours/blind, and the requests each sends (from the fake's request log).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nai_client.api.user import set_keystore  # noqa: E402
from nai_client.models import UpdateKeystoreRequest  # noqa: E402

from nai_sdk import NovelAI, crypto  # noqa: E402
from nai_sdk.content import UserObject  # noqa: E402
from nai_sdk.resources._base import Flow, call  # noqa: E402
from nai_sdk.testing import FakeNovelAI  # noqa: E402


def _blind_story(nai: NovelAI, title: str) -> None:
    """The pre-issue-13 path: write the cached keystore as is, then the objects."""
    keystore = nai.storage.keystore()
    meta = keystore.new_meta()
    key = crypto.encryption_key(EMAIL, PASSWORD)
    text, count = keystore.seal(key)
    nai._engine.run(_put_keystore(text))
    keystore.mark_saved(text, key, count)
    content = UserObject.new("storycontent", {"storyContentVersion": 6, "story": {}}, keystore, meta=meta)
    content = nai.storage.create(content)
    story = UserObject.new("stories", {"remoteStoryId": content.id, "title": title}, keystore, meta=meta)
    nai.storage.create(story)


def _put_keystore(text: str) -> Flow[None]:
    yield from call(set_keystore.operation.bind(body=UpdateKeystoreRequest(keystore=text)))


EMAIL = "bench@example.com"
PASSWORD = "bench-" + secrets.token_hex(4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--stories", type=int, default=30, help="stories per side per round")
    args = parser.parse_args()
    with FakeNovelAI(default_tier=3) as fake:
        fake.add_account(crypto.access_key(EMAIL, PASSWORD), email=EMAIL)
        with NovelAI(email=EMAIL, password=PASSWORD, base_url=fake.base_url, keystore_journal=False) as nai:
            nai.storage.create_story("warm-up")
            times: dict[str, list[float]] = {"blind": [], "ours": [], "edit": []}
            requests: dict[str, float] = {}
            for round_ in range(args.rounds):
                order = ["blind", "ours"] if round_ % 2 == 0 else ["ours", "blind"]
                for side in order:
                    fake.requests.clear()
                    start = time.perf_counter()
                    for index in range(args.stories):
                        if side == "blind":
                            _blind_story(nai, f"b{index}")
                        else:
                            nai.storage.create_story(f"o{index}")
                    times[side].append((time.perf_counter() - start) / args.stories)
                    requests[side] = len(fake.requests.all()) / args.stories
                stories = nai.storage.stories()[: args.stories]
                fake.requests.clear()
                start = time.perf_counter()
                for story in stories:
                    assert story.content is not None
                    story.content.data["story"] = {"edited": round_}  # type: ignore[index]
                    nai.storage.edit(story.content)
                times["edit"].append((time.perf_counter() - start) / len(stories))
                requests["edit"] = len(fake.requests.all()) / len(fake.requests.matching("PATCH"))
                keystore_in_edits = len(fake.requests.matching(path="/user/keystore"))
    median = {side: statistics.median(values) * 1000 for side, values in times.items()}
    print(f"{'workload':<34}{'ms/story':>10}{'requests':>10}")
    print(f"{'create_story, blind write (old)':<34}{median['blind']:>10.2f}{requests['blind']:>10.1f}")
    print(f"{'create_story, read-merge-write':<34}{median['ours']:>10.2f}{requests['ours']:>10.1f}")
    print(f"{'edit (no new key), per edit':<34}{median['edit']:>10.2f}{requests['edit']:>10.1f}")
    print(f"ratio ours/blind: {median['ours'] / median['blind']:.2f} ({args.rounds} rounds, medians)")
    print(f"keystore requests during edits: {keystore_in_edits}")


if __name__ == "__main__":
    main()

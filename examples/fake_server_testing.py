"""Test your own code against FakeNovelAI: a local NovelAI on loopback, with faults on demand.

Run: `python examples/fake_server_testing.py`.

In a test suite, start one server per session (a pytest fixture) and make a fresh account per test with
`server.add_account(...)`; `python -m nai_sdk.testing` or `nai fake-server` runs it on its own.
"""

from __future__ import annotations

from nai_sdk import NovelAI, crypto
from nai_sdk.errors import RateLimitError
from nai_sdk.testing import FakeNovelAI


def main() -> None:
    email, password = "tester@example.com", "secret"
    with FakeNovelAI(default_tier=3) as server:
        # An account straight in the server's state: no registration round trip.
        server.add_account(crypto.access_key(email, password), email=email)
        with NovelAI(email=email, password=password, base_url=server.base_url) as nai:
            # The next two generations answer 429 ("retry after 0 s"); the client retries (twice by default).
            server.inject("/ai/generate", status=429, retry_after=0, times=2)
            result = nai.text.generate("Hello", "kayra", max_length=5)
            print(f"succeeded after two 429 answers: {len(result.tokens)} tokens")

            # Three in a row exhaust the retries: the error reaches the caller.
            server.inject("/ai/generate", status=429, retry_after=0, times=3)
            try:
                nai.text.generate("Hello", "kayra", max_length=5)
            except RateLimitError as exc:
                print(f"gave up as expected: {exc}")

            # The state is plain data: tests can read (or corrupt) what the client stored.
            nai.storage.create_story("A test story", "Once upon a time")
            with server.state.lock:
                stored = sum(len(a.objects.get("stories", {})) for a in server.state.accounts.values())
            print(f"stories on the server: {stored}")


if __name__ == "__main__":
    main()

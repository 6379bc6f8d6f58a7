"""Where the examples run: a fake NovelAI by default, so they need no account and spend nothing.

* `NAI_BASE_URL` set (for instance to a `nai fake-server`): the examples use that server, logging in with
  `NAI_USERNAME` and `NAI_PASSWORD` when both are set, else with a throwaway account they register there (a fake
  server accepts any registration).
* `NAI_BASE_URL` not set: each example starts a `FakeNovelAI` of its own, on loopback, for its duration.
* `NAI_EXAMPLES_LIVE=1`: the environment is used as it is, so with `NAI_USERNAME` and `NAI_PASSWORD` set the
  examples talk to NovelAI itself (the image example spends Anlas beyond the free Opus sizes).

Either way the examples then build their clients from the environment, as your own program can: `NovelAI()`
reads `NAI_BASE_URL`, `NAI_USERNAME` and `NAI_PASSWORD` (or `NAI_TOKEN`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from nai_sdk import crypto

__all__ = ["novelai_environment"]


def _register(base_url: str) -> tuple[str, str]:
    """Registers a throwaway account on a fake server (NovelAI itself would ask for a captcha)."""
    email = f"example-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(16)
    response = httpx.post(
        base_url.rstrip("/") + "/user/register",
        json={
            "recaptcha": "example",
            "key": crypto.access_key(email, password),
            "emailCleartext": email,
            "allowMarketingEmails": False,
        },
    )
    response.raise_for_status()
    return email, password


@contextmanager
def novelai_environment() -> Iterator[None]:
    """Sets `NAI_BASE_URL`, `NAI_USERNAME` and `NAI_PASSWORD` for the example (see the module docstring)."""
    if os.environ.get("NAI_EXAMPLES_LIVE") == "1":
        yield
        return
    saved = {name: os.environ.get(name) for name in ("NAI_BASE_URL", "NAI_USERNAME", "NAI_PASSWORD", "NAI_TOKEN")}
    with ExitStack() as stack:
        base_url = os.environ.get("NAI_BASE_URL")
        if not base_url:
            from nai_sdk.testing import FakeNovelAI

            # Opus (tier 3): every model and image size is available, as on a real Opus account.
            base_url = stack.enter_context(FakeNovelAI(default_tier=3)).base_url
        if not (os.environ.get("NAI_USERNAME") and os.environ.get("NAI_PASSWORD")) or not saved["NAI_BASE_URL"]:
            email, password = _register(base_url)
            os.environ.update(NAI_USERNAME=email, NAI_PASSWORD=password)
        os.environ["NAI_BASE_URL"] = base_url
        os.environ.pop("NAI_TOKEN", None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

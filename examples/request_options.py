"""Per-call options, a raw response, and the SDK's logging: what a bot author reaches for when debugging.

Run: `NAI_LOG=debug python examples/request_options.py` (NAI_LOG=debug shows one line per request on stderr;
tokens, keys and bodies never appear in it).
"""

from __future__ import annotations

from _setup import novelai_environment
from nai_client.models import PriorityResponse

from nai_sdk import NovelAI, RawResponse


def main() -> None:
    with novelai_environment(), NovelAI() as nai:
        # One call with its own timeout and a header that names it in a proxy's logs.
        priority = nai.account.priority(timeout=10, extra_headers={"X-Trace": "example"})
        print(f"priority actions left: {priority.max_priority_actions}")

        # The same call with its answer's status and headers: `parsed` keeps its type (PriorityResponse).
        raw: RawResponse[PriorityResponse] = nai.with_raw_response(nai.account.priority)()
        print(f"status {raw.status_code}, request id {raw.request_id}")

        # Generation parameters and per-call options share the keyword arguments; mypy checks both.
        result = nai.text.generate("The harbour at dawn", "erato", max_length=20, timeout=60)
        print(result.text)


if __name__ == "__main__":
    main()

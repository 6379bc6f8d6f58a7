"""Stream a generation: print each piece of text as it arrives.

Run: `python examples/stream.py`.
"""

from __future__ import annotations

from _setup import novelai_environment

from nai_sdk import NovelAI


def main() -> None:
    with novelai_environment(), NovelAI() as nai:
        # `with` closes the connection even if the loop stops early.
        with nai.text.stream("The night was", "erato", max_length=30) as stream:
            for piece in stream:
                print(piece.text, end="", flush=True)
        print()
        print(f"{len(stream.result.tokens)} tokens in all")


if __name__ == "__main__":
    main()

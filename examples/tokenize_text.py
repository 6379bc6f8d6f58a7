"""Tokenize text, count tokens, and use the base64 token format of the generation endpoints (no server needed).

Run: `python examples/tokenize_text.py`.
"""

from __future__ import annotations

from nai_sdk.tokenizers import b64_to_tokens, get_tokenizer, tokens_to_b64


def main() -> None:
    text = "The lantern swung in the wind."
    for model in ("erato", "kayra"):
        tokenizer = get_tokenizer(model)  # loaded on first use, verified against its sha256
        ids = tokenizer.encode(text)
        payload = tokens_to_b64(ids, model)  # 4 bytes a token for Erato, 2 for Kayra
        assert b64_to_tokens(payload, model) == ids
        print(f"{model}: {len(ids)} tokens {ids} -> {payload}")
        print(f"  decoded: {tokenizer.decode(ids)!r}")


if __name__ == "__main__":
    main()

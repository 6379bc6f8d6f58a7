"""NovelAI's tokenizers, and the base64 token format of its generation endpoints.

    from nai_sdk.tokenizers import get_tokenizer, tokens_to_b64

    tokenizer = get_tokenizer("kayra-v1")          # a model id, name or alias, or a tokenizer name
    ids = tokenizer.encode("The dragon woke.")
    payload = tokens_to_b64(ids, "kayra-v1")       # 2 bytes a token; 4 for Erato

    erato = get_tokenizer("erato")
    prompt = erato.encode("Once upon a time", add_bos=True)   # BOS at the start of a prompt only

Importing this package loads nothing heavy: each tokenizer's library and vocabulary are loaded on first use,
verified against the sha256 in `data/MANIFEST.json`, and cached. `NAI_TOKENIZER_DIR` (or `directory=`) points
at another folder holding the same files.

The vocabulary files come from novelai-api 0.34.1 (`scripts/vendor_tokenizers.py`); their licenses are in
`data/licenses/`: GPT-2 and CLIP MIT, Pile Apache-2.0, nerdstash GPL-2.0, and Llama 3 under the Meta Llama 3
Community License (Built with Meta Llama 3).
"""

from __future__ import annotations

from nai_sdk.tokenizers._b64 import b64_to_tokens, tokens_to_b64
from nai_sdk.tokenizers._base import AllowedSpecial, Tokenizer
from nai_sdk.tokenizers._registry import DATA_DIR, ENV_DIR, TOKENIZER_NAMES, get_tokenizer, tokenizer_name

__all__ = [
    "DATA_DIR",
    "ENV_DIR",
    "TOKENIZER_NAMES",
    "AllowedSpecial",
    "Tokenizer",
    "b64_to_tokens",
    "get_tokenizer",
    "tokenizer_name",
    "tokens_to_b64",
]

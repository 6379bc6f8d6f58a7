"""The facts about the vendored Llama 3 file that docs/tokenizers.md ("Which Llama 3 file") relies on.

NovelAI's site uses its own `llama3nai_tokenizer.def` for Erato (128,257 ids, per novelai-python 0.9.0); the SDK ships
the stock file. If one of these fails, the file changed: update that section with what the new file is.
"""

from __future__ import annotations

import json
from importlib.resources import files

from nai_sdk.models import TEXT_MODELS
from nai_sdk.tokenizers import get_tokenizer

NAMED_SPECIALS = {
    "<|begin_of_text|>": 128000,
    "<|end_of_text|>": 128001,
    "<|start_header_id|>": 128006,
    "<|end_header_id|>": 128007,
    "<|eot_id|>": 128009,
}


def test_the_vendored_file_is_the_stock_llama3_one() -> None:
    manifest = json.loads(files("nai_sdk.tokenizers").joinpath("data/MANIFEST.json").read_text())
    [entry] = [item for item in manifest["files"] if item["tokenizer"] == "llama3"]
    assert ("llama3.json", "7a7f4e48265c92b885002ce73481f269ff6360f64eb90d868aed642449e5f9f4") == (
        entry["name"],
        entry["sha256"],
    )
    erato = get_tokenizer("llama-3-erato-v1")
    # 128,000 BPE tokens and 256 special ones: one id fewer than NovelAI's 128,257.
    assert (128256, 256) == (erato.vocab_size, len(erato.special_tokens))
    named = {token: id_ for token, id_ in erato.special_tokens.items() if "reserved_special_token" not in token}
    assert NAMED_SPECIALS == named
    assert "<|endoftext|>" not in erato.special_tokens


def test_erato_bos_and_eos_are_the_file_s() -> None:
    erato = get_tokenizer("erato")
    assert (128000, 128000, 128001) == (TEXT_MODELS["llama-3-erato-v1"].bos_token, erato.bos_id, erato.eos_id)


def test_the_ids_public_erato_clients_use_read_as_they_mean_them() -> None:
    erato = get_tokenizer("erato")
    # SillyTavern's Erato lists (src/endpoints/novelai.js): 12488 is the dinkus; 128041 (its asterism) and 128030
    # are unnamed reserved tokens in the stock file, which writes the asterism as two plain tokens.
    assert ("***", "\n") == (erato.decode([12488]), erato.decode([198]))
    assert ["<|reserved_special_token_36|>", "<|reserved_special_token_25|>"] == [
        erato.decode([128041]),
        erato.decode([128030]),
    ]
    assert [53233, 224] == erato.encode("⁂")
    # Erato's preamble is plain text to the stock file: 7 tokens, where NovelAI's file most likely has one.
    assert [27, 91, 8862, 728, 428, 91, 29] == erato.encode(TEXT_MODELS["llama-3-erato-v1"].preamble or "")

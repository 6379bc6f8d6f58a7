"""Tokenizers against every case of tokens.json, plus special tokens, BOS, batching, loading and verification."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from nai_sdk.errors import TokenEncodingError, TokenizerError, UnknownModelError
from nai_sdk.models import IMAGE_MODELS, TEXT_MODELS
from nai_sdk.tokenizers import (
    DATA_DIR,
    ENV_DIR,
    TOKENIZER_NAMES,
    Tokenizer,
    _registry,
    b64_to_tokens,
    get_tokenizer,
    tokenizer_name,
    tokens_to_b64,
)

VECTORS = Path(__file__).parent / "data" / "vectors"
TOKENS: dict[str, Any] = json.loads((VECTORS / "tokens.json").read_text(encoding="utf-8"))
MANIFEST: dict[str, Any] = json.loads((DATA_DIR / "MANIFEST.json").read_text(encoding="utf-8"))
LLAMA3_BOS = 128000

CASES = [
    pytest.param(name, case, id=f"{name}-{case['name']}")
    for name, spec in TOKENS["tokenizers"].items()
    for case in spec["cases"]
]


def expected_tokens(name: str, case: dict[str, Any]) -> list[int]:
    """The correct ids for `encode(text)`: the vectors' fixed variant where the library is wrong, and for
    llama3 without the BOS the library prepends to every encode (docs/formats.md §7 item 2)."""
    for key, value in case.items():
        if key.startswith("tokens_if_") and isinstance(value, list):
            return list(value)
    tokens = list(case["tokens"])
    if name == "llama3" and tokens[:1] == [LLAMA3_BOS]:
        return tokens[1:]
    return tokens


def library_skips_special(name: str) -> bool:
    """Whether the library's decode (which made `decoded`) drops special tokens: Hugging Face's default."""
    return "skips special tokens" in TOKENS["tokenizers"][name].get("encode_call", "")


# --- known answers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "case"), CASES)
def test_encode(name: str, case: dict[str, Any]) -> None:
    assert get_tokenizer(name).encode(case["text"]) == expected_tokens(name, case)


@pytest.mark.parametrize(("name", "case"), CASES)
def test_count(name: str, case: dict[str, Any]) -> None:
    assert get_tokenizer(name).count(case["text"]) == len(expected_tokens(name, case))


@pytest.mark.parametrize(("name", "case"), CASES)
def test_decode(name: str, case: dict[str, Any]) -> None:
    tokenizer = get_tokenizer(name)
    assert tokenizer.decode(case["tokens"], skip_special=library_skips_special(name)) == case["decoded"]


@pytest.mark.parametrize(("name", "case"), CASES)
def test_decode_keeps_special_tokens_by_default(name: str, case: dict[str, Any]) -> None:
    tokenizer = get_tokenizer(name)
    decoded = tokenizer.decode(expected_tokens(name, case))
    if name == "clip":
        assert decoded == case["decoded"]
    elif case["roundtrip"] or name != "pile":  # pile NFC-normalizes; no case here is affected
        assert decoded == case["text"]


@pytest.mark.parametrize(("name", "case"), CASES)
def test_b64(name: str, case: dict[str, Any]) -> None:
    width = TOKENS["tokenizers"][name]["b64_token_size_bytes"]
    assert tokens_to_b64(case["tokens"], width) == case["b64"]
    assert b64_to_tokens(case["b64"], width) == case["tokens"]


@pytest.mark.parametrize("name", sorted(n for n, s in TOKENS["tokenizers"].items() if s["b64_used_by_api"]))
def test_b64_by_model(name: str) -> None:
    spec = TOKENS["tokenizers"][name]
    case = spec["cases"][0]
    for model_id in spec["models"]:
        assert tokens_to_b64(case["tokens"], model_id) == case["b64"]
        assert b64_to_tokens(case["b64"], TEXT_MODELS[model_id]) == case["tokens"]


@pytest.mark.parametrize("case", [c for c in TOKENS["b64_cases"] if "tokens" in c and "b64" in c])
def test_b64_cases(case: dict[str, Any]) -> None:
    assert tokens_to_b64(case["tokens"], case["token_size_bytes"]) == case["b64"]
    assert b64_to_tokens(case["b64"], case["token_size_bytes"]) == case["tokens"]
    assert bytes.fromhex(case["hex"]) == bytes(__import__("base64").b64decode(case["b64"]))


@pytest.mark.parametrize("case", [c for c in TOKENS["b64_cases"] if "tokens" not in c or "b64" not in c])
def test_b64_library_defects_are_errors(case: dict[str, Any]) -> None:
    with pytest.raises(TokenEncodingError):
        if "b64" in case:  # the library silently yields a short last token
            b64_to_tokens(case["b64"], case["token_size_bytes"])
        else:  # the library raises OverflowError
            tokens_to_b64(case["tokens"], case["token_size_bytes"])


@pytest.mark.parametrize("name", sorted(TOKENS["tokenizers"]))
def test_vocabulary(name: str) -> None:
    spec = TOKENS["tokenizers"][name]
    tokenizer = get_tokenizer(name)
    assert tokenizer.name == name
    assert tokenizer.vocab_size == spec.get("vocab_size_with_added", spec.get("vocab_size"))
    for model_id in spec["models"]:
        assert get_tokenizer(model_id) is tokenizer


@pytest.mark.parametrize("name", sorted(TOKENS["tokenizers"]))
def test_manifest_pins_the_vector_files(name: str) -> None:
    spec = TOKENS["tokenizers"][name]
    entry = next(e for e in MANIFEST["files"] if e["name"] == spec["file"])
    assert entry["sha256"] == spec["file_sha256"]
    data = (DATA_DIR / entry["name"]).read_bytes()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["size"])
    assert (DATA_DIR / entry["license_file"]).is_file()


def test_license_files_match_manifest() -> None:
    for entry in MANIFEST["licenses"]:
        data = (DATA_DIR / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]
    notice = (DATA_DIR / "licenses" / "NOTICE-LLAMA3.txt").read_text(encoding="utf-8")
    assert "Built with Meta Llama 3" in notice
    license_text = (DATA_DIR / "licenses" / "LLAMA3-LICENSE.txt").read_text(encoding="utf-8")
    assert license_text.startswith("META LLAMA 3 COMMUNITY LICENSE AGREEMENT")


# --- special tokens -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["nerdstash_v1", "nerdstash_v2"])
def test_sentencepiece_special_strings_keep_the_next_character(name: str) -> None:
    tokenizer = get_tokenizer(name)
    assert tokenizer.encode("a") == [49212]
    assert tokenizer.encode("b") == [49229]
    assert tokenizer.encode("a<|endoftext|>b") == [49212, 3, 49229]
    assert tokenizer.encode("<|pad|><|unk|>x<|startoftext|>") == [0, 1, 49271, 2]
    assert tokenizer.decode([49212, 3, 49229]) == "a<|endoftext|>b"
    assert tokenizer.decode([0, 1, 2, 3]) == "<|pad|><|unk|><|startoftext|><|endoftext|>"
    assert tokenizer.decode([49212, 0, 1, 2, 3, 49229], skip_special=True) == "ab"


@pytest.mark.parametrize("name", ["nerdstash_v1", "nerdstash_v2"])
def test_sentencepiece_specials_as_text(name: str) -> None:
    spec = TOKENS["tokenizers"][name]
    tokenizer = get_tokenizer(name)
    for case in spec["cases"]:
        if "raw_library_tokens" in case:
            assert tokenizer.encode(case["text"], allowed_special=set()) == case["raw_library_tokens"]
    plain_eot = [49438, 49376, 809, 1352, 2576, 49376, 49405]
    assert tokenizer.encode("a<|endoftext|>b<|pad|>", allowed_special={"<|pad|>"}) == [49212, *plain_eot, 49229, 0]


def test_hf_specials_as_text() -> None:
    gpt2 = get_tokenizer("gpt2")
    assert gpt2.encode("a<|endoftext|>b") == [64, 50256, 65]
    assert gpt2.encode("a<|endoftext|>b", allowed_special=set()) == [64, 27, 91, 437, 1659, 5239, 91, 29, 65]
    pile = get_tokenizer("pile")
    assert pile.encode("a<|endoftext|>b<|padding|>") == [66, 0, 67, 1]
    assert pile.encode("a<|endoftext|>b<|padding|>", allowed_special=set()) == [
        66, 29, 93, 423, 1171, 1156, 49651, 67, 29, 93, 17333, 49651,
    ]  # fmt: skip
    llama3 = get_tokenizer("llama3")
    plain_bot = [27, 91, 7413, 3659, 4424, 91, 29]
    assert llama3.encode("<|begin_of_text|>x") == [128000, 87]
    assert llama3.encode("<|begin_of_text|>x", allowed_special=set()) == [*plain_bot, 87]
    assert llama3.encode("<|begin_of_text|>x<|end_of_text|>", allowed_special={"<|end_of_text|>"}) == [
        *plain_bot, 87, 128001,
    ]  # fmt: skip


def test_special_token_tables() -> None:
    assert get_tokenizer("gpt2").special_tokens == {"<|endoftext|>": 50256}
    assert get_tokenizer("pile").special_tokens == {"<|endoftext|>": 0, "<|padding|>": 1}
    assert get_tokenizer("kayra").special_tokens == {
        "<|pad|>": 0, "<|unk|>": 1, "<|startoftext|>": 2, "<|endoftext|>": 3,
    }  # fmt: skip
    assert get_tokenizer("clip").special_tokens == {"<|startoftext|>": 49406, "<|endoftext|>": 49407}
    llama3 = get_tokenizer("llama3").special_tokens
    assert len(llama3) == 256
    assert llama3["<|begin_of_text|>"] == 128000
    assert "<|endoftext|>" not in llama3


def test_decode_skip_special_for_hf() -> None:
    gpt2 = get_tokenizer("gpt2")
    assert gpt2.decode([64, 50256, 65]) == "a<|endoftext|>b"
    assert gpt2.decode([64, 50256, 65], skip_special=True) == "ab"
    assert get_tokenizer("llama3").decode([128000, 9906]) == "<|begin_of_text|>Hello"


def test_unknown_allowed_special() -> None:
    with pytest.raises(TokenizerError, match=r"<\|endoftext\|>"):
        get_tokenizer("llama3").encode("x", allowed_special={"<|endoftext|>"})
    with pytest.raises(TokenizerError, match="allowed_special"):
        get_tokenizer("gpt2").encode("x", allowed_special="none")  # type: ignore[arg-type]


# --- BOS ------------------------------------------------------------------------------------------------------


def test_erato_encode_adds_no_bos_unless_asked() -> None:
    erato = get_tokenizer("llama-3-erato-v1")
    assert erato.bos_id == TEXT_MODELS["llama-3-erato-v1"].bos_token == LLAMA3_BOS
    assert erato.encode("") == []
    assert erato.encode("", add_bos=True) == [LLAMA3_BOS]
    assert erato.encode("Hello, world!") == [9906, 11, 1917, 0]
    assert erato.encode("Hello, world!", add_bos=True) == [LLAMA3_BOS, 9906, 11, 1917, 0]
    assert erato.encode_batch(["", "\n"], add_bos=True) == [[LLAMA3_BOS], [LLAMA3_BOS, 198]]
    # The preamble is plain text for llama3: 7 tokens.
    assert erato.encode("<|endoftext|>") == [27, 91, 8862, 728, 428, 91, 29]


def test_add_bos_without_bos() -> None:
    with pytest.raises(TokenizerError, match="no BOS"):
        get_tokenizer("gpt2").encode("x", add_bos=True)


# --- batches --------------------------------------------------------------------------------------------------

BATCH = [
    "",
    "Hello, world!",
    "a<|endoftext|>b<|pad|>c",
    "<|begin_of_text|>東京 and 京都<|endoftext|>",
    "  spaced\n\n\nlines  ",
    "🐉" * 20,
] * 5


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@pytest.mark.parametrize("allowed", ["all", set()], ids=["all", "none"])
def test_encode_batch_equals_encode(name: str, allowed: Any) -> None:
    tokenizer = get_tokenizer(name)
    expected = [tokenizer.encode(text, allowed_special=allowed) for text in BATCH]
    assert tokenizer.encode_batch(BATCH, allowed_special=allowed) == expected
    assert tokenizer.encode_batch(BATCH, allowed_special=allowed, num_threads=2) == expected
    assert tokenizer.encode_batch([]) == []


def test_encode_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="str"):
        get_tokenizer("gpt2").encode(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        get_tokenizer("kayra").encode_batch(["a", 1])  # type: ignore[list-item]


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
def test_decode_rejects_ids_outside_the_vocabulary(name: str) -> None:
    tokenizer = get_tokenizer(name)
    with pytest.raises(TokenEncodingError, match=str(tokenizer.vocab_size)):
        tokenizer.decode([1, tokenizer.vocab_size])
    with pytest.raises(TokenEncodingError, match="-1"):
        tokenizer.decode([-1])
    assert tokenizer.decode(iter([])) == ""


# --- CLIP text cleaning ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("“Hi” ＦＵＬＬ &amp;amp; ﬁne", [257, 1883, 257, 1476, 261, 3797]),  # quotes, width, HTML x2, ligature
        ("<|ENDOFTEXT|>", [49407]),  # lower-cased before special strings are matched
        ("\tHello,\x00\n\n world!  ", [3306, 267, 1002, 256]),  # control characters and whitespace
    ],
)
def test_clip_cleaning(text: str, tokens: list[int]) -> None:
    assert get_tokenizer("clip").encode(text) == tokens


def test_clip_decode_adds_spaces() -> None:
    clip = get_tokenizer("nai-diffusion")
    assert clip.decode([3306, 267, 1002, 256]) == "hello , world ! "
    assert clip.decode([49406, 3306, 49407], skip_special=True) == "hello "
    assert clip.bos_id == 49406
    assert clip.eos_id == 49407


# --- finding and loading --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("kayra-v1", "nerdstash_v2"),
        ("Kayra", "nerdstash_v2"),
        (TEXT_MODELS["clio-v1"], "nerdstash_v1"),
        ("erato", "llama3"),
        ("krake", "pile"),
        ("genji", "gpt2-genji"),
        ("sigurd", "gpt2"),
        ("safe-diffusion", "clip"),
        (IMAGE_MODELS["nai-diffusion-furry"], "clip"),
        ("pile", "pile"),
    ],
)
def test_tokenizer_name(model: Any, name: str) -> None:
    assert tokenizer_name(model) == name
    assert get_tokenizer(model) is get_tokenizer(name)


@pytest.mark.parametrize("model", ["nai-diffusion-3", IMAGE_MODELS["nai-diffusion-4-5-full"], "t5", "", 3])
def test_no_tokenizer(model: Any) -> None:
    with pytest.raises(UnknownModelError):
        get_tokenizer(model)


@pytest.fixture
def gpt2_copy(tmp_path: Path) -> Path:
    shutil.copy(DATA_DIR / "gpt2_tokenizer.json", tmp_path / "gpt2_tokenizer.json")
    return tmp_path


def test_directory_argument(gpt2_copy: Path) -> None:
    tokenizer = get_tokenizer("gpt2", directory=gpt2_copy)
    assert tokenizer is not get_tokenizer("gpt2")
    assert tokenizer is get_tokenizer("6B-v4", directory=str(gpt2_copy))
    assert tokenizer.encode("Hello, world!") == [15496, 11, 995, 0]


def test_environment_variable(gpt2_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(gpt2_copy))
    assert get_tokenizer("gpt2") is get_tokenizer("gpt2", directory=gpt2_copy)
    with pytest.raises(TokenizerError, match=r"nerdstash_v2\.model"):
        get_tokenizer("kayra")


def test_tampered_file_is_refused(gpt2_copy: Path) -> None:
    path = gpt2_copy / "gpt2_tokenizer.json"
    path.write_bytes(path.read_bytes().replace(b'"Hello"', b'"Hellp"', 1))
    with pytest.raises(TokenizerError, match="sha256"):
        get_tokenizer("gpt2", directory=gpt2_copy)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match=r"llama3\.json"):
        get_tokenizer("erato", directory=tmp_path)


def test_concurrent_first_use_loads_once(gpt2_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    load = _registry._load

    def counting_load(name: str, path: Path) -> Tokenizer:
        calls.append(name)
        return load(name, path)

    monkeypatch.setattr(_registry, "_load", counting_load)
    barrier = threading.Barrier(8)
    results: list[Tokenizer] = []

    def worker() -> None:
        barrier.wait()
        results.append(get_tokenizer("gpt2", directory=gpt2_copy))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["gpt2"]
    assert len(results) == 8
    assert all(result is results[0] for result in results)


def test_import_loads_no_tokenizer() -> None:
    code = (
        "import sys, nai_sdk, nai_sdk.models, nai_sdk.tokenizers\n"
        "from nai_sdk.tokenizers import _registry\n"
        "heavy = sorted(m for m in ('tokenizers', 'sentencepiece') if m in sys.modules)\n"
        "print(heavy, len(_registry._cache))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[] 0"

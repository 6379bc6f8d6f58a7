"""build_request against the generate_requests of tests/data/vectors/presets.json, plus truncation and prompts."""

from __future__ import annotations

import base64
import copy
import json
import pickle
import struct
from pathlib import Path
from typing import Any

import pytest

from nai_sdk.errors import ConfigurationError, PresetError, TokenEncodingError, UnknownModelError
from nai_sdk.presets import BanList, BiasGroup, GenerationRequest, GlobalSettings, Preset, build_request

VECTORS = json.loads((Path(__file__).parent / "data" / "vectors" / "presets.json").read_text(encoding="utf-8"))
ORDER_NAMES = {value: name for name, value in VECTORS["order_enum"].items()}
ERATO = "llama-3-erato-v1"
ERATO_BOS = 128000

# Settings novelai-api 0.34.1 sends although their sampler is disabled (docs/formats.md §7 item 3).
SETTINGS_THE_PEER_KEEPS = {
    "TFS": ("tail_free_sampling",),
    "CFG": ("cfg_scale", "cfg_uc"),
    "Mirostat": ("mirostat_tau", "mirostat_lr"),
    "Unified": ("math1_temp", "math1_quad", "math1_quad_entropy_scale"),
}
# The vectors name the peer's ban list and bias group by their construction (inputs.bad_words, inputs.biases).
BAN_LISTS = {'BanList(" cat", " dog")': BanList(" cat", " dog")}
BIAS_GROUPS = {'BiasGroup(0.5).add(" sword")': BiasGroup(0.5).add(" sword")}
HOSTS = {"https://api.novelai.net": "api", "https://text.novelai.net": "text"}


def preset_case(model: str, name: str) -> dict[str, Any]:
    case: dict[str, Any] = next(c for c in VECTORS["models"][model]["official_presets"] if c["name"] == name)
    return case


def strip_bos(model: str, tokens: list[int]) -> list[int]:
    # The peer prepends Erato's BOS to ban phrases, biases and stop sequences (docs/formats.md §7 item 2).
    return tokens[1:] if model == ERATO and tokens[:1] == [ERATO_BOS] else tokens


def fixed_body(request: dict[str, Any]) -> dict[str, Any]:
    """The vector's body with the peer's two defects undone, each step spelled out."""
    model = request["model"]
    body: dict[str, Any] = copy.deepcopy(request["body"])
    params = body["parameters"]
    case = preset_case(model, request["inputs"]["preset"])
    order = case["stored_settings"]["order"]
    enabled = {ORDER_NAMES[value] for value, on in zip(order, case["sampling_options"], strict=True) if on}
    for sampler, keys in SETTINGS_THE_PEER_KEEPS.items():
        if sampler not in enabled:
            for key in keys:
                params.pop(key, None)
    if "bad_words_ids" in params:
        params["bad_words_ids"] = [strip_bos(model, tokens) for tokens in params["bad_words_ids"]]
    if "logit_bias_exp" in params:
        params["logit_bias_exp"] = [
            {**entry, "sequence": strip_bos(model, entry["sequence"])} for entry in params["logit_bias_exp"]
        ]
    if "stop_sequences" in params:
        params["stop_sequences"] = [strip_bos(model, tokens) for tokens in params["stop_sequences"]]
    # The whitelist is a flattened set; its BOS came only from the tokenized whitelist strings.
    if model == ERATO:
        params["repetition_penalty_whitelist"] = [t for t in params["repetition_penalty_whitelist"] if t != ERATO_BOS]
    return body


def call(request: dict[str, Any]) -> GenerationRequest:
    inputs = request["inputs"]
    kwargs: dict[str, Any] = {}
    if "bad_words" in inputs:
        kwargs["ban_lists"] = BAN_LISTS[inputs["bad_words"]]
    if "biases" in inputs:
        kwargs["bias_groups"] = BIAS_GROUPS[inputs["biases"]]
    if "stop_sequences" in inputs:
        kwargs["stop_sequences"] = inputs["stop_sequences"]
    return build_request(
        inputs["prompt"],
        request["model"],
        Preset.official(request["model"], inputs["preset"]),
        global_settings=GlobalSettings(**inputs["global_settings"]),
        prefix=inputs.get("prefix"),
        **kwargs,
    )


REQUESTS = [pytest.param(r, id=f"{r['model']}/{r['variant']}") for r in VECTORS["generate_requests"]]


@pytest.mark.parametrize("request_case", REQUESTS)
def test_generate_request_body(request_case: dict[str, Any]) -> None:
    expected = fixed_body(request_case)
    actual = call(request_case)
    assert isinstance(actual, dict)
    # The whitelist's order is unspecified (the peer builds it from a set): compare it as a set, and check that
    # nai-sdk's own order is the sorted one.
    expected_whitelist = set(expected["parameters"].pop("repetition_penalty_whitelist"))
    actual_body = copy.deepcopy(actual.body)
    actual_whitelist = actual_body["parameters"].pop("repetition_penalty_whitelist")
    assert expected_whitelist == set(actual_whitelist)
    assert sorted(actual_whitelist) == actual_whitelist
    assert expected == actual_body
    assert request_case["input_tokens"] == actual.input_tokens
    assert HOSTS[request_case["base_address"]] == actual.host
    assert request_case["base_address"] + request_case["endpoint"] == actual.url


def test_kayra_minimal_body_spelled_out() -> None:
    request = build_request("Once upon a time", "kayra-v1", "Carefree")
    params = dict(request["parameters"])
    whitelist = params.pop("repetition_penalty_whitelist")
    assert len(whitelist) == 73
    assert len(params.pop("bad_words_ids")) == 19
    assert params == {
        "temperature": 1.35,
        "max_length": 40,
        "min_length": 1,
        "top_k": 15,
        "top_p": 0.85,
        "top_a": 0.1,
        "tail_free_sampling": 0.915,
        "repetition_penalty": 2.8,
        "repetition_penalty_range": 2048,
        "repetition_penalty_slope": 0.02,
        "repetition_penalty_frequency": 0.02,
        "repetition_penalty_presence": 0,
        "order": [2, 3, 0, 4, 1],
        "phrase_rep_pen": "aggressive",
        "generate_until_sentence": False,
        "num_logprobs": 10,
        "return_full_text": False,
        "use_string": False,
        "use_cache": False,
        "bracket_ban": True,
        "prefix": "vanilla",
    }
    assert (request["input"], request["model"]) == ("0B9JCU0BqgI=", "kayra-v1")


def test_default_preset_and_euterpe_rescaling() -> None:
    genesis = Preset.official("euterpe-v2", "Genesis")
    assert genesis.repetition_penalty is not None
    request = build_request("x", "euterpe-v2")
    assert 1 + 0.525 * (genesis.repetition_penalty - 1) / 7 == request["parameters"]["repetition_penalty"]
    assert request["parameters"]["repetition_penalty"] == 1.09375
    assert build_request("x", "erato")["parameters"]["order"] == Preset.default("erato").to_settings()["order"]


def test_overrides_win_and_empty_lists_are_dropped() -> None:
    request = build_request(
        "x", "kayra-v1", global_settings={"ban_brackets": False}, max_length=80, temperature=0.5, num_logprobs=0
    )
    params = request["parameters"]
    assert (params["max_length"], params["temperature"], params["num_logprobs"]) == (80, 0.5, 0)
    assert "bad_words_ids" not in params
    assert "logit_bias_exp" not in params
    assert "bracket_ban" not in params


def test_preset_default_whitelist_switches_on_the_global_whitelist() -> None:
    off = GlobalSettings(rep_pen_whitelist=False)
    carefree = Preset.official("kayra-v1", "Carefree")
    assert carefree.repetition_penalty_default_whitelist is True
    assert (
        len(build_request("x", "kayra-v1", carefree, global_settings=off)["parameters"]["repetition_penalty_whitelist"])
        == 73
    )
    carefree.repetition_penalty_default_whitelist = False
    without = build_request("x", "kayra-v1", carefree, global_settings=off)["parameters"]
    assert without["repetition_penalty_whitelist"] == []
    assert "repetition_penalty_default_whitelist" not in without
    carefree["repetition_penalty_whitelist"] = [[5, 7], 3]
    assert build_request("x", "kayra-v1", carefree, global_settings=off)["parameters"][
        "repetition_penalty_whitelist"
    ] == [3, 5, 7]


def test_stop_sequences_replace_the_presets() -> None:
    assert build_request("x", "hypebot")["parameters"]["stop_sequences"] == [[48585]]
    assert build_request("x", "hypebot", stop_sequences=["\n", [1, 2]])["parameters"]["stop_sequences"] == [
        [198],
        [1, 2],
    ]
    with pytest.raises(PresetError, match="not a single string"):
        build_request("x", "kayra-v1", stop_sequences="\n")
    with pytest.raises(PresetError, match=r"stop_sequences\[0\]"):
        build_request("x", "kayra-v1", stop_sequences=[""])


def test_several_ban_lists_and_bias_groups() -> None:
    params = build_request(
        "x",
        "erato",
        global_settings={"ban_brackets": False},
        ban_lists=[BanList(" cat"), BanList(" dog", enabled=False), BanList([7, 8])],
        bias_groups=(BiasGroup(1, " sword"), BiasGroup(-1, " shield", generate_once=True)),
    )["parameters"]
    assert params["bad_words_ids"] == [[8415], [7, 8]]
    assert [entry["sequence"] for entry in params["logit_bias_exp"]] == [[20827], [20858]]
    # novelai-api's keyword names are accepted too, and are not sent as parameters.
    aliased = build_request("x", "erato", global_settings={"ban_brackets": False}, bad_words=BanList(" cat"))
    assert aliased["parameters"]["bad_words_ids"] == [[8415]]
    assert "bad_words" not in aliased["parameters"]
    with pytest.raises(PresetError, match="bad_words_ids"):
        build_request("x", "kayra-v1", ban_lists=[" cat"])  # type: ignore[list-item]


# --- prompts and truncation -------------------------------------------------------------------------------------


def decode_input(request: GenerationRequest) -> list[int]:
    raw = base64.b64decode(request["input"])
    width = request.model.token_width
    return list(struct.unpack(f"<{len(raw) // width}{'I' if width == 4 else 'H'}", raw))


def test_token_list_prompts() -> None:
    kayra = build_request([1, 2, 65535], "kayra-v1")
    assert [1, 2, 65535] == kayra.input_tokens == decode_input(kayra)
    erato = build_request([791, 26161], "erato")
    assert [ERATO_BOS, 791, 26161] == erato.input_tokens == decode_input(erato)
    assert build_request([ERATO_BOS, 791], "erato").input_tokens == [ERATO_BOS, 791]
    assert build_request("", "erato").input_tokens == [ERATO_BOS]
    assert build_request("", "kayra-v1").input_tokens == []
    assert build_request([], "kayra-v1")["input"] == ""
    with pytest.raises(TokenEncodingError, match="index 1"):
        build_request([1, 65536], "kayra-v1")
    with pytest.raises(TokenEncodingError, match="index 0"):
        build_request([True], "kayra-v1")
    with pytest.raises(TokenEncodingError, match="text or a list"):
        build_request(b"abc", "kayra-v1")


def test_truncation_keeps_the_end() -> None:
    tokens = list(range(100, 200))
    assert tokens[-10:] == build_request(tokens, "kayra-v1", max_context=10).input_tokens
    assert [ERATO_BOS, *tokens[-9:]] == build_request(tokens, "erato", max_context=10).input_tokens
    assert build_request(tokens, "erato", max_context=1).input_tokens == [ERATO_BOS]
    assert tokens == build_request(tokens, "kayra-v1", max_context=1000).input_tokens


def test_default_context_is_the_top_tier_minus_max_length() -> None:
    tokens = [5] * 10_000
    kayra = build_request(tokens, "kayra-v1")  # Carefree: max_length 40; Opus: 8192 tokens
    assert len(kayra.input_tokens) == 8192 - 40
    assert len(build_request(tokens, "kayra-v1", max_length=100).input_tokens) == 8192 - 100
    assert len(build_request(tokens, "kayra-v1", max_context="tablet").input_tokens) == 3072 - 40
    erato = build_request(tokens, "erato")  # Dragonfruit: max_length 75
    assert erato.input_tokens == [ERATO_BOS] + [5] * (8192 - 75 - 1)


def test_text_prompt_truncation() -> None:
    request = build_request(" word" * 9000, "kayra-v1")
    assert len(request.input_tokens) == 8192 - 40


def test_context_errors() -> None:
    with pytest.raises(ConfigurationError, match="tier 'tablet'"):
        build_request("x", "erato", max_context="tablet")
    with pytest.raises(ConfigurationError, match="max_context"):
        build_request("x", "kayra-v1", max_context=0)
    with pytest.raises(ConfigurationError, match="no room"):
        build_request("x", "kayra-v1", max_context="tablet", max_length=4000)


def test_models_without_a_known_context_are_not_truncated() -> None:
    assert len(build_request([5] * 5000, "euterpe-v2").input_tokens) == 5000


def test_bad_arguments() -> None:
    with pytest.raises(UnknownModelError):
        build_request("x", "gpt-4")
    with pytest.raises(UnknownModelError, match="Nope"):
        build_request("x", "kayra-v1", "Nope")
    with pytest.raises(PresetError, match="is for kayra-v1, not llama-3-erato-v1"):
        build_request("x", "erato", Preset.default("kayra-v1"))
    with pytest.raises(PresetError, match="preset must be"):
        build_request("x", "kayra-v1", 3)  # type: ignore[arg-type]
    with pytest.raises(PresetError, match="global_settings"):
        build_request("x", "kayra-v1", global_settings=3)  # type: ignore[arg-type]


def test_request_is_json_and_a_dict() -> None:
    request = build_request("Once upon a time", "erato", prefix="special_openings")
    assert request == json.loads(json.dumps(request))
    for duplicate in (copy.deepcopy(request), pickle.loads(pickle.dumps(request))):
        assert (duplicate, duplicate.host, duplicate.input_tokens) == (request, request.host, request.input_tokens)
    assert request["parameters"]["prefix"] == "special_openings"
    assert (request.host, request.url) == ("text", "https://text.novelai.net/ai/generate")
    assert "GenerationRequest(" in repr(request)

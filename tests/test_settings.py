"""Global settings, ban lists and bias groups against tests/data/vectors/presets.json, for every text model."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from nai_sdk.errors import PresetError, UnknownModelError
from nai_sdk.presets import BanList, BiasGroup, GlobalSettings

VECTORS = json.loads((Path(__file__).parent / "data" / "vectors" / "presets.json").read_text(encoding="utf-8"))
ERATO = "llama-3-erato-v1"
ERATO_BOS = 128000


def without_bos(model: str, tokens: list[int]) -> list[int]:
    """novelai-api 0.34.1 prepends Erato's BOS to every tokenized phrase (docs/formats.md §7 item 2); NovelAI wants it
    at the start of the prompt only, so the correct token list is the vector's without that leading 128000."""
    if model == ERATO and tokens[:1] == [ERATO_BOS]:
        return tokens[1:]
    return tokens


def fixed_global(model: str, settings: dict[str, Any]) -> dict[str, Any]:
    expected = copy.deepcopy(settings)
    expected["repetition_penalty_whitelist"] = [
        without_bos(model, tokens) for tokens in expected["repetition_penalty_whitelist"]
    ]
    return expected


GLOBAL_CASES = [
    pytest.param(combo["kwargs"], model, settings, id=f"{name}/{model}")
    for name, combo in VECTORS["global_settings"].items()
    for model, settings in combo["to_settings"].items()
]


@pytest.mark.parametrize(("kwargs", "model", "settings"), GLOBAL_CASES)
def test_global_settings(kwargs: dict[str, Any], model: str, settings: dict[str, Any]) -> None:
    assert fixed_global(model, settings) == GlobalSettings(**kwargs).to_settings(model)


def test_erato_whitelist_spelled_out() -> None:
    whitelist = GlobalSettings().to_settings(ERATO)["repetition_penalty_whitelist"]
    assert whitelist[:3] == [[1], [6], [8]]  # '"', "'", ")" with no BOS before them
    assert all(ERATO_BOS not in tokens for tokens in whitelist)


def test_global_settings_defaults_and_errors() -> None:
    settings = GlobalSettings()
    assert (
        settings.generate_until_sentence,
        settings.num_logprobs,
        settings.ban_brackets,
        settings.bias_dinkus_asterism,
        settings.ban_ambiguous_genji_tokens,
        settings.rep_pen_whitelist,
    ) == (False, 10, True, False, True, True)
    assert GlobalSettings.NO_LOGPROBS == -1
    assert settings.evolve(num_logprobs=0).num_logprobs == 0
    with pytest.raises(PresetError, match="ban_brackets"):
        GlobalSettings(ban_brackets="yes")  # type: ignore[arg-type]
    with pytest.raises(PresetError, match="num_logprobs"):
        GlobalSettings(num_logprobs=-2)
    with pytest.raises(TypeError):
        GlobalSettings(ban_everything=True)  # type: ignore[call-arg]
    with pytest.raises(UnknownModelError):
        settings.to_settings("gpt-4")


BAN_CASES = [
    pytest.param(combo, model, per_model, id=f"{name}/{model}")
    for name, combo in VECTORS["ban_lists"].items()
    for model, per_model in combo.get("per_model", combo.get("expected_per_model", {})).items()
]


@pytest.mark.parametrize(("combo", "model", "per_model"), BAN_CASES)
def test_ban_lists(combo: dict[str, Any], model: str, per_model: list[list[int]]) -> None:
    # For "string_containing_sequence" the vector holds the correct result under expected_per_model (the peer
    # crashes); it still carries the peer's Erato BOS, removed here like everywhere else.
    ban_list = BanList(*combo["sequences"], **combo["kwargs"])
    assert [without_bos(model, tokens) for tokens in per_model] == ban_list.tokenized(model)


def test_string_containing_sequence_is_a_phrase() -> None:
    assert BanList(" a sequence of words").tokenized("kayra-v1") == [[333, 11742, 361, 2449]]
    assert BanList(" a sequence of words").tokenized(ERATO) == [[264, 8668, 315, 4339]]
    assert BanList({"sequences": [[5, 6], [7]]}).get_tokenized_entries("kayra-v1") == [[5, 6]]


BIAS_CASES = [
    pytest.param(combo, model, per_model, id=f"{name}/{model}")
    for name, combo in VECTORS["bias_groups"].items()
    for model, per_model in combo["per_model"].items()
]


@pytest.mark.parametrize(("combo", "model", "per_model"), BIAS_CASES)
def test_bias_groups(combo: dict[str, Any], model: str, per_model: list[dict[str, Any]]) -> None:
    if "from_data" in combo:
        group = BiasGroup.from_data(combo["from_data"])
    else:
        group = BiasGroup(**combo["kwargs"]).add(*combo["sequences"])
    expected = [{**entry, "sequence": without_bos(model, entry["sequence"])} for entry in per_model]
    assert expected == group.tokenized(model)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("", "empty string"),
        ([], "empty token list"),
        ([1, -2], r"\[1\] must be a token id"),
        ([1, True], r"\[1\] must be a token id"),
        ({"text": "x"}, "neither 'sequence' nor 'sequences'"),
        ({"sequences": []}, "non-empty list"),
        ({"sequence": {"sequence": "x"}}, "must be a string"),
        (3, "must be a string"),
        (b"abc", "must be a string"),
    ],
)
def test_bad_entries(entry: Any, message: str) -> None:
    with pytest.raises(PresetError, match=message):
        BanList(entry)
    with pytest.raises(PresetError, match=message):
        BiasGroup(0.5, entry)


def test_bias_group_errors() -> None:
    with pytest.raises(PresetError, match="bias must be a finite number"):
        BiasGroup(float("nan"))
    with pytest.raises(PresetError, match="generate_once"):
        BiasGroup(1, generate_once=1)  # type: ignore[arg-type]
    with pytest.raises(PresetError, match="needs a 'bias'"):
        BiasGroup.from_data({"phrases": []})
    with pytest.raises(PresetError, match="enabled"):
        BanList(" x", enabled=None)  # type: ignore[arg-type]


def test_disabled_lists_yield_nothing_and_can_be_reenabled() -> None:
    ban_list = BanList(" cat", enabled=False)
    assert ban_list.tokenized("kayra-v1") == []
    ban_list.enabled = True
    assert ban_list.tokenized("kayra-v1") == [[3919]]

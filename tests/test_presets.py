"""Presets against tests/data/vectors/presets.json, plus file round trips, editing and the vendored data."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nai_sdk.errors import PresetError, UnknownModelError
from nai_sdk.models import TEXT_MODELS
from nai_sdk.presets import DOCUMENTED_DEFAULTS, PhraseRepPen, Preset, Sampler, _data
from nai_sdk.presets.preset import _officials

VECTORS = json.loads((Path(__file__).parent / "data" / "vectors" / "presets.json").read_text(encoding="utf-8"))
DATA = Path(__file__).parent.parent / "nai_sdk" / "presets" / "data"
ORDER_NAMES = {value: name for name, value in VECTORS["order_enum"].items()}
CASES = [
    pytest.param(model, case, id=f"{model}/{case['name']}")
    for model, entry in VECTORS["models"].items()
    for case in entry["official_presets"]
]
VENDORED = sorted(DATA.glob("presets_*/*.preset"))

# novelai-api 0.34.1 leaves these settings in a request when their sampler is disabled (docs/formats.md §7 item 3):
# the ids "tfs" and "cfg" name no setting, and its special case for mirostat and unified sampling never runs.
# The correct result has them removed too.
SETTINGS_THE_PEER_KEEPS = {
    "TFS": ("tail_free_sampling",),
    "CFG": ("cfg_scale", "cfg_uc"),
    "Mirostat": ("mirostat_tau", "mirostat_lr"),
    "Unified": ("math1_temp", "math1_quad", "math1_quad_entropy_scale"),
}


def fixed_to_settings(case: dict[str, Any]) -> dict[str, Any]:
    """The vector's to_settings without the settings of disabled samplers that the peer failed to drop."""
    expected: dict[str, Any] = copy.deepcopy(case["to_settings"])
    order = case["stored_settings"]["order"]
    enabled = {ORDER_NAMES[value] for value, on in zip(order, case["sampling_options"], strict=True) if on}
    for sampler, keys in SETTINGS_THE_PEER_KEEPS.items():
        if sampler not in enabled:
            for key in keys:
                expected.pop(key, None)
    return expected


@pytest.mark.parametrize(("model", "case"), CASES)
def test_official_preset_matches_the_vectors(model: str, case: dict[str, Any]) -> None:
    preset = Preset.official(model, case["name"])
    assert preset.model == case["preset_model"]
    stored = case["stored_settings"]
    assert {k: v for k, v in stored.items() if k != "order"} == preset.parameters
    assert stored["order"] == [int(Sampler.parse(sampler_id)) for sampler_id, _ in preset.order]
    assert case["sampling_options"] == [enabled for _, enabled in preset.order]


@pytest.mark.parametrize(("model", "case"), CASES)
def test_to_settings_leaves_out_every_disabled_sampler(model: str, case: dict[str, Any]) -> None:
    assert fixed_to_settings(case) == Preset.official(model, case["name"]).to_settings()


def test_to_settings_of_kayra_asper_spelled_out() -> None:
    # Asper: mirostat, top_a, top_g, top_p and cfg disabled; typical_p, temperature, top_k, tfs enabled.
    assert Preset.official("kayra-v1", "Asper").to_settings() == {
        "temperature": 1.16,
        "max_length": 40,
        "min_length": 1,
        "top_k": 175,
        "typical_p": 0.96,
        "tail_free_sampling": 0.994,
        "repetition_penalty": 1.68,
        "repetition_penalty_range": 2240,
        "repetition_penalty_slope": 1.5,
        "repetition_penalty_frequency": 0,
        "repetition_penalty_presence": 0.005,
        "repetition_penalty_default_whitelist": True,
        "phrase_rep_pen": "medium",
        "order": [5, 0, 1, 3],
    }


def test_to_settings_drops_zero_range_and_slope() -> None:
    preset = Preset.official("kayra-v1", "Carefree").evolve(repetition_penalty_range=0, repetition_penalty_slope=0)
    settings = preset.to_settings()
    assert "repetition_penalty_range" not in settings
    assert "repetition_penalty_slope" not in settings
    assert "textGenerationSettingsVersion" not in settings


@pytest.mark.parametrize("model", list(VECTORS["models"]))
def test_officials_are_every_vendored_preset_sorted_by_name(model: str) -> None:
    expected = [case["name"] for case in VECTORS["models"][model]["official_presets"]]
    assert expected == [preset.name for preset in Preset.officials(model)]


@pytest.mark.parametrize("model", list(TEXT_MODELS))
def test_every_text_model_has_officials_and_a_default(model: str) -> None:
    officials = Preset.officials(model)
    assert officials
    default = Preset.default(model)
    assert default.model == model
    assert default.name in {preset.name for preset in officials}
    if TEXT_MODELS[model].default_preset is not None:
        assert TEXT_MODELS[model].default_preset == default.name


@pytest.mark.parametrize("model", list(VECTORS["models"]))
def test_default_matches_default_txt(model: str) -> None:
    expected = VECTORS["models"][model]["default_preset_name"]
    if expected is None:
        # Erato ships no default.txt; novelai-api then returns None. nai-sdk documents its choice instead.
        expected = DOCUMENTED_DEFAULTS[model]
    assert expected == Preset.default(model).name


def test_erato_default_is_dragonfruit() -> None:
    assert Preset.default("erato").name == "Dragonfruit"
    assert Preset.default("llama-3-erato-v1").model == "llama-3-erato-v1"


def test_official_returns_independent_copies() -> None:
    first = Preset.official("kayra-v1", "Carefree")
    first.temperature = 2.0
    first.disable("temperature")
    assert Preset.official("kayra-v1", "Carefree").temperature == 1.35
    assert Preset.official("kayra-v1", "Carefree").is_enabled("temperature")


def test_unknown_model_and_preset_names() -> None:
    with pytest.raises(UnknownModelError, match="nope"):
        Preset.officials("nope")
    with pytest.raises(UnknownModelError, match="no official preset 'Nope'"):
        Preset.official("kayra-v1", "Nope")
    with pytest.raises(UnknownModelError, match="image model"):
        Preset.default("nai-diffusion-3")


# --- files ------------------------------------------------------------------------------------------------------

# The one vendored file not laid out as NovelAI's client writes presets (it has `"stop_sequences": [[48585]]` on
# one line): it comes back JSON-equal, every other file byte for byte.
NOT_NOVELAI_LAYOUT = {"presets_hypebot/Default.preset"}


@pytest.mark.parametrize("path", VENDORED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_vendored_file_round_trip(path: Path, tmp_path: Path) -> None:
    original = path.read_bytes()
    preset = Preset.from_file(path)
    target = tmp_path / "out.preset"
    preset.to_file(target)
    written = target.read_bytes()
    if f"{path.parent.name}/{path.name}" in NOT_NOVELAI_LAYOUT:
        assert json.loads(original) == json.loads(written)
        assert original != written
    else:
        assert original == written
    assert preset == Preset.from_file(target)
    assert json.loads(original) == preset.to_dict()


def test_round_trip_keeps_unknown_fields_and_samplers() -> None:
    data = {
        "presetVersion": 9,
        "name": "Odd",
        "futureField": {"nested": [1, 2]},
        "parameters": {
            "temperature": 1,
            "order": [{"id": "future_sampler", "enabled": False}, {"id": "top_k", "enabled": True}],
            "future_setting": "x",
            "top_k": 3,
        },
        "model": "kayra-v1",
        "remoteId": "",
    }
    preset = Preset.from_dict(data)
    assert preset.extra == {"presetVersion": 9, "futureField": {"nested": [1, 2]}, "remoteId": ""}
    assert json.dumps(preset.to_dict()) == json.dumps(data)  # the same keys in the same places
    # temperature is not in the order, so it is not sent; the unknown setting is.
    assert preset.to_settings() == {"future_setting": "x", "top_k": 3, "order": [1]}
    preset.order[0] = ("future_sampler", True)
    with pytest.raises(PresetError, match="future_sampler"):
        preset.to_settings()


def test_from_dict_does_not_keep_the_callers_data() -> None:
    data = json.loads((DATA / "presets_kayra_v1" / "Asper.preset").read_bytes())
    before = copy.deepcopy(data)
    preset = Preset.from_dict(data)
    preset.top_k = 3
    preset.parameters["new"] = 1
    assert before == data


def test_preset_without_order_sends_no_order() -> None:
    preset = Preset.from_dict({"name": "n", "model": "clio-v1", "parameters": {"top_k": 5, "tail_free_sampling": 1}})
    assert preset.to_settings() == {"top_k": 5, "tail_free_sampling": 1}
    assert preset.to_dict() == {"name": "n", "model": "clio-v1", "parameters": {"top_k": 5, "tail_free_sampling": 1}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"model": "kayra-v1", "parameters": {}}, "string 'name'"),
        ({"name": "x", "parameters": {}}, "string 'model'"),
        ({"name": "x", "model": "gpt-4", "parameters": {}}, "unknown model 'gpt-4'"),
        ({"name": "x", "model": "kayra-v1", "parameters": []}, "object 'parameters'"),
        ({"name": "x", "model": "kayra-v1", "parameters": {"order": {}}}, "order must be a list"),
        ({"name": "x", "model": "kayra-v1", "parameters": {"order": [{"id": "top_k"}]}}, r"order\[0\]"),
        (
            {"name": "x", "model": "kayra-v1", "parameters": {"order": [{"id": "top_k", "enabled": 1}]}},
            r"order\[0\]",
        ),
        (
            {
                "name": "x",
                "model": "kayra-v1",
                "parameters": {"order": [{"id": "top_k", "enabled": True}, {"id": "top_k", "enabled": False}]},
            },
            "twice",
        ),
        ({"name": "x", "model": "kayra-v1", "parameters": {"top_k": "5"}}, "'top_k' must be an integer"),
        ({"name": "x", "model": "kayra-v1", "parameters": {"temperature": True}}, "'temperature' must be a finite"),
        ({"name": "x", "model": "kayra-v1", "parameters": {"phrase_rep_pen": "max"}}, "'phrase_rep_pen' must be"),
        ({"name": "x", "model": "kayra-v1", "parameters": {"stop_sequences": [[-1]]}}, "'stop_sequences'"),
    ],
)
def test_invalid_preset_data(data: Any, message: str) -> None:
    with pytest.raises(PresetError, match=message):
        Preset.from_dict(data)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "UTF-8"),
        (b"{", "not valid JSON"),
        (b'{"name": "x", "model": "kayra-v1", "parameters": {"temperature": NaN}}', "NaN"),
        (b"[1]", "JSON object"),
    ],
)
def test_invalid_preset_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.preset"
    path.write_bytes(content)
    with pytest.raises(PresetError, match=message) as info:
        Preset.from_file(path)
    assert "bad.preset" in str(info.value)


def test_preset_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Preset.from_dict({"name": 1})


# --- editing ----------------------------------------------------------------------------------------------------


def test_attribute_setters_check_and_store() -> None:
    preset = Preset.official("kayra-v1", "Carefree")
    preset.temperature = 1.1
    preset.top_k = 10
    preset.phrase_rep_pen = PhraseRepPen.LIGHT
    assert (preset.parameters["temperature"], preset["top_k"], preset.to_settings()["phrase_rep_pen"]) == (
        1.1,
        10,
        "light",
    )
    with pytest.raises(PresetError, match="'top_k' must be an integer"):
        preset.top_k = 1.5  # type: ignore[assignment]
    preset.top_k = None
    assert "top_k" not in preset
    assert preset.min_p is None


def test_evolve_returns_a_changed_copy() -> None:
    preset = Preset.official("llama-3-erato-v1", "Golden Arrow")
    changed = preset.evolve(name="Mine", temperature=0.9, top_p=None)
    assert (preset.name, preset.temperature, preset.top_p) == ("Golden Arrow", 1, 0.995)
    assert (changed.name, changed.temperature, changed.top_p) == ("Mine", 0.9, None)
    with pytest.raises(PresetError, match="unknown setting 'temprature'"):
        preset.evolve(temprature=1.0)
    with pytest.raises(PresetError, match="unknown model"):
        preset.evolve(model="nope")
    assert preset.evolve(model="Kayra").model == "kayra-v1"


def test_enable_and_disable_samplers() -> None:
    preset = Preset.official("kayra-v1", "Asper")
    assert preset.enabled_samplers == [Sampler.TYPICAL_P, Sampler.TEMPERATURE, Sampler.TOP_K, Sampler.TFS]
    preset.disable("tfs", Sampler.TOP_K)
    preset.enable(7, "mirostat")
    settings = preset.to_settings()
    assert settings["order"] == [8, 5, 0, 7]
    assert "tail_free_sampling" not in settings
    assert "top_k" not in settings
    assert (settings["mirostat_tau"], settings["mirostat_lr"]) == (0, 1)
    assert settings["top_g"] == 8
    preset.enable("min_p")
    assert preset.order[-1] == ("min_p", True)
    with pytest.raises(PresetError, match="unknown sampler"):
        preset.disable("nucleus")


def test_sampler_enum_matches_the_vectors() -> None:
    ids = {
        "Temperature": "temperature",
        "Top_K": "top_k",
        "Top_P": "top_p",
        "TFS": "tfs",
        "Top_A": "top_a",
        "Typical_P": "typical_p",
        "CFG": "cfg",
        "Top_G": "top_g",
        "Mirostat": "mirostat",
        "Unified": "math1",
        "Min_p": "min_p",
    }
    assert {ids[name]: value for name, value in VECTORS["order_enum"].items()} == {s.id: int(s) for s in Sampler}
    assert Sampler.TFS is Sampler.parse("tfs") is Sampler.parse(3)
    with pytest.raises(PresetError):
        Sampler.parse(True)


# --- vendored data ----------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_data_caches() -> Iterator[None]:
    def clear() -> None:
        for cached in (_data._manifest, _data.read_data, _data._read_json, _officials):
            cached.cache_clear()

    clear()
    yield
    clear()


def test_tampered_vendored_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_data_caches: None
) -> None:
    copy_dir = tmp_path / "data"
    subprocess.run(["cp", "-r", str(DATA), str(copy_dir)], check=True)
    target = copy_dir / "presets_kayra_v1" / "Carefree.preset"
    target.write_bytes(target.read_bytes().replace(b"1.35", b"1.36"))
    monkeypatch.setattr(_data, "_DATA", copy_dir)
    with pytest.raises(PresetError, match="does not match its manifest"):
        Preset.official("kayra-v1", "Carefree")


def test_missing_vendored_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_data_caches: None
) -> None:
    copy_dir = tmp_path / "data"
    subprocess.run(["cp", "-r", str(DATA), str(copy_dir)], check=True)
    (copy_dir / "presets_kayra_v1" / "Stelenes.preset").unlink()
    monkeypatch.setattr(_data, "_DATA", copy_dir)
    with pytest.raises(PresetError, match="missing"):
        Preset.officials("kayra-v1")


def test_manifest_lists_every_vendored_file_with_its_origin() -> None:
    manifest = json.loads((DATA / "MANIFEST.json").read_bytes())
    on_disk = {str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.name != "MANIFEST.json"}
    assert on_disk == {entry["name"] for entry in manifest["files"]}
    for entry in manifest["files"]:
        assert entry["origin"]["package"] == "novelai-api==0.34.1"
        assert entry["license"].startswith("MIT")
    folders = {p.parent.name for p in VENDORED}
    assert folders == {model.preset_folder for model in TEXT_MODELS.values()}
    assert "presets_2.7B" in manifest["skipped"]


def test_import_reads_nothing_and_loads_no_tokenizer() -> None:
    code = (
        "import sys, nai_sdk.presets as p, nai_sdk.presets._data as d;"
        "assert d._manifest.cache_info().currsize == 0;"
        "assert d.read_data.cache_info().currsize == 0;"
        "assert 'nai_sdk.tokenizers' not in sys.modules;"
        "assert 'tokenizers' not in sys.modules and 'sentencepiece' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

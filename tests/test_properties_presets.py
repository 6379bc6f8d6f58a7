"""Property tests: presets and ban entries from arbitrary input give a value or a PresetError, never a crash."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nai_sdk.errors import PresetError
from nai_sdk.models import TEXT_MODELS
from nai_sdk.presets import BanList, BiasGroup, Preset, Sampler

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(["name", "model", "parameters", "order", "id", "enabled", "top_k", "temperature"])
# Arbitrary JSON whose keys are often the ones a preset has, so that the checks deep inside are reached.
PRESETISH = st.recursive(
    JSON,
    lambda children: st.dictionaries(KEYS | st.text(max_size=4), children, max_size=5) | st.lists(children, max_size=4),
    max_leaves=30,
)
SETTING_VALUES = {
    "temperature": st.floats(0, 5),
    "top_k": st.integers(0, 500),
    "top_p": st.floats(0, 1),
    "max_length": st.integers(1, 150),
    "cfg_uc": st.text(max_size=5),
    "phrase_rep_pen": st.sampled_from(["off", "light", "very_aggressive"]),
    "repetition_penalty_default_whitelist": st.booleans(),
    "something_new": JSON,
}


def check_outcome(build: Any, data: Any) -> None:
    try:
        preset = build(data)
    except PresetError:
        return
    assert isinstance(preset, Preset)
    # A preset that loaded writes back to JSON-equal data and always gives settings or a PresetError.
    assert json.loads(preset.to_json()) == preset.to_dict()
    with contextlib.suppress(PresetError):
        preset.to_settings()


@given(PRESETISH)
def test_arbitrary_json_gives_a_preset_or_a_preset_error(data: Any) -> None:
    check_outcome(Preset.from_dict, data)


@given(
    st.fixed_dictionaries(
        {"name": st.text(max_size=5), "model": st.sampled_from([*TEXT_MODELS, "x"]), "parameters": PRESETISH}
    )
)
def test_arbitrary_parameters_give_a_preset_or_a_preset_error(data: Any) -> None:
    check_outcome(Preset.from_dict, data)


@settings(max_examples=50)
@given(st.binary(max_size=200) | PRESETISH.map(lambda d: json.dumps(d).encode()))
def test_arbitrary_files_give_a_preset_or_a_preset_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.preset"
        path.write_bytes(content)
        check_outcome(Preset.from_file, path)


@st.composite
def valid_presets(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(SETTING_VALUES)), unique=True))
    parameters: dict[str, Any] = {key: draw(SETTING_VALUES[key]) for key in keys}
    samplers = draw(st.lists(st.sampled_from([s.id for s in Sampler] + ["future"]), unique=True))
    order: list[dict[str, Any]] = [{"id": sampler, "enabled": draw(st.booleans())} for sampler in samplers]
    if bool(order) or draw(st.booleans()):
        items = list(parameters.items())
        items.insert(draw(st.integers(0, len(items))), ("order", order))
        parameters = dict(items)
    top = [
        ("name", draw(st.text(max_size=8))),
        ("model", draw(st.sampled_from(list(TEXT_MODELS)))),
        ("parameters", parameters),
        ("presetVersion", 3),
        ("extra", draw(JSON)),
    ]
    return dict(draw(st.permutations(top)))


@given(valid_presets())
def test_valid_presets_round_trip_exactly(data: dict[str, Any]) -> None:
    preset = Preset.from_dict(data)
    assert json.dumps(data) == json.dumps(preset.to_dict())  # same keys in the same places
    assert preset == Preset.from_dict(json.loads(preset.to_json()))
    settings = None
    try:
        settings = preset.to_settings()
    except PresetError:
        assert any(entry["id"] == "future" and entry["enabled"] for entry in data["parameters"].get("order", []))
    if settings is not None and "order" in settings:
        enabled = [Sampler.parse(e["id"]) for e in data["parameters"]["order"] if e["enabled"]]
        assert [int(s) for s in enabled] == settings["order"]
        for sampler in set(Sampler) - set(enabled):
            assert not set(sampler.settings) & set(settings)


@given(PRESETISH)
def test_arbitrary_entries_give_a_list_or_a_preset_error(entry: Any) -> None:
    for build in (lambda: BanList(entry), lambda: BiasGroup(0.1, entry), lambda: BiasGroup.from_data(entry)):
        try:
            result = build()
        except PresetError:
            continue
        assert isinstance(result, BanList | BiasGroup)

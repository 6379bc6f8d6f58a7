"""The model registry against the known-answer vectors (tokens.json, presets.json) and its own rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nai_sdk.errors import UnknownModelError
from nai_sdk.models import IMAGE_MODELS, TEXT_MODELS, TIERS, ImageModel, TextModel, get_image_model, get_model
from nai_sdk.tokenizers import TOKENIZER_NAMES

VECTORS = Path(__file__).parent / "data" / "vectors"
TOKENS: dict[str, Any] = json.loads((VECTORS / "tokens.json").read_text(encoding="utf-8"))
PRESETS: dict[str, Any] = json.loads((VECTORS / "presets.json").read_text(encoding="utf-8"))

TEXT_VECTORS = {k: v for k, v in TOKENS["models"].items() if v["token_size_bytes"] is not None}
IMAGE_VECTORS = {k: v for k, v in TOKENS["models"].items() if v["token_size_bytes"] is None}


@pytest.mark.parametrize("model_id", sorted(TEXT_VECTORS))
def test_text_model_matches_vectors(model_id: str) -> None:
    expected = TEXT_VECTORS[model_id]
    model = get_model(model_id)
    assert model.id == model_id
    assert model.tokenizer == expected["tokenizer"]
    assert model.token_width == expected["token_size_bytes"]
    preamble = expected["preamble"]
    assert model.preamble == (tuple(preamble) if isinstance(preamble, list) else preamble)


@pytest.mark.parametrize("model_id", sorted(IMAGE_VECTORS))
def test_image_model_matches_vectors(model_id: str) -> None:
    model = get_image_model(model_id)
    assert model.id == model_id
    assert model.tokenizer == IMAGE_VECTORS[model_id]["tokenizer"]


def test_every_vector_model_is_registered() -> None:
    assert set(TEXT_VECTORS) <= set(TEXT_MODELS)
    assert set(IMAGE_VECTORS) <= set(IMAGE_MODELS)


@pytest.mark.parametrize("model_id", sorted(PRESETS["models"]))
def test_default_preset_matches_vectors(model_id: str) -> None:
    assert get_model(model_id).default_preset == PRESETS["models"][model_id]["default_preset_name"]


@pytest.mark.parametrize(
    ("model_id", "host", "status", "url"),
    [
        ("kayra-v1", "text", 200, "https://text.novelai.net"),
        ("llama-3-erato-v1", "text", 200, "https://text.novelai.net"),
        ("clio-v1", "api", 201, "https://api.novelai.net"),
        ("6B-v4", "api", 201, "https://api.novelai.net"),
        ("infillmodel", "api", 201, "https://api.novelai.net"),
    ],
)
def test_host_and_status(model_id: str, host: str, status: int, url: str) -> None:
    model = get_model(model_id)
    assert (model.host, model.success_status, model.base_url) == (host, status, url)


def test_erato_specifics() -> None:
    erato = get_model("erato")
    assert erato.id == "llama-3-erato-v1"
    assert erato.token_width == 4
    assert erato.bos_token == 128000
    assert erato.max_token == 2**32 - 1
    assert erato.default_preset is None
    assert erato.preset_folder == "presets_llama_3_erato_v1"


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("kayra", "kayra-v1"),
        ("KAYRA", "kayra-v1"),
        ("Kayra-V1", "kayra-v1"),
        ("sigurd", "6B-v4"),
        ("6b-v4", "6B-v4"),
        ("Euterpe", "euterpe-v2"),
        ("snek", "genji-python-6b"),
        ("Genji", "genji-jp-6b-v2"),
        ("inline", "infillmodel"),
        ("HypeBot", "hypebot"),
        ("krake", "krake-v2"),
        ("clio", "clio-v1"),
    ],
)
def test_aliases_are_case_insensitive(name: str, model_id: str) -> None:
    assert get_model(name).id == model_id


def test_model_instances_pass_through() -> None:
    kayra = TEXT_MODELS["kayra-v1"]
    assert get_model(kayra) is kayra
    v3 = IMAGE_MODELS["nai-diffusion-3"]
    assert get_image_model(v3) is v3


@pytest.mark.parametrize("name", ["", "kayra-v2", "gpt2", "nai-diffusion-3"])
def test_unknown_text_model(name: str) -> None:
    with pytest.raises(UnknownModelError, match="model") as info:
        get_model(name)
    assert isinstance(info.value, LookupError)


def test_image_model_is_not_a_text_model() -> None:
    with pytest.raises(UnknownModelError, match="image model"):
        get_model("nai-diffusion")


def test_unknown_image_model() -> None:
    with pytest.raises(UnknownModelError, match="nai-diffusion-9"):
        get_image_model("nai-diffusion-9")
    with pytest.raises(UnknownModelError):
        get_image_model(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("model", TEXT_MODELS.values(), ids=list(TEXT_MODELS))
def test_text_model_invariants(model: TextModel) -> None:
    assert model.tokenizer in TOKENIZER_NAMES
    assert model.token_width in (2, 4)
    assert model.preset_folder == "presets_" + model.id.replace("-", "_")
    assert set(model.context_tokens) <= set(TIERS)
    assert model.success_status == (200 if model.host == "text" else 201)
    with pytest.raises(TypeError):
        model.context_tokens["opus"] = 1  # type: ignore[index]


@pytest.mark.parametrize("model", IMAGE_MODELS.values(), ids=list(IMAGE_MODELS))
def test_image_model_invariants(model: ImageModel) -> None:
    assert model.tokenizer is None or model.tokenizer in TOKENIZER_NAMES
    assert (model.tokenizer == "clip") == (model.version == 1)
    if model.inpainting:
        assert model.base is not None
        assert model.base in IMAGE_MODELS
        assert IMAGE_MODELS[model.base].version == model.version


def test_context_sizes_as_sourced() -> None:
    assert dict(get_model("kayra").context_tokens) == {"tablet": 3072, "scroll": 6144, "opus": 8192}
    assert set(get_model("clio").context_tokens.values()) == {8192}
    assert dict(get_model("erato").context_tokens) == {"opus": 8192}


def test_models_are_frozen() -> None:
    with pytest.raises(AttributeError):
        get_model("kayra").id = "x"  # type: ignore[misc]

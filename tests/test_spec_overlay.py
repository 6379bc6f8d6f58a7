"""The overlays fix each known defect of the Primary document, and the built document is valid OpenAPI 3.1."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from _scripts import load_script
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

ROOT = Path(__file__).resolve().parent.parent
BUILT = ROOT / "generated" / "openapi.yaml"
SPEC = ROOT / "spec" / "novelai-primary.openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
BINARY = {"type": "string", "format": "binary"}


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(BUILT.read_text(encoding="utf-8"))
    return document


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): item[method]
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    }


def primary_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Operations of the Primary document (the extension's are tagged `image` or `text`)."""
    return {key: op for key, op in operations(document).items() if not {"image", "text"} & set(op["tags"])}


def test_the_vendored_document_is_invalid_and_the_built_one_valid(built: dict[str, Any]) -> None:
    with pytest.raises(OpenAPIValidationError, match="False is not of type 'object'"):
        validate(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    validate(built)


def test_build_matches_a_fresh_build(built: dict[str, Any]) -> None:
    generate = load_script("generate")
    assert generate.build_document() == built


def test_primary_operations_with_deliberate_names(built: dict[str, Any]) -> None:
    primary = primary_operations(built)
    # Every operation of the vendored document, plus the routes the overlays reconstruct (derived, not pinned).
    vendored = operations(yaml.safe_load(SPEC.read_text(encoding="utf-8")))
    assert set(vendored) | {("POST", "/ai/module/train")} == set(primary)
    names = [op["operationId"] for op in operations(built).values()]
    assert len(names) == len(set(names))
    assert [name for name in names if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name)] == []
    tags = {tag for op in primary.values() for tag in op["tags"]}
    assert {"user", "objects", "subscription", "ai", "modules", "submissions", "health"} == tags
    assert all(len(op["tags"]) == 1 for op in primary.values())
    expected = {
        ("POST", "/user/login"): ("login", "user"),
        ("POST", "/user/register"): ("register", "user"),
        ("GET", "/user/keystore"): ("get_keystore", "user"),
        ("PUT", "/user/keystore"): ("set_keystore", "user"),
        ("GET", "/user/objects/{type}"): ("get_objects", "objects"),
        ("POST", "/ai/generate"): ("generate", "ai"),
        ("POST", "/ai/generate-stream"): ("generate_stream", "ai"),
        ("POST", "/ai/generate-image"): ("generate_image", "ai"),
        ("POST", "/ai/generate-voice"): ("generate_voice", "ai"),
        ("GET", "/ai/module/all"): ("get_modules", "modules"),
        ("POST", "/ai/module/train"): ("train_module", "modules"),
        ("POST", "/user/subscription/bind"): ("bind_subscription", "subscription"),
    }
    assert expected == {key: (primary[key]["operationId"], primary[key]["tags"][0]) for key in expected}


def test_non_json_answers_are_declared_as_such(built: dict[str, Any]) -> None:
    ops = operations(built)
    stream = ops["POST", "/ai/generate-stream"]["responses"]
    assert list(stream["201"]["content"]) == ["text/event-stream"]
    assert BINARY.items() <= stream["201"]["content"]["text/event-stream"]["schema"].items()
    for path in ("/ai/generate-image", "/ai/annotate-image", "/ai/upscale"):
        for status in ("200", "201"):
            content = ops["POST", path]["responses"][status]["content"]
            assert list(content) == ["application/zip"], (path, status)
            assert BINARY.items() <= content["application/zip"]["schema"].items()
    for key, status in ((("GET", "/ai/generate-voice"), "200"), (("POST", "/ai/generate-voice"), "201")):
        content = ops[key]["responses"][status]["content"]
        assert content == {"audio/webm": {"schema": BINARY}, "audio/mpeg": {"schema": BINARY}}
    settings = {"$ref": "#/components/schemas/ClientSettings"}
    assert settings == ops["GET", "/user/clientsettings"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert settings == ops["PUT", "/user/clientsettings"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"type": "object", "additionalProperties": True}.items() <= built["components"]["schemas"][
        "ClientSettings"
    ].items()


def test_schema_defects_are_fixed(built: dict[str, Any]) -> None:
    schemas = built["components"]["schemas"]
    bind = schemas["BindSubscriptionRequest"]["properties"]
    assert (bind["confirmedReplace"]["type"], bind["confirmedReplace"]["default"]) == ("boolean", False)
    assert (bind["confirmedIgnore"]["type"], bind["confirmedIgnore"]["default"]) == ("boolean", False)
    assert "required" not in schemas["AiGenerateParameters"]
    assert schemas["CreateUserRequest"]["properties"]["locale"]["type"] == "string"
    assert schemas["AiGenerateVoiceRequest"]["properties"]["voice"]["type"] == "integer"
    params = {p["name"]: p for p in operations(built)["GET", "/user/objects/{type}"]["parameters"]}
    assert {
        name: (params[name]["required"], params[name]["schema"]["type"]) for name in ("offset", "limit", "order")
    } == {"offset": (False, "integer"), "limit": (False, "integer"), "order": (False, "string")}
    voice = {p["name"]: p for p in operations(built)["GET", "/ai/generate-voice"]["parameters"]}["voice"]
    assert voice["schema"]["type"] == "integer"


@pytest.mark.parametrize(
    ("schema", "newer"),
    [
        ("AiGenerateRequest", "llama-3-erato-v1"),
        ("AiGeneratePromptRequest", "llama-3-erato-v1"),
        ("AiGenerateImageRequest", "nai-diffusion-4-5-full"),
        ("AiAnnotateImageRequest", "canny"),
    ],
)
def test_model_fields_are_open_strings(built: dict[str, Any], schema: str, newer: str) -> None:
    model = built["components"]["schemas"][schema]["properties"]["model"]
    assert model["type"] == "string"
    assert "enum" not in model and "default" not in model
    assert newer in model["examples"]


def test_missing_bodies_and_routes_exist(built: dict[str, Any]) -> None:
    ops = operations(built)
    classify = ops["POST", "/ai/classify"]["requestBody"]["content"]["application/json"]["schema"]
    assert classify == {"$ref": "#/components/schemas/AiClassifyRequest"}
    train = ops["POST", "/ai/module/train"]
    assert train["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AiModuleTrainRequest"
    }
    assert train["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AiModuleDto"
    }
    assert list(train["responses"]) == ["201", "400", "401", "402", "409", "500"]
    assert built["components"]["schemas"]["AiModuleTrainRequest"]["required"] == [
        "data",
        "lr",
        "steps",
        "name",
        "description",
    ]
    listing = ops["GET", "/ai/module/all"]["description"]
    assert "Promise<AiModuleDto>" in listing and "HttpException" not in listing


def test_every_overlay_action_says_why() -> None:
    overlay = load_script("_overlay")
    for path in sorted((ROOT / "spec" / "overlays").glob("*.yaml")):
        document = overlay.load_overlay(path)
        assert all(len(action["description"]) > 20 for action in document["actions"]), path.name


def test_overlay_update_merges_and_remove_deletes() -> None:
    overlay = load_script("_overlay")
    document: dict[str, Any] = {"a": {"b": {"type": "object", "default": False}, "l": [1]}, "c": {"x": 1}}
    actions = {
        "overlay": "1.0.0",
        "info": {"title": "t", "version": "1"},
        "actions": [
            {"target": "$.a.b", "description": "why", "update": {"type": "boolean"}},
            {"target": "$.a.l", "description": "why", "update": [2, 3]},
            {"target": "$.c.x", "description": "why", "remove": True},
        ],
    }
    overlay.apply_overlay(document, actions)
    assert document == {"a": {"b": {"type": "boolean", "default": False}, "l": [1, 2, 3]}, "c": {}}


def test_overlay_target_that_selects_nothing_is_an_error() -> None:
    overlay = load_script("_overlay")
    actions = {
        "overlay": "1.0.0",
        "info": {"title": "t", "version": "1"},
        "actions": [{"target": "$.paths['/gone'].get", "description": "why", "remove": True}],
    }
    with pytest.raises(overlay.OverlayError, match="selects nothing"):
        overlay.apply_overlay({"paths": {}}, actions)


def test_extension_routes_are_merged_with_their_hosts(built: dict[str, Any]) -> None:
    extra = {key: op for key, op in operations(built).items() if key not in primary_operations(built)}
    assert {key: (op["operationId"], op["tags"], op["servers"][0]["url"]) for key, op in extra.items()} == {
        ("POST", "/ai/generate-image-stream"): ("generate_image_stream", ["image"], "https://image.novelai.net"),
        ("POST", "/ai/encode-vibe"): ("encode_vibe", ["image"], "https://image.novelai.net"),
        ("POST", "/ai/augment-image"): ("augment_image", ["image"], "https://image.novelai.net"),
        ("POST", "/oa/v1/chat/completions"): ("create_chat_completion", ["text"], "https://text.novelai.net"),
        ("POST", "/oa/v1/completions"): ("create_completion", ["text"], "https://text.novelai.net"),
        ("GET", "/oa/v1/models"): ("list_models", ["text"], "https://text.novelai.net"),
        ("POST", "/oa/v1/internal/token-count"): ("count_tokens", ["text"], "https://text.novelai.net"),
    }
    assert all("Source:" in op["description"] for op in extra.values())
    image = operations(built)["POST", "/ai/generate-image"]
    assert [server["url"] for server in image["servers"]] == ["https://image.novelai.net", "https://api.novelai.net"]

"""The vendored spec is NovelAI's document restored from the collapsed seed, byte for byte up to whitespace."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "spec" / "seed" / "novelai-primary.collapsed.txt"
SPEC = ROOT / "spec" / "novelai-primary.openapi.yaml"
SEED_SHA256 = "08ae149649466a662f9ec0dec4f6c6946182c90652b2caf26ef5b1ed5570e187"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


class SeedDumper(yaml.SafeDumper):
    """The emitter that produced the seed: PyYAML, multi-line strings as literal blocks where possible."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


SeedDumper.add_representer(str, _represent_str)


def seed_dump(document: Any) -> str:
    text: str = yaml.dump(
        document,
        Dumper=SeedDumper,
        indent=2,
        width=120,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
    )
    return text


def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return document


def test_seed_is_the_one_handed_to_the_project() -> None:
    assert hashlib.sha256(SEED.read_bytes()).hexdigest() == SEED_SHA256
    assert SEED_SHA256 in (ROOT / "spec" / "README.md").read_text(encoding="utf-8")


def test_restored_document_collapses_to_the_seed_byte_for_byte() -> None:
    collapsed = re.sub(r"\s+", " ", seed_dump(spec())).strip()
    assert SEED.read_text(encoding="utf-8") == collapsed


def test_restored_file_is_the_dump_itself() -> None:
    assert SPEC.read_text(encoding="utf-8") == seed_dump(spec())


def test_restore_script_reproduces_the_committed_file() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "restore_spec.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_structure_counts() -> None:
    document = spec()
    operations = [item[method] for item in document["paths"].values() for method in METHODS if method in item]
    assert document["openapi"] == "3.1.0"
    # Counts follow the seed (the restore check above proves the document is the seed): here, only that every
    # operation has its own id and every schema a body.
    assert len(operations) >= len(document["paths"]) > 0
    assert len({operation["operationId"] for operation in operations}) == len(operations)
    assert all(isinstance(schema, dict) for schema in document["components"]["schemas"].values())


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_ref_resolves() -> None:
    document = spec()
    refs = _refs(document)
    assert len(refs) > 200
    for ref in set(refs):
        node: Any = document
        assert ref.startswith("#/"), ref
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, ref
            node = node[part]


def test_ambiguous_nesting_is_restored_by_meaning() -> None:
    schemas = spec()["components"]["schemas"]
    parameters = schemas["AiGenerateParameters"]["properties"]
    # minItems after `items: {type: integer}` belongs to the array.
    assert parameters["order"] == {
        "type": "array",
        "items": {"type": "integer", "format": "int32", "minimum": 0},
        "minItems": 0,
    } | {"maxItems": 6}
    # The example of an array of objects belongs to the array, not to its items.
    assert parameters["logit_bias_exp"]["example"][1:] == [{"sequence": [9288, 286], "bias": 2}]
    assert "example" not in parameters["logit_bias_exp"]["items"]
    # Properties named like keywords stay properties.
    assert list(schemas["UserData"]["properties"]) == ["id", "meta", "data", "lastUpdatedAt", "changeIndex", "type"]
    assert schemas["AiModuleDto"]["properties"]["description"] == {"type": "string", "maxLength": 256}
    assert schemas["AiGenerateRequest"]["properties"]["model"]["enum"][:2] == ["2.7B", "6B-v4"]
    output = schemas["AiSequenceClassificationResponse"]["properties"]["output"]
    assert [
        output["example"][0],
        {"scores": [output["example"][1]["scores"][0][:2]]},
    ] == [[{"label": "label", "score": 0}], {"scores": [[0.9600785970687866, 0.01683211140334606]]}]


def test_quoted_and_block_scalars() -> None:
    document = spec()
    generate = document["paths"]["/ai/generate"]["post"]
    assert generate["description"] == (
        "Generate text using NovelAI's language models.\rIMPORTANT NOTE FOR EXISTING API USERS: We are deprecating"
        " Kayra for subscribed users from this API.\rRead more information on the Text Generation documentation at"
        " the start of this page."
    )
    # The template literal's indentation is recovered from where the emitter split the line.
    assert document["info"]["description"].startswith("\n      The Primary API describes actions")
    assert document["info"]["version"] == "1.0"
    # Faithful to the seed: the leaked source stays, without the `<AiModuleDto>` flattening lost.
    leaked = document["paths"]["/ai/module/all"]["get"]["description"]
    assert "async trainModule(\n): Promise {" in leaked
    assert "<AiModuleDto>" not in leaked
    assert document["paths"]["/ai/module/all"]["get"]["parameters"] == []

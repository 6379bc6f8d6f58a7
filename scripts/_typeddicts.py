"""Write `nai_client/typed_dicts.py`: one `TypedDict` per component schema of the built document.

The generated attrs models type what the SDK sends and receives; these type what a *caller* passes as keyword
arguments (`**settings: Unpack[AiGenerateParametersDict]`), so that a misspelt setting fails `mypy --strict` and a
renamed one in the spec fails every use. Keys are the JSON names (the document's own); nested schemas are the
TypedDicts of their `$ref`, inline objects a `Mapping`. Every TypedDict is `total=False` with `Required[...]` for the
schema's required properties, and its keys are known at run time through `__required_keys__` / `__optional_keys__`.
"""

from __future__ import annotations

import keyword
from typing import Any

# The classes refer to each other in any order: annotations stay unevaluated strings for the type checker.
HEADER = '''"""A TypedDict per schema of the built document, keyed by the JSON names: what callers pass as settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Required, TypedDict

'''


#: TypedDicts of a schema without some keys: {name: (schema, keys left out, why)}. `build_request` takes the
#: generation parameters as keywords, but the prompt's `prefix` and `stop_sequences` as named arguments of its own.
DERIVED: dict[str, tuple[str, frozenset[str], str]] = {
    "GenerationSettingsDict": (
        "AiGenerateParameters",
        frozenset({"prefix", "stop_sequences"}),
        "The generation parameters a caller passes as keywords (`prefix` and `stop_sequences` are named arguments).",
    ),
    "ChatSettingsDict": (
        "ChatCompletionRequest",
        frozenset({"model", "messages", "stream"}),
        "The settings of `nai.text.chat` (the model and the messages are arguments; the method sets `stream`).",
    ),
    "CompletionSettingsDict": (
        "CompletionRequest",
        frozenset({"model", "prompt", "stream"}),
        "The settings of `nai.text.complete` (the model and the prompt are arguments; the method sets `stream`).",
    ),
}


def _annotation(schema: Any, names: dict[str, str]) -> str:
    if not isinstance(schema, dict):
        return "Any"
    if "$ref" in schema:
        return names.get(schema["$ref"].rsplit("/", 1)[-1], "Mapping[str, Any]")
    for combiner in ("allOf", "anyOf", "oneOf"):
        if combiner in schema:
            parts = [_annotation(part, names) for part in schema[combiner]]
            unique = list(dict.fromkeys(parts))
            if combiner == "allOf" and len(unique) == 1:
                return unique[0]
            return " | ".join(unique) if combiner != "allOf" else "Mapping[str, Any]"
    if "enum" in schema and all(isinstance(value, str) for value in schema["enum"]):
        return "Literal[" + ", ".join(repr(value) for value in schema["enum"]) + "]"
    kind = schema.get("type")
    if isinstance(kind, list):
        parts = [_annotation({**schema, "type": one}, names) for one in kind]
        return " | ".join(dict.fromkeys(parts))
    if kind == "string":
        return "str"
    if kind == "number":
        return "float"
    if kind == "integer":
        return "int"
    if kind == "boolean":
        return "bool"
    if kind == "null":
        return "None"
    if kind == "array":
        return f"Sequence[{_annotation(schema.get('items'), names)}]"
    if kind == "object":
        return "Mapping[str, Any]"
    return "Any"


def render(document: dict[str, Any]) -> str:
    """The source of `typed_dicts.py` for a built document."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    names = {name: f"{name}Dict" for name, schema in schemas.items() if isinstance(schema, dict)}
    blocks: list[str] = []
    exported: list[str] = []
    targets: list[tuple[str, Any, frozenset[str], str]] = [
        (names[name], schema, frozenset(), f"The JSON object `{name}`.") for name, schema in schemas.items()
    ]
    for derived, (source, left_out, why) in DERIVED.items():
        targets.append((derived, schemas[source], left_out, why))
    for class_name, schema, left_out, doc in targets:
        properties = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(properties, dict) or not properties:
            continue
        if not all(key.isidentifier() and not keyword.iskeyword(key) for key in properties):
            # A TypedDict with such keys could not be unpacked as keyword arguments; the attrs model covers it.
            continue
        required = set(schema.get("required") or ())
        lines = [f"class {class_name}(TypedDict, total=False):", f'    """{doc}"""', ""]
        for key, value in properties.items():
            if key in left_out:
                continue
            annotation = _annotation(value, names)
            if key in required:
                annotation = f"Required[{annotation}]"
            lines.append(f"    {key}: {annotation}")
        blocks.append("\n".join(lines))
        exported.append(class_name)
    names_list = "".join(f'    "{name}",\n' for name in sorted(exported))
    return HEADER + "\n" + "\n\n\n".join(blocks) + "\n\n\n__all__ = [\n" + names_list + "]\n"

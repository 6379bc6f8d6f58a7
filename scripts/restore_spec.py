#!/usr/bin/env python3
"""Rebuild spec/novelai-primary.openapi.yaml from the collapsed seed in spec/seed/.

The seed is a PyYAML dump of NovelAI's Primary API document whose newlines and indentation were collapsed into
single spaces, so YAML cannot read it back: nesting is gone. This script parses it with what OpenAPI says about
each object (which keywords a path item, an operation, a schema... may hold, and what shape each value has), then
dumps the result exactly as the seed was dumped. Where the seed alone is ambiguous it prefers, in order:

1. the innermost open object that may hold the key (a keyword it does not have yet, with a value of the right
   shape: a schema `description` is a scalar, a property is a mapping, `required` needs `properties`);
2. for free-form values (`example`, `default`), any enclosing OpenAPI object that may hold the key, so an example
   ends where the next schema keyword or property starts;
3. within an example, sequences whose mapping items share keys (a mapping with new keys closes the inner list).

Usage: restore_spec.py [--check]   (--check: exit 1 if the committed file differs from a fresh restore)
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

ROOT: Final = Path(__file__).resolve().parent.parent
SEED: Final = ROOT / "spec" / "seed" / "novelai-primary.collapsed.txt"
OUTPUT: Final = ROOT / "spec" / "novelai-primary.openapi.yaml"

# The dumper settings that reproduce the seed (see tests/test_spec_restore.py).
DUMP_WIDTH: Final = 120
DUMP_INDENT: Final = 2


class SpecDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks, as the seed's emitter did."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML itself falls back to double quotes when a block is impossible (trailing spaces, control characters),
    # which is what the seed shows for the two other multi-line descriptions.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


SpecDumper.add_representer(str, _represent_str)


def dump_spec(document: Any) -> str:
    """Dump an OpenAPI document the way the seed was dumped."""
    text: str = yaml.dump(
        document,
        Dumper=SpecDumper,
        indent=DUMP_INDENT,
        width=DUMP_WIDTH,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
    )
    return text


def collapse(text: str) -> str:
    """Collapse every whitespace run to one space, as was done to the seed."""
    return re.sub(r"\s+", " ", text).strip()


class RestoreError(Exception):
    """The seed does not parse as an OpenAPI document under the rules above."""


class UnendingBlockError(RestoreError):
    """A block scalar has no further possible end."""


# ---------------------------------------------------------------------------------------------------------------
# Tokens. The parser works on the raw text: where a plain scalar ends depends on the context.

SCALAR, MAP, SEQ = "scalar", "map", "seq"
_SINGLE = re.compile(r"'(?:[^']|'')*'")
_DOUBLE = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BLOCK = re.compile(r"[|>][-+]?[1-9]?(?= |$)")


@dataclass(frozen=True)
class Token:
    """One token of the collapsed text: a key (`name:`), a dash, a flow `[]`/`{}`, a block indicator or a scalar."""

    kind: str  # "key", "dash", "flow", "block", "quoted", "plain", "end"
    start: int
    end: int  # index just past the token (for "plain": past its first word only)
    text: str = ""  # the key, or the raw token


class Lexer:
    def __init__(self, text: str) -> None:
        self.s = text

    def _followed_by_space(self, index: int) -> bool:
        return index >= len(self.s) or self.s[index] == " "

    def token(self, pos: int) -> Token:
        s = self.s
        if pos >= len(s):
            return Token("end", pos, pos)
        if s[pos] == "-" and self._followed_by_space(pos + 1):
            return Token("dash", pos, pos + 1)
        if s[pos] in "'\"":
            match = (_SINGLE if s[pos] == "'" else _DOUBLE).match(s, pos)
            if match is None:
                raise RestoreError(f"unterminated quoted scalar at {pos}")
            end = match.end()
            if s.startswith(":", end) and self._followed_by_space(end + 1):
                return Token("key", pos, end + 1, str(decode_quoted(match.group())))
            return Token("quoted", pos, end, match.group())
        if s.startswith(("[]", "{}"), pos) and self._followed_by_space(pos + 2):
            return Token("flow", pos, pos + 2, s[pos : pos + 2])
        block = _BLOCK.match(s, pos)
        if block:
            return Token("block", pos, block.end(), block.group())
        end = s.find(" ", pos)
        end = len(s) if end < 0 else end
        word = s[pos:end]
        if word.endswith(":"):
            return Token("key", pos, end, word[:-1])
        return Token("plain", pos, end, word)

    def shape(self, pos: int) -> str:
        """The shape of the value starting at pos: a mapping, a sequence or a scalar."""
        token = self.token(pos)
        if token.kind == "key" or token.text == "{}":
            return MAP
        if token.kind == "dash" or token.text == "[]":
            return SEQ
        return SCALAR


def decode_quoted(raw: str) -> str:
    """Decode a quoted scalar whose line breaks were collapsed.

    A single-quoted scalar folds a line break into a space, which is what collapsing did. A double-quoted one is
    split by PyYAML as `...\\` + break + indent (+ `\\` when the next character is a space); collapsed, that is a
    backslash-space pair that stands for nothing, and a second one right after it is an escaped space.
    """
    if raw.startswith("'"):
        value = yaml.safe_load(raw)
        assert isinstance(value, str)
        return value
    body, out, index, after_split = raw[1:-1], [], 0, False
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            pair = body[index : index + 2]
            if pair == "\\ " and not after_split:
                after_split = True
            else:
                out.append(pair)
                after_split = False
            index += 2
            continue
        out.append(char)
        after_split = False
        index += 1
    value = yaml.safe_load('"' + "".join(out) + '"')
    assert isinstance(value, str)
    return value


# ---------------------------------------------------------------------------------------------------------------
# What each OpenAPI object may hold: keyword -> (allowed value shapes, kind of the child object).

ANY = "any"  # free-form YAML (example, default, extensions)
_S = frozenset({SCALAR})
_M = frozenset({MAP})
_Q = frozenset({SEQ})
_ALL = frozenset({SCALAR, MAP, SEQ})
Rule = tuple[frozenset[str], str]

FIXED: Final[dict[str, dict[str, Rule]]] = {
    "root": {
        "openapi": (_S, SCALAR),
        "info": (_M, "info"),
        "jsonSchemaDialect": (_S, SCALAR),
        "servers": (_Q, "seq:server"),
        "paths": (_M, "paths"),
        "webhooks": (_M, ANY),
        "components": (_M, "components"),
        "security": (_Q, "seq:securityReq"),
        "tags": (_Q, "seq:tag"),
        "externalDocs": (_M, ANY),
    },
    "info": {
        "title": (_S, SCALAR),
        "summary": (_S, SCALAR),
        "description": (_S, SCALAR),
        "termsOfService": (_S, SCALAR),
        "version": (_S, SCALAR),
        "contact": (_M, ANY),
        "license": (_M, ANY),
    },
    "server": {"url": (_S, SCALAR), "description": (_S, SCALAR), "variables": (_M, ANY)},
    "pathitem": {
        **{method: (_M, "operation") for method in ("get", "put", "post", "delete", "patch", "options", "head")},
        "trace": (_M, "operation"),
        "summary": (_S, SCALAR),
        "description": (_S, SCALAR),
        "parameters": (_Q, "seq:parameter"),
        "servers": (_Q, "seq:server"),
    },
    "operation": {
        "operationId": (_S, SCALAR),
        "summary": (_S, SCALAR),
        "description": (_S, SCALAR),
        "deprecated": (_S, SCALAR),
        "parameters": (_Q, "seq:parameter"),
        "requestBody": (_M, "requestBody"),
        "responses": (_M, "responses"),
        "tags": (_Q, "seq:scalar"),
        "security": (_Q, "seq:securityReq"),
        "servers": (_Q, "seq:server"),
        "externalDocs": (_M, ANY),
        "callbacks": (_M, ANY),
    },
    "parameter": {
        **{key: (_S, SCALAR) for key in ("name", "in", "required", "description", "deprecated", "style", "$ref")},
        "allowEmptyValue": (_S, SCALAR),
        "explode": (_S, SCALAR),
        "allowReserved": (_S, SCALAR),
        "schema": (_M, "schema"),
        "example": (_ALL, ANY),
        "content": (_M, "content"),
    },
    "requestBody": {"required": (_S, SCALAR), "description": (_S, SCALAR), "content": (_M, "content")},
    "mediatype": {"schema": (_M, "schema"), "example": (_ALL, ANY), "examples": (_M, ANY), "encoding": (_M, ANY)},
    "response": {
        "description": (_S, SCALAR),
        "content": (_M, "content"),
        "headers": (_M, ANY),
        "links": (_M, ANY),
    },
    "components": {
        "schemas": (_M, "schemas"),
        "securitySchemes": (_M, "secSchemes"),
        **{key: (_M, ANY) for key in ("responses", "parameters", "requestBodies", "headers", "examples", "links")},
    },
    "secScheme": {
        **{key: (_S, SCALAR) for key in ("type", "scheme", "bearerFormat", "description", "in", "name")},
        "openIdConnectUrl": (_S, SCALAR),
        "flows": (_M, ANY),
    },
    "schema": {
        "type": (frozenset({SCALAR, SEQ}), "seq:scalar"),
        **{key: (_S, SCALAR) for key in ("format", "description", "title", "pattern", "$ref", "nullable")},
        **{key: (_S, SCALAR) for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")},
        **{key: (_S, SCALAR) for key in ("minLength", "maxLength", "minItems", "maxItems", "multipleOf")},
        **{key: (_S, SCALAR) for key in ("readOnly", "writeOnly", "deprecated", "uniqueItems")},
        "default": (_ALL, ANY),
        "const": (_ALL, ANY),
        "example": (_ALL, ANY),
        "examples": (_Q, ANY),
        "enum": (_Q, "seq:scalar"),
        "required": (_Q, "seq:scalar"),
        "properties": (_M, "properties"),
        "items": (_M, "schema"),
        "not": (_M, "schema"),
        "additionalProperties": (frozenset({SCALAR, MAP}), "schema"),
        "allOf": (_Q, "seq:schema"),
        "anyOf": (_Q, "seq:schema"),
        "oneOf": (_Q, "seq:schema"),
    },
}

# Maps whose keys are names: kind -> (test on the key, allowed value shapes, kind of the value).
_STATUS = re.compile(r"^([1-5](\d\d|XX)|default)$")
NAMED: Final[dict[str, tuple[Callable[[str], bool], frozenset[str], str]]] = {
    "paths": (lambda key: key.startswith("/"), _M, "pathitem"),
    "content": (lambda key: "/" in key, _M, "mediatype"),
    "responses": (lambda key: bool(_STATUS.match(key)), _M, "response"),
    "securityReq": (lambda key: True, _Q, "seq:scalar"),
    "schemas": (lambda key: True, _M, "schema"),
    "secSchemes": (lambda key: key not in FIXED["components"], _M, "secScheme"),
    "properties": (lambda key: True, _M, "schema"),
}

# Sequences: kind -> (allowed item shapes, kind of a mapping item).
SEQUENCES: Final[dict[str, tuple[frozenset[str], str]]] = {
    "seq:scalar": (_S, SCALAR),
    "seq:parameter": (_M, "parameter"),
    "seq:schema": (_M, "schema"),
    "seq:server": (_M, "server"),
    "seq:securityReq": (_M, "securityReq"),
    "seq:tag": (frozenset({SCALAR, MAP}), ANY),
}
_SCALAR_TYPES: Final = frozenset({"string", "number", "integer", "boolean"})
# Validation keywords that only mean something for some types: `minItems` after `items: {type: integer}` belongs
# to the array, not to its items.
_TYPED_KEYWORDS: Final[dict[str, frozenset[str]]] = {
    **dict.fromkeys(("minItems", "maxItems", "uniqueItems"), frozenset({"array"})),
    **dict.fromkeys(("minLength", "maxLength", "pattern"), frozenset({"string"})),
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), frozenset({"number", "integer"})
    ),
}


@dataclass
class Frame:
    """An open mapping or sequence, with the OpenAPI object kind it holds."""

    kind: str
    node: dict[Any, Any] | list[Any]
    free: bool = False  # free-form YAML (an example): holds whatever comes
    fresh: bool = True  # no entry yet: the next key or dash is its own


class Parser:
    def __init__(self, text: str, block_choice: dict[int, int] | None = None) -> None:
        self.s = text
        self.lex = Lexer(text)
        # Every component schema is the target of some $ref in this document: a key with such a name closes an
        # open `properties` map instead of becoming a property (properties are never named like schemas here).
        self.schema_names = frozenset(re.findall(r"#/components/schemas/([\w.-]+)", text))
        self.root: dict[Any, Any] = {}
        self.stack: list[Frame] = [Frame("root", self.root)]
        # Which acceptable end each block scalar takes (by position), and the blocks read so far: a block ends at
        # the first key an open object may hold and after which the rest parses (see restore()).
        self.block_choice = dict(block_choice or {})
        self.blocks_read: list[int] = []

    # -- acceptance rules ---------------------------------------------------------------------------------------

    def _schema_rule(self, node: dict[Any, Any], key: str, shape: str, value_pos: int) -> str | None:
        if "$ref" in node or (key == "$ref" and node):
            return None
        if key == "required" and "properties" not in node:
            return None
        declared = node.get("type")
        if key in _TYPED_KEYWORDS and declared is not None:
            types = set(declared) if isinstance(declared, list) else {declared}
            if not types & _TYPED_KEYWORDS[key]:
                return None
        if key == "example":
            return ANY if self._example_fits(node, shape, value_pos) else None
        return ""

    def _example_fits(self, schema: dict[Any, Any], shape: str, value_pos: int) -> bool:
        kind = schema.get("type")
        if kind == "array":
            if shape != SEQ:
                return False
            items = schema.get("items")
            first_item = self.lex.shape(self.lex.token(value_pos).end + 1)
            return not (isinstance(items, dict) and items.get("type") in _SCALAR_TYPES and first_item != SCALAR)
        if kind == "object":
            return shape == MAP
        if kind in _SCALAR_TYPES:
            return shape == SCALAR
        return True

    def accepts(self, frame: Frame, key: Any, shape: str, value_pos: int) -> str | None:
        """The kind of the value if frame may hold key (with a value of that shape), else None."""
        node = frame.node
        if not isinstance(node, dict) or key in node:
            return None
        if frame.free:
            return ANY
        if not isinstance(key, str):
            return None
        if frame.kind in NAMED:
            test, shapes, child = NAMED[frame.kind]
            if frame.kind == "properties" and key in self.schema_names:
                return None
            return child if test(key) and shape in shapes else None
        rule = FIXED[frame.kind].get(key)
        if rule is None or shape not in rule[0]:
            return None
        if frame.kind == "schema":
            veto = self._schema_rule(node, key, shape, value_pos)
            if veto is None:
                return None
            if veto:
                return veto
        return rule[1]

    def frame_for_key(self, key: Any, shape: str, value_pos: int) -> tuple[int, str]:
        top = len(self.stack) - 1
        if self.stack[top].fresh:
            child = self.accepts(self.stack[top], key, shape, value_pos)
            if child is None:
                raise RestoreError(f"{self.stack[top].kind} cannot hold {key!r} at {value_pos}")
            return top, child
        # OpenAPI objects first (innermost first), then free-form values: an example ends where the schema goes on.
        for free in (False, True):
            for index in range(top, -1, -1):
                frame = self.stack[index]
                if frame.free == free:
                    child = self.accepts(frame, key, shape, value_pos)
                    if child is not None:
                        return index, child
        raise RestoreError(f"no open object holds {key!r} at {value_pos}")

    def frame_for_item(self, shape: str, item_pos: int) -> tuple[int, str]:
        candidates: list[tuple[int, str]] = []
        for index in range(len(self.stack) - 1, -1, -1):
            frame = self.stack[index]
            if isinstance(frame.node, list):
                if frame.free:
                    candidates.append((index, ANY))
                else:
                    shapes, child = SEQUENCES[frame.kind]
                    if shape in shapes:
                        candidates.append((index, child))
            if frame.fresh:
                break
        if not candidates:
            raise RestoreError(f"no open sequence holds the item at {item_pos}")
        index, child = candidates[0]
        frame = self.stack[index]
        if frame.free and shape == MAP and len(candidates) > 1 and frame.node:
            previous = frame.node[-1]
            first_key = self.lex.token(item_pos).text
            if isinstance(previous, dict) and first_key not in previous:
                return candidates[1]
        return index, child

    # -- values -------------------------------------------------------------------------------------------------

    def _in_sequence(self) -> bool:
        return any(isinstance(frame.node, list) for frame in self.stack)

    def read_plain(self, pos: int) -> tuple[Any, int]:
        """A plain scalar: words up to the next key, or the next dash when a sequence is open."""
        first = self.lex.token(pos)
        end = first.end
        stop_at_dash = self._in_sequence()
        while end < len(self.s):
            following = self.lex.token(end + 1)
            if following.kind == "key" or (following.kind == "dash" and stop_at_dash):
                break
            next_space = self.s.find(" ", end + 1)
            end = len(self.s) if next_space < 0 else next_space
        return yaml.safe_load(self.s[pos:end]), end

    def read_block(self, pos: int, indicator: str) -> tuple[str, int]:
        """A block scalar: its lines were collapsed, so it ends at the first key an open object may hold."""
        start = pos + len(indicator) + 1
        self.blocks_read.append(pos)
        skip = self.block_choice.get(pos, 0)
        for match in re.finditer(r" (?=\S)", self.s[start:]):
            candidate = start + match.end()
            token = self.lex.token(candidate)
            if token.kind != "key":
                continue
            try:
                self.frame_for_key(token.text, self.lex.shape(token.end + 1), token.end + 1)
            except RestoreError:
                continue
            if skip:
                skip -= 1
                continue
            return layout_block(self.s[start : candidate - 1], indicator), candidate - 1
        raise UnendingBlockError(f"block scalar at {pos} never ends")

    def read_scalar(self, pos: int) -> tuple[Any, int]:
        token = self.lex.token(pos)
        if token.kind == "quoted":
            return decode_quoted(token.text), token.end
        if token.kind == "flow":
            return ([] if token.text == "[]" else {}), token.end
        if token.kind == "block":
            return self.read_block(pos, token.text)
        if token.kind == "plain":
            return self.read_plain(pos)
        raise RestoreError(f"expected a scalar at {pos}, found {token.kind}")

    def _store(self, index: int, child: str, shape: str, pos: int, put: Callable[[Any], None]) -> int:
        del self.stack[index + 1 :]
        self.stack[index].fresh = False
        token = self.lex.token(pos)
        if shape == SCALAR or token.kind == "flow":
            value, end = self.read_scalar(pos)
            put(value)
            return end
        container: dict[Any, Any] | list[Any] = {} if shape == MAP else []
        put(container)
        free = child == ANY or self.stack[index].free
        self.stack.append(Frame(child, container, free=free))
        return pos - 1  # the next token is the container's first entry

    def parse(self) -> dict[Any, Any]:
        pos = 0
        while pos < len(self.s):
            token = self.lex.token(pos)
            if token.kind == "key":
                value_pos = token.end + 1
                shape = self.lex.shape(value_pos)
                index, child = self.frame_for_key(token.text, shape, value_pos)
                node = self.stack[index].node
                assert isinstance(node, dict)
                key = token.text
                put: Callable[[Any], None]

                def put(value: Any, node: dict[Any, Any] = node, key: Any = key) -> None:
                    node[key] = value

                if shape == SCALAR:
                    node[key] = None  # reserve the key: a block scalar must not end at its own key
            elif token.kind == "dash":
                value_pos = token.end + 1
                shape = self.lex.shape(value_pos)
                index, child = self.frame_for_item(shape, value_pos)
                items = self.stack[index].node
                assert isinstance(items, list)
                put = items.append
            else:
                raise RestoreError(f"expected a key or a dash at {pos}, found {token.kind} {token.text!r}")
            end = self._store(index, child, shape, value_pos, put)
            if end < len(self.s) and self.s[end] != " ":
                raise RestoreError(f"expected a space after the token ending at {end}")
            pos = end + 1
        return self.root


def layout_block(collapsed: str, indicator: str) -> str:
    """Lay out a collapsed block scalar again, one statement or argument a line.

    The original line breaks and indentation are lost; any layout collapses back to the same text. The only
    block in the seed is TypeScript, so break after `,` `;` `{` `(` and before closing brackets and `throw`.
    """
    if not indicator.startswith("|"):
        return collapsed
    lines: list[list[str]] = [[]]
    for word in collapsed.split(" "):
        if lines[-1] and (word[:1] in ")}" or word == "throw"):
            lines.append([])
        lines[-1].append(word)
        if word[-1:] in ",;{(" or not word.strip(")}];,"):
            lines.append([])
    depth, out = 0, list[str]()
    for words in filter(None, lines):
        line = " ".join(words)
        closing = len(line) - len(line.lstrip(")}]"))
        depth = max(depth - closing, 0)
        out.append("  " * depth + line if out else line)
        depth = max(depth + closing + sum(line.count(c) for c in "({[") - sum(line.count(c) for c in ")}]"), 0)
    return "\n".join(out)


def restore(seed_text: str) -> str:
    """The restored YAML text for a collapsed seed; raises RestoreError unless it collapses back to the seed."""
    seed_text = seed_text.strip()
    block_choice: dict[int, int] = {}
    for _attempt in range(100):
        parser = Parser(seed_text, block_choice)
        try:
            document = parser.parse()
            break
        except UnendingBlockError:
            raise
        except RestoreError:
            if not parser.blocks_read:
                raise
            # The last block scalar ended too early: let it run to its next possible end.
            last = parser.blocks_read[-1]
            block_choice[last] = block_choice.get(last, 0) + 1
    else:
        raise RestoreError("no way to end the block scalars lets the document parse")
    fit_indentation(document, seed_text)
    text = dump_spec(document)
    if collapse(text) != seed_text:
        raise RestoreError("the restored document does not collapse back to the seed")
    return text


def _first_difference(document: Any, seed_text: str) -> int:
    collapsed = collapse(dump_spec(document))
    if collapsed == seed_text:
        return len(seed_text) + 1
    return next((i for i, (a, b) in enumerate(zip(collapsed, seed_text, strict=False)) if a != b), len(collapsed))


def fit_indentation(document: Any, seed_text: str) -> None:
    """Give back the indentation that collapsing took from double-quoted multi-line strings.

    A string such as "\\n      The Primary API..." (a template literal's indentation) was dumped double-quoted
    and split at the emitter's width; collapsing shrank the spaces after each line break to one, but the split
    points, which are still visible as `\\ ` pairs, depend on them. Try widths 1 to 12 for each such string and keep
    the one that reproduces the seed furthest (the last line's indentation cannot be told apart: it gets the same).
    """
    holders: list[tuple[dict[Any, Any] | list[Any], Any]] = []

    def walk(node: Any) -> None:
        pairs = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in pairs:
            if isinstance(value, str) and "\n " in value:
                holders.append((node, key))
            walk(value)

    walk(document)
    for node, key in holders:
        original: str = node[key]
        best, best_reach = original, _first_difference(document, seed_text)
        for width in range(2, 13):
            node[key] = original.replace("\n ", "\n" + " " * width)
            reach = _first_difference(document, seed_text)
            if reach > best_reach:
                best, best_reach = node[key], reach
        node[key] = best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the committed file is not a fresh restore")
    args = parser.parse_args(argv)
    text = restore(SEED.read_text(encoding="utf-8"))
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} differs from a fresh restore of the seed", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

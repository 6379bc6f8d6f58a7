"""Model names on the command line: an unknown one is a usage error that lists every accepted name, aliases included.

The names the help shows for an option (`erato, kayra, clio, ...`, its default, the `-m NAME` of the examples) must
all be in that list, so a user who copies one from the help never meets an error that does not know it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from _cli_helpers import Result

from nai_sdk.cli import ExitCode
from nai_sdk.cli._models import accepted_names
from nai_sdk.cli._parser import build_parser
from nai_sdk.models import CHAT_MODELS, IMAGE_MODELS, TEXT_MODELS
from nai_sdk.tokenizers import TOKENIZER_NAMES

pytestmark = pytest.mark.usefixtures("clean_cli_env")


def _names(models: Mapping[str, Any]) -> set[str]:
    """Every id and alias of a registry (`TEXT_MODELS`, ...)."""
    return {name for model in models.values() for name in (model.id, *model.aliases)}


TEXT = _names(TEXT_MODELS)
CHAT = _names(CHAT_MODELS)
IMAGE = _names(IMAGE_MODELS)
TOKENIZERS = set(TOKENIZER_NAMES)

#: (the command's words, the model argument, the names the error must list, arguments after the model).
CASES = [
    (("generate",), "--model", TEXT, ("Hello",)),
    (("chat",), "--model", CHAT, ("Hello",)),
    (("image", "generate"), "--model", IMAGE, ("a castle",)),
    (("image", "cost"), "--model", IMAGE, ("a castle", "--tier", "opus")),
    (("image", "encode-vibe"), "--model", IMAGE, ("castle.png",)),
    (("decode",), "model", TEXT, ("AAAA",)),
    (("tokenize",), "model", TEXT | TOKENIZERS, ("Hello",)),
]


def _argv(words: tuple[str, ...], argument: str, name: str, rest: tuple[str, ...]) -> list[str]:
    if argument == "model":  # positional, first
        return [*words, name, *rest]
    return [*words, "-m", name, *rest]


def _parser_of(words: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in words:
        sub = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


def _shown_in_help(words: tuple[str, ...], argument: str) -> set[str]:
    """The model names the help of a command shows: in the argument's help, its default, the examples' `-m`."""
    parser = _parser_of(words)
    action = next(a for a in parser._actions if argument in (a.dest, *a.option_strings))
    text = f"{action.help or ''} {action.default or ''}"
    text += " " + " ".join(re.findall(r"(?:-m|--model) ([\w.-]+)", parser.epilog or ""))
    if argument == "model":  # positional: the examples name it right after the command
        text += " " + " ".join(re.findall(rf"nai {words[-1]} ([\w.-]+)", parser.epilog or ""))
    known = TEXT | CHAT | IMAGE | TOKENIZERS
    return {word for word in re.findall(r"[\w.-]+", text) if word in known}


@pytest.mark.parametrize(("words", "argument", "names", "rest"), CASES, ids=lambda value: str(value))
def test_an_unknown_model_lists_every_accepted_name(
    run: Callable[..., Result],
    words: tuple[str, ...],
    argument: str,
    names: set[str],
    rest: tuple[str, ...],
) -> None:
    result = run(*_argv(words, argument, "no-such-model", rest))
    assert ExitCode.USAGE == result.code, result
    assert 1 == result.err.count("\n")
    assert "'no-such-model'" in result.err
    listed = set(re.findall(r"[\w.-]+", result.err))
    assert set() == names - listed


@pytest.mark.parametrize(("words", "argument", "names", "rest"), CASES, ids=lambda value: str(value))
def test_the_names_the_help_shows_are_accepted_and_listed(
    run: Callable[..., Result],
    words: tuple[str, ...],
    argument: str,
    names: set[str],
    rest: tuple[str, ...],
) -> None:
    shown = _shown_in_help(words, argument)
    assert shown, "the help shows some model names"
    assert set() == shown - names, "the help shows a name the command does not take"
    error = run(*_argv(words, argument, "no-such-model", rest)).err
    assert set() == shown - set(re.findall(r"[\w.-]+", error))


def test_the_list_puts_each_id_before_its_aliases() -> None:
    listed = accepted_names("text").split("; ")
    assert "llama-3-erato-v1 (erato, llama-3-erato)" == listed[0]
    assert "hypebot" in listed  # no alias, no brackets
    assert "glm-4-6 (glm, glm-4.6, glm4.6); xialong-v1 (xialong)" == accepted_names("chat")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["generate", "-m", "glm", "Hi"], "'glm' is a chat model, which `nai chat` takes; -m/--model takes a text"),
        (["chat", "-m", "Kayra", "Hi"], "'Kayra' is a text model, which `nai generate` takes; -m/--model takes a chat"),
        (["image", "x", "-m", "erato"], "'erato' is a text model, which `nai generate` takes; -m/--model takes an"),
        (["generate", "-m", "v5", "Hi"], "'v5' is an image model, which `nai image` takes; -m/--model takes a text"),
        (["decode", "xialong", "AAAA"], "'xialong' is a chat model, which `nai chat` takes; MODEL takes a text"),
    ],
)
def test_a_model_of_another_kind_names_the_command_that_takes_it(
    run: Callable[..., Result], argv: list[str], expected: str
) -> None:
    result = run(*argv)
    assert ExitCode.USAGE == result.code, result
    assert result.err.startswith(f"nai: {expected}")


def test_tokenize_an_image_model_without_a_tokenizer(run: Callable[..., Result]) -> None:
    result = run("tokenize", "nai-diffusion-3", "Hello")
    assert ExitCode.USAGE == result.code, result
    assert "no tokenizer for the image model 'nai-diffusion-3'" in result.err
    assert "image models with a tokenizer: safe-diffusion, nai-diffusion," in result.err


@pytest.mark.parametrize("name", ["ERATO", "Kayra", "llama-3-erato", "kayra-v1"])
def test_names_are_matched_in_any_case(run: Callable[..., Result], name: str) -> None:
    assert ExitCode.OK == run("tokenize", name, "Hello").code

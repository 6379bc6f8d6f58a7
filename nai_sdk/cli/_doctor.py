"""`nai doctor`: which host answers each route family, the tier, and the models the account can use.

It is the command to run when NovelAI moves something. Every probe is a read that costs nothing (no generation),
sent to each of the three hosts without following moves, so the report shows each host's own answer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from nai_sdk._config import HOSTS
from nai_sdk._http import Call, never_reached_server
from nai_sdk._routing import moved_to, route
from nai_sdk.errors import APIConnectionError, APIStatusError, NovelAIError

if TYPE_CHECKING:
    from nai_client.types import Bound

    from nai_sdk._client import NovelAI
    from nai_sdk._config import Host

__all__ = ["Doctor", "Probe", "ProbeResult", "diagnose", "render"]


@attrs.frozen
class Probe:
    """One route family and the free read that stands for it."""

    family: str
    route: str
    #: Builds the bound operation; called lazily, since an operation (the chat listing) may not exist.
    bound: Callable[[], Bound[Any]]


@attrs.frozen
class ProbeResult:
    """What one host answered to one probe.

    Attributes:
        host: the host asked.
        verdict: "serves" (2xx), "moved" (an answer that proves the route lives elsewhere), "refused" (another
            error status: 401, 402...; the route exists there), or "no answer".
        detail: the status and the server's message, shortened.
    """

    host: Host
    verdict: str
    detail: str


@attrs.frozen
class Doctor:
    """The report of `diagnose`."""

    results: dict[str, tuple[ProbeResult, ...]]
    routes: dict[str, str]
    #: The base URLs no connection could be made to; each was tried once, and then no more.
    unreachable: tuple[str, ...]
    tier: str | None
    context_tokens: int | None
    text_models: tuple[str, ...]
    served_models: tuple[str, ...]
    image_models: tuple[str, ...]


def _operation(module: str) -> Any:
    return importlib.import_module(f"nai_client.api.{module}").operation


def _probes() -> list[Probe]:
    return [
        Probe("account", "GET /user/subscription", lambda: _operation("subscription.get_subscription").bind()),
        Probe("keystore", "GET /user/keystore", lambda: _operation("user.get_keystore").bind()),
        Probe(
            "stories",
            "GET /user/objects/stories",
            lambda: _operation("objects.get_objects").bind("stories", offset=0, limit=1, order="asc"),
        ),
        Probe("modules", "GET /ai/module/all", lambda: _operation("modules.get_modules").bind()),
        Probe(
            "image",
            "GET /ai/generate-image/suggest-tags",
            lambda: _operation("ai.suggest_tags").bind(model="nai-diffusion-4-5-full", prompt="sky"),
        ),
    ]


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Unreached(Exception):
    """A probe's host refused the connection: no request reached it."""


def _probe(nai: NovelAI, bound: Bound[Any], host: Host) -> ProbeResult:
    """What `host` answers to one probe.

    Raises:
        _Unreached: no connection could be made to the host.
    """
    try:
        nai.call(bound, host=host, follow_moves=False)
    except APIStatusError as exc:
        call = Call(bound.operation, bound.kwargs, args=bound.args)
        moved = moved_to(exc, call, host) is not None
        return ProbeResult(host, "moved" if moved else "refused", _shorten(f"{exc.status_code} {exc.message}"))
    except APIConnectionError as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if never_reached_server(cause):
            raise _Unreached from exc
        return ProbeResult(host, "no answer", _shorten(type(cause).__name__))
    except NovelAIError as exc:
        # A 2xx whose body the spec does not describe: the route is served, its answer changed.
        return ProbeResult(host, "serves", _shorten(f"2xx, but {type(exc).__name__}"))
    return ProbeResult(host, "serves", "2xx")


def diagnose(nai: NovelAI, hosts: Sequence[Host] = HOSTS) -> Doctor:
    """Probes every route family on every host, and reads the tier and the models.

    A host whose URL refused a connection is not asked again (its later probes show "no answer" at once), and
    when no host could be reached at all, the tier and the models are not asked for.

    Args:
        nai: a client logged in to the account (its URLs say where the three hosts are).
        hosts: the hosts to ask.
    """
    from nai_sdk.models import IMAGE_MODELS, TEXT_MODELS, TIERS

    urls: dict[str, str] = {"api": nai.options.api_url, "text": nai.options.text_url, "image": nai.options.image_url}
    unreachable: dict[str, None] = {}  # the URLs that refused, in order
    results: dict[str, tuple[ProbeResult, ...]] = {}
    routes: dict[str, str] = {}
    for probe in _probes():
        bound = probe.bound()
        answers = []
        for host in hosts:
            if urls[host] in unreachable:
                answers.append(ProbeResult(host, "no answer", "not reached"))
                continue
            try:
                answers.append(_probe(nai, bound, host))
            except _Unreached:
                unreachable[urls[host]] = None
                answers.append(ProbeResult(host, "no answer", "not reached"))
        results[probe.family] = tuple(answers)
        routes[probe.family] = route(Call(bound.operation, bound.kwargs, args=bound.args), nai.options, {})
    if all(urls[host] in unreachable for host in hosts):
        return Doctor(
            results=results,
            routes=routes,
            unreachable=tuple(unreachable),
            tier=None,
            context_tokens=None,
            text_models=(),
            served_models=(),
            image_models=tuple(IMAGE_MODELS),
        )
    tier: str | None = None
    context: int | None = None
    try:
        if urls[routes["account"]] not in unreachable:
            subscription = nai.account.subscription()
            tier_index = int(subscription.tier)
            tier = TIERS[tier_index] if 0 <= tier_index < len(TIERS) else str(tier_index)
            context = int(subscription.perks.context_tokens)
    except (NovelAIError, ValueError, TypeError):
        pass
    usable = tuple(
        model.id
        for model in TEXT_MODELS.values()
        if not model.deprecated and (tier is None or not model.context_tokens or tier in model.context_tokens)
    )
    served: tuple[str, ...] = ()
    try:
        bound = _operation("text.list_models").bind()
        if urls[route(Call(bound.operation, bound.kwargs, args=bound.args), nai.options, {})] not in unreachable:
            listing = nai.call(bound)
            served = tuple(sorted(str(item.id) for item in getattr(listing, "data", ())))
    except (ModuleNotFoundError, AttributeError, NovelAIError):
        pass
    return Doctor(
        results=results,
        routes=routes,
        unreachable=tuple(unreachable),
        tier=tier,
        context_tokens=context,
        text_models=usable,
        served_models=served,
        image_models=tuple(IMAGE_MODELS),
    )


def render(report: Doctor, urls: dict[str, str]) -> str:
    """The report as text for the terminal."""
    lines = ["route family   " + "".join(f"{host:<34}" for host in HOSTS) + "the SDK sends it to"]
    for family, results in report.results.items():
        cells = "".join(f"{(result.verdict + ' (' + result.detail + ')'):<34.33}" for result in results)
        first = report.routes[family]
        verdicts: dict[str, str] = {result.host: result.verdict for result in results}
        serving = [result.host for result in results if result.verdict == "serves"]
        target = first
        if verdicts.get(first) == "moved" and serving:
            # What the client does on the first call: the move is proven, so it resends there once, and remembers.
            target = f"{first} -> {serving[0]}"
        lines.append(f"{family:<15}{cells}{target}")
    lines.append("")
    lines.append("hosts: " + ", ".join(f"{host} = {urls[host]}" for host in HOSTS))
    lines.append(f"tier: {report.tier or 'unknown'}; context tokens: {report.context_tokens or 'unknown'}")
    lines.append("text models for this tier: " + (", ".join(report.text_models) or "none known"))
    if report.served_models:
        lines.append("served by /oa/v1/models: " + ", ".join(report.served_models))
    lines.append(f"image models known to the SDK: {len(report.image_models)}")
    return "\n".join(lines)

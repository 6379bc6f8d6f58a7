"""Custom AI modules: train, list, get, delete, buy training steps (`nai.modules`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from nai_sdk.errors import APIError
from nai_sdk.resources._base import AsyncResource, Body, Call, Flow, Kind, Resource
from nai_sdk.resources._ops import op

__all__ = ["AsyncModules", "Module", "Modules"]


@attrs.frozen
class Module:
    """A trained (or training) module.

    Attributes:
        id: its id.
        name: its name.
        description: its description.
        model: the text model it was trained for.
        status: `pending`, `training`, `ready` or `error`.
        steps: training steps.
        lr: learning rate.
        loss_history: the recorded losses.
        last_updated_at: UNIX time of the last change.
        data: base64 of the trained module once ready (or the error text), as NovelAI sends it.
    """

    id: str
    name: str
    description: str
    model: str
    status: str
    steps: float
    lr: float
    loss_history: tuple[float, ...] = ()
    last_updated_at: float = 0
    data: str = attrs.field(default="", repr=False)

    @classmethod
    def from_json(cls, value: Any) -> Module:
        """Reads NovelAI's module object.

        Raises:
            APIError: not a module object.
        """
        if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
            raise APIError("the answer is not a module object")
        return cls(
            id=value["id"],
            name=str(value.get("name", "")),
            description=str(value.get("description", "")),
            model=str(value.get("model", "")),
            status=str(value.get("status", "")),
            steps=float(value.get("steps", 0)),
            lr=float(value.get("lr", 0)),
            loss_history=tuple(float(x) for x in value.get("lossHistory", []) or []),
            last_updated_at=float(value.get("lastUpdatedAt", 0)),
            data=str(value.get("data", "")),
        )


def _train_flow(data: str, lr: float, steps: int, name: str, description: str, model: str) -> Flow[Module]:
    body = {"data": data, "lr": lr, "steps": steps, "name": name, "description": description, "model": model}
    answer = yield Call(op("POST", "/ai/module/train"), {"body": Body(body)}, kind=Kind.GENERATION, result="json")
    return Module.from_json(answer)


def _list_flow() -> Flow[list[Module]]:
    answer = yield Call(op("GET", "/ai/module/all"), result="json")
    return [Module.from_json(item) for item in answer] if isinstance(answer, list) else []


def _get_flow(module_id: str) -> Flow[Module]:
    return Module.from_json((yield Call(op("GET", "/ai/module/{id}"), {"id": module_id}, result="json")))


def _delete_flow(module_id: str) -> Flow[None]:
    yield Call(op("DELETE", "/ai/module/{id}"), {"id": module_id}, result="none")


def _buy_flow(amount: int) -> Flow[None]:
    # Spends money: a generation-class request, retried only if it never reached NovelAI.
    yield Call(
        op("POST", "/ai/module/buy-training-steps"),
        {"body": Body({"amount": amount})},
        kind=Kind.GENERATION,
        result="none",
    )


class Modules(Resource):
    """Custom AI modules (`nai.modules`)."""

    def train(
        self,
        data: str,
        *,
        name: str,
        description: str = "",
        model: str = "kayra-v1",
        steps: int = 1000,
        lr: float = 1e-4,
    ) -> Module:
        """Starts training a module on `data` (the training text); spends training steps."""
        return self._client._run(_train_flow(data, lr, steps, name, description, model))

    def list(self) -> list[Module]:
        """Every module of the account."""
        return self._client._run(_list_flow())

    def get(self, module_id: str) -> Module:
        """One module."""
        return self._client._run(_get_flow(module_id))

    def delete(self, module_id: str) -> None:
        """Deletes a module."""
        self._client._run(_delete_flow(module_id))

    def buy_steps(self, amount: int) -> None:
        """Buys `amount` training steps (2000..10000) with Anlas."""
        self._client._run(_buy_flow(amount))


class AsyncModules(AsyncResource):
    """Custom AI modules (`nai.modules` of `AsyncNovelAI`); see `Modules`."""

    async def train(
        self,
        data: str,
        *,
        name: str,
        description: str = "",
        model: str = "kayra-v1",
        steps: int = 1000,
        lr: float = 1e-4,
    ) -> Module:
        """Starts training a module on `data`."""
        return await self._client._run(_train_flow(data, lr, steps, name, description, model))

    async def list(self) -> list[Module]:
        """Every module of the account."""
        return await self._client._run(_list_flow())

    async def get(self, module_id: str) -> Module:
        """One module."""
        return await self._client._run(_get_flow(module_id))

    async def delete(self, module_id: str) -> None:
        """Deletes a module."""
        await self._client._run(_delete_flow(module_id))

    async def buy_steps(self, amount: int) -> None:
        """Buys `amount` training steps (2000..10000) with Anlas."""
        await self._client._run(_buy_flow(amount))

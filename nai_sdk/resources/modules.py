"""Custom AI modules: train, list, get, delete, buy training steps (`nai.modules`)."""

from __future__ import annotations

import attrs
from nai_client.api.modules import buy_training_steps, delete_module, get_module, get_modules, train_module
from nai_client.models import AiModuleDto, AiModuleTrainRequest, BuyTrainingStepsRequest

from nai_sdk.resources._base import AsyncResource, Flow, Kind, Resource, call

__all__ = ["AsyncModules", "Module", "Modules"]


class Module(AiModuleDto):
    """A trained (or training) module: the generated `AiModuleDto`, whose fields it has, typed as the spec says.

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
        data: base64 of the trained module once ready (of the training set before that, or the error text), as
            NovelAI sends it.
        additional_properties: fields NovelAI sent that the spec does not list.

    It differs from `AiModuleDto` only in its repr, which gives the size of `data` rather than its text.
    """

    __slots__ = ()

    @classmethod
    def of(cls, answer: AiModuleDto) -> Module:
        """The module of a parsed answer (every field, unknown ones included, carried over)."""
        return cls.from_dict(answer.to_dict())

    def __repr__(self) -> str:
        shown = []
        for field in attrs.fields(AiModuleDto):
            value = getattr(self, field.name)
            if field.name == "data" and isinstance(value, str):
                # The training set, or the trained weights: both can run to megabytes.
                shown.append(f"data=<{len(value)} chars>")
            elif field.name != "additional_properties" or value:
                shown.append(f"{field.name}={value!r}")
        return f"Module({', '.join(shown)})"


def _train_flow(data: str, lr: float, steps: int, name: str, description: str, model: str) -> Flow[Module]:
    body = AiModuleTrainRequest(data=data, lr=lr, steps=steps, name=name, description=description, model=model)
    # Spends training steps: a generation-class request, retried only if it never reached NovelAI.
    answer = yield from call(train_module.operation.bind(body=body), kind=Kind.GENERATION)
    return Module.of(answer)


def _list_flow() -> Flow[list[Module]]:
    answer = yield from call(get_modules.operation.bind())
    return [Module.of(item) for item in answer]


def _get_flow(module_id: str) -> Flow[Module]:
    return Module.of((yield from call(get_module.operation.bind(module_id))))


def _delete_flow(module_id: str) -> Flow[None]:
    # The answer is the deleted module, which `delete` does not return.
    yield from call(delete_module.operation.bind(module_id))


def _buy_flow(amount: int) -> Flow[None]:
    # Spends money: a generation-class request, retried only if it never reached NovelAI.
    yield from call(
        buy_training_steps.operation.bind(body=BuyTrainingStepsRequest(amount=amount)), kind=Kind.GENERATION
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
        return self._engine.run(_train_flow(data, lr, steps, name, description, model))

    def list(self) -> list[Module]:
        """Every module of the account."""
        return self._engine.run(_list_flow())

    def get(self, module_id: str) -> Module:
        """One module."""
        return self._engine.run(_get_flow(module_id))

    def delete(self, module_id: str) -> None:
        """Deletes a module."""
        self._engine.run(_delete_flow(module_id))

    def buy_steps(self, amount: int) -> None:
        """Buys `amount` training steps (2000..10000) with Anlas."""
        self._engine.run(_buy_flow(amount))


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
        return await self._engine.run(_train_flow(data, lr, steps, name, description, model))

    async def list(self) -> list[Module]:
        """Every module of the account."""
        return await self._engine.run(_list_flow())

    async def get(self, module_id: str) -> Module:
        """One module."""
        return await self._engine.run(_get_flow(module_id))

    async def delete(self, module_id: str) -> None:
        """Deletes a module."""
        await self._engine.run(_delete_flow(module_id))

    async def buy_steps(self, amount: int) -> None:
        """Buys `amount` training steps (2000..10000) with Anlas."""
        await self._engine.run(_buy_flow(amount))

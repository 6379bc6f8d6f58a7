"""The account: information, subscription, settings, tokens, access key, deletion and recovery (`nai.account`).

Answers come back as the generated models (`nai_client.models`): typed attrs classes, checked by mypy against the
spec. Request bodies are built from the generated models too.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from nai_client.api.subscription import get_subscription
from nai_client.api.user import (
    change_access_key,
    confirm_account_deletion,
    create_persistent_token,
    get_account_information,
    get_client_settings,
    get_gift_keys,
    get_priority,
    get_user_data,
    recover_account,
    request_account_deletion,
    request_account_recovery,
    set_client_settings,
)
from nai_client.models import (
    ChangeAccessKeyRequest,
    ClientSettings,
    CreatePersistentTokenInput,
    DeletionFinishRequest,
    DeletionStartRequest,
    RecoveryFinishRequest,
    RecoveryStartRequest,
)

from nai_sdk._request import RequestOptions, per_call
from nai_sdk.errors import ConfigurationError
from nai_sdk.resources._base import AsyncResource, Call, Flow, Kind, Resource, call

if TYPE_CHECKING:
    from nai_client.models import (
        AccountInformationResponse,
        GiftKeysResponseGiftKeysItem,
        PriorityResponse,
        SubscriptionResponse,
        UserAccountDataResponse,
    )
    from nai_client.types import Operation

    from nai_sdk._session import Session

__all__ = ["Account", "AsyncAccount"]

T = TypeVar("T")


@functools.cache
def _get_call(operation: Operation[[], Any]) -> Call:
    # Calls are frozen: one per route serves every request (they are made per request in the hot GET paths).
    return Call(operation)


def _get(operation: Operation[[], T]) -> Flow[T]:
    """A GET without parameters, typed as its operation's model."""
    result: T = yield _get_call(operation)
    return result


def _gift_keys_flow() -> Flow[list[GiftKeysResponseGiftKeysItem]]:
    answer = yield from call(get_gift_keys.operation.bind())
    return answer.gift_keys


def _client_settings_flow() -> Flow[dict[str, Any]]:
    # The settings are a JSON object chosen by NovelAI's web client: the spec types it as any object.
    answer = yield from call(get_client_settings.operation.bind())
    return answer.to_dict()


def _set_client_settings_flow(settings: Mapping[str, Any] | str) -> Flow[None]:
    value = json.loads(settings) if isinstance(settings, str) else settings
    if not isinstance(value, Mapping):
        raise ConfigurationError("client settings must be a JSON object")
    yield from call(set_client_settings.operation.bind(body=ClientSettings.from_dict(value)))


def _persistent_token_flow(overwrite: bool) -> Flow[str | None]:
    body = CreatePersistentTokenInput(overwrite=overwrite)
    answer = yield from call(create_persistent_token.operation.bind(body=body), kind=Kind.UNSAFE)
    return answer.token


def _change_access_key_flow(session: Session, email: str, password: str) -> Flow[None]:
    from nai_sdk import crypto
    from nai_sdk.resources._keystore import reencrypt_flow

    if session.access_key is None:
        raise ConfigurationError("changing the access key needs the current e-mail and password")
    current_key = session.access_key
    current_encryption = session.encryption_key
    new_key = crypto.access_key(email, password)
    new_encryption = crypto.encryption_key(email, password)

    def change() -> Flow[None]:
        body = ChangeAccessKeyRequest(current_access_key=current_key, new_access_key=new_key, new_email=email)
        login = yield from call(change_access_key.operation.bind(body=body), kind=Kind.UNSAFE)
        session.switch_keys(new_key, new_encryption)
        session.authorization = "Bearer " + login.access_token

    # The keystore is encrypted under a key derived from the password: it is read (strictly) with the old key
    # before the change and written back under the new one after it, all under the keystore lock.
    yield from reencrypt_flow(session.keystore, current_encryption, new_encryption, change())


def _recover_flow(recovery_token: str, email: str, password: str, delete_content: bool) -> Flow[str]:
    from nai_sdk import crypto

    body = RecoveryFinishRequest(
        recovery_token=recovery_token, new_access_key=crypto.access_key(email, password), delete_content=delete_content
    )
    answer = yield from call(recover_account.operation.bind(body=body), kind=Kind.UNSAFE, auth=False)
    return answer.access_token


def _request_deletion_flow(email: str) -> Flow[None]:
    body = DeletionStartRequest(email=email)
    yield from call(request_account_deletion.operation.bind(body=body), kind=Kind.UNSAFE)


def _delete_flow(deletion_token: str) -> Flow[None]:
    body = DeletionFinishRequest(deletion_token=deletion_token)
    yield from call(confirm_account_deletion.operation.bind(body=body), kind=Kind.UNSAFE)


def _request_recovery_flow(email: str) -> Flow[None]:
    body = RecoveryStartRequest(email=email)
    yield from call(request_account_recovery.operation.bind(body=body), kind=Kind.UNSAFE, auth=False)


class Account(Resource):
    """The account (`nai.account`)."""

    def information(self, **request: Unpack[RequestOptions]) -> AccountInformationResponse:
        """E-mail verification, trial and ban status, creation date."""
        return self._engine.run(_get(get_account_information.operation), per_call(request))

    def data(self, **request: Unpack[RequestOptions]) -> UserAccountDataResponse:
        """Priority, subscription, keystore field, settings and information in one request."""
        return self._engine.run(_get(get_user_data.operation), per_call(request))

    def priority(self, **request: Unpack[RequestOptions]) -> PriorityResponse:
        """Priority actions left and the next refill."""
        return self._engine.run(_get(get_priority.operation), per_call(request))

    def subscription(self, **request: Unpack[RequestOptions]) -> SubscriptionResponse:
        """The subscription tier, expiry, perks and training steps left."""
        return self._engine.run(_get(get_subscription.operation), per_call(request))

    def gift_keys(self, **request: Unpack[RequestOptions]) -> list[GiftKeysResponseGiftKeysItem]:
        """The gift keys the account bought."""
        return self._engine.run(_gift_keys_flow(), per_call(request))

    def client_settings(self, **request: Unpack[RequestOptions]) -> dict[str, Any]:
        """The web client's settings (decoded JSON)."""
        return self._engine.run(_client_settings_flow(), per_call(request))

    def set_client_settings(self, settings: Mapping[str, Any] | str, **request: Unpack[RequestOptions]) -> None:
        """Replaces the web client's settings (a mapping, or a JSON text)."""
        self._engine.run(_set_client_settings_flow(settings), per_call(request))

    def create_persistent_token(self, *, overwrite: bool = False, **request: Unpack[RequestOptions]) -> str | None:
        """Creates a persistent API token (`pst-...`).

        Returns:
            The token; None when one exists already and `overwrite` is false (NovelAI never shows it again).
        """
        return self._engine.run(_persistent_token_flow(overwrite), per_call(request))

    def change_access_key(self, email: str, password: str, **request: Unpack[RequestOptions]) -> None:
        """Changes the e-mail and/or password, re-encrypting the keystore under the new password.

        The client must have been built from the current e-mail and password; it switches to the new ones.
        """
        self._engine.run(_change_access_key_flow(self._engine.session, email, password), per_call(request))

    def request_deletion(self, email: str, **request: Unpack[RequestOptions]) -> None:
        """Asks NovelAI to e-mail a deletion token (step 1 of deleting the account)."""
        self._engine.run(_request_deletion_flow(email), per_call(request))

    def delete(self, deletion_token: str, **request: Unpack[RequestOptions]) -> None:
        """Deletes the account with the token from the e-mail (step 2). This cannot be undone."""
        self._engine.run(_delete_flow(deletion_token), per_call(request))

    def request_recovery(self, email: str, **request: Unpack[RequestOptions]) -> None:
        """Asks NovelAI to e-mail a recovery token (step 1 of recovering an account with a lost password)."""
        self._engine.run(_request_recovery_flow(email), per_call(request))

    def recover(
        self,
        recovery_token: str,
        email: str,
        password: str,
        *,
        delete_content: bool = False,
        **request: Unpack[RequestOptions],
    ) -> str:
        """Sets a new password with the recovery token (step 2).

        Encrypted stories cannot be read with the new password (their keystore key came from the old one);
        `delete_content=True` deletes them.

        Returns:
            An access token for the recovered account.
        """
        return self._engine.run(_recover_flow(recovery_token, email, password, delete_content), per_call(request))


class AsyncAccount(AsyncResource):
    """The account (`nai.account` of `AsyncNovelAI`); see `Account`."""

    async def information(self, **request: Unpack[RequestOptions]) -> AccountInformationResponse:
        """E-mail verification, trial and ban status, creation date."""
        return await self._engine.run(_get(get_account_information.operation), per_call(request))

    async def data(self, **request: Unpack[RequestOptions]) -> UserAccountDataResponse:
        """Priority, subscription, keystore field, settings and information in one request."""
        return await self._engine.run(_get(get_user_data.operation), per_call(request))

    async def priority(self, **request: Unpack[RequestOptions]) -> PriorityResponse:
        """Priority actions left and the next refill."""
        return await self._engine.run(_get(get_priority.operation), per_call(request))

    async def subscription(self, **request: Unpack[RequestOptions]) -> SubscriptionResponse:
        """The subscription tier, expiry, perks and training steps left."""
        return await self._engine.run(_get(get_subscription.operation), per_call(request))

    async def gift_keys(self, **request: Unpack[RequestOptions]) -> list[GiftKeysResponseGiftKeysItem]:
        """The gift keys the account bought."""
        return await self._engine.run(_gift_keys_flow(), per_call(request))

    async def client_settings(self, **request: Unpack[RequestOptions]) -> dict[str, Any]:
        """The web client's settings (decoded JSON)."""
        return await self._engine.run(_client_settings_flow(), per_call(request))

    async def set_client_settings(self, settings: Mapping[str, Any] | str, **request: Unpack[RequestOptions]) -> None:
        """Replaces the web client's settings (a mapping, or a JSON text)."""
        await self._engine.run(_set_client_settings_flow(settings), per_call(request))

    async def create_persistent_token(
        self, *, overwrite: bool = False, **request: Unpack[RequestOptions]
    ) -> str | None:
        """Creates a persistent API token (see `Account.create_persistent_token`)."""
        return await self._engine.run(_persistent_token_flow(overwrite), per_call(request))

    async def change_access_key(self, email: str, password: str, **request: Unpack[RequestOptions]) -> None:
        """Changes the e-mail and/or password (see `Account.change_access_key`)."""
        await self._engine.run(_change_access_key_flow(self._engine.session, email, password), per_call(request))

    async def request_deletion(self, email: str, **request: Unpack[RequestOptions]) -> None:
        """Asks NovelAI to e-mail a deletion token."""
        await self._engine.run(_request_deletion_flow(email), per_call(request))

    async def delete(self, deletion_token: str, **request: Unpack[RequestOptions]) -> None:
        """Deletes the account with the token from the e-mail. This cannot be undone."""
        await self._engine.run(_delete_flow(deletion_token), per_call(request))

    async def request_recovery(self, email: str, **request: Unpack[RequestOptions]) -> None:
        """Asks NovelAI to e-mail a recovery token."""
        await self._engine.run(_request_recovery_flow(email), per_call(request))

    async def recover(
        self,
        recovery_token: str,
        email: str,
        password: str,
        *,
        delete_content: bool = False,
        **request: Unpack[RequestOptions],
    ) -> str:
        """Sets a new password with the recovery token (see `Account.recover`)."""
        return await self._engine.run(_recover_flow(recovery_token, email, password, delete_content), per_call(request))

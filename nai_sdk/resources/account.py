"""The account: information, subscription, settings, tokens, access key, deletion and recovery (`nai.account`).

Answers whose every field is required come back as the generated models (`nai_client.models`), which are typed
attrs classes without `UNSET`; the rest as plain values.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nai_sdk.errors import ConfigurationError
from nai_sdk.resources._base import AsyncResource, Body, Call, Flow, Kind, Resource
from nai_sdk.resources._ops import op

if TYPE_CHECKING:
    from nai_client.models import (
        AccountInformationResponse,
        PriorityResponse,
        SubscriptionResponse,
        UserAccountDataResponse,
    )

    from nai_sdk._client import _Credentials

__all__ = ["Account", "AsyncAccount"]


@functools.cache
def _get_call(path: str) -> Call:
    # Calls are frozen: one per route serves every request (they are made per request in the hot GET paths).
    return Call(op("GET", path))


def _get(path: str) -> Flow[Any]:
    return (yield _get_call(path))


def _gift_keys_flow() -> Flow[list[dict[str, Any]]]:
    answer = yield Call(op("GET", "/user/giftkeys"), result="json")
    keys = answer.get("giftKeys", []) if isinstance(answer, dict) else []
    return [dict(key) for key in keys if isinstance(key, dict)]


def _client_settings_flow() -> Flow[Any]:
    # The settings are a JSON text chosen by NovelAI's web client; the spec leaves the body untyped.
    return (yield Call(op("GET", "/user/clientsettings"), result="json"))


def _set_client_settings_flow(settings: Mapping[str, Any] | str) -> Flow[None]:
    value = json.loads(settings) if isinstance(settings, str) else settings
    yield Call(op("PUT", "/user/clientsettings"), {"body": Body(value)}, result="none")


def _persistent_token_flow(overwrite: bool) -> Flow[str | None]:
    answer = yield Call(
        op("POST", "/user/create-persistent-token"),
        {"body": Body({"overwrite": overwrite})},
        kind=Kind.UNSAFE,
        result="json",
    )
    token = answer.get("token") if isinstance(answer, dict) else None
    return token if isinstance(token, str) else None


def _post(path: str, body: Mapping[str, Any], *, auth: bool = True) -> Flow[None]:
    yield Call(op("POST", path), {"body": Body(body)}, kind=Kind.UNSAFE, auth=auth, result="none")


def _change_access_key_flow(credentials: _Credentials, email: str, password: str) -> Flow[None]:
    from nai_sdk import crypto
    from nai_sdk.resources._keystore import reencrypt_flow

    if credentials.access_key is None or credentials.encryption_key is None:
        raise ConfigurationError("changing the access key needs the current e-mail and password")
    current_key = credentials.access_key
    new_key = crypto.access_key(email, password)
    new_encryption = crypto.encryption_key(email, password)

    def change() -> Flow[None]:
        login = yield Call(
            op("POST", "/user/change-access-key"),
            {"body": Body({"currentAccessKey": current_key, "newAccessKey": new_key, "newEmail": email})},
            kind=Kind.UNSAFE,
            result="json",
        )
        token = login.get("accessToken") if isinstance(login, dict) else None
        credentials.access_key = new_key
        credentials.encryption_key = new_encryption
        if isinstance(token, str):
            credentials.authorization = "Bearer " + token

    # The keystore is encrypted under a key derived from the password: it is read (strictly) with the old key
    # before the change and written back under the new one after it, all under the keystore lock.
    yield from reencrypt_flow(credentials.keystore, credentials.encryption_key, new_encryption, change())


def _recover_flow(recovery_token: str, email: str, password: str, delete_content: bool) -> Flow[str]:
    from nai_sdk import crypto

    answer = yield Call(
        op("POST", "/user/recovery/recover"),
        {
            "body": Body(
                {
                    "recoveryToken": recovery_token,
                    "newAccessKey": crypto.access_key(email, password),
                    "deleteContent": delete_content,
                }
            )
        },
        kind=Kind.UNSAFE,
        auth=False,
        result="json",
    )
    token: str = answer["accessToken"]
    return token


class Account(Resource):
    """The account (`nai.account`)."""

    def information(self) -> AccountInformationResponse:
        """E-mail verification, trial and ban status, creation date."""
        result: AccountInformationResponse = self._client._run(_get("/user/information"))
        return result

    def data(self) -> UserAccountDataResponse:
        """Priority, subscription, keystore field, settings and information in one request."""
        result: UserAccountDataResponse = self._client._run(_get("/user/data"))
        return result

    def priority(self) -> PriorityResponse:
        """Priority actions left and the next refill."""
        result: PriorityResponse = self._client._run(_get("/user/priority"))
        return result

    def subscription(self) -> SubscriptionResponse:
        """The subscription tier, expiry, perks and training steps left."""
        result: SubscriptionResponse = self._client._run(_get("/user/subscription"))
        return result

    def gift_keys(self) -> list[dict[str, Any]]:
        """The gift keys the account bought."""
        return self._client._run(_gift_keys_flow())

    def client_settings(self) -> Any:
        """The web client's settings (decoded JSON)."""
        return self._client._run(_client_settings_flow())

    def set_client_settings(self, settings: Mapping[str, Any] | str) -> None:
        """Replaces the web client's settings (a mapping, or a JSON text)."""
        self._client._run(_set_client_settings_flow(settings))

    def create_persistent_token(self, *, overwrite: bool = False) -> str | None:
        """Creates a persistent API token (`pst-...`).

        Returns:
            The token; None when one exists already and `overwrite` is false (NovelAI never shows it again).
        """
        return self._client._run(_persistent_token_flow(overwrite))

    def change_access_key(self, email: str, password: str) -> None:
        """Changes the e-mail and/or password, re-encrypting the keystore under the new password.

        The client must have been built from the current e-mail and password; it switches to the new ones.
        """
        self._client._run(_change_access_key_flow(self._client._credentials, email, password))

    def request_deletion(self, email: str) -> None:
        """Asks NovelAI to e-mail a deletion token (step 1 of deleting the account)."""
        self._client._run(_post("/user/deletion/request", {"email": email}))

    def delete(self, deletion_token: str) -> None:
        """Deletes the account with the token from the e-mail (step 2). This cannot be undone."""
        self._client._run(_post("/user/deletion/delete", {"deletionToken": deletion_token}))

    def request_recovery(self, email: str) -> None:
        """Asks NovelAI to e-mail a recovery token (step 1 of recovering an account with a lost password)."""
        self._client._run(_post("/user/recovery/request", {"email": email}, auth=False))

    def recover(self, recovery_token: str, email: str, password: str, *, delete_content: bool = False) -> str:
        """Sets a new password with the recovery token (step 2).

        Encrypted stories cannot be read with the new password (their keystore key came from the old one);
        `delete_content=True` deletes them.

        Returns:
            An access token for the recovered account.
        """
        return self._client._run(_recover_flow(recovery_token, email, password, delete_content))


class AsyncAccount(AsyncResource):
    """The account (`nai.account` of `AsyncNovelAI`); see `Account`."""

    async def information(self) -> AccountInformationResponse:
        """E-mail verification, trial and ban status, creation date."""
        result: AccountInformationResponse = await self._client._run(_get("/user/information"))
        return result

    async def data(self) -> UserAccountDataResponse:
        """Priority, subscription, keystore field, settings and information in one request."""
        result: UserAccountDataResponse = await self._client._run(_get("/user/data"))
        return result

    async def priority(self) -> PriorityResponse:
        """Priority actions left and the next refill."""
        result: PriorityResponse = await self._client._run(_get("/user/priority"))
        return result

    async def subscription(self) -> SubscriptionResponse:
        """The subscription tier, expiry, perks and training steps left."""
        result: SubscriptionResponse = await self._client._run(_get("/user/subscription"))
        return result

    async def gift_keys(self) -> list[dict[str, Any]]:
        """The gift keys the account bought."""
        return await self._client._run(_gift_keys_flow())

    async def client_settings(self) -> Any:
        """The web client's settings (decoded JSON)."""
        return await self._client._run(_client_settings_flow())

    async def set_client_settings(self, settings: Mapping[str, Any] | str) -> None:
        """Replaces the web client's settings (a mapping, or a JSON text)."""
        await self._client._run(_set_client_settings_flow(settings))

    async def create_persistent_token(self, *, overwrite: bool = False) -> str | None:
        """Creates a persistent API token (see `Account.create_persistent_token`)."""
        return await self._client._run(_persistent_token_flow(overwrite))

    async def change_access_key(self, email: str, password: str) -> None:
        """Changes the e-mail and/or password (see `Account.change_access_key`)."""
        await self._client._run(_change_access_key_flow(self._client._credentials, email, password))

    async def request_deletion(self, email: str) -> None:
        """Asks NovelAI to e-mail a deletion token."""
        await self._client._run(_post("/user/deletion/request", {"email": email}))

    async def delete(self, deletion_token: str) -> None:
        """Deletes the account with the token from the e-mail. This cannot be undone."""
        await self._client._run(_post("/user/deletion/delete", {"deletionToken": deletion_token}))

    async def request_recovery(self, email: str) -> None:
        """Asks NovelAI to e-mail a recovery token."""
        await self._client._run(_post("/user/recovery/request", {"email": email}, auth=False))

    async def recover(self, recovery_token: str, email: str, password: str, *, delete_content: bool = False) -> str:
        """Sets a new password with the recovery token (see `Account.recover`)."""
        return await self._client._run(_recover_flow(recovery_token, email, password, delete_content))

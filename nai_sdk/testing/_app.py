"""The ASGI application behind :class:`~nai_sdk.testing.FakeNovelAI`: NovelAI's routes over an in-memory state.

Status codes and bodies follow the Primary API's OpenAPI document (``generated/openapi.yaml``): every route that
the document declares with 201 answers 201 here too, including ``/ai/generate``, except on the text host of a
split-host fake, which answers text generation with 200 as the real text host does (clients must accept both).
Errors are NovelAI's ``{"statusCode": n, "message": text}``. Routes the fake does not implement answer 501 instead
of pretending to succeed. In split-host mode, :class:`~nai_sdk.testing._hosts.HostGate` first refuses the routes a
host does not serve.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import secrets
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from ._faults import FaultInjector, FaultMiddleware, RequestLog
from ._hosts import ROLE_SCOPE_KEY, HostGate, HostTable, Role
from ._lock import GenerationLock
from ._media import mp3_silence, png_image, png_metadata, zip_of
from ._state import OBJECT_TYPES, TIERS, Account, FakeState, new_id, now_ms, now_s
from ._textgen import CHAT_MODELS, TEXT_MODELS, ChatText, TextModel, chat_text, count_tokens, decode_tokens, generate

__all__ = ["ApiError", "FakeConfig", "build_app"]

ACCESS_KEY_LENGTH = 64
PERSISTENT_TOKEN_PREFIX = "pst-"
# Models that accept module training. The leaked ``trainModule`` source in the spec checks ``canTrainModules`` but
# does not list the models; NovelAI's 2022 web client (``util/models``, ``modelSupportsUserModules``) trains only
# these, and no public source says Kayra, Clio or Erato ever could.
TRAINABLE_MODELS = frozenset({"6B-v3", "6B-v4", "euterpe-v2"})
MIN_TRAINING_STEPS = 50
# The largest training set the fake inflates: the web client uploads at most 50 MB (``maxUploadSize``).
MAX_TRAINING_SET = 64 * 1024 * 1024
MAX_IMAGE_SIDE = 2048
MAX_SAMPLES = 8
# Pixels one request may ask for in total: NovelAI's own limits are lower, and this keeps every answer < 0.5 s.
MAX_PIXELS = 8 * 1024 * 1024
IMAGE_MODELS = frozenset(
    {
        "nai-diffusion",
        "safe-diffusion",
        "nai-diffusion-furry",
        "custom",
        "nai-diffusion-inpainting",
        "nai-diffusion-3-inpainting",
        "safe-diffusion-inpainting",
        "furry-diffusion-inpainting",
        "kandinsky-vanilla",
        "nai-diffusion-2",
        "nai-diffusion-3",
        "nai-diffusion-furry-3",
        "nai-diffusion-4-curated-preview",
        "nai-diffusion-4-full",
        "nai-diffusion-4-5-curated",
        "nai-diffusion-4-5-full",
        "nai-diffusion-4-5-curated-inpainting",
        "nai-diffusion-4-5-full-inpainting",
        "nai-diffusion-5-full",
        "nai-diffusion-5-curated",
        "nai-diffusion-5-full-inpainting",
    }
)
ANNOTATE_MODELS = frozenset({"canny", "hed", "midas", "mlsd", "openpose", "uniformer", "fake_scribble"})
# The director tools and emotions of /ai/augment-image (novelai-sdk 0.14.1 constants/tools.py).
DIRECTOR_TOOLS = frozenset(
    {"bg-removal", "lineart", "sketch", "colorize", "emotion", "declutter", "declutter-keep-bubbles"}
)
EMOTIONS = frozenset(
    {
        "neutral",
        "happy",
        "sad",
        "angry",
        "scared",
        "surprised",
        "tired",
        "excited",
        "nervous",
        "thinking",
        "confused",
        "shy",
        "disgusted",
        "smug",
        "bored",
        "laughing",
        "irritated",
        "aroused",
        "embarrassed",
        "worried",
        "love",
        "determined",
        "hurt",
        "playful",
    }
)
# Models that take encoded vibes: V4 and V4.5 (V5 has no vibe transfer; novelai-python 0.9.0 `encodedVibes`).
VIBE_MODELS = frozenset(
    {
        "nai-diffusion-4-curated-preview",
        "nai-diffusion-4-full",
        "nai-diffusion-4-5-curated",
        "nai-diffusion-4-5-full",
    }
)
_TAGS = (
    ("1girl", 4_100_000),
    ("solo", 3_400_000),
    ("smile", 1_900_000),
    ("sky", 400_000),
    ("sea", 160_000),
    ("lantern", 21_000),
    ("night", 390_000),
    ("night sky", 110_000),
    ("river", 45_000),
    ("landscape", 70_000),
    ("scenery", 200_000),
    ("snow", 130_000),
)


class ApiError(Exception):
    """Raised by handlers; answered as ``{"statusCode": status, "message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class FakeConfig:
    """Server-wide behaviour.

    Attributes:
        default_tier: Subscription tier granted to every new account (None: no subscription, as NovelAI does).
        seed: Mixed into every generation, so two servers with different seeds answer differently.
        state_file: Where to save the state after every change (None: keep it in memory only).
        generation_latency: Seconds each generation runs, holding the account's generation lock (see _lock.py).
    """

    default_tier: int | None = None
    seed: int = 0
    state_file: Path | None = None
    generation_latency: float = 0.0


def _frame(event: Mapping[str, Any]) -> bytes:
    """One frame of the image stream: a 32-bit big-endian length, then the msgpack map."""
    packed: bytes = msgpack.packb(event, use_bin_type=True)
    return len(packed).to_bytes(4, "big") + packed


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"statusCode": status, "message": message}, status_code=status, headers=headers)


def _require(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    # bool is an int in Python, but never a number in JSON Schema.
    if value is None or isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        raise ApiError(400, f"{name} is required and must be {_kind_name(kind)}")
    return value


def _optional(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    if body.get(name) is None:
        return default
    return _require(body, name, kind)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", dict: "an object"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


_NUMBER = (int, float)


def _b64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{name} must be base64") from None


def _training_set(data: str) -> str:
    """The text of a module-training ``data``: base64 of a raw DEFLATE stream of UTF-8 (the web client's encoding).

    NovelAI's own answer to a malformed data set is not published: the leaked ``trainModule`` source answers a bad
    body with 400 "Incorrect body.", which the fake uses, followed by what it found wrong.
    """
    problem = "data must be base64 of a raw DEFLATE stream of UTF-8 text"
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"Incorrect body. {problem}: it is not base64") from None
    inflater = zlib.decompressobj(-15)  # negative: raw DEFLATE, no zlib header
    try:
        raw = inflater.decompress(compressed, MAX_TRAINING_SET + 1)
    except zlib.error:
        raise ApiError(400, f"Incorrect body. {problem}: the stream is not raw DEFLATE") from None
    if len(raw) > MAX_TRAINING_SET:
        raise ApiError(400, f"Incorrect body. The training set inflates to more than {MAX_TRAINING_SET} bytes")
    if not inflater.eof:
        raise ApiError(400, f"Incorrect body. {problem}: the stream is truncated")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, f"Incorrect body. {problem}: it inflates to bytes that are not UTF-8") from None


def _seed_of(*parts: Any) -> int:
    return int.from_bytes(hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()[:8], "big")


def _generation_status(request: Request) -> int:
    # The text host answers generation with 200, the API host with 201 (spec/overlays/60-hosts.yaml).
    return 200 if request.scope.get(ROLE_SCOPE_KEY) == "text" else 201


class _Handlers:
    """Route handlers over one :class:`FakeState`."""

    def __init__(self, state: FakeState, config: FakeConfig) -> None:
        self.state = state
        self.config = config

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _persist(self) -> None:
        if self.config.state_file is not None:
            self.state.save(self.config.state_file)

    def _account(self, request: Request) -> Account:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Access Token is incorrect.")
        account = self.state.account_by_token(token.strip())
        if account is None:
            raise ApiError(401, "Access Token is incorrect.")
        return account

    def _subscribed(self, request: Request) -> Account:
        account = self._account(request)
        if not account.subscribed:
            raise ApiError(402, "An active subscription is required to access this endpoint.")
        return account

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        return body

    def _new_account(self, access_key: str) -> Account:
        account = Account(id=new_id(), access_key=access_key)
        if self.config.default_tier is not None:
            account.grant(self.config.default_tier)
        self.state.accounts[account.id] = account
        return account

    def _redeem_giftkey(self, account: Account, key: str) -> None:
        gift = self.state.giftkeys.get(key)
        if gift is None:
            raise ApiError(404, "Subscription ID was not found")
        if gift.get("usedBy") is not None:
            raise ApiError(409, "This gift key has already been used.")
        gift["usedBy"] = account.id
        account.grant(int(gift.get("tier", 3)), int(gift.get("days", 30)))

    # -- account --------------------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return Response("OK", media_type="text/plain")

    async def register(self, request: Request) -> Response:
        body = await self._body(request)
        key = _require(body, "key", str)
        _require(body, "recaptcha", str)
        email_cleartext = _require(body, "emailCleartext", str)
        allow_marketing = _require(body, "allowMarketingEmails", bool)
        email_hash = _optional(body, "email", str)
        giftkey = _optional(body, "giftkey", str)
        if len(key) < ACCESS_KEY_LENGTH:
            raise ApiError(400, f"key must be at least {ACCESS_KEY_LENGTH} characters")
        if email_hash is not None and len(email_hash) != 64:
            raise ApiError(400, "email must be the 64-character SHA-256 hex digest of the e-mail")
        with self.state.lock:
            if self.state.account_by_key(key) is not None or (
                email_cleartext and self.state.account_by_email(email_cleartext) is not None
            ):
                raise ApiError(409, "An account with this e-mail or access key already exists.")
            if giftkey is not None and self.state.giftkeys.get(giftkey, {"usedBy": "x"}).get("usedBy") is not None:
                raise ApiError(400, "The gift key is not valid.")
            account = self._new_account(key)
            account.email = email_cleartext or None
            account.email_hash = email_hash
            account.allow_marketing_emails = allow_marketing
            if giftkey is not None:
                self._redeem_giftkey(account, giftkey)
            token = self.state.issue_token(account)
        return JSONResponse({"accessToken": token}, status_code=201)

    async def login(self, request: Request) -> Response:
        body = await self._body(request)
        key = _require(body, "key", str)
        if len(key) != ACCESS_KEY_LENGTH:
            raise ApiError(400, f"key must be exactly {ACCESS_KEY_LENGTH} characters")
        with self.state.lock:
            account = self.state.account_by_key(key)
            if account is None:
                raise ApiError(401, "Access Key is incorrect.")
            token = self.state.issue_token(account)
        return JSONResponse({"accessToken": token}, status_code=201)

    async def change_access_key(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        current = _require(body, "currentAccessKey", str)
        new = _require(body, "newAccessKey", str)
        new_email = _optional(body, "newEmail", str)
        if len(new) < ACCESS_KEY_LENGTH:
            raise ApiError(400, f"newAccessKey must be at least {ACCESS_KEY_LENGTH} characters")
        with self.state.lock:
            if current != account.access_key:
                raise ApiError(401, "Access Key is incorrect.")
            other = self.state.account_by_key(new)
            if other is not None and other is not account:
                raise ApiError(409, "This access key is already in use.")
            account.access_key = new
            if new_email is not None:
                account.email = new_email
            self.state.revoke_session_tokens(account)
            token = self.state.issue_token(account)
        return JSONResponse({"accessToken": token})

    async def mailing_list_consent(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        account.allow_marketing_emails = _require(body, "marketingConsent", bool)
        return Response(status_code=204)

    async def resend_verification(self, request: Request) -> Response:
        body = await self._body(request)
        email = _require(body, "email", str)
        with self.state.lock:
            account = self.state.account_by_email(email)
            if account is not None and not account.email_verified:
                self.state.verification_tokens[secrets.token_hex(32)] = account.id
        return Response(status_code=201)

    async def verify_email(self, request: Request) -> Response:
        body = await self._body(request)
        token = _require(body, "verificationToken", str)
        with self.state.lock:
            account_id = self.state.verification_tokens.pop(token, None)
            account = self.state.accounts.get(account_id) if account_id else None
            if account is None:
                raise ApiError(401, "Verification token was not found.")
            account.email_verified = True
        return Response(status_code=200)

    async def information(self, request: Request) -> Response:
        return JSONResponse(self._information(self._account(request)))

    def _information(self, account: Account) -> dict[str, Any]:
        return {
            "emailVerified": account.email_verified,
            "emailVerificationLetterSent": any(a == account.id for a in self.state.verification_tokens.values()),
            "hasPlaintextEmail": account.email is not None,
            "plaintextEmail": account.email,
            "allowMarketingEmails": account.allow_marketing_emails,
            "trialActivated": account.trial_activated,
            "trialActionsLeft": 0,
            "trialImagesLeft": 0,
            "accountCreatedAt": account.created_at,
            "banStatus": "not_banned",
            "banMessage": "",
        }

    async def osano_id(self, request: Request) -> Response:
        account = self._account(request)
        external = base64.urlsafe_b64encode(hashlib.sha256(account.id.encode()).digest()).decode().rstrip("=")
        return JSONResponse({"externalOsanoId": external})

    async def consent(self, request: Request) -> Response:
        self._account(request)
        body = await self._body(request)
        _require(body, "jurisdiction", str)
        for name in ("analyticsConsent", "marketingConsent", "personalizationConsent", "essentialsConsent"):
            _require(body, name, bool)
        _require(body, "globalOptOut", bool)
        return Response(status_code=200)

    async def deletion_request(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        email = _require(body, "email", str)
        with self.state.lock:
            if email in (account.email, account.email_hash):
                self.state.deletion_tokens[secrets.token_hex(16)] = account.id
        return Response(status_code=202)

    async def deletion_finish(self, request: Request) -> Response:
        body = await self._body(request)
        token = _require(body, "deletionToken", str)
        with self.state.lock:
            account_id = self.state.deletion_tokens.get(token)
            account = self.state.accounts.get(account_id) if account_id else None
            if account is None:
                raise ApiError(401, "Deletion token was not found.")
            self.state.delete_account(account)
        return Response(status_code=200)

    async def recovery_request(self, request: Request) -> Response:
        body = await self._body(request)
        email = _require(body, "email", str)
        with self.state.lock:
            account = self.state.account_by_email(email)
            if account is not None:
                self.state.recovery_tokens[secrets.token_hex(16)] = account.id
        return Response(status_code=202)

    async def recovery_finish(self, request: Request) -> Response:
        body = await self._body(request)
        token = _require(body, "recoveryToken", str)
        new_key = _require(body, "newAccessKey", str)
        delete_content = _require(body, "deleteContent", bool)
        if len(new_key) != ACCESS_KEY_LENGTH:
            raise ApiError(400, f"newAccessKey must be exactly {ACCESS_KEY_LENGTH} characters")
        with self.state.lock:
            account_id = self.state.recovery_tokens.pop(token, None)
            account = self.state.accounts.get(account_id) if account_id else None
            if account is None:
                raise ApiError(401, "Recovery token was not found.")
            other = self.state.account_by_key(new_key)
            if other is not None and other is not account:
                raise ApiError(409, "This access key is already in use.")
            account.access_key = new_key
            if delete_content:
                # The keystore's key derives from the password, so without it the encrypted objects are lost.
                account.keystore = None
                account.keystore_change_index += 1
                for kind in ("stories", "storycontent"):
                    account.objects.pop(kind, None)
            self.state.revoke_session_tokens(account)
            access_token = self.state.issue_token(account)
        return JSONResponse({"accessToken": access_token}, status_code=201)

    async def delete_unchecked(self, request: Request) -> Response:
        account = self._account(request)
        with self.state.lock:
            self.state.delete_account(account)
        return Response(status_code=200)

    # -- account data ---------------------------------------------------------------------------------------------

    def _priority(self, account: Account) -> dict[str, Any]:
        perks = TIERS[account.tier if account.subscribed and account.tier is not None else 0]
        return {
            "maxPriorityActions": perks.max_priority_actions,
            "nextRefillAt": now_s() + 3600,
            "taskPriority": perks.start_priority,
        }

    def _subscription(self, account: Account) -> dict[str, Any]:
        active = account.subscribed
        tier = account.tier if account.tier is not None else 0
        return {
            "tier": tier,
            "active": active,
            "expiresAt": account.expires_at,
            "perks": TIERS[tier].to_wire(),
            "paymentProcessorData": {},
            "trainingStepsLeft": {
                "fixedTrainingStepsLeft": account.fixed_training_steps,
                "purchasedTrainingSteps": account.purchased_training_steps,
            },
            "isGracePeriod": False,
        }

    async def user_data(self, request: Request) -> Response:
        account = self._account(request)
        with self.state.lock:
            return JSONResponse(
                {
                    "priority": self._priority(account),
                    "subscription": self._subscription(account),
                    "keystore": {"keystore": account.keystore},
                    "settings": account.client_settings,
                    "information": self._information(account),
                }
            )

    async def priority(self, request: Request) -> Response:
        return JSONResponse(self._priority(self._account(request)))

    async def subscription(self, request: Request) -> Response:
        return JSONResponse(self._subscription(self._account(request)))

    async def giftkeys(self, request: Request) -> Response:
        self._account(request)
        # Gift keys a user bought; the fake sells none (tests mint redeemable ones with FakeNovelAI.add_giftkey).
        return JSONResponse({"giftKeys": []})

    async def get_keystore(self, request: Request) -> Response:
        account = self._account(request)
        # changeIndex: the one to send back with PUT (spec/overlays/30-error-answers.yaml).
        return JSONResponse({"keystore": account.keystore, "changeIndex": account.keystore_change_index})

    async def put_keystore(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        keystore = _require(body, "keystore", str)
        change_index = _optional(body, "changeIndex", _NUMBER)
        if keystore:
            _b64(keystore, "keystore")
        with self.state.lock:
            if change_index is not None and change_index < account.keystore_change_index:
                raise ApiError(
                    409,
                    f"Keystore changeIndex {change_index:g} is stale: the server is at "
                    f"{account.keystore_change_index}. Fetch the keystore again and reapply your change.",
                )
            account.keystore = keystore or None
            account.keystore_change_index += 1
        return Response(status_code=200)

    async def get_client_settings(self, request: Request) -> Response:
        account = self._account(request)
        return Response(account.client_settings or "{}", media_type="application/json")

    async def put_client_settings(self, request: Request) -> Response:
        account = self._account(request)
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
            json.loads(text)
        except ValueError:
            raise ApiError(400, "Client settings must be a JSON text.") from None
        account.client_settings = text
        return Response(status_code=200)

    async def persistent_token(self, request: Request) -> Response:
        account = self._account(request)
        raw = await request.body()
        body = await self._body(request) if raw.strip() else {}
        overwrite = _optional(body, "overwrite", bool, False)
        with self.state.lock:
            if account.persistent_token is not None and not overwrite:
                # The schema allows null: an existing token is never shown again.
                return JSONResponse({"token": None}, status_code=201)
            if account.persistent_token is not None:
                self.state.tokens.pop(account.persistent_token, None)
            token = PERSISTENT_TOKEN_PREFIX + secrets.token_hex(32)
            account.persistent_token = token
            self.state.tokens[token] = account.id
        return JSONResponse({"token": token}, status_code=201)

    # -- subscription ---------------------------------------------------------------------------------------------

    async def bind_subscription(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        processor = _require(body, "paymentProcessor", str)
        subscription_id = _require(body, "subscriptionId", str)
        with self.state.lock:
            if processor == "trial":
                if account.trial_activated:
                    raise ApiError(409, "The trial has already been activated.")
                if account.subscribed:
                    raise ApiError(409, "The account already has an active subscription.")
                account.trial_activated = True
                account.grant(0, days=7)
            elif processor == "giftkey":
                if account.subscribed and not body.get("confirmedReplace"):
                    raise ApiError(409, "The account already has an active subscription; set confirmedReplace.")
                self._redeem_giftkey(account, subscription_id)
            else:
                raise ApiError(400, "paymentProcessor must be giftkey or trial")
        return Response(status_code=201)

    async def change_subscription(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        plan = _require(body, "newSubscriptionPlan", _NUMBER)
        if plan not in TIERS:
            raise ApiError(404, "Subscription SKU was not found")
        with self.state.lock:
            if not account.subscribed:
                raise ApiError(409, "There is no active subscription to change.")
            account.tier = int(plan)
            account.fixed_training_steps = TIERS[int(plan)].module_training_steps
        return Response(status_code=200)

    # -- objects --------------------------------------------------------------------------------------------------

    @staticmethod
    def _object_type(request: Request) -> str:
        kind: str = request.path_params["type"]
        if kind not in OBJECT_TYPES:
            raise ApiError(400, f"Unknown object type {kind!r}; expected one of {', '.join(OBJECT_TYPES)}")
        return kind

    @staticmethod
    async def _object_input(request: Request) -> tuple[str, str, float | None]:
        body = await _Handlers._body(request)
        meta = _require(body, "meta", str)
        data = _require(body, "data", str)
        change_index = _optional(body, "changeIndex", _NUMBER)
        if len(meta) > 128:
            raise ApiError(400, "meta must be at most 128 characters")
        _b64(data, "data")
        return meta, data, change_index

    def _find_object(self, account: Account, request: Request) -> dict[str, Any]:
        kind = self._object_type(request)
        found = account.objects.get(kind, {}).get(request.path_params["id"])
        if found is None:
            raise ApiError(404, "Specified object was not found.")
        return found

    async def list_objects(self, request: Request) -> Response:
        account = self._account(request)
        kind = self._object_type(request)
        try:
            offset = int(float(request.query_params.get("offset", 0)))
            limit = request.query_params.get("limit")
            count = int(float(limit)) if limit is not None else None
        except ValueError:
            raise ApiError(400, "offset and limit must be numbers") from None
        order = request.query_params.get("order", "asc").lower()
        if order not in ("asc", "desc") or offset < 0 or (count is not None and count < 0):
            raise ApiError(400, "order must be asc or desc; offset and limit must not be negative")
        with self.state.lock:
            items = sorted(account.objects.get(kind, {}).values(), key=lambda o: (o["lastUpdatedAt"], o["id"]))
            if order == "desc":
                items.reverse()
            items = items[offset : None if count is None else offset + count]
            return JSONResponse({"objects": [dict(o) for o in items]})

    async def create_object(self, request: Request) -> Response:
        account = self._account(request)
        kind = self._object_type(request)
        meta, data, _ = await self._object_input(request)
        with self.state.lock:
            obj: dict[str, Any] = {
                "id": new_id(),
                "type": kind,
                "meta": meta,
                "data": data,
                "lastUpdatedAt": now_ms(),
                "changeIndex": 1,
            }
            account.objects.setdefault(kind, {})[obj["id"]] = obj
            return JSONResponse(dict(obj))

    async def get_object(self, request: Request) -> Response:
        account = self._account(request)
        with self.state.lock:
            return JSONResponse(dict(self._find_object(account, request)))

    async def edit_object(self, request: Request) -> Response:
        account = self._account(request)
        meta, data, change_index = await self._object_input(request)
        with self.state.lock:
            obj = self._find_object(account, request)
            if change_index is not None and change_index < obj["changeIndex"]:
                raise ApiError(
                    409,
                    f"Object {obj['id']} was changed elsewhere: the edit carries changeIndex {change_index:g} but "
                    f"the server is at {obj['changeIndex']}. Fetch the object again and reapply your change.",
                )
            obj.update(meta=meta, data=data, lastUpdatedAt=now_ms(), changeIndex=obj["changeIndex"] + 1)
            return JSONResponse(dict(obj))

    async def delete_object(self, request: Request) -> Response:
        account = self._account(request)
        with self.state.lock:
            obj = self._find_object(account, request)
            del account.objects[obj["type"]][obj["id"]]
            return JSONResponse(dict(obj))

    async def batch_delete(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        kinds = body.get("types")
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            raise ApiError(400, "types must be a non-empty array of object types")
        unknown = [k for k in kinds if k not in OBJECT_TYPES]
        if unknown:
            raise ApiError(400, f"Unknown object types: {', '.join(unknown)}")
        with self.state.lock:
            for kind in kinds:
                account.objects.pop(kind, None)
        return Response(status_code=200)

    # -- text generation ------------------------------------------------------------------------------------------

    async def _generation_request(self, request: Request) -> tuple[TextModel, dict[str, Any]]:
        self._subscribed(request)
        body = await self._body(request)
        text = _require(body, "input", str)
        model_name = _require(body, "model", str)
        parameters = _require(body, "parameters", dict)
        model = TEXT_MODELS.get(model_name)
        if model is None:
            raise ApiError(400, f"Unknown text model {model_name!r}")
        if len(text) > 40000:
            raise ApiError(400, "input must be at most 40000 characters")
        low = _require(parameters, "min_length", _NUMBER)
        high = _require(parameters, "max_length", _NUMBER)
        if not 1 <= low <= 2048 or not 1 <= high <= 2048 or math.ceil(low) > math.floor(high):
            raise ApiError(400, "min_length and max_length must be within 1..2048 and min_length <= max_length")
        num_logprobs = _optional(parameters, "num_logprobs", _NUMBER, 0)
        if not 0 <= num_logprobs <= 30:
            raise ApiError(400, "num_logprobs must be within 0..30")
        if not _optional(parameters, "use_string", bool, False):
            try:
                tokens = decode_tokens(text, model.width)
            except ValueError as exc:
                raise ApiError(400, f"input is not base64 tokens of {model.width} bytes: {exc}") from None
            if any(t >= model.vocab + 256 for t in tokens):
                raise ApiError(400, f"input holds token ids outside the vocabulary of {model_name}")
        return model, body

    async def generate(self, request: Request) -> Response:
        model, body = await self._generation_request(request)
        result = generate(model, body, self.config.seed)
        answer: dict[str, Any] = {"output": result.output(model)}
        if result.logprobs is not None:
            answer["logprobs"] = result.logprobs
        return JSONResponse(answer, status_code=_generation_status(request))

    async def generate_stream(self, request: Request) -> Response:
        model, body = await self._generation_request(request)
        result = generate(model, body, self.config.seed)

        async def events() -> AsyncIterator[dict[str, str]]:
            last = len(result.pieces) - 1
            for ptr, piece in enumerate(result.pieces):
                event: dict[str, Any] = {"token": piece, "ptr": ptr, "final": ptr == last}
                if result.logprobs is not None:
                    event["logprobs"] = result.logprobs[ptr]
                yield {"event": "newToken", "id": str(ptr + 1), "data": json.dumps(event, separators=(",", ":"))}

        # ping=0: no keep-alive comments, so every chunk on the wire is one token event.
        return EventSourceResponse(events(), status_code=_generation_status(request), ping=0)

    async def generate_prompt(self, request: Request) -> Response:
        self._account(request)
        body = await self._body(request)
        model_name = _require(body, "model", str)
        prompt = _require(body, "prompt", str)
        _require(body, "temp", _NUMBER)
        count = _require(body, "tokens_to_generate", _NUMBER)
        if model_name not in TEXT_MODELS or not prompt or not 1 <= count <= 200:
            raise ApiError(400, "model must be a text model, prompt non-empty, tokens_to_generate within 1..200")
        fake = {"input": prompt, "model": model_name, "parameters": {"use_string": True, "min_length": count}}
        fake["parameters"]["max_length"] = count
        result = generate(TEXT_MODELS[model_name], fake, self.config.seed)
        return JSONResponse({"generated_text": "".join(result.pieces)}, status_code=201)

    # -- the OpenAI-compatible API (/oa/v1 on the text host) ------------------------------------------------------
    # Routes and shapes: novelai-python 0.9.0, novelai_python/sdk/ai/openai_compat.py; the stream's chunks end with
    # `data: [DONE]` (ibid., `_OAIGenerateBase.stream`); a chat stream's last chunk is `{"delta": {}, "finish_reason":
    # "stop"}` (EthanYoQ/AI-Novel-Writer's tests); a completion chunk is `{id, object: "text_completion", created,
    # model, choices: [{text, index, logprobs: null, finish_reason}]}` (TomoriBot, novelaiService.ts). NovelAI's
    # answers to invalid requests are not published: the fake answers 400 with what is wrong.

    _CHAT_ROLES = ("system", "user", "assistant")
    #: (name, type, lowest, highest) of the sampling fields the fake checks (novelai-python 0.9.0 `_OAIGenerateBase`).
    _OA_SAMPLERS: tuple[tuple[str, type | tuple[type, ...], float | None, float | None], ...] = (
        ("max_tokens", int, 1, None),
        ("temperature", _NUMBER, 0, None),
        ("top_p", _NUMBER, 0, 1),
        ("top_k", int, 0, None),
        ("min_p", _NUMBER, 0, 1),
        ("frequency_penalty", _NUMBER, None, None),
        ("presence_penalty", _NUMBER, None, None),
        ("repetition_penalty", _NUMBER, None, None),
        ("seed", int, None, None),
    )
    #: The `created` time of the listed models: when GLM-4.6 reached NovelAI (2025-10-02, SillyTavern issue 4575).
    _OA_MODELS_CREATED = 1759363200

    async def _oa_request(self, request: Request, prompt_field: str) -> tuple[str, dict[str, Any]]:
        # GLM-4.6 is for every subscriber (SillyTavern issue 4664).
        self._subscribed(request)
        body = await self._body(request)
        model = _require(body, "model", str)
        if model not in CHAT_MODELS:
            raise ApiError(400, f"Unknown model {model!r}; this API serves {', '.join(CHAT_MODELS)}")
        if prompt_field == "messages":
            messages = _require(body, "messages", list)
            if not messages:
                raise ApiError(400, "messages must hold at least one message")
            for index, message in enumerate(messages):
                if not isinstance(message, dict) or message.get("role") not in self._CHAT_ROLES:
                    raise ApiError(400, f"messages[{index}].role must be one of {', '.join(self._CHAT_ROLES)}")
                if not isinstance(message.get("content"), str):
                    raise ApiError(400, f"messages[{index}].content must be a string")
                if message.get("name") is not None and not isinstance(message["name"], str):
                    raise ApiError(400, f"messages[{index}].name must be a string")
        else:
            prompt = body.get("prompt")
            if isinstance(prompt, list) and len(prompt) == 1:
                prompt = prompt[0]
            if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
                raise ApiError(501, "not implemented by FakeNovelAI: a prompt of several texts")
            if not isinstance(prompt, str):
                raise ApiError(400, "prompt is required and must be a string or a list of strings")
        for name, kind, low, high in self._OA_SAMPLERS:
            value = _optional(body, name, kind)
            if value is not None and not ((low is None or value >= low) and (high is None or value <= high)):
                raise ApiError(400, f"{name} must be within {low}..{high if high is not None else ''}")
        stop = body.get("stop")
        if (
            stop is not None
            and not isinstance(stop, str)
            and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
        ):
            raise ApiError(400, "stop must be a string or a list of strings")
        _optional(body, "stream", bool)
        _optional(body, "enable_thinking", bool)
        if _optional(body, "n", int, 1) != 1:
            raise ApiError(501, "not implemented by FakeNovelAI: n other than 1")
        return model, body

    def _oa_answer(self, model: str, prompt: Any, body: Mapping[str, Any]) -> ChatText:
        return chat_text(
            model, prompt, {k: v for k, v in body.items() if k not in ("model", "messages", "prompt")}, self.config.seed
        )

    @staticmethod
    def _oa_usage(model: str, prompt_tokens: int, answer: ChatText) -> dict[str, int]:
        completion = len(count_tokens(model, answer.text))
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
        }

    @staticmethod
    def _oa_stream(chunks: list[dict[str, Any]]) -> Response:
        async def events() -> AsyncIterator[dict[str, str]]:
            for chunk in chunks:
                yield {"data": json.dumps(chunk, separators=(",", ":"))}
            yield {"data": "[DONE]"}

        # ping=0: no keep-alive comments, so every chunk on the wire is one event.
        return EventSourceResponse(events(), ping=0)

    async def chat_completions(self, request: Request) -> Response:
        model, body = await self._oa_request(request, "messages")
        messages = body["messages"]
        answer = self._oa_answer(model, messages, body)
        # The role tags of the chat template count one token a message, and one more for the answer's.
        prompt_tokens = sum(len(count_tokens(model, m["content"])) + 1 for m in messages) + 1
        head = {"id": f"chatcmpl-{secrets.token_hex(12)}", "created": now_s(), "model": model}
        if body.get("stream"):
            chunk = {**head, "object": "chat.completion.chunk"}
            chunks = [
                {
                    **chunk,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
                }
            ]
            chunks += [
                {**chunk, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
                for p in answer.pieces
            ]
            chunks.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": answer.finish_reason}]})
            return self._oa_stream(chunks)
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": answer.text},
            "finish_reason": answer.finish_reason,
        }
        usage = self._oa_usage(model, prompt_tokens, answer)
        return JSONResponse({**head, "object": "chat.completion", "choices": [choice], "usage": usage})

    async def completions(self, request: Request) -> Response:
        model, body = await self._oa_request(request, "prompt")
        prompt = body["prompt"] if isinstance(body["prompt"], str) else body["prompt"][0]
        answer = self._oa_answer(model, prompt, body)
        head = {"id": f"cmpl-{secrets.token_hex(12)}", "object": "text_completion", "created": now_s(), "model": model}
        if body.get("stream"):
            chunks = [
                {**head, "choices": [{"text": p, "index": 0, "logprobs": None, "finish_reason": None}]}
                for p in answer.pieces
            ]
            chunks.append(
                {**head, "choices": [{"text": "", "index": 0, "logprobs": None, "finish_reason": answer.finish_reason}]}
            )
            return self._oa_stream(chunks)
        choice = {"text": answer.text, "index": 0, "logprobs": None, "finish_reason": answer.finish_reason}
        usage = self._oa_usage(model, len(count_tokens(model, prompt)), answer)
        return JSONResponse({**head, "choices": [choice], "usage": usage})

    async def oa_models(self, request: Request) -> Response:
        self._account(request)
        # owned_by "novelai": the novelai-sdk-unofficial docs' `listModels()` example.
        data = [
            {"id": m, "object": "model", "created": self._OA_MODELS_CREATED, "owned_by": "novelai"} for m in CHAT_MODELS
        ]
        return JSONResponse({"object": "list", "data": data})

    async def token_count(self, request: Request) -> Response:
        self._account(request)
        body = await self._body(request)
        model = _require(body, "model", str)
        prompt = body.get("prompt")
        if model not in CHAT_MODELS:
            raise ApiError(400, f"Unknown model {model!r}; this API serves {', '.join(CHAT_MODELS)}")
        texts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ApiError(400, "prompt is required and must be a string or a list of strings")
        # A list: no public source says what NovelAI answers; the fake counts the texts one after the other.
        encoded = [token for text in texts for token in count_tokens(model, text)]
        return JSONResponse({"encoded": encoded, "length": len(encoded)})

    # -- images ---------------------------------------------------------------------------------------------------

    def _image_size(self, parameters: Mapping[str, Any], default: tuple[int, int]) -> tuple[int, int]:
        width = _optional(parameters, "width", _NUMBER, default[0])
        height = _optional(parameters, "height", _NUMBER, default[1])
        if not (1 <= width <= MAX_IMAGE_SIDE and 1 <= height <= MAX_IMAGE_SIDE) or width % 1 or height % 1:
            raise ApiError(400, f"width and height must be whole numbers within 1..{MAX_IMAGE_SIDE}")
        return int(width), int(height)

    async def _image_job(self, request: Request) -> tuple[str, str, dict[str, Any], str, int, int, int, int]:
        """Checks a generation body: (prompt, model, parameters, action, width, height, samples, first seed)."""
        self._subscribed(request)
        body = await self._body(request)
        prompt = _require(body, "input", str)
        model_name = _require(body, "model", str)
        parameters = _require(body, "parameters", dict)
        action = _optional(body, "action", str, "generate")
        if model_name not in IMAGE_MODELS:
            raise ApiError(400, f"Unknown image model {model_name!r}")
        if action not in ("generate", "img2img", "infill"):
            raise ApiError(400, "action must be generate, img2img or infill")
        if not prompt:
            raise ApiError(400, "input must not be empty")
        width, height = self._image_size(parameters, (512, 768))
        samples = _optional(parameters, "n_samples", _NUMBER, 1)
        if not 1 <= samples <= MAX_SAMPLES or samples % 1:
            raise ApiError(400, f"n_samples must be within 1..{MAX_SAMPLES}")
        if width * height * samples > MAX_PIXELS:
            raise ApiError(400, f"width * height * n_samples must be at most {MAX_PIXELS}")
        seed = _optional(parameters, "seed", _NUMBER)
        if seed is None:
            seed = _seed_of(self.config.seed, prompt, model_name) % 2**32
        return prompt, model_name, parameters, action, width, height, int(samples), int(seed)

    def _image_of(self, job: tuple[str, str, dict[str, Any], str, int, int, int, int], index: int) -> bytes:
        prompt, model_name, parameters, action, width, height, _samples, seed = job
        text = png_metadata(prompt, seed + index, parameters, model_name, action)
        return png_image(width, height, _seed_of(self.config.seed, model_name, prompt, seed + index), text)

    async def generate_image(self, request: Request) -> Response:
        job = await self._image_job(request)
        files = [(f"image_{index}.png", self._image_of(job, index)) for index in range(job[6])]
        return Response(zip_of(files), status_code=201, media_type="application/zip")

    async def generate_image_stream(self, request: Request) -> Response:
        job = await self._image_job(request)
        if job[2].get("stream") != "msgpack":
            raise ApiError(400, 'parameters.stream must be "msgpack" (the fake streams no other way)')
        return StreamingResponse(self._image_frames(job), media_type="application/msgpack")

    async def _image_frames(
        self, job: tuple[str, str, dict[str, Any], str, int, int, int, int]
    ) -> AsyncIterator[bytes]:
        """Length-prefixed msgpack frames: a few small previews, then the final image, for each sample."""
        _prompt, _model, parameters, _action, width, height, samples, seed = job
        steps = int(_optional(parameters, "steps", _NUMBER, 28))
        for index in range(samples):
            for step in sorted({max(0, steps // 3 - 1), max(0, 2 * steps // 3 - 1)}):
                preview = png_image(max(1, width // 8), max(1, height // 8), _seed_of(seed, index, step))
                yield _frame({"event_type": "intermediate", "samp_ix": index, "step_ix": step, "image": preview})
            final = self._image_of(job, index)
            yield _frame({"event_type": "final", "samp_ix": index, "step_ix": steps - 1, "image": final})

    async def augment_image(self, request: Request) -> Response:
        self._subscribed(request)
        body = await self._body(request)
        tool = _require(body, "req_type", str)
        image = _b64(_require(body, "image", str), "image")
        width = _require(body, "width", _NUMBER)
        height = _require(body, "height", _NUMBER)
        if tool not in DIRECTOR_TOOLS:
            raise ApiError(400, f"Unknown req_type {tool!r}")
        if width % 1 or height % 1 or not (1 <= width and 1 <= height and width * height <= MAX_PIXELS):
            raise ApiError(400, f"width and height must be whole and the image at most {MAX_PIXELS} pixels")
        if tool in ("colorize", "emotion"):
            defry = _optional(body, "defry", _NUMBER, 0)
            prompt = _optional(body, "prompt", str, "")
            if defry % 1 or not 0 <= defry <= 5:
                raise ApiError(400, "defry must be a whole number within 0..5")
            if tool == "emotion" and prompt.split(";;")[0] not in EMOTIONS:
                raise ApiError(400, 'the emotion prompt must be "<emotion>;;<prompt>" with a known emotion')
        out = png_image(int(width), int(height), _seed_of(self.config.seed, tool, image.hex()))
        return Response(zip_of([("image_0.png", out)]), status_code=200, media_type="application/zip")

    async def encode_vibe(self, request: Request) -> Response:
        self._subscribed(request)
        body = await self._body(request)
        image = _b64(_require(body, "image", str), "image")
        model_name = _require(body, "model", str)
        extracted = _optional(body, "information_extracted", _NUMBER, 1)
        if model_name not in VIBE_MODELS:
            raise ApiError(400, f"{model_name!r} takes no encoded vibes")
        if not 0 <= extracted <= 1:
            raise ApiError(400, "information_extracted must be within 0..1")
        if not image.startswith(b"\x89PNG"):
            raise ApiError(400, "image must be a PNG")
        # Deterministic here; NovelAI's encodings are not. The length is arbitrary (the format is opaque).
        encoding = hashlib.shake_256(b"%s|%s|%r" % (image, model_name.encode(), float(extracted))).digest(2048)
        return Response(encoding, status_code=200, media_type="application/octet-stream")

    async def upscale(self, request: Request) -> Response:
        self._subscribed(request)
        body = await self._body(request)
        image = _b64(_require(body, "image", str), "image")
        width = _require(body, "width", _NUMBER)
        height = _require(body, "height", _NUMBER)
        scale = _require(body, "scale", _NUMBER)
        if scale not in (2, 4):
            raise ApiError(400, "scale must be 2 or 4")
        if width % 1 or height % 1 or not (1 <= width and 1 <= height and width * height * scale**2 <= MAX_PIXELS):
            raise ApiError(400, f"width and height must be whole and the upscaled image at most {MAX_PIXELS} pixels")
        out = png_image(int(width * scale), int(height * scale), _seed_of(self.config.seed, image.hex()))
        return Response(zip_of([("image_0.png", out)]), status_code=201, media_type="application/zip")

    async def annotate_image(self, request: Request) -> Response:
        self._subscribed(request)
        body = await self._body(request)
        model_name = _require(body, "model", str)
        parameters = _require(body, "parameters", dict)
        if model_name not in ANNOTATE_MODELS:
            raise ApiError(400, f"Unknown annotation model {model_name!r}")
        width, height = self._image_size(parameters, (64, 64))
        out = png_image(width, height, _seed_of(self.config.seed, model_name, parameters))
        return Response(zip_of([("image_0.png", out)]), status_code=201, media_type="application/zip")

    async def suggest_tags(self, request: Request) -> Response:
        self._account(request)
        model = request.query_params.get("model")
        prompt = request.query_params.get("prompt")
        if not model or prompt is None:
            raise ApiError(400, "model and prompt are required")
        last = prompt.split(",")[-1].strip().lower()
        matches = [(tag, count) for tag, count in _TAGS if tag.startswith(last)] if last else []
        if not matches:
            rng = random.Random(_seed_of(self.config.seed, model, prompt))
            matches = rng.sample(_TAGS, 5)
        tags = [
            {"tag": tag, "count": count, "confidence": round(1 / (1 + i), 4)} for i, (tag, count) in enumerate(matches)
        ]
        return JSONResponse({"tags": tags})

    # -- voice ----------------------------------------------------------------------------------------------------

    def _voice(self, text: str, seed: str, opus: bool, status: int) -> Response:
        if opus:
            raise ApiError(501, "not implemented by FakeNovelAI: Opus/WebM voice output (send opus=false for MP3)")
        # About 26 ms of silence per 12 characters, at least 4 frames: proportionate yet tiny.
        frames = max(4, min(400, len(text) // 12 + 4 + _seed_of(seed) % 3))
        return Response(mp3_silence(frames), status_code=status, media_type="audio/mpeg")

    async def voice_get(self, request: Request) -> Response:
        self._account(request)
        query = request.query_params
        missing = [name for name in ("text", "seed", "voice", "opus", "version") if name not in query]
        if missing:
            raise ApiError(400, f"missing query parameters: {', '.join(missing)}")
        if query["opus"] not in ("true", "false") or query["version"] not in ("v1", "v2"):
            raise ApiError(400, "opus must be true or false and version v1 or v2")
        return self._voice(query["text"], query["seed"], query["opus"] == "true", 200)

    async def voice_post(self, request: Request) -> Response:
        self._account(request)
        body = await self._body(request)
        text = _require(body, "text", str)
        seed = _require(body, "seed", str)
        _require(body, "voice", _NUMBER)
        opus = _require(body, "opus", bool)
        if _require(body, "version", str) not in ("v1", "v2"):
            raise ApiError(400, "version must be v1 or v2")
        return self._voice(text, seed, opus, 201)

    # -- modules --------------------------------------------------------------------------------------------------

    def _advance(self, module: dict[str, Any]) -> None:
        """Move a module one step along pending -> training -> ready each time it is looked at."""
        if module["status"] == "pending":
            module.update(status="training", lastUpdatedAt=now_ms())
        elif module["status"] == "training":
            rng = random.Random(_seed_of(self.config.seed, module["id"]))
            points = min(20, max(2, int(module["steps"]) // 50))
            loss = [round(3.0 * 0.9**i + rng.random() * 0.05, 4) for i in range(points)]
            # A trained module is an opaque blob of soft-prompt weights; 20 tokens of 16-bit floats here.
            blob = bytes(rng.randrange(256) for _ in range(20 * 2 * 16))
            module.update(
                status="ready",
                data=base64.b64encode(blob).decode(),
                lossHistory=loss,
                lastUpdatedAt=now_ms(),
            )

    def _module(self, account: Account, request: Request) -> dict[str, Any]:
        module = account.modules.get(request.path_params["id"])
        if module is None:
            raise ApiError(404, "Module not found")
        return module

    async def train_module(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        data = _require(body, "data", str)
        lr = _require(body, "lr", _NUMBER)
        steps = _require(body, "steps", _NUMBER)
        name = _require(body, "name", str)
        description = _require(body, "description", str)
        model = _optional(body, "model", str, "euterpe-v2")
        _training_set(data)
        if len(name) > 64 or len(description) > 256:
            raise ApiError(400, "name must be at most 64 and description at most 256 characters")
        if model not in TRAINABLE_MODELS:
            raise ApiError(400, "Specified model does not support module training.")
        if not account.subscribed:
            raise ApiError(402, "Incorrect subscription.")
        if steps < MIN_TRAINING_STEPS:
            raise ApiError(409, "Training steps amount is too low.")
        with self.state.lock:
            if account.fixed_training_steps + account.purchased_training_steps < steps:
                raise ApiError(409, "You have an insufficent amount of available training steps.")
            from_fixed = min(account.fixed_training_steps, int(steps))
            account.fixed_training_steps -= from_fixed
            account.purchased_training_steps -= int(steps) - from_fixed
            module: dict[str, Any] = {
                "id": new_id(),
                "data": data,
                "lr": lr,
                "steps": steps,
                "model": model,
                "lastUpdatedAt": now_ms(),
                "status": "pending",
                "lossHistory": [],
                "name": name,
                "description": description,
            }
            account.modules[module["id"]] = module
            return JSONResponse(dict(module), status_code=201)

    async def all_modules(self, request: Request) -> Response:
        account = self._account(request)
        with self.state.lock:
            for module in account.modules.values():
                self._advance(module)
            return JSONResponse([dict(m) for m in account.modules.values()])

    async def get_module(self, request: Request) -> Response:
        account = self._account(request)
        with self.state.lock:
            module = self._module(account, request)
            self._advance(module)
            return JSONResponse(dict(module))

    async def delete_module(self, request: Request) -> Response:
        account = self._account(request)
        with self.state.lock:
            module = self._module(account, request)
            del account.modules[module["id"]]
            return JSONResponse(dict(module))

    async def buy_training_steps(self, request: Request) -> Response:
        account = self._account(request)
        body = await self._body(request)
        amount = _require(body, "amount", int)
        if not 2000 <= amount <= 10000:
            raise ApiError(400, "amount must be within 2000..10000")
        with self.state.lock:
            if not account.subscribed:
                raise ApiError(409, "An active subscription is required to buy training steps.")
            account.purchased_training_steps += amount
        return Response(status_code=200)


# Routes of the Primary API the fake answers with 501 on purpose: third-party sign-in, the community events.
NOT_IMPLEMENTED: tuple[tuple[str, str], ...] = (
    ("POST", "/user/sso/google"),
    ("POST", "/user/submission"),
    ("GET", "/user/submission/{event}"),
    ("GET", "/user/vote-submission/{event}"),
    ("POST", "/user/vote-submission/{event}"),
    ("DELETE", "/user/vote-submission/{event}"),
    ("POST", "/ai/classify"),
)


def _routes(h: _Handlers) -> list[Route]:
    table: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
        ("GET", "/", h.health),
        ("POST", "/user/register", h.register),
        ("POST", "/user/login", h.login),
        ("POST", "/user/change-access-key", h.change_access_key),
        ("PATCH", "/user/change-mailing-list-consent", h.mailing_list_consent),
        ("POST", "/user/resend-email-verification", h.resend_verification),
        ("POST", "/user/verify-email", h.verify_email),
        ("GET", "/user/information", h.information),
        ("GET", "/user/osano-external-id", h.osano_id),
        ("PUT", "/user/consent", h.consent),
        ("POST", "/user/deletion/request", h.deletion_request),
        ("POST", "/user/deletion/delete", h.deletion_finish),
        ("POST", "/user/recovery/request", h.recovery_request),
        ("POST", "/user/recovery/recover", h.recovery_finish),
        ("POST", "/user/delete", h.delete_unchecked),
        ("GET", "/user/data", h.user_data),
        ("GET", "/user/priority", h.priority),
        ("GET", "/user/giftkeys", h.giftkeys),
        ("GET", "/user/subscription", h.subscription),
        ("GET", "/user/keystore", h.get_keystore),
        ("PUT", "/user/keystore", h.put_keystore),
        ("DELETE", "/user/objects/batch", h.batch_delete),
        ("GET", "/user/objects/{type}", h.list_objects),
        ("PUT", "/user/objects/{type}", h.create_object),
        ("GET", "/user/objects/{type}/{id}", h.get_object),
        ("PATCH", "/user/objects/{type}/{id}", h.edit_object),
        ("DELETE", "/user/objects/{type}/{id}", h.delete_object),
        ("GET", "/user/clientsettings", h.get_client_settings),
        ("PUT", "/user/clientsettings", h.put_client_settings),
        ("POST", "/user/create-persistent-token", h.persistent_token),
        ("POST", "/user/subscription/bind", h.bind_subscription),
        ("POST", "/user/subscription/change", h.change_subscription),
        ("POST", "/ai/generate", h.generate),
        ("POST", "/ai/generate-prompt", h.generate_prompt),
        ("POST", "/ai/generate-stream", h.generate_stream),
        ("POST", "/ai/annotate-image", h.annotate_image),
        ("POST", "/ai/generate-image", h.generate_image),
        ("POST", "/ai/generate-image-stream", h.generate_image_stream),
        ("POST", "/ai/augment-image", h.augment_image),
        ("POST", "/ai/encode-vibe", h.encode_vibe),
        ("POST", "/ai/upscale", h.upscale),
        ("GET", "/ai/generate-image/suggest-tags", h.suggest_tags),
        ("GET", "/ai/generate-voice", h.voice_get),
        ("POST", "/ai/generate-voice", h.voice_post),
        ("POST", "/ai/module/train", h.train_module),
        ("GET", "/ai/module/all", h.all_modules),
        ("POST", "/ai/module/buy-training-steps", h.buy_training_steps),
        ("GET", "/ai/module/{id}", h.get_module),
        ("DELETE", "/ai/module/{id}", h.delete_module),
        ("POST", "/oa/v1/chat/completions", h.chat_completions),
        ("POST", "/oa/v1/completions", h.completions),
        ("GET", "/oa/v1/models", h.oa_models),
        ("POST", "/oa/v1/internal/token-count", h.token_count),
    ]
    routes = [Route(path, _persisting(h, endpoint), methods=[method]) for method, path, endpoint in table]
    return routes


def _persisting(
    h: _Handlers, endpoint: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        response = await endpoint(request)
        # GETs change state too (module progress), so every successful answer may need saving.
        if response.status_code < 400:
            with h.state.lock:
                h._persist()
        return response

    handler.__name__ = endpoint.__name__
    return handler


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc.status, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):
        # Anything the routing table does not know is something the fake does not implement.
        return _error(501, f"not implemented by FakeNovelAI: {request.method} {request.url.path}")
    return _error(exc.status_code, str(exc.detail))


def build_app(
    state: FakeState,
    config: FakeConfig,
    injector: FaultInjector,
    latency: float = 0.0,
    log: RequestLog | None = None,
    hosts: HostTable | None = None,
    roles: Mapping[int, Role] | None = None,
) -> ASGIApp:
    """Build the fake's ASGI application.

    Args:
        state: The state the routes read and write (shared with the caller).
        config: Server-wide behaviour.
        injector: Queue of server-side faults.
        latency: Seconds added before every request.
        log: Where to record every request (method, host, path, status, role), if anywhere.
        hosts: Split-host mode: which host serves each route. None: every route on every socket.
        roles: With ``hosts``, the role ("api", "text", "image") of each local port; read at each request, so
            the caller may fill it once its sockets are bound.

    Returns:
        An ASGI application: the routes, behind the host gate in split-host mode, wrapped in the fault-injection
        middleware.
    """
    handlers = _Handlers(state, config)
    routes: ASGIApp = Starlette(
        routes=_routes(handlers),
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    # One generation per account at a time, as NovelAI enforces it.
    app: ASGIApp = GenerationLock(routes, state, config.generation_latency)
    if hosts is None:
        return FaultMiddleware(app, injector, latency, log)
    gate = HostGate(app, hosts, roles if roles is not None else {})
    return FaultMiddleware(gate, injector, latency, log, role_of=gate.role)

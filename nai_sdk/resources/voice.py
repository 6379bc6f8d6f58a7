"""Text to speech (`nai.voice`)."""

from __future__ import annotations

from typing import Unpack

from nai_client.api.ai import generate_voice_get

from nai_sdk._request import RequestOptions, per_call
from nai_sdk.resources._base import AsyncResource, Flow, Kind, Resource, call_content

__all__ = ["AsyncVoice", "Voice"]


def _voice_flow(text: str, seed: str, voice: int, opus: bool, version: str) -> Flow[bytes]:
    bound = generate_voice_get.operation.bind(text=text, seed=seed, voice=voice, opus=opus, version=version)
    return (yield from call_content(bound, kind=Kind.GENERATION))


class Voice(Resource):
    """Text to speech (`nai.voice`)."""

    def generate(
        self,
        text: str,
        *,
        seed: str = "Aini",
        voice: int = -1,
        opus: bool = False,
        version: str = "v2",
        **request: Unpack[RequestOptions],
    ) -> bytes:
        """Speaks `text`.

        Args:
            text: what to say.
            seed: the voice seed (v2 voices are named by seed: "Aini", "Orea", ...).
            voice: the v1 voice number (-1 with v2).
            opus: WebM/Opus audio instead of MP3.
            version: `"v2"` or `"v1"`.

        Returns:
            The audio bytes (MP3, or WebM with `opus`).
        """
        return self._engine.run(_voice_flow(text, seed, voice, opus, version), per_call(request))


class AsyncVoice(AsyncResource):
    """Text to speech (`nai.voice` of `AsyncNovelAI`); see `Voice`."""

    async def generate(
        self,
        text: str,
        *,
        seed: str = "Aini",
        voice: int = -1,
        opus: bool = False,
        version: str = "v2",
        **request: Unpack[RequestOptions],
    ) -> bytes:
        """Speaks `text` (see `Voice.generate`)."""
        return await self._engine.run(_voice_flow(text, seed, voice, opus, version), per_call(request))

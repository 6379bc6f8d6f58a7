"""Named defaults of the HTTP client, in one place.

Configuration precedence is: constructor argument, then the environment variable named here, then the constant.
"""

from __future__ import annotations

from typing import Final

from nai_sdk import __version__

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_BACKOFF_INITIAL",
    "DEFAULT_BACKOFF_MAX",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_IMAGE_URL",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_DOCUMENT_SIZE",
    "DEFAULT_MAX_INFLATED_SIZE",
    "DEFAULT_MAX_INFLATED_TOTAL",
    "DEFAULT_MAX_KEEPALIVE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_QUEUE_TIMEOUT",
    "DEFAULT_RETRY_AFTER_CAP",
    "DEFAULT_SSE_MAX_EVENT",
    "DEFAULT_SSE_MAX_LINE",
    "DEFAULT_TEXT_URL",
    "DEFAULT_TIMEOUT",
    "ENCRYPTED_OBJECT_TYPES",
    "ENV_ALLOW_INSECURE_HTTP",
    "ENV_API_URL",
    "ENV_BASE_URL",
    "ENV_HTTP_BACKEND",
    "ENV_IMAGE_URL",
    "ENV_KEYSTORE_JOURNAL",
    "ENV_MAX_RETRIES",
    "ENV_PASSWORD",
    "ENV_SSE_MAX_EVENT",
    "ENV_SSE_MAX_LINE",
    "ENV_TEXT_URL",
    "ENV_TIMEOUT",
    "ENV_TOKEN",
    "ENV_USERNAME",
    "KEYSTORE_JOURNAL_DIR",
    "KEYSTORE_RETRY_WAIT",
    "KEYSTORE_RETRY_WAIT_MAX",
    "KEYSTORE_SAVE_ATTEMPTS",
    "MAX_DOCUMENT_DEPTH",
    "MAX_JSON_DEPTH",
    "MAX_PRESET_DEPTH",
    "MAX_SAFE_INTEGER",
    "USER_AGENT",
]

#: The main API: account, storage, modules, voice and the older text models.
DEFAULT_API_URL: Final = "https://api.novelai.net"
#: The text generation service (Kayra, Erato).
DEFAULT_TEXT_URL: Final = "https://text.novelai.net"
#: The image generation service.
DEFAULT_IMAGE_URL: Final = "https://image.novelai.net"

#: Seconds to wait for any one network operation (read, write, pool). Image and long text generations answer only
#: when done, which can take tens of seconds under load, hence the generous value.
DEFAULT_TIMEOUT: Final = 120.0
#: Seconds to wait for a TCP/TLS connection: a host that does not answer this fast is unlikely to answer at all.
DEFAULT_CONNECT_TIMEOUT: Final = 10.0

#: Retries after the first attempt (so at most three attempts).
DEFAULT_MAX_RETRIES: Final = 2
#: Backoff before the first retry, in seconds; doubled for each further retry, with jitter.
DEFAULT_BACKOFF_INITIAL: Final = 0.5
#: The largest computed backoff, in seconds.
DEFAULT_BACKOFF_MAX: Final = 8.0
#: The largest server `Retry-After` hint that is honoured as given; longer hints are cut to this many seconds.
DEFAULT_RETRY_AFTER_CAP: Final = 60.0

#: Seconds a generation may wait in all, for its account's queue and through 429s (see nai_sdk._queue).
DEFAULT_QUEUE_TIMEOUT: Final = 600.0

#: Connection pool limits, shared by the three hosts.
DEFAULT_MAX_CONNECTIONS: Final = 100
DEFAULT_MAX_KEEPALIVE: Final = 20

#: Sent with every request; the version comes from `nai_sdk.__version__`, the one place it is written.
USER_AGENT: Final = f"nai-sdk/{__version__}"

ENV_TOKEN: Final = "NAI_TOKEN"
ENV_USERNAME: Final = "NAI_USERNAME"
ENV_PASSWORD: Final = "NAI_PASSWORD"
#: Sets the three base URLs at once (a local fake server, a proxy), unless a per-host one is given.
ENV_BASE_URL: Final = "NAI_BASE_URL"
ENV_API_URL: Final = "NAI_API_BASE_URL"
ENV_TEXT_URL: Final = "NAI_TEXT_BASE_URL"
ENV_IMAGE_URL: Final = "NAI_IMAGE_BASE_URL"
ENV_TIMEOUT: Final = "NAI_TIMEOUT"
ENV_MAX_RETRIES: Final = "NAI_MAX_RETRIES"
#: `aiohttp` (default) or `httpx`: the transport of AsyncNovelAI.
ENV_HTTP_BACKEND: Final = "NAI_HTTP_BACKEND"
#: Where the keystore journal is kept (see KEYSTORE_JOURNAL_DIR); `off` keeps none.
ENV_KEYSTORE_JOURNAL: Final = "NAI_KEYSTORE_JOURNAL"

#: The keystore journal: before every keystore write, the server's previous keystore answer is saved here (mode
#: 0600), so that a bad write can be undone. Under $XDG_STATE_HOME (or ~/.local/state) when it is relative.
KEYSTORE_JOURNAL_DIR: Final = "nai-sdk/keystore-journal"
#: Read-merge-write rounds of one keystore save before a 409 (another device kept writing) is given up.
KEYSTORE_SAVE_ATTEMPTS: Final = 8
#: Seconds: the first wait between those rounds (then doubling, jittered, up to KEYSTORE_RETRY_WAIT_MAX).
KEYSTORE_RETRY_WAIT: Final = 0.05
KEYSTORE_RETRY_WAIT_MAX: Final = 1.0
#: The encrypted object types: a keystore answer that is missing or broken is taken for a new account only when
#: the listings of all three are empty.
ENCRYPTED_OBJECT_TYPES: Final = ("stories", "storycontent", "aimodules")

# --- budgets of the storage decoders (docs/limits.md) -------------------------------------------------------------

#: The most bytes one compressed object (or keystore) may inflate to. NovelAI's largest stories hold tens of MB of
#: content; a decompression bomb is stopped here, having used about this much memory. Per call: `max_inflated_size`.
DEFAULT_MAX_INFLATED_SIZE: Final = 128 * 1024 * 1024
#: The most bytes all the objects of one `decrypt_objects` call (one listing) may inflate to together, refused
#: objects included: a listing of many bombs costs this much work at most. Per call: `max_inflated_total`.
DEFAULT_MAX_INFLATED_TOTAL: Final = 1024 * 1024 * 1024
#: The largest decoded size of one msgpackr story document: its bytes plus every expansion of its string bundles
#: (see docs/limits.md). A story of tens of MB of text fits; many references to one large string do not. Per call:
#: `max_size`.
DEFAULT_MAX_DOCUMENT_SIZE: Final = 64 * 1024 * 1024
#: The deepest nesting of containers in a story document, read or written. Real documents nest about ten levels;
#: the decoder recurses (at most four frames a level), so this keeps it well inside Python's default recursion
#: limit of 1000. The encoder refuses anything deeper, so every document it writes reads back.
MAX_DOCUMENT_DEPTH: Final = 128
#: The deepest nesting of JSON in a `.preset` file or preset data. Real presets nest five levels (bias groups).
MAX_PRESET_DEPTH: Final = 64
#: JavaScript's `Number.MAX_SAFE_INTEGER`: the largest `changeIndex` or `lastUpdatedAt` accepted on read. Beyond it a
#: JavaScript client (NovelAI's) cannot tell neighbouring integers apart.
MAX_SAFE_INTEGER: Final = 2**53 - 1

#: The longest line of a server-sent event stream, in characters (after UTF-8 decoding), field name included. A
#: streamed token event is under 1 kB; the bound only stops a stream that never ends its line from growing the
#: buffer without limit. Configurable with `NAI_SSE_MAX_LINE`.
DEFAULT_SSE_MAX_LINE: Final = 16 * 1024 * 1024
#: The largest event of a server-sent event stream, in characters: its data lines together. Configurable with
#: `NAI_SSE_MAX_EVENT`.
DEFAULT_SSE_MAX_EVENT: Final = 32 * 1024 * 1024
ENV_SSE_MAX_LINE: Final = "NAI_SSE_MAX_LINE"
ENV_SSE_MAX_EVENT: Final = "NAI_SSE_MAX_EVENT"
#: JSON nested up to this depth always parses, whatever the depth of the caller's stack; deeper JSON is always
#: refused with a typed error, on every Python and in threads with small stacks. NovelAI's answers and objects nest
#: fewer than 20 levels.
MAX_JSON_DEPTH: Final = 256
#: Set to 1 to allow plain http:// to hosts other than loopback ones (see `allow_insecure_http`).
ENV_ALLOW_INSECURE_HTTP: Final = "NAI_ALLOW_INSECURE_HTTP"

"""Hostile input on the transport side (issue 14): answers, event streams and plain-http URLs.

Every answer the client parses (a success body, an error body, a stream event) ends in a value or a typed error from
`nai_sdk.errors`, never a raw RecursionError or ValueError; event streams parse in linear time whatever their
chunking, within line and event limits; plain http:// is refused for hosts other than loopback unless opted in.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nai_sdk import _constants as c
from nai_sdk import _json
from nai_sdk._client import AsyncNovelAI, NovelAI
from nai_sdk._config import Backoff, ClientOptions, resolve_options
from nai_sdk._http import status_error
from nai_sdk._json import _decode_iteratively, _nests_at_most, loads_answer, loads_strict
from nai_sdk._sse import MAX_RETRY_MS, ServerSentEvent, SSEDecoder
from nai_sdk.errors import (
    APIError,
    BadRequestError,
    ConfigurationError,
    FormatError,
    InternalServerError,
    KeystoreFormatError,
    RateLimitError,
    StreamError,
)
from tests._client_helpers import collect, maybe

TOKEN = "hostile-token"
BASE = "https://nai.test"
FAST = Backoff(initial=0.001, maximum=0.002, retry_after_cap=0.01)
#: Far deeper than any recursion limit: the C parser cannot read it on any stack.
DEEP = 100_000
HOSTILE_JSON = {
    "deep array": "[" * DEEP + "]" * DEEP,
    "deep object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "deep and unclosed": "[" * DEEP,
    "NaN": '{"message": NaN}',
    "Infinity": '{"x": [1, Infinity]}',
    "-Infinity": "-Infinity",
    "overflow": '{"x": 1e400}',
    "negative overflow": '{"x": -1.5e999}',
}
CLIENT_KINDS = ("sync", "async")


# --- JSON ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", list(HOSTILE_JSON.values()), ids=list(HOSTILE_JSON))
def test_hostile_json_is_a_format_error(text: str) -> None:
    for data in (text, text.encode()):
        with pytest.raises(FormatError):
            loads_answer(data)
    with pytest.raises(KeystoreFormatError):
        loads_strict(text.encode(), KeystoreFormatError, "the keystore")


def test_depth_limit_is_exact_whatever_the_stack() -> None:
    limit = c.MAX_JSON_DEPTH
    assert [[[]]] == _decode_iteratively("[[[]]]", limit)
    assert _decode_iteratively("[" * limit + "]" * limit, limit) is not None
    with pytest.raises(ValueError, match=f"nested more than {limit} levels deep"):
        _decode_iteratively("[" * (limit + 1) + "]" * (limit + 1), limit)


def test_json_within_the_limit_parses_even_from_deep_in_a_recursion() -> None:
    """Text within the limit parses with only 60 frames left before the recursion limit.

    Python 3.11 counts the caller's frames against the C parser's recursion, which fails here (as httpx's
    `Response.json()` would) and leaves the text to the iterative parser. Since 3.12 the C parser's recursion is
    counted apart from Python frames, so the C parser reads it; the value must be the same either way.
    """
    text = '{"a":' * 200 + "[1.5]" + "}" * 200

    def descend(levels: int) -> Any:
        if levels:
            return descend(levels - 1)
        if sys.version_info < (3, 12):
            with pytest.raises(RecursionError):
                json.loads(text)
        return loads_answer(text)

    depth, frame = 0, sys._getframe()
    while frame.f_back is not None:
        depth, frame = depth + 1, frame.f_back
    value = descend(sys.getrecursionlimit() - depth - 60)
    for _ in range(200):
        value = value["a"]
    assert [1.5] == value


def test_json_the_c_parser_cannot_read_is_read_by_the_iterative_parser() -> None:
    # What the C parser does from deep in a recursion on Python 3.11, on every Python.
    decoder = mock.Mock(decode=mock.Mock(side_effect=RecursionError))
    with mock.patch.object(_json, "_DECODER", decoder):
        assert {"a": [[1.5]]} == loads_answer('{"a": [[1.5]]}')
    decoder.decode.assert_called_once()


def _nested(depth: int) -> list[str]:
    """JSON texts nested exactly `depth` levels deep, most with brackets, quotes and escapes in their strings."""
    pairs, odd = divmod(depth, 2)
    return [
        "[" * depth + "]" * depth,
        '{"a":' * (depth - 1) + "[1.5]" + "}" * (depth - 1),
        '[1,"]]",' * depth + '"[{"' + "]" * depth,
        '{"k\\"[":[' * pairs + "{}" * odd + "]}" * pairs,
        '{"a": "\\\\", "c": "x, y: [z]", "b": [' * pairs + "[]" * odd + "]}" * pairs,
    ]


def _parse(via: str, text: str) -> Any:
    if via == "loads_answer(str)":
        return loads_answer(text)
    if via == "loads_answer(bytes)":
        return loads_answer(text.encode())
    return loads_strict(text.encode(), KeystoreFormatError, "the keystore")


@pytest.mark.parametrize("via", ["loads_answer(str)", "loads_answer(bytes)", "loads_strict"])
def test_depth_limit_is_exact_on_every_python(via: str) -> None:
    """Up to `MAX_JSON_DEPTH` levels parse, one more is refused, whatever the version's C recursion limit.

    The C parser never sees the deeper text: since Python 3.12 it would read up to its own C recursion limit (10,000
    levels on Linux in 3.13), and a thread with a small stack crashes before getting there.
    """
    limit = c.MAX_JSON_DEPTH
    spy = mock.Mock(wraps=_json._DECODER)
    with mock.patch.object(_json, "_DECODER", spy):
        for text in _nested(limit):
            assert json.loads(text) == _parse(via, text)
        assert len(_nested(limit)) == spy.decode.call_count
        for text in _nested(limit + 1):
            with pytest.raises(FormatError, match=f"nested more than {limit} levels deep"):
                _parse(via, text)
        assert len(_nested(limit)) == spy.decode.call_count


def test_deep_json_in_a_thread_with_a_small_stack_is_a_format_error() -> None:
    # In a subprocess, as the C parser would take the test run down with it: on Python 3.13 it segfaults on 5,000
    # levels in a thread of 256 KiB instead of raising RecursionError (and on 10,000 levels in one of 1 MiB).
    code = (
        "import threading\n"
        "from nai_sdk._json import loads_answer\n"
        "from nai_sdk.errors import FormatError\n"
        "refused = []\n"
        "def parse():\n"
        "    for depth in (300, 1_000, 5_000, 9_000, 100_000):\n"
        "        try:\n"
        "            loads_answer('[' * depth + ']' * depth)\n"
        "        except FormatError:\n"
        "            refused.append(depth)\n"
        "threading.stack_size(256 * 1024)\n"
        "thread = threading.Thread(target=parse)\n"
        "thread.start()\n"
        "thread.join()\n"
        "print(refused)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert 0 == completed.returncode, completed.stderr
    assert "[300, 1000, 5000, 9000, 100000]" == completed.stdout.strip()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=_json_values, indent=st.sampled_from([None, 1]))
def test_iterative_parser_reads_what_the_c_parser_reads(value: Any, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    assert json.loads(text) == _decode_iteratively(text, c.MAX_JSON_DEPTH)


_json_alphabet = st.sampled_from(list('[]{}:,"\\ 0123456789.eE+-truefalsnNaIfiy\n\t\x00é'))


@settings(max_examples=300, deadline=None)
@given(text=st.lists(_json_alphabet, max_size=30).map("".join))
def test_iterative_parser_accepts_and_refuses_as_the_c_parser(text: str) -> None:
    outcomes = []
    for parse in (loads_answer, lambda t: _decode_iteratively(t, c.MAX_JSON_DEPTH)):
        try:
            outcomes.append(("value", parse(text)))
        except ValueError:
            outcomes.append(("error", None))
    assert outcomes[0] == outcomes[1]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


# Strings full of what the nesting scan must see through: brackets, quotes, escapes, separators.
_tricky_values = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}",:\\ aé', max_size=6),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}":\\a', max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=_tricky_values, indent=st.sampled_from([None, 1]), ensure_ascii=st.booleans(), limit=st.integers(0, 6))
def test_nesting_scan_is_exact_for_json(value: Any, indent: int | None, ensure_ascii: bool, limit: int) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    # Also with no count before the scan, no pass before the exact count, and no bytes given (encoded from the text).
    for count_first, passes, data in ((1 << 16, 8, text.encode()), (0, 0, None)):
        with mock.patch.multiple(_json, _COUNT_FIRST=count_first, _PASSES=passes):
            assert (_depth(value) <= limit) == _nests_at_most(text, data, limit)


@settings(max_examples=500, deadline=None)
@given(text=st.lists(st.sampled_from(list('[]{}",:\\ 1a')), max_size=40).map("".join), limit=st.integers(0, 4))
def test_nesting_scan_never_lets_deeper_text_through(text: str, limit: int) -> None:
    # The iterative parser walks the text as the C parser does, and refuses where the C parser would recurse deeper
    # than `limit`: what the scan lets through must never meet that refusal, whatever else is wrong with it.
    for count_first, passes in ((1 << 16, 8), (0, 0)):
        with mock.patch.multiple(_json, _COUNT_FIRST=count_first, _PASSES=passes):
            if _nests_at_most(text, None, limit):
                try:
                    _decode_iteratively(text, limit)
                except ValueError as exc:
                    assert "levels deep" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64))
def test_any_answer_bytes_give_a_value_or_a_format_error(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        loads_answer(data)


# --- answers through the client ----------------------------------------------------------------------------------


def _client(kind: str, handler: Callable[[httpx.Request], httpx.Response]) -> Any:
    transport = httpx.MockTransport(handler)
    if kind == "sync":
        return NovelAI(token=TOKEN, base_url=BASE, backoff=FAST, max_retries=0, transport=transport)
    return AsyncNovelAI(token=TOKEN, base_url=BASE, backoff=FAST, max_retries=0, transport=transport)


async def _close(nai: Any) -> None:
    await maybe(nai.aclose() if isinstance(nai, AsyncNovelAI) else nai.close())


@pytest.mark.parametrize("kind", CLIENT_KINDS)
@pytest.mark.parametrize("text", list(HOSTILE_JSON.values()), ids=list(HOSTILE_JSON))
async def test_hostile_success_body_is_an_api_error(kind: str, text: str) -> None:
    """Parsed by the generated parser (`priority`) and as plain JSON (`client_settings`)."""
    nai = _client(kind, lambda request: httpx.Response(200, content=text.encode()))
    try:
        for call in (nai.account.priority, nai.account.client_settings):
            with pytest.raises(APIError, match="unexpected answer"):
                await maybe(call())
    finally:
        await _close(nai)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
@pytest.mark.parametrize(
    ("status", "expected"), [(400, BadRequestError), (429, RateLimitError), (503, InternalServerError)]
)
@pytest.mark.parametrize("text", list(HOSTILE_JSON.values()), ids=list(HOSTILE_JSON))
async def test_hostile_error_body_keeps_the_status_error(
    kind: str, status: int, expected: type[Exception], text: str
) -> None:
    nai = _client(kind, lambda request: httpx.Response(status, content=text.encode()))
    try:
        with pytest.raises(expected) as info:
            await maybe(nai.account.priority())
    finally:
        await _close(nai)
    # The reason phrase, not the body: the hostile text is kept, undecoded, in `body`.
    assert f"{status}: {httpx.codes.get_reason_phrase(status)}" == str(info.value)
    assert text == info.value.body  # type: ignore[attr-defined]


def test_status_error_of_a_nan_message() -> None:
    error = status_error(httpx.Response(400, content=b'{"message": NaN}'))
    assert (BadRequestError, "Bad Request", '{"message": NaN}') == (type(error), error.message, error.body)


# --- stream events ---------------------------------------------------------------------------------------------


def _sse(*events: str) -> bytes:
    return "".join(f"event: newToken\ndata: {data}\n\n" for data in events).encode()


def _stream_client(kind: str, body: bytes) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return _client(kind, handler)


GOOD_EVENT = '{"token":"AQA=","ptr":0,"final":false}'


@pytest.mark.parametrize("kind", CLIENT_KINDS)
@pytest.mark.parametrize(
    "data",
    [
        '{"token":"AQA=","ptr":0,"final":false,"logprobs":' + "[" * DEEP + "]" * DEEP + "}",
        '{"token":"AQA=","ptr":NaN,"final":true}',
        '{"token":"AQA=","ptr":1e999,"final":true}',
        '{"token":"not base64!","ptr":0,"final":true}',
        '{"token":"AQAB","ptr":0,"final":true}',
        "[" * DEEP,
    ],
    ids=["deep", "NaN", "overflow", "bad base64", "odd byte count", "deep unclosed"],
)
async def test_hostile_stream_event_is_a_stream_error(kind: str, data: str) -> None:
    nai = _stream_client(kind, _sse(GOOD_EVENT, data))
    try:
        with pytest.raises(StreamError, match="malformed stream event"):
            await collect(nai.text.stream("x", "kayra", max_length=4))
    finally:
        await _close(nai)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_error_event_text_is_cut_in_the_message(kind: str) -> None:
    body = b"event: error\ndata: " + b"x" * 100_000 + b"\n\n"
    nai = _stream_client(kind, body)
    try:
        with pytest.raises(StreamError) as info:
            await collect(nai.text.stream("x", "kayra", max_length=4))
    finally:
        await _close(nai)
    assert len(str(info.value)) < 300
    assert str(info.value).endswith("... (100,000 characters)")


@pytest.mark.parametrize("kind", CLIENT_KINDS)
async def test_stream_limits_come_from_the_environment(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(c.ENV_SSE_MAX_LINE, "100")
    nai = _stream_client(kind, _sse(GOOD_EVENT, '{"token":"AQA=","ptr":1,"final":true,"pad":"' + "x" * 100 + '"}'))
    try:
        assert 100 == nai.options.sse_max_line
        with pytest.raises(StreamError, match=f"more than the limit of 100 .*{c.ENV_SSE_MAX_LINE}"):
            await collect(nai.text.stream("x", "kayra", max_length=4))
    finally:
        await _close(nai)


# --- SSE: time, limits, retry ----------------------------------------------------------------------------------


def _feed(decoder: SSEDecoder, stream: bytes, size: int) -> list[ServerSentEvent]:
    events: list[ServerSentEvent] = []
    for start in range(0, len(stream), size):
        events.extend(decoder.feed(stream[start : start + size]))
    return events


@pytest.mark.parametrize(("total", "chunk"), [(4 * 1024 * 1024, 1024), (1_400_000, 1400)])
def test_a_long_line_in_small_chunks_parses_in_linear_time(total: int, chunk: int) -> None:
    """Quadratic before: 45 s for 4 MB in 1 kB chunks, 2 to 30 s for 1.4 MB in 1,400-byte chunks."""
    stream = b"data: " + b"x" * total + b"\n\n"
    started = time.perf_counter()
    events = _feed(SSEDecoder(), stream, chunk)
    elapsed = time.perf_counter() - started
    assert [total] == [len(event.data) for event in events]
    # About 15 ms on the 2-CPU machine this was written on; the bound leaves room for a loaded CI machine.
    assert elapsed < 1.0


def test_many_short_lines_in_one_byte_chunks_stay_linear() -> None:
    stream = b"data: ab\n" * 20_000 + b"\n"
    started = time.perf_counter()
    events = _feed(SSEDecoder(), stream, 1)
    assert 1 == len(events)
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize("chunk", [1, 7, 1024, 1 << 30])
def test_line_limit(chunk: int) -> None:
    assert [ServerSentEvent(data="x" * 10)] == _feed(SSEDecoder(max_line=16), b"data: " + b"x" * 10 + b"\n\n", chunk)
    with pytest.raises(StreamError, match="a line of"):
        _feed(SSEDecoder(max_line=16), b"data: " + b"x" * 11 + b"\n\n", chunk)
    # An unterminated line is refused as soon as it is too long, before its end (which may never come).
    decoder = SSEDecoder(max_line=16)
    with pytest.raises(StreamError, match="a line of"):
        _feed(decoder, b": " + b"x" * 100, chunk)


@pytest.mark.parametrize("chunk", [1, 5, 1 << 30])
def test_event_limit_counts_the_joined_data(chunk: int) -> None:
    fits = b"data: abcd\ndata: efg\n\n"  # "abcd\nefg": 8 characters
    assert [ServerSentEvent(data="abcd\nefg")] == _feed(SSEDecoder(max_event=8), fits, chunk)
    with pytest.raises(StreamError, match="an event of 9"):
        _feed(SSEDecoder(max_event=8), b"data: abcd\ndata: efgh\n\n", chunk)
    # Many empty data lines grow the event too (a newline each), so they cannot grow memory without limit.
    with pytest.raises(StreamError, match="an event of"):
        _feed(SSEDecoder(max_event=8), b"data\n" * 20, chunk)


def test_limits_are_per_line_and_per_event_not_per_stream() -> None:
    stream = b"data: 12345678\n\n" * 1000
    assert 1000 == len(_feed(SSEDecoder(max_line=14, max_event=8), stream, 3))


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("retry: 1500", 1500),
        ("retry: 000000000000000000000000000000000042", 42),
        ("retry: " + "9" * 100_000, MAX_RETRY_MS),
        ("retry: 99999999999", MAX_RETRY_MS),
        ("retry: 12a", None),
        ("retry: -5", None),
        ("retry: 1.5", None),
        ("retry: \u0661\u0662", None),  # Arabic-Indic digits: str.isdigit says yes, the standard says no
        ("retry:", None),
    ],
)
def test_retry_field_never_raises(field: str, expected: int | None) -> None:
    events = _feed(SSEDecoder(), f"{field}\ndata: x\n\n".encode(), 1 << 30)
    assert [expected] == [event.retry for event in events]


_pieces = st.sampled_from(
    [
        "data: ",
        "data:",
        "data",
        "event: e",
        "id: 7",
        "retry: 10",
        "retry: " + "9" * 30,
        ": comment",
        "x" * 40,
        "é🙂",
        "\n",
        "\r",
        "\r\n",
        "\n\n",
    ]
)


def _outcome(stream: bytes, cuts: list[int], **limits: int) -> tuple[str, list[ServerSentEvent], bool]:
    decoder = SSEDecoder(**limits)
    events: list[ServerSentEvent] = []
    start = 0
    try:
        for cut in [*sorted(cuts), len(stream)]:
            events.extend(decoder.feed(stream[start:cut]))
            start = cut
        incomplete = decoder.close()
    except StreamError:
        return ("refused", [], False)
    return ("ok", events, incomplete)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_pieces, max_size=40), limit=st.sampled_from([None, 8, 45]), data=st.data())
def test_any_split_gives_the_events_of_the_whole_stream(
    pieces: list[str], limit: int | None, data: st.DataObject
) -> None:
    stream = "".join(pieces).encode()
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    limits = {} if limit is None else {"max_line": limit, "max_event": limit}
    assert _outcome(stream, [], **limits) == _outcome(stream, cuts, **limits)
    # One byte at a time is the worst split there is.
    assert _outcome(stream, [], **limits) == _outcome(stream, list(range(len(stream))), **limits)


# --- plain http -------------------------------------------------------------------------------------------------

LOOPBACK = [
    "http://127.0.0.1:8080",
    "http://127.8.9.10",
    "http://localhost",
    "http://LOCALHOST:99/api",
    "http://[::1]:8080",
    "http://[::ffff:127.0.0.1]",
]
REMOTE = [
    "http://example.com",
    "http://api.novelai.net",
    "http://10.0.0.1:8080",
    "http://0.0.0.0:8080",
    "http://[::2]",
    "http://localhost.example.com",
    "http://127.0.0.1.nip.io",
]


def _resolve(environ: dict[str, str] | None = None, **arguments: Any) -> ClientOptions:
    settings: dict[str, Any] = {
        "base_url": None,
        "api_url": None,
        "text_url": None,
        "image_url": None,
        "timeout": 10.0,
        "max_retries": None,
        "backoff": None,
        "headers": None,
    }
    settings.update(arguments)
    return resolve_options(environ=environ or {}, **settings)


@pytest.mark.parametrize("url", LOOPBACK)
def test_plain_http_to_loopback_is_accepted(url: str) -> None:
    assert url.rstrip("/") == _resolve(base_url=url).text_url
    assert url == _resolve({c.ENV_BASE_URL: url}).api_url


@pytest.mark.parametrize("url", REMOTE)
@pytest.mark.parametrize(
    ("setting", "how"),
    [
        ("base_url", "argument"),
        ("api_url", "argument"),
        ("text_url", "argument"),
        ("image_url", "argument"),
        (c.ENV_BASE_URL, "environment"),
        (c.ENV_API_URL, "environment"),
        (c.ENV_TEXT_URL, "environment"),
        (c.ENV_IMAGE_URL, "environment"),
    ],
)
def test_plain_http_elsewhere_is_refused_and_says_why(url: str, setting: str, how: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        if how == "argument":
            _resolve(**{setting: url})
        else:
            _resolve({setting: url})
    message = str(info.value)
    assert message.startswith(f"{setting} is plain http:// to ")
    assert "in clear" in message
    assert "allow_insecure_http=True" in message
    assert f"{c.ENV_ALLOW_INSECURE_HTTP}=1" in message


def test_the_refusal_does_not_quote_a_password_in_the_url() -> None:
    with pytest.raises(ConfigurationError) as info:
        _resolve(base_url="http://user:hunter2@example.com/")
    assert "hunter2" not in str(info.value)
    assert "'example.com'" in str(info.value)


@pytest.mark.parametrize("url", REMOTE)
def test_plain_http_elsewhere_with_the_opt_in(url: str) -> None:
    assert url == _resolve(base_url=url, allow_insecure_http=True).image_url
    options = _resolve({c.ENV_ALLOW_INSECURE_HTTP: "1", c.ENV_TEXT_URL: url})
    assert (url, True) == (options.text_url, options.allow_insecure_http)
    # The argument wins over the environment, in both directions.
    with pytest.raises(ConfigurationError):
        _resolve({c.ENV_ALLOW_INSECURE_HTTP: "1"}, base_url=url, allow_insecure_http=False)


@pytest.mark.parametrize("value", ["maybe", "2", "-1"])
def test_a_malformed_opt_in_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match=c.ENV_ALLOW_INSECURE_HTTP):
        _resolve({c.ENV_ALLOW_INSECURE_HTTP: value})


@pytest.mark.parametrize("value", ["0", "false", "", "no"])
def test_an_opt_in_set_to_no_is_no(value: str) -> None:
    with pytest.raises(ConfigurationError):
        _resolve({c.ENV_ALLOW_INSECURE_HTTP: value}, base_url="http://example.com")


@pytest.mark.parametrize("cls", [NovelAI, AsyncNovelAI])
def test_the_clients_refuse_plain_http(cls: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="in clear"):
        cls(token=TOKEN, base_url="http://example.com")
    monkeypatch.setenv(c.ENV_TEXT_URL, "http://example.com")
    with pytest.raises(ConfigurationError, match=f"^{c.ENV_TEXT_URL} is plain http://"):
        cls(token=TOKEN)


def test_the_clients_accept_plain_http_with_the_environment_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(c.ENV_ALLOW_INSECURE_HTTP, "1")
    with NovelAI(token=TOKEN, base_url="http://example.com") as nai:
        assert nai.options.allow_insecure_http
        # with_options keeps the opt-in of the client it copies.
        assert "http://other.example" == nai.with_options(text_url="http://other.example").options.text_url


def test_with_options_and_hand_built_options_refuse_plain_http() -> None:
    with NovelAI(token=TOKEN) as nai:
        with pytest.raises(ConfigurationError, match="in clear"):
            nai.with_options(base_url="http://example.com")
        assert "http://127.0.0.1:1" == nai.with_options(base_url="http://127.0.0.1:1").options.api_url
    with pytest.raises(ConfigurationError, match=r"^image_url is plain http://"):
        ClientOptions(image_url="http://example.com")
    assert ClientOptions(image_url="http://example.com", allow_insecure_http=True).image_url == "http://example.com"
    assert "https://example.com" == ClientOptions().changed(base_url="https://example.com/").api_url


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({c.ENV_SSE_MAX_LINE: "lots"}, c.ENV_SSE_MAX_LINE),
        ({c.ENV_SSE_MAX_EVENT: "0"}, "sse_max_event must be a positive number"),
        ({c.ENV_SSE_MAX_LINE: "-1"}, "sse_max_line must be a positive number"),
    ],
)
def test_malformed_stream_limits_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _resolve(environ)


def test_stream_limits_resolve_argument_then_environment_then_default() -> None:
    assert (c.DEFAULT_SSE_MAX_LINE, c.DEFAULT_SSE_MAX_EVENT) == (_resolve().sse_max_line, _resolve().sse_max_event)
    environ = {c.ENV_SSE_MAX_LINE: "1000", c.ENV_SSE_MAX_EVENT: "2000"}
    assert (1000, 2000) == (_resolve(environ).sse_max_line, _resolve(environ).sse_max_event)
    options = _resolve(environ, sse_max_line=10, sse_max_event=20)
    assert (10, 20) == (options.sse_max_line, options.sse_max_event)
    assert 30 == options.changed(sse_max_line=30).sse_max_line

"""The server-sent events decoder: fixed cases and property tests over arbitrary chunking."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hypothesis import given, settings
from hypothesis import strategies as st

from nai_sdk._sse import ServerSentEvent, SSEDecoder, aiter_events, iter_events


def decode_all(stream: bytes, cuts: list[int] | None = None) -> tuple[list[ServerSentEvent], bool]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    start = 0
    for cut in sorted(cuts or []):
        events.extend(decoder.feed(stream[start:cut]))
        start = cut
    events.extend(decoder.feed(stream[start:]))
    return events, decoder.close()


def test_novelai_token_events() -> None:
    stream = (
        b'event: newToken\nid: 1\ndata: {"token":"AQA=","ptr":0,"final":false}\n\n'
        b'event: newToken\nid: 2\ndata: {"token":"AgA=","ptr":1,"final":true}\n\n'
    )
    assert decode_all(stream) == (
        [
            ServerSentEvent("newToken", '{"token":"AQA=","ptr":0,"final":false}', "1"),
            ServerSentEvent("newToken", '{"token":"AgA=","ptr":1,"final":true}', "2"),
        ],
        False,
    )


def test_line_endings_comments_and_multiline_data() -> None:
    stream = b": hello\r\ndata: a\r\ndata:b\rdata\n\r\n:keepalive\r\rretry: 150\nevent: x\ndata:  c\n\n"
    assert decode_all(stream) == (
        [ServerSentEvent("message", "a\nb\n", None), ServerSentEvent("x", " c", None, 150)],
        False,
    )


def test_crlf_split_between_chunks_counts_once() -> None:
    stream = b"data: a\r\n\r\ndata: b\r\n\r\n"
    for cut in range(len(stream) + 1):
        assert decode_all(stream, [cut])[0] == [ServerSentEvent(data="a"), ServerSentEvent(data="b")]


def test_utf8_split_inside_a_character() -> None:
    stream = "data: été ⁂ 🙂\n\n".encode()
    for cut in range(len(stream) + 1):
        assert decode_all(stream, [cut])[0] == [ServerSentEvent(data="été ⁂ 🙂")]


def test_bom_is_dropped_once_and_invalid_utf8_is_replaced() -> None:
    assert decode_all(b"\xef\xbb\xbfdata: \xff\n\n", [1, 2]) == ([ServerSentEvent(data="\ufffd")], False)
    assert decode_all(b"data: \xef\xbb\xbfx\n\n")[0] == [ServerSentEvent(data="\ufeffx")]


def test_event_without_data_is_not_dispatched_and_id_persists() -> None:
    stream = b"event: ping\n\nid: 7\ndata: a\n\nid: bad\x00\ndata: b\n\n"
    assert decode_all(stream)[0] == [ServerSentEvent(data="a", id="7"), ServerSentEvent(data="b", id="7")]


def test_cut_stream_is_reported() -> None:
    assert decode_all(b"data: a\n\ndata: b\n") == ([ServerSentEvent(data="a")], True)
    assert decode_all(b"data: a\n\ndata: b") == ([ServerSentEvent(data="a")], True)
    assert decode_all(b"data: a\n\n") == ([ServerSentEvent(data="a")], False)


def test_iterators() -> None:
    chunks = [b"data: a\n", b"\ndata: b\n\n", b"data: c"]
    assert [e.data for e in iter_events(chunks)] == ["a", "b"]

    async def agen() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[str]:
        return [e.data async for e in aiter_events(agen())]

    assert asyncio.run(collect()) == ["a", "b"]


# --- properties -----------------------------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"), max_size=20)
_field_name = st.sampled_from(["event", "id"])
_events = st.lists(
    st.tuples(
        st.one_of(st.none(), _text.filter(lambda s: ":" not in s and s != "")),
        st.lists(_text, min_size=1, max_size=4),
        st.lists(_text, max_size=2),
    ),
    max_size=6,
)


def _serialise(events: list[tuple[str | None, list[str], list[str]]], eol: str, space: bool) -> bytes:
    out: list[str] = []
    sep = ": " if space else ":"
    for event_type, data_lines, comments in events:
        out.extend(":" + comment + eol for comment in comments)
        if event_type is not None:
            out.append("event" + sep + event_type + eol)
        for line in data_lines:
            # Without the optional space, a data line starting with a space would lose nothing; with it, exactly one
            # space is removed, so serialise with the separator the parser expects.
            out.append("data" + sep + line + eol)
        out.append(eol)
    return "".join(out).encode()


@settings(max_examples=300, deadline=None)
@given(
    events=_events,
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
    space=st.booleans(),
    data=st.data(),
)
def test_any_chunking_yields_the_serialised_events(
    events: list[tuple[str | None, list[str], list[str]]], eol: str, space: bool, data: st.DataObject
) -> None:
    if not space:
        # "data:<text>" keeps a leading space of <text> only when there is no separator space to strip.
        events = [(t, [line.lstrip(" ") for line in d], c) for t, d, c in events]
    if space is False and any(t is not None and t.startswith(" ") for t, _, _ in events):
        events = [(t.lstrip(" ") or None if t else t, d, c) for t, d, c in events]
    stream = _serialise(events, eol, space)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    expected = [ServerSentEvent(event=t or "message", data="\n".join(d)) for t, d, _ in events]
    assert decode_all(stream, cuts) == (expected, False)


@settings(max_examples=300, deadline=None)
@given(stream=st.binary(max_size=200), data=st.data())
def test_arbitrary_bytes_never_crash_and_chunking_does_not_matter(stream: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    assert decode_all(stream, cuts) == decode_all(stream)


_mixed_line = st.sampled_from(
    ["data: x", "data:y", "data", "event: e", ": c", "id: 1", "retry: 5", "", "dätä: ü", "data: 🙂"]
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.tuples(_mixed_line, st.sampled_from(["\n", "\r\n", "\r"])), max_size=20),
    data=st.data(),
)
def test_mixed_line_endings_any_chunking(lines: list[tuple[str, str]], data: st.DataObject) -> None:
    stream = "".join(line + eol for line, eol in lines).encode()
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    assert decode_all(stream, cuts) == decode_all(stream)

"""A server-sent events decoder that accepts bytes split anywhere.

It follows the WHATWG "event stream interpretation" algorithm: lines end with CRLF, CR or LF (a CRLF split
between two chunks counts once), a leading byte-order mark is dropped, lines starting with `:` are comments,
`data` lines of one event are joined with `\\n`, and an event is dispatched at the blank line that ends it. Bytes
are decoded incrementally, so a UTF-8 sequence split between chunks decodes as one character; invalid UTF-8 becomes
U+FFFD rather than an error, as the standard says.

The decoder is pure (no I/O): the client feeds it the chunks it reads, synchronously or asynchronously.

Hostile streams are bounded. Time is linear in the size of the stream however it is split: a line that arrives in
many chunks is kept as a list of pieces and joined once, when it ends. Memory is bounded by `max_line` (the longest
line, in characters) and `max_event` (the largest event's data): past either, `feed` raises `StreamError`, the
error of every other stream failure, since what the client can do is the same (the stream is unusable; send the
request again or give up). A `retry:` field of any length is read in bounded time.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import attrs

from nai_sdk import _constants as c
from nai_sdk.errors import StreamError

__all__ = ["MAX_RETRY_MS", "SSEDecoder", "ServerSentEvent", "aiter_events", "iter_events"]

_EOL = re.compile(r"\r\n|\r|\n")
#: The longest reconnection time, in milliseconds: the largest delay a JavaScript timer accepts (about 24.8 days).
#: A `retry:` field asking for more gets this.
MAX_RETRY_MS = 2**31 - 1
_MAX_RETRY_DIGITS = len(str(MAX_RETRY_MS))


@attrs.frozen
class ServerSentEvent:
    """One dispatched event.

    Attributes:
        event: the event type (`"message"` when the stream gave none).
        data: the data lines of the event, joined with `\\n`.
        id: the last event id seen so far in the stream, or None.
        retry: the last reconnection time (milliseconds) the stream asked for, or None.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns chunks of an event stream into events.

    Feed every chunk to `feed`, which returns the events completed by it, then call `close` at the end of the stream.

    Args:
        max_line: the longest line accepted, in characters (after UTF-8 decoding; the field name counts).
        max_event: the largest event accepted: the length of its data, its lines joined with `\\n`.
    """

    def __init__(self, *, max_line: int = c.DEFAULT_SSE_MAX_LINE, max_event: int = c.DEFAULT_SSE_MAX_EVENT) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max_line = max_line
        self._max_event = max_event
        self._started = False
        self._pending_cr = False
        # The start of a line whose end has not arrived yet, in the pieces it came in (see `_feed_text`).
        self._tail: list[str] = []
        self._tail_size = 0
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decodes one chunk of the stream.

        Args:
            chunk: the next bytes, split anywhere.

        Returns:
            The events whose terminating blank line is in this chunk, in order.

        Raises:
            StreamError: a line longer than `max_line` or an event larger than `max_event`.
        """
        return self._feed_text(self._decoder.decode(chunk))

    def close(self) -> bool:
        """Ends the stream.

        Returns:
            True if the stream ended inside an event (a line or data not followed by a blank line): such an event
            is discarded, as the standard says, and the caller may want to treat it as a cut stream.

        Raises:
            StreamError: the unfinished last line is longer than `max_line`.
        """
        events = self._feed_text(self._decoder.decode(b"", final=True))
        # A final flush of an incomplete UTF-8 sequence cannot end a line with a blank one, so `events` is empty,
        # but keep anything it returned rather than lose it silently.
        incomplete = bool(events) or bool(self._tail) or bool(self._data) or bool(self._event)
        self._tail = []
        self._tail_size = 0
        self._data = []
        self._data_size = 0
        self._event = ""
        return incomplete

    def _feed_text(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
                if not text:
                    return []
        if self._pending_cr:
            # The previous chunk ended with CR: a LF right here is the second half of the same CRLF.
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        has_cr = "\r" in text
        if not has_cr and "\n" not in text:
            # Inside a line: keep the piece. Joining here, chunk after chunk, would copy the line again for every
            # chunk (quadratic: a 4 MB line in 1 kB chunks took 45 s); it is joined once, when it ends.
            self._keep(text)
            return []
        events: list[ServerSentEvent] = []
        if self._tail:
            # The kept line ends in this chunk: join it once, without copying the rest of the stream along.
            if has_cr:
                match = _EOL.search(text)
                assert match is not None
                end, after = match.start(), match.end()
            else:
                end = text.index("\n")
                after = end + 1
            self._tail.append(text[:end])
            line = "".join(self._tail)
            self._tail = []
            self._tail_size = 0
            if len(line) > self._max_line:
                raise self._too_long(len(line))
            event = self._line(line)
            if event is not None:
                events.append(event)
            if after == len(text):
                self._pending_cr = text[-1] == "\r"
                return events
            text = text[after:]
        # str.split finds "\n" at memchr speed; the regular expression is needed only when CR ends lines.
        lines = _EOL.split(text) if has_cr else text.split("\n")
        rest = lines.pop()
        max_line = self._max_line
        for line in lines:
            if len(line) > max_line:
                raise self._too_long(len(line))
            event = self._line(line)
            if event is not None:
                events.append(event)
        if rest:
            self._keep(rest)
        elif has_cr and text[-1] == "\r":
            self._pending_cr = True
        return events

    def _keep(self, piece: str) -> None:
        self._tail.append(piece)
        self._tail_size += len(piece)
        if self._tail_size > self._max_line:
            raise self._too_long(self._tail_size)

    def _too_long(self, size: int) -> StreamError:
        return StreamError(
            f"the event stream sent a line of {size:,}+ characters, more than the limit of {self._max_line:,} "
            f"(sse_max_line, {c.ENV_SSE_MAX_LINE})"
        )

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        # Most lines of a stream are data lines: read them without splitting the line (a copy fewer).
        if line.startswith("data:"):
            self._add_data(line[6:] if line.startswith(" ", 5) else line[5:])
            return None
        if line[0] == ":":
            return None
        field, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._add_data(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._last_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self._retry = _retry_ms(value)
        return None

    def _add_data(self, value: str) -> None:
        # The size of the data once joined: each line after the first adds a "\n".
        size = self._data_size + len(value) + (1 if self._data else 0)
        if size > self._max_event:
            raise StreamError(
                f"the event stream sent an event of {size:,}+ characters, more than the limit of "
                f"{self._max_event:,} (sse_max_event, {c.ENV_SSE_MAX_EVENT})"
            )
        self._data_size = size
        self._data.append(value)

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = ""
            return None
        data = self._data
        event = ServerSentEvent(
            event=self._event or "message",
            data=data[0] if len(data) == 1 else "\n".join(data),
            id=self._last_id,
            retry=self._retry,
        )
        self._data = []
        self._data_size = 0
        self._event = ""
        return event


def _retry_ms(digits: str) -> int:
    """The reconnection time of a `retry:` field made of ASCII digits, at most `MAX_RETRY_MS`.

    Converting thousands of digits would raise (Python's limit on int conversion) and take quadratic time, so a
    field longer than the largest time is not converted at all.
    """
    significant = digits.lstrip("0")
    if len(significant) > _MAX_RETRY_DIGITS:
        return MAX_RETRY_MS
    return min(int(significant or "0"), MAX_RETRY_MS)


def iter_events(chunks: Iterable[bytes], **limits: int) -> Iterator[ServerSentEvent]:
    """Yields the events of a stream of byte chunks as soon as each is complete; incomplete trailing data is dropped.

    Args:
        chunks: the bytes of the stream, split anywhere.
        **limits: `max_line` and `max_event`, as for `SSEDecoder`.
    """
    decoder = SSEDecoder(**limits)
    for chunk in chunks:
        yield from decoder.feed(chunk)
    decoder.close()


async def aiter_events(chunks: AsyncIterable[bytes], **limits: int) -> AsyncIterator[ServerSentEvent]:
    """The asynchronous twin of `iter_events`."""
    decoder = SSEDecoder(**limits)
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    decoder.close()

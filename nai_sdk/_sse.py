"""A server-sent events decoder that accepts bytes split anywhere.

It follows the WHATWG "event stream interpretation" algorithm: lines end with CRLF, CR or LF (a CRLF split
between two chunks counts once), a leading byte-order mark is dropped, lines starting with `:` are comments,
`data` lines of one event are joined with `\\n`, and an event is dispatched at the blank line that ends it. Bytes
are decoded incrementally, so a UTF-8 sequence split between chunks decodes as one character; invalid UTF-8 becomes
U+FFFD rather than an error, as the standard says.

The decoder is pure (no I/O): the client feeds it the chunks it reads, synchronously or asynchronously.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import attrs

__all__ = ["SSEDecoder", "ServerSentEvent", "aiter_events", "iter_events"]

_EOL = re.compile(r"\r\n|\r|\n")


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
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._started = False
        self._pending_cr = False
        self._tail = ""
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decodes one chunk of the stream.

        Args:
            chunk: the next bytes, split anywhere.

        Returns:
            The events whose terminating blank line is in this chunk, in order.
        """
        return self._feed_text(self._decoder.decode(chunk))

    def close(self) -> bool:
        """Ends the stream.

        Returns:
            True if the stream ended inside an event (a line or data not followed by a blank line): such an event
            is discarded, as the standard says, and the caller may want to treat it as a cut stream.
        """
        events = self._feed_text(self._decoder.decode(b"", final=True))
        # A final flush of an incomplete UTF-8 sequence cannot end a line with a blank one, so `events` is empty,
        # but keep anything it returned rather than lose it silently.
        incomplete = bool(events) or bool(self._tail) or bool(self._data) or bool(self._event)
        self._tail = ""
        self._data = []
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
        if self._tail:
            text = self._tail + text
            self._tail = ""
        events: list[ServerSentEvent] = []
        position = 0
        for match in _EOL.finditer(text):
            event = self._line(text[position : match.start()])
            if event is not None:
                events.append(event)
            position = match.end()
        if position < len(text):
            self._tail = text[position:]
        elif text[-1] == "\r":
            self._pending_cr = True
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        field, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._last_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._last_id,
            retry=self._retry,
        )
        self._data = []
        self._event = ""
        return event


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Yields the events of a stream of byte chunks as soon as each is complete; incomplete trailing data is dropped."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    decoder.close()


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """The asynchronous twin of `iter_events`."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    decoder.close()

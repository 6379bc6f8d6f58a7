"""A small progress bar on stderr: redrawn in place on a terminal, one line per finished phase otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]

_WIDTH = 30
_MIN_REDRAW = 0.05  # seconds: redrawing more often only costs time


class ProgressBar:
    """Shows how far each phase got: `label [#####.....] 5/10`, or `label: 500` when the total is unknown.

    Args:
        stream: where to draw (stderr).
        enabled: draw at all.
        live: redraw in place (default: when `stream` is a terminal); otherwise each phase prints one final line,
            so logs stay readable.
    """

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True, live: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.live = self.stream.isatty() if live is None else live
        self._label: str | None = None
        self._line = ""
        self._drawn = 0.0

    def update(self, label: str, done: int, total: int | None = None) -> None:
        """Report progress of the phase `label` (a new label finishes the previous phase)."""
        if not self.enabled:
            return
        if self._label is not None and label != self._label:
            self.finish()
        self._label = label
        self._line = self._render(label, done, total)
        now = time.monotonic()
        if self.live and (now - self._drawn >= _MIN_REDRAW or (total is not None and done >= total)):
            self._drawn = now
            self.stream.write("\r\x1b[K" + self._line)
            self.stream.flush()

    def finish(self) -> None:
        """End the current phase: keep its last line on screen."""
        if not self.enabled or self._label is None:
            return
        prefix = "\r\x1b[K" if self.live else ""
        self.stream.write(prefix + self._line + "\n")
        self.stream.flush()
        self._label = None

    @staticmethod
    def _render(label: str, done: int, total: int | None) -> str:
        if total is None:
            return f"{label}: {done}"
        filled = _WIDTH * done // total if total else _WIDTH
        return f"{label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{total}"

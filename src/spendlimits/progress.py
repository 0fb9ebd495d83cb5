"""A status line for long command-line jobs (bulk import, demo data) on stderr.

On a terminal the line is rewritten in place; in a log (not a terminal) it is printed as a plain
line at most every few seconds, so a long job neither floods the log nor looks hung.
"""

import time
from typing import TextIO


class ProgressLine:
    def __init__(self, stream: TextIO, min_interval_seconds: float = 5.0) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._interval = min_interval_seconds
        # Not before the first interval has passed: a short job prints its final status alone
        # (printed right away, the first status repeated the summary that finish() prints).
        self._last_printed = time.monotonic()
        self._width = 0

    def update(self, status: str) -> None:
        if self._tty:
            self._stream.write("\r" + status.ljust(self._width))
            self._width = len(status)
        else:
            now = time.monotonic()
            if now - self._last_printed < self._interval:
                return
            self._last_printed = now
            self._stream.write(status + "\n")
        self._stream.flush()

    def note(self, message: str) -> None:
        """A line of its own (a rejected line, a warning), kept above the status line."""
        self._clear()
        self._stream.write(message + "\n")
        self._stream.flush()

    def finish(self, status: str) -> None:
        """The final status, always printed, on a line of its own."""
        self._clear()
        self._stream.write(status + "\n")
        self._stream.flush()

    def _clear(self) -> None:
        if self._tty and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._width = 0

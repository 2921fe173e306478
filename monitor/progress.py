"""Progress of a poll: a live line on a terminal (feeds and articles done, rate,
errors), periodic log lines elsewhere (the daemon, pipes, CI). Side effects:
writes to the given stream or logger."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

log = logging.getLogger("monitor.progress")


class Progress:
    def __init__(self, stream: TextIO | None = None, *, every: float | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every if every is not None else (0.2 if self.tty else 10.0)
        self._last = 0.0
        self._shown = False

    def line(self, s: Any) -> str:
        elapsed = max(time.monotonic() - s.started, 1e-6)
        errors = len(s.feeds_failed) + s.page_errors_seen
        return (f"feeds {s.feeds_done}/{s.feeds} · articles {s.analyzed} analyzed, "
                f"{s.articles_new} stored ({s.analyzed / elapsed:.1f}/s) · errors {errors}")

    def __call__(self, summary: Any) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        if self.tty:
            self.stream.write("\r\033[K" + self.line(summary))
            self.stream.flush()
            self._shown = True
        else:
            log.info("progress: %s", self.line(summary))

    def done(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()

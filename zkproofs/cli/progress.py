"""A small progress bar for long prover steps: drawn on a terminal, silent otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable as ``(stage, done, total)``; redraws at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, width: int = 30):
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if stage == self._stage and done < total and now - self._last_draw < 0.1:
            return
        self._stage, self._last_draw = stage, now
        frac = 1.0 if total <= 0 else min(done / total, 1.0)
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"\r{stage:<12} [{bar}] {done}/{total}  {now - self.start:6.1f}s"
        self.stream.write(line)
        if stage == "done":
            self.stream.write("\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._stage != "done":
            self.stream.write("\n")
            self.stream.flush()

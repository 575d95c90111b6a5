"""A tiny progress bar for management commands, drawn on stderr only when it is a terminal."""

import time

from common.formatting import count


class ProgressBar:
    """Call `update(done, rows)` as often as you like; the bar redraws at most ten times a second."""

    WIDTH = 30

    def __init__(self, stream, *, total, label="Import"):
        self.stream = stream
        self.total = max(int(total or 0), 1)
        self.label = label
        self._drawn_at = 0.0
        self._started = time.monotonic()

    @classmethod
    def for_terminal(cls, stream, **kwargs):
        """A bar when `stream` is a terminal, else None (nothing drawn in pipes, logs or tests)."""
        isatty = getattr(stream, "isatty", None)
        return cls(stream, **kwargs) if isatty and isatty() else None

    def update(self, done, rows, *, force=False):
        now = time.monotonic()
        if not force and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        share = min(max(done / self.total, 0.0), 1.0)
        filled = int(share * self.WIDTH)
        elapsed = now - self._started
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share * 100:3.0f} % "
            f"{count(rows)} lignes, {elapsed:.0f} s"
        )
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()

"""Progress bars for long commands, drawn by tqdm on standard error."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class ProgressBar:
    """Call with (done, total) as work advances; the bar follows (and closes when done)."""

    def __init__(self, label: str, *, stream: TextIO | None = None):
        self._bar = tqdm(desc=label, total=0, unit="record", file=stream or sys.stderr)

    def __call__(self, done: int, total: int) -> None:
        if self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._bar.close()

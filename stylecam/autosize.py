"""The window's "Auto" processing size: the largest that keeps the view at ≥ 24 fps, measured.

The same model runs 2-3× slower on an AVX2-only CPU than on an AVX-512 one, so no fixed
default suits every machine. ``AutoSize`` is fed the time each frame spent in the model path
(resize, model, blend, Steady) and picks among the window's processing heights the largest
whose time, predicted from the one measured (time grows with the pixel count), fits the frame
budget (1000 / fps ms) with headroom for capture and painting. It measures again at every
size it moves to, never goes back up to a size that measured too slow (no see-saw), and
starts over (``restart``) when the style or the source changes. Pure Python: no Qt, no ORT.
"""

from __future__ import annotations

import statistics

HEIGHTS = (240, 360, 480, 720)  # the window's fixed choices; None (full) is the source's own size


class AutoSize:
    """Chooses a processing height (None: the frame's own size) from measured model times."""

    def __init__(self, fps: float = 24.0, heights: tuple[int, ...] = HEIGHTS, settle: int = 10,
                 skip: int = 2, headroom: float = 0.85, up_headroom: float = 0.7):
        self.fps, self.heights, self.settle, self.skip = fps, tuple(sorted(heights)), settle, skip
        self.headroom, self.up_headroom = headroom, up_headroom
        self.chosen: int | None = min(self.heights)  # a first guess: quick to show something
        self.measured_ms = 0.0  # the median time at the chosen size, once measured
        self._short: int | None = None
        self._samples: list[float] = []
        self._skipped = 0
        self._too_slow: set[int] = set()

    @property
    def budget_ms(self) -> float:
        return 1000.0 / self.fps

    def restart(self) -> None:
        """A new style or source: measure again from the current choice."""
        self._short = None
        self._samples, self._skipped, self._too_slow = [], 0, set()
        self.measured_ms = 0.0

    def candidates(self) -> list[int | None]:
        """The heights that differ on this source (smallest first); None is its own size."""
        short = self._short or max(self.heights) + 1
        return [h for h in self.heights if h < short] + [None]

    def _height(self, size: int | None) -> int:
        return size if size is not None else (self._short or max(self.heights))

    def add(self, ms: float, frame_shape: tuple[int, ...]) -> bool:
        """One frame's model time at the current choice, on a frame of ``frame_shape``
        (the source's size); True when the choice changed."""
        if ms <= 0:
            return False  # "Original": nothing to size
        short = min(frame_shape[:2])
        if short != self._short:  # the first frame of a source tells its size
            self._short = short
            if self.chosen not in self.candidates():
                self.chosen = None  # the source is smaller than the chosen height
                return self._moved()
        if self._skipped < self.skip:  # frames already under way at the old size
            self._skipped += 1
            return False
        self._samples.append(ms)
        if len(self._samples) < self.settle:
            return False
        self.measured_ms = statistics.median(self._samples)
        self._samples = []
        now = self._height(self.chosen)
        if self.measured_ms > self.budget_ms:
            self._too_slow.add(now)
        per_pixel = self.measured_ms / now ** 2
        best = self.candidates()[0]
        for size in self.candidates():
            h = self._height(size)
            limit = self.headroom if h <= now else self.up_headroom  # moving up needs more room
            if h not in self._too_slow and per_pixel * h ** 2 <= self.budget_ms * limit:
                best = size
        if best == self.chosen:
            return False
        self.chosen = best
        return self._moved()

    def _moved(self) -> bool:
        self._samples, self._skipped = [], 0
        return True

    def text(self) -> str:
        """What the device label says, e.g. "Auto 480p (31 ms)" or "Auto full (360p)"."""
        if self.chosen is None:
            size = f"full ({self._short}p)" if self._short else "full"
        else:
            size = f"{self.chosen}p"
        return f"Auto {size}" + (f" ({self.measured_ms:.0f} ms)" if self.measured_ms else "")

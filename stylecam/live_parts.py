"""What the live pipeline's threads hand each other: the slots (size one, newest wins), the
frames in them (``Captured``, ``Result``) and the rolling ``Stats`` the status bar shows."""

from __future__ import annotations

import collections
import statistics
import threading
import time
from dataclasses import dataclass

import numpy as np


def _ignore(*_args) -> None:
    pass


class LatestSlot:
    """A slot of size one: ``put`` replaces what is there (newest wins) and counts the drop."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self._full = False
        self._closed = False
        self.puts = 0
        self.dropped = 0

    def put(self, item) -> bool:
        """Put ``item``; True when it replaced one nobody took (a dropped frame)."""
        with self._cond:
            dropped = self._full
            self.dropped += dropped
            self.puts += 1
            self._item, self._full = item, True
            self._cond.notify()
            return dropped

    def get(self, timeout: float | None = None):
        """The newest item (emptying the slot), or None after ``timeout`` or once closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._full or self._closed, timeout):
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def take(self):
        """The newest item without waiting, or None."""
        return self.get(timeout=0)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        return int(self._full)


@dataclass
class Captured:
    """One frame from a source, stamped when it arrived (``time.monotonic()``)."""

    frame: np.ndarray
    t: float
    index: int


@dataclass
class Result:
    """One processed frame: what the view paints and the recorder writes."""

    original: np.ndarray
    image: np.ndarray
    t: float  # capture time of ``original``
    index: int
    model_ms: float  # 0 for "Original"
    model: str  # the model's name, "" for Original


@dataclass
class StatsSnapshot:
    model_ms: float  # median of the recent frames' processing time
    model_fps: float  # 1000 / model_ms
    displayed_fps: float  # frames that reached the view per second, recently
    dropped: int  # frames captured but never processed
    latency_ms: float  # median capture → display time, recently
    displayed: int
    captured: int

    def text(self) -> str:
        digits = 1 if self.model_ms < 10 else 0
        model = f"model {self.model_ms:.{digits}f} ms" if self.model_ms else "model —"
        return (f"{model} · {self.displayed_fps:.1f} fps shown · {self.dropped} dropped · "
                f"latency {self.latency_ms:.0f} ms")


class Stats:
    """Rolling numbers for the status bar and the benchmark (thread-safe)."""

    def __init__(self, window: int = 60, fps_seconds: float = 2.0):
        self._lock = threading.Lock()
        self._model = collections.deque(maxlen=window)
        self._latency = collections.deque(maxlen=window)
        self._shown = collections.deque(maxlen=512)
        self.fps_seconds = fps_seconds
        self.displayed_total = 0
        self.captured = 0
        self.dropped = 0

    def model(self, ms: float) -> None:
        with self._lock:
            self._model.append(ms)

    def displayed(self, t_capture: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._shown.append(now)
            self._latency.append((now - t_capture) * 1000.0)
            self.displayed_total += 1

    def reset_model(self) -> None:
        with self._lock:
            self._model.clear()

    def snapshot(self, now: float | None = None) -> StatsSnapshot:
        now = time.monotonic() if now is None else now
        with self._lock:
            model_ms = statistics.median(self._model) if self._model else 0.0
            recent = [t for t in self._shown if now - t <= self.fps_seconds]
            if len(recent) >= 2:
                fps = (len(recent) - 1) / max(1e-6, recent[-1] - recent[0])
            else:
                fps = 0.0
            latency = statistics.median(self._latency) if self._latency else 0.0
            return StatsSnapshot(model_ms, 1000.0 / model_ms if model_ms else 0.0, fps,
                                 self.dropped, latency, self.displayed_total, self.captured)

"""Recording what the window shows: a thread that encodes frames with ``VideoWriter``.

The inference worker ``submit``s its results; they wait in a small bounded queue (a full
queue drops the frame and counts it, it never blocks the worker). Timestamps come from
capture time, in milliseconds since the first recorded frame, so the file plays at the
real speed even when frames were dropped on the way. The container is H.264 in MKV (or
fragmented MP4), written so that a killed program still leaves a file that plays. When
writing fails (disk full) the recorder stops and says how many frames the file really holds
(or that nothing could be written, and removes the empty file).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import frames
from .errors import OutputError, StylecamError

TIME_BASE = Fraction(1, 1000)  # pts in milliseconds of capture time
_STOP = object()


def _ignore(*_args) -> None:
    pass


class Recorder:
    """Encode submitted results (``.image`` at capture time ``.t``) to ``path`` on a thread.

    The video takes the size of the first frame; later frames of another size (a new
    processing size or model) are resized to it. ``on_stopped(path, frames, error)`` is
    called once from the recorder thread when it ends; ``error`` is "" after a normal stop.
    """

    def __init__(self, path: str | os.PathLike, rate: Fraction | int | float = 30, *,
                 queue_size: int = 8, crf: int = 20, preset: str = "veryfast",
                 on_stopped=_ignore):
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise OutputError(f"{self.path}: is a folder")
        if not self.path.parent.is_dir():
            raise OutputError(f"cannot record to {self.path}: folder {self.path.parent} does not exist")
        self.rate = Fraction(rate).limit_denominator(1_000_000)
        self.crf, self.preset = crf, preset
        self.on_stopped = on_stopped
        self.frames = 0  # written
        self.dropped = 0  # not written because the encoder fell behind
        self.error = ""
        self.started = time.monotonic()
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._accepting = True
        self._thread = threading.Thread(target=self._run, name="stylecam-recorder", daemon=True)
        self._thread.start()

    @property
    def elapsed(self) -> float:
        """Seconds since recording started."""
        return time.monotonic() - self.started

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def submit(self, result) -> bool:
        """Queue one result (anything with ``.image`` and ``.t``); never blocks."""
        if not self._accepting:
            return False
        try:
            self._queue.put_nowait((result.image, result.t))
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def write(self, image: np.ndarray, t: float) -> bool:
        """Queue one frame captured at ``t`` (``time.monotonic()``); never blocks."""
        return self.submit(_Frame(image, t))

    def stop(self, timeout: float = 10.0) -> str:
        """Finish the file (waits for the queued frames); returns the error text or ""."""
        if self._accepting:
            self._accepting = False
            while True:  # the stop mark must get in even if the queue is full right now
                try:
                    self._queue.put(_STOP, timeout=0.1)
                    break
                except queue.Full:
                    if not self._thread.is_alive():
                        break
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return self.error

    def _run(self) -> None:
        from .videoio import VideoWriter  # PyAV is imported only once recording starts

        writer = None
        t0 = None
        size = None
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                image, t = item
                if writer is None:
                    size = image.shape[:2]
                    t0 = t
                    writer = VideoWriter(self.path, size[1], size[0], self.rate, time_base=TIME_BASE,
                                         preset=self.preset, crf=self.crf, crash_safe=True)
                if image.shape[:2] != size:
                    image = frames.resize(image, *size)
                writer.write(image, pts=round((t - t0) * 1000))
                self.frames += 1
        except StylecamError as exc:
            self.error = str(exc)
        except Exception as exc:  # never let the thread die silently
            self.error = " ".join(f"cannot record to {self.path}: {type(exc).__name__}: {exc}".split())
        finally:
            self._accepting = False
            if writer is not None:
                try:
                    writer.close()
                except StylecamError as exc:
                    self.error = self.error or str(exc)
            if self.error:
                self._say_what_is_kept()
            self.on_stopped(self.path, self.frames, self.error)


    def _say_what_is_kept(self) -> None:
        """After a failure: count the frames the file really holds (a full disk may have
        taken none of them) and say so; a file that holds none is removed."""
        from .videoio import count_frames

        self.frames = count_frames(self.path)
        if self.frames:
            self.error += f"; recording stopped, kept {self.frames} frames in {self.path}"
            return
        self.error += "; recording stopped, nothing could be written"
        try:
            if self.path.is_file() and not self.path.is_symlink():
                self.path.unlink()
        except OSError:
            pass


class _Frame:
    __slots__ = ("image", "t")

    def __init__(self, image, t):
        self.image, self.t = image, t

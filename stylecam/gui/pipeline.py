"""Qt wiring of the Qt-free live pipeline: thread callbacks become queued signals.

The callbacks run on the capture, loader, worker and recorder threads; emitting a signal
of this object (which lives on the UI thread) from there queues the call to the UI
thread, so widgets are only ever touched on the main thread.
"""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..live import Pipeline, Result
from ..recorder import Recorder
from ..sources import Source


class QtPipeline(QObject):
    """``live.Pipeline`` plus recording, as signals for the window."""

    frameReady = Signal()  # a new result waits in the display slot: call take()
    error = Signal(str)
    status = Signal(str)
    ended = Signal(str)  # the source ended (a file with loop off)
    modelChanged = Signal(object, str)  # ModelInfo or None (Original), device ("CPU", "CPU int8", "CUDA quality")
    modelFailed = Signal(object, str)  # ModelInfo, message
    blendChanged = Signal(object, str)  # the blend's second style (ModelInfo) or None, device
    blendFailed = Signal(object, str)  # ModelInfo, message
    upscaleChanged = Signal(object, str)  # the super-resolution model after the style (ModelInfo) or None, device
    upscaleFailed = Signal(object, str)  # ModelInfo, message
    recordingStopped = Signal(str, int, str, int)  # path, frames, error ("" if none), frames skipped

    def __init__(self, source: Source | None = None, *, device: str = "auto",
                 threads: int | None = None, retry_s: float = 3.0, precision: str = "auto",
                 tier: str = "auto", parent=None):
        super().__init__(parent)
        # tier auto: a style's quality tier on a GPU, the fast one on a CPU (engine.choose_tier)
        self.live = Pipeline(source, device=device, threads=threads, retry_s=retry_s, precision=precision, tier=tier,
                             on_frame=self.frameReady.emit, on_error=self.error.emit,
                             on_status=self.status.emit, on_end=self.ended.emit,
                             on_model=self.modelChanged.emit, on_model_failed=self.modelFailed.emit,
                             on_blend=self.blendChanged.emit, on_blend_failed=self.blendFailed.emit,
                             on_upscale=self.upscaleChanged.emit, on_upscale_failed=self.upscaleFailed.emit)
        self.recorder: Recorder | None = None
        self.sinks: dict[str, object] = {}

    @property
    def worker(self):
        return self.live.worker

    @property
    def stats(self):
        return self.live.stats

    def start(self) -> None:
        self.live.start()

    def set_source(self, source: Source) -> None:
        self.live.set_source(source)

    def take(self) -> Result | None:
        return self.live.take()

    # -- recording ----------------------------------------------------------------------
    def start_recording(self, path: str | Path) -> Recorder:
        """Record the worker's output to ``path`` (raises OutputError if it cannot start)."""
        self.stop_recording()
        source = self.live.source
        rate = source.rate if source is not None and source.rate else Fraction(30)
        holder = []
        rec = Recorder(path, rate, on_stopped=lambda p, n, e: self.recordingStopped.emit(
            str(p), int(n), e, holder[0].dropped if holder else 0))
        holder.append(rec)
        self.recorder = rec
        self.live.worker.add_sink(rec)
        return rec

    def stop_recording(self, wait: bool = False) -> None:
        """Stop recording; the file is finished on the recorder's thread (``wait``: block)."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return
        self.live.worker.remove_sink(rec)
        if wait:
            rec.stop()
        else:  # finishing the file encodes the last frames: not on the UI thread
            threading.Thread(target=rec.stop, name="stylecam-recorder-stop", daemon=True).start()

    # -- other sinks (virtual camera) -------------------------------------------------------
    def add_sink(self, name: str, sink) -> None:
        self.remove_sink(name)
        self.sinks[name] = sink
        self.live.worker.add_sink(sink)

    def remove_sink(self, name: str) -> None:
        sink = self.sinks.pop(name, None)
        if sink is not None:
            self.live.worker.remove_sink(sink)
            threading.Thread(target=sink.stop, daemon=True).start()

    def stop(self) -> None:
        self.stop_recording(wait=True)
        for name in list(self.sinks):
            self.remove_sink(name)
        self.live.stop()

"""The live pipeline, without Qt: capture thread → latest-frame slot → inference worker → sinks.

    source ──CaptureLoop (paces, timestamps)──▶ LatestSlot (size 1, newest wins, drops
    counted) ──▶ Worker (owns the sessions; resize → model → blend) ──▶ on_result
                                                                     └──▶ sinks (recorder)

Nothing queues without bound: the slots hold one item, sinks keep their own bounded queues
and drop rather than block the worker. Every thread reports errors through callbacks; the
window turns them into status-bar messages, the benchmark into counts.

Here: ``CaptureLoop`` and ``Pipeline`` (the parts started and stopped together); the slots,
frames and stats they pass along are in ``live_parts``, the worker and its model loader in
``live_worker``.
"""

from __future__ import annotations

import threading
import time

from .errors import StylecamError
from .live_parts import Captured, LatestSlot, Result, Stats, StatsSnapshot, _ignore  # noqa: F401  (re-exported)
from .live_worker import STEADY, Choice, ModelLoader, Worker, processing_max_side  # noqa: F401  (re-exported)
from .sources import Source

RETRY_SECONDS = 3.0


class CaptureLoop:
    """Reads a source on its own thread, paced at the source's rate, into a slot.

    A live source (webcam) that fails is reported and retried every ``retry_s``; any other
    source that fails or ends is reported once and the loop stops.
    """

    def __init__(self, source: Source, slot: LatestSlot, stats: Stats | None = None, *,
                 on_error=_ignore, on_end=_ignore, on_status=_ignore,
                 retry_s: float = RETRY_SECONDS):
        self.source, self.slot, self.stats = source, slot, stats
        self.on_error, self.on_end, self.on_status = on_error, on_end, on_status
        self.retry_s = retry_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stylecam-capture", daemon=True)

    def start(self) -> "CaptureLoop":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        try:
            self.source.close()
        except Exception:  # closing a broken device must not hide the real error
            pass

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        src, index = self.source, 0
        period = 1.0 / float(src.rate) if src.rate else 0.0
        due = time.monotonic()
        failing = False
        while not self._stop.is_set():
            try:
                frame = src.read()
            except StylecamError as exc:
                if not src.live:
                    self.on_error(str(exc))
                    return
                if not failing:  # say it once, not every retry
                    self.on_error(f"{exc}; retrying every {self.retry_s:g} s")
                failing = True
                if self._stop.wait(self.retry_s):
                    return
                try:
                    src.reopen()
                except StylecamError:
                    pass
                due = time.monotonic()
                continue
            except Exception as exc:  # a library error that was not wrapped: report, stop
                self.on_error(f"{src.name}: {type(exc).__name__}: {exc}")
                return
            if failing:
                self.on_status(f"{src.name} is back")
                failing = False
            if frame is None:
                self.on_end(f"{src.name} ended")
                return
            if period:
                # Keep the file's pace; when reading fell behind by more than a frame,
                # start the schedule again instead of rushing to catch up.
                due += period
                delay = due - time.monotonic()
                if delay > 0:
                    if self._stop.wait(delay):
                        return
                elif delay < -period:
                    due = time.monotonic()
            if self.stats is not None:
                self.stats.captured += 1
            if self.slot.put(Captured(frame, time.monotonic(), index)) and self.stats is not None:
                self.stats.dropped += 1
            index += 1


class Pipeline:
    """Source, capture loop, worker and the display slot, started and stopped together.

    ``display`` holds the newest result for whoever paints; ``on_frame`` is called when
    the slot goes from empty to full, so a painter that is busy gets one wake-up, not a queue.
    """

    def __init__(self, source: Source | None = None, *, device: str = "auto",
                 threads: int | None = None, on_frame=_ignore, on_error=_ignore,
                 on_status=_ignore, on_end=_ignore, on_model=_ignore, on_model_failed=_ignore,
                 retry_s: float = RETRY_SECONDS, precision: str = "auto", on_blend=_ignore,
                 on_blend_failed=_ignore, on_upscale=_ignore, on_upscale_failed=_ignore, tier: str = "fast"):
        self.stats = Stats()
        self.slot = LatestSlot()
        self.display = LatestSlot()
        self.on_frame, self.on_error, self.on_status, self.on_end = on_frame, on_error, on_status, on_end
        self.retry_s = retry_s
        self.worker = Worker(self.slot, self.stats, device=device, threads=threads, precision=precision, tier=tier,
                             on_result=self._result, on_error=on_error, on_model=on_model,
                             on_model_failed=on_model_failed, on_blend=on_blend,
                             on_blend_failed=on_blend_failed, on_upscale=on_upscale,
                             on_upscale_failed=on_upscale_failed)
        self.source = source
        self.capture: CaptureLoop | None = None

    def _result(self, result: Result) -> None:
        if not self.display.put(result):
            self.on_frame()

    def start(self) -> "Pipeline":
        self.worker.start()
        if self.source is not None:
            self.set_source(self.source)
        return self

    def set_source(self, source: Source) -> None:
        """Stop the current capture (if any) and read from ``source`` instead."""
        if self.capture is not None:
            self.capture.stop()
        self.source = source
        self.capture = CaptureLoop(source, self.slot, self.stats, on_error=self.on_error,
                                   on_end=self.on_end, on_status=self.on_status,
                                   retry_s=self.retry_s).start()

    def take(self) -> Result | None:
        """The newest result for the painter (None if nothing new); counts it as displayed."""
        result = self.display.take()
        if result is not None:
            self.stats.displayed(result.t)
        return result

    def stop(self) -> None:
        if self.capture is not None:
            self.capture.stop()
        self.worker.stop()
        self.slot.close()
        self.display.close()

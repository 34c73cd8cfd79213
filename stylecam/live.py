"""The live pipeline, without Qt: capture thread → latest-frame slot → inference worker → sinks.

    source ──CaptureLoop (paces, timestamps)──▶ LatestSlot (size 1, newest wins, drops
    counted) ──▶ Worker (owns the sessions; resize → model → blend) ──▶ on_result
                                                                     └──▶ sinks (recorder)

Nothing queues without bound: the slots hold one item, sinks keep their own bounded queues
and drop rather than block the worker. Every thread reports errors through callbacks; the
window turns them into status-bar messages, the benchmark into counts.
"""

from __future__ import annotations

import collections
import math
import statistics
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import frames
from .engine import Engine
from .errors import StylecamError
from .models import ModelInfo
from .process import Processor, Settings
from .sources import Source

RETRY_SECONDS = 3.0
STEADY = 0.6  # Steady: share of the previous output kept (benchmarks/flicker.py: 0.53x flicker)


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


def processing_max_side(height: int, width: int, size_p: int | None) -> int | None:
    """The longer side for a processing size given as a height ("480p"), keeping aspect."""
    if not size_p:
        return None
    short, long = min(height, width), max(height, width)
    return math.ceil(size_p * long / short) if size_p < short else None


@dataclass
class Choice:
    """What the worker should run: ``model`` None means "Original"."""

    model: ModelInfo | None = None
    settings: Settings = field(default_factory=Settings)
    size_p: int | None = None  # processing height; None: the frame's own size


class Worker:
    """The inference worker: owns the onnxruntime sessions and runs one frame at a time.

    onnxruntime's threads do not spin by default (``spin``): the capture and UI threads need
    the same cores, and spinning made the model 1.7x slower on the 2-core machine
    (benchmarks/live.py with and without --spin).

    ``select(model)`` loads a session on a separate loader thread (or takes it from a small
    cache) while the current model keeps painting; only a loaded model is switched to. A
    model that fails to load is reported and the previous one stays.
    """

    def __init__(self, slot: LatestSlot, stats: Stats | None = None, *, device: str = "auto",
                 threads: int | None = None, spin: bool = False, cache_size: int = 3, on_result=_ignore,
                 on_error=_ignore, on_model=_ignore, on_model_failed=_ignore, precision: str = "auto"):
        self.slot, self.stats = slot, stats or Stats()
        self.device, self.threads, self.spin, self.cache_size = device, threads, spin, cache_size
        self.precision = precision
        self.on_result, self.on_error = on_result, on_error
        self.on_model, self.on_model_failed = on_model, on_model_failed
        self.sinks: list = []
        self._settings = Settings()
        self._size_p: int | None = None
        self._steady = False
        self._processor: Processor | None = None  # worker thread only; its stabiliser keeps state
        self._engine: Engine | None = None  # what runs now (None: Original)
        self._cache: collections.OrderedDict = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self._wanted = LatestSlot()  # model load requests: newest wins
        self._stop = threading.Event()
        self._last_error = ""
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name="stylecam-worker", daemon=True)
        self._loader = threading.Thread(target=self._load_loop, name="stylecam-loader", daemon=True)

    # -- control (any thread) -------------------------------------------------------------
    def start(self) -> "Worker":
        self._thread.start()
        self._loader.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wanted.close()
        for t in (self._thread, self._loader):
            if t.is_alive():
                t.join(timeout)

    def select(self, model: ModelInfo | None) -> None:
        """Switch to ``model`` (None: Original) once its session is ready."""
        self._generation += 1  # any load still under way for an older choice is not switched to
        if model is None:
            self._engine = None
            self.on_model(None, "")
            return
        self._wanted.put((self._generation, model))

    def set_settings(self, strength: float | None = None, preserve_color: bool | None = None,
                     size_p: int | None | str = "keep", steady: bool | None = None) -> None:
        """Change what the next frames get; ``steady``: blend along the motion against flicker."""
        if steady is not None:
            self._steady = bool(steady)
        s = self._settings
        # Replace, never mutate: the worker reads one consistent Settings per frame.
        self._settings = Settings(
            strength=s.strength if strength is None else float(strength),
            preserve_color=s.preserve_color if preserve_color is None else bool(preserve_color),
            max_side=None).check()
        if size_p != "keep":
            self._size_p = size_p

    @property
    def engine(self) -> Engine | None:
        return self._engine

    @property
    def settings(self) -> Settings:
        return self._settings

    def add_sink(self, sink) -> None:
        self.sinks = [*self.sinks, sink]  # copy on write: the worker iterates without a lock

    def remove_sink(self, sink) -> None:
        self.sinks = [s for s in self.sinks if s is not sink]

    # -- loading ------------------------------------------------------------------------------
    def _key(self, info: ModelInfo):
        try:
            return (str(info.path), info.path.stat().st_mtime_ns, str(info.int8_path))
        except OSError:
            return (str(info.path), 0, str(info.int8_path))

    def load(self, info: ModelInfo) -> Engine:
        """A session for ``info``: from the cache, else loaded and warmed up (blocking)."""
        key = self._key(info)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        engine = Engine(info, device=self.device, threads=self.threads, spin=self.spin, precision=self.precision)
        engine.warmup(64, 64)
        with self._cache_lock:
            self._cache[key] = engine
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return engine

    def _load_loop(self) -> None:
        while not self._stop.is_set():
            request = self._wanted.get(timeout=0.5)
            if request is None:
                continue
            generation, info = request
            try:
                engine = self.load(info)
            except StylecamError as exc:
                self.on_error(str(exc))
                self.on_model_failed(info, str(exc))
                continue
            except Exception as exc:  # onnxruntime can raise odd things on a strange graph
                msg = f"{info.path}: cannot load it: {type(exc).__name__}: {exc}"
                self.on_error(" ".join(msg.split()))
                self.on_model_failed(info, msg)
                continue
            if generation != self._generation:
                continue  # the user chose something else meanwhile; the session stays cached
            if self.stats is not None:
                self.stats.reset_model()
            self._engine = engine
            self.on_model(engine.info, engine.device if engine.precision == "float" else
                          f"{engine.device} {engine.precision}")

    # -- the loop -----------------------------------------------------------------------------
    def process(self, frame: np.ndarray) -> tuple[np.ndarray, float, str]:
        """Run the current model on one frame: (image, model ms, model name)."""
        engine, settings = self._engine, self._settings
        if engine is None:
            self._processor = None
            return frame, 0.0, ""
        t0 = time.perf_counter()
        h, w = frame.shape[:2]
        max_side = processing_max_side(h, w, self._size_p)
        if engine.info.kind == "sr":
            # Super-resolution enlarges what it gets: feed it the processing size.
            out = engine.run(frames.resize(frame, *frames.fit_max_side(h, w, max_side)))
        else:
            # Steady: the processor blends the style output with its previous one carried along
            # the input's motion, at the processing size; a new model starts a new processor,
            # so it never blends with another model's picture.
            settings = Settings(settings.strength, settings.preserve_color, max_side,
                                stabilize=STEADY if self._steady else 0.0)
            if self._processor is None or self._processor.style is not engine:
                self._processor = Processor(engine, None, settings)
            self._processor.settings = settings
            if not self._steady:
                self._processor.reset()  # turned back on later, it must not blend with old frames
            out = self._processor(frame)
        return out, (time.perf_counter() - t0) * 1000.0, engine.info.name

    def _run(self) -> None:
        while not self._stop.is_set():
            cap = self.slot.get(timeout=0.1)
            if cap is None:
                continue
            try:
                image, ms, name = self.process(cap.frame)
            except Exception as exc:
                # A model that loads but cannot run this frame: say so once, fall back to
                # the original picture rather than stopping the live view.
                msg = str(exc) if isinstance(exc, StylecamError) else f"{type(exc).__name__}: {exc}"
                msg = " ".join(f"model failed on a {cap.frame.shape[1]}x{cap.frame.shape[0]} "
                               f"frame: {msg}".split())
                if msg != self._last_error:
                    self.on_error(msg)
                    self._last_error = msg
                self._engine = None
                self.on_model(None, "")
                image, ms, name = cap.frame, 0.0, ""
            if ms and self.stats is not None:
                self.stats.model(ms)
            result = Result(cap.frame, image, cap.t, cap.index, ms, name)
            for sink in self.sinks:
                sink.submit(result)
            self.on_result(result)


class Pipeline:
    """Source, capture loop, worker and the display slot, started and stopped together.

    ``display`` holds the newest result for whoever paints; ``on_frame`` is called when
    the slot goes from empty to full, so a painter that is busy gets one wake-up, not a queue.
    """

    def __init__(self, source: Source | None = None, *, device: str = "auto",
                 threads: int | None = None, on_frame=_ignore, on_error=_ignore,
                 on_status=_ignore, on_end=_ignore, on_model=_ignore, on_model_failed=_ignore,
                 retry_s: float = RETRY_SECONDS, precision: str = "auto"):
        self.stats = Stats()
        self.slot = LatestSlot()
        self.display = LatestSlot()
        self.on_frame, self.on_error, self.on_status, self.on_end = on_frame, on_error, on_status, on_end
        self.retry_s = retry_s
        self.worker = Worker(self.slot, self.stats, device=device, threads=threads, precision=precision,
                             on_result=self._result, on_error=on_error, on_model=on_model,
                             on_model_failed=on_model_failed)
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

"""The live pipeline's inference side: ``Worker`` runs the chosen model on the newest frame,
``ModelLoader`` loads the sessions it switches to, on a thread of its own.

    LatestSlot ──▶ Worker._run: process(frame) (resize → model → blend, Steady) ──▶ sinks
                                                                            └──▶ on_result
    select(model) ──▶ ModelLoader (cache, or load + warm up) ──▶ Worker switches to it
    select_blend(model) ──▶ a second ModelLoader (same cache) ──▶ Worker mixes it in
    select_upscale(model) ──▶ a third ModelLoader (same cache) ──▶ Worker super-resolves

A blend of two styles trained on one shared trunk runs as one model, their weights mixed
(``live_mix``: made on a thread of its own, the view running what it had meanwhile); any other
blend runs the second style's model on the frame too and mixes the two outputs
(``blend.BlendedStyle``). The mix is read per frame (``set_mix``), so moving it never waits.

An upscale (a super-resolution model chosen with a style, issue 16 item 4) makes the style
run on the frame shrunk by the model's scale and the model bring it back to the frame's own
size (``frames.plan_sizes``, as ``stylecam-render --style S --upscale N`` does): the view
shows full-size output at low-resolution cost.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import frames
from .engine import Engine
from .errors import StylecamError
from .live_mix import LiveBlend, OnePassMixer
from .live_parts import LatestSlot, Result, Stats, _ignore
from .models import ModelInfo
from .process import Processor, Settings

STEADY = 0.6  # Steady: share of the previous output kept (benchmarks/flicker.py: 0.53x flicker)


def _device_label(engine) -> str:
    """What the window says runs a model: "CPU int8", "CUDA quality" (a style's quality tier),
    or the device alone for a fast float model."""
    if engine.precision == "float":
        return f"{engine.device} quality" if getattr(engine, "tier", "fast") == "quality" else engine.device
    return f"{engine.device} {engine.precision}"


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


class ModelLoader:
    """Loads onnxruntime sessions on its own thread, newest request first, and keeps the
    last ``cache_size`` of them, so switching back to a model is instant.

    ``on_loaded(generation, engine)`` is called from the loader thread; a model that fails
    to load is reported through ``on_error`` and ``on_model_failed(info, message)``.
    """

    def __init__(self, *, device: str = "auto", threads: int | None = None, spin: bool = False,
                 precision: str = "auto", cache_size: int = 3, on_loaded=_ignore, on_error=_ignore,
                 on_model_failed=_ignore, shared: "ModelLoader | None" = None, tier: str = "fast"):
        self.device, self.threads, self.spin, self.precision, self.tier = device, threads, spin, precision, tier
        self.cache_size = cache_size
        self.on_loaded, self.on_error, self.on_model_failed = on_loaded, on_error, on_model_failed
        # ``shared``: another loader's cache (the blend's loader uses the main one's)
        self._cache: collections.OrderedDict = shared._cache if shared else collections.OrderedDict()
        self._cache_lock = shared._cache_lock if shared else threading.Lock()
        self._wanted = LatestSlot()  # load requests: newest wins
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stylecam-loader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wanted.close()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request(self, generation: int, info: ModelInfo) -> None:
        self._wanted.put((generation, info))

    def _key(self, info: ModelInfo):
        try:
            stamp = info.path.stat().st_mtime_ns
        except OSError:
            stamp = 0
        return (str(info.path), stamp, str(info.int8_path), str(info.quality_path), self.tier)

    def load(self, info: ModelInfo) -> Engine:
        """A session for ``info``: from the cache, else loaded and warmed up (blocking)."""
        key = self._key(info)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        engine = Engine(info, device=self.device, threads=self.threads, spin=self.spin, precision=self.precision,
                        tier=self.tier)
        engine.warmup(64, 64)
        with self._cache_lock:
            self._cache[key] = engine
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return engine

    def _loop(self) -> None:
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
                msg = " ".join(f"{info.path}: cannot load it: {type(exc).__name__}: {exc}".split())
                self.on_error(msg)
                self.on_model_failed(info, msg)
                continue
            self.on_loaded(generation, engine)


class Worker:
    """The inference worker: runs the current model on one frame at a time.

    onnxruntime's threads do not spin by default (``spin``): the capture and UI threads need
    the same cores, and spinning made the model 1.7x slower on the 2-core machine
    (benchmarks/live.py with and without --spin).

    ``select(model)`` has the ``ModelLoader`` load a session (or take it from its cache) while
    the current model keeps painting; only a loaded model is switched to. A model that fails
    to load is reported and the previous one stays; one that fails on a frame is reported
    once and the original picture is shown. ``tier`` (``engine.choose_tier``) is every style's.
    """

    def __init__(self, slot: LatestSlot, stats: Stats | None = None, *, device: str = "auto",
                 threads: int | None = None, spin: bool = False, cache_size: int = 3, on_result=_ignore,
                 on_error=_ignore, on_model=_ignore, on_model_failed=_ignore, precision: str = "auto",
                 on_blend=_ignore, on_blend_failed=_ignore, on_upscale=_ignore, on_upscale_failed=_ignore,
                 tier: str = "fast"):
        self.slot, self.stats = slot, stats or Stats()
        self.on_result, self.on_error, self.on_model = on_result, on_error, on_model
        self.loader = ModelLoader(device=device, threads=threads, spin=spin, precision=precision, tier=tier,
                                  cache_size=cache_size, on_loaded=self._loaded, on_error=on_error,
                                  on_model_failed=on_model_failed)
        # the blend's second style loads on a thread of its own, so a request for it and one
        # for the main style (both at start-up) never replace each other
        self.on_blend = on_blend
        self.blend_loader = ModelLoader(device=device, threads=threads, spin=spin, precision=precision, tier=tier,
                                        cache_size=cache_size, on_loaded=self._blend_loaded,
                                        on_error=on_error, on_model_failed=on_blend_failed, shared=self.loader)
        # the upscale's super-resolution model: a loader of its own too
        self.on_upscale = on_upscale
        self.upscale_loader = ModelLoader(device=device, threads=threads, spin=spin, precision=precision,
                                          cache_size=cache_size, on_loaded=self._upscale_loaded,
                                          on_error=on_error, on_model_failed=on_upscale_failed, shared=self.loader)
        self._upscale_engine: Engine | None = None  # super-resolution after the style (None: none)
        self._upscale_generation = 0
        self._blend_engine: Engine | None = None  # the second style (None: no blend)
        self._blend_generation = 0
        self._mix = 0.5  # share of the second style, 0..1
        # one-pass blends (styles of one trunk): their sessions load on a thread of their own
        self.mix_loader = ModelLoader(device=device, threads=threads, spin=spin, precision=precision, cache_size=1)
        self.blend = LiveBlend(OnePassMixer(self.mix_loader.load, int8=precision != "float", on_error=on_error))
        self._family = None  # what the processor was made for (worker thread only)
        self.sinks: list = []
        self._settings = Settings()
        self._size_p: int | None = None
        self._steady = False
        self._processor: Processor | None = None  # worker thread only; its stabiliser keeps state
        self._engine: Engine | None = None  # what runs now (None: Original)
        self._stop = threading.Event()
        self._last_error = ""
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name="stylecam-worker", daemon=True)

    # -- control (any thread) -------------------------------------------------------------
    def start(self) -> "Worker":
        self._thread.start()
        self.loader.start()
        self.blend_loader.start()
        self.upscale_loader.start()
        self.blend.mixer.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.loader.stop(timeout)
        self.blend_loader.stop(timeout)
        self.upscale_loader.stop(timeout)
        self.blend.mixer.stop(timeout)
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def spin(self) -> bool:
        return self.loader.spin

    @spin.setter
    def spin(self, value: bool) -> None:
        self.loader.spin = self.blend_loader.spin = self.upscale_loader.spin = self.mix_loader.spin = value

    def load(self, info: ModelInfo) -> Engine:
        """A session for ``info`` (blocking; cached)."""
        return self.loader.load(info)

    def select(self, model: ModelInfo | None) -> None:
        """Switch to ``model`` (None: Original) once its session is ready."""
        self._generation += 1  # any load still under way for an older choice is not switched to
        if model is None:
            self._engine = None
            self.on_model(None, "")
            return
        self.loader.request(self._generation, model)

    def _loaded(self, generation: int, engine: Engine) -> None:
        if generation != self._generation:
            return  # the user chose something else meanwhile; the session stays cached
        if self.stats is not None:
            self.stats.reset_model()
        self._engine = engine
        self.on_model(engine.info, _device_label(engine))

    def select_blend(self, model: ModelInfo | None) -> None:
        """Mix ``model`` (a style) into the current style once its session is ready; None: no blend."""
        self._blend_generation += 1
        if model is None:
            self._blend_engine = None
            self.on_blend(None, "")
            return
        self.blend_loader.request(self._blend_generation, model)

    def _blend_loaded(self, generation: int, engine: Engine) -> None:
        if generation != self._blend_generation:
            return
        if engine.info.kind != "style":
            self.on_error(f"{engine.info.name} is not a style; it cannot be blended")
            return
        if self.stats is not None:
            self.stats.reset_model()
        self._blend_engine = engine
        self.on_blend(engine.info, _device_label(engine))

    def select_upscale(self, model: ModelInfo | None) -> None:
        """Super-resolve the style's output with ``model`` (an SR model) once its session is
        ready: the style then runs at 1/scale and comes back at the frame's size; None: none."""
        self._upscale_generation += 1
        if model is None:
            self._upscale_engine = None
            self.on_upscale(None, "")
            return
        self.upscale_loader.request(self._upscale_generation, model)

    def _upscale_loaded(self, generation: int, engine: Engine) -> None:
        if generation != self._upscale_generation:
            return
        if engine.info.kind != "sr":
            self.on_error(f"{engine.info.name} is a style, not a super-resolution model; it cannot upscale")
            return
        if self.stats is not None:
            self.stats.reset_model()
        self._upscale_engine = engine
        self.on_upscale(engine.info, _device_label(engine))

    @property
    def upscale_engine(self) -> Engine | None:
        return self._upscale_engine

    def set_mix(self, mix: float) -> None:
        """The second style's share, 0..1 (0: the first style alone); read per frame."""
        self._mix = min(1.0, max(0.0, float(mix)))

    @property
    def mix(self) -> float:
        return self._mix

    @property
    def blend_engine(self) -> Engine | None:
        return self._blend_engine

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

    # -- the frame path (worker thread) -----------------------------------------------------
    def process(self, frame: np.ndarray) -> tuple[np.ndarray, float, str]:
        """Run the current model on one frame: (image, model ms, model name)."""
        engine, settings = self._engine, self._settings
        if engine is None or engine.info.kind == "sr":
            self.blend.passes = 0  # no style to blend
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
            # An upscale: the style runs at 1/scale (and at most max_side), the SR model brings
            # it back to the frame's size (frames.plan_sizes).
            # A blend: one model or two (``live_mix``); while only the mix moves, the processor
            # stays (its style swapped), so Steady carries on.
            style, family = self.blend.style(engine, self._blend_engine, self._mix)
            up, p = self._upscale_engine, self._processor
            if p is None or self._family != family or p.upscale is not up:
                self._processor, self._family = Processor(style, up, settings), family
            self._processor.style = style
            self._processor.settings = settings
            if not self._steady:
                self._processor.reset()  # turned back on later, it must not blend with old frames
            out = self._processor(frame)
            name = f"{style.info.name}+{up.info.name}" if up is not None else style.info.name
            return out, (time.perf_counter() - t0) * 1000.0, name
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

"""The live view's blend of two styles: one pass when they share a trunk, two otherwise.

    Worker.process ──▶ LiveBlend.style(engine, other, mix)
        one trunk (mixing.one_pass): the one-pass engine of the rounded mix, once it is ready;
            until then OnePassMixer (a thread of its own, newest request wins) makes it
            (mixing.mixed_model, then a session) while the newest one-pass engine of the two
            styles runs, else their two-pass BlendedStyle
        otherwise: blend.BlendedStyle, both models on the frame and the pictures mixed

Styles trained together on one shared trunk differ only in per-channel scales and shifts, so
their models' weights mixed are exactly the blended style (``stylecam.mixing``): one model,
one style's cost. Making that model takes a moment (about 0.05 s, +1.5 s for its int8 variant,
then a session), so it never happens on the worker or the UI thread: moving the mix slider
never stalls the view, which switches to the new mix's engine when it is there. Weights are
rounded to ``mixing.STEP``; a mix that rounds to 0 or 1 is that style alone.

Qt-free and torch-free.
"""

from __future__ import annotations

import collections
import threading

from .blend import BlendedStyle, BlendInfo
from .errors import StylecamError
from .live_parts import LatestSlot, _ignore
from .mixing import mixed_model, one_pass, rounded


class OnePassMixer:
    """One-pass engines of two trunk styles' blends, made on a thread of its own.

    ``load(info)`` makes a warmed-up session (the worker passes a ``ModelLoader``'s); the
    last ``cache_size`` engines are kept, so moving the slider back is instant. A pair that
    cannot be mixed is said once (``on_error``) and keeps blending in two passes.
    """

    def __init__(self, load, *, int8: bool = True, folder=None, cache_size: int = 4, on_error=_ignore):
        self.load, self.int8, self.folder, self.cache_size = load, int8, folder, cache_size
        self.on_error = on_error
        self._lock = threading.Lock()
        self._ready: collections.OrderedDict = collections.OrderedDict()  # (a, b, w) -> engine
        self._newest = None  # ((a, b), engine): the last one-pass engine made or run
        self._asked = None  # the last (a, b, w) requested, so a frame asks once
        self._failed: set = set()  # (path, path) pairs that do not mix
        self._wanted = LatestSlot()  # requests: newest wins
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stylecam-mixer", daemon=True)

    def start(self) -> "OnePassMixer":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wanted.close()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def engine_for(self, a, b, mix: float):
        """The one-pass engine of ``a`` and ``b`` (engines of one trunk's styles) at ``mix``,
        rounded; while it is made (asked for here, never waited for), the newest one-pass
        engine of the two; None when there is none yet or the two do not mix."""
        w = rounded([1.0 - mix, mix])[1]
        if w <= 0:
            return a
        if w >= 1:
            return b
        key, pair = (a, b, w), (a, b)
        with self._lock:
            if (a.info.path, b.info.path) in self._failed:
                return None
            got = self._ready.get(key)
            if got is not None:
                self._ready.move_to_end(key)
                self._newest = (pair, got)
                return got
            newest = self._newest[1] if self._newest is not None and self._newest[0] == pair else None
            if key != self._asked:
                self._asked = key
                self._wanted.put(key)
        return newest

    def _loop(self) -> None:
        while not self._stop.is_set():
            key = self._wanted.get(timeout=0.5)
            if key is None:
                continue
            a, b, w = key
            try:
                engine = self.load(mixed_model([a.info, b.info], [1.0 - w, w], folder=self.folder, int8=self.int8))
            except Exception as exc:  # onnxruntime can raise odd things on a strange graph
                msg = str(exc) if isinstance(exc, StylecamError) else f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self._failed.add((a.info.path, b.info.path))
                self.on_error(" ".join(f"{a.info.name} and {b.info.name} do not blend in one pass: "
                                       f"{msg}; blending in two passes".split()))
                continue
            with self._lock:
                self._ready[key] = engine
                while len(self._ready) > self.cache_size:
                    self._ready.popitem(last=False)
                self._newest = ((a, b), engine)


class LiveBlend:
    """What runs as the style of a frame: the engine alone, or blended with a second style.

    ``passes`` and ``current`` say what the last frame ran (0 passes: no blend; 1: one model,
    the styles' weights mixed; 2: both models, the pictures mixed). Worker thread only.
    """

    def __init__(self, mixer: OnePassMixer):
        self.mixer = mixer
        self._blended: BlendedStyle | None = None
        self.passes = 0
        self.current = None

    def style(self, engine, other, mix: float):
        """(style, family): the style to run, and what stays the same while only the mix moves
        (so the worker keeps its processor, and Steady carries on)."""
        if other is None or mix <= 0 or other is engine or other.info.path == engine.info.path:
            self.passes, self.current = 0, engine
            return engine, engine  # no blend, none of it, or the same style twice
        family = (engine, other)
        one = self.mixer.engine_for(engine, other, mix) if one_pass([engine.info, other.info]) else None
        if one is not None:
            self.passes, self.current = 1, one
            return one, family
        b = self._blended
        if b is None or b.engines[0] is not engine or b.engines[1] is not other:
            b = self._blended = BlendedStyle([engine, other], [1 - mix, mix])
        b.weights = [1 - mix, mix]
        b.info = BlendInfo(f"{engine.info.name}:{round(1 - mix, 2):g},{other.info.name}:{round(mix, 2):g}")
        self.passes, self.current = 2, b
        return b, family

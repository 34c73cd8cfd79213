"""onnxruntime sessions for stylecam models: device choice, threads, warm-up.

``Engine`` runs one model. The provider that actually runs is read back from the session
(``session.get_providers()``), because onnxruntime-gpu silently falls back to the CPU.
On CUDA a frame goes through IO binding: the uint8 frame is copied into a device buffer made
once per frame shape, the model writes into a device output bound the same way, and the
picture is read back once (no device allocation per frame). On the CPU it does not (plain
``session.run`` is what the CPU figures were measured with). ``stylecam.cuda`` finds the
CUDA libraries and says why CUDA cannot run.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .errors import DeviceError, ModelError, UsageError
from .frames import as_frame
from .models import Catalog, ModelInfo, cache_dir, quality_path, variant_path

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "float", "int8")  # auto: the int8 variant on the CPU when there is one
TIERS = ("auto", "fast", "quality")  # auto: a style's quality tier on CUDA when it has one
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# cuDNN's algorithm search per conv and frame shape (EXHAUSTIVE: timed once a shape, the fastest
# kept; HEURISTIC: no first-frame cost), and an arena that grows by what is asked, not doubling
CUDA_OPTIONS = {"cudnn_conv_algo_search": "EXHAUSTIVE", "arena_extend_strategy": "kSameAsRequested",
                "do_copy_in_default_stream": "1"}


def default_threads() -> int:
    """Intra-op threads: every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@functools.lru_cache(maxsize=1)
def cuda_usable() -> bool:
    """True when onnxruntime can really start its CUDA provider here (probed once, quietly)."""
    if CUDA not in ort.get_available_providers():
        return False
    from .cuda import preload
    from .testing import contract_graph

    preload()  # pip's CUDA and cuDNN libraries (the cuda extra), which no loader path names  # tiny identity model, built in memory

    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    ort.set_default_logger_severity(4)  # a failed CUDA load logs errors on the default logger
    try:
        sess = ort.InferenceSession(contract_graph().SerializeToString(), opts, providers=[CUDA, CPU])
    except Exception:
        return False
    finally:
        ort.set_default_logger_severity(3)
    return sess.get_providers()[0] == CUDA


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
    """The CPU's name: an optimised graph may use instructions another CPU lacks."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        import platform
        return platform.processor()


def _cached_path(model: Path) -> Path:
    """A cache file name that changes when the model, onnxruntime or the CPU flags change."""
    st = model.stat()
    key = (f"{model.resolve()}|{st.st_size}|{st.st_mtime_ns}|{ort.__version__}|{ort.get_device()}"
           f"|{_cpu_model()}")
    return cache_dir() / f"{model.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.ort.onnx"


def _providers(device: str) -> list[str]:
    if device not in DEVICES:
        raise DeviceError(f"unknown device '{device}'; use one of {', '.join(DEVICES)}")
    if device == "cpu":
        return [CPU]
    if device == "cuda" and not cuda_usable():
        from .cuda import unusable_reason

        raise DeviceError(f"--device cuda: CUDA is not usable here: {unusable_reason()}")
    return [CUDA, CPU] if cuda_usable() else [CPU]


def _choose(info: ModelInfo, precision: str, on_cpu: bool, threads: int = 2) -> Path:
    """The file to run: the int8 variant when asked for, or by default on the CPU when its
    picture holds on this CPU (``fidelity.int8_verdict``: checked once, cached). On CUDA
    ``auto`` is the float model: int8 variants are for the CPU."""
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision '{precision}'; use one of {', '.join(PRECISIONS)}")
    if precision == "int8" and info.int8_path is None and info.precision != "int8":
        raise ModelError(f"{info.name}: no int8 variant ({variant_path(info.path).name}); "
                         "make one with stylecam-quantize, or use precision auto or float")
    if info.int8_path is not None and precision == "int8":
        return Path(info.int8_path)
    if info.int8_path is not None and precision == "auto" and on_cpu:
        from .fidelity import int8_verdict

        if int8_verdict(info, threads).ok:
            return Path(info.int8_path)
    return Path(info.path)


def choose_tier(info: ModelInfo, tier: str, on_cuda: bool, precision: str = "auto") -> str:
    """The tier to run, "fast" or "quality"; ``on_cuda``: the engine runs on CUDA.

    fast: ``info``'s own file (``_choose`` then picks float or its int8 variant); quality: its
    quality tier (``info.quality_path``, always float); auto: the quality tier on CUDA when
    there is one and int8 was not asked for, else fast (the paper's net is too slow live on a CPU).
    """
    if tier not in TIERS:
        raise UsageError(f"unknown tier '{tier}'; use one of {', '.join(TIERS)}")
    if info.tier == "quality" and info.quality_path is None:
        return "quality"  # a quality-tier file given by itself: it is the only network there is
    if tier == "quality" and precision == "int8":
        raise UsageError(f"{info.name}: the quality tier runs in float only; "
                         "use precision auto or float with it, or tier fast for int8")
    if tier == "quality" and info.quality_path is None:
        raise ModelError(f"{info.name} has no quality tier ({quality_path(info.path).name}); "
                         "train one with stylecam-train --tier quality")
    if tier == "quality" or (tier == "auto" and on_cuda and info.quality_path is not None and precision != "int8"):
        return "quality"
    return "fast"


class _Binding:
    """IO binding of one session: input and output buffers on ``device`` made once per frame
    shape (re-made when it changes); one frame at a time (the buffers are shared)."""

    def __init__(self, session: ort.InferenceSession, device: str, scale: int):
        self.session, self.device, self.scale = session, device, scale
        self.io = session.io_binding()
        self.shape: tuple | None = None
        self.lock = threading.Lock()

    def run(self, frame: np.ndarray, options: ort.RunOptions) -> np.ndarray:
        with self.lock:
            if frame.shape != self.shape:
                h, w, _ = frame.shape
                make = ort.OrtValue.ortvalue_from_shape_and_type
                self.input = make(frame.shape, np.uint8, self.device, 0)
                self.output = make((h * self.scale, w * self.scale, 3), np.uint8, self.device, 0)
                self.io.bind_ortvalue_input("frame", self.input)
                self.io.bind_ortvalue_output("image", self.output)
                self.shape = frame.shape
            self.input.update_inplace(frame)
            self.session.run_with_iobinding(self.io, options)
            out = self.output.numpy()  # from the GPU: a new host array, the one copy back
            return out.copy() if self.device == "cpu" else out  # on the CPU: a view of the buffer


class Engine:
    """One onnxruntime session for one stylecam model.

    ``io_binding``: None (default) binds on CUDA, not on the CPU; True or False forces it
    (benchmarks/ort_cuda.py times both). ``cuda_options`` updates ``CUDA_OPTIONS``.
    ``tier``: "fast" (default), "quality" or "auto" (``choose_tier``); ``self.tier`` says which runs.
    """

    def __init__(self, model: ModelInfo | str | os.PathLike, device: str = "auto",
                 threads: int | None = None, cache: bool = True, spin: bool = False,
                 precision: str = "auto", io_binding: bool | None = None,
                 cuda_options: dict | None = None, tier: str = "fast"):
        # a path gets its int8 variant and quality tier attached, as the catalog does for names
        self.info = model if isinstance(model, ModelInfo) else Catalog().resolve(Path(model))
        providers = _providers(device)
        self.tier = choose_tier(self.info, tier, on_cuda=providers[0] == CUDA, precision=precision)
        if self.tier == "quality":
            path = Path(self.info.quality_path or self.info.path)
        else:
            path = _choose(self.info, precision, on_cpu=providers == [CPU], threads=threads or default_threads())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        if not spin:
            # Idle intra-op threads busy-wait by onnxruntime's default; stylecam always has other
            # threads on the same cores (decode, encode, capture, UI), so they sleep instead:
            # 1.6-1.9x faster in the window and +19 points of render/model throughput here
            # (benchmarks/live.py --spin, benchmarks/render_speed.py --also-spinning).
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = path
        # On the CPU, keep the fully optimised graph: the next session of this model (a style
        # switch, the next run) loads it without optimising again.
        cached = _cached_path(source) if cache and providers == [CPU] else None
        if cached is not None and cached.is_file():
            source, level = cached, ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        else:
            level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if cached is not None:
                try:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    opts.optimized_model_filepath = str(cached)
                except OSError:  # a read-only cache costs time, never a failure
                    pass
        opts.graph_optimization_level = level
        chosen = [(CUDA, CUDA_OPTIONS | (cuda_options or {})) if p == CUDA else p for p in providers]
        try:
            self.session = ort.InferenceSession(str(source), opts, providers=chosen)
        except Exception as exc:
            if source != path:  # a stale or broken cache entry: start over
                cached.unlink(missing_ok=True)
                self.__init__(self.info, device, threads, cache=False, spin=spin, precision=precision,
                              io_binding=io_binding, cuda_options=cuda_options, tier=tier)
                return
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"{path}: onnxruntime cannot load it: {first}") from None
        self.providers = self.session.get_providers()
        if device == "cuda" and self.providers[0] != CUDA:
            from .cuda import unusable_reason

            raise DeviceError(f"--device cuda: onnxruntime fell back to the CPU for {path.name}: "
                              f"{unusable_reason()}")
        self.threads = opts.intra_op_num_threads
        self.path = path
        self.precision = "int8" if path == self.info.int8_path or self.info.precision == "int8" else "float"
        # a node that fails logs its own multi-line error before the exception reaches the
        # caller, which makes the one line of it: the run's log is off
        self.run_options = ort.RunOptions()
        self.run_options.log_severity_level = 4
        on_cuda = self.providers[0] == CUDA
        bind = on_cuda if io_binding is None else io_binding
        self._binding = _Binding(self.session, "cuda" if on_cuda else "cpu", self.info.scale) if bind else None
        self.io_binding = bind

    @property
    def device(self) -> str:
        """'CUDA' or 'CPU': what really runs this model."""
        return "CUDA" if self.providers[0] == CUDA else "CPU"

    def run(self, frame: np.ndarray) -> np.ndarray:
        """The model on one (H, W, 3) uint8 RGB frame; returns (H*s, W*s, 3) uint8."""
        frame = as_frame(frame)
        if min(frame.shape[:2]) < 32:
            raise ValueError(f"frames must be at least 32x32, got {frame.shape[1]}x{frame.shape[0]}")
        if self._binding is not None:
            return self._binding.run(frame, self.run_options)
        return self.session.run(["image"], {"frame": frame}, self.run_options)[0]

    def warmup(self, height: int = 240, width: int = 320) -> None:
        """Run once so the first real frame does not pay for allocation and kernel choice."""
        self.run(np.zeros((height, width, 3), np.uint8))

    def __repr__(self) -> str:
        return f"Engine({self.info.name!r}, {self.device}, {self.precision}, {self.tier}, threads={self.threads})"

"""int8 variants checked on the machine that runs them: once, then cached.

onnxruntime's int8 kernels differ by CPU. A variant made (and checked) on an AVX-512 VNNI CPU
strayed much further from its float model on an AVX2-only one (wave: 34.1 dB mean there,
29.8 here; its U8S8 kernels can saturate their 16-bit sums), so a check at quantisation time
does not hold everywhere. Before ``--precision auto`` runs a variant on the CPU, the variant and
its float model run here on a few crops of the demo photo, and the variant is used only when
its picture stays within ``MIN_MEAN_DB`` (mean) and ``MIN_WORST_DB`` (worst crop) of the float
one; otherwise the float model runs. The verdict is kept in the cache folder
(``int8_checks.json``), keyed by both files, onnxruntime's version and the CPU's vector
instructions, so each variant costs about a second once per machine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .frames import psnr
from .models import ModelInfo, cache_dir

MIN_MEAN_DB = 32.0  # issue 16's bar for --precision auto: the float picture kept on any CPU
MIN_WORST_DB = 30.0
CHECKS_FILE = "int8_checks.json"
# the instructions that choose onnxruntime's int8 kernels (MLAS): a CPU with other ones gets its own check
ISA_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16",
             "asimd", "asimddp", "i8mm", "sve")
DEMO = Path(__file__).resolve().parent / "assets" / "demo.jpg"


@dataclass(frozen=True)
class Verdict:
    """How far an int8 variant's picture is from its float model's, on this machine."""

    ok: bool
    mean_db: float
    worst_db: float
    frames: int
    cpu: str

    def text(self) -> str:
        return f"{self.mean_db:.1f} dB mean, {self.worst_db:.1f} dB worst over {self.frames} crops on {self.cpu}"


@functools.lru_cache(maxsize=1)
def cpu_isa() -> str:
    """The CPU's int8-relevant vector instructions, e.g. "avx2 avx512f avx512bw avx512_vnni"."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    have = set(line.split(":", 1)[1].split())
                    return " ".join(flag for flag in ISA_FLAGS if flag in have) or "none"
    except OSError:
        pass
    import platform
    return f"{platform.machine()} {platform.processor()}".strip()


def check_frames() -> list[np.ndarray]:
    """What the check runs on: four 192x256 crops and the whole demo photo at 240x240 (RGB)."""
    import cv2

    image = cv2.imread(str(DEMO))
    if image is None:  # a trimmed install: a textured synthetic picture still exercises the kernels
        from .testing import moving_frame
        return [moving_frame(i * 7, 192, 256) for i in range(5)]
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    crops = [rgb[y:y + 192, x:x + 256] for y in (0, h - 192) for x in (0, w - 256)]
    return [np.ascontiguousarray(c) for c in crops] + [cv2.resize(rgb, (240, 240), interpolation=cv2.INTER_AREA)]


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _key(info: ModelInfo) -> str:
    text = f"{_stamp(info.path)}|{_stamp(Path(info.int8_path))}|{ort.__version__}|{cpu_isa()}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def compare(fsess, qsess, scale: int = 1, frames: list[np.ndarray] | None = None) -> tuple[float, float]:
    """(mean, worst) dB of the int8 session's pictures against the float one's on ``frames``
    (default ``check_frames()``)."""
    frames = check_frames() if frames is None else frames
    if scale > 1:  # super-resolution enlarges its input: half-size crops keep the check short
        frames = [np.ascontiguousarray(f[::2, ::2]) for f in frames]
    scores = [psnr(qsess.run(["image"], {"frame": f})[0], fsess.run(["image"], {"frame": f})[0])
              for f in frames]
    finite = [s if math.isfinite(s) else 99.0 for s in scores]
    return float(np.mean(finite)), float(min(finite))


def passes(mean: float, worst: float) -> bool:
    return mean >= MIN_MEAN_DB and worst >= MIN_WORST_DB


def measure(info: ModelInfo, threads: int = 2) -> Verdict:
    """Run the float model and its int8 variant on ``check_frames()`` here and compare."""
    frames = check_frames()
    mean, worst = compare(_session(info.path, threads), _session(Path(info.int8_path), threads), info.scale, frames)
    return Verdict(passes(mean, worst), round(mean, 2), round(worst, 2), len(frames), cpu_isa())


_lock = threading.Lock()
_known: dict[str, Verdict] = {}


def int8_verdict(info: ModelInfo, threads: int = 2, cache: Path | None = None) -> Verdict:
    """The verdict for ``info``'s int8 variant on this machine: from the cache, else measured now."""
    path = (cache or cache_dir()) / CHECKS_FILE
    key = _key(info)
    with _lock:  # the render's workers load the same model at once: one check
        if key in _known:
            return _known[key]
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
        if isinstance(saved.get(key), dict):
            try:
                verdict = Verdict(**{k: v for k, v in saved[key].items() if k in Verdict.__dataclass_fields__})
                _known[key] = verdict
                return verdict
            except TypeError:  # written by another version: measure again
                pass
        try:
            verdict = measure(info, threads)
        except Exception:  # a file onnxruntime refuses: run the float model, whose load says why
            return Verdict(False, 0.0, 0.0, 0, cpu_isa())
        _known[key] = verdict
        saved[key] = asdict(verdict) | {"model": info.name}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
            tmp.write_text(json.dumps(saved, indent=1, sort_keys=True))
            os.replace(tmp, path)
        except OSError:  # a read-only cache: checked again next run, never a failure
            pass
        return verdict


def main() -> int:
    """``python -m stylecam.fidelity``: every model's int8 verdict on this machine, measured now."""
    from .models import Catalog

    print(f"cpu: {cpu_isa()}; onnxruntime {ort.__version__}; need >= {MIN_MEAN_DB:g} dB mean, "
          f">= {MIN_WORST_DB:g} dB worst")
    for info in Catalog().models():
        if info.int8_path is not None:
            v = measure(info)
            print(f"{info.name:20s} {v.mean_db:6.2f} {v.worst_db:6.2f}  {'int8' if v.ok else 'float (int8 strays)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

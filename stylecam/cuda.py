"""onnxruntime's CUDA provider: find its libraries, and say in one line why it cannot run.

onnxruntime-gpu 1.31 links CUDA 13 and cuDNN 9 but brings neither. ``pip install
"stylecam[cuda]"`` adds them as NVIDIA's pip packages (``nvidia/cu13/lib`` and
``nvidia/cudnn/lib`` in site-packages), a folder no loader path names: ``preload()`` opens
them from there before the first CUDA session (what ``onnxruntime.preload_dlls()`` does, but
quietly and over every ``sys.path`` folder, so an install with ``pip --target`` works too).
``unusable_reason()`` says why the provider cannot start: onnxruntime's CPU build, no NVIDIA
driver, a driver too old for CUDA 13, no GPU, or the first CUDA/cuDNN library that cannot be
opened, each with the one command (or step) that fixes it.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from pathlib import Path

import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
DRIVER = "libcuda.so.1"
# Checked in this order and the first missing one named: libcublas.so.13 cannot open without
# libcublasLt.so.13, so the dependency comes first and the message names the real culprit.
LIBS = ("libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudnn.so.9")
OPTIONAL = ("libnvrtc.so.13", "libcufft.so.12")  # opened when there, never asked for
CUDA_MAJOR = 13  # of onnxruntime-gpu 1.31.1's build (the version the cuda extra pins)
FIX = 'pip install "stylecam[cuda]"'


def load_library(name: str) -> str | None:
    """Open a shared library (a name or a path) for the whole process: None, or why not."""
    try:
        ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        return str(exc) or "cannot be opened"
    return None


def nvidia_lib_dirs() -> list[Path]:
    """Every ``nvidia/*/lib`` folder under the folders Python imports from (pip's CUDA wheels)."""
    dirs: list[Path] = []
    for entry in dict.fromkeys(sys.path):
        base = Path(entry or ".") / "nvidia"
        if base.is_dir():
            dirs += sorted(p for p in base.glob("*/lib") if p.is_dir() and p not in dirs)
    return dirs


@functools.lru_cache(maxsize=1)
def preload() -> tuple[str, ...]:
    """Open the CUDA and cuDNN libraries found in pip's nvidia folders (once); the ones opened."""
    if not sys.platform.startswith("linux") or CUDA not in ort.get_available_providers():
        return ()
    opened = []
    dirs = nvidia_lib_dirs()
    for name in LIBS + OPTIONAL:
        for d in dirs:
            if (d / name).is_file():
                if load_library(str(d / name)) is None:
                    opened.append(str(d / name))
                break
    return tuple(opened)


def driver_status() -> tuple[int, int]:
    """(CUDA version the driver supports as 13000 for 13.0, GPUs it sees), asked through
    libcuda itself; (0, 0) when it cannot say."""
    try:
        lib = ctypes.CDLL(DRIVER)
        version, count = ctypes.c_int(0), ctypes.c_int(0)
        if lib.cuDriverGetVersion(ctypes.byref(version)) != 0:
            return 0, 0
        if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return version.value, 0
        return version.value, count.value
    except (OSError, AttributeError):
        return 0, 0


def unusable_reason() -> str:
    """Why onnxruntime's CUDA provider cannot run here, as one clause ending with the fix."""
    if CUDA not in ort.get_available_providers():
        return (f"onnxruntime {ort.__version__} here is its CPU build; fix: "
                f"pip uninstall -y onnxruntime && {FIX}")
    if not sys.platform.startswith("linux"):  # Windows: the DLL names differ; the fix does not
        return f"onnxruntime cannot load CUDA 13 or cuDNN 9; fix: {FIX}"
    if load_library(DRIVER) is not None:
        return (f"no NVIDIA driver ({DRIVER} not found); install the NVIDIA driver "
                "(580 or newer for CUDA 13), or use --device cpu or auto")
    version, gpus = driver_status()
    if 0 < version < CUDA_MAJOR * 1000:
        return (f"the NVIDIA driver supports CUDA {version // 1000}.{version % 1000 // 10}, onnxruntime-gpu "
                f"needs CUDA {CUDA_MAJOR}; update the driver (580 or newer), or use --device cpu or auto")
    if version and not gpus:
        return "the NVIDIA driver sees no GPU (check nvidia-smi), or use --device cpu or auto"
    preload()
    for name in LIBS:
        if load_library(name) is not None:
            return f"{name} is missing; fix: {FIX}"
    return ("onnxruntime could not start its CUDA provider though every CUDA 13 and cuDNN 9 library "
            f"opens; reinstall with {FIX}, or use --device cpu or auto")

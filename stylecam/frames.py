"""Pure frame maths on uint8 RGB arrays of shape (H, W, 3). No Qt, no onnxruntime."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MIN_SIDE = 32  # the model contract's smallest H and W


def fit_max_side(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """(h, w) with the same aspect whose longer side is at most ``max_side``.

    Never upscales, never goes below the contract's 32 pixels a side.
    """
    if not max_side or max(height, width) <= max_side:
        return height, width
    k = max_side / max(height, width)
    return max(MIN_SIDE, round(height * k)), max(MIN_SIDE, round(width * k))


@dataclass(frozen=True)
class SizePlan:
    """The sizes one frame goes through (each ``(height, width)``), from ``plan_sizes``."""

    style: tuple[int, int] | None  # what the style model runs at (None: no style)
    base: tuple[int, int]  # the style output comes back to this, mixed with the frame at this size;
    #                        with super-resolution, what the SR model gets
    out: tuple[int, int]  # the output
    sr_out: tuple[int, int] | None = None  # what the SR model gives (base x scale; None: no SR);
    #                                        when it is not ``out``, one last resize to ``out``


def _scaled(n: int, k: float) -> int:
    """``n * k``: exact when it is a whole number (a kept size, x2, x4), else the nearest even
    number (a size chosen here plays in 4:2:0 video, which needs even sides)."""
    exact = n * k
    if abs(exact - round(exact)) < 1e-9:
        return int(round(exact))
    return max(2, 2 * round(exact / 2))


def plan_sizes(height: int, width: int, *, style: bool, sr_scale: int = 1, max_side: int | None = None,
               out_scale: float | None = None) -> SizePlan:
    """The sizes of the frame path for a ``height`` x ``width`` input (issue 16, item 4).

    The output is ``out_scale`` x the input; by default the input's own size when a style
    runs (with super-resolution too: the style runs small and the SR model brings it back,
    HD output at low-resolution cost) and ``sr_scale`` x the input for super-resolution alone.
    With SR the frame is shrunk to output / ``sr_scale`` (``base``), the style runs there
    (at most ``max_side`` a side: the style output is then resized to ``base``) and SR makes
    ``base`` x ``sr_scale``, resized to the output when rounding made it differ. No side goes
    below the model contract's 32 pixels (a small input's ``base`` grows, keeping its aspect). ``ValueError`` (one line) for what cannot be done:
    an ``out_scale`` without SR, or an output below 32 a side.
    """
    if out_scale is not None and out_scale <= 0:
        raise ValueError(f"--out-scale must be more than 0, got {out_scale:g}")
    if sr_scale <= 1:
        if out_scale not in (None, 1):
            raise ValueError("--out-scale needs --upscale: the super-resolution model makes the output size")
        out = (height, width)
        return SizePlan(fit_max_side(height, width, max_side) if style else None, out, out)
    k = out_scale if out_scale is not None else (1 if style else sr_scale)
    out = (_scaled(height, k), _scaled(width, k))
    if min(out) < MIN_SIDE:
        raise ValueError(f"{width}x{height} x{k:g} would be {out[1]}x{out[0]}; "
                         f"stylecam needs at least {MIN_SIDE}x{MIN_SIDE}")
    if k == sr_scale:
        base = (height, width)
    else:  # output / scale, grown to keep the aspect when a side would fall below 32
        bh, bw = out[0] / sr_scale, out[1] / sr_scale
        grow = max(1.0, MIN_SIDE / min(bh, bw))
        base = (max(MIN_SIDE, round(bh * grow)), max(MIN_SIDE, round(bw * grow)))
    return SizePlan(fit_max_side(*base, max_side) if style else None, base, out,
                    (base[0] * sr_scale, base[1] * sr_scale))


def resize(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize to (height, width): area averaging when shrinking, bilinear when growing."""
    if frame.shape[:2] == (height, width):
        return frame
    shrink = height * width < frame.shape[0] * frame.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=interp)


def blend(stylized: np.ndarray, original: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` of the stylized frame over the original (0 = original, 1 = stylized)."""
    if strength >= 1.0:
        return stylized
    if strength <= 0.0:
        return original
    return cv2.addWeighted(stylized, float(strength), original, 1.0 - float(strength), 0.0)


def preserve_color(stylized: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Luminance of the stylized frame with the chroma of the original (YCrCb, BT.601)."""
    out = cv2.cvtColor(original, cv2.COLOR_RGB2YCrCb)
    out[..., 0] = cv2.cvtColor(stylized, cv2.COLOR_RGB2YCrCb)[..., 0]
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2RGB)


def as_frame(frame: np.ndarray) -> np.ndarray:
    """Check a frame is (H, W, 3) uint8 and return it C-contiguous (no copy when it is)."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected a (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
    return np.ascontiguousarray(frame)


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel with a = -0.5 (MATLAB's imresize)."""
    a = np.abs(x)
    a2, a3 = a * a, a * a * a
    return ((1.5 * a3 - 2.5 * a2 + 1) * (a <= 1)
            + (-0.5 * a3 + 2.5 * a2 - 4 * a + 2) * ((a > 1) & (a <= 2)))


def _contributions(n_in: int, n_out: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(n_out, P) weights and source indices of MATLAB's imresize along one axis."""
    width = 4.0
    if scale < 1:  # antialiasing: the kernel stretched by 1/scale
        kernel = lambda x: scale * _cubic(scale * x)  # noqa: E731
        width /= scale
    else:
        kernel = _cubic
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # output pixel centre in input coordinates (1-based)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # (n_out, taps), 1-based
    w = kernel(u[:, None] - idx)
    w /= w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])  # symmetric padding
    idx = mirror[np.mod(idx - 1, 2 * n_in).astype(np.int64)]
    return w, idx


def imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB's ``imresize(img, scale, 'bicubic')`` for uint8 (H, W[, C]): antialiased when shrinking."""
    x = img.astype(np.float64)
    h, w = x.shape[:2]
    oh, ow = int(math.ceil(h * scale)), int(math.ceil(w * scale))
    wh, ih = _contributions(h, oh, scale)
    x = np.einsum("op,op...->o...", wh, x[ih])  # rows
    ww, iw = _contributions(w, ow, scale)
    x = np.einsum("op,hop...->ho...", ww, x[:, iw])  # columns
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


def cover_crop(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale to cover (height, width), then centre-crop: a camera-like frame of any photo."""
    k = max(height / img.shape[0], width / img.shape[1])
    h, w = max(height, round(img.shape[0] * k)), max(width, round(img.shape[1] * k))
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    y, x = (h - height) // 2, (w - width) // 2
    return np.ascontiguousarray(img[y:y + height, x:x + width])


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of two same-shaped images (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)

"""Pure frame maths on uint8 RGB arrays of shape (H, W, 3). No Qt, no onnxruntime."""

from __future__ import annotations

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

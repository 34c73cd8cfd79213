"""Pure frame maths, on non-square frames so a height/width swap fails."""

import cv2
import numpy as np
import pytest

from stylecam import frames
from stylecam.testing import test_frame


@pytest.mark.parametrize("h, w, m, want", [
    (480, 640, 320, (240, 320)),
    (640, 480, 320, (320, 240)),
    (480, 640, None, (480, 640)),
    (480, 640, 1000, (480, 640)),   # never upscales
    (33, 700, 100, (32, 100)),      # never below the contract's 32
    (101, 57, 50, (50, 32)),        # 28 would be too small
    (721, 1281, 640, (360, 640)),
])
def test_fit_max_side(h, w, m, want):
    assert frames.fit_max_side(h, w, m) == want


def test_resize_keeps_orientation_and_identity():
    f = test_frame(48, 80)
    small = frames.resize(f, 24, 40)
    assert small.shape == (24, 40, 3) and small.dtype == np.uint8
    assert frames.resize(f, 48, 80) is f
    # shrinking averages: a 2x2 block mean
    np.testing.assert_allclose(small[3, 5].astype(int), f[6:8, 10:12].reshape(-1, 3).mean(0), atol=1)


def test_blend_endpoints_and_middle():
    a = test_frame(37, 53, seed=1)
    b = test_frame(37, 53, seed=2)
    assert frames.blend(a, b, 1.0) is a
    assert frames.blend(a, b, 0.0) is b
    mid = frames.blend(a, b, 0.25).astype(int)
    np.testing.assert_allclose(mid, 0.25 * a + 0.75 * b, atol=1)


def test_preserve_color_takes_luma_of_stylized_and_chroma_of_original():
    original = test_frame(37, 53, seed=3)
    stylized = np.full_like(original, 0)
    stylized[..., 1] = 200  # a green picture: its luma, the original's colours
    out = frames.preserve_color(stylized, original)
    assert out.shape == original.shape
    y_out = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb).astype(int)
    y_sty = cv2.cvtColor(stylized, cv2.COLOR_RGB2YCrCb).astype(int)
    y_org = cv2.cvtColor(original, cv2.COLOR_RGB2YCrCb).astype(int)
    # luma from the stylized frame; chroma from the original (where no channel clipped)
    assert np.abs(y_out[..., 0] - y_sty[..., 0]).mean() < 3
    assert np.abs(y_out[..., 1:] - y_org[..., 1:]).mean() < 6
    assert np.abs(y_out[..., 1:] - y_sty[..., 1:]).mean() > 10


def test_as_frame_rejects_wrong_layout():
    with pytest.raises(ValueError, match=r"expected a \(H, W, 3\) uint8 frame"):
        frames.as_frame(np.zeros((3, 48, 80), np.uint8))
    with pytest.raises(ValueError):
        frames.as_frame(np.zeros((48, 80, 3), np.float32))
    view = test_frame(48, 80)[:, ::2]
    assert frames.as_frame(view).flags.c_contiguous

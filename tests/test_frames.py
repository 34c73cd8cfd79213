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


# -- the sizes of the frame path (issue 16, item 4) -------------------------------------------

@pytest.mark.parametrize("kw, want", [
    # a style with x4: styled at a quarter, super-resolved back to the input's own size
    (dict(style=True, sr_scale=4), ((180, 320), (180, 320), (720, 1280), (720, 1280))),
    (dict(style=True, sr_scale=2), ((360, 640), (360, 640), (720, 1280), (720, 1280))),
    # --max-side caps the style further; its output comes back to output/scale, not full size
    (dict(style=True, sr_scale=4, max_side=200), ((112, 200), (180, 320), (720, 1280), (720, 1280))),
    (dict(style=True, sr_scale=4, max_side=640), ((180, 320), (180, 320), (720, 1280), (720, 1280))),
    # super-resolution alone keeps its meaning: scale x the input
    (dict(style=False, sr_scale=4), (None, (720, 1280), (2880, 5120), (2880, 5120))),
    # an explicit output scale: the old style-then-x4, or anything between
    (dict(style=True, sr_scale=4, out_scale=4), ((720, 1280), (720, 1280), (2880, 5120), (2880, 5120))),
    (dict(style=True, sr_scale=4, out_scale=2), ((360, 640), (360, 640), (1440, 2560), (1440, 2560))),
    (dict(style=False, sr_scale=4, out_scale=1), (None, (180, 320), (720, 1280), (720, 1280))),
    (dict(style=True, sr_scale=2, out_scale=1.5), ((540, 960), (540, 960), (1080, 1920), (1080, 1920))),
    # no super-resolution: as before
    (dict(style=True, max_side=640), ((360, 640), (720, 1280), (720, 1280), None)),
    (dict(style=True), ((720, 1280), (720, 1280), (720, 1280), None)),
])
def test_plan_sizes_on_720p(kw, want):
    p = frames.plan_sizes(720, 1280, **kw)
    assert (p.style, p.base, p.out, p.sr_out) == want


def test_plan_sizes_keeps_the_size_rounding_cannot_reach_and_even_chosen_sizes():
    p = frames.plan_sizes(768, 1366, style=True, sr_scale=4)  # 1366/4 = 341.5
    assert p.out == (768, 1366) and p.base == (192, 342) and p.sr_out == (768, 1368)  # resized at the end
    odd = frames.plan_sizes(241, 321, style=True, sr_scale=2)
    assert odd.out == (241, 321)  # the input's own size, odd kept (the writer encodes 4:4:4)
    chosen = frames.plan_sizes(241, 321, style=True, sr_scale=2, out_scale=1.5)
    assert chosen.out == (362, 482) and all(n % 2 == 0 for n in chosen.out)  # 361.5 x 481.5: even
    assert frames.plan_sizes(241, 321, style=False, sr_scale=2).out == (482, 642)  # exact x2


def test_plan_sizes_never_goes_below_32_and_keeps_the_aspect():
    p = frames.plan_sizes(66, 98, style=True, sr_scale=4)  # 16.5 x 24.5 would be too small
    assert p.out == (66, 98) and p.base == (32, 48) and p.sr_out == (128, 192) and p.style == (32, 48)
    wide = frames.plan_sizes(40, 400, style=True, sr_scale=4, max_side=100)
    assert wide.base == (32, 320) and wide.style == (32, 100)


@pytest.mark.parametrize("kw, message", [
    (dict(style=True, out_scale=2), "--out-scale needs --upscale: the super-resolution model makes the output size"),
    (dict(style=True, sr_scale=4, out_scale=0), "--out-scale must be more than 0, got 0"),
    (dict(style=True, sr_scale=4, out_scale=0.02), "1280x720 x0.02 would be 26x14; stylecam needs at least 32x32"),
    (dict(style=True, sr_scale=4, out_scale=0.04), "1280x720 x0.04 would be 52x28; stylecam needs at least 32x32"),
])
def test_plan_sizes_refuses_what_cannot_be_made(kw, message):
    with pytest.raises(ValueError) as err:
        frames.plan_sizes(720, 1280, **kw)
    assert str(err.value) == message

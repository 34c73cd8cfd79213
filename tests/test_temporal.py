"""Flow, warping, consistency and the stabiliser on frames made in code."""

import numpy as np
import pytest

from stylecam import temporal
from stylecam.testing import test_frame


def smooth_frame(h=96, w=160, shift=0):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx = xx - shift
    img = np.stack([128 + 100 * np.sin(xx / 9) * np.cos(yy / 11),
                    128 + 90 * np.cos(xx / 13 + yy / 7),
                    128 + 80 * np.sin((xx + yy) / 10)], -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_flow_finds_a_shift_and_warp_undoes_it():
    a, b = smooth_frame(shift=0), smooth_frame(shift=3)  # b is a moved 3 px right
    bw = temporal.flow(temporal.gray(b), temporal.gray(a), max_side=None)
    assert np.median(bw[..., 0]) == pytest.approx(-3, abs=0.5)
    assert np.median(bw[..., 1]) == pytest.approx(0, abs=0.5)
    warped = temporal.warp(a, bw)
    inner = (slice(10, -10), slice(10, -10))
    assert np.abs(warped[inner].astype(int) - b[inner].astype(int)).mean() < 4
    assert np.abs(a[inner].astype(int) - b[inner].astype(int)).mean() > 10


def test_consistency_flags_a_wrong_flow():
    f = np.zeros((40, 60, 2), np.float32)
    assert temporal.consistent(f, f).all()
    bad = f.copy()
    bad[10:20, 10:20] = (5, 0)
    ok = temporal.consistent(bad, f)
    assert not ok[12:18, 12:18].any() and ok[30:, 40:].all()


def test_flicker_zero_for_identical_and_positive_for_noise():
    a = smooth_frame()
    assert temporal.flicker(a, a, a, a) == 0.0
    rng = np.random.default_rng(0)
    noisy = np.clip(a.astype(int) + rng.integers(-30, 31, a.shape), 0, 255).astype(np.uint8)
    assert temporal.flicker(a, noisy, a, a) > 10


def test_stabiliser_lowers_flicker_of_noisy_outputs_on_a_pan():
    rng = np.random.default_rng(1)
    frames = [smooth_frame(shift=2 * i) for i in range(8)]
    outs = [np.clip(f.astype(int) + rng.integers(-25, 26, f.shape), 0, 255).astype(np.uint8)
            for f in frames]
    stab = temporal.Stabilizer(keep=0.6)
    stable = [stab(f, o) for f, o in zip(frames, outs)]
    raw = np.mean([temporal.flicker(outs[i - 1], outs[i], frames[i - 1], frames[i]) for i in range(1, 8)])
    smooth = np.mean([temporal.flicker(stable[i - 1], stable[i], frames[i - 1], frames[i]) for i in range(1, 8)])
    assert smooth < 0.75 * raw
    assert stable[0] is outs[0]  # nothing to blend with on the first frame


def test_stabiliser_lets_a_cut_through():
    stab = temporal.Stabilizer(keep=0.8)
    a, b = test_frame(64, 96, seed=1), np.full((64, 96, 3), 200, np.uint8)
    stab(a, a)
    out = stab(b, b)  # a scene cut: nothing of the old output may linger
    assert np.abs(out.astype(int) - b.astype(int)).mean() < 2

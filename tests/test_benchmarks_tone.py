"""benchmarks/tone.py: the tonal range of pictures, on pictures made here."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import tone  # noqa: E402


def test_a_flat_grey_has_no_spread_and_no_chroma():
    s = tone.tone_stats(np.full((40, 60, 3), 128, np.uint8))
    assert s["spread"] == pytest.approx(0, abs=1e-9) and s["broad"] == pytest.approx(0, abs=1e-9) and s["chroma"] == pytest.approx(0, abs=0.5)
    assert 50 < s["L"] < 56  # sRGB 128 is L* 53.6


def test_large_areas_count_in_broad_and_fine_marks_do_not():
    halves = np.zeros((64, 64, 3), np.uint8)
    halves[:, 32:] = 255
    checker = (((np.arange(64)[:, None] + np.arange(64)[None, :]) % 2) * 255).astype(np.uint8)
    checker = np.repeat(checker[..., None], 3, -1)
    a, b = tone.tone_stats(halves), tone.tone_stats(checker)
    assert a["spread"] == pytest.approx(50, abs=0.5) and b["spread"] == pytest.approx(50, abs=0.5)
    assert a["broad"] > 35 and b["broad"] < 1  # the same pixels, but only the halves are large areas


def test_gap_is_zero_for_the_painting_itself_and_grows_with_each_difference():
    rng = np.random.default_rng(0)
    art = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    own = tone.tone_stats(art)
    assert tone.gap(own, own) == 0
    dull = (art * 0.5 + 64).astype(np.uint8)  # less spread, same mean-ish
    flat = np.full_like(art, 128)
    res = tone.summary([art, dull, flat], own)
    assert res["gaps"][0] == 0 < res["gaps"][1] < res["gaps"][2]
    assert res["gap"] == res["gaps"][1]
    assert tone.gap({**own, "L": own["L"] + 3, "chroma": own["chroma"] - 4}, own) == pytest.approx(5)
    assert "| udnie | ours | 44 | 26.0 | 24.0 | 9.6 | **1.5** | |" in tone.table(
        [{"style": "udnie", "who": "ours", "L": 44, "spread": 26, "broad": 24, "chroma": 9.6, "gap": 1.5}])
    assert "| **1.5** | 0.74 |" in tone.table(
        [{"style": "udnie", "who": "ours", "L": 44, "spread": 26, "broad": 24, "chroma": 9.6, "gap": 1.5, "kept": 0.737}])


def test_kept_is_one_for_the_photo_and_falls_as_its_shapes_blur_or_are_painted_over():
    import cv2

    rng = np.random.default_rng(1)
    photo = np.zeros((96, 128, 3), np.uint8)
    for _ in range(12):  # small shapes: rectangles of random colours
        y, x = rng.integers(0, 80), rng.integers(0, 110)
        photo[y:y + rng.integers(6, 16), x:x + rng.integers(6, 16)] = rng.integers(0, 256, 3)
    assert tone.kept(photo, photo) == pytest.approx(1)
    blurred = cv2.GaussianBlur(photo, (0, 0), 4)
    strokes = np.kron(rng.integers(-90, 90, (24, 32)), np.ones((4, 4), int))[..., None]  # 4-px marks over it all
    marks = np.clip(photo.astype(int) + strokes, 0, 255).astype(np.uint8)
    assert 0 < tone.kept(blurred, photo) < 0.9 and tone.kept(marks, photo) < 0.9
    assert tone.kept(np.full_like(photo, 100), photo) == 0
    res = tone.summary([photo, blurred], tone.tone_stats(photo), [photo, photo])
    assert res["kept"] == pytest.approx((1 + tone.kept(blurred, photo)) / 2)

"""benchmarks/band.py: the edge-band metric, on pictures made here."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import band  # noqa: E402


def photo(h=180, w=240, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([100 + 60 * np.sin(xx / 9 + c) * np.cos(yy / 13) for c in range(3)], -1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def test_an_unchanged_photo_has_no_band():
    photos = [photo(seed=s) for s in range(3)]
    res = band.band(photos, photos)
    for side in band.SIDES:
        assert res[side] == {"texture": 1.0, "colour": 0.0, "colour_fit": 0.0}
    assert band.worst(res)["passes"]


def test_a_texture_band_and_a_colour_band_are_found_on_their_sides():
    photos = [photo(seed=s) for s in range(3)]
    outs = []
    rng = np.random.default_rng(9)
    for p in photos:
        o = p.astype(np.float32)
        o[:, :20] += rng.normal(0, 40, o[:, :20].shape)  # streaks along the left edge
        o[-16:, :, 0] += 30  # a red strip along the bottom
        outs.append(np.clip(o, 0, 255).astype(np.uint8))
    res = band.band(photos, outs)
    w = band.worst(res)
    assert w["texture_side"] == "left" and w["texture"] > 2
    assert w["colour_side"] == "bottom" and 15 < w["colour"] <= 30
    assert res["right"]["texture"] == pytest.approx(1.0, abs=0.05)
    assert not w["passes"]


def test_band_needs_matching_lists():
    with pytest.raises(ValueError):
        band.band([photo()], [])


def test_a_global_colour_change_is_no_band_once_its_map_is_fitted():
    photos = []
    for s in range(4):  # darker towards the bottom, like ground under sky
        p = photo(seed=s).astype(np.float32)
        p *= np.linspace(1.0, 0.5, p.shape[0])[:, None, None]
        photos.append(p.astype(np.uint8))
    outs = [np.clip((p.astype(np.float32) - 90) * 1.8 + 128, 0, 255).astype(np.uint8)[..., ::-1] for p in photos]
    res = band.band(photos, outs)
    assert res["bottom"]["colour"] > 6  # the raw definition counts the contrast change
    assert all(res[s]["colour_fit"] < 1.5 for s in band.SIDES)


def test_the_own_band_counts_only_what_the_border_changes():
    # a non-linear colour map (which the raw colour figure counts, on photos
    # darker at the bottom) is no own band; a red strip painted at the frame's bottom is
    c = band.CONTEXT
    wider = []
    for s in range(4):
        p = photo(180 + 2 * c, 240 + 2 * c, seed=s).astype(np.float32)
        p *= np.linspace(1.0, 0.4, p.shape[0])[:, None, None]
        wider.append(p.astype(np.uint8))

    def style(img, strip=0):
        o = 255 * (img.astype(np.float32) / 255) ** 2.2
        if strip:
            o[-strip:, :, 0] += 40
        return np.clip(o, 0, 255).astype(np.uint8)

    frames = [w[c:-c, c:-c] for w in wider]
    assert band.band(frames, [style(f) for f in frames])["bottom"]["colour"] > 4  # the raw figure counts it
    own = band.in_context([style(f) for f in frames], [style(w) for w in wider])
    assert all(own[s] == {"texture": 1.0, "colour": 0.0} for s in band.SIDES)
    own = band.in_context([style(f, strip=12) for f in frames], [style(w, strip=12) for w in wider])
    assert 15 < own["bottom"]["colour"] <= 40 and own["top"]["colour"] == 0.0
    with pytest.raises(ValueError):
        band.in_context(frames, frames)  # not one wider picture per frame

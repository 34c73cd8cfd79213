"""benchmarks/own_scale.py: the style term at the picture's own scale, output ÷ photo, with a
small real conv net standing in for VGG (VGG at picture size is too slow for a test)."""

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import own_scale  # noqa: E402
from tiny_features import TinyFeatures  # noqa: E402


def stripes(h, w, period=6):
    """A hard black-and-orange stripe texture: the 'painting'."""
    img = np.zeros((h, w, 3), np.uint8)
    for x in range(0, w, period):
        img[:, x:x + period // 2] = (230, 120, 20)
    return img


def test_ratio_is_one_for_the_photo_and_below_one_for_the_painting_texture(tmp_path):
    from trainer.losses import LossConfig

    painting = tmp_path / "painting.png"
    cv2.imwrite(str(painting), stripes(64, 64)[:, :, ::-1])
    yy, xx = np.mgrid[0:48, 0:56]
    photo = np.stack([xx * 4, yy * 5, np.full_like(xx, 90)], -1).astype(np.uint8)  # a smooth gradient
    cfg = LossConfig(1.0, 8.0, 0.0, "relu2_2", ("relu1_2", "relu2_2"), (2.0, 0.5))
    torch.set_num_threads(1)
    net = TinyFeatures()
    same = own_scale.judge(net, "identity", [(photo, photo)], painting, 64, cfg)
    assert same["ratio"] == pytest.approx(1.0) and all(v == pytest.approx(1.0) for v in same["layers"].values())
    painted = own_scale.judge(net, "painted", [(photo, stripes(48, 56))], painting, 64, cfg)
    assert painted["ratio"] < 0.2 and painted["painting_px"] == 64 and painted["photos"] == 1
    text = own_scale.table([same, painted])
    assert text.splitlines()[0].endswith("| relu1_2 | relu2_2 |")
    assert "| painted | 64 | 1 | **" in text

"""The edge term: zero for a net that treats border pixels like any other, large for one that
paints a band, and training on it removes a band; it can be switched on when a run resumes."""

import csv

import pytest
import torch

from trainer.consistency import border_mask, crop_box, edge_loss
from trainer.train import Trainer, TrainConfig


def config(photos, painting, **kw):
    base = dict(name="t", style=str(painting), content=str(photos), tier="fast", size=40, batch=2,
                steps=20, init="scratch", checkpoint_every=10, preview_every=10, lr=3e-3)
    base.update(kw)
    return TrainConfig(**base)


def _x(seed=0, h=96, w=128):
    return torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(seed))


def _band(x, width=6, add=0.3):
    y = x.clone()
    y[..., :width, :] += add
    y[..., -width:, :] += add
    y[..., :, :width] += add
    y[..., :, -width:] += add
    return y


@pytest.mark.parametrize("seed", range(4))
def test_the_crop_sits_on_the_stride_grid_inside_the_picture(seed):
    top, left, ch, cw = crop_box(96, 128, 8, torch.Generator().manual_seed(seed))
    assert top % 8 == 0 and left % 8 == 0 and ch % 8 == 0 and cw % 8 == 0
    assert 0 <= top and top + ch <= 96 and 0 <= left and left + cw <= 128 and (ch, cw) == (72, 96)


def test_no_band_no_loss_and_a_band_is_seen():
    x = _x()
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    pointwise = lambda t: 0.8 * t + 0.1  # noqa: E731
    assert edge_loss(pointwise, x, pointwise(x), 8, g()).item() < 1e-12
    # a colour shift that depends on the whole picture (as instance norm's) is not a band
    centred = lambda t: t - t.mean(dim=(2, 3), keepdim=True) + 0.5  # noqa: E731
    assert edge_loss(centred, x, centred(x), 8, g()).item() < 1e-10
    banded = edge_loss(_band, x, _band(x), 8, g()).item()
    # the crop's band (0.3 on 6 of the strip's rows/columns) against no band where the crop's
    # border is inside the picture: of the order of 0.3² x the band's share of the strip
    assert 0.005 < banded < 0.09, banded
    strip = border_mask(72, 96)
    assert strip.sum().item() == 72 * 96 - 8 * 32


def test_training_on_the_edge_term_removes_a_band(photos, painting, tmp_path):
    # the edge term alone: the net must stop treating the border differently from the interior
    tr = Trainer(config(photos, painting, edge=1e4, stability=0.0, content_weight=0.0, style_weight=0.0,
                        tv_weight=0.0, steps=20, lr=1e-2), tmp_path / "run", quiet=True)
    x, _ = tr.inputs(999)

    def gap():
        with torch.no_grad():
            return tr.edge_loss(x, tr.forward(x), 999).item()

    before = gap()
    result = tr.run()
    after = gap()
    assert after < 0.5 * before, (before, after)
    assert "edge" in result.history[-1] and result.metadata()["edge"] == 1e4
    with pytest.raises(Exception, match=r"^--edge must be at least 0, not -1$"):
        config(photos, painting, edge=-1.0)


def test_the_edge_term_can_be_switched_on_when_a_run_resumes(photos, painting, tmp_path):
    Trainer(config(photos, painting, steps=2, edge=0.0), tmp_path / "r", quiet=True).run()
    more = Trainer(None, tmp_path / "r", resume=True, steps=4, edge=50.0, quiet=True)
    assert more.cfg.edge == 50.0
    result = more.run()
    assert "edge" not in result.history[1] and "edge" in result.history[3]
    with open(tmp_path / "r" / "loss.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["edge"] for r in rows[:2]] == ["", ""] and float(rows[3]["edge"]) > 0
    assert Trainer(None, tmp_path / "r", resume=True, quiet=True).cfg.edge == 50.0  # kept in the checkpoint

"""The Gatys baseline lowers the paper's objective on a tiny image (real VGG weights)."""

import pytest
import torch

from stylecam.errors import TrainError
from trainer.losses import LossConfig, style_targets
from trainer.optimize import evaluate, gatys


@pytest.fixture(scope="module")
def vgg():
    from trainer.vgg import load_vgg

    try:
        return load_vgg()
    except TrainError as exc:
        pytest.skip(f"no VGG weights here: {exc}")


def test_lbfgs_lowers_the_objective_and_snapshots_in_order(vgg):
    torch.manual_seed(0)
    # a smooth content picture and a stripy style: the style term has real work to do
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 40), torch.linspace(0, 1, 48), indexing="ij")
    content = torch.stack([yy, xx, (yy + xx) / 2]).unsqueeze(0)
    stripes = (torch.sin(torch.arange(64.0) * 1.3) > 0).float()
    style = torch.stack([stripes.expand(64, 64), stripes.expand(64, 64).T, torch.rand(64, 64)]).unsqueeze(0)
    cfg = LossConfig(content_weight=1.0, style_weight=1e3, tv_weight=1e-4)
    targets = style_targets(vgg, style, cfg)
    start, _ = evaluate(vgg, content, content, targets, cfg)
    seen = []
    result = gatys(vgg, content, targets, cfg, iterations=(3, 8), callback=seen.append)
    assert [s.iteration for s in result.snapshots] == [3, 8] == [s.iteration for s in seen]
    a, b = result.at(3), result.at(8)
    assert b.total < a.total < start
    assert b.parts["style"] < start * 0.9  # the start has zero content loss: all of it is style + tv
    assert result.image.shape == content.shape
    assert 0 <= result.image.min() and result.image.max() <= 1
    assert b.seconds >= a.seconds > 0
    assert b.total == pytest.approx(sum(b.parts.values()), rel=1e-5)

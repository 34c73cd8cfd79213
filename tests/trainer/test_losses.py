"""Each loss of the paper against a computation by hand on a small tensor."""

import pytest
import torch

from trainer.losses import (LossConfig, broad_loss, feature_loss, gram, objective, shrink, style_loss, tone,
                            tone_loss, tv_loss)


def test_gram_by_hand():
    # one image, C=2, H=1, W=2: F = [[1, 2], [3, 4]]; F Fᵀ = [[5, 11], [11, 25]]; C·H·W = 4
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    assert gram(f).tolist() == [[[1.25, 2.75], [2.75, 6.25]]]


def test_gram_normalisation_does_not_depend_on_size():
    # a constant feature map has the same Gram at any H, W and batch keeps images apart
    small = torch.full((1, 3, 4, 5), 2.0)
    big = torch.full((1, 3, 40, 50), 2.0)
    assert torch.allclose(gram(small), gram(big))
    assert torch.allclose(gram(small), torch.full((1, 3, 3), 4.0 / 3))
    two = torch.cat([small, small * 0])
    assert gram(two)[1].abs().sum() == 0 and gram(two).shape == (2, 3, 3)


def test_feature_loss_is_mean_squared_difference():
    a = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    b = torch.tensor([[[[1.0, 0.0], [3.0, 1.0]]]])
    assert feature_loss(a, b).item() == pytest.approx((0 + 4 + 0 + 9) / 4)


def test_style_loss_is_squared_frobenius_summed_over_layers_and_broadcast():
    f1 = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])        # gram [[1.25,2.75],[2.75,6.25]]
    f2 = torch.tensor([[[[2.0]]]])                            # C=H=W=1: gram [[4]]
    targets = {"a": torch.zeros(1, 2, 2), "b": torch.ones(1, 1, 1)}
    expected = (1.25**2 + 2 * 2.75**2 + 6.25**2) + (4 - 1) ** 2
    assert style_loss({"a": f1, "b": f2}, targets).item() == pytest.approx(expected)
    # batch of two identical images against a batch-1 target: same value (mean over batch)
    twice = {"a": f1.repeat(2, 1, 1, 1), "b": f2.repeat(2, 1, 1, 1)}
    assert style_loss(twice, targets).item() == pytest.approx(expected)


def test_layer_weights_multiply_each_layer_and_must_match_the_layers():
    f1 = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    f2 = torch.tensor([[[[2.0]]]])
    targets = {"a": torch.zeros(1, 2, 2), "b": torch.ones(1, 1, 1)}
    a, b = (1.25**2 + 2 * 2.75**2 + 6.25**2), (4 - 1) ** 2
    assert style_loss({"a": f1, "b": f2}, targets, {"a": 3.0, "b": 0.5}).item() == pytest.approx(3 * a + 0.5 * b)
    cfg = LossConfig(1.0, 8.0, 1.0, "relu2_2", ("relu1_2", "relu2_2"), (4, 1))
    assert cfg.layer_weight_map() == {"relu1_2": 4.0, "relu2_2": 1.0}
    assert LossConfig(1.0, 8.0, 1.0).layer_weight_map() is None
    with pytest.raises(ValueError, match="2 layer weights for 4 style layers"):
        LossConfig(1.0, 8.0, 1.0, layer_weights=(1, 2))


def test_tv_loss_by_hand():
    x = torch.tensor([[[[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]]]])
    vertical = (2**2 + 1**2 + 1**2) / 3          # rows differ by 2, 1, -1
    horizontal = (1 + 4 + 0 + 0) / 4              # 0->1, 1->3, 2->2, 2->2
    assert tv_loss(x).item() == pytest.approx(vertical + horizontal)
    assert tv_loss(torch.full((2, 3, 5, 4), 0.7)).item() == 0


class ToyVGG:
    """Stands in for the VGG: 'layers' are fixed functions of the image, so hand maths works."""

    def __call__(self, x, layers):
        table = {"relu1_2": x, "relu2_2": x * 2, "relu3_3": x[:, :1], "relu4_3": x.mean(1, keepdim=True)}
        return {l: table[l] for l in layers}


def test_objective_weights_each_part():
    torch.manual_seed(0)
    y, c = torch.rand(2, 3, 6, 5), torch.rand(2, 3, 6, 5)
    vgg, s = ToyVGG(), torch.rand(1, 3, 8, 8)
    cfg = LossConfig(content_weight=2.0, style_weight=5.0, tv_weight=7.0)
    targets = {l: gram(f) for l, f in vgg(s, cfg.style_layers).items()}
    total, parts = objective(vgg, y, c, targets, cfg)
    assert parts["content"].item() == pytest.approx(2.0 * ((2 * y - 2 * c) ** 2).mean().item(), rel=1e-5)
    assert parts["style"].item() == pytest.approx(5.0 * style_loss(vgg(y, cfg.style_layers), targets).item(), rel=1e-5)
    assert parts["tv"].item() == pytest.approx(7.0 * tv_loss(y).item(), rel=1e-5)
    assert total.item() == pytest.approx(sum(p.item() for p in parts.values()), rel=1e-6)
    assert cfg.layers() == ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def test_gram_stays_float32_under_autocast():
    # 300 x 300 values of 16: a half-precision sum of 16² over H·W would overflow (65504)
    f = torch.full((1, 2, 300, 300), 16.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        g = gram(f)
    assert g.dtype == torch.float32
    assert torch.allclose(g, torch.full((1, 2, 2), 128.0))


def test_shrink_averages_areas():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(1, 3, 1, 1)
    assert shrink(x, 2)[0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]
    assert shrink(x, 1).equal(x) and shrink(torch.rand(2, 3, 10, 7), 4).shape == (2, 3, 2, 2)


def test_broad_loss_tells_large_areas_from_a_field_of_fine_marks():
    # the painting: two flat halves, black and white. At full scale a 1-px checkerboard has its
    # Gram (half the pixels white); shrunk 4x it is flat grey, while the halves stay black and white
    vgg, cfg = ToyVGG(), LossConfig(content_weight=1.0, style_weight=3.0, tv_weight=0.0)
    halves = torch.zeros(1, 3, 16, 16)
    halves[..., 8:] = 1.0
    checker = ((torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2).float().expand(1, 3, 16, 16)
    full = {l: gram(f) for l, f in vgg(halves, cfg.style_layers).items()}
    assert style_loss(vgg(checker, cfg.style_layers), full).item() == pytest.approx(0, abs=1e-6)
    small = {l: gram(f) for l, f in vgg(shrink(halves, 4), cfg.style_layers).items()}
    assert broad_loss(vgg, halves, small, cfg, 4).item() == pytest.approx(0, abs=1e-6)
    fine = broad_loss(vgg, checker, small, cfg, 4).item()
    assert fine == pytest.approx(3.0 * style_loss(vgg(torch.full((1, 3, 4, 4), 0.5), cfg.style_layers), small).item())
    assert fine > 0.1


def test_tone_is_each_channels_mean_and_spread_and_its_loss_the_squared_distance():
    x = torch.zeros(2, 3, 2, 2)
    x[0, 0] = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # mean 0.5, sample std sqrt(1/3)
    x[1] = 0.25
    assert tone(x)[0].tolist() == pytest.approx([0.5, 0, 0, (1 / 3) ** 0.5, 0, 0])
    assert tone(x)[1].tolist() == pytest.approx([0.25] * 3 + [0] * 3)
    target = tone(x[1:])
    assert tone_loss(x[1:], target).item() == 0
    # image 0 against image 1's tone: (0.25² + 0.25² + 0.25²) + 1/3 for image 0, 0 for image 1; mean of two
    assert tone_loss(x, target).item() == pytest.approx((3 * 0.25**2 + 1 / 3) / 2)

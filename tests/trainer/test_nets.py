"""Network shapes, strides, scales and sizes."""

import pytest
import torch

from trainer.nets import (TIERS, FastSpec, FastStyleNet, NetConfig, arch_name, build_net,
                          count_params, net_margin, net_stride)


@pytest.mark.parametrize("tier", TIERS)
def test_style_nets_keep_size_for_odd_multiples_of_stride(tier):
    cfg = NetConfig("style", tier)
    s = net_stride(cfg)
    net = build_net(cfg).eval()
    with torch.no_grad():
        y = net(torch.rand(2, 3, 3 * s, 5 * s))
    assert y.shape == (2, 3, 3 * s, 5 * s)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_sr_nets_scale_odd_sizes(tier, scale):
    cfg = NetConfig("sr", tier, scale)
    assert net_stride(cfg) == 1
    net = build_net(cfg).eval()
    with torch.no_grad():
        y = net(torch.rand(1, 3, 7, 5))
    assert y.shape == (1, 3, 7 * scale, 5 * scale)


def test_parameter_counts():
    # the paper's style net: 1.68 M parameters with affine instance norm
    assert count_params(build_net(NetConfig("style", "quality"))) == 1_677_635
    fast = count_params(build_net(NetConfig("style", "fast")))
    assert 50_000 < fast < 600_000
    assert count_params(build_net(NetConfig("sr", "fast", 4))) < count_params(build_net(NetConfig("sr", "quality", 4)))


def test_arch_names_differ_and_are_stable():
    names = {arch_name(NetConfig(k, t, s)) for k, t, s in
             [("style", "fast", 1), ("style", "quality", 1), ("sr", "fast", 4), ("sr", "quality", 4),
              ("sr", "quality", 8)]}
    assert len(names) == 5
    assert arch_name(NetConfig("style", "quality")) == "johnson2016-style-rp"


def test_fast_candidates_build():
    for spec in [FastSpec(depthwise=True), FastSpec(down="unshuffle", up="shuffle"), FastSpec(widths=(32, 64))]:
        net = FastStyleNet(spec).eval()
        with torch.no_grad():
            assert net(torch.rand(1, 3, spec.stride * 3, spec.stride)).shape == (1, 3, spec.stride * 3, spec.stride)


@pytest.mark.parametrize("bad", [dict(kind="video"), dict(tier="huge"), dict(kind="style", scale=2),
                                 dict(kind="sr", scale=3)])
def test_bad_configs_are_refused(bad):
    with pytest.raises(ValueError):
        NetConfig(**bad)


# ---------------------------------------------------------------- v3: no frame border to find

def _border_free(net) -> bool:
    """A constant frame in gives an output that repeats every 2 pixels (the pixel shuffle's
    phase) right up to the border: nothing in the net knows where the frame ends."""
    with torch.no_grad():
        y = net(torch.full((1, 3, 48, 64), 0.4))
    return bool(torch.allclose(y[..., :-2, :], y[..., 2:, :], atol=1e-5)
                and torch.allclose(y[..., :, :-2], y[..., :, 2:], atol=1e-5))


def _randomised(net):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p) * 0.3)  # biases and norm shifts too: zero padding then shows
    return net.eval()


@pytest.mark.parametrize("fast", ["v3", "v3-deep", "v3-ns-u"])
def test_v3_pads_by_reflection_and_paints_no_border(fast):
    cfg = NetConfig(fast=fast)
    assert net_margin(cfg) == 0
    assert arch_name(cfg).startswith("stylecam-fast-v3-") and arch_name(cfg).endswith("-rp")
    assert _border_free(_randomised(build_net(cfg)))


def test_v2_zero_padding_finds_the_border_and_keeps_its_margins():
    cfg = NetConfig(fast="v2")
    assert net_margin(cfg) == 2 * net_stride(cfg)
    assert arch_name(cfg) == "stylecam-fast-v2-w16-32-64-b3-in-conv-nearest-skip"  # the shipped v2 models' id
    assert not _border_free(_randomised(build_net(cfg)))


def test_default_fast_net_is_v3():
    assert NetConfig().fast == "v3"
    with pytest.raises(ValueError, match="unknown fast net 'v9'"):
        NetConfig(fast="v9")

"""Starting a net from another: a shipped model file (--init MODEL.onnx), the v2 base in a v3 or
deeper net, and multi-scale style targets."""

import pytest
import torch

from stylecam.errors import UsageError
from trainer.checkpoint import _init_from_model, _shift_blocks
from trainer.export import export_model
from trainer.losses import broad_loss, shrink, style_targets, tone, tone_loss
from trainer.blocks import UpConv
from trainer.nets import NetConfig, arch_name, build_net, net_stride
from trainer.train import TrainConfig, Trainer


def shipped_v2(tmp_path):
    """A v2 model file with random weights, as the built-in styles were made."""
    torch.manual_seed(1)
    cfg = NetConfig(fast="v2")
    net = build_net(cfg).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.5)
    path = export_model(net, tmp_path / "old.onnx", kind="style", name="old", scale=1, arch=arch_name(cfg),
                        stride=net_stride(cfg), train={}, source_sha256="ab" * 32)
    return net, path


def test_a_v3_net_starts_from_a_v2_model_file(tmp_path):
    old, path = shipped_v2(tmp_path)
    cfg = NetConfig(fast="v3")
    net = build_net(cfg)
    used = _init_from_model(net, path, cfg, log=lambda m: None)
    assert "stylecam-fast-v2" in used
    mine = net.state_dict()
    for k, v in old.state_dict().items():
        assert torch.equal(mine[k], v), k


def test_extra_blocks_of_a_deeper_net_start_as_the_identity(tmp_path):
    _, path = shipped_v2(tmp_path)
    nets = {}
    for fast in ("v3", "v3-deep"):
        cfg = NetConfig(fast=fast)
        nets[fast] = build_net(cfg).eval()
        _init_from_model(nets[fast], path, cfg, log=lambda m: None)
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        assert torch.allclose(nets["v3"](x), nets["v3-deep"](x), atol=1e-6)


def test_a_unet_starts_from_a_v3_ns_model_as_that_model_and_learns_to_use_its_skips(tmp_path):
    torch.manual_seed(5)
    plain_cfg, unet_cfg = NetConfig(fast="v3-ns"), NetConfig(fast="v3-ns-u")
    plain = build_net(plain_cfg).eval()
    path = export_model(plain, tmp_path / "plain.onnx", kind="style", name="plain", scale=1, arch=arch_name(plain_cfg),
                        stride=net_stride(plain_cfg), train={}, source_sha256="ab" * 32)
    unet = build_net(unet_cfg)
    assert "-unet-" in arch_name(unet_cfg) and "-unet-" not in arch_name(plain_cfg)
    assert "stylecam-fast-v3" in _init_from_model(unet, path, unet_cfg, log=lambda m: None)
    x = torch.rand(2, 3, 48, 64)
    with torch.no_grad():
        assert torch.allclose(plain(x), unet.eval()(x), atol=1e-5)  # the skips' weights start at zero
    ups = [m.conv.conv.weight for m in unet.body if isinstance(m, UpConv)]  # (out, in + out, 3, 3)
    assert [tuple(w.shape[:2]) for w in ups] == [(32, 64 + 32), (16, 32 + 16)]
    assert all(w[:, -w.shape[0]:].abs().sum() == 0 for w in ups)
    unet.train()
    unet(x).pow(2).mean().backward()
    assert all(w.grad[:, -w.shape[0]:].abs().sum() > 0 for w in ups)  # the encoder's features reach the up stages
    export_model(unet.eval(), tmp_path / "unet.onnx", kind="style", name="unet", scale=1, arch=arch_name(unet_cfg),
                 stride=net_stride(unet_cfg), train={}, source_sha256="ab" * 32)  # parity with torch is checked


def test_shift_blocks_renumbers_only_the_layers_after_the_blocks():
    state = {f"body.{i}.a.conv.weight": i for i in (3, 4, 5)} | {"body.2.conv.weight": 2, "body.6.conv.conv.weight": 6,
                                                                  "last.weight": 9}
    got = _shift_blocks(state, 5)
    assert got["body.8.conv.conv.weight"] == 6 and got["body.5.a.conv.weight"] == 5 and got["body.2.conv.weight"] == 2
    assert got["last.weight"] == 9 and "body.6.conv.conv.weight" not in got
    assert _shift_blocks(state, 3) == state


def test_a_model_that_does_not_fit_is_one_line(tmp_path):
    _, path = shipped_v2(tmp_path)
    cfg = NetConfig(kind="sr", scale=4)
    with pytest.raises(UsageError, match=r"^--init .*old.onnx: its stylecam-fast-v2-\S+ weights do not fit this "
                                         r"stylecam-fastsr-v1-x4 net$"):
        _init_from_model(build_net(cfg), path, cfg, log=lambda m: None)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(UsageError, match="not an ONNX model"):
        _init_from_model(build_net(NetConfig()), bad, NetConfig(), log=lambda m: None)


def test_multi_scale_targets_are_the_mean_of_each_scale(photos, painting, tmp_path):
    base = dict(name="t", style=str(painting), content=str(photos), size=40, batch=2, steps=1, init="scratch",
                style_size=48)
    one = Trainer(TrainConfig(**base), tmp_path / "a", quiet=True)
    two = Trainer(TrainConfig(**base, style_scales=(1, 2)), tmp_path / "b", quiet=True)
    big = style_targets(two.vgg, two.styles[1], two.lcfg)
    assert max(two.styles[1].shape[-2:]) == 96
    for layer, g in two.grams.items():
        assert torch.allclose(g, (one.grams[layer] + big[layer]) / 2, atol=1e-6)


def test_the_broad_term_is_scored_against_the_painting_shrunk(photos, painting, tmp_path):
    base = dict(name="t", style=str(painting), content=str(photos), size=40, batch=2, steps=2, init="scratch",
                style_size=48)
    t = Trainer(TrainConfig(**base, broad=2.0, broad_factor=3.0), tmp_path / "a", quiet=True)
    want = style_targets(t.vgg, shrink(t.style, 3.0), t.lcfg)
    assert all(torch.allclose(t.broad_grams[l], want[l]) for l in want)
    x, target = t.inputs(0)
    y = t.forward(x)
    total, parts = t.loss(y, target)
    assert parts["broad"].item() == pytest.approx(2.0 * broad_loss(t.vgg, y, want, t.lcfg, 3.0).item(), rel=1e-4)
    assert total.item() == pytest.approx(sum(v.item() for v in parts.values()), rel=1e-5)
    assert Trainer(TrainConfig(**base), tmp_path / "b", quiet=True).broad_grams is None
    toned = Trainer(TrainConfig(**base, tone=5.0, broad_factor=2.0), tmp_path / "c", quiet=True)
    assert torch.allclose(toned.tone_target, tone(shrink(toned.style, 2.0)))
    total, parts = toned.loss(y, target)
    assert set(parts) >= {"tone"} and "broad" not in parts
    assert parts["tone"].item() == pytest.approx(5.0 * tone_loss(shrink(y, 2.0), toned.tone_target).item(), rel=1e-4)
    assert total.item() == pytest.approx(sum(v.item() for v in parts.values()), rel=1e-5)


@pytest.mark.parametrize("scales", [(), (1, 0), (-1,)])
def test_bad_style_scales_are_refused(scales):
    with pytest.raises(UsageError, match="--style-scales must be positive numbers"):
        TrainConfig(style_scales=scales)


def test_a_deeper_trunk_grows_from_a_trunk_checkpoint_and_paints_the_same_at_first(tmp_path):
    from trainer.checkpoint import CHECKPOINT, _init_trunk, save_checkpoint

    paintings = tuple(str(tmp_path / f"p{i}.png") for i in range(2))
    base = dict(mode="style", name="t", style=paintings[0], styles=paintings, content=str(tmp_path), steps=1)
    shallow_cfg = TrainConfig(**base, fast="v3-ns")
    torch.manual_seed(2)
    shallow = build_net(shallow_cfg.net_config()).eval()
    with torch.no_grad():  # styles that differ, and norms that are not the identity
        for p in shallow.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    ckpt = tmp_path / CHECKPOINT
    save_checkpoint(ckpt, {"arch": arch_name(shallow_cfg.net_config()), "net": shallow.state_dict()})
    deep_cfg = TrainConfig(**base, fast="v3-ns-deep", init=str(ckpt))
    deep = build_net(deep_cfg.net_config())
    notes = []
    used = _init_trunk(deep, deep_cfg, notes.append)
    assert "added blocks as the identity" in used and "v3" in notes[0]
    deep.eval()
    x = torch.rand(2, 3, 40, 56)
    with torch.no_grad():
        for k in range(2):
            shallow.select(k)
            deep.select(k)
            assert torch.allclose(shallow(x), deep(x), atol=1e-5)
    assert sum(p.numel() for p in deep.parameters()) > sum(p.numel() for p in shallow.parameters())

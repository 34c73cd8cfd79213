"""Export to the model contract: odd sizes, metadata, parity with torch, atomic writes."""

import json

import numpy as np
import onnx
import pytest
import torch

from stylecam.engine import Engine
from stylecam.errors import TrainError
from stylecam.models import check_model
from stylecam.testing import test_frame
from trainer import export as E
from trainer.nets import NetConfig, arch_name, build_net, net_margin, net_stride, pad_to_multiple

TRAIN = {"content_weight": 1.0, "style_weight": 3.0, "tv_weight": 1.0, "content_layer": "relu2_2",
         "style_layers": ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], "style_size": 384, "size": 192,
         "batch": 4, "steps": 10, "init": "base", "wall_seconds": 1.5, "device": "cpu"}


def mid_grey_net(cfg: NetConfig) -> torch.nn.Module:
    """A random net whose output sits in (0, 1), so clamping hides nothing from the parity check."""
    torch.manual_seed(0)
    net = build_net(cfg).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.5)
    return net


def export(cfg, path, **kw):
    return E.export_model(mid_grey_net(cfg), path, kind=cfg.kind, name=kw.pop("name", "mine"), scale=cfg.scale,
                          arch=arch_name(cfg), stride=net_stride(cfg), train=TRAIN,
                          source_sha256="ab" * 32 if cfg.kind == "style" else None, **kw)


@pytest.mark.parametrize("tier", ["fast", "quality"])
def test_style_export_keeps_the_contract(tmp_path, tier):
    cfg = NetConfig(tier=tier)
    path = export(cfg, tmp_path / "mine.onnx", title="Mine", credit="me")
    info = check_model(path)
    assert (info.name, info.kind, info.scale, info.arch, info.title, info.credit) == (
        "mine", "style", 1, arch_name(cfg), "Mine", "me")
    assert info.train == TRAIN
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["stylecam.format"] == "1" and meta["stylecam.source_sha256"] == "ab" * 32
    assert path.stat().st_mode & 0o044 == 0o044  # readable by others, like any file we write
    engine = Engine(path, device="cpu", threads=1)
    net = mid_grey_net(cfg)
    for h, w in [(33, 47), (97, 131), (64, 64)]:  # odd, odd and a multiple of the stride
        frame = test_frame(h, w, seed=h)
        out = engine.run(frame)
        assert out.shape == (h, w, 3) and out.dtype == np.uint8
        with torch.no_grad():
            want = E.ContractWrapper(net, net_stride(cfg), 1, margin=net_margin(cfg))(torch.from_numpy(frame)).numpy()
        assert (np.abs(out.astype(int) - want.astype(int)) <= 1).mean() >= 0.999
        assert 0 < out.mean() < 255 and out.std() > 0


def test_sr_export(tmp_path):
    cfg = NetConfig(kind="sr", tier="fast", scale=4)
    info = check_model(export(cfg, tmp_path / "sr.onnx"))
    assert (info.kind, info.scale) == ("sr", 4)
    out = Engine(info, device="cpu", threads=1).run(test_frame(33, 41))
    assert out.shape == (132, 164, 3)


def test_padding_replicates_edges_and_crops_back():
    x = torch.arange(2 * 5 * 7, dtype=torch.float32).reshape(1, 2, 5, 7)
    y = pad_to_multiple(x, 4)
    assert y.shape == (1, 2, 8, 8)
    torch.testing.assert_close(y[:, :, :5, :7], x)
    torch.testing.assert_close(y[:, :, 7, 7], x[:, :, 4, 6])
    wrapper = E.ContractWrapper(torch.nn.Identity(), stride=8, scale=1)
    frame = torch.from_numpy(test_frame(35, 51))
    assert torch.equal(wrapper(frame), frame)  # identity net: the frame comes back untouched
    wrapper = E.ContractWrapper(torch.nn.Identity(), stride=8, scale=1, margin=8)
    assert torch.equal(wrapper(frame), frame)


def test_margin_mirrors_every_side_then_pads_to_the_stride():
    x = torch.arange(5, dtype=torch.float32).reshape(1, 1, 1, 5).expand(1, 1, 5, 5)
    y = pad_to_multiple(x, 4, margin=2)
    assert y.shape == (1, 1, 12, 12)  # 5 + 2 + 2 = 9 -> 12
    assert y[0, 0, 0].tolist() == [2, 1, 0, 1, 2, 3, 4, 3, 2, 2, 2, 2]
    col = torch.arange(5, dtype=torch.float32).reshape(1, 1, 5, 1).expand(1, 1, 5, 5)
    y = pad_to_multiple(col, 4, margin=2, top=3)  # a wider top margin: 5 + 3 + 2 = 10 -> 12
    assert y.shape == (1, 1, 12, 12)
    assert y[0, 0, :, 0].tolist() == [3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 2, 2]


def test_parity_failure_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(E, "ContractWrapper", lambda net, stride, scale, margin=0: Inverted(net, stride, scale, margin))
    out = tmp_path / "out"
    out.mkdir()
    target = out / "bad.onnx"
    with pytest.raises(TrainError, match=r"export parity failed: only .* of pixels within 1 grey level"):
        export(NetConfig(), target)
    assert list(out.iterdir()) == []  # neither the model nor its temporary file


class Inverted(E.ContractWrapper):
    """Exports as usual, but its torch side answers 255 - x: the parity check must notice."""

    def forward(self, frame):
        out = super().forward(frame)
        return out if torch.onnx.is_in_onnx_export() else 255 - out


def test_parity_of_a_broken_graph_is_measured(tmp_path):
    cfg = NetConfig()
    path = export(cfg, tmp_path / "m.onnx")
    wrapper = E.ContractWrapper(mid_grey_net(cfg), net_stride(cfg), 1, margin=net_margin(cfg))
    image = test_frame(41, 59)
    assert E.check_parity(path, wrapper, image) >= 0.999
    other = E.ContractWrapper(build_net(cfg).eval(), net_stride(cfg), 1, margin=net_margin(cfg))  # other weights
    assert E.check_parity(path, other, image) < 0.5


def test_metadata_is_json_with_the_training_settings(tmp_path):
    path = export(NetConfig(), tmp_path / "m.onnx")
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(meta["stylecam.train"]) == TRAIN

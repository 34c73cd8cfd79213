"""benchmarks/speed.py's GMAC count from the ONNX graph agrees with a count from the torch module."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _contract import export  # noqa: E402
from _measure import conv_gmacs, time_call  # noqa: E402

from trainer.nets import NetConfig, build_net, net_stride  # noqa: E402


def torch_conv_macs(net: nn.Module, x: torch.Tensor) -> int:
    total = 0

    def hook(mod, _inp, out):
        nonlocal total
        total += out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return total


@pytest.mark.parametrize("cfg", [NetConfig("style", "fast"), NetConfig("sr", "fast", 4)])
def test_onnx_mac_count_matches_torch_hooks(cfg, tmp_path):
    torch.manual_seed(0)
    net = build_net(cfg).eval()
    s = net_stride(cfg)
    h, w = 6 * s, 10 * s  # multiples of the stride: the wrapper adds no padding
    path = export(net, tmp_path / "m.onnx", stride=s, scale=cfg.scale, kind=cfg.kind, local=True)
    got = conv_gmacs(path, {"frame": np.zeros((h, w, 3), np.uint8)})
    want = torch_conv_macs(net, torch.zeros(1, 3, h, w)) / 1e9
    assert got == pytest.approx(want, rel=1e-9)
    assert want > 0


def test_local_export_pads_odd_sizes_like_the_contract(tmp_path):
    import onnxruntime as ort

    net = build_net(NetConfig("style", "fast")).eval()
    path = export(net, tmp_path / "m.onnx", stride=net_stride(NetConfig()), local=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(["image"], {"frame": np.zeros((37, 45, 3), np.uint8)})[0]
    assert out.shape == (37, 45, 3) and out.dtype == np.uint8


def test_time_call_reports_median_and_best():
    t = time_call(lambda: sum(range(1000)), reps=5, max_s=1)
    assert t.runs == 5 and 0 < t.min_ms <= t.median_ms and t.fps > 0


@pytest.mark.parametrize("fast", ["v3-ns", "v3"])
def test_the_eager_loop_finds_a_torch_net_for_every_fast_preset(fast):
    """render_speed.py --eager and speed.py's eager column build the shipped styles' net (v3-ns)."""
    from _speed_cases import torch_net_for

    from trainer.nets import arch_name

    cfg = NetConfig("style", "fast", fast=fast)
    net, found = torch_net_for(arch_name(cfg))
    assert net is not None and arch_name(found) == arch_name(cfg)


def test_a_quality_tier_is_a_row_of_its_own(isolated_catalog):
    """speed.py times a built-in style's quality tier (``<name> quality``) beside its fast net."""
    import shutil

    from _speed_cases import models_to_measure

    assets = Path(__file__).resolve().parents[2] / "stylecam" / "assets"
    builtin, _user = isolated_catalog
    for f in ("starry_night.onnx", "starry_night.quality.onnx"):
        shutil.copy(assets / f, builtin / f)
    rows = {m["label"]: m for m in models_to_measure(None)}
    assert set(rows) == {"starry_night", "starry_night quality"}
    q = rows["starry_night quality"]
    assert q["path"] == builtin / "starry_night.quality.onnx" and q["precision"] == "float"
    assert q["arch"] != rows["starry_night"]["arch"] and q["kind"] == "style"

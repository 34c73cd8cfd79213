"""Half-size model files (trainer.half): float16 weights behind Cast nodes, run by onnxruntime
in float32, read back by --init; the quality tier's export writes them (test_gpu_round)."""

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto

from stylecam.models import check_model
from stylecam.testing import test_frame
from trainer.checkpoint import _init_from_model
from trainer.export import export_model
from trainer.half import casts_left, half_file, half_weights, is_half, main
from trainer.nets import NetConfig, arch_name, build_net, net_stride


def quality_model(tmp_path, half):
    torch.manual_seed(3)
    cfg = NetConfig(tier="quality")
    net = build_net(cfg).eval()
    path = export_model(net, tmp_path / f"q{int(half)}.quality.onnx", kind="style", name="q", scale=1,
                        arch=arch_name(cfg), stride=net_stride(cfg), train={}, source_sha256="cd" * 32)
    if half:
        half_file(path)
    return net, cfg, path


def picture(path, frame):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]).run(None, {"frame": frame})[0]


def test_a_half_quality_tier_is_half_the_file_and_the_same_picture(tmp_path):
    net, cfg, full = quality_model(tmp_path, half=False)
    _, _, half = quality_model(tmp_path, half=True)
    check_model(half)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    model = onnx.load(str(half))
    assert is_half(model) and not is_half(onnx.load(str(full)))
    big = [i for i in model.graph.initializer if np.prod(i.dims) >= 1024]
    assert big and all(i.data_type == TensorProto.FLOAT16 for i in big)
    assert casts_left(half) == 0  # onnxruntime folds them at load: the net runs as before
    frame = test_frame(61, 83, seed=2)
    diff = np.abs(picture(full, frame).astype(int) - picture(half, frame).astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.8


def test_init_reads_the_weights_back_through_the_casts(tmp_path):
    net, cfg, path = quality_model(tmp_path, half=True)
    fresh = build_net(cfg)
    _init_from_model(fresh, path, cfg, log=lambda m: None)
    mine = fresh.state_dict()
    for k, v in net.state_dict().items():
        assert mine[k].dtype == torch.float32
        assert torch.allclose(mine[k], v, rtol=1e-3, atol=1e-4), k
        assert not torch.equal(mine[k], v) or v.numel() < 1024  # the big ones went through float16


def test_the_command_halves_a_file_once_and_says_what_is_missing(tmp_path, capsys):
    _, _, path = quality_model(tmp_path, half=False)
    before = path.stat().st_size
    assert main([str(path)]) == 0
    after = path.stat().st_size
    out = capsys.readouterr().out
    assert after < 0.55 * before and "MB ->" in out and " dB from before" in out
    again = half_weights(onnx.load(str(path)))  # a converted model comes back unchanged
    assert again.SerializeToString() == onnx.load(str(path)).SerializeToString()
    assert main([str(tmp_path / "missing.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing.onnx" in err and len(err.splitlines()) == 1
    (tmp_path / "notes.onnx").write_text("not a model")
    assert main([str(tmp_path / "notes.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "notes.onnx is not a model file" in err and len(err.splitlines()) == 1


def test_small_tensors_stay_float32(tmp_path):
    _, _, path = quality_model(tmp_path, half=True)
    model = onnx.load(str(path))
    small = [i for i in model.graph.initializer if np.prod(i.dims) < 1024]
    assert small and all(i.data_type != TensorProto.FLOAT16 for i in small)

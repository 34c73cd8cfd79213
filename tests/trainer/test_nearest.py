"""--init nearest / auto: the installed style whose outputs look most like the painting starts a
short run (tiny tint models, tiny sizes, one thread)."""

import json

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from stylecam.errors import TrainError, UsageError
from stylecam.models import Catalog
from stylecam.testing import test_frame
from trainer import nearest as N
from trainer.cli import _init, build_parser
from trainer.export import export_model
from trainer.nets import NetConfig, arch_name, build_net, net_stride
from trainer.train import TrainConfig, Trainer

V3 = arch_name(NetConfig())


@pytest.fixture(scope="module")
def vgg():
    from trainer.vgg import load_vgg

    try:
        return load_vgg()
    except TrainError as exc:
        pytest.skip(f"no VGG weights here: {exc}")


def tint_model(path, name, gains, arch=V3, tier="fast", kind="style"):
    """A contract model that multiplies R, G, B by ``gains``: a 'style' that only tints."""
    f = TensorProto.FLOAT
    nodes = [helper.make_node("Cast", ["frame"], ["x"], to=f),
             helper.make_node("Mul", ["x", "gains"], ["y"]),
             helper.make_node("Clip", ["y", "zero", "top"], ["c"]),
             helper.make_node("Cast", ["c"], ["image"], to=TensorProto.UINT8)]
    inits = [helper.make_tensor("gains", f, [3], list(gains)), helper.make_tensor("zero", f, [], [0.0]),
             helper.make_tensor("top", f, [], [255.0])]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("frame", TensorProto.UINT8, ["H", "W", 3])],
                              [helper.make_tensor_value_info("image", TensorProto.UINT8, [None, None, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in {"stylecam.format": "1", "stylecam.kind": kind, "stylecam.name": name, "stylecam.scale": "1",
                 "stylecam.arch": arch, "stylecam.train": json.dumps({"tier": tier}),
                 "stylecam.source_sha256": "0" * 64}.items():
        model.metadata_props.add(key=k, value=v)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def red_painting(h=48, w=64):
    img = test_frame(h, w, seed=4).astype(np.float32)
    img *= np.array([1.0, 0.15, 0.15], np.float32)
    return torch.from_numpy(img).permute(2, 0, 1)[None] / 255


def test_gram_distance_is_relative_and_zero_only_for_equal():
    a = {"l": torch.eye(3), "m": torch.ones(2, 2) * 100}
    assert N.gram_distance(a, a) == 0
    b = {"l": torch.eye(3) * 2, "m": torch.ones(2, 2) * 200}
    assert N.gram_distance(b, a) == pytest.approx(2.0)  # each layer off by its own size: 1 + 1


def test_the_red_tint_is_nearest_a_red_painting(vgg, tmp_path):
    models = [tint_model(tmp_path / "blue.onnx", "blue", (0.15, 0.15, 1.0)),
              tint_model(tmp_path / "red.onnx", "red", (1.0, 0.15, 0.15))]
    cat = Catalog([(tmp_path, "user")])
    photos = np.stack([test_frame(40, 40, seed=s) for s in (0, 1)])
    ranked = N.rank(vgg, red_painting(), N.candidates(V3, cat), photos)
    assert [m.name for _, m in ranked] == ["red", "blue"] and ranked[0][0] < ranked[1][0]
    assert {m.path for _, m in ranked} == set(models)


def test_only_fast_styles_on_this_net_are_candidates(tmp_path):
    tint_model(tmp_path / "good.onnx", "good", (1, 1, 1))
    tint_model(tmp_path / "v2.onnx", "v2", (1, 1, 1), arch=arch_name(NetConfig(fast="v2")))
    tint_model(tmp_path / "paper.onnx", "paper", (1, 1, 1), tier="quality")
    tint_model(tmp_path / "other.onnx", "other", (1, 1, 1), arch="test-identity")
    assert [m.name for m in N.candidates(V3, Catalog([(tmp_path, "user")]))] == ["good"]


def test_probe_photos_are_two_squares():
    photos = N.probe_photos(64)
    assert photos.shape == (2, 64, 64, 3) and photos.dtype == np.uint8


@pytest.mark.parametrize("argv, want", [
    ([], "base"), (["--minutes", "5"], "nearest"), (["--minutes", "15"], "nearest"), (["--minutes", "16"], "base"),
    (["--steps", "600"], "nearest"), (["--steps", "601"], "base"), (["--minutes", "30", "--steps", "270"], "nearest"),
    (["--steps", "100", "--init", "scratch"], "scratch"), (["--minutes", "60", "--init", "nearest"], "nearest"),
])
def test_auto_starts_a_short_style_run_from_the_nearest_style(argv, want, tmp_path, monkeypatch):
    monkeypatch.setattr("trainer.checkpoint.BASE_DIR", tmp_path)  # no shipped trunk (test_trunk_fit.py: with one)
    args = build_parser().parse_args(["p.jpg", "--name", "x", *argv])
    assert _init(args, "style") == want


def test_auto_is_base_off_style_runs_and_nearest_is_refused_there():
    assert _init(build_parser().parse_args(["--sr", "4", "--steps", "100"]), "sr") == "base"
    with pytest.raises(UsageError, match="^--init nearest starts a style from the nearest installed one; --sr has none$"):
        _init(build_parser().parse_args(["--sr", "4", "--init", "nearest"]), "sr")
    assert TrainConfig().init == "base"  # code that builds TrainConfig itself is unchanged


def tiny(photos, painting, init="nearest"):
    return TrainConfig(name="t", style=str(painting), content=str(photos), size=40, batch=1, steps=1,
                       init=init, style_size=48)


def test_nearest_starts_from_that_model_and_records_it(photos, painting, tmp_path, monkeypatch):
    torch.manual_seed(3)
    cfg = NetConfig()
    old = build_net(cfg).eval()
    (tmp_path / "models").mkdir()
    export_model(old, tmp_path / "models" / "kin.onnx", kind="style", name="kin", scale=1, arch=V3,
                 stride=net_stride(cfg), train={"tier": "fast"}, source_sha256="ab" * 32)
    tint_model(tmp_path / "models" / "far.onnx", "far", (0.0, 1.0, 0.0), arch="test-other-net")
    monkeypatch.setattr(N, "Catalog", lambda: Catalog([(tmp_path / "models", "user")]))
    monkeypatch.setattr(N, "PROBE_SIZE", 64)
    lines = []
    tr = Trainer(tiny(photos, painting), tmp_path / "run", quiet=True, log=lines.append)
    assert lines == ["starting from 'kin' (the nearest installed style to painting.png)"]
    assert tr.cfg.init == "nearest:kin" and "kin.onnx" in tr.init_used  # what the model's metadata records
    mine = tr.net.state_dict()
    assert all(torch.equal(mine[k].cpu(), v) for k, v in old.state_dict().items())
    # the recorded init starts a run from the same model again, without ranking
    again = Trainer(tiny(photos, painting, init="nearest:KIN"), tmp_path / "again", quiet=True, log=lines.append)
    assert "kin.onnx" in again.init_used and len(lines) == 1
    with pytest.raises(UsageError, match="^--init nearest:far: no installed .* style named 'far'$"):
        Trainer(tiny(photos, painting, init="nearest:far"), tmp_path / "far", quiet=True)


def test_nothing_fits_falls_back_to_the_base_network(photos, painting, tmp_path, monkeypatch):
    monkeypatch.setattr(N, "Catalog", lambda: Catalog([(tmp_path / "none", "user")]))
    lines = []
    tr = Trainer(tiny(photos, painting), tmp_path / "run", quiet=True, log=lines.append)
    assert lines[0] == f"note: --init nearest: no installed fast style on this {V3} net; starting from the base network"
    assert tr.cfg.init == "base" and "kin" not in tr.init_used

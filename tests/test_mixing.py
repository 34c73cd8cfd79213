"""stylecam.mixing: styles of one trunk blend in one pass, exactly, and stylecam-render uses it.

Real trunk styles (a random ``TrunkNet`` exported by the trainer's own exporter), real
onnxruntime sessions, a real clip written and read back with PyAV."""

import json

import av
import numpy as np
import onnxruntime as ort
import pytest

from stylecam import mixing
from stylecam.errors import ModelError
from stylecam.models import check_model
from stylecam.testing import make_clip, test_frame
from render_cli import run

torch = pytest.importorskip("torch")
from trunk_models import make_trunk_styles  # noqa: E402  (needs torch)


def _run(path, frame):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {"frame": frame})[0]


@pytest.fixture
def trunk(tmp_path):
    return [check_model(p) for p in make_trunk_styles(tmp_path / "trunk", ("alpha", "beta", "gamma"))]


def test_styles_of_one_trunk_mix_in_one_pass_and_exactly(trunk, tmp_path):
    a, b, c = trunk
    assert mixing.one_pass([a, b]) and mixing.one_pass([a, b, c])
    assert mixing.trunk_of(a) == mixing.trunk_of(c)
    m = mixing.mixed_model([a, b], [0.6, 0.4], folder=tmp_path / "blends")
    assert m.name == "alpha:0.6,beta:0.4" and m.kind == "style" and m.int8_path is not None
    frame = test_frame(70, 90)
    got = _run(m.path, frame)
    # the mix of weights is not the mix of pictures: it is a style of its own, between the two
    ya, yb = _run(a.path, frame).astype(float), _run(b.path, frame).astype(float)
    assert got.shape == frame.shape
    assert np.abs(got - ya).mean() > 1 and np.abs(got - yb).mean() > 1
    # exact: the trunk's own mixed style, exported directly, gives the same picture
    again = mixing.mixed_model([b, a], [0.4, 0.6], folder=tmp_path / "blends2")
    assert np.array_equal(_run(again.path, frame), got)


def test_mixes_are_cached_and_rounded(trunk, tmp_path):
    a, b, _ = trunk
    first = mixing.mixed_model([a, b], [0.6, 0.4], folder=tmp_path / "blends")
    stamp = first.path.stat().st_mtime_ns
    same = mixing.mixed_model([a, b], [0.61, 0.39], folder=tmp_path / "blends")
    assert same.path == first.path and same.path.stat().st_mtime_ns == stamp
    assert mixing.rounded([0.61, 0.39]) == [0.6, 0.4]
    thirds = mixing.rounded([1, 1, 1])
    assert sum(thirds) == pytest.approx(1) and all(abs(w - 1 / 3) <= mixing.STEP for w in thirds)
    alone = mixing.mixed_model([a, b], [0.99, 0.01], folder=tmp_path / "blends")
    assert alone.path == a.path  # b's share rounds to 0: a alone


def test_other_models_do_not_mix(trunk, tmp_path):
    from stylecam.testing import write_model

    a, _, _ = trunk
    other = check_model(write_model(tmp_path / "inv.onnx", "invert", name="inv"))
    assert not mixing.one_pass([a, other]) and not mixing.one_pass([a])
    with pytest.raises(ModelError):
        mixing.mixed_model([a, other], [0.5, 0.5], folder=tmp_path / "blends")
    foreign = [check_model(p) for p in make_trunk_styles(tmp_path / "t2", ("delta", "eps"), seed=1)]
    assert not mixing.one_pass([a, foreign[0]])  # another trunk


def test_render_blends_trunk_styles_in_one_pass(isolated_catalog, tmp_path, capsys):
    builtin, _ = isolated_catalog
    make_trunk_styles(builtin, ("alpha", "beta"))
    clip = make_clip(tmp_path / "clip.mp4", frames=8, width=96, height=64)
    code, out, err = run(capsys, clip, "--style", "alpha:0.7,beta:0.3", "--stabilize", "0", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["blend_passes"] == 1 and summary["style"] == "alpha:0.7,beta:0.3"
    with av.open(summary["output"]) as c:
        assert sum(1 for _ in c.decode(video=0)) == 8

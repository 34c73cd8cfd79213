"""The convs before instance norm are centred and scaled so 8 bits keep their channels."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from stylecam import models, norm_equalize, quantize
from stylecam.errors import ModelError
from stylecam.testing import contract_graph, moving_frame, write_model


def frames(n=8, h=96, w=128):
    return [moving_frame(i * 5, h, w) for i in range(n)]


def run(model: onnx.ModelProto, frame: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        ["image"], {"frame": frame})[0]


def test_the_float_picture_stays_and_the_quiet_channel_is_spread():
    model = contract_graph("conv_norm")
    eq, changed = norm_equalize.equalize(model, frames(4), threads=1)
    assert changed == 1
    f = moving_frame(50, 77, 101)  # odd size, not one of the measured frames
    assert quantize.psnr(run(eq, f), run(model, f)) >= 50
    before = norm_equalize.channel_stats(model, ["c1"], frames(4), 1)[0]
    mean, var = norm_equalize.channel_stats(eq, ["c1"], frames(4), 1)[0]
    assert before[0][7] > 19 and before[1][7] < 1e-3  # the quiet channel on its offset...
    np.testing.assert_allclose(mean, 0, atol=1e-3)  # ...centred
    np.testing.assert_allclose(np.sqrt(var), 1, rtol=0.05)  # ...and every channel spreads about 1
    assert model.graph.initializer[0] != eq.graph.initializer[0]  # a copy: the model given is untouched


def _float_nodes(path) -> list:
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return json.loads(meta["stylecam.int8"])["float_nodes"]


def test_int8_keeps_the_picture_only_with_the_channels_equalised(tmp_path):
    src = write_model(tmp_path / "cn.onnx", "conv_norm", name="cn")
    with pytest.raises(ModelError, match="too much"):
        quantize.quantize_model(src, frames(), equalize=False, entry_float=False)
    assert not models.variant_path(src).exists()
    # without the equaliser only the last resort keeps it: the norm and its conv in float
    kept = quantize.quantize_model(src, frames(), equalize=False)
    assert len(_float_nodes(kept.path)) == 3
    res = quantize.quantize_model(src, frames())
    assert res.psnr_db >= quantize.MIN_PSNR + 10
    meta = {p.key: p.value for p in onnx.load(str(res.path)).metadata_props}
    assert json.loads(meta["stylecam.int8"])["equalized_convs"] == 1
    assert len(_float_nodes(res.path)) == 1  # the last conv alone: the equalised norm needs no help
    assert quantize.psnr(run(onnx.load(str(res.path)), frames()[3]), run(onnx.load(str(src)), frames()[3])) >= 40


def test_only_a_conv_that_feeds_a_norm_alone_with_its_own_weights_is_touched():
    assert norm_equalize.norm_pairs(contract_graph("conv")) == []  # no norm: nothing to do
    model = contract_graph("conv_norm")
    same, changed = norm_equalize.equalize(contract_graph("conv"), frames(2), 1)
    assert changed == 0 and same == contract_graph("conv")
    shared = onnx.ModelProto()
    shared.CopyFrom(model)  # the conv's output read by another node too: left alone
    shared.graph.node.append(onnx.helper.make_node("Identity", ["c1"], ["c1_copy"]))
    assert norm_equalize.norm_pairs(shared) == []
    both = onnx.ModelProto()
    both.CopyFrom(model)  # a weight another node also reads is not rewritten
    both.graph.node.append(onnx.helper.make_node("Identity", ["w1"], ["w1_copy"]))
    assert norm_equalize.norm_pairs(both) == []
    assert [c.output[0] for c, _ in norm_equalize.norm_pairs(model)] == ["c1"]

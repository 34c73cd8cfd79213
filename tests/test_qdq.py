"""uint8_pads: a DQ → reflect Pad → Q with one scale becomes a Pad on the uint8 tensor, and
onnxruntime gives bit for bit the same output; other pads are left alone."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from stylecam.qdq import uint8_pads


def qdq_pad_model(mode: str = "reflect", second_scale: float = 0.05) -> onnx.ModelProto:
    """x (float) → Q → DQ → Pad(mode) → Q' → DQ' → Conv 3x3 → y; Q' uses ``second_scale``."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(np.array(0.05, np.float32), "s"),
        numpy_helper.from_array(np.array(128, np.uint8), "zp"),
        numpy_helper.from_array(np.array(second_scale, np.float32), "s2"),
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
        numpy_helper.from_array(rng.normal(size=(2, 2, 3, 3)).astype(np.float32), "w"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "zp"], ["xf"]),
        helper.make_node("Pad", ["xf", "pads"], ["xp"], mode=mode),
        helper.make_node("QuantizeLinear", ["xp", "s2", "zp"], ["pq"]),
        helper.make_node("DequantizeLinear", ["pq", "s2", "zp"], ["pf"]),
        helper.make_node("Conv", ["pf", "w"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 6, 7])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def ops(model) -> list[str]:
    return [n.op_type for n in model.graph.node]


@pytest.mark.parametrize("mode", ["reflect", "edge"])
def test_a_copying_pad_runs_on_the_uint8_tensor_with_the_same_output(mode):
    x = np.random.default_rng(1).normal(size=(1, 2, 6, 7)).astype(np.float32)
    model = qdq_pad_model(mode, second_scale=0.05)
    before = run(model, x)
    assert uint8_pads(model) == 1
    onnx.checker.check_model(model)
    assert ops(model) == ["QuantizeLinear", "Pad", "DequantizeLinear", "Conv"]
    np.testing.assert_array_equal(run(model, x), before)


def test_pads_that_would_change_values_are_left_alone():
    for model in (qdq_pad_model("constant"), qdq_pad_model("reflect", second_scale=0.1)):
        kept = ops(model)
        assert uint8_pads(model) == 0 and ops(model) == kept

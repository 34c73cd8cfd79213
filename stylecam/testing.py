"""Test seams shipped in the package: tiny contract models and media made in code.

Used by the tests, the benchmarks and anyone who wants to try stylecam without trained
models. Nothing here needs PyTorch.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def contract_graph(op: str = "identity", *, name: str | None = None, kind: str = "style",
                   scale: int = 1, meta: dict | None = None, input_name: str = "frame",
                   output_name: str = "image", elem_type: int = TensorProto.UINT8,
                   in_shape: list | None = None) -> onnx.ModelProto:
    """A small model that keeps (or, through the keyword overrides, breaks) the contract.

    ``op``: "identity"; "invert" (255 - x); "swap" (RGB -> BGR); "nearest" (nearest-neighbour
    upscale by ``scale``, for kind="sr"); "conv" (a small float conv net, 3 -> 16 -> 3 channels
    of 3x3 convs, seeded weights near the identity plus a texture: something to quantise);
    "conv_norm" (3 -> 8 -> 3 channels with an instance norm between, one of its channels quiet
    on a large offset: what 8 bits round away unless ``stylecam.norm_equalize`` spreads it).
    """
    x = input_name
    nodes, inits = [], []
    if op == "identity":
        nodes.append(helper.make_node("Identity", [x], [output_name]))
    elif op == "invert":
        inits.append(helper.make_tensor("c255", elem_type, [], [255]))
        nodes.append(helper.make_node("Sub", ["c255", x], [output_name]))
    elif op == "swap":
        inits.append(helper.make_tensor("idx", TensorProto.INT64, [3], [2, 1, 0]))
        nodes.append(helper.make_node("Gather", [x, "idx"], [output_name], axis=2))
    elif op == "nearest":
        inits.append(helper.make_tensor("scales", TensorProto.FLOAT, [3], [scale, scale, 1.0]))
        nodes.append(helper.make_node("Resize", [x, "", "scales"], [output_name], mode="nearest"))
    elif op == "conv":
        _conv_net(x, output_name, nodes, inits)
    elif op == "conv_norm":
        _conv_norm_net(x, output_name, nodes, inits)
    else:
        raise ValueError(f"unknown op {op!r}")
    in_shape = in_shape if in_shape is not None else ["H", "W", 3]
    out_shape = [None, None, 3]
    graph = helper.make_graph(
        nodes, f"stylecam_{op}",
        [helper.make_tensor_value_info(x, elem_type, in_shape)],
        [helper.make_tensor_value_info(output_name, elem_type, out_shape)],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="stylecam.testing")
    model.ir_version = 8
    props = {
        "stylecam.format": "1",
        "stylecam.kind": kind,
        "stylecam.name": name or op,
        "stylecam.scale": str(scale),
        "stylecam.arch": f"test-{op}",
        "stylecam.train": json.dumps({"note": "built in code for tests"}),
        "stylecam.source_sha256": "0" * 64,
        "stylecam.title": "",
    }
    props.update(meta or {})
    for k, v in props.items():
        if v is not None:
            model.metadata_props.add(key=k, value=v)
    return model


def _to_nchw(x: str, nodes: list, inits: list) -> str:
    f = TensorProto.FLOAT
    inits += [helper.make_tensor("k", f, [], [255.0]), helper.make_tensor("zero", f, [], [0.0]),
              helper.make_tensor("one", f, [], [1.0]), helper.make_tensor("axes", TensorProto.INT64, [1], [0])]
    nodes += [helper.make_node("Cast", [x], ["xf"], to=f),
              helper.make_node("Div", ["xf", "k"], ["x01"]),
              helper.make_node("Transpose", ["x01"], ["chw"], perm=[2, 0, 1]),
              helper.make_node("Unsqueeze", ["chw", "axes"], ["nchw"])]
    return "nchw"


def _to_picture(y: str, out: str, nodes: list) -> None:
    nodes += [helper.make_node("Squeeze", [y, "axes"], ["y"]),
              helper.make_node("Transpose", ["y"], ["hwc"], perm=[1, 2, 0]),
              helper.make_node("Clip", ["hwc", "zero", "one"], ["clipped"]),
              helper.make_node("Mul", ["clipped", "k"], ["y255"]),
              helper.make_node("Round", ["y255"], ["rounded"]),
              helper.make_node("Cast", ["rounded"], [out], to=TensorProto.UINT8)]


def _conv_net(x: str, out: str, nodes: list, inits: list) -> None:
    rng = np.random.default_rng(3)
    w1 = rng.normal(0, 0.15, (16, 3, 3, 3)).astype(np.float32)
    w1[:3] = 0
    w1[[0, 1, 2], [0, 1, 2], 1, 1] = 1.0  # channels 0-2 carry the picture through the ReLU
    w2 = rng.normal(0, 0.03, (3, 16, 3, 3)).astype(np.float32)
    w2[:, :3] = 0
    w2[[0, 1, 2], [0, 1, 2], 1, 1] = 1.0
    inits += [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(np.zeros(16, np.float32), "b1"),
              numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.zeros(3, np.float32), "b2")]
    nchw = _to_nchw(x, nodes, inits)
    nodes += [helper.make_node("Conv", [nchw, "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c1"], ["r1"]),
              helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1])]
    _to_picture("c2", out, nodes)


def _conv_norm_net(x: str, out: str, nodes: list, inits: list) -> None:
    rng = np.random.default_rng(5)
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    b1 = np.zeros(8, np.float32)
    w1[7] *= 0.02  # channel 7: a spread of about 0.01 on an offset of 20
    b1[7] = 20.0
    w2 = rng.normal(0, 0.02, (3, 8, 3, 3)).astype(np.float32)
    w2[:, 7, 1, 1] = 0.15  # ...which the picture shows once the norm has spread it
    inits += [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
              numpy_helper.from_array(np.ones(8, np.float32), "g1"),
              numpy_helper.from_array(np.zeros(8, np.float32), "s1"),
              numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.full(3, 0.5, np.float32), "b2")]
    nchw = _to_nchw(x, nodes, inits)
    nodes += [helper.make_node("Conv", [nchw, "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
              helper.make_node("InstanceNormalization", ["c1", "g1", "s1"], ["n1"]),
              helper.make_node("Relu", ["n1"], ["r1"]),
              helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1])]
    _to_picture("c2", out, nodes)


def write_model(path: str | os.PathLike, op: str = "identity", **kw) -> Path:
    """Write ``contract_graph(op, **kw)`` to ``path`` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(contract_graph(op, **kw), str(path))
    return path


def test_frame(height: int = 48, width: int = 80, seed: int = 0) -> np.ndarray:
    """A non-square RGB frame with gradients and noise, so swaps and flips show."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1),
                    (xx + yy) % 256], axis=-1).astype(np.int32)
    img += rng.integers(-20, 21, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


test_frame.__test__ = False  # not a pytest test


def moving_frame(i: int, height: int, width: int) -> np.ndarray:
    """Frame ``i`` of a synthetic clip: a gradient with a bright square moving across it."""
    frame = test_frame(height, width, seed=0)
    size = max(4, min(height, width) // 4)
    x = (i * 3) % max(1, width - size)
    y = (i * 2) % max(1, height - size)
    frame[y:y + size, x:x + size] = (250, 240, 30)
    return frame


def make_clip(path: str | os.PathLike, frames: int = 24, width: int = 96, height: int = 64,
              rate: Fraction | int = Fraction(30000, 1001), audio: bool = True,
              codec: str = "h264", audio_seconds: float | None = None) -> Path:
    """Write a small real video (and AAC audio) with PyAV, for tests."""
    import av

    path = Path(path)
    rate = Fraction(rate)
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=rate)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        if codec == "h264":
            v.options = {"preset": "ultrafast"}
        a = None
        if audio:
            a = out.add_stream("aac", rate=44100)
            a.layout = "stereo"
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(moving_frame(i, height, width), format="rgb24")
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        if a is not None:
            seconds = audio_seconds if audio_seconds is not None else frames / rate
            n = int(44100 * float(seconds))
            t = np.arange(n) / 44100
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            samples = np.stack([tone, tone])
            for start in range(0, n, 1024):
                chunk = np.ascontiguousarray(samples[:, start:start + 1024])
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                af.sample_rate = 44100
                af.pts = start
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
    return path


def make_audio_only(path: str | os.PathLike, seconds: float = 1.0) -> Path:
    """An AAC-only file (no video stream)."""
    import av

    path = Path(path)
    with av.open(str(path), "w") as out:
        a = out.add_stream("aac", rate=44100)
        a.layout = "mono"
        n = int(44100 * seconds)
        tone = (0.2 * np.sin(np.arange(n) / 10)).astype(np.float32)[None]
        for start in range(0, n, 1024):
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + 1024]),
                                            format="fltp", layout="mono")
            af.sample_rate = 44100
            af.pts = start
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode():
            out.mux(p)
    return path

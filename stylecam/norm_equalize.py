"""Give 8-bit activations room before instance norm, without changing the float picture.

Instance norm removes each channel's mean and divides by its spread, picture by picture. So
the conv feeding it may shift a channel by any constant and scale it by any positive number
and the normed output stays the same (up to the norm's epsilon). Quantisation does not share
that indifference: the conv's output is quantised with one range per tensor, and a channel
that spreads 0.01 inside a tensor that spans 20 falls between the 256 steps; the norm then
blows that rounding up to the channel's full size. On the shipped trunk one such tensor (the
last downsampling conv's) held almost all of the int8 error: starry_night's variant went from
25.0 to 33.1 dB and mosaic_ducks' from 28.2 to 35.8 when it alone was centred and scaled
(benchmarks/RESULTS.md section 17).

``equalize(model, frames)`` measures each such conv's channels on the frames (the float model,
run by onnxruntime) and rewrites the conv's weights and bias so every channel is centred and
spreads about 1, with the norm's scale adjusted for its epsilon: the float picture is the same
to about 60 dB, and the int8 variant made from it keeps its channels. A cross-layer
equalisation in the sense of Nagel et al. 2019 ("Data-Free Quantization"), exact here because
the norm undoes it.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper as nh

TARGET_STD = 1.0  # each channel's spread after the rewrite


def norm_pairs(model: onnx.ModelProto) -> list[tuple[onnx.NodeProto, onnx.NodeProto]]:
    """(conv, instance norm) pairs where the conv's output feeds that norm and nothing else,
    and the conv's weights (and bias, if any) and the norm's scale are initializers."""
    inits = {i.name for i in model.graph.initializer}
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    outputs = {o.name for o in model.graph.output}
    once = {name for name, nodes in users.items() if len(nodes) == 1}  # rewriting a shared weight would change others
    pairs = []
    for conv in model.graph.node:
        if conv.op_type != "Conv" or conv.output[0] in outputs:
            continue
        after = users.get(conv.output[0], [])
        if len(after) != 1 or after[0].op_type != "InstanceNormalization":
            continue
        norm = after[0]
        params = [name for name in list(conv.input[1:]) + [norm.input[1]] if name]
        if all(name in inits and name in once for name in params):
            pairs.append((conv, norm))
    return pairs


def channel_stats(model: onnx.ModelProto, convs: list[str], frames: list[np.ndarray],
                  threads: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each named conv output: (mean of the channels over all frames, median over the
    frames of each channel's variance within a frame)."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in convs:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = sess.get_inputs()[0].name
    means = [[] for _ in convs]
    variances = [[] for _ in convs]
    for frame in frames:
        for k, out in enumerate(sess.run(convs, {feed: frame})):
            means[k].append(out[0].mean((1, 2)))
            variances[k].append(out[0].var((1, 2)))
    return [(np.mean(m, 0), np.median(v, 0)) for m, v in zip(means, variances)]


def equalize(model: onnx.ModelProto, frames: list[np.ndarray], threads: int = 2) -> tuple[onnx.ModelProto, int]:
    """A copy of ``model`` whose convs before instance norm are centred and scaled per channel
    (measured on ``frames``, RGB uint8 inputs of the model); returns it and how many convs
    changed."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    pairs = norm_pairs(out)
    if not pairs or not frames:
        return out, 0
    stats = channel_stats(model, [conv.output[0] for conv, _ in pairs], frames, threads)
    inits = {i.name: i for i in out.graph.initializer}
    for (conv, norm), (mean, var) in zip(pairs, stats):
        eps = next((a.f for a in norm.attribute if a.name == "epsilon"), 1e-5)
        # a channel quieter than epsilon is the norm's (its output is near zero): centred only
        scale = np.where(var > eps, TARGET_STD / np.sqrt(np.maximum(var, eps)), 1.0).astype(np.float32)
        weight = nh.to_array(inits[conv.input[1]])
        if len(conv.input) > 2 and conv.input[2]:
            bias = nh.to_array(inits[conv.input[2]])
        else:
            bias = np.zeros(weight.shape[0], np.float32)
            name = f"{conv.output[0]}_equalized_bias"
            out.graph.initializer.append(nh.from_array(bias, name))
            inits[name] = out.graph.initializer[-1]
            del conv.input[2:]
            conv.input.append(name)
        gamma = nh.to_array(inits[norm.input[1]])
        # normed = gamma (x - mu) / sqrt(var + eps); with x' = s (x - m) the same picture needs
        # gamma' = gamma sqrt(var + eps / s^2) / sqrt(var + eps)
        fixed = gamma * np.sqrt(var + eps / scale ** 2) / np.sqrt(var + eps)
        for name, value in ((conv.input[1], weight * scale.reshape(-1, *[1] * (weight.ndim - 1))),
                            (conv.input[2], scale * (bias - mean)), (norm.input[1], fixed)):
            inits[name].CopyFrom(nh.from_array(value.astype(np.float32), name))
    return out, len(pairs)

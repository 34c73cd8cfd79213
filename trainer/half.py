"""Half-size model files: a net's large weights stored as float16, computed in float32.

The quality tier (the paper's network, 1.7 M weights) is 6.8 MB in float32. Storing each
large float initializer as float16 behind a ``Cast`` node halves the file; onnxruntime
folds the casts when it loads the model, so the net still runs in float32 at the same
speed, and the picture moves by at most a grey level (``half_file`` checks it as an export
is checked). ``stylecam-train --tier quality`` writes its model so, and
``trainer.checkpoint._model_state`` reads the weights back through the casts, so
``--init MODEL.onnx`` works on a half-size file too.

    python -m trainer.half stylecam/assets/wave.quality.onnx     # rewrites it in place
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MIN_ELEMENTS = 1024  # smaller tensors (biases, norms' scales) stay float32: they cost nothing
SUFFIX = "__f16"


def is_half(model: onnx.ModelProto) -> bool:
    return any(i.name.endswith(SUFFIX) for i in model.graph.initializer)


def half_weights(model: onnx.ModelProto, min_elements: int = MIN_ELEMENTS) -> onnx.ModelProto:
    """A copy of ``model`` whose float32 initializers of at least ``min_elements`` values are
    stored as float16, each cast back to float32 under its old name by a node at the front
    of the graph. A model already converted comes back unchanged."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    if is_half(out):
        return out
    graph = out.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        array = numpy_helper.to_array(init)
        name = init.name
        init.CopyFrom(numpy_helper.from_array(array.astype(np.float16), name + SUFFIX))
        casts.append(helper.make_node("Cast", [name + SUFFIX], [name], to=TensorProto.FLOAT,
                                      name=f"/half/{name}"))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return out


def half_file(path: str | Path, out: str | Path | None = None) -> tuple[int, int, float, int]:
    """Rewrite a model file half-size (in place unless ``out``); returns (bytes before, after,
    PSNR in dB and largest difference in grey levels of the picture of a test image). The
    picture must stay within 1 grey level on 99.9% of pixels, as for any export."""
    import onnxruntime as ort

    from stylecam.errors import TrainError
    from stylecam.models import check_model
    from .export import PARITY_SHARE, PARITY_TOLERANCE, _default_parity

    path = Path(path)
    out = Path(out) if out else path
    before = path.stat().st_size
    model = onnx.load(str(path))
    half = half_weights(model)
    meta = {p.key: p.value for p in model.metadata_props}
    image = _default_parity(meta.get("stylecam.kind", "style"), int(meta.get("stylecam.scale", "1")))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1

    def picture(m: onnx.ModelProto) -> np.ndarray:
        session = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        return session.run(None, {"frame": image})[0].astype(np.int16)

    diff = np.abs(picture(model) - picture(half))
    share = float(np.mean(diff <= PARITY_TOLERANCE))
    mse = float(np.mean(diff.astype(np.float64) ** 2))
    psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
    if share < PARITY_SHARE:
        raise TrainError(f"{path}: float16 weights move the picture too far ({share:.2%} of pixels within "
                         f"{PARITY_TOLERANCE} grey level)")
    tmp = out.with_name(f".{out.name}.part")
    onnx.save(half, str(tmp))
    check_model(tmp)
    os.replace(tmp, out)
    return before, out.stat().st_size, psnr, int(diff.max())


def casts_left(path: str | Path) -> int:
    """How many weight casts onnxruntime's optimised graph of the model still runs (0: every
    float16 weight was folded to float32 at load, so the net costs what it did)."""
    import tempfile

    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # its note that the optimised file is for this CPU only
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        opts.optimized_model_filepath = str(Path(tmp) / "optimised.onnx")
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        nodes = onnx.load(opts.optimized_model_filepath).graph.node
        return sum(n.op_type == "Cast" and n.input[0].endswith(SUFFIX) for n in nodes)


def main(argv: list[str] | None = None) -> int:
    from stylecam.errors import StylecamError

    ap = argparse.ArgumentParser(prog="python -m trainer.half", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="+", help="stylecam model files to rewrite in place")
    args = ap.parse_args(argv)
    for p in args.model:
        if not Path(p).is_file():
            print(f"error: no model file at {p}", file=sys.stderr)
            return 2
        try:
            before, after, psnr, worst = half_file(p)
        except StylecamError as exc:  # float16 would move the picture, or it breaks the contract
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:  # not an ONNX model at all
            print(f"error: {p} is not a model file ({type(exc).__name__})", file=sys.stderr)
            return 2
        print(f"{p}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB; its picture of a test image "
              f"{psnr:.1f} dB from before, at most {worst} grey level(s) apart; "
              f"{casts_left(p)} weight cast(s) left in onnxruntime's optimised graph")
    return 0


if __name__ == "__main__":
    sys.exit(main())

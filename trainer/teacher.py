"""``--teacher``: distillation from a stronger stylecam model.

The teacher's picture of each training crop becomes a supervised target beside the paper's
perceptual loss: the net is asked for the teacher's colours and marks (VGG relu1_2 and
relu2_2 of its output against the teacher's, the layers the objective computes anyway), a
signal with far less noise than the Gram matrices of four crops. The teacher is any style
model file, e.g. ``udnie.quality.onnx`` (the paper's net), run by onnxruntime exactly as the
app runs it, so a fast net learns the quality tier's look at the fast tier's cost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import Tensor

from stylecam.errors import StylecamError, UsageError

from .data import to_tensor, to_uint8
from .losses import feature_loss

TEACHER_LAYERS = ("relu1_2", "relu2_2")


class Teacher:
    """A style model file that paints a batch of crops (B, 3, H, W) in [0, 1]."""

    def __init__(self, path: str | Path, threads: int | None = None):
        from stylecam.engine import Engine
        from stylecam.models import check_model

        path = Path(path)
        try:
            info = check_model(path)
        except StylecamError as exc:
            raise UsageError(f"--teacher {path}: {exc}") from None
        if info.kind != "style":
            raise UsageError(f"--teacher {path}: a {info.kind} model; the teacher must be a style")
        self.engine = Engine(info, device="cpu", threads=threads, precision="float", cache=False)

    def __call__(self, x: Tensor) -> Tensor:
        return to_tensor(np.stack([self.engine.run(np.ascontiguousarray(f)) for f in to_uint8(x)])).to(x.device)


def teacher_loss(feats: dict[str, Tensor], teacher_feats: dict[str, Tensor]) -> Tensor:
    """Mean squared difference of the net's and the teacher's VGG features, summed over layers."""
    return sum(feature_loss(feats[l].float(), teacher_feats[l].float()) for l in teacher_feats)

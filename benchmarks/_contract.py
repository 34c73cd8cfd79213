"""Export a transform net to the stylecam model contract for benchmarking.

Uses T1's ``trainer.export.export_model`` when it is there (so the numbers include the
app's real wrapper); this local wrapper is the fallback and follows the same contract:
uint8 HWC RGB in, pad to the stride (edge replicate, as T1's), net, crop, clamp, round,
uint8 HWC out. Its padding is one ONNX ``Pad`` (``F.pad`` traces with dynamic amounts),
where T1's wrapper gathers rows and columns; ``speed.py`` times the two side by side.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class ContractWrapper(nn.Module):
    def __init__(self, net: nn.Module, stride: int, scale: int):
        super().__init__()
        self.net, self.stride, self.scale = net, stride, scale

    def forward(self, frame):  # (H, W, 3) uint8
        h, w = frame.shape[0], frame.shape[1]
        x = frame.permute(2, 0, 1).unsqueeze(0).float() / 255.0  # (1, 3, H, W)
        if self.stride > 1:
            ph, pw = (-h) % self.stride, (-w) % self.stride
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        y = self.net(x)[:, :, : h * self.scale, : w * self.scale]
        y = (y.clamp(0, 1) * 255).round().to(torch.uint8)
        return y[0].permute(1, 2, 0)  # (H*s, W*s, 3)


def export(net: nn.Module, path: Path, *, stride: int, scale: int = 1, kind: str = "style",
           name: str = "bench", arch: str = "bench", local: bool = False) -> Path:
    """Write ``net`` as a contract ONNX model at ``path`` (T1's exporter if importable,
    unless ``local``)."""
    net = net.eval()
    try:
        from trainer.export import export_model
    except ImportError:
        export_model = None
    if local:
        export_model = None
    if export_model is not None:
        return Path(export_model(net, path, kind=kind, name=name, scale=scale, arch=arch,
                                 stride=stride, train={"bench": True},
                                 source_sha256="0" * 64 if kind == "style" else None))
    import onnx
    wrapper = ContractWrapper(net, stride, scale).eval()
    example = torch.zeros(96, 128, 3, dtype=torch.uint8)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (example,), str(path), input_names=["frame"], output_names=["image"],
                          dynamic_axes={"frame": {0: "h", 1: "w"}, "image": {0: "H", 1: "W"}},
                          opset_version=17, dynamo=False)
    model = onnx.load(str(path))
    meta = {"stylecam.format": "1", "stylecam.kind": kind, "stylecam.name": name,
            "stylecam.scale": str(scale), "stylecam.arch": arch, "stylecam.train": json.dumps({"bench": True})}
    if kind == "style":
        meta["stylecam.source_sha256"] = "0" * 64
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(model, str(path))
    return path

"""Export a trained network to a stylecam model file (the contract of DESIGN.md).

``export_model`` wraps the net so the graph itself does everything between the camera
frame and the painted picture: uint8 (H, W, 3) RGB -> float /255 -> (1, 3, H, W) -> pad
to the net's stride (edge replicate, via a gather so H and W stay dynamic) -> net -> crop
-> clamp -> round -> uint8 (H*s, W*s, 3). It then fills the ``stylecam.*`` metadata,
checks onnxruntime against torch on a real picture of odd size, checks the contract with
``stylecam.models.check_model``, and only then renames the temporary file into place.
Usable on its own (e.g. the speed benchmark exports random-weight nets).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from stylecam.errors import OutputError, TrainError
from stylecam.models import FORMAT, check_model

from .nets import frame_margin, pad_to_multiple

OPSET = 17
PARITY_TOLERANCE = 1  # grey levels
PARITY_SHARE = 0.999  # of pixels within the tolerance


class ContractWrapper(nn.Module):
    """uint8 (H, W, 3) RGB in, uint8 (H*s, W*s, 3) RGB out, any H and W.

    ``margin`` pixels of mirrored picture are added on every side (twice that at the top)
    before the net and cut off after: a net's zero padding paints a band along the frame's
    edges, widest at the top (about 24 px for the trained fast tier, where stride-2 convs
    pad), and the margin moves it off the picture.
    """

    def __init__(self, net: nn.Module, stride: int, scale: int, margin: int = 0):
        super().__init__()
        self.net, self.stride, self.scale, self.margin = net, int(stride), int(scale), int(margin)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        x = frame.permute(2, 0, 1).unsqueeze(0).float() / 255.0  # (1, 3, H, W)
        h, w = x.shape[2], x.shape[3]
        m, top, s = self.margin, 2 * self.margin, self.scale
        if self.stride > 1 or m:
            x = pad_to_multiple(x, self.stride, m, top)
        y = self.net(x)  # (1, 3, Hp*s, Wp*s)
        y = y[:, :, top * s: (top + h) * s, m * s: (m + w) * s]
        y = torch.round(torch.clamp(y, 0.0, 1.0) * 255.0).to(torch.uint8)
        return y[0].permute(1, 2, 0)  # (H*s, W*s, 3)


def _tracing_net(net: nn.Module) -> nn.Module:
    """A float32, eval-mode CPU copy (the caller's net is left as it was)."""
    return copy.deepcopy(net).float().cpu().eval()


def parity_image(height: int = 97, width: int = 131) -> np.ndarray:
    """A real photo when one is around (the shared data), else a synthetic frame; odd size."""
    import cv2

    candidates = [Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "content"]
    for folder in candidates:
        for f in sorted(folder.glob("*.jpg"))[:1] if folder.is_dir() else []:
            img = cv2.imread(str(f))
            if img is not None:
                return np.ascontiguousarray(cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)[:, :, ::-1])
    from stylecam.testing import test_frame

    return test_frame(height, width, seed=7)


def check_parity(onnx_path: str | Path, wrapper: nn.Module, image: np.ndarray) -> float:
    """Share of output pixels where onnxruntime and torch differ by at most 1 grey level."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    got = sess.run(["image"], {"frame": image})[0]
    with torch.no_grad():
        want = wrapper(torch.from_numpy(image)).numpy()
    if got.shape != want.shape:
        raise TrainError(f"export parity: onnxruntime gave {got.shape}, torch {want.shape}")
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    return float((diff <= PARITY_TOLERANCE).mean())


def export_model(net: nn.Module, out_path: str | Path, *, kind: str, name: str, scale: int, arch: str,
                 stride: int, train: dict, source_sha256: str | None = None, title: str = "",
                 credit: str = "", parity_image: np.ndarray | None = None,
                 margin: int | None = None) -> Path:
    """Write ``net`` as a checked stylecam model at ``out_path`` and return the path.

    ``margin``: mirrored pixels around the frame inside the graph, twice that at the top
    (default ``frame_margin``: 2 x stride for a style, 0 for super-resolution); see
    ``ContractWrapper``.
    """
    out_path = Path(out_path)
    if not out_path.parent.is_dir():
        raise OutputError(f"cannot write {out_path}: folder {out_path.parent} does not exist")
    if margin is None:  # the net's own (``FastStyleNet.margin``), else the default for its kind
        margin = getattr(net, "margin", None)
        margin = frame_margin(kind, stride) if margin is None else int(margin)
    wrapper = ContractWrapper(_tracing_net(net), stride, scale, margin).eval()
    sample = torch.zeros((max(64, 2 * stride) + 1, max(64, 2 * stride) + 3, 3), dtype=torch.uint8)
    try:
        fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.stem}.", suffix=".part")
    except OSError as exc:  # a read-only folder
        raise OutputError(f"cannot write {out_path}: {exc.strerror or type(exc).__name__}") from None
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python ints are expected here
            torch.onnx.export(wrapper, (sample,), tmp, input_names=["frame"], output_names=["image"],
                              dynamic_axes={"frame": {0: "H", 1: "W"}, "image": {0: "Hs", 1: "Ws"}},
                              opset_version=OPSET, dynamo=False, do_constant_folding=True)
        model = onnx.load(tmp)
        meta = {
            "stylecam.format": FORMAT,
            "stylecam.kind": kind,
            "stylecam.name": name,
            "stylecam.scale": str(scale),
            "stylecam.arch": arch,
            "stylecam.train": json.dumps(train, sort_keys=True),
            "stylecam.title": title,
            "stylecam.credit": credit,
        }
        if source_sha256:
            meta["stylecam.source_sha256"] = source_sha256
        del model.metadata_props[:]
        for k, v in meta.items():
            model.metadata_props.add(key=k, value=v)
        model.producer_name = "stylecam-train"
        onnx.save(model, tmp)
        image = parity_image if parity_image is not None else _default_parity(kind, scale)
        share = check_parity(tmp, wrapper, image)
        if share < PARITY_SHARE:
            raise TrainError(f"export parity failed: only {share:.2%} of pixels within "
                             f"{PARITY_TOLERANCE} grey level of torch (need {PARITY_SHARE:.1%})")
        check_model(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it private; a model file is an ordinary file
        os.replace(tmp, out_path)
    except OSError as exc:  # a full disk: one line, and the half-written file goes (below)
        raise OutputError(f"cannot write {out_path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out_path


def _default_parity(kind: str, scale: int) -> np.ndarray:
    # odd sizes on purpose: they exercise the pad-and-crop; SR inputs are smaller
    return parity_image(97, 131) if kind == "style" else parity_image(45, 61)

"""``--init nearest``: start a new style from the installed style model whose look is nearest
the new painting, so a short run (``--minutes 5``) refines a related style instead of painting
over the photo-reconstruction base network (benchmarks/RESULTS.md, section 14).

"Nearest" needs none of the built-ins' paintings: each candidate model (a fast style on the
same net as this run, ``stylecam.arch`` equal) is run by onnxruntime on fixed probe photos
(the shipped demo photo, whole at 256 px and its centre at full size), and the VGG-16 Gram
matrices of its outputs at relu1_2, relu2_2 and relu3_3 are compared with the new painting's at
the run's style size: the smallest relative distance wins (``gram_distance``). Checked on the
built-ins' own paintings: each picks its own model (relu2_2 and relu3_3 alone: 8 of 10).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from stylecam.models import Catalog, ModelInfo, builtin_dir

PROBE_SIZE = 256
LAYERS = ("relu1_2", "relu2_2", "relu3_3")  # all ten built-in paintings pick their own model (RESULTS 14)


def probe_photos(size: int | None = None) -> np.ndarray:
    """(2, size, size, 3) uint8: the demo photo scaled to ``size``, and its centre ``size``
    crop at full resolution (finer detail); a picture made in code if the demo is missing."""
    import cv2

    from stylecam.testing import test_frame

    size = size or PROBE_SIZE
    img = cv2.imread(str(builtin_dir() / "demo.jpg"), cv2.IMREAD_COLOR)
    if img is None or min(img.shape[:2]) < size:
        return np.stack([test_frame(size, size, seed=s) for s in (0, 1)])
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    h, w = img.shape[:2]
    side = min(h, w)
    square = img[(h - side) // 2:(h + side) // 2, (w - side) // 2:(w + side) // 2]
    whole = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    y, x = (h - size) // 2, (w - size) // 2
    return np.stack([whole, np.ascontiguousarray(img[y:y + size, x:x + size])])


def grams(vgg, images: torch.Tensor, layers: tuple[str, ...] = LAYERS) -> dict[str, torch.Tensor]:
    """{layer: (C, C)} Gram matrices of (B, 3, H, W) images in [0, 1], averaged over the batch."""
    from .losses import gram

    with torch.no_grad():
        feats = vgg(images.float(), layers)
    return {l: gram(feats[l]).mean(0) for l in layers}


def gram_distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Σ over layers of ‖a − b‖_F / ‖b‖_F: each layer counts alike, whatever its scale."""
    return float(sum((a[l] - b[l]).norm() / b[l].norm().clamp_min(1e-12) for l in b))


def run_model(path: Path, photos: np.ndarray) -> np.ndarray:
    """A contract model's uint8 outputs for (N, H, W, 3) uint8 photos (onnxruntime, CPU, float)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = max(1, torch.get_num_threads())
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return np.stack([sess.run(None, {"frame": np.ascontiguousarray(p)})[0] for p in photos])


def candidates(arch: str, catalog: Catalog | None = None) -> list[ModelInfo]:
    """Installed and built-in style models (float) on the net ``arch``, fast tier."""
    return [m for m in (catalog or Catalog()).models()
            if m.kind == "style" and m.tier == "fast" and m.arch == arch and m.precision == "float"]


def output_grams(vgg, models: list[ModelInfo], photos: np.ndarray | None = None,
                 log=None) -> list[tuple[ModelInfo, dict[str, torch.Tensor]]]:
    """(model, Grams of its outputs on the probe photos) for every model that runs."""
    from .data import to_tensor

    photos = probe_photos() if photos is None else photos
    out = []
    for m in models:
        try:
            styled = run_model(m.path, photos)
        except Exception as exc:  # a model that will not run is no candidate, not a failed run
            if log:
                log(f"note: --init nearest skips {m.path.name} ({type(exc).__name__})")
            continue
        out.append((m, grams(vgg, to_tensor(styled))))
    return out


def rank_grams(candidates: list[tuple[ModelInfo, dict]], want: dict) -> list[tuple[float, ModelInfo]]:
    """(distance, model) nearest first, for the painting's Grams ``want``."""
    return sorted(((gram_distance(g, want), m) for m, g in candidates), key=lambda dm: (dm[0], dm[1].name.lower()))


def rank(vgg, painting: torch.Tensor, models: list[ModelInfo], photos: np.ndarray | None = None,
         log=None) -> list[tuple[float, ModelInfo]]:
    """(distance, model) for every model that runs, nearest first. ``painting``: (1, 3, H, W)."""
    return rank_grams(output_grams(vgg, models, photos, log), grams(vgg, painting))


def nearest_model(cfg, log, catalog: Catalog | None = None, vgg=None) -> ModelInfo | None:
    """The candidate nearest ``cfg.style`` (at ``cfg.style_size``), or None when there is none."""
    from .data import load_style
    from .nets import arch_name
    from .vgg import load_vgg

    models = candidates(arch_name(cfg.net_config()), catalog)
    if not models:
        return None
    vgg = vgg or load_vgg(cfg.vgg_weights or None, "cpu")
    ranked = rank(vgg, load_style(cfg.style, cfg.style_size or 2 * cfg.size), models, log=log)
    return ranked[0][1] if ranked else None


def short_run(minutes: float, steps: int | None) -> bool:
    """``--init auto``: a short style run (≤ 15 minutes, or ≤ 600 steps) starts from the nearest
    style; a longer one from the base network."""
    return 0 < minutes <= 15 or (steps is not None and steps <= 600)

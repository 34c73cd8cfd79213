"""Styles of one shared trunk, made in code for tests: a small random ``TrunkNet`` whose
styles' parameters differ, each exported as a real stylecam model (``trainer.trunk_export``),
so blends of them mix in one pass (``stylecam.mixing``). Needs torch (the train extra)."""

from pathlib import Path

import numpy as np


def make_trunk_styles(folder: Path, names=("alpha", "beta"), seed: int = 0, fast: str = "v3-ns") -> list[Path]:
    """Write ``<folder>/<name>.onnx`` for each name, styles of one random trunk; returns the paths."""
    import torch

    from trainer.config import TrainConfig, TrainResult
    from trainer.nets import build_net
    from trainer.trunk_export import export_trunk

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paintings = []
    for i, name in enumerate(names):  # the paintings only name the styles (and give their hashes)
        p = folder / f"{name}.png"
        import cv2

        cv2.imwrite(str(p), np.full((40, 40, 3), 60 * i + 30, np.uint8))
        paintings.append(str(p))
    cfg = TrainConfig(mode="style", name="trunk", style=paintings[0], styles=tuple(paintings), fast=fast,
                      content=str(folder), steps=1)
    torch.manual_seed(seed)
    net = build_net(cfg.net_config())
    with torch.no_grad():  # styles that differ: random scales and shifts per style
        for p in net.style_parameters():
            p.add_(torch.randn_like(p) * 0.4)
    net.eval()
    result = TrainResult(net, cfg, 1, 0.0, folder)
    return export_trunk(result, folder, log=lambda m: None)

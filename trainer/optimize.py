"""Gatys-style baseline: optimise one image's pixels with L-BFGS on the paper's objective.

The same ``losses.objective`` as the feed-forward nets, started from the content image (as
Johnson et al. do for their comparison), so the quality benchmark can say how close a
trained net's output comes to 50, 100 or 300 L-BFGS iterations on the same picture.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .losses import LossConfig, objective


@dataclass
class Snapshot:
    """The image after ``iteration`` L-BFGS iterations and its objective (clamped to [0, 1])."""

    iteration: int
    image: Tensor  # (1, 3, H, W) in [0, 1], on the CPU
    total: float
    parts: dict[str, float]
    seconds: float  # wall time of the optimisation so far


@dataclass
class GatysResult:
    snapshots: list[Snapshot] = field(default_factory=list)

    @property
    def image(self) -> Tensor:
        """The last snapshot's image."""
        return self.snapshots[-1].image

    def at(self, iteration: int) -> Snapshot:
        return next(s for s in self.snapshots if s.iteration == iteration)


def evaluate(vgg, image: Tensor, content: Tensor, target_grams: dict[str, Tensor], cfg: LossConfig,
             content_feats: Tensor | None = None) -> tuple[float, dict[str, float]]:
    """Objective of an image as shown (clamped to [0, 1]), as plain floats."""
    with torch.no_grad():
        total, parts = objective(vgg, image.clamp(0, 1), content, target_grams, cfg, content_feats)
    return total.item(), {k: v.item() for k, v in parts.items()}


def gatys(vgg, content: Tensor, target_grams: dict[str, Tensor], cfg: LossConfig,
          iterations=(50, 100, 300), history_size: int = 50, callback=None) -> GatysResult:
    """Optimise the pixels of ``content`` (1, 3, H, W) in [0, 1] towards the style.

    Snapshots are taken after each count in ``iterations`` (L-BFGS iterations, not function
    evaluations); ``callback(snapshot)`` is called for each. The pixels are free during the
    optimisation (clamping would break L-BFGS's curvature history); each snapshot reports the
    clamped image, which is what anyone would look at.
    """
    marks = sorted(set(int(i) for i in iterations))
    if not marks or marks[0] < 1:
        raise ValueError("iterations must be positive counts")
    with torch.no_grad():
        content_feats = vgg(content, (cfg.content_layer,))[cfg.content_layer]
    image = content.detach().clone().requires_grad_(True)
    # max_iter counts iterations; the state (curvature history) survives between step() calls,
    # so stepping in chunks up to each mark is one continuous L-BFGS run.
    opt = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=history_size,
                            tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        total, _ = objective(vgg, image, content, target_grams, cfg, content_feats)
        total.backward()
        return total

    result, done, start = GatysResult(), 0, time.perf_counter()
    for mark in marks:
        opt.param_groups[0]["max_iter"] = mark - done
        opt.param_groups[0]["max_eval"] = (mark - done) * 5 // 4 + 1
        opt.step(closure)
        done = mark
        elapsed = time.perf_counter() - start
        total, parts = evaluate(vgg, image.detach(), content, target_grams, cfg, content_feats)
        snap = Snapshot(mark, image.detach().clamp(0, 1).cpu().clone(), total, parts, elapsed)
        result.snapshots.append(snap)
        if callback is not None:
            callback(snap)
    return result

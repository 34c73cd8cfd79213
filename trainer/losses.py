"""Perceptual losses of Johnson, Alahi and Fei-Fei (2016), exactly as the paper defines them.

Images are RGB in [0, 1]; the VGG wrapper normalises them for ImageNet itself. Every term is
a plain function of tensors, so the quality benchmark can recompute the same objective.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def gram(f: Tensor) -> Tensor:
    """Gram matrix G = F Fᵀ / (C·H·W) of features (B, C, H, W) -> (B, C, C)."""
    b, c, h, w = f.shape
    # always float32: under mixed precision a half-precision sum over H·W overflows
    with torch.autocast(f.device.type, enabled=False):
        flat = f.float().reshape(b, c, h * w)  # (B, C, HW)
        return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def feature_loss(a: Tensor, b: Tensor) -> Tensor:
    """Feature reconstruction loss: mean squared difference (the paper's 1/(CHW) ‖·‖²)."""
    return F.mse_loss(a, b)


def style_loss(feats: dict[str, Tensor], target_grams: dict[str, Tensor],
               weights: dict[str, float] | None = None) -> Tensor:
    """Σ over the target's layers of w_l ‖G(ŷ) − G(y_s)‖²_F, averaged over the batch (w_l = 1
    unless ``weights`` says otherwise).

    Target grams may have batch 1: they broadcast over the batch of ``feats``.
    """
    total = None
    for layer, target in target_grams.items():
        g = gram(feats[layer])  # (B, C, C)
        per_image = (g - target).pow(2).sum(dim=(1, 2))  # (B,)
        term = per_image.mean() * (weights or {}).get(layer, 1.0)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("style_loss needs at least one target layer")
    return total


def shrink(x: Tensor, factor: float) -> Tensor:
    """Images (B, 3, H, W) scaled down by ``factor`` (area averaging)."""
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(max(1, round(h / factor)), max(1, round(w / factor))), mode="area")


def broad_loss(vgg, y_hat: Tensor, broad_grams: dict[str, Tensor], cfg: "LossConfig", factor: float) -> Tensor:
    """The style term of ``y_hat`` shrunk by ``factor`` against the painting's Grams shrunk as much
    (Snelgrove 2017's Gram pyramid): fine marks average out to grey there, so only areas of the
    painting's colours as large as the factor match it, not an even field of small marks."""
    feats = vgg(shrink(y_hat, factor), cfg.style_layers)
    return cfg.style_weight * style_loss(feats, broad_grams, cfg.layer_weight_map())


def tone(x: Tensor) -> Tensor:
    """Per-image mean and standard deviation of each colour channel: (B, 3, H, W) -> (B, 6)."""
    flat = x.float().flatten(2)
    return torch.cat([flat.mean(2), flat.std(2)], 1)


def tone_loss(y_small: Tensor, target: Tensor) -> Tensor:
    """Squared distance of the shrunk output's channel means and spreads from the painting's
    (``tone`` of the painting shrunk as much): its light and dark areas as far apart as the
    painting's, where the Gram terms let a net settle for a grey field of marks."""
    return (tone(y_small) - target).pow(2).sum(1).mean()


def tv_loss(x: Tensor) -> Tensor:
    """Total variation: mean squared difference of vertical plus of horizontal neighbours."""
    dh = x[..., 1:, :] - x[..., :-1, :]
    dw = x[..., :, 1:] - x[..., :, :-1]
    return dh.pow(2).mean() + dw.pow(2).mean()


@dataclass
class LossConfig:
    """Weights and layers of the objective; saved in checkpoints and ONNX metadata."""

    content_weight: float
    style_weight: float
    tv_weight: float
    content_layer: str = "relu2_2"
    style_layers: tuple = field(default=STYLE_LAYERS)
    layer_weights: tuple = ()  # one multiplier of style_weight per style layer; () = all 1

    def __post_init__(self):
        self.style_layers = tuple(self.style_layers)  # JSON round-trips give a list
        self.layer_weights = tuple(float(w) for w in self.layer_weights)
        if self.layer_weights and len(self.layer_weights) != len(self.style_layers):
            raise ValueError(f"{len(self.layer_weights)} layer weights for {len(self.style_layers)} style layers")

    def layer_weight_map(self) -> dict[str, float] | None:
        """{style layer: multiplier}, or None when every layer counts once."""
        return dict(zip(self.style_layers, self.layer_weights)) if self.layer_weights else None

    def layers(self) -> tuple[str, ...]:
        """Every VGG layer the objective needs, in VGG order, each once."""
        order = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
        wanted = set(self.style_layers) | {self.content_layer}
        return tuple(l for l in order if l in wanted) + tuple(sorted(wanted - set(order)))


def style_targets(vgg, style: Tensor, cfg: LossConfig) -> dict[str, Tensor]:
    """Gram matrices of a style image (1, 3, H, W) at the style layers, computed once."""
    with torch.no_grad():
        feats = vgg(style, cfg.style_layers)
    return {l: gram(feats[l]).detach() for l in cfg.style_layers}


def objective(vgg, y_hat: Tensor, content: Tensor, target_grams: dict[str, Tensor],
              cfg: LossConfig, content_feats: Tensor | None = None,
              feats: dict[str, Tensor] | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """The paper's weighted sum for output ``y_hat`` given content image ``content``.

    Returns (total, parts) where parts holds the weighted "content", "style" and "tv"
    terms. ``content_feats`` (content image's features at ``cfg.content_layer``) may be
    passed precomputed, e.g. by the Gatys optimiser or a loop that caches them; ``feats``
    (``y_hat``'s features at ``cfg.layers()``) too, by a loop that uses them for more terms.
    """
    if feats is None:
        feats = vgg(y_hat, cfg.layers())
    if content_feats is None:
        with torch.no_grad():
            content_feats = vgg(content, (cfg.content_layer,))[cfg.content_layer]
    grams = {l: target_grams[l] for l in cfg.style_layers}
    parts = {
        "content": cfg.content_weight * feature_loss(feats[cfg.content_layer], content_feats),
        "style": cfg.style_weight * style_loss(feats, grams, cfg.layer_weight_map()),
        "tv": cfg.tv_weight * tv_loss(y_hat),
    }
    total = parts["content"] + parts["style"] + parts["tv"]
    return total, parts

"""Consistency terms of the style loss: the output must not depend on what it should not.

- ``motion_loss`` (``--stability``): small motions and sensor noise of the input must move
  the output, not repaint it (flicker);
- ``edge_loss`` (``--edge``): a pixel must come out the same whether it lies at the frame's
  border or inside it. The Gram loss is blind to where colours sit, so a net that can tell
  the border (its padding shows it) is free to park colours and texture there: the band
  along the edges of issue 13. Cropping the input and comparing the crop's output with the
  same pixels of the full output, away from the crop's inner part, takes that freedom away.

Both draw their randomness from a generator the caller seeds with (seed, step), so a
resumed run draws the same ones. Pure functions of a ``forward`` callable; imports only torch.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

Forward = Callable[[torch.Tensor], torch.Tensor]
EDGE_STRIP = 32  # px along each border of the crop that the edge term scores (the band metric looks at 24)
EDGE_CROP = 0.75  # the crop's side as a share of the training picture's


def motion_loss(forward: Forward, x: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mean squared |f(T(x)+n) - T(f(x))| for a shift of up to 3 px, a 1.5° turn, a 3% zoom
    and noise of σ = 2 grey levels; compared away from the borders, where T pads."""
    b, _, h, w = x.shape
    u = torch.rand(b, 4, generator=g) * 2 - 1  # (B, 4) in [-1, 1]
    angle, zoom = u[:, 0] * math.radians(1.5), 1 + 0.03 * u[:, 1]
    tx, ty = u[:, 2] * 3 * 2 / w, u[:, 3] * 3 * 2 / h  # pixels -> normalised coordinates
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)

    def move(img):
        return F.grid_sample(img, grid.to(img.dtype), mode="bilinear", padding_mode="border",
                             align_corners=False)

    noise = torch.randn(x.shape, generator=g).to(x.device, x.dtype) * (2 / 255)
    y_moved_input = forward(move(x) + noise).float()
    m = max(4, min(h, w) // 16)
    return F.mse_loss(y_moved_input[..., m:-m, m:-m], move(y)[..., m:-m, m:-m])


def crop_box(h: int, w: int, stride: int, g: torch.Generator) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a crop ``EDGE_CROP`` of the picture's side, its corner on
    the net's stride grid (so the crop's convs see the same samples as the full picture's)."""
    ch, cw = int(h * EDGE_CROP) // stride * stride, int(w * EDGE_CROP) // stride * stride
    top = int(torch.randint((h - ch) // stride + 1, (1,), generator=g)) * stride
    left = int(torch.randint((w - cw) // stride + 1, (1,), generator=g)) * stride
    return top, left, ch, cw


def border_mask(h: int, w: int, strip: int = EDGE_STRIP) -> torch.Tensor:
    """(H, W) float: 1 within ``strip`` px of a border, 0 inside."""
    m = torch.ones(h, w)
    m[strip:h - strip, strip:w - strip] = 0
    return m


def edge_loss(forward: Forward, x: torch.Tensor, y: torch.Tensor, stride: int,
              g: torch.Generator) -> torch.Tensor:
    """Mean squared difference, within ``EDGE_STRIP`` px of a crop's border (a quarter of its
    side if less), between the net's
    output for the crop and the same pixels of its output ``y`` for the whole picture ``x``
    (held fixed: the border learns from the interior, not the other way round).

    The crop's instance-norm statistics differ a little from the picture's, which shifts its
    colours everywhere; the shift measured inside the crop is taken off first, so only what
    depends on the distance to the border is scored."""
    h, w = x.shape[-2:]
    top, left, ch, cw = crop_box(h, w, stride, g)
    s = min(EDGE_STRIP, min(ch, cw) // 4)  # small training pictures: a narrower strip
    if s < 1:
        raise ValueError(f"edge_loss: a {h}x{w} picture is too small for the edge term")
    y_crop = forward(x[..., top:top + ch, left:left + cw]).float()
    d = y_crop - y[..., top:top + ch, left:left + cw].detach().float()
    d = d - d[..., s:-s, s:-s].mean(dim=(2, 3), keepdim=True)
    mask = border_mask(ch, cw, s).to(d.device)
    return (d.pow(2) * mask).sum() / (mask.sum() * d.shape[0] * d.shape[1])

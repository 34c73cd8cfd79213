"""What happens to one frame: fit to the processing size, style, blend, colour, upscale.

Plain Python on top of ``Engine`` and ``frames``; shared by the window and the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import frames
from .engine import Engine
from .errors import UsageError
from .temporal import Stabilizer


@dataclass
class Settings:
    """User-facing processing settings."""

    strength: float = 1.0  # 0 = original, 1 = fully stylized
    preserve_color: bool = False
    max_side: int | None = None  # run the style model at most this big (None: frame size)
    stabilize: float = 0.0  # 0..1: how much of the flow-warped previous output to keep (video)
    out_scale: float | None = None  # output / input with super-resolution (None: ``frames.plan_sizes``'s default)

    def check(self) -> "Settings":
        if not 0.0 <= self.strength <= 1.0:
            raise UsageError(f"--strength must be between 0 and 1, got {self.strength:g}")
        if self.max_side is not None and self.max_side < 32:
            raise UsageError(f"--max-side must be at least 32, got {self.max_side}")
        if not 0.0 <= self.stabilize < 1.0:
            raise UsageError(f"--stabilize must be at least 0 and below 1, got {self.stabilize:g}")
        if self.out_scale is not None and not self.out_scale > 0:
            raise UsageError(f"--out-scale must be more than 0, got {self.out_scale:g}")
        return self


@dataclass
class Staged:
    """A frame between ``Processor.prepare`` and ``Processor.finish``."""

    frame: np.ndarray  # the input at the plan's ``base`` size, (H, W, 3) uint8 RGB
    small: np.ndarray | None = None  # what the style model saw (None: no style ran)
    styled: np.ndarray | None = None  # its output, the size of ``small``
    plan: frames.SizePlan | None = None


class Processor:
    """Style model (optional) then super-resolution model (optional) on each frame.

    The style is anything with ``.info`` and ``.run``: an ``Engine``, or a
    ``blend.BlendedStyle`` (several style models on the frame, their outputs mixed).

    The sizes come from ``frames.plan_sizes``: without super-resolution the style runs at
    ``settings.max_side`` and comes back to the frame's size; with it, the frame is shrunk
    to output / scale, the style runs there (or smaller, ``max_side``) and the SR model brings
    it to the output size: the input's own size with a style (HD output at low-resolution
    cost), scale x the input for SR alone, ``settings.out_scale`` x the input when given.
    Strength and preserve-colour mix pixels that line up, before SR. With
    ``settings.stabilize`` > 0 the style output is blended with the previous one carried
    along the input's optical flow (calls must then come in frame order; ``reset()`` between
    clips).
    """

    def __init__(self, style: Engine | None = None, upscale: Engine | None = None,
                 settings: Settings | None = None):
        if style is not None and style.info.kind != "style":
            style, upscale = None, style if upscale is None else upscale
        if upscale is not None and upscale.info.kind != "sr":
            raise UsageError(f"'{upscale.info.name}' is a style, not a super-resolution model")
        self.style, self.upscale = style, upscale
        self.settings = (settings or Settings()).check()
        self._stabilizer = Stabilizer()
        self._plan: tuple | None = None  # (key, SizePlan) of the last frame size

    def reset(self) -> None:
        """Forget the previous frame (a new clip, a seek, a changed source)."""
        self._stabilizer.reset()

    @property
    def scale(self) -> int:
        """The super-resolution model's scale (1: none)."""
        return self.upscale.info.scale if self.upscale else 1

    def plan(self, height: int, width: int) -> frames.SizePlan:
        """The sizes a ``height`` x ``width`` frame goes through (``ValueError``: impossible)."""
        s = self.settings
        key = (height, width, s.max_side, s.out_scale)
        if self._plan is None or self._plan[0] != key:
            self._plan = key, frames.plan_sizes(height, width, style=self.style is not None,
                                                 sr_scale=self.scale, max_side=s.max_side,
                                                 out_scale=s.out_scale)
        return self._plan[1]

    def out_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the output for a ``height`` x ``width`` input."""
        return self.plan(height, width).out

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.finish(self.prepare(frame))

    def prepare(self, frame: np.ndarray) -> Staged:
        """The style model's part: no state, so frames may go through it in any order and on
        several threads at once (``stylecam-render`` does)."""
        frame = frames.as_frame(frame)
        s = self.settings
        plan = self.plan(*frame.shape[:2])
        base = frames.resize(frame, *plan.base)
        if self.style is None or s.strength <= 0:
            return Staged(base, plan=plan)
        small = base if plan.style == plan.base else frames.resize(frame, *plan.style)
        return Staged(base, small, self.style.run(small), plan)

    def finish(self, staged: Staged) -> np.ndarray:
        """Stabilise, size back (to the plan's base), colour, blend, upscale: calls in frame order."""
        out, styled, s = staged.frame, staged.styled, self.settings
        if styled is not None:
            if s.stabilize > 0:
                self._stabilizer.keep = s.stabilize
                styled = self._stabilizer(staged.small, styled)
            styled = frames.resize(styled, *out.shape[:2])
            if s.preserve_color:
                styled = frames.preserve_color(styled, out)
            out = frames.blend(styled, out, s.strength)
        if self.upscale is not None:
            out = self.upscale.run(out)
            if staged.plan is not None and out.shape[:2] != staged.plan.out:
                out = frames.resize(out, *staged.plan.out)  # rounding: base x scale was a few px off
        return out

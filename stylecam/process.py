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

    def check(self) -> "Settings":
        if not 0.0 <= self.strength <= 1.0:
            raise UsageError(f"--strength must be between 0 and 1, got {self.strength:g}")
        if self.max_side is not None and self.max_side < 32:
            raise UsageError(f"--max-side must be at least 32, got {self.max_side}")
        if not 0.0 <= self.stabilize < 1.0:
            raise UsageError(f"--stabilize must be at least 0 and below 1, got {self.stabilize:g}")
        return self


@dataclass
class Staged:
    """A frame between ``Processor.prepare`` and ``Processor.finish``."""

    frame: np.ndarray  # the input, (H, W, 3) uint8 RGB
    small: np.ndarray | None = None  # what the style model saw (None: no style ran)
    styled: np.ndarray | None = None  # its output, the size of ``small``


class Processor:
    """Style model (optional) then super-resolution model (optional) on each frame.

    The style is anything with ``.info`` and ``.run``: an ``Engine``, or a
    ``blend.BlendedStyle`` (several style models on the frame, their outputs mixed).

    The style runs at ``settings.max_side`` and comes back to the frame's size, so strength
    and preserve-colour mix pixels that line up. With ``settings.stabilize`` > 0 the style
    output is blended with the previous one carried along the input's optical flow (calls
    must then come in frame order; ``reset()`` between clips). A super-resolution model then
    multiplies the size by its scale.
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

    def reset(self) -> None:
        """Forget the previous frame (a new clip, a seek, a changed source)."""
        self._stabilizer.reset()

    @property
    def scale(self) -> int:
        return self.upscale.info.scale if self.upscale else 1

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        return self.finish(self.prepare(frame))

    def prepare(self, frame: np.ndarray) -> Staged:
        """The style model's part: no state, so frames may go through it in any order and on
        several threads at once (``stylecam-render`` does)."""
        out = frames.as_frame(frame)
        s = self.settings
        if self.style is None or s.strength <= 0:
            return Staged(out)
        small = frames.resize(out, *frames.fit_max_side(out.shape[0], out.shape[1], s.max_side))
        return Staged(out, small, self.style.run(small))

    def finish(self, staged: Staged) -> np.ndarray:
        """Stabilise, size back, colour, blend, upscale: calls in frame order."""
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
        return out

"""How long a run is and how fast it learns: the cosine learning rate, and ``--minutes``,
which fits the number of steps to the measured speed so the schedule ends when the time is up."""

from __future__ import annotations

import math


def cosine_lr(step: int, steps: int, lr: float, lr_end: float) -> float:
    """The learning rate of ``step`` (0-based): cosine decay from ``lr`` to ``lr * lr_end`` at
    the last of ``steps``."""
    t = step / max(1, steps - 1)
    return lr * (lr_end + (1 - lr_end) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


class MinutesFit:
    """--minutes: the speed is measured from a reference point taken after 30 s and 20 steps
    (so compiling and warm-up do not count) to a quarter of the time, then the steps are
    fitted once. Checkpoints and previews count in the speed.

    ``left``: 2 = no reference point yet, 1 = measuring since it, 0 = fitted (or no
    --minutes); a checkpoint keeps it, so a run stopped before its steps were fitted measures
    again when resumed.
    """

    def __init__(self, minutes: float, pending: bool):
        self.minutes = minutes
        self.budget = minutes * 60
        self.left = 2 if pending else 0
        self.ref = (0, 0.0)  # (step, seconds since the run started)

    def start(self, step: int) -> None:
        """The run (or its resumed part) starts at ``step``."""
        self.ref = (step, 0.0)

    def update(self, step: int, elapsed: float, cap: int) -> tuple[int, float] | None:
        """After a step: ``(steps, steps per second)`` when the steps are fitted (once), else
        None. ``cap`` is the most steps the run may have (``--steps``)."""
        budget = self.budget
        ref_step, ref_t = self.ref
        if self.left == 2:
            if elapsed >= min(30.0, budget / 4) and step - ref_step >= 20:
                self.ref, self.left = (step, elapsed), 1
            return None
        if elapsed < budget / 4 or (step - ref_step < 20 and elapsed < budget / 2):
            return None
        self.left = 0
        rate = (step - ref_step) / max(elapsed - ref_t, 1e-6)
        return max(step + 1, min(cap, step + int(rate * max(0.0, budget - elapsed)))), rate

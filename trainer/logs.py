"""What a person watches a run by: ``preview_<step>.png`` grids, ``loss.csv``, the ``loss.png``
plot (matplotlib) and, when TensorBoard is installed, its scalars and previews in ``tb/``.

Every file is written atomically (a ``.part`` file, then a rename), so a viewer never reads
half a picture.
"""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from stylecam.errors import TrainError

NOT_PLOTTED = ("step", "seconds", "lr")  # the history's columns that are not loss parts
MAX_POINTS = 2000  # a longer history is plotted as the means of this many runs of steps


def preview_grid(rows: list[np.ndarray], path: Path, style: np.ndarray | None = None) -> np.ndarray:
    """Rows of (B, H, W, 3) uint8 pictures side by side, the painting's thumbnail on the left;
    returns the grid (RGB) it wrote."""
    lines = [np.concatenate(list(r), axis=1) for r in rows]
    grid = np.concatenate(lines, axis=0)
    if style is not None:
        h = grid.shape[0]
        k = h / style.shape[0]
        thumb = cv2.resize(style, (max(1, round(style.shape[1] * k)), h), interpolation=cv2.INTER_AREA)
        grid = np.concatenate([thumb, np.full((h, 4, 3), 255, np.uint8), grid], axis=1)
    _write_png(path, grid)
    return grid


def _write_png(path: Path, rgb: np.ndarray) -> None:
    tmp = path.with_name(path.stem + ".part.png")
    if not cv2.imwrite(str(tmp), np.ascontiguousarray(rgb[:, :, ::-1])):
        raise TrainError(f"cannot write {path}")
    os.replace(tmp, path)


def write_csv(history: list[dict], path: Path) -> None:
    if not history:
        return
    keys = list(dict.fromkeys(k for row in history for k in row))  # a part added on --resume too
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, restval="")
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- the loss plot

def loss_parts(history: list[dict]) -> list[str]:
    """The columns plotted: every numeric one but step, seconds and lr, in order of appearance."""
    keys: list[str] = []
    for row in history:
        for k, v in row.items():
            if k not in NOT_PLOTTED and k not in keys and isinstance(v, (int, float)) and not isinstance(v, bool):
                keys.append(k)
    return keys


def _binned(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n`` points: the means of consecutive runs of steps (NaNs left out)."""
    if len(x) <= n:
        return x, y
    starts = np.linspace(0, len(x), n, endpoint=False).astype(int)
    ok = ~np.isnan(y)
    counts = np.add.reduceat(ok.astype(float), starts)
    sums = np.add.reduceat(np.where(ok, y, 0.0), starts)
    means = np.divide(sums, counts, out=np.full(len(starts), np.nan), where=counts > 0)
    return np.add.reduceat(x, starts) / np.diff(np.append(starts, len(x))), means


def loss_figure(history: list[dict]):
    """A matplotlib Figure (no pyplot, so no global backend or GUI): each loss part against
    the step on a log scale. A part that is never positive (a weight of 0) has no line."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    steps = np.array([r["step"] for r in history], float)
    drawn = 0
    for k in loss_parts(history):
        v = np.array([r.get(k, np.nan) for r in history], float)
        v[~(v > 0)] = np.nan  # log scale: zeros and gaps are left out
        if np.isnan(v).all():
            continue
        x, y = _binned(steps, v, MAX_POINTS)
        ax.plot(x, y, label=k, linewidth=1.6 if k == "total" else 1.0,
                color="black" if k == "total" else None, marker="." if len(x) == 1 else None)
        drawn += 1
    if drawn:
        ax.set_yscale("log")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel("step" if len(history) <= MAX_POINTS else f"step (means of {len(history) / MAX_POINTS:.3g} steps)")
    ax.set_ylabel("loss (weighted parts)")
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.15)
    return fig


def loss_plot(history: list[dict], path: Path) -> bool:
    """Write ``loss_figure`` to ``path`` (PNG, Agg, atomically); False (and no file) when
    matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        return False
    fig = loss_figure(history)
    FigureCanvasAgg(fig)
    tmp = path.with_name(path.stem + ".part.png")
    try:
        fig.savefig(tmp, format="png")
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TrainError(f"cannot write {path} ({exc.strerror or exc})") from None
    os.replace(tmp, path)
    return True


# ----------------------------------------------------------------------------- TensorBoard

def _summary_writer_class():
    """``torch.utils.tensorboard.SummaryWriter``, or None where it cannot be imported
    (tensorboard is not installed, or is one this torch cannot use)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tensorboard's own imports warn about their dependencies
            from torch.utils.tensorboard import SummaryWriter
    except Exception:
        return None
    return SummaryWriter


class Board:
    """TensorBoard scalars (every step) and preview images in ``log_dir``, when tensorboard is
    installed; without it every call does nothing. The writer opens at the first event, so a
    run that never steps leaves no folder; on reopening (a resume, a rollback) the events an
    earlier session wrote from that step on are dropped (``purge_step``), so the curves show
    the steps the run kept."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.writer_class = _summary_writer_class()
        self.writer = None

    def _writer(self, first_step: int):
        if self.writer is None and self.writer_class is not None:
            self.writer = self.writer_class(str(self.log_dir), purge_step=first_step)
        return self.writer

    def scalars(self, row: dict) -> None:
        """One history row: the loss parts as ``loss/<part>``, and ``lr``."""
        w = self._writer(row["step"])
        if w is None:
            return
        for k, v in row.items():
            if k not in ("step", "seconds"):
                w.add_scalar("lr" if k == "lr" else f"loss/{k}", v, row["step"])

    def image(self, step: int, rgb: np.ndarray) -> None:
        w = self._writer(step + 1)
        if w is not None:
            w.add_image("preview", rgb, step, dataformats="HWC")

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        """Close the writer; the next event opens a new one (from that step on)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

"""What a run is watched by: the loss plot (matplotlib, every logged part) and TensorBoard
(scalars every step, previews), which is optional: without it, nothing and no error."""

import math
import sys

import cv2
import numpy as np
import pytest

import trainer.logs as L
from trainer.train import Trainer, TrainConfig


def history(n=30, stability=True):
    rows = []
    for i in range(1, n + 1):
        row = {"step": i, "total": 0.0, "content": 2.0 / i, "style": 5.0 * math.exp(-i / 10), "tv": 0.01,
               "stability": 0.3 + 0.1 * math.sin(i)}
        row["total"] = sum(v for k, v in row.items() if k not in ("step", "total"))
        row.update(seconds=0.5 * i, lr=1e-3)
        if not stability:  # the same run, its stability column left out (so the other lines are the same)
            del row["stability"]
        rows.append(row)
    return rows


def labels(fig):
    return [line.get_label() for line in fig.axes[0].get_lines()]


def test_the_plot_has_every_logged_part_and_not_the_bookkeeping():
    fig = L.loss_figure(history())
    assert labels(fig) == ["total", "content", "style", "tv", "stability"]
    assert fig.axes[0].get_yscale() == "log"
    assert L.loss_parts([{"step": 1, "total": 1.0, "lr": 0.1, "seconds": 2.0, "note": "x", "flag": True}]) == ["total"]


def test_the_stability_part_is_in_the_picture(tmp_path):
    (tmp_path / "plots").mkdir()
    with_it, without = tmp_path / "plots" / "with.png", tmp_path / "plots" / "without.png"
    assert L.loss_plot(history(stability=True), with_it)
    assert L.loss_plot(history(stability=False), without)
    a, b = cv2.imread(str(with_it)), cv2.imread(str(without))
    assert a is not None and b is not None and a.shape == b.shape == (450, 800, 3)
    assert a.std() > 1
    assert (np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 64).sum() > 200  # a whole line more
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["with.png", "without.png"]  # no .part left


def test_zero_parts_are_left_out_and_an_empty_history_still_plots(tmp_path):
    rows = [dict(r, style=0.0) for r in history()]  # a weight of 0: no line on a log scale, no warning
    assert labels(L.loss_figure(rows)) == ["total", "content", "tv", "stability"]
    assert labels(L.loss_figure([])) == []
    assert L.loss_plot([], tmp_path / "loss.png") and cv2.imread(str(tmp_path / "loss.png")) is not None


def test_a_long_run_is_plotted_as_means():
    rows = history(5000)
    line = L.loss_figure(rows).axes[0].get_lines()[1]  # content = 2 / step
    x, y = line.get_data()
    assert len(x) == L.MAX_POINTS and x[0] == pytest.approx(1.5) and x[-1] == pytest.approx(4999.0)
    assert y[0] == pytest.approx((2.0 + 1.0) / 2)  # steps 1-2 (5000 steps in 2000 runs of 2 or 3)


def test_without_matplotlib_no_plot_and_one_note(photos, painting, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    assert L.loss_plot(history(), tmp_path / "loss.png") is False
    assert not (tmp_path / "loss.png").exists()
    logs = []
    cfg = TrainConfig(name="t", style=str(painting), content=str(photos), size=40, batch=1, steps=2,
                      init="scratch", checkpoint_every=1, preview_every=2)
    Trainer(cfg, tmp_path / "run", quiet=True, log=logs.append).run()
    assert logs == ["note: no loss.png: matplotlib is not installed (pip install matplotlib)"]
    assert (tmp_path / "run" / "loss.csv").is_file() and not (tmp_path / "run" / "loss.png").exists()


class FakeWriter:
    """Stands in for torch.utils.tensorboard.SummaryWriter and records what it is handed."""

    made = []

    def __init__(self, log_dir, purge_step=None):
        self.log_dir, self.purge_step = log_dir, purge_step
        self.scalars, self.images, self.closed = [], [], False
        FakeWriter.made.append(self)

    def add_scalar(self, tag, value, step):
        assert not self.closed
        self.scalars.append((tag, step, value))

    def add_image(self, tag, img, step, dataformats):
        assert not self.closed
        self.images.append((tag, step, img.shape, img.dtype, dataformats))

    def flush(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def fake_tensorboard(monkeypatch):
    FakeWriter.made = []
    monkeypatch.setattr(L, "_summary_writer_class", lambda: FakeWriter)
    return FakeWriter.made


def test_tensorboard_gets_every_step_and_every_preview(photos, painting, tmp_path, fake_tensorboard):
    cfg = TrainConfig(name="t", style=str(painting), content=str(photos), size=40, batch=1, steps=4,
                      init="scratch", checkpoint_every=2, preview_every=2)
    Trainer(cfg, tmp_path / "run", quiet=True).run()
    (w,) = fake_tensorboard
    assert w.log_dir == str(tmp_path / "run" / "tb") and w.purge_step == 1 and w.closed
    tags = {tag for tag, _, _ in w.scalars}
    assert tags == {"loss/total", "loss/content", "loss/style", "loss/tv", "loss/stability", "loss/edge", "lr"}
    assert sorted({step for _, step, _ in w.scalars}) == [1, 2, 3, 4]
    assert [(tag, step) for tag, step, *_ in w.images] == [("preview", 2), ("preview", 4)]
    _, _, shape, dtype, fmt = w.images[0]
    assert shape[0] == 2 * 40 and shape[2] == 3 and dtype == np.uint8 and fmt == "HWC"
    # a resumed run drops what an earlier session wrote past its checkpoint
    Trainer(None, tmp_path / "run", resume=True, steps=5, quiet=True).run()
    assert fake_tensorboard[1].purge_step == 5 and [s for _, s, _ in fake_tensorboard[1].scalars][0] == 5


def test_a_rollback_reopens_the_board_from_the_step_it_went_back_to(tmp_path, fake_tensorboard):
    board = L.Board(tmp_path / "tb")
    board.scalars({"step": 1, "total": 2.0, "seconds": 0.1, "lr": 0.1})
    board.scalars({"step": 2, "total": 9.0, "seconds": 0.2, "lr": 0.1})
    board.close()  # what Trainer.collapsed does after going back to step 1
    board.scalars({"step": 2, "total": 1.5, "seconds": 0.3, "lr": 0.05})
    first, second = fake_tensorboard
    assert first.closed and first.purge_step == 1 and first.scalars == [
        ("loss/total", 1, 2.0), ("lr", 1, 0.1), ("loss/total", 2, 9.0), ("lr", 2, 0.1)]
    assert second.purge_step == 2 and not second.closed


def test_without_tensorboard_nothing_and_no_error(photos, painting, tmp_path, monkeypatch):
    monkeypatch.setattr(L, "_summary_writer_class", lambda: None)
    cfg = TrainConfig(name="t", style=str(painting), content=str(photos), size=40, batch=1, steps=2,
                      init="scratch", checkpoint_every=2, preview_every=2)
    Trainer(cfg, tmp_path / "run", quiet=True).run()
    assert (tmp_path / "run" / "loss.png").is_file() and not (tmp_path / "run" / "tb").exists()


def test_not_installed_is_not_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    assert L._summary_writer_class() is None


def test_real_tensorboard_files(photos, painting, tmp_path):
    if L._summary_writer_class() is None:
        pytest.skip("tensorboard is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = TrainConfig(name="t", style=str(painting), content=str(photos), size=40, batch=1, steps=2,
                      init="scratch", checkpoint_every=2, preview_every=2)
    Trainer(cfg, tmp_path / "run", quiet=True).run()
    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("loss/stability")] == [1, 2]
    assert [e.step for e in events.Images("preview")] == [2]

"""--teacher: a real ONNX model paints each crop and the net learns its picture."""

import pytest
import torch

from stylecam.errors import UsageError
from stylecam.testing import write_model
from trainer.cli import main
from trainer.teacher import Teacher
from trainer.train import Trainer, TrainConfig


def config(photos, painting, **kw):
    base = dict(name="t", style=str(painting), content=str(photos), tier="fast", size=40, batch=2,
                steps=30, init="scratch", checkpoint_every=10, preview_every=30, lr=3e-3,
                style_weight=0.01, content_weight=0.01, stability=0, edge=0)
    base.update(kw)
    return TrainConfig(**base)


def test_the_teacher_runs_the_model_file_on_a_batch(tmp_path):
    teacher = Teacher(write_model(tmp_path / "invert.onnx", "invert"), threads=1)
    x = torch.rand(2, 3, 33, 40)
    y = teacher(x)
    assert y.shape == x.shape and y.dtype == torch.float32
    assert (y - (1 - x)).abs().max() <= 1 / 255 + 1e-6


def test_the_net_learns_the_teachers_picture(photos, painting, tmp_path):
    """An inverting teacher: with its term the net moves towards the photo's negative; without, not."""
    teacher = write_model(tmp_path / "invert.onnx", "invert")

    def distance_after(**kw):
        tr = Trainer(config(photos, painting, **kw), tmp_path / f"run{len(kw)}", quiet=True)
        x, _ = tr.inputs(0)
        result = tr.run()
        with torch.no_grad():
            return (tr.forward(x) - (1 - x)).pow(2).mean().item(), tr, result.metadata()

    taught, tr, meta = distance_after(teacher=str(teacher), teacher_weight=10.0)
    alone, _, plain = distance_after()
    assert taught < 0.75 * alone, (taught, alone)
    assert tr.history[-1]["teacher"] < 0.5 * tr.history[0]["teacher"]
    # the exported stylecam.train record names the teacher (its file name, not the path)
    assert (meta["teacher"], meta["teacher_weight"]) == ("invert.onnx", 10.0)
    assert (plain["teacher"], plain["teacher_weight"]) == ("", 0.0)


def test_the_teacher_is_recorded_and_bad_teachers_are_one_line_errors(photos, painting, tmp_path, capsys):
    teacher = write_model(tmp_path / "invert.onnx", "invert")
    assert config(photos, painting, teacher=str(teacher), teacher_weight=1.0).teacher.endswith("invert.onnx")
    with pytest.raises(UsageError, match="--teacher-weight"):
        config(photos, painting, teacher=str(teacher), teacher_weight=-1)
    with pytest.raises(UsageError, match="--teacher distils one style"):
        config(photos, painting, teacher=str(teacher), teacher_weight=1.0, mode="sr", scale=4)
    sr = write_model(tmp_path / "up.onnx", "nearest", kind="sr", scale=2)
    with pytest.raises(UsageError, match="the teacher must be a style"):
        Teacher(sr)
    code = main([str(painting), "--name", "x", "--content", str(photos), "--steps", "1", "--size", "40",
                 "--teacher", str(tmp_path / "missing.onnx"), "--init", "scratch", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--teacher" in err and "missing.onnx" in err and len(err.splitlines()) == 1

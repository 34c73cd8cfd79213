"""The window on a synthetic source: signals and pixels, never sleeps."""

import numpy as np
import onnx
from PySide6.QtCore import Qt

from stylecam.models import user_dir
from stylecam.sources import SyntheticSource
from stylecam.testing import contract_graph, write_model
from frames_shown import WAIT, next_frame


def test_frames_reach_the_view(qtbot, make_window):
    w = make_window()
    r = next_frame(qtbot, w)
    assert r.image.shape == (120, 160, 3) and np.array_equal(r.image, r.original)
    assert w.view.image() is r.image
    # and Qt really paints them: the middle of the widget has the frame's colour
    qtbot.waitUntil(lambda: w.view.result is not None)
    shot = w.view.grab().toImage()
    c = shot.pixelColor(shot.width() // 2, shot.height() // 2)
    assert (c.red(), c.green(), c.blue()) != (16, 16, 18)  # not the empty background
    assert w.model_names()[0] == "Original"


def test_switching_style_changes_pixels_and_original_shows_the_source(qtbot, make_window, models):
    w = make_window()
    assert w.model_names() == ["Original", "invert", "swap"]
    w.select_style("invert")
    r = next_frame(qtbot, w, lambda r: r.model == "invert")
    assert np.array_equal(r.image, 255 - r.original)
    qtbot.waitUntil(lambda: w.device_label.text() == "Device: CPU", timeout=WAIT)
    qtbot.keyClick(w, Qt.Key.Key_Right)  # → swap
    r = next_frame(qtbot, w, lambda r: r.model == "swap")
    assert np.array_equal(r.image, r.original[..., ::-1])
    w.select_style("Original")
    r = next_frame(qtbot, w, lambda r: r.model == "")
    assert np.array_equal(r.image, r.original)


def test_strength_zero_is_the_source(qtbot, make_window, models):
    w = make_window(style=None)
    w.select_style("invert")
    next_frame(qtbot, w, lambda r: r.model == "invert")
    w.strength.setValue(0)
    r = next_frame(qtbot, w, lambda r: r.model == "invert" and np.array_equal(r.image, r.original))
    w.strength.setValue(50)
    r = next_frame(qtbot, w, lambda r: not np.array_equal(r.image, r.original))
    assert np.abs(r.image.astype(int) - 127.5).max() <= 1  # half of x and half of 255-x


def test_record_start_stop_gives_a_playable_file(qtbot, make_window, tmp_path):
    import av

    w = make_window(SyntheticSource(160, 120, rate=30))
    next_frame(qtbot, w)
    with qtbot.waitSignal(w.recordingStarted, timeout=WAIT) as started:
        qtbot.keyClick(w, Qt.Key.Key_Space)
    rec = w.pipeline.recorder
    qtbot.waitUntil(lambda: rec.frames >= 30, timeout=WAIT)
    with qtbot.waitSignal(w.recordingStopped, timeout=WAIT) as stopped:
        qtbot.keyClick(w, Qt.Key.Key_Space)
    path, frames, error, skipped = stopped.args
    assert path == started.args[0] and error == ""
    assert path.startswith(str(tmp_path / "videos")) and path.endswith(".mkv")
    with av.open(path) as c:
        s = c.streams.video[0]
        times = [f.time for f in c.decode(s)]
    assert len(times) == frames >= 30
    assert s.average_rate == 30
    # timestamps from capture time: a 30 fps source plays at 30 fps
    # (a loaded machine skips frames, and the capture catches up after a late one: the gaps and
    # the short steps stay in the file, so the typical step, the median, is the source's 1/30 s)
    steps = sorted(b - a for a, b in zip(times, times[1:]))
    assert steps[0] > 0
    assert 0.8 / 30 < steps[len(steps) // 2] < 1.5 / 30
    assert not w.record_button.isChecked()


def test_snapshot_writes_the_picture(qtbot, make_window, tmp_path):
    import cv2

    w = make_window()
    next_frame(qtbot, w)
    with qtbot.waitSignal(w.snapshotSaved, timeout=WAIT) as saved:
        qtbot.keyClick(w, Qt.Key.Key_S)
    png = cv2.cvtColor(cv2.imread(saved.args[0]), cv2.COLOR_BGR2RGB)
    assert saved.args[0].startswith(str(tmp_path / "pictures"))
    assert png.shape == (120, 160, 3)


def test_broken_models_are_reported_and_do_not_crash(qtbot, make_window, models, tmp_path):
    w = make_window()
    w.select_style("invert")
    next_frame(qtbot, w, lambda r: r.model == "invert")
    bad = user_dir() / "broken.onnx"
    with qtbot.waitSignal(w.message, timeout=WAIT,
                          check_params_cb=lambda m: m.startswith(str(bad))) as msg:
        bad.write_bytes(b"this is not onnx")
    assert msg.args[0] == f"{bad}: not a stylecam model: it is not an ONNX file (DecodeError)"
    # one that keeps the contract on paper but onnxruntime refuses: stays on invert
    proto = contract_graph("invert", name="unloadable")
    proto.graph.initializer[0].CopyFrom(onnx.helper.make_tensor("c255", onnx.TensorProto.FLOAT, [], [255.0]))
    onnx.save(proto, str(user_dir() / "unloadable.onnx"))
    qtbot.waitUntil(lambda: "unloadable" in w.model_names(), timeout=WAIT)
    with qtbot.waitSignal(w.message, timeout=WAIT, check_params_cb=lambda m: "cannot load" in m) as msg:
        w.select_style("unloadable")
    assert msg.args[0].startswith(f"{user_dir() / 'unloadable.onnx'}: onnxruntime cannot load it:")
    qtbot.waitUntil(lambda: w.style_box.currentText() == "invert", timeout=WAIT)
    r = next_frame(qtbot, w)
    assert r.model == "invert" and np.array_equal(r.image, 255 - r.original)


def test_a_source_that_ends_or_fails_is_reported(qtbot, make_window):
    w = make_window(SyntheticSource(160, 120, frames=5))
    with qtbot.waitSignal(w.message, timeout=WAIT, check_params_cb=lambda m: m == "synthetic 160x120 ended"):
        pass
    with qtbot.waitSignal(w.message, timeout=WAIT,
                          check_params_cb=lambda m: m == "synthetic 64x48: failed at frame 3 (as asked)"):
        w.set_source(SyntheticSource(64, 48, fail_at=3))
    assert w.isVisible()


def test_a_lost_camera_is_reported(qtbot, make_window):
    from stylecam.sources import WebcamSource

    w = make_window()
    with qtbot.waitSignal(w.message, timeout=WAIT,
                          check_params_cb=lambda m: m == "no camera at index 63; retrying every 0.2 s"):
        w.set_source(WebcamSource(63))


def test_a_new_model_appears_without_restart(qtbot, make_window):
    w = make_window()
    assert w.model_names() == ["Original"]
    with qtbot.waitSignal(w.modelsChanged, timeout=WAIT, check_params_cb=lambda names: "late" in names):
        write_model(user_dir() / "late.onnx", "swap", name="late")
    write_model(user_dir() / "x4.onnx", "nearest", kind="sr", scale=4, name="x4")
    qtbot.waitUntil(lambda: "Super-resolution ×4 (x4)" in w.model_names(), timeout=WAIT)
    w.select_style("x4")
    r = next_frame(qtbot, w, lambda r: r.model == "x4")
    assert r.image.shape == (480, 640, 3)


def test_steady_is_on_for_a_new_user(qtbot, make_window, fresh_settings):
    w = make_window(settings=fresh_settings)
    assert w.steady.isChecked()
    qtbot.waitUntil(lambda: w.pipeline.worker._steady, timeout=WAIT)


def test_settings_are_kept_across_runs(qtbot, make_window, models, settings):
    w = make_window()
    w.select_style("swap")
    w.strength.setValue(40)
    w.steady.setChecked(True)
    w.size_box.setCurrentIndex(w.size_box.findText("240p"))
    w.close()
    again = make_window(style="settings", size="settings")
    assert again.style_box.currentText() == "swap"
    assert again.strength.value() == 40 and again.steady.isChecked()
    assert again.pipeline.worker._steady
    again.steady.setChecked(False)
    again.close()
    assert not make_window(style="settings").steady.isChecked()
    assert again.size_box.currentText() == "240p"


def test_disk_full_while_recording_stops_and_says_so(qtbot, make_window, tmp_path):
    import os

    import pytest
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    path = tmp_path / "full.mkv"
    path.symlink_to("/dev/full")  # every write fails with ENOSPC
    w = make_window()
    next_frame(qtbot, w)
    with qtbot.waitSignal(w.recordingStopped, timeout=WAIT) as stopped:
        w.start_recording(path)
    # /dev/full takes nothing: the message says so (the recorder counts what the file holds)
    assert stopped.args[1] == 0
    assert stopped.args[2] == f"disk full writing {path}; recording stopped, nothing could be written"
    assert not w.record_button.isChecked() and w.pipeline.recorder is None
    next_frame(qtbot, w)  # the live view goes on


def test_a_retrained_model_replaces_the_running_one(qtbot, make_window):
    import os

    path = write_model(user_dir() / "mine.onnx", "invert", name="mine")
    w = make_window(style=None)
    w.select_style("mine")
    next_frame(qtbot, w, lambda r: r.model == "mine" and np.array_equal(r.image, 255 - r.original))
    write_model(path, "swap", name="mine")  # stylecam-train wrote it again
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    next_frame(qtbot, w, lambda r: np.array_equal(r.image, r.original[..., ::-1]))


def test_f11_fullscreen_hides_the_controls(qtbot, make_window):
    w = make_window()
    # the offscreen platform swallows F11 key events: fire the window's F11 shortcut itself
    assert sorted(w.shortcuts) == ["Esc", "F11", "Left", "Right", "S", "Space"]
    w.shortcuts["F11"].activated.emit()
    qtbot.waitUntil(lambda: w.isFullScreen() and not w.controls.isVisible(), timeout=WAIT)
    w.shortcuts["Esc"].activated.emit()
    qtbot.waitUntil(lambda: not w.isFullScreen() and w.controls.isVisible(), timeout=WAIT)


def test_the_window_runs_a_styles_fast_tier_on_the_cpu(qtbot, make_window):
    import json

    train = lambda tier: {"stylecam.train": json.dumps({"tier": tier})}  # noqa: E731
    write_model(user_dir() / "duo.onnx", "identity", name="duo", meta=train("fast"))
    write_model(user_dir() / "duo.quality.onnx", "invert", name="duo", meta=train("quality"))
    w = make_window()
    assert w.model_names() == ["Original", "duo"]  # one style, two tiers
    assert w.pipeline.worker.loader.tier == "auto"  # quality on a GPU, fast on a CPU
    w.select_style("duo")
    r = next_frame(qtbot, w, lambda r: r.model == "duo")
    assert np.array_equal(r.image, r.original)  # the identity: the fast tier runs
    assert w.pipeline.worker.engine.tier == "fast"
    qtbot.waitUntil(lambda: w.device_label.text() == "Device: CPU", timeout=WAIT)

"""The window's Auto processing size, measured as it runs, said on the device label."""

from stylecam.sources import SyntheticSource

WAIT = 15_000


def test_auto_measures_moves_and_says_what_it_chose(qtbot, make_window, models, settings):
    w = make_window(SyntheticSource(640, 480), size="auto", auto_fps=1.0)  # a 1 s budget: anything fits
    assert w.size_box.currentText() == "Auto"
    w.select_style("invert")
    qtbot.waitUntil(lambda: w.device_label.text().startswith("Device: CPU · Auto full (480p) ("), timeout=WAIT)
    assert w.pipeline.worker._size_p is None
    # a machine far too slow for the budget: after the next style change it measures again
    w.autosize.fps = 1e6
    w.select_style("swap")
    qtbot.waitUntil(lambda: w.pipeline.worker._size_p == 240, timeout=WAIT)
    qtbot.waitUntil(lambda: w.device_label.text().startswith("Device: CPU · Auto 240p ("), timeout=WAIT)
    # a fixed size is the person's choice: Auto leaves it alone and the label says no more
    w.size_box.setCurrentIndex(w.size_box.findText("360p"))
    qtbot.waitUntil(lambda: w.device_label.text() == "Device: CPU", timeout=WAIT)
    assert w.pipeline.worker._size_p == 360
    w.size_box.setCurrentIndex(0)
    w.close()
    assert settings.value("size") == "auto"


def test_a_new_user_gets_auto(qtbot, make_window, fresh_settings):
    w = make_window(settings=fresh_settings, size="settings")
    assert w.size_box.currentText() == "Auto" and w.pipeline.worker._size_p == 240  # the first guess
    assert w.device_label.text() == "Device: — (Original)"

"""The window's "Upscale" dropdown (issue 16, item 4): a style and a super-resolution model
together, the style run at 1/scale and brought back to the frame's own size. Signals and
pixels, never sleeps."""

import cv2
import numpy as np

from stylecam.models import user_dir
from stylecam.testing import write_model
from frames_shown import WAIT, next_frame


def composed(original, style, k):
    """``style`` run on the frame shrunk ``k`` times, then nearest-neighbour x``k``."""
    h, w = original.shape[:2]
    small = cv2.resize(original, (w // k, h // k), interpolation=cv2.INTER_AREA)
    return style(small).repeat(k, 0).repeat(k, 1)


def invert(img):
    return 255 - img


def swap(img):
    return np.ascontiguousarray(img[..., ::-1])


def test_a_style_and_an_upscale_show_full_size_output_at_low_res_cost(qtbot, make_window, models):
    write_model(user_dir() / "nn2.onnx", "nearest", kind="sr", scale=2, name="nn2")
    w = make_window()
    names = [w.upscale_box.itemText(i) for i in range(w.upscale_box.count())]
    assert names == ["off", "×2 nn2"]  # super-resolution models only
    w.select_style("invert")
    r = next_frame(qtbot, w, lambda r: r.model == "invert")
    assert np.array_equal(r.image, invert(r.original))  # full size, no upscale yet
    with qtbot.waitSignal(w.pipeline.upscaleChanged, timeout=WAIT) as loaded:
        w.select_upscale("nn2")
    assert loaded.args[0].name == "nn2" and w.pipeline.worker.upscale_engine is not None
    r = next_frame(qtbot, w, lambda r: r.model == "invert+nn2")
    assert r.image.shape == r.original.shape == (120, 160, 3)  # the frame's own size, not 240x320
    assert np.array_equal(r.image, composed(r.original, invert, 2))  # styled at 80x60, then x2
    qtbot.waitUntil(lambda: w.view.result is not None and w.view.result.model == "invert+nn2", timeout=WAIT)
    assert w.view.image().shape == (120, 160, 3)

    # another style keeps the upscale; "off" drops it
    w.select_style("swap")
    r = next_frame(qtbot, w, lambda r: r.model == "swap+nn2")
    assert np.array_equal(r.image, composed(r.original, swap, 2))
    with qtbot.waitSignal(w.pipeline.upscaleChanged, timeout=WAIT) as dropped:
        w.select_upscale(None)
    assert dropped.args[0] is None
    r = next_frame(qtbot, w, lambda r: r.model == "swap")
    assert np.array_equal(r.image, swap(r.original))


def test_the_upscale_survives_a_restart(qtbot, make_window, models, settings):
    write_model(user_dir() / "nn2.onnx", "nearest", kind="sr", scale=2, name="nn2")
    w = make_window()
    w.select_style("invert")
    w.select_upscale("nn2")
    w.close()
    assert settings.value("upscale") == "nn2"
    again = make_window(style="settings")
    assert again.style_box.currentText() == "invert" and again.upscale_box.currentText() == "×2 nn2"
    r = next_frame(qtbot, again, lambda r: r.model == "invert+nn2")
    assert np.array_equal(r.image, composed(r.original, invert, 2))
    again.select_upscale("off")
    again.close()
    assert settings.value("upscale") == ""
    third = make_window(style="settings")
    assert third.upscale_box.currentText() == "off"
    r = next_frame(qtbot, third, lambda r: r.model == "invert")
    assert np.array_equal(r.image, invert(r.original))

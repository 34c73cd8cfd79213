"""The window's "Blend with" dropdown and mix slider: signals and pixels, never sleeps."""

import time

import numpy as np

from stylecam.blend import mix
from stylecam.models import user_dir
from stylecam.testing import write_model
from frames_shown import WAIT, next_frame


def singles(original):
    """What 'invert' and 'swap' alone make of a frame."""
    return 255 - original, np.ascontiguousarray(original[..., ::-1])


def test_a_blend_reaches_the_view_between_both_styles(qtbot, make_window, models):
    write_model(user_dir() / "nn2.onnx", "nearest", kind="sr", scale=2, name="nn2")
    w = make_window()
    assert any("nn2" in name for name in w.model_names())  # in the style dropdown
    blend_names = [w.blend_box.itemText(i) for i in range(w.blend_box.count())]
    assert blend_names == ["none", "invert", "swap"]  # styles only: no super-resolution
    assert not w.mix.isEnabled()  # nothing to mix yet
    w.select_style("invert")
    next_frame(qtbot, w, lambda r: r.model == "invert")
    w.mix.setValue(40)
    with qtbot.waitSignal(w.pipeline.blendChanged, timeout=WAIT) as loaded:
        w.select_blend("swap")
    assert loaded.args[0].name == "swap" and w.mix.isEnabled()
    r = next_frame(qtbot, w, lambda r: r.model == "invert:0.6,swap:0.4")
    inverted, swapped = singles(r.original)
    assert np.array_equal(r.image, mix([inverted, swapped], [0.6, 0.4]))
    assert not np.array_equal(r.image, inverted) and not np.array_equal(r.image, swapped)
    lo, hi = np.minimum(inverted, swapped), np.maximum(inverted, swapped)
    assert ((r.image >= lo) & (r.image <= hi)).all()
    assert (r.image != lo).any() and (r.image != hi).any()  # strictly between somewhere
    qtbot.waitUntil(lambda: w.view.result is not None and w.view.result.model.startswith("invert:"), timeout=WAIT)
    assert w.view.image() is w.view.result.image

    # moving the mix is a number the worker reads per frame: nothing loads, the UI never waits
    engine = w.pipeline.worker.blend_engine
    start = time.perf_counter()
    for value in range(41, 101):
        w.mix.setValue(value)
    assert time.perf_counter() - start < 0.5
    assert w.mix_label.text() == "100%" and w.pipeline.worker.blend_engine is engine
    r = next_frame(qtbot, w, lambda r: r.model == "invert:0,swap:1")
    assert np.array_equal(r.image, singles(r.original)[1])

    with qtbot.waitSignal(w.pipeline.blendChanged, timeout=WAIT) as dropped:
        w.select_blend(None)
    assert dropped.args[0] is None and not w.mix.isEnabled()
    r = next_frame(qtbot, w, lambda r: r.model == "invert")
    assert np.array_equal(r.image, 255 - r.original)


def test_the_blend_and_mix_survive_a_restart(qtbot, make_window, models, settings):
    w = make_window()
    w.select_style("swap")
    w.select_blend("invert")
    w.mix.setValue(25)
    w.close()
    assert settings.value("blend_style") == "invert" and int(settings.value("blend_mix")) == 25
    again = make_window(style="settings")
    assert again.style_box.currentText() == "swap" and again.blend_box.currentText() == "invert"
    assert again.mix.value() == 25 and again.mix_label.text() == "25%" and again.mix.isEnabled()
    r = next_frame(qtbot, again, lambda r: r.model == "swap:0.75,invert:0.25")
    swapped = np.ascontiguousarray(r.original[..., ::-1])
    assert np.array_equal(r.image, mix([swapped, 255 - r.original], [0.75, 0.25]))
    again.select_blend(None)
    again.close()
    assert settings.value("blend_style") == ""
    third = make_window(style="settings")
    assert third.blend_box.currentText() == "none" and not third.mix.isEnabled()
    assert third.mix.value() == 25  # the mix is kept for the next blend

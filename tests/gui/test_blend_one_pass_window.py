"""The window blends two styles of one trunk in one pass: frames keep coming while the mix
slider moves (the mixed models are made off the UI and worker threads), and in the end one
model, the styles' weights mixed, paints the view. Signals and pixels, never sleeps."""

import shutil
import time

import numpy as np
import pytest

from stylecam import mixing
from stylecam.engine import Engine
from stylecam.models import check_model, user_dir
from frames_shown import WAIT, next_frame

pytest.importorskip("torch")
from trunk_models import make_trunk_styles  # noqa: E402  (needs torch)

SLOW = 90_000  # a mix's int8 variant made and checked, on a busy 2-core machine


def test_two_styles_of_one_trunk_blend_in_one_pass(qtbot, make_window, tmp_path):
    paths = [shutil.copy(p, user_dir() / p.name) for p in make_trunk_styles(tmp_path / "trunk", ("alpha", "beta"))]
    a, b = (check_model(p) for p in paths)
    w = make_window()
    w.select_style("alpha")
    next_frame(qtbot, w, lambda r: r.model == "alpha")
    w.mix.setValue(40)
    with qtbot.waitSignal(w.pipeline.blendChanged, timeout=WAIT):
        w.select_blend("beta")
    next_frame(qtbot, w, lambda r: r.model == "alpha:0.6,beta:0.4")

    # the slider moves while one-pass models are made: the view never stops
    shown = []
    w.frameShown.connect(shown.append)
    for value in range(40, 61, 4):
        start = time.perf_counter()
        w.mix.setValue(value)
        assert time.perf_counter() - start < 0.25  # the UI thread makes nothing
        n = len(shown)
        qtbot.waitUntil(lambda: len(shown) >= n + 2, timeout=WAIT)
        assert all(r.model.startswith("alpha:") and ",beta:" in r.model for r in shown[n:])
    assert w.mix_label.text() == "60%"

    # in the end: one model, the mix of the two styles' weights, and the device label says so
    worker = w.pipeline.worker
    qtbot.waitUntil(lambda: worker.blend.passes == 1 and worker.blend.current.info.name == "alpha:0.4,beta:0.6",
                    timeout=SLOW)
    engine = worker.blend.current
    assert isinstance(engine, Engine) and engine.info.path == mixing.mixed_model([a, b], [0.4, 0.6]).path
    direct = Engine(engine.info, precision=engine.precision)
    r = next_frame(qtbot, w, lambda r: r.model == "alpha:0.4,beta:0.6"
                   and np.array_equal(r.image, direct.run(r.original)))
    assert not np.array_equal(r.image, r.original)
    qtbot.waitUntil(lambda: "blend: one pass" in w.device_label.text(), timeout=WAIT)

    with qtbot.waitSignal(w.pipeline.blendChanged, timeout=WAIT):
        w.select_blend(None)
    next_frame(qtbot, w, lambda r: r.model == "alpha")
    qtbot.waitUntil(lambda: "blend" not in w.device_label.text(), timeout=WAIT)

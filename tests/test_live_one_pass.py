"""The live worker blends two styles of one trunk in one pass (Qt-free): the mixed model is
made on the mixer's thread while the view runs what it had, then runs alone; styles that do
not share a trunk keep the two-pass blend. Real trunk styles, real sessions."""

import time

import numpy as np
import pytest

from stylecam.blend import BlendedStyle, mix
from stylecam.engine import Engine
from stylecam.live import LatestSlot, Worker
from stylecam.models import check_model, user_dir
from stylecam import mixing
from stylecam.testing import test_frame, write_model
from test_blend_live import run_worker

pytest.importorskip("torch")
from trunk_models import make_trunk_styles  # noqa: E402  (needs torch)

SLOW = 90  # making the mix's int8 variant and checking it, on a busy 2-core machine


def noting(worker, seen, check):
    """``check``, noting what every result the worker hands over ran (read on its thread)."""
    def expect(r):
        seen.append((r.model, worker.blend.passes, worker.blend.current))
        return check(r)
    return expect


def test_styles_of_one_trunk_blend_in_one_pass_once_it_is_made(tmp_path):
    a, b = (check_model(p) for p in make_trunk_styles(tmp_path / "trunk", ("alpha", "beta")))
    slot, errors = LatestSlot(), []
    worker = Worker(slot, on_error=errors.append).start()
    frame = test_frame(72, 96)  # not square
    try:
        worker.select(a)
        run_worker(worker, slot, frame, lambda r: r.model == "alpha")
        worker.set_mix(0.4)
        worker.select_blend(b)
        # the first blended frames: two passes (the one-pass model is being made meanwhile)
        seen = []
        first = run_worker(worker, slot, frame, noting(worker, seen, lambda r: r.model == "alpha:0.6,beta:0.4"))
        assert seen[-1][1] == 2 and isinstance(seen[-1][2], BlendedStyle)
        one = run_worker(worker, slot, frame, lambda r: worker.blend.passes == 1, timeout=SLOW)
        engine = worker.blend.current
        assert isinstance(engine, Engine) and one.model == engine.info.name == "alpha:0.6,beta:0.4"
        # exactly the mixed model run directly on the same frame, one session, one pass
        direct = mixing.mixed_model([a, b], [0.6, 0.4])
        assert engine.info.path == direct.path
        assert np.array_equal(one.image, Engine(direct, precision=engine.precision).run(frame))
        ya, yb = (Engine(m, precision="float").run(frame) for m in (a, b))
        assert not np.array_equal(one.image, mix([ya, yb], [0.6, 0.4]))  # weights mixed, not pictures
        assert first.image.shape == one.image.shape

        # a new mix: the old one-pass engine runs until the new one is made, never a stall
        seen = []
        worker.set_mix(0.7)
        run_worker(worker, slot, frame, noting(worker, seen, lambda r: r.model == "alpha:0.3,beta:0.7"),
                   timeout=SLOW)
        assert all(p == 1 for _, p, _ in seen)
        assert seen[0][2] is engine  # what it had, at once
        assert {name for name, _, _ in seen} == {"alpha:0.6,beta:0.4", "alpha:0.3,beta:0.7"}
        newer = worker.blend.current
        worker.set_mix(0.41)  # rounds to the 0.4 made before: at once, from the mixer's cache
        r = run_worker(worker, slot, frame, lambda r: r.model == "alpha:0.6,beta:0.4")
        assert np.array_equal(r.image, one.image) and worker.blend.current is engine
        worker.set_mix(0.7)
        run_worker(worker, slot, frame, lambda r: r.model == "alpha:0.3,beta:0.7")
        assert worker.blend.current is newer

        worker.set_mix(0.0)  # the first style alone, as before
        r = run_worker(worker, slot, frame, lambda r: r.model == "alpha")
        assert worker.blend.passes == 0 and np.array_equal(r.image, ya)
        worker.set_mix(0.4)
        worker.select(b)  # the same style twice: nothing to mix
        run_worker(worker, slot, frame, lambda r: r.model == "beta")
        assert worker.blend.passes == 0
    finally:
        worker.stop()
    assert errors == []


def test_styles_not_of_one_trunk_keep_the_two_pass_blend(tmp_path):
    (alpha,) = (check_model(p) for p in make_trunk_styles(tmp_path / "trunk", ("alpha",)))
    invert = check_model(write_model(user_dir() / "invert.onnx", "invert"))
    swap = check_model(write_model(user_dir() / "swap.onnx", "swap"))
    slot, errors = LatestSlot(), []
    worker = Worker(slot, on_error=errors.append).start()
    frame = test_frame(48, 80)
    try:
        worker.select(invert)
        worker.set_mix(0.3)
        worker.select_blend(swap)
        r = run_worker(worker, slot, frame, lambda r: r.model == "invert:0.7,swap:0.3")
        assert np.array_equal(r.image, mix([255 - frame, np.ascontiguousarray(frame[..., ::-1])], [0.7, 0.3]))
        assert worker.blend.passes == 2 and isinstance(worker.blend.current, BlendedStyle)
        worker.select(alpha)  # a trunk style with one of no trunk: two passes too, and nothing to make
        run_worker(worker, slot, frame, lambda r: r.model == "alpha:0.7,swap:0.3")
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # a second of frames: still two passes
            run_worker(worker, slot, frame)
            assert worker.blend.passes == 2 and isinstance(worker.blend.current, BlendedStyle)
        assert not (tmp_path / "ort_cache" / "blends").exists()
    finally:
        worker.stop()
    assert errors == []

"""The Qt-free live pipeline: slot, stats, capture loop, worker, pipeline."""

import threading
import time

import cv2
import numpy as np
import onnx
import pytest

from stylecam.live import CaptureLoop, LatestSlot, Pipeline, Stats, Worker, processing_max_side
from stylecam.models import check_model, user_dir
from stylecam.sources import Source, SyntheticSource
from stylecam.testing import contract_graph, test_frame, write_model


def model(op="invert", name=None):
    return check_model(write_model(user_dir() / f"{name or op}.onnx", op, name=name))


def unloadable_model(tmp_path):
    """Keeps the contract on paper, but onnxruntime refuses the graph (uint8 - float)."""
    proto = contract_graph("invert", name="unloadable")
    proto.graph.initializer[0].CopyFrom(onnx.helper.make_tensor("c255", onnx.TensorProto.FLOAT, [], [255.0]))
    path = tmp_path / "unloadable.onnx"
    onnx.save(proto, str(path))
    return check_model(path)


def test_slot_keeps_the_newest_and_counts_drops():
    slot = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.get(0) == 3 and slot.dropped == 2 and slot.puts == 3
    assert len(slot) == 0 and slot.get(0.01) is None


def test_slot_close_wakes_a_waiting_reader():
    slot, got = LatestSlot(), []
    t = threading.Thread(target=lambda: got.append(slot.get(timeout=10)))
    t.start()
    slot.close()
    t.join(5)
    assert not t.is_alive() and got == [None]


def test_stats_median_fps_latency():
    s = Stats(fps_seconds=2.0)
    for ms in (10, 30, 20):
        s.model(ms)
    for i in range(11):  # 11 frames shown 0.1 s apart, each captured 50 ms earlier
        s.displayed(t_capture=100 + i / 10 - 0.05, now=100 + i / 10)
    snap = s.snapshot(now=101.0)
    assert snap.model_ms == 20 and snap.model_fps == 50
    assert snap.displayed_fps == pytest.approx(10.0)
    assert snap.latency_ms == pytest.approx(50.0)
    assert s.snapshot(now=110.0).displayed_fps == 0.0  # nothing shown lately


def test_processing_size_is_a_height():
    assert processing_max_side(480, 640, 240) == 320
    assert processing_max_side(720, 1280, 360) == 640
    assert processing_max_side(240, 320, 480) is None  # never upscale
    assert processing_max_side(480, 640, None) is None


class FlakyCamera(Source):
    """A live source that fails twice, then works."""

    live, rate, name = True, None, "flaky camera"

    def __init__(self):
        self.calls = 0

    def read(self):
        self.calls += 1
        if self.calls <= 2:
            from stylecam.errors import SourceError
            raise SourceError("flaky camera stopped sending frames (unplugged?)")
        time.sleep(0.01)
        return test_frame(40, 64)


def test_capture_reports_a_lost_camera_once_and_retries():
    slot, errors, status = LatestSlot(), [], []
    loop = CaptureLoop(FlakyCamera(), slot, on_error=errors.append, on_status=status.append,
                       retry_s=0.05).start()
    try:
        assert slot.get(timeout=5) is not None
    finally:
        loop.stop()
    assert errors == ["flaky camera stopped sending frames (unplugged?); retrying every 0.05 s"]
    assert status == ["flaky camera is back"]


def test_capture_reports_end_and_failure():
    ended, errors = [], []
    loop = CaptureLoop(SyntheticSource(64, 40, rate=200, frames=5), LatestSlot(), on_end=ended.append).start()
    loop._thread.join(5)
    assert ended == ["synthetic 64x40 ended"]
    loop = CaptureLoop(SyntheticSource(64, 40, rate=200, fail_at=3), LatestSlot(), on_error=errors.append).start()
    loop._thread.join(5)
    assert errors == ["synthetic 64x40: failed at frame 3 (as asked)"]


def test_capture_keeps_the_source_rate():
    slot, stats = LatestSlot(), Stats()
    src = SyntheticSource(64, 40, rate=50, frames=26)
    t0 = time.monotonic()
    loop = CaptureLoop(src, slot, stats).start()
    loop._thread.join(10)
    elapsed = time.monotonic() - t0
    assert stats.captured == 26
    assert elapsed >= 25 / 50 * 0.9  # paced, not as fast as it can


def run_worker(worker, slot, frame, expect=lambda r: True, timeout=10):
    """Feed ``frame`` until a result passes ``expect``; return it."""
    got = []
    event = threading.Event()

    def on_result(r):
        if expect(r):
            got.append(r)
            event.set()

    worker.on_result = on_result
    deadline = time.monotonic() + timeout
    i = 0
    while not event.is_set() and time.monotonic() < deadline:
        from stylecam.live import Captured
        slot.put(Captured(frame, time.monotonic(), i))
        i += 1
        event.wait(0.02)
    assert got, "no matching result"
    return got[0]


def test_worker_styles_switches_and_blends():
    slot = LatestSlot()
    frame = test_frame(48, 80)
    models = []
    worker = Worker(slot, on_model=lambda info, dev: models.append((info and info.name, dev))).start()
    try:
        r = run_worker(worker, slot, frame)
        assert r.model == "" and np.array_equal(r.image, frame)
        worker.select(model("invert"))
        r = run_worker(worker, slot, frame, lambda r: r.model == "invert")
        assert np.array_equal(r.image, 255 - frame) and r.model_ms > 0
        worker.set_settings(strength=0.0)
        r = run_worker(worker, slot, frame, lambda r: np.array_equal(r.image, frame))
        assert r.model == "invert"
        worker.set_settings(strength=1.0)
        worker.select(None)
        r = run_worker(worker, slot, frame, lambda r: r.model == "")
        assert np.array_equal(r.image, frame)
    finally:
        worker.stop()
    assert models[-1] == (None, "") and ("invert", "CPU") in models


def test_worker_caches_sessions_and_keeps_the_old_model_when_a_load_fails(tmp_path):
    slot, failed, errors = LatestSlot(), [], []
    inv, swap = model("invert"), model("swap")
    worker = Worker(slot, on_model_failed=lambda info, msg: failed.append(info.name),
                    on_error=errors.append, cache_size=2).start()
    frame = test_frame(40, 64)
    try:
        worker.select(inv)
        run_worker(worker, slot, frame, lambda r: r.model == "invert")
        first = worker.engine
        worker.select(swap)
        run_worker(worker, slot, frame, lambda r: r.model == "swap")
        worker.select(inv)
        run_worker(worker, slot, frame, lambda r: r.model == "invert")
        assert worker.engine is first  # from the cache, not loaded again
        worker.select(unloadable_model(tmp_path))
        deadline = time.monotonic() + 10
        while not failed and time.monotonic() < deadline:
            time.sleep(0.01)
        r = run_worker(worker, slot, frame)
        assert r.model == "invert" and np.array_equal(r.image, 255 - frame)
    finally:
        worker.stop()
    assert failed == ["unloadable"]
    assert len(errors) == 1 and errors[0].startswith(f"{tmp_path / 'unloadable.onnx'}: onnxruntime cannot load it:")


def test_pipeline_drops_rather_than_queues_when_the_worker_is_slow():
    class SlowSink:
        def submit(self, result):
            time.sleep(0.03)  # ~33 fps of work against a 200 fps source

    shown, done = [], threading.Event()
    p = Pipeline(SyntheticSource(64, 40, rate=200, frames=120), on_end=lambda msg: done.set())
    p.worker.add_sink(SlowSink())
    p.start()
    try:
        while not done.is_set() or len(p.display):
            r = p.display.get(timeout=0.2)
            if r is not None:
                shown.append(r)
                p.stats.displayed(r.t)
            assert len(p.slot) <= 1 and len(p.display) <= 1
    finally:
        p.stop()
    s = p.stats.snapshot()
    assert s.captured == 120
    assert s.dropped == p.slot.dropped > 30
    processed = p.display.puts
    assert s.captured - s.dropped - 1 <= processed <= s.captured - s.dropped
    assert [r.index for r in shown] == sorted(r.index for r in shown)


def test_live_parts_import_neither_qt_nor_torch():
    import subprocess
    import sys

    code = ("import sys, stylecam.live, stylecam.sources, stylecam.recorder, stylecam.gui.vcam; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch', 'trainer')); "
            "print(bad); sys.exit(bool(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_steady_blends_the_previous_output_along_the_motion():
    worker = Worker(LatestSlot())
    worker._engine = worker.load(model("invert"))
    frame = cv2.GaussianBlur(test_frame(60, 96), (0, 0), 3)  # camera-like: smooth ...
    rng = np.random.default_rng(0)
    noisy = np.clip(frame.astype(int) + rng.integers(-6, 7, frame.shape), 0, 255).astype(np.uint8)  # ... then noise
    worker.set_settings(steady=True)
    first, _, _ = worker.process(frame)
    assert np.array_equal(first, 255 - frame)  # nothing to blend with yet
    steady, _, _ = worker.process(noisy)
    # a still picture: the flow is zero and trusted, so much of the previous output is kept
    change = lambda a: np.abs(a.astype(int) - first.astype(int)).mean()  # noqa: E731
    assert change(steady) < 0.6 * change(255 - noisy)
    worker.set_settings(steady=False)
    plain, _, _ = worker.process(noisy)
    assert np.array_equal(plain, 255 - noisy)


def test_a_style_and_an_upscale_come_back_at_the_frame_size():
    """Issue 16, item 4: the style at 1/scale, the SR model brings it back (frames.plan_sizes)."""
    loaded = threading.Event()
    worker = Worker(LatestSlot(), on_upscale=lambda info, dev: loaded.set()).start()
    try:
        worker._engine = worker.load(model("invert"))
        nn4 = check_model(write_model(user_dir() / "nn4.onnx", "nearest", kind="sr", scale=4, name="nn4"))
        worker.select_upscale(nn4)
        assert loaded.wait(10) and worker.upscale_engine.info.name == "nn4"
        frame = test_frame(720, 1280)
        out, ms, name = worker.process(frame)
        small = cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA)
        assert out.shape == frame.shape and name == "invert+nn4" and ms > 0
        assert np.array_equal(out, (255 - small).repeat(4, 0).repeat(4, 1))  # styled at 320x180
        worker.set_settings(size_p=120)  # the processing size caps the style further: 214x120
        capped, _, _ = worker.process(frame)
        assert capped.shape == frame.shape and not np.array_equal(capped, out)
        worker.set_settings(size_p=None)
        worker.select_upscale(None)
        plain, _, name = worker.process(frame)
        assert name == "invert" and np.array_equal(plain, 255 - frame)
    finally:
        worker.stop()

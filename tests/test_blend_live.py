"""The live worker blending two styles (Qt-free): the second model loads on the loader's
side, the mix is read per frame, a second model that fails to load leaves the picture as it was."""

import threading
import time

import numpy as np
import onnx

from stylecam.blend import mix
from stylecam.live import Captured, LatestSlot, Worker
from stylecam.models import check_model, user_dir
from stylecam.testing import contract_graph, test_frame, write_model


def model(op, name=None):
    return check_model(write_model(user_dir() / f"{name or op}.onnx", op, name=name))


def run_worker(worker, slot, frame, expect=lambda r: True, timeout=10):
    """Feed ``frame`` until a result passes ``expect``; return it."""
    got, event = [], threading.Event()

    def on_result(r):
        if expect(r):
            got.append(r)
            event.set()

    worker.on_result = on_result
    deadline, i = time.monotonic() + timeout, 0
    while not event.is_set() and time.monotonic() < deadline:
        slot.put(Captured(frame, time.monotonic(), i))
        i += 1
        event.wait(0.02)
    assert got, "no matching result"
    return got[0]


def test_worker_blends_two_styles_and_reads_the_mix_per_frame(tmp_path):
    slot, blends, failed, errors = LatestSlot(), [], [], []
    worker = Worker(slot, on_blend=lambda info, dev: blends.append((info and info.name, dev)),
                    on_blend_failed=lambda info, msg: failed.append(info.name), on_error=errors.append).start()
    frame = test_frame(48, 80)  # not square
    inverted, swapped = 255 - frame, np.ascontiguousarray(frame[..., ::-1])
    try:
        worker.select(model("invert"))
        worker.set_mix(0.3)
        worker.select_blend(model("swap"))
        r = run_worker(worker, slot, frame, lambda r: r.model == "invert:0.7,swap:0.3")
        assert np.array_equal(r.image, mix([inverted, swapped], [0.7, 0.3])) and r.model_ms > 0
        assert blends == [("swap", "CPU")]
        second = worker.blend_engine
        worker.set_mix(0.9)  # no load: the next frames have it
        r = run_worker(worker, slot, frame, lambda r: r.model == "invert:0.1,swap:0.9")
        assert np.array_equal(r.image, mix([inverted, swapped], [0.1, 0.9]))
        assert worker.blend_engine is second
        worker.set_mix(0.0)  # the first style alone
        r = run_worker(worker, slot, frame, lambda r: r.model == "invert")
        assert np.array_equal(r.image, inverted)
        worker.set_mix(0.5)
        worker.select(model("swap"))  # the same style as the blend's: nothing to mix
        r = run_worker(worker, slot, frame, lambda r: r.model == "swap")
        assert np.array_equal(r.image, swapped)
        worker.select(model("invert"))
        # a second style onnxruntime cannot load: said, and the blend that runs stays
        proto = contract_graph("invert", name="unloadable")
        proto.graph.initializer[0].CopyFrom(onnx.helper.make_tensor("c255", onnx.TensorProto.FLOAT, [], [255.0]))
        onnx.save(proto, str(tmp_path / "unloadable.onnx"))
        worker.select_blend(check_model(tmp_path / "unloadable.onnx"))
        deadline = time.monotonic() + 10
        while not failed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert failed == ["unloadable"] and len(errors) == 1
        r = run_worker(worker, slot, frame, lambda r: r.model == "invert:0.5,swap:0.5")
        assert np.array_equal(r.image, mix([inverted, swapped], [0.5, 0.5]))
        worker.select_blend(None)
        r = run_worker(worker, slot, frame, lambda r: r.model == "invert")
        assert np.array_equal(r.image, inverted)
    finally:
        worker.stop()
    assert blends[-1] == (None, "")

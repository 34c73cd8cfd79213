"""onnxruntime sessions and the per-frame processor, on real contract models."""

import numpy as np
import pytest

from stylecam import engine, frames
from stylecam.errors import DeviceError, ModelError, UsageError
from stylecam.process import Processor, Settings
from stylecam.testing import test_frame, write_model


@pytest.fixture
def invert(tmp_path):
    return engine.Engine(write_model(tmp_path / "invert.onnx", "invert"), device="cpu", threads=1)


def test_engine_runs_on_odd_non_square_frames(invert):
    f = test_frame(37, 53)
    out = invert.run(f)
    assert out.dtype == np.uint8 and out.shape == (37, 53, 3)
    np.testing.assert_array_equal(out, 255 - f)
    assert invert.device == "CPU" and invert.providers == ["CPUExecutionProvider"]
    invert.warmup()


def test_engine_takes_non_contiguous_frames(invert):
    f = test_frame(64, 90)[:, ::2]
    np.testing.assert_array_equal(invert.run(f), 255 - f)


def test_auto_reports_what_really_runs(tmp_path):
    e = engine.Engine(write_model(tmp_path / "i.onnx"), device="auto")
    assert e.device == ("CUDA" if engine.cuda_usable() else "CPU")


@pytest.mark.skipif(engine.cuda_usable(), reason="this machine has a usable CUDA")
def test_cuda_without_cuda_is_a_clear_error(tmp_path):
    with pytest.raises(DeviceError) as err:
        engine.Engine(write_model(tmp_path / "i.onnx"), device="cuda")
    # why, in one line, with the fix (tests/test_engine_cuda.py has each reason word for word)
    text = str(err.value)
    assert text.startswith("--device cuda: CUDA is not usable here: ") and "\n" not in text
    assert text.endswith(('fix: pip install "stylecam[cuda]"', "or use --device cpu or auto"))


def test_unknown_device(tmp_path):
    with pytest.raises(DeviceError, match="unknown device 'tpu'; use one of auto, cpu, cuda"):
        engine.Engine(write_model(tmp_path / "i.onnx"), device="tpu")


def test_contract_checked_before_session(tmp_path):
    with pytest.raises(ModelError, match="must have one input named 'frame'"):
        engine.Engine(write_model(tmp_path / "x.onnx", input_name="x"))


def test_graph_that_onnxruntime_refuses_is_a_model_error(tmp_path):
    # keeps the contract on paper but uses an operator that does not exist
    import onnx
    from stylecam.testing import contract_graph
    m = contract_graph("identity")
    m.graph.node[0].op_type = "NoSuchOp"
    onnx.save(m, str(tmp_path / "weird.onnx"))
    with pytest.raises(ModelError, match=r"weird.onnx: onnxruntime cannot load it: "):
        engine.Engine(tmp_path / "weird.onnx", device="cpu")


def test_too_small_frame(invert):
    with pytest.raises(ValueError, match="at least 32x32"):
        invert.run(test_frame(20, 80))


def test_processor_strength_colour_size_and_upscale(tmp_path):
    inv = engine.Engine(write_model(tmp_path / "inv.onnx", "invert"), device="cpu")
    up = engine.Engine(write_model(tmp_path / "up.onnx", "nearest", kind="sr", scale=2, name="up"),
                       device="cpu")
    f = test_frame(48, 80)
    np.testing.assert_array_equal(Processor(inv)(f), 255 - f)
    np.testing.assert_array_equal(Processor(inv, settings=Settings(strength=0.0))(f), f)
    half = Processor(inv, settings=Settings(strength=0.5))(f).astype(int)
    assert np.abs(half - 127.5).max() <= 1.0
    # processing size: model runs at 40 px wide, comes back at the frame's size
    small = Processor(inv, settings=Settings(max_side=40))(f)
    assert small.shape == f.shape
    assert np.abs(small.astype(int) - (255 - f.astype(int))).mean() < 20
    # a style and x2: styled at half size, super-resolved back to the frame's own size
    g = test_frame(80, 128)
    both = Processor(inv, up)(g)
    assert both.shape == g.shape
    np.testing.assert_array_equal(both, (255 - frames.resize(g, 40, 64)).repeat(2, 0).repeat(2, 1))
    # an explicit output scale: styled at full size, then x2
    big = Processor(inv, up, Settings(out_scale=2))(f)
    assert big.shape == (96, 160, 3)
    np.testing.assert_array_equal(big[::2, ::2], 255 - f)
    sr_only = Processor(up)(f)  # an sr model given as the style runs as the upscaler
    assert sr_only.shape == (96, 160, 3) and Processor(up).scale == 2
    assert Processor(up).out_size(48, 80) == (96, 160) and Processor(inv, up).out_size(48, 80) == (48, 80)
    colour = Processor(inv, settings=Settings(preserve_color=True))(f)
    assert colour.shape == f.shape


def test_settings_out_of_range():
    with pytest.raises(UsageError, match=r"^--strength must be between 0 and 1, got 1.5$"):
        Settings(strength=1.5).check()
    with pytest.raises(UsageError, match=r"^--max-side must be at least 32, got 8$"):
        Settings(max_side=8).check()


def test_processor_stabilize_carries_the_previous_output(tmp_path):
    inv = engine.Engine(write_model(tmp_path / "inv.onnx", "invert"), device="cpu")
    import cv2
    f = cv2.GaussianBlur(test_frame(64, 96), (0, 0), 3)  # camera-like: smooth, then sensor noise
    rng = np.random.default_rng(0)
    noisy = [np.clip(f.astype(int) + rng.integers(-3, 4, f.shape), 0, 255).astype(np.uint8) for _ in range(2)]
    plain = Processor(inv)
    steady = Processor(inv, settings=Settings(stabilize=0.8))
    a0, a1 = plain(noisy[0]), plain(noisy[1])
    b0, b1 = steady(noisy[0]), steady(noisy[1])
    np.testing.assert_array_equal(a0, b0)  # first frame: nothing to carry
    assert np.abs(b1.astype(int) - b0).mean() < 0.6 * np.abs(a1.astype(int) - a0).mean()
    steady.reset()
    np.testing.assert_array_equal(steady(noisy[1]), a1)
    with pytest.raises(UsageError, match=r"^--stabilize must be at least 0 and below 1, got 1$"):
        Settings(stabilize=1.0).check()


def test_optimised_model_is_cached_and_reused(tmp_path):
    path = write_model(tmp_path / "swap.onnx", "swap")
    f = test_frame(40, 70)
    first = engine.Engine(path, device="cpu")
    cached = list(engine.cache_dir().glob("swap-*.ort.onnx"))
    assert len(cached) == 1
    second = engine.Engine(path, device="cpu")  # loads the cached graph
    np.testing.assert_array_equal(first.run(f), second.run(f))
    np.testing.assert_array_equal(second.run(f), f[..., ::-1])
    cached[0].write_bytes(b"corrupt")  # a broken cache entry is dropped, never fatal
    third = engine.Engine(path, device="cpu")
    np.testing.assert_array_equal(third.run(f), f[..., ::-1])

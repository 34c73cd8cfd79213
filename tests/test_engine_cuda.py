"""The CUDA path as far as a CPU can check it: why CUDA cannot run (word for word, the missing
library simulated through the loader), IO binding (run on the CPU provider), the quiet run
options, float models on CUDA, and the cuda extra's metadata."""

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from stylecam import cuda, engine
from stylecam.errors import DeviceError
from stylecam.models import check_model
from stylecam.testing import contract_graph, test_frame, write_model

ROOT = Path(__file__).resolve().parent.parent
FIX = 'fix: pip install "stylecam[cuda]"'
PREFIX = "--device cuda: CUDA is not usable here: "


@pytest.fixture
def machine(monkeypatch):
    """A Linux machine with onnxruntime-gpu, a driver for CUDA 13.0 and one GPU, where the
    libraries in ``missing`` cannot be opened; CUDA is unusable, so the engine asks why."""
    missing: set[str] = set()

    def load(name):
        return f"{name}: cannot open shared object file: No such file or directory" if name in missing else None

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(cuda.ort, "get_available_providers", lambda: [cuda.CUDA, engine.CPU])
    monkeypatch.setattr(cuda, "load_library", load)
    monkeypatch.setattr(cuda, "preload", lambda: ())
    monkeypatch.setattr(cuda, "driver_status", lambda: (13000, 1))
    monkeypatch.setattr(engine, "cuda_usable", lambda: False)
    return missing


def device_error(path) -> str:
    with pytest.raises(DeviceError) as err:
        engine.Engine(path, device="cuda")
    return str(err.value)


@pytest.mark.parametrize("lib", cuda.LIBS)
def test_a_missing_cuda_library_is_named_with_the_fix(tmp_path, machine, lib):
    machine.add(lib)
    assert device_error(write_model(tmp_path / "i.onnx")) == f'{PREFIX}{lib} is missing; {FIX}'


def test_the_first_missing_library_is_named(tmp_path, machine):
    machine.update({"libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9"})  # cublas needs cublasLt
    assert device_error(write_model(tmp_path / "i.onnx")) == f"{PREFIX}libcublasLt.so.13 is missing; {FIX}"


def test_no_driver(tmp_path, machine):
    machine.update({"libcuda.so.1", "libcudart.so.13"})
    assert device_error(write_model(tmp_path / "i.onnx")) == (
        f"{PREFIX}no NVIDIA driver (libcuda.so.1 not found); install the NVIDIA driver (580 or newer "
        "for CUDA 13), or use --device cpu or auto")


def test_old_driver_and_no_gpu(tmp_path, machine, monkeypatch):
    monkeypatch.setattr(cuda, "driver_status", lambda: (12040, 1))
    assert device_error(write_model(tmp_path / "i.onnx")) == (
        f"{PREFIX}the NVIDIA driver supports CUDA 12.4, onnxruntime-gpu needs CUDA 13; update the "
        "driver (580 or newer), or use --device cpu or auto")
    monkeypatch.setattr(cuda, "driver_status", lambda: (13000, 0))
    assert device_error(write_model(tmp_path / "i.onnx")) == (
        f"{PREFIX}the NVIDIA driver sees no GPU (check nvidia-smi), or use --device cpu or auto")


def test_onnxruntime_cpu_build(tmp_path, machine, monkeypatch):
    monkeypatch.setattr(cuda.ort, "get_available_providers", lambda: [engine.CPU])
    assert device_error(write_model(tmp_path / "i.onnx")) == (
        f"{PREFIX}onnxruntime {cuda.ort.__version__} here is its CPU build; fix: pip uninstall -y "
        'onnxruntime && pip install "stylecam[cuda]"')


def test_everything_opens_but_the_provider_does_not(tmp_path, machine):
    assert device_error(write_model(tmp_path / "i.onnx")) == (
        f"{PREFIX}onnxruntime could not start its CUDA provider though every CUDA 13 and cuDNN 9 "
        'library opens; reinstall with pip install "stylecam[cuda]", or use --device cpu or auto')


def test_render_says_it_in_one_line_exit_2(tmp_path, machine, capsys):
    from stylecam import render
    from stylecam.testing import make_clip

    machine.add("libcudnn.so.9")
    clip = make_clip(tmp_path / "c.mp4", frames=2, audio=False)
    code = render.main([str(clip), "--style", str(write_model(tmp_path / "i.onnx")), "--device", "cuda"])
    err = capsys.readouterr().err
    assert code == 2 and err == f"stylecam-render: {PREFIX}libcudnn.so.9 is missing; {FIX}\n"


def test_load_library_for_real():
    assert cuda.load_library("libc.so.6") is None
    why = cuda.load_library("libstylecam_nothing.so.7")
    assert why and "libstylecam_nothing.so.7" in why


def test_preload_opens_pips_nvidia_folders_by_path(tmp_path, monkeypatch):
    for sub, name in (("cu13", "libcublasLt.so.13"), ("cu13", "libcudart.so.13"), ("cudnn", "libcudnn.so.9")):
        (tmp_path / "nvidia" / sub / "lib").mkdir(parents=True, exist_ok=True)
        (tmp_path / "nvidia" / sub / "lib" / name).write_bytes(b"")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])  # not this machine's own nvidia folders
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(cuda.ort, "get_available_providers", lambda: [cuda.CUDA, engine.CPU])
    opened = []
    monkeypatch.setattr(cuda, "load_library", lambda name: opened.append(name))
    assert tmp_path / "nvidia" / "cu13" / "lib" in cuda.nvidia_lib_dirs()
    assert list(cuda.preload.__wrapped__()) == opened == [  # dependencies first, by full path
        str(tmp_path / "nvidia/cu13/lib/libcudart.so.13"), str(tmp_path / "nvidia/cu13/lib/libcublasLt.so.13"),
        str(tmp_path / "nvidia/cudnn/lib/libcudnn.so.9")]


def test_io_binding_matches_plain_runs_and_keeps_each_output(tmp_path):
    path = write_model(tmp_path / "conv.onnx", "conv")
    bound = engine.Engine(path, device="cpu", threads=1, io_binding=True)
    plain = engine.Engine(path, device="cpu", threads=1)
    assert bound.io_binding and not plain.io_binding  # the CPU binds only when asked
    a, b, c = test_frame(48, 80, seed=1), test_frame(48, 80, seed=2), test_frame(37, 53, seed=3)
    out_a = bound.run(a)
    keep = out_a.copy()
    out_b = bound.run(b)  # the same shape: the same buffers, but a new picture each time
    np.testing.assert_array_equal(out_a, keep)
    np.testing.assert_array_equal(out_b, plain.run(b))
    np.testing.assert_array_equal(bound.run(c), plain.run(c))  # a new shape re-makes the buffers
    np.testing.assert_array_equal(bound.run(a[:, ::2]), plain.run(a[:, ::2]))  # non-contiguous frame


def test_io_binding_of_an_upscaler(tmp_path):
    up = engine.Engine(write_model(tmp_path / "up.onnx", "nearest", kind="sr", scale=2, name="up"),
                       device="cpu", io_binding=True)
    f = test_frame(40, 64)
    out = up.run(f)
    assert out.shape == (80, 128, 3)
    np.testing.assert_array_equal(out[::2, ::2], f)


def always_failing(path):
    """Passes the contract; reshapes every frame to (H + 1, W, 3) at run time."""
    m = contract_graph("identity", name="fails")
    del m.graph.node[:]
    m.graph.initializer.append(helper.make_tensor("plus", TensorProto.INT64, [3], [1, 0, 0]))
    m.graph.node.extend([helper.make_node("Shape", ["frame"], ["shp"]),
                         helper.make_node("Add", ["shp", "plus"], ["bigger"]),
                         helper.make_node("Reshape", ["frame", "bigger"], ["image"])])
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("binding", [False, True])
def test_a_failing_node_logs_nothing(tmp_path, capfd, binding):
    e = engine.Engine(always_failing(tmp_path / "f.onnx"), device="cpu", io_binding=binding)
    capfd.readouterr()
    with pytest.raises(Exception, match="cannot be reshaped"):
        e.run(test_frame(40, 50))
    assert capfd.readouterr().err == ""  # onnxruntime's own log of the node would be on fd 2


def test_cuda_runs_the_float_model_and_never_checks_int8(tmp_path, monkeypatch):
    import dataclasses

    from stylecam import fidelity

    info = dataclasses.replace(check_model(write_model(tmp_path / "m.onnx", "conv", name="m")),
                               int8_path=write_model(tmp_path / "m.int8.onnx", "conv", name="m"))
    monkeypatch.setattr(fidelity, "int8_verdict", lambda *a, **k: pytest.fail("int8 checked for CUDA"))
    assert engine._choose(info, "auto", on_cpu=False) == Path(info.path)
    assert engine._choose(info, "float", on_cpu=False) == Path(info.path)
    assert engine._choose(info, "int8", on_cpu=False) == Path(info.int8_path)  # asked for: kept
    # on the CPU, auto asks the check (which here says yes): the same function, the other branch
    monkeypatch.setattr(fidelity, "int8_verdict", lambda *a, **k: fidelity.Verdict(True, 40.0, 38.0, 5, "test"))
    assert engine._choose(info, "auto", on_cpu=True) == Path(info.int8_path)


def test_cuda_options_reach_the_provider(tmp_path, monkeypatch):
    seen = {}

    class Session:
        def __init__(self, path, opts, providers):
            seen["providers"] = providers
            raise RuntimeError("stop here")

    monkeypatch.setattr(engine, "_providers", lambda device: [engine.CUDA, engine.CPU])
    monkeypatch.setattr(engine.ort, "InferenceSession", Session)
    with pytest.raises(Exception, match="stop here"):
        engine.Engine(write_model(tmp_path / "i.onnx"), device="auto", cuda_options={"use_tf32": "0"})
    (name, opts), cpu = seen["providers"]
    assert name == engine.CUDA and cpu == engine.CPU
    assert opts == {"cudnn_conv_algo_search": "EXHAUSTIVE", "arena_extend_strategy": "kSameAsRequested",
                    "do_copy_in_default_stream": "1", "use_tf32": "0"}


def test_cuda_extra_metadata():
    tomllib = pytest.importorskip("tomllib")
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (spec,) = project["optional-dependencies"]["cuda"]
    req = Requirement(spec)  # what pip parses
    assert req.name == "onnxruntime-gpu" and req.extras == {"cuda", "cudnn"}
    assert str(req.specifier) == "==1.31.1"
    env = default_environment()
    assert req.marker.evaluate(env | {"platform_machine": "x86_64", "sys_platform": "linux"})
    assert not req.marker.evaluate(env | {"platform_machine": "arm64", "sys_platform": "darwin"})
    base = [Requirement(d) for d in project["dependencies"] if d.startswith("onnxruntime-gpu")]
    assert base and base[0].specifier.contains("1.31.1")  # the extra never fights the base pin
    from onnxruntime.capi import build_and_package_info as build
    if cuda.ort.__version__ == "1.31.1" and getattr(build, "cuda_version", ""):
        assert int(build.cuda_version.split(".")[0]) == cuda.CUDA_MAJOR  # the names cuda.py checks

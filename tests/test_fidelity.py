"""--precision auto checks an int8 variant on the running machine (once, cached) before using it."""

import json

import onnx
import pytest

from stylecam import fidelity
from stylecam.engine import Engine
from stylecam.models import Catalog, sha256_file
from stylecam.quantize import quantize_model
from stylecam.testing import moving_frame, write_model


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    monkeypatch.setattr(fidelity, "_known", {})


def _good(user):
    model = write_model(user / "good.onnx", "conv", name="good")
    quantize_model(model, [moving_frame(i * 5, 64, 96) for i in range(6)], calibrated_on="test frames")
    return Catalog().resolve("good")


def _stray(user):
    """A variant that keeps the contract and points at its float model, but paints another picture."""
    model = write_model(user / "stray.onnx", "identity", name="stray")
    write_model(user / "stray.int8.onnx", "invert", name="stray",
                meta={"stylecam.precision": "int8", "stylecam.variant_of": sha256_file(model)})
    info = Catalog().resolve("stray")
    assert info.int8_path is not None
    return info


def test_a_variant_that_holds_runs_and_the_verdict_is_kept(isolated_catalog, tmp_path, monkeypatch):
    _, user = isolated_catalog
    info = _good(user)
    engine = Engine(info, device="cpu", precision="auto")
    assert engine.precision == "int8"
    saved = json.loads((tmp_path / "ort_cache" / fidelity.CHECKS_FILE).read_text())
    (entry,) = saved.values()
    assert entry["model"] == "good" and entry["ok"] and entry["mean_db"] >= 32 and entry["worst_db"] >= 30
    assert entry["frames"] == 5 and entry["cpu"] == fidelity.cpu_isa()
    # the next process reads the file: nothing is measured again
    monkeypatch.setattr(fidelity, "_known", {})
    monkeypatch.setattr(fidelity, "measure", lambda *a: pytest.fail("measured again"))
    assert Engine(info, device="cpu", precision="auto").precision == "int8"


def test_a_variant_that_strays_here_is_not_used(isolated_catalog):
    _, user = isolated_catalog
    info = _stray(user)
    engine = Engine(info, device="cpu", precision="auto")
    assert engine.precision == "float" and engine.path == info.path
    verdict = fidelity.int8_verdict(info)
    assert not verdict.ok and verdict.mean_db < 10
    assert verdict.text().startswith(f"{verdict.mean_db:.1f} dB mean, ")
    # asked for by name, int8 is still what runs (the person's choice)
    assert Engine(info, device="cpu", precision="int8").precision == "int8"


def test_another_cpu_or_file_is_checked_again(isolated_catalog, monkeypatch):
    _, user = isolated_catalog
    info = _good(user)
    calls = []
    real = fidelity.measure
    monkeypatch.setattr(fidelity, "measure", lambda *a: calls.append(1) or real(*a))
    fidelity.int8_verdict(info)
    fidelity.int8_verdict(info)
    assert len(calls) == 1
    monkeypatch.setattr(fidelity, "cpu_isa", lambda: "avx2")  # the same cache folder on an AVX2-only CPU
    fidelity.int8_verdict(info)
    assert len(calls) == 2


def test_a_read_only_cache_costs_time_not_a_failure(isolated_catalog, tmp_path):
    _, user = isolated_catalog
    info = _good(user)
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the cache folder would be")
    assert fidelity.int8_verdict(info, cache=blocked).ok


def test_a_variant_that_cannot_run_falls_back_to_float(isolated_catalog):
    _, user = isolated_catalog
    model = write_model(user / "odd.onnx", "invert", name="odd")
    bad = write_model(user / "odd.int8.onnx", "invert", name="odd",
                      meta={"stylecam.precision": "int8", "stylecam.variant_of": sha256_file(model)})
    proto = onnx.load(str(bad))
    proto.graph.node[0].op_type = "NoSuchOp"  # keeps the contract on paper, onnxruntime refuses it
    onnx.save(proto, str(bad))
    info = Catalog().resolve("odd")
    assert info.int8_path == bad
    engine = Engine(info, device="cpu", precision="auto")
    assert engine.precision == "float"
    assert not fidelity.int8_verdict(info).ok and fidelity._known == {}  # not kept: tried again next time

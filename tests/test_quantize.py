"""Int8 variants: made by onnxruntime's quantiser, found by the catalog, chosen by the engine."""

import json
import shutil

import cv2
import numpy as np
import onnx
import pytest

from stylecam import models, quantize
from stylecam.engine import Engine
from stylecam.errors import InputError, ModelError, UsageError
from stylecam.testing import make_clip, moving_frame, write_model


def frames(n=8, h=96, w=128):
    return [moving_frame(i * 5, h, w) for i in range(n)]


@pytest.fixture
def conv(tmp_path):
    return write_model(tmp_path / "conv.onnx", "conv", name="conv")


def test_variant_is_quantised_checked_and_close_to_float(conv):
    res = quantize.quantize_model(conv, frames())
    assert res.path == conv.with_name("conv.int8.onnx") and res.path.is_file()
    ops = {n.op_type for n in onnx.load(str(res.path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # really quantised, not a copy
    info = models.check_model(res.path)
    assert (info.name, info.precision, info.variant_of) == ("conv", "int8", models.sha256_file(conv))
    f = moving_frame(50, 77, 101)  # odd size, not a calibration frame
    got = Engine(res.path, device="cpu", threads=1).run(f)
    want = Engine(conv, device="cpu", threads=1, precision="float").run(f)
    assert got.shape == want.shape == f.shape
    assert quantize.psnr(got, want) >= quantize.MIN_PSNR and res.psnr_db >= quantize.MIN_PSNR


def test_weights_use_seven_bits_so_avx2_kernels_cannot_saturate(conv):
    from onnx import numpy_helper

    res = quantize.quantize_model(conv, frames())
    weights = [numpy_helper.to_array(t) for t in onnx.load(str(res.path)).graph.initializer
               if t.data_type == onnx.TensorProto.INT8 and t.dims]
    assert weights and all(w.min() >= -64 and w.max() <= 64 for w in weights)
    wide = quantize.quantize_model(conv, frames(), dst=conv.with_name("wide.int8.onnx"), reduce_range=False)
    full = [numpy_helper.to_array(t) for t in onnx.load(str(wide.path)).graph.initializer
            if t.data_type == onnx.TensorProto.INT8 and t.dims]
    assert max(int(abs(w).max()) for w in full) > 64  # the option really changes the range


def test_catalog_attaches_the_variant_and_the_engine_runs_it_on_the_cpu(conv):
    quantize.quantize_model(conv, frames())
    cat = models.Catalog([(conv.parent, "user")])
    listed = cat.models()
    assert [m.name for m in listed] == ["conv"] and not cat.problems  # one entry, not two
    info = listed[0]
    assert info.int8_path == conv.with_name("conv.int8.onnx")
    auto = Engine(info, device="cpu", threads=1)
    assert (auto.precision, auto.path) == ("int8", info.int8_path)
    flt = Engine(info, device="cpu", threads=1, precision="float")
    assert (flt.precision, flt.path) == ("float", conv)
    assert Engine(conv, device="cpu", threads=1).precision == "int8"  # a path gets its variant too
    assert "int8" in repr(auto)


def test_no_variant_runs_float_and_asking_for_int8_is_one_line(conv):
    assert Engine(conv, device="cpu", threads=1).precision == "float"
    with pytest.raises(ModelError, match=r"conv: no int8 variant \(conv.int8.onnx\); make one with stylecam-quantize"):
        Engine(conv, device="cpu", threads=1, precision="int8")
    with pytest.raises(UsageError, match="unknown precision 'half'"):
        Engine(conv, device="cpu", threads=1, precision="half")


def test_a_stale_or_foreign_variant_is_not_used(conv, tmp_path):
    quantize.quantize_model(conv, frames())
    write_model(conv, "conv", name="conv", meta={"stylecam.title": "retrained"})  # the float model changed
    cat = models.Catalog([(tmp_path, "user")])
    assert cat.models()[0].int8_path is None
    assert any("made from another version of conv.onnx" in p for p in cat.problems)
    other = write_model(tmp_path / "other.onnx", "conv", name="other")
    shutil.copy(conv.with_name("conv.int8.onnx"), tmp_path / "other.int8.onnx")  # another model's variant
    cat.models()
    assert any("other.int8.onnx: not an int8 variant of other.onnx" in p for p in cat.problems)
    assert Engine(other, device="cpu", threads=1).precision == "float"


def test_a_variant_that_strays_is_refused_and_nothing_is_written(conv):
    with pytest.raises(ModelError, match=r"conv.onnx: int8 changes the picture too much \(.* dB .*need 99\)"):
        quantize.quantize_model(conv, frames(), min_psnr=99)
    assert not conv.with_name("conv.int8.onnx").exists()
    assert not [p for p in conv.parent.iterdir() if p.name.endswith(".part")]
    with pytest.raises(ModelError, match="already an int8 model"):
        quantize.quantize_model(quantize.quantize_model(conv, frames()).path, frames())


def _ranges(path) -> str:
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return json.loads(meta["stylecam.int8"])["ranges"]


def test_percentile_ranges_are_tried_where_min_max_falls_short(conv, monkeypatch, capsys):
    scores = {}
    for cal in quantize.CALIBRATIONS:  # each recipe alone
        monkeypatch.setattr(quantize, "CALIBRATIONS", (cal,))
        scores[cal[0].lower()] = quantize.quantize_model(conv, frames(), min_psnr=0).psnr_db
    monkeypatch.undo()
    assert scores["percentile"] > scores["minmax"]  # outliers no longer stretch the steps
    res = quantize.quantize_model(conv, frames(), min_psnr=0)  # min-max is enough: kept
    assert _ranges(res.path) == "minmax" and res.psnr_db == pytest.approx(scores["minmax"])
    between = (scores["minmax"] + scores["percentile"]) / 2
    res = quantize.quantize_model(conv, frames(), min_psnr=between)
    assert _ranges(res.path) == "percentile" and res.psnr_db == pytest.approx(scores["percentile"])
    assert capsys.readouterr().out == ""  # the calibrator's progress prints are kept off stdout
    with pytest.raises(ModelError, match=rf"\({scores['percentile']:.1f} dB .*need 99\)"):  # the best of both
        quantize.quantize_model(conv, frames(), min_psnr=99)


def test_install_copies_the_variant_and_drops_a_stale_one(conv, tmp_path, monkeypatch):
    user = tmp_path / "user"
    monkeypatch.setenv("STYLECAM_MODELS_DIR", str(user))
    monkeypatch.setenv("STYLECAM_ASSETS_DIR", str(tmp_path / "none"))
    quantize.quantize_model(conv, frames())
    dest = models.install_model(conv)
    assert (user / "conv.int8.onnx").is_file()
    assert models.Catalog().resolve("conv").int8_path == user / "conv.int8.onnx"
    conv.with_name("conv.int8.onnx").unlink()
    write_model(conv, "conv", name="conv", meta={"stylecam.title": "v2"})
    models.install_model(conv)  # the new model has no variant: the old one must go
    assert dest.is_file() and not (user / "conv.int8.onnx").exists()


def test_calibration_frames_from_a_folder_a_video_or_nothing(tmp_path):
    folder = tmp_path / "photos" / "deeper"
    folder.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(folder / f"p{i}.png"), moving_frame(i * 9, 50 + i, 70)[:, :, ::-1])
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    got, where = quantize.calibration_frames(tmp_path / "photos", count=5, size=(48, 64))
    assert len(got) == 3 and all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for f in got)
    assert where.startswith("3 photos of")
    clip = make_clip(tmp_path / "c.mp4", frames=20, width=96, height=64)
    got, where = quantize.calibration_frames(clip, count=4, size=(48, 64))
    assert len(got) == 4 and got[0].shape == (48, 64, 3) and where.startswith("4 frames of")
    got, where = quantize.calibration_frames(None, count=3, size=(48, 64))
    assert len(got) == 3 and where == "3 synthetic frames"
    with pytest.raises(InputError, match="no readable photos"):
        quantize.calibration_frames(_empty(tmp_path), count=2)
    with pytest.raises(InputError, match="no such folder or video"):
        quantize.calibration_frames(tmp_path / "missing", count=2)


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    (d / "x.jpg").write_bytes(b"broken")
    return d


def test_cli_writes_variants_and_bad_input_is_one_line(conv, tmp_path, capsys):
    assert quantize.main([str(conv), "--frames", "6"]) == 0
    out = capsys.readouterr().out
    assert "conv.int8.onnx: int8," in out and "6 synthetic frames" in out
    assert quantize.main([str(tmp_path / "nope.onnx")]) == 2
    assert capsys.readouterr().err.strip().endswith("nope.onnx: no such model file")
    assert quantize.main([str(conv), "--photos", str(tmp_path / "nowhere")]) == 2
    assert "no such folder or video" in capsys.readouterr().err
    assert quantize.main([str(conv), "--frames", "1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_app_check_decides_too_and_the_norm_entry_stays_float_as_a_last_resort(tmp_path, monkeypatch):
    src = write_model(tmp_path / "cn.onnx", "conv_norm", name="cn")
    verdicts = []

    def passes(mean, worst):  # the app's check refuses the first two recipes here
        verdicts.append((mean, worst))
        return len(verdicts) > 2

    monkeypatch.setattr(quantize.fidelity, "passes", passes)
    res = quantize.quantize_model(src, frames(), min_psnr=0)
    assert len(verdicts) == 3 and _ranges(res.path) == "minmax"
    meta = json.loads({p.key: p.value for p in onnx.load(str(res.path)).metadata_props}["stylecam.int8"])
    types = {n.name: n.op_type for n in onnx.load(str(res.path)).graph.node}
    assert [types[n] for n in meta["float_nodes"]] == ["Conv", "Conv", "InstanceNormalization"]
    verdicts.clear()
    monkeypatch.setattr(quantize.fidelity, "passes", lambda mean, worst: verdicts.append(1) and False)
    res = quantize.quantize_model(src, frames(), min_psnr=0)  # none passes: all four tried, the best kept
    assert len(verdicts) == 4
    kept = json.loads({p.key: p.value for p in onnx.load(str(res.path)).metadata_props}["stylecam.int8"])
    assert len(kept["float_nodes"]) == 3  # the norm in float is the closest to the float picture here

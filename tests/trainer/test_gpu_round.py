"""The GPU round's plumbing, rehearsed on the CPU: runs packed small, unpacked into models."""

import json
import tarfile

import cv2
import onnx
import torch

from stylecam.models import check_model
from trainer import gpu_round, gpu_unpack
from trainer.config import QUALITY_LR
from trainer.half import is_half
from trainer.vgg import load_vgg


def test_a_tiny_round_packs_runs_that_unpack_into_working_models(tmp_path, photos, painting):
    (tmp_path / "paintings").mkdir()
    cv2.imwrite(str(tmp_path / "paintings" / "wave.jpg"), cv2.imread(str(painting)))  # the others are missing
    data = tmp_path / "data"
    assert gpu_round.main(["--prepare", str(data), "--content", str(photos), "--paintings",
                           str(tmp_path / "paintings")]) == 0
    assert len(list((data / "content").glob("*.jpg"))) == 5 and [p.name for p in (data / "styles").iterdir()] == [
        "wave.jpg"]
    assert load_vgg(data / "vgg16.pt").features[0].weight.dtype == torch.float32  # fp16 on disk, float in use
    out = tmp_path / "out"
    assert gpu_round.main(["--data", str(data), "--out", str(out), "--tiny", "--no-trunk", "--quality", "wave",
                           "--threads", "1"]) == 0
    packed = out / "q_wave.tar"
    with tarfile.open(packed) as t:
        names = set(t.getnames())
    assert {"checkpoint.pt", "loss.csv", "train.log"} <= names
    runs = tmp_path / "runs_back"
    assert gpu_unpack.main([str(out), str(runs), "--paintings", str(tmp_path / "here")]) == 0
    ck = torch.load(runs / "q_wave" / "checkpoint.pt", weights_only=False)
    assert "opt" not in ck and ck["step"] == 3  # the optimiser's state stays behind (16 MiB a file)
    assert (ck["config"]["init"], ck["config"]["lr"]) == ("base", QUALITY_LR)  # from scratch at 1e-3 it went flat
    recipe = {k: ck["config"][k] for k in ("style_size", "style_weight", "tv_weight")}
    assert recipe == {"style_size": 512, "style_weight": 40.0, "tv_weight": 0.0}  # --recipe pytorch-examples
    assert ck["config"]["style"] == str(tmp_path / "here" / "wave.jpg")  # pointed at this machine's copy
    info = check_model(runs / "q_wave" / "wave-quality.onnx")
    assert (info.kind, info.tier, info.arch) == ("style", "quality", "johnson2016-style-rp")
    meta = {p.key: p.value for p in onnx.load(str(info.path)).metadata_props}
    assert json.loads(meta["stylecam.train"])["steps"] == 3
    assert is_half(onnx.load(str(info.path)))  # float16 weights behind casts, as stylecam-train writes it


def test_a_quality_tier_needs_its_fast_model_to_install_beside(capsys, photos, painting, isolated_catalog):
    from trainer.cli import main

    code = main([str(painting), "--name", "mine", "--tier", "quality", "--content", str(photos), "--steps", "2",
                 "--size", "32", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code != 0 and "a quality tier installs beside the style's fast model" in err
    assert "--out DIR/mine.quality.onnx" in err


def test_the_round_trains_the_quality_tiers_still_missing(isolated_catalog):
    import shutil
    from pathlib import Path

    assets = Path(__file__).resolve().parents[2] / "stylecam" / "assets"
    builtin, _user = isolated_catalog
    assert gpu_round.without_quality() == gpu_round.TRUNK  # no built-in has one
    for f in ("starry_night.onnx", "starry_night.quality.onnx", "scream.onnx"):
        shutil.copy(assets / f, builtin / f)
    assert gpu_round.without_quality() == tuple(s for s in gpu_round.TRUNK if s != "starry_night")

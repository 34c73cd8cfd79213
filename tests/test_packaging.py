"""packaging/manifest.py: what a built-in model's manifest entry records, on a model made here."""

import json
import sys
from pathlib import Path

from stylecam.testing import write_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packaging"))

import manifest  # noqa: E402


def test_entry_comes_from_the_model_and_its_run(tmp_path, monkeypatch):
    train = {"tier": "fast", "style": "wave.jpg", "steps": 900, "wall_seconds": 600.0,
             "stability": 300.0, "precision": "bf16"}
    model = write_model(tmp_path / "w.onnx", "invert", name="w",
                        meta={"stylecam.train": json.dumps(train), "stylecam.title": "W", "stylecam.credit": "X, 1900"})
    run = tmp_path / "run"
    run.mkdir()
    (run / "loss.csv").write_text("step,total,content,style,seconds,lr\n1,9,4,5,0.5,0.001\n2,7.12345,3,4.12345,1.0,0.001\n")
    target = tmp_path / "manifest.json"
    target.write_text(json.dumps({"about": "kept", "models": {"old.onnx": {"name": "old"}}}))
    monkeypatch.setattr(manifest, "MANIFEST", target)
    monkeypatch.setattr(manifest, "ROOT", tmp_path)
    assert manifest.main([str(model), "--run-dir", str(run), "--command", "a", "--command", "b"]) == 0
    got = json.loads(target.read_text())
    assert got["about"] == "kept" and list(got["models"]) == ["old.onnx", "w.onnx"]
    e = got["models"]["w.onnx"]
    assert e["commands"] == ["a", "b"] and e["steps"] == 900 and e["wall_minutes"] == 10.0
    assert e["final_losses"] == {"total": 7.1235, "content": 3.0, "style": 4.1235}
    assert e["stability_training"] and e["precision"] == "bf16" and e["title"] == "W"
    assert "int8_variant" not in e  # no variant beside it yet

    from stylecam.quantize import quantize_model
    from stylecam.testing import moving_frame

    conv = write_model(tmp_path / "c.onnx", "conv", name="c")
    quantize_model(conv, [moving_frame(i * 5, 64, 96) for i in range(6)], calibrated_on="6 test frames")
    assert manifest.main(["--int8-only", str(model), str(conv), str(tmp_path / "c.int8.onnx")]) == 0
    got = json.loads(target.read_text())["models"]
    assert got["w.onnx"]["commands"] == ["a", "b"] and "int8_variant" not in got["w.onnx"]  # the rest kept
    v = got["c.onnx"]["int8_variant"]
    assert v["file"] == "c.int8.onnx" and v["psnr_db"] >= 30 and v["calibrated_on"] == "6 test frames"
    assert "c.int8.onnx" not in got  # a variant is not an entry of its own

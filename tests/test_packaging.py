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


# -- the wheel: a normal `pip install .` carries the built-in models --------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _build_wheel(tmp_path) -> Path:
    """A wheel built from a copy of the sources (the checkout's build/ and egg-info stay untouched)."""
    import shutil
    import subprocess

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.part", "*.egg-info")
    for package in ("stylecam", "trainer"):
        shutil.copytree(ROOT / package, src / package, ignore=junk)
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("stylecam-*.whl")
    return wheel


def test_the_wheel_carries_the_models_and_runs_them_from_elsewhere(tmp_path):
    import os
    import subprocess
    import zipfile

    import cv2

    from stylecam.testing import test_frame

    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = ROOT / "stylecam" / "assets"
    models = sorted(p.name for p in assets.glob("*.onnx"))
    assert "wave.onnx" in models and "wave.int8.onnx" in models and "sr4.onnx" in models
    for name in models + ["manifest.json", "demo.jpg"]:
        assert f"stylecam/assets/{name}" in names, name
    styles = [e["name"] for e in json.loads((assets / "manifest.json").read_text())["models"].values()
              if e["kind"] == "style"]
    assert len(styles) >= 10 and all(f"stylecam/assets/{s}.png" in names for s in styles)  # the icons
    assert not [n for n in names if n.startswith("assets/")]  # the README's pictures stay out

    # unpacked where no checkout is near, the catalog finds its models inside the package
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "elsewhere"
    work.mkdir()
    cv2.imwrite(str(work / "pic.png"), test_frame(48, 64))
    env = {k: v for k, v in os.environ.items() if k != "STYLECAM_ASSETS_DIR"}
    env["PYTHONPATH"] = str(site)
    run = [sys.executable, "-c", "import sys; from stylecam.render import main; sys.exit(main())"]
    done = subprocess.run(run + ["pic.png", "--style", "wave", "--upscale", "4", "-o", "out.png"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert cv2.imread(str(work / "out.png")) is not None
    where = subprocess.run([sys.executable, "-c", "from stylecam.models import Catalog; "
                            "print(Catalog().resolve('wave').path)"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert where.stdout.strip() == str(site / "stylecam" / "assets" / "wave.onnx"), where.stderr
    # and its window starts on a style (a new user: no settings), over the demo photo
    ini = work / "settings.ini"
    env.update(QT_QPA_PLATFORM="offscreen", STYLECAM_SETTINGS=str(ini))
    done = subprocess.run([sys.executable, "-m", "stylecam.gui.app", "--source", "demo", "--quit-after", "2"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "style=wave" in ini.read_text()

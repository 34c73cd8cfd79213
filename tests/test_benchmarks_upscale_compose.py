"""benchmarks/upscale_compose.py end to end on tiny models and synthetic frames (no ../shared)."""

import json
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import upscale_compose  # noqa: E402
from stylecam.testing import write_model  # noqa: E402


def test_it_times_both_paths_and_writes_the_figures_and_the_pictures(tmp_path, isolated_catalog, monkeypatch, capsys):
    builtin, _ = isolated_catalog
    write_model(builtin / "wave.onnx", "invert", name="wave")
    write_model(builtin / "nn4.onnx", "nearest", kind="sr", scale=4, name="nn4")
    monkeypatch.setattr(upscale_compose, "CLIP", tmp_path / "absent.mp4")  # synthetic frames
    out, jpg = tmp_path / "uc.json", tmp_path / "uc.jpg"
    assert upscale_compose.main(["--frames", "2", "--rounds", "1", "--reps", "2", "--json", str(out),
                                 "--jpg", str(jpg)]) == 0
    res = json.loads(out.read_text())
    ms = res["best_of_round_medians_ms"]
    assert set(ms) >= {"direct", "style/4 + sr4", "style/4 + bicubic"} and all(v > 0 for v in ms.values())
    assert res["sr2"].startswith("skipped") and res["direct_over_composed_sr2"] is None
    assert res["psnr_vs_direct_db"]["style/4 + sr4"] > 10 and res["frames"].startswith("2 at 1280x720 from synthetic")
    assert cv2.imread(str(jpg)).shape == (1440, 2560, 3)  # direct | composed, then the middles at 2x
    assert Path(res["picture_prefilter"]).exists()
    assert "(b) style at 320x180, sr4 x4 back" in capsys.readouterr().out

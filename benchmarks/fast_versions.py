"""The fast tier's versions side by side: ms per 640x480 frame, float and int8, as the app runs them.

    python benchmarks/fast_versions.py [--versions v2,v3,v3-deep] [--rounds 5] [--json FILE]

v2 pads with zeros inside and runs on mirrored frame margins (16 px a side, 32 at the top:
15% more pixels at 640x480); v3 pads every conv by reflection (a ``Pad`` node before each conv
in the graph) and needs no margins; v3-deep adds two residual blocks at 1/8 resolution. Each
version is exported through the model contract with random weights (the speed does not
depend on them), quantised as ``stylecam-quantize`` does (calibrated on 8 content photos, or
synthetic frames without ../shared), and timed **in turn**: each round times every model
once (median of 10 runs after 3 warm-up runs, 2 threads, the app's session settings), and the
table keeps the best round of each, so a burst of load on the shared machine hits all alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def build(version: str, folder: Path) -> dict[str, Path]:
    """{"float": path, "int8": path} for a random-weight net of ``version``."""
    from stylecam.quantize import calibration_frames, quantize_model
    from trainer.export import export_model
    from trainer.nets import NetConfig, arch_name, build_net, net_stride

    cfg = NetConfig(fast=version)
    path = export_model(build_net(cfg).eval(), folder / f"{version}.onnx", kind="style", name=version, scale=1,
                        arch=arch_name(cfg), stride=net_stride(cfg), train={}, source_sha256="0" * 64)
    photos = ROOT.parent / "shared" / "data" / "content"
    frames, _ = calibration_frames(photos if photos.is_dir() else None, count=8)
    q = quantize_model(path, frames, held_out=2, min_psnr=0.0)
    return {"float": path, "int8": q.path}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--versions", default="v2,v3,v3-deep")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    from _measure import time_call

    from stylecam.engine import Engine
    from stylecam.testing import test_frame

    frame = test_frame(480, 640)
    engines = {}
    with tempfile.TemporaryDirectory() as tmp:
        for v in [x.strip() for x in args.versions.split(",") if x.strip()]:
            for precision, path in build(v, Path(tmp)).items():
                engines[(v, precision)] = Engine(str(path), device="cpu", precision="float", threads=2)
        best: dict = {}
        for r in range(args.rounds):
            for key, eng in engines.items():
                ms = time_call(lambda: eng.run(frame), reps=10, max_s=30.0, warmup=3).median_ms
                best.setdefault(key, []).append(ms)
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    rows = {f"{v}/{p}": {"best_ms": min(t), "median_of_rounds_ms": statistics.median(t)} for (v, p), t in best.items()}
    print("| version | precision | ms 640x480 (best round) | median of rounds |\n|---|---|---:|---:|")
    for k, r in rows.items():
        v, prec = k.split("/")
        print(f"| {v} | {prec} | {r['best_ms']:.1f} | {r['median_of_rounds_ms']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

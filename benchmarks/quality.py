"""How good the models are: style nets against Gatys optimisation, super-resolution against bicubic.

    nice -n 5 python benchmarks/quality.py --quick                 # 128 px, 2 photos, Gatys 50/100
    nice -n 5 python benchmarks/quality.py --json quality.json --plot curve.png   # 256 px, 3 photos, 50/100/300
    python benchmarks/quality.py --parts sr --sr sr4,path/to/x.onnx

1. **Style vs optimisation** (Johnson et al. Fig. 5, ``_style_quality.py``): on held-out Set5 +
   Set14 crops, each style model's paper objective (with the weights it records) against
   Gatys-style L-BFGS after ``--iters`` iterations, cached under ~/.cache/stylecam/gatys
   (``--cache`` or ``STYLECAM_GATYS_CACHE``). Ship gate: net / Gatys@100 <= 1.5 (fast tier),
   <= 1.0 (quality).
2. **Super-resolution** on Set5 and Set14 (``_sr_quality.py``), the standard protocol: LR by
   MATLAB-style bicubic, PSNR and SSIM on the BT.601 Y channel with ``scale`` pixels shaved;
   baselines MATLAB-style bicubic, OpenCV's bicubic and the nearest-neighbour contract test model.

Reads ../shared/data (never copied into the repository); a part whose data or models are
missing is skipped with a one-line note. Prints markdown tables; ``--json FILE`` saves all.
This file is the command line; the parts' names stay importable from here (``import quality``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from stylecam.engine import Engine  # noqa: E402,F401
from stylecam.errors import StylecamError  # noqa: E402
from stylecam.frames import imresize, psnr  # noqa: E402,F401
from stylecam.models import Catalog, ModelInfo, sha256_file  # noqa: E402,F401

from _sr_quality import (  # noqa: E402,F401
    PAPER_NOTE, PAPER_SR4, PUBLISHED_BICUBIC4, measure_sr, nearest_model, read_hr, rgb_to_y, run_sr, sr_scores,
    sr_sets, sr_table, ssim)
from _style_quality import (  # noqa: E402,F401
    DATA, FAST_OVER_QUALITY, GATE, GATYS_VERSION, PALETTE, _f, cache_dir, curve_plot, fast_vs_quality,
    find_style_image, gatys_cached, gatys_key, held_out_photos, int8_vs_float, iterations_to_match, loss_config,
    measure_style, precisions, run_styles, source_sha256, style_models, style_size, style_table)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", default="style,sr", help="comma-separated: style, sr")
    p.add_argument("--styles", help="style models (names or .onnx paths); default: every style in the catalog")
    p.add_argument("--style-image", help="the painting (when the model's recorded file is elsewhere)")
    p.add_argument("--photos", type=int, default=3, help="held-out photos for the style part")
    p.add_argument("--size", type=int, default=256, help="side of the held-out crops")
    p.add_argument("--iters", default="50,100,300", help="Gatys L-BFGS iterations to report")
    p.add_argument("--curve", default="10,20", help="extra Gatys iterations recorded for the curve (JSON)")
    p.add_argument("--cache", type=Path, default=None, help="Gatys cache folder (default ~/.cache/stylecam/gatys)")
    p.add_argument("--sr", help="super-resolution models (names or paths); default: every one in the catalog")
    p.add_argument("--sr-data", type=Path, default=DATA / "sr")
    p.add_argument("--quick", action="store_true", help="128 px, 2 photos, Gatys 50/100")
    p.add_argument("--threads", type=int, help="torch threads for VGG and Gatys")
    p.add_argument("--precision", choices=("float", "int8", "both"), default="float",
                   help="run the float models (default, as trained), their int8 variants, or both")
    p.add_argument("--json", type=Path, help="write every figure here")
    p.add_argument("--plot", type=Path, help="write the net-vs-optimisation curve (PNG) here")
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.photos, args.iters = 128, min(args.photos, 2), "50,100"
    try:
        args.iters = sorted({int(i) for i in args.iters.split(",") if i.strip()})
        args.curve = sorted({int(i) for i in args.curve.split(",") if i.strip()})
    except ValueError:
        print(f"quality: --iters must be whole numbers, not {args.iters!r}", file=sys.stderr)
        return 2
    if not args.iters or min(args.iters + args.curve) < 1 or args.photos < 1 or args.size < 32:
        print("quality: --iters, --photos must be positive and --size at least 32", file=sys.stderr)
        return 2
    args.cache = args.cache or cache_dir()
    parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    if not parts <= {"style", "sr"}:
        print(f"quality: unknown part(s) {', '.join(sorted(parts - {'style', 'sr'}))}; use style, sr",
              file=sys.stderr)
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    result = {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    try:
        if "style" in parts:
            result["style"] = run_styles(args)
            print(style_table(result["style"]) + "\n", flush=True)
            if args.plot and result["style"].get("models"):
                cv2.imwrite(str(args.plot), curve_plot(result["style"])[:, :, ::-1])
                print(f"curve: {args.plot}", file=sys.stderr)
        if "sr" in parts:
            result["sr"] = run_sr(args)
            print(sr_table(result["sr"]) + "\n", flush=True)
    except StylecamError as exc:
        print(f"quality: {exc}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

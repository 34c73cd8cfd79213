"""Flicker of stylized video: how much each output frame differs from the previous output
carried along the *input's* optical flow (occlusions masked), in grey levels 0-255.

    python benchmarks/flicker.py [--style wave] [--frames 60] [--max-side 640] [--json FILE]

Rows: the input itself (the floor), the per-frame model, and the model with the engine's
stabiliser (``stylecam.temporal.Stabilizer``); on ../shared/data/video/butterfly.mp4 and on a
synthetic clip (a photo panned and zoomed slowly, plus sensor-like noise). Also what the
stabiliser costs per frame next to the model. Importable: ``clip_flicker(inputs, outputs)``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylecam import frames as F  # noqa: E402
from stylecam.engine import Engine  # noqa: E402
from stylecam.models import Catalog  # noqa: E402
from stylecam.temporal import FLOW_SIDE, Stabilizer, flicker  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def clip_flicker(inputs: list[np.ndarray], outputs: list[np.ndarray]) -> float:
    """Mean flicker over consecutive pairs of a clip."""
    vals = [flicker(outputs[i - 1], outputs[i], inputs[i - 1], inputs[i]) for i in range(1, len(inputs))]
    vals = [v for v in vals if v == v]
    return float(np.mean(vals)) if vals else float("nan")


def butterfly(n: int, max_side: int) -> list[np.ndarray] | None:
    path = SHARED / "video" / "butterfly.mp4"
    if not path.exists():
        return None
    import av
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            img = frame.to_ndarray(format="rgb24")
            out.append(F.resize(img, *F.fit_max_side(*img.shape[:2], max_side)))
            if len(out) == n:
                break
    return out


def synthetic(n: int, max_side: int, seed: int = 0) -> list[np.ndarray]:
    """A photo panned and zoomed slowly, with per-frame Gaussian sensor noise (sigma 3)."""
    photos = sorted((SHARED / "content").glob("*.jpg"))
    if photos:
        photo = cv2.cvtColor(cv2.imread(str(photos[0])), cv2.COLOR_BGR2RGB)
    else:
        from stylecam.testing import test_frame
        photo = test_frame(321, 481)
    h, w = photo.shape[:2]
    oh, ow = F.fit_max_side(round(h * 0.75), round(w * 0.75), max_side)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        zoom = 1.0 + 0.002 * i
        cw, ch = w * 0.75 / zoom, h * 0.75 / zoom
        x0 = (w - cw) * (0.2 + 0.6 * i / max(1, n - 1))
        y0 = (h - ch) * 0.5
        m = np.float32([[cw / ow, 0, x0], [0, ch / oh, y0]])
        img = cv2.warpAffine(photo, m, (ow, oh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        noisy = img.astype(np.float32) + rng.normal(0, 3, img.shape)
        out.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return out


def off_frame(stable: list[np.ndarray], per_frame: list[np.ndarray]) -> float:
    """Mean absolute difference (grey levels) of the steadied pictures from the model's own:
    what the stabiliser's blend costs in lag and ghosts (lower is nearer the model)."""
    return float(np.mean([np.abs(s.astype(np.float32) - p).mean() for s, p in zip(stable, per_frame)]))


def measure(name: str, clip: list[np.ndarray], engine: Engine, stab_keep: float,
            flow_side: int = FLOW_SIDE) -> dict:
    t_model, t_stab = [], []
    per_frame, stable = [], []
    stab = Stabilizer(keep=stab_keep, flow_side=flow_side)
    for img in clip:
        t0 = time.perf_counter()
        y = engine.run(img)
        t1 = time.perf_counter()
        s = stab(img, y)
        t2 = time.perf_counter()
        per_frame.append(y)
        stable.append(s)
        t_model.append(t1 - t0)
        t_stab.append(t2 - t1)
    floor = clip_flicker(clip, clip)
    raw = clip_flicker(clip, per_frame)
    stab_f = clip_flicker(clip, stable)
    return {"clip": name, "frames": len(clip), "size": f"{clip[0].shape[1]}x{clip[0].shape[0]}",
            "floor": floor, "per_frame": raw, "stabilised": stab_f, "ratio": stab_f / raw,
            "off_frame": off_frame(stable, per_frame),
            "model_ms": 1000 * statistics.median(t_model),
            "stabiliser_ms": 1000 * statistics.median(t_stab)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--style", default="wave", help="style name or .onnx path (default: wave)")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--max-side", type=int, default=640)
    ap.add_argument("--keep", type=float, default=0.6, help="stabiliser strength")
    ap.add_argument("--flow-side", type=int, default=FLOW_SIDE,
                    help="stabiliser: the flow's long side in pixels (default: the app's)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--precision", default="auto", choices=("auto", "float", "int8"),
                    help="default auto: the int8 variant when there is one, as the app runs it on the CPU")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    info = Catalog().resolve(args.style, kind="style")
    engine = Engine(info, device="cpu", threads=args.threads, precision=args.precision)
    engine.warmup()
    clips = [("synthetic pan+zoom+noise", synthetic(args.frames, args.max_side))]
    real = butterfly(args.frames, args.max_side)
    if real is not None:
        clips.insert(0, ("butterfly.mp4", real))
    else:
        print("(../shared/data/video/butterfly.mp4 not found: synthetic clip only)")
    rows = [measure(n, c, engine, args.keep, args.flow_side) for n, c in clips]
    print(f"style {info.name} ({info.arch}, {engine.precision}), stabiliser keep={args.keep} "
          f"flow {args.flow_side} px, CPU, "
          f"{engine.threads} threads; flicker in grey levels (lower is steadier)\n")
    print("| clip | size | frames | floor (input) | per-frame | stabilised | ratio | off the model's frame "
          "| model ms | stabiliser ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['size']} | {r['frames']} | {r['floor']:.2f} | {r['per_frame']:.2f} | "
              f"{r['stabilised']:.2f} | {r['ratio']:.2f} | {r['off_frame']:.2f} | {r['model_ms']:.1f} | "
              f"{r['stabiliser_ms']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"style": info.name, "precision": engine.precision, "keep": args.keep,
                                                 "flow_side": args.flow_side,
                                                 "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

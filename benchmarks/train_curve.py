"""Objective on held-out photos against wall-clock training minutes: scratch vs warm start.

    python benchmarks/train_curve.py --minutes 8 --eval-every 2 --gatys 3 --json out.json
    python benchmarks/train_curve.py --speed            # seconds per step, both tiers, fp32 and bf16

Held out: Set5 + Set14 (never in the training folder), centre crops of 256x256 after scaling
the short side to 256. The objective is ``losses.objective`` with the training weights; each
point is the mean over the held-out crops of the net's output (clamped, as shown). Training
time excludes the evaluations. With ``--gatys K`` the first K crops are also optimised with
100 L-BFGS iterations (``trainer.optimize.gatys``) and the ratio net / Gatys@100 on those
crops is printed: the issue's target is <= 1.5 after 30 minutes.

Reads ../shared/data (never copied into the repository). Run it on a quiet machine: every
figure is wall-clock time on this CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trainer import data as D  # noqa: E402
from trainer.optimize import evaluate, gatys  # noqa: E402
from trainer.train import Trainer, TrainConfig  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def held_out(size: int = 256) -> torch.Tensor:
    crops = []
    for f in sorted((DATA / "sr" / "Set5").glob("*.png")) + sorted((DATA / "sr" / "Set14").glob("*.png")):
        img = D.read_image(f)
        if img is None:
            continue
        img = D.fit_short_side(img, size)
        h, w = img.shape[:2]
        y, x = (h - size) // 2, (w - size) // 2
        crops.append(img[y:y + size, x:x + size])
    return D.to_tensor(np.stack(crops)).contiguous()  # L-BFGS views the gradient flat


def score(tr: Trainer, photos: torch.Tensor) -> list[float]:
    """The objective of the net's output on each held-out crop."""
    tr.net.eval()
    out = []
    with torch.no_grad():
        for i in range(len(photos)):
            x = photos[i:i + 1]
            out.append(evaluate(tr.vgg, tr.net(x), x, tr.grams, tr.lcfg)[0])
    tr.net.train()
    return out


def curve(init: str, args, photos: torch.Tensor, run_root: Path) -> list[dict]:
    cfg = TrainConfig(name=f"curve-{init}", style=args.style, content=args.content, tier=args.tier,
                      size=args.size, batch=args.batch, steps=10 ** 6, init=init, checkpoint_every=10 ** 6,
                      preview_every=10 ** 6, lr=args.lr)
    tr = Trainer(cfg, run_root / init, quiet=True, log=lambda m: print(m, file=sys.stderr))
    points, trained, step = [], 0.0, 0
    marks = [m * 60 for m in np.arange(0, args.minutes + 1e-9, args.eval_every)]
    for mark in marks:
        while trained < mark:
            t0 = time.perf_counter()
            tr.train_step(step)
            trained += time.perf_counter() - t0
            step += 1
        s = score(tr, photos)
        points.append({"init": init, "minutes": round(trained / 60, 2), "steps": step,
                       "objective": statistics.mean(s), "per_image": s})
        print(f"{init:8s} {trained / 60:6.2f} min  {step:5d} steps  objective {statistics.mean(s):.3f}", flush=True)
    return points


def speed(args) -> list[dict]:
    """Median seconds per training step for each tier and precision (``--precisions``), at
    ``--size`` and ``--batch``, the shipped defaults otherwise (stability loss included)."""
    rows = []
    for tier in ("fast", "quality"):
        for precision in args.precisions.split(","):
            cfg = TrainConfig(name="speed", style=args.style, content=args.content, tier=tier, steps=10 ** 6,
                              size=args.size, batch=args.batch, init="scratch", precision=precision,
                              checkpoint_every=10 ** 6, preview_every=10 ** 6)
            with tempfile.TemporaryDirectory() as tmp:
                tr = Trainer(cfg, Path(tmp), quiet=True, log=lambda m: None)
                times = []
                for step in range(args.speed_steps + 1):
                    t0 = time.perf_counter()
                    tr.train_step(step)
                    times.append(time.perf_counter() - t0)
            med = statistics.median(times[1:])  # the first step pays for allocation
            rows.append({"tier": tier, "precision": tr.cfg.precision, "size": cfg.size, "batch": cfg.batch,
                         "threads": torch.get_num_threads(), "seconds_per_step": round(med, 3),
                         "steps": args.speed_steps})
            print(f"{tier:8s} {tr.cfg.precision:5s} size {cfg.size} batch {cfg.batch} threads "
                  f"{torch.get_num_threads()}: {med:.2f} s/step (median of {args.speed_steps})", flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--style", default=str(DATA / "styles" / "wave.jpg"))
    p.add_argument("--content", default=str(DATA / "content"))
    p.add_argument("--tier", default="fast")
    p.add_argument("--size", type=int, default=TrainConfig.size)
    p.add_argument("--batch", type=int, default=TrainConfig.batch)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--minutes", type=float, default=10.0, help="training minutes per curve")
    p.add_argument("--eval-every", type=float, default=2.0, help="minutes between evaluations")
    p.add_argument("--inits", default="scratch,base")
    p.add_argument("--gatys", type=int, default=0, help="also run Gatys@100 on this many held-out crops")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--speed", action="store_true", help="only measure seconds per step for both tiers")
    p.add_argument("--speed-steps", type=int, default=5)
    p.add_argument("--precisions", default="fp32,bf16", help="for --speed: comma list of fp32, bf16, auto")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    result = {"threads": torch.get_num_threads(), "settings": vars(args)}
    if args.speed:
        result["speed"] = speed(args)
    else:
        photos = held_out()
        print(f"{len(photos)} held-out crops of 256x256 (Set5 + Set14); style {Path(args.style).name}; tier "
              f"{args.tier}; size {args.size}; batch {args.batch}; threads {torch.get_num_threads()}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            result["curves"] = [pt for init in args.inits.split(",") for pt in curve(init, args, photos, Path(tmp))]
        if args.json:  # the curves are kept even if the reference below fails
            Path(args.json).write_text(json.dumps(result, indent=1))
        if args.gatys:
            result["gatys"] = run_gatys(args, photos[:args.gatys], result["curves"])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def run_gatys(args, photos: torch.Tensor, curves: list[dict]) -> dict:
    from trainer.losses import style_targets
    from trainer.vgg import load_vgg

    cfg = TrainConfig(style=args.style, size=args.size)
    lcfg = cfg.loss_config()
    vgg = load_vgg()
    style = D.load_style(args.style, 2 * args.size)
    grams = style_targets(vgg, style, lcfg)
    totals, seconds = [], []
    for i in range(len(photos)):
        snap = gatys(vgg, photos[i:i + 1], grams, lcfg, iterations=(100,)).at(100)
        totals.append(snap.total)
        seconds.append(snap.seconds)
    ref = statistics.mean(totals)
    print(f"Gatys@100 on {len(photos)} crops: objective {ref:.3f}, {statistics.mean(seconds):.1f} s per crop", flush=True)
    for pt in curves:
        net = statistics.mean(pt["per_image"][:len(photos)])
        pt["ratio_to_gatys100"] = net / ref
        print(f"{pt['init']:8s} {pt['minutes']:6.2f} min: net / Gatys@100 = {net / ref:.2f}", flush=True)
    return {"objective": ref, "per_image": totals, "seconds_per_crop": statistics.mean(seconds)}


if __name__ == "__main__":
    raise SystemExit(main())

"""The style lab: candidate recipes trained at an equal budget, scored alike, shown side by side.

    nohup python benchmarks/style_lab.py --styles udnie,starry_night --steps 300 &   # resumable
    python benchmarks/style_lab.py --score-only          # rescore what is trained, redo the table

For each painting and each candidate recipe (``CANDIDATES``: the net's version, the
painting's scale, multi-scale style targets, the step budget), the lab trains a fast-tier
model from the shipped base net with ``trainer.train.Trainer`` (checkpoints in
``<lab>/<style>/<candidate>/``; a rerun resumes where it stopped and skips what is done),
exports it through the model contract, and scores it on held-out photos it never saw:

- **objective ÷ Gatys@100** (``quality.measure_style``: the paper's objective with the weights
  and painting size the model records; 256 px Set5/Set14 crops);
- **style term at two painting scales**: the weighted Gram loss of the output against the
  painting at 384 and at 768 px (long side), each divided by the photo's own: below 1 the
  output is nearer the painting's statistics at that scale than the photo is (so a recipe
  cannot look good only at the scale it was trained for);
- **per layer** (relu1_2 .. relu4_3): the style term's share at each VGG layer;
- **band** (``band.py``: worst border's texture ratio and colour shift, 12 photos, 360 px);
- **flicker** (``flicker.py``: butterfly.mp4, 40 frames at 360 px, per frame and with Steady);
- **ms** per 640x480 frame (float, onnxruntime, 2 threads; the same run for every candidate).

Writes ``<out>/style_lab.json``, ``style_lab.md`` (the table) and one contact sheet per
painting (``style_lab_<style>.jpg``: photo | painting | every candidate, on held-out photos).
Needs the train extra and ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import band as B  # noqa: E402
import quality as Q  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data"
# name -> TrainConfig fields that differ from the shared recipe (fast tier, 192 px crops,
# batch 4, style weight 8, stability 300, from the base net). "v2" is the recipe of the
# shipped styles: zero padding inside, mirrored margins, painting at 2 x 192 = 384 px.
CANDIDATES = {
    "v2": {"fast": "v2", "style_size": 384},
    "v3": {"fast": "v3", "style_size": 384},
    "v3-s2": {"fast": "v3", "style_size": 768},
    "v3-ms": {"fast": "v3", "style_size": 384, "style_scales": (1.0, 2.0)},
    "v3-s3": {"fast": "v3", "style_size": 1152},
    "v3-deep-s2": {"fast": "v3-deep", "style_size": 768},
    # the style's weight: more of it at every layer, or more at the low layers (the painting's
    # colour and small marks; pytorch/examples' MSE Grams weigh relu1_2 16x relu3_3 in effect)
    "v3-s2-w32": {"fast": "v3", "style_size": 768, "style_weight": 32.0},
    "v3-s2-lw": {"fast": "v3", "style_size": 768, "layer_weights": (8.0, 4.0, 1.0, 1.0)},
    # pytorch/examples' balance between the layers (its mean-squared Grams divide each layer
    # by C^2: 64:16:4:1 in ours), every layer still at least the default weight
    "v3-s2-ex": {"fast": "v3", "style_size": 768, "layer_weights": (64.0, 16.0, 4.0, 1.0)},
    # the net without its input skip (the base net has one, so it starts from random weights)
    "v3-ns-s2": {"fast": "v3-ns", "style_size": 768, "init": "scratch"},
    "v3-s2-scratch": {"fast": "v3", "style_size": 768, "init": "scratch"},
    # not an equal start: from the shipped v2 model of the style (its 700-7,000 steps), the
    # cheap way to move every built-in style onto v3
    "v3-s2-ft": {"fast": "v3", "style_size": 768, "init": "shipped"},
}
SCALES = (384, 768)  # painting sizes the style term is measured at
SHEET_PHOTOS = ("amber.jpg",)  # from ../shared/data/reference, then held-out Set14 photos


def recipe(style: str, cand: str) -> dict:
    """The candidate's TrainConfig fields for ``style`` ("shipped": start from its built-in model)."""
    r = dict(CANDIDATES[cand])
    if r.get("init") == "shipped":
        from stylecam.models import Catalog

        r["init"] = str(Catalog().resolve(style, kind="style").path)
    return r


def lab_dir(arg: Path | None) -> Path:
    from trainer.train import runs_dir

    return arg or runs_dir() / "style_lab"


# ----------------------------------------------------------------------------- training

def train_one(style: str, cand: str, steps: int, root: Path, log) -> Path:
    """Train (or resume, or skip) one candidate; returns its exported float model."""
    import torch

    from stylecam.models import sha256_file
    from trainer.export import export_model
    from trainer.nets import arch_name, net_stride
    from trainer.train import CHECKPOINT, TrainConfig, Trainer

    run = root / style / cand
    onnx_path = run / f"{style}-{cand}.onnx"
    done = run / "done.json"
    if onnx_path.is_file() and done.is_file() and json.loads(done.read_text()).get("steps") == steps:
        return onnx_path
    painting = DATA / "styles" / f"{style}.jpg"
    if (run / CHECKPOINT).is_file():
        tr = Trainer(None, run, resume=True, steps=steps, log=log, quiet=True)
    else:
        fields = {"size": 192, "batch": 4, "style_weight": 8.0, "stability": 300.0, **recipe(style, cand)}
        cfg = TrainConfig(mode="style", name=f"{style}-{cand}", style=str(painting),
                          source_sha256=sha256_file(painting), content=str(DATA / "content"),
                          steps=steps, checkpoint_every=100, preview_every=max(100, steps), **fields)
        tr = Trainer(cfg, run, log=log, quiet=True)
    t0 = time.perf_counter()
    last = [t0]

    def progress(row):
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            log(f"  {style}/{cand}: step {row['step']}/{steps} loss {row['total']:.3g}")

    res = tr.run(on_step=progress)
    if res.interrupted:
        raise KeyboardInterrupt
    ncfg = tr.cfg.net_config()
    with torch.no_grad():
        export_model(res.net.float().eval(), onnx_path, kind="style", name=f"{style}-{cand}", scale=1,
                     arch=arch_name(ncfg), stride=net_stride(ncfg), train=res.metadata(),
                     source_sha256=tr.cfg.source_sha256)
    done.write_text(json.dumps({"steps": steps, "wall_seconds": round(res.wall_seconds, 1),
                                "seconds_per_step": round(res.wall_seconds / max(1, steps), 3)}))
    log(f"{style}/{cand}: {steps} steps in {res.wall_seconds / 60:.1f} min")
    return onnx_path


# ----------------------------------------------------------------------------- scoring

def style_terms(vgg, images: list[np.ndarray], painting: Path, lcfg, size: int) -> dict[str, float]:
    """Mean weighted Gram loss per layer of ``images`` against the painting at ``size`` px."""
    from trainer.data import load_style, to_tensor
    from trainer.losses import style_targets

    from style_layers import per_layer

    grams = style_targets(vgg, load_style(painting, size), lcfg)
    sums: dict[str, float] = {}
    for img in images:
        for layer, v in per_layer(vgg, to_tensor(img[None]), grams, lcfg).items():
            sums[layer] = sums.get(layer, 0.0) + v / len(images)
    return sums


def frame_ms(path: Path, reps: int = 15) -> float:
    from _measure import time_call

    from stylecam.engine import Engine

    eng = Engine(str(path), device="cpu", precision="float", threads=2)
    frame = cv2.resize(B.held_out(480, 1)[0], (640, 480))
    return time_call(lambda: eng.run(frame), reps=reps, max_s=30.0, warmup=3).median_ms


def score(path: Path, style: str, vgg, photos: np.ndarray, band_photos, clip, args) -> dict:
    import flicker as FL

    from stylecam.engine import Engine
    from stylecam.models import Catalog

    info = Catalog().resolve(path)
    q = Q.measure_style(info, photos, vgg, args)
    painting = DATA / "styles" / f"{style}.jpg"
    lcfg = Q.loss_config(info.train)
    eng = Engine(info, device="cpu", precision="float")
    outs = [eng.run(p) for p in photos]
    scales = {}
    for size in SCALES:
        net = style_terms(vgg, outs, painting, lcfg, size)
        photo = style_terms(vgg, list(photos), painting, lcfg, size)
        scales[str(size)] = {"net": sum(net.values()), "photo": sum(photo.values()),
                             "ratio": sum(net.values()) / sum(photo.values())}
    layers = style_terms(vgg, outs, painting, lcfg, Q.style_size(info.train))
    fl = FL.measure("butterfly", clip, eng, 0.6) if clip else None
    return {"ratio_gatys100": q["ratio_gatys100"], "objective": q["net"], "gatys100": q["gatys"].get("100"),
            "style_part": q["net_parts"]["style"], "content_part": q["net_parts"]["content"],
            "scales": scales, "layers": layers, "band": B.measure(path, band_photos),
            "flicker": fl and {k: fl[k] for k in ("per_frame", "stabilised", "ratio")},
            "ms_640x480": frame_ms(path)}


# ----------------------------------------------------------------------------- pictures

def sheet_photos(n: int, short: int = 256) -> list[np.ndarray]:
    out = []
    for name in SHEET_PHOTOS:
        img = cv2.imread(str(DATA / "reference" / name))
        if img is not None:
            h, w = img.shape[:2]
            k = short / min(h, w)
            out.append(cv2.resize(img, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)[:, :, ::-1])
    return (out + B.held_out(short, 19)[5:])[:n]


def contact_sheet(style: str, models: dict[str, Path], photos: list[np.ndarray], path: Path, h: int = 200) -> None:
    """Rows: held-out photos; columns: photo | painting | each candidate, labelled."""
    from stylecam.engine import Engine

    painting = cv2.imread(str(DATA / "styles" / f"{style}.jpg"))[:, :, ::-1]
    engines = {c: Engine(str(p), device="cpu", precision="float") for c, p in models.items()}

    def fit(img):
        return cv2.resize(img, (round(img.shape[1] * h / img.shape[0]), h), interpolation=cv2.INTER_AREA)

    def label(img, text):
        img = np.ascontiguousarray(img)
        cv2.putText(img, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
        return img

    gap = np.full((h, 4, 3), 255, np.uint8)
    rows = []
    for i, photo in enumerate(photos):
        cells = [label(fit(photo), "photo") if i == 0 else fit(photo), label(fit(painting), style) if i == 0 else fit(painting)]
        for c, eng in engines.items():
            out = fit(eng.run(photo))
            cells.append(label(out, c) if i == 0 else out)
        rows.append(np.concatenate([x for cell in cells for x in (cell, gap)][:-1], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    cv2.imwrite(str(path), np.concatenate(rows)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])


# ----------------------------------------------------------------------------- report

def table(results: dict) -> str:
    lines = ["| style | candidate | steps | obj ÷ Gatys@100 | style @384 ÷ photo | style @768 ÷ photo | "
             "worst layer (share) | band texture / colour | flicker (Steady ratio) | ms 640x480 |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for key, r in sorted(results.items()):
        style, cand = key.split("/")
        lay = r["layers"]
        top = max(lay, key=lay.get)
        fl = r["flicker"]
        lines.append(
            f"| {style} | {cand} | {r['steps']} | {r['ratio_gatys100']:.2f}× | {r['scales']['384']['ratio']:.2f} | "
            f"{r['scales']['768']['ratio']:.2f} | {top} ({lay[top] / sum(lay.values()):.0%}) | "
            f"{r['band']['texture']:.2f}× ({r['band']['texture_side']}) / {r['band']['colour']:.1f} "
            f"({r['band']['colour_side']}) | "
            + (f"{fl['per_frame']:.2f} → {fl['stabilised']:.2f} ({fl['ratio']:.2f})" if fl else "–")
            + f" | {r['ms_640x480']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--styles", default="udnie,starry_night")
    p.add_argument("--candidates", default=",".join(CANDIDATES))
    p.add_argument("--steps", type=int, default=300, help="training steps per candidate (the equal budget)")
    p.add_argument("--lab", type=Path, help="run folders (default: the runs folder's style_lab)")
    p.add_argument("--out", type=Path, default=HERE / "results", help="table, JSON and contact sheets go here")
    p.add_argument("--photos", type=int, default=3, help="held-out 256-px crops for the objective")
    p.add_argument("--score-only", action="store_true", help="train nothing; score what is trained")
    p.add_argument("--no-score", action="store_true", help="train only")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    root = lab_dir(args.lab)
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    cands = [c.strip() for c in args.candidates.split(",") if c.strip()]
    unknown = [c for c in cands if c not in CANDIDATES]
    if unknown:
        p.error(f"unknown candidate(s) {', '.join(unknown)}; known: {', '.join(CANDIDATES)}")
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    log(f"style lab in {root}: {len(styles)} style(s) x {len(cands)} candidate(s), {args.steps} steps each")
    out_json = args.out / "style_lab.json"
    results = json.loads(out_json.read_text())["results"] if out_json.is_file() else {}
    scorer = None
    models = {}
    for cand in cands:  # candidate-major: every style gets each recipe, scored, before the next recipe
        for style in styles:
            run = root / style / cand
            if args.score_only:
                found = run / f"{style}-{cand}.onnx"
                if found.is_file():
                    models[(style, cand)] = found
            else:
                models[(style, cand)] = train_one(style, cand, args.steps, root, log)
            if args.no_score or (style, cand) not in models:
                continue
            path = models[(style, cand)]
            key, mtime = f"{style}/{cand}", path.stat().st_mtime
            if key in results and results[key].get("mtime") == mtime:
                continue
            scorer = scorer or Scorer(args.photos)
            log(f"scoring {key}")
            r = scorer(path, style)
            done = json.loads((path.parent / "done.json").read_text())
            results[key] = {**r, "steps": done["steps"], "train_seconds_per_step": done["seconds_per_step"],
                            "mtime": mtime, "recipe": {k: list(v) if isinstance(v, tuple) else v
                                                       for k, v in CANDIDATES[cand].items()}}
            args.out.mkdir(parents=True, exist_ok=True)
            out_json.write_text(json.dumps({"cpu": cpu_info(), "results": results}, indent=1))
        if not args.no_score:
            report(results, models, styles, cands, args.out)
    return 0


class Scorer:
    """Loads VGG, the held-out photos and the clip once; scores one model per call."""

    def __init__(self, photos: int):
        import flicker as FL

        from trainer.vgg import load_vgg

        self.vgg = load_vgg()
        self.args = argparse.Namespace(iters=[100], curve=[], cache=Q.cache_dir(), style_image=None)
        self.photos = Q.held_out_photos(256, photos)
        self.band_photos = B.held_out(360, 12)
        self.clip = FL.butterfly(40, 360)

    def __call__(self, path: Path, style: str) -> dict:
        return score(path, style, self.vgg, self.photos, self.band_photos, self.clip, self.args)


def report(results: dict, models: dict, styles: list, cands: list, out: Path) -> None:
    """The table (style_lab.md, printed) and the contact sheets, for what is trained so far."""
    md = table({k: v for k, v in results.items() if tuple(k.split("/")) in models})
    (out / "style_lab.md").write_text(md + "\n")
    print(md, flush=True)
    for style in styles:
        got = {c: models[(style, c)] for c in cands if (style, c) in models}
        if got:
            contact_sheet(style, got, sheet_photos(4), out / f"style_lab_{style}.jpg")


def cpu_info() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    model = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")), "?")
    flags = set(next((l.split(":", 1)[1].split() for l in text.splitlines() if l.startswith("flags")), []))
    keep = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in flags]
    return f"{model} ({', '.join(keep)})"


if __name__ == "__main__":
    raise SystemExit(main())

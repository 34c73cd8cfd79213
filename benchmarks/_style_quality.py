"""Part 1 of ``quality.py``: style nets against Gatys optimisation (Johnson et al. Fig. 5).

Held-out photos: Set5 + Set14 (never in the training folder), centre crops of ``--size`` px
(``train_curve.held_out``). For each style model the paper objective
(``trainer.losses.objective``) is computed with the weights, layers and style-image size the
model records in ``stylecam.train``, for the ONNX model's output (run by
``stylecam.engine.Engine``, uint8 as shown) and for Gatys-style L-BFGS from the photo after
each of ``--iters`` iterations (``trainer.optimize.gatys``). Gatys results are cached per
(style image, weights, photo, iterations) under ~/.cache/stylecam/gatys (``--cache`` or
``STYLECAM_GATYS_CACHE`` elsewhere), so reruns cost only the nets. Ship gate: net / Gatys@100
<= 1.5 (fast tier), <= 1.0 (quality).

Also here: the curve picture (``curve_plot``, ``--plot``), the markdown table
(``style_table``), and what both parts share (``DATA``, ``precisions``, ``_f``).
Imported through ``quality.py``, which puts the repository and benchmarks/ on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from stylecam.engine import Engine
from stylecam.errors import StylecamError
from stylecam.models import Catalog, ModelInfo, sha256_file

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
GATE = {"fast": 1.5, "quality": 1.0}  # net / Gatys@100, from issue 6
FAST_OVER_QUALITY = 1.25  # fast tier's objective at most this times the quality tier's
GATYS_VERSION = 1  # bump when trainer.optimize.gatys changes what it computes


# ---------------------------------------------------------------- 1. style vs optimisation

def style_models(names: str | None) -> list[ModelInfo]:
    """Style models named (comma-separated names or paths), or every style model in the catalog."""
    if names:
        return [Catalog().resolve(n.strip(), kind="style") for n in names.split(",") if n.strip()]
    return [m for m in Catalog().models() if m.kind == "style"]


def source_sha256(info: ModelInfo) -> str:
    import onnx

    proto = onnx.load(str(info.path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}.get("stylecam.source_sha256", "")


def find_style_image(info: ModelInfo, override: str | None = None, folder: Path = DATA / "styles") -> Path:
    """The painting a model was trained on: ``override``, else its recorded file name in ``folder``.

    The file's sha256 must match the model's ``stylecam.source_sha256``; a wrong painting
    would make every figure meaningless.
    """
    want = source_sha256(info)
    if override:
        path = Path(override)
    else:
        name = info.train.get("style", "")
        if not name:
            raise StylecamError(f"{info.name}: stylecam.train records no style image; pass --style-image")
        path = folder / Path(name).name
    if not path.is_file():
        raise StylecamError(f"{info.name}: style image {path} not found; pass --style-image")
    got = sha256_file(path)
    if want and got != want:
        raise StylecamError(f"{info.name}: {path.name} is not the painting it was trained on "
                            f"(sha256 {got[:12]}..., model says {want[:12]}...)")
    return path


def loss_config(train: dict):
    from trainer.losses import STYLE_LAYERS, LossConfig

    return LossConfig(float(train.get("content_weight", 1.0)), float(train.get("style_weight", 3.0)),
                      float(train.get("tv_weight", 1.0)), train.get("content_layer", "relu2_2"),
                      tuple(train.get("style_layers", STYLE_LAYERS)), tuple(train.get("layer_weights", ())))


def style_size(train: dict) -> int:
    """The painting's long side in training: recorded, or the trainer's default of 2 x crop size."""
    return int(train.get("style_size") or 2 * int(train.get("size", 256)))


def cache_dir() -> Path:
    import platformdirs

    env = os.environ.get("STYLECAM_GATYS_CACHE")
    return Path(env) if env else platformdirs.user_cache_path("stylecam") / "gatys"


def gatys_key(style_sha: str, size: int, lcfg, photo: np.ndarray, history: int) -> str:
    """Everything the Gatys result depends on, hashed (the iteration counts are stored inside)."""
    desc = json.dumps({"v": GATYS_VERSION, "style": style_sha, "style_size": size, "history": history,
                       "loss": [lcfg.content_weight, lcfg.style_weight, lcfg.tv_weight, lcfg.content_layer,
                                list(lcfg.style_layers)] + ([list(lcfg.layer_weights)] if lcfg.layer_weights else []),
                       "photo": hashlib.sha256(np.ascontiguousarray(photo).tobytes()).hexdigest(),
                       "shape": list(photo.shape)}, sort_keys=True)
    return hashlib.sha256(desc.encode()).hexdigest()[:32]


def gatys_cached(vgg, photo: np.ndarray, grams, lcfg, iters: list[int], key: str, folder: Path,
                 history: int = 50) -> tuple[dict[int, dict], bool]:
    """{iteration: {objective, parts, seconds}} for ``photo`` (H, W, 3) uint8; and whether it was cached.

    One continuous L-BFGS run per photo: a cache entry that lacks one of ``iters`` is redone to
    the largest count (a later mark cannot be reached from a stored image without its history).
    """
    from trainer.data import to_tensor
    from trainer.optimize import gatys

    path = folder / f"{key}.json"
    try:
        stored = {int(k): v for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError):
        stored = {}
    if all(i in stored for i in iters):
        return {i: stored[i] for i in iters}, True
    marks = sorted(set(iters) | set(stored))
    # contiguous: L-BFGS views the gradient flat, and to_tensor gives a permuted (strided) view
    result = gatys(vgg, to_tensor(photo[None]).contiguous(), grams, lcfg, iterations=marks, history_size=history)
    fresh = {s.iteration: {"objective": s.total, "parts": s.parts, "seconds": round(s.seconds, 2)}
             for s in result.snapshots}
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(fd, "w") as f:
        json.dump({str(k): v for k, v in sorted(fresh.items())}, f, indent=1)
    os.replace(tmp, path)
    return {i: fresh[i] for i in iters}, False


def iterations_to_match(curve: dict[int, float], target: float) -> float | None:
    """Gatys iterations at which its objective falls to ``target`` (linear between marks).

    0 when even the photo's first mark is already below; None when the last mark is still above.
    """
    marks = sorted(curve)
    if not marks:
        return None
    if curve[marks[0]] <= target:
        return float(marks[0]) if len(marks) == 1 else 0.0
    for a, b in zip(marks, marks[1:]):
        if curve[b] <= target:
            t = (curve[a] - target) / (curve[a] - curve[b])
            return a + t * (b - a)
    return None


def measure_style(info: ModelInfo, photos: np.ndarray, vgg, args, precision: str = "float") -> dict:
    """The net and Gatys on every photo: objectives, ratio to Gatys@100, gate."""
    from trainer.data import load_style, to_tensor
    from trainer.losses import style_targets
    from trainer.optimize import evaluate

    painting = find_style_image(info, args.style_image)
    lcfg = loss_config(info.train)
    ssize = style_size(info.train)
    grams = style_targets(vgg, load_style(painting, ssize), lcfg)
    style_sha = sha256_file(painting)
    engine = Engine(info, device="cpu", precision=precision)
    engine.warmup(photos.shape[1], photos.shape[2])
    label = info.name if precision == "float" else f"{info.name} ({precision})"
    tier = info.train.get("tier", "?")
    marks = sorted(set(args.iters) | set(args.curve))
    rows, net_seconds = [], []
    for i, photo in enumerate(photos):
        t0 = time.perf_counter()
        out = engine.run(photo)
        net_seconds.append(time.perf_counter() - t0)
        net, parts = evaluate(vgg, to_tensor(out[None]), to_tensor(photo[None]), grams, lcfg)
        key = gatys_key(style_sha, ssize, lcfg, photo, 50)
        g, cached = gatys_cached(vgg, photo, grams, lcfg, marks, key, args.cache)
        # iteration 0 of Gatys is the photo itself (the optimisation starts from it)
        photo_only, _ = evaluate(vgg, to_tensor(photo[None]), to_tensor(photo[None]), grams, lcfg)
        rows.append({"photo": i, "net": net, "net_parts": parts, "photo_objective": photo_only,
                     "gatys": {str(k): v for k, v in g.items()}, "gatys_cached": cached})
        print(f"  {label}: photo {i + 1}/{len(photos)} net {net:.3f}  "
              + "  ".join(f"G@{k} {g[k]['objective']:.3f}" for k in args.iters)
              + ("  (Gatys cached)" if cached else f"  (Gatys {max(v['seconds'] for v in g.values()):.0f} s)"),
              file=sys.stderr, flush=True)
    mean = statistics.mean
    curve = {k: mean([r["gatys"][str(k)]["objective"] for r in rows]) for k in marks}
    curve[0] = mean([r["photo_objective"] for r in rows])
    gatys_mean = {k: curve[k] for k in args.iters}
    net_mean = mean([r["net"] for r in rows])
    ratio = net_mean / gatys_mean[100] if 100 in gatys_mean else None
    gate = GATE.get(tier)
    matched = iterations_to_match(curve, net_mean)
    return {
        "name": label, "precision": precision, "model_path": str(info.path), "title": info.title, "tier": tier, "arch": info.arch,
        "path": str(engine.path),
        "style_image": painting.name, "style_size": ssize, "steps": info.train.get("steps"),
        "weights": {"content": lcfg.content_weight, "style": lcfg.style_weight, "tv": lcfg.tv_weight,
                    "content_layer": lcfg.content_layer, "style_layers": list(lcfg.style_layers)},
        "photos": len(photos), "size": int(photos.shape[1]),
        "net": net_mean, "photo": mean([r["photo_objective"] for r in rows]),
        "net_parts": {k: mean([r["net_parts"][k] for r in rows]) for k in rows[0]["net_parts"]},
        "gatys100_parts": ({k: mean([r["gatys"]["100"]["parts"][k] for r in rows]) for k in rows[0]["net_parts"]}
                           if 100 in args.iters else None),
        "gatys": {str(k): v for k, v in gatys_mean.items()},
        "curve": {str(k): curve[k] for k in sorted(curve)},  # Fig. 5: Gatys objective by iteration
        "gatys_seconds": {str(k): mean([r["gatys"][str(k)]["seconds"] for r in rows]) for k in args.iters},
        "net_seconds": statistics.median(net_seconds),
        "ratio_gatys100": ratio, "gate": gate,
        "passes": None if ratio is None or gate is None else ratio <= gate,
        "gatys_iterations_matched": matched, "per_photo": rows,
    }


def fast_vs_quality(results: list[dict]) -> list[dict]:
    """Paintings with both tiers: fast net / quality net under the same objective, or, when
    their recorded weights or style sizes differ, the ratio of their ratios to Gatys@100."""
    pairs, by = [], {}
    for r in results:
        by.setdefault(r["style_image"], {})[r["tier"]] = r
    for painting, tiers in sorted(by.items()):
        if "fast" not in tiers or "quality" not in tiers:
            continue
        f, q = tiers["fast"], tiers["quality"]
        same = (f["weights"], f["style_size"]) == (q["weights"], q["style_size"])
        if same:
            ratio = f["net"] / q["net"]
        elif f["ratio_gatys100"] is not None and q["ratio_gatys100"] is not None:
            ratio = f["ratio_gatys100"] / q["ratio_gatys100"]
        else:
            continue
        pairs.append({"style_image": painting, "fast": f["name"], "quality": q["name"], "ratio": ratio,
                      "how": "same objective" if same else "each against its own Gatys@100",
                      "target": FAST_OVER_QUALITY, "passes": ratio <= FAST_OVER_QUALITY})
    return pairs


def held_out_photos(size: int, count: int) -> np.ndarray:
    """(N, size, size, 3) uint8: the first ``count`` Set5 + Set14 centre crops (train_curve's)."""
    from train_curve import held_out
    from trainer.data import to_uint8

    return to_uint8(held_out(size)[:count])


def run_styles(args) -> dict:
    if not (DATA / "sr" / "Set5").is_dir():
        return {"skipped": f"no held-out photos in {DATA / 'sr'}"}
    try:
        import torch  # noqa: F401

        from trainer.vgg import load_vgg
    except ImportError as exc:
        return {"skipped": f"needs the trainer extra (pip install -e '.[train]'): {exc}"}
    models = style_models(args.styles)
    if not models:
        return {"skipped": "no style models in the catalog (stylecam/assets/ or the user folder)"}
    photos = held_out_photos(args.size, args.photos)
    vgg = load_vgg()
    print(f"style vs optimisation: {len(models)} model(s), {len(photos)} held-out crops of {args.size} px, "
          f"Gatys at {args.iters}, cache {args.cache}", file=sys.stderr, flush=True)
    results, problems = [], []
    for info in models:
        for precision in precisions(args.precision):
            try:
                results.append(measure_style(info, photos, vgg, args, precision))
            except StylecamError as exc:
                problems.append(str(exc))
                print(f"  skipped: {exc}", file=sys.stderr, flush=True)
    return {"size": args.size, "photos": len(photos), "iters": args.iters, "models": results,
            "fast_vs_quality": fast_vs_quality([r for r in results if r["precision"] == "float"]),
            "int8_vs_float": int8_vs_float(results), "problems": problems}


def precisions(choice: str) -> list[str]:
    return ["float", "int8"] if choice == "both" else [choice]


def int8_vs_float(results: list[dict]) -> list[dict]:
    """Each int8 variant's objective against its float model's, on the same photos."""
    flt = {r["model_path"]: r for r in results if r["precision"] == "float"}
    out = []
    for r in results:
        base = flt.get(r["model_path"]) if r["precision"] == "int8" else None
        if base:
            change = r["net"] / base["net"] - 1
            out.append({"name": base["name"], "float": base["net"], "int8": r["net"], "change": change,
                        "within_5pct": abs(change) <= 0.05})
    return out


# ---------------------------------------------------------------- the curve (Fig. 5)

PALETTE = ((66, 133, 244), (219, 68, 55), (15, 157, 88), (244, 160, 0), (171, 71, 188),
           (0, 172, 193), (255, 112, 67), (124, 179, 66), (92, 107, 192), (240, 98, 146))


def curve_plot(part: dict, width: int = 720, height: int = 420) -> np.ndarray:
    """Gatys objective against L-BFGS iterations (solid) and each net's objective (dashed), all
    divided by that style's Gatys@100, so every style fits one chart; gates as grey lines."""
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 56, 150, 20, 44
    models = [m for m in part["models"] if "100" in m["curve"]]
    if not models:
        return img
    xmax = max(int(k) for m in models for k in m["curve"])
    ys = [v / m["curve"]["100"] for m in models for v in list(m["curve"].values()) + [m["net"]]]
    ymax = min(max(ys) * 1.05, 8.0)  # the photo itself is far above: clip the axis, not the data
    sx = lambda it: left + (width - left - right) * it / xmax  # noqa: E731
    sy = lambda r: top + (height - top - bottom) * (1 - min(r, ymax) / ymax)  # noqa: E731
    grey, ink = (190, 190, 190), (40, 40, 40)
    for r, label in ((1.0, "1.0 quality gate"), (1.5, "1.5 fast gate")):
        y = int(sy(r))
        cv2.line(img, (left, y), (width - right, y), grey, 1)
        cv2.putText(img, label, (width - right + 4, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (120, 120, 120), 1, cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (width - right, height - bottom), ink, 1)
    for it in sorted({0, xmax} | {int(k) for k in models[0]["curve"]}):
        cv2.putText(img, str(it), (int(sx(it)) - 8, height - bottom + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.38, ink, 1, cv2.LINE_AA)
    for k in range(int(ymax) + 1):
        cv2.putText(img, f"{k}", (left - 18, int(sy(k)) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.38, ink, 1, cv2.LINE_AA)
    cv2.putText(img, "L-BFGS iterations (Gatys)", (left + 180, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, ink, 1, cv2.LINE_AA)
    cv2.putText(img, "objective / Gatys@100", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, ink, 1, cv2.LINE_AA)
    for i, m in enumerate(models):
        colour = PALETTE[i % len(PALETTE)][::-1]  # drawn in BGR, saved as RGB below
        ref = m["curve"]["100"]
        pts = np.array([(sx(int(k)), sy(v / ref)) for k, v in sorted(m["curve"].items(), key=lambda kv: int(kv[0]))],
                       np.int32)
        cv2.polylines(img, [pts], False, colour, 2, cv2.LINE_AA)
        y = int(sy(m["net"] / ref))
        for x in range(left, width - right, 12):
            cv2.line(img, (x, y), (min(x + 6, width - right), y), colour, 2)
        cv2.putText(img, f"{m['name']} ({m['tier']})", (width - right + 4, top + 14 + 16 * i),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    return img[:, :, ::-1].copy()


# ---------------------------------------------------------------- report

def _f(x, fmt=".3f") -> str:
    return "–" if x is None else format(x, fmt)


def style_table(part: dict) -> str:
    if "skipped" in part:
        return f"Style vs optimisation: skipped ({part['skipped']})."
    iters = part["iters"]
    head = (["model", "tier", "painting", "photo"] + ["net"] + [f"Gatys@{i}" for i in iters]
            + ["net / G@100", "gate", "passes", "≈ Gatys its", "net s", "G@100 s"])
    lines = [f"Style vs optimisation: objective (lower is better), mean of {part['photos']} held-out "
             f"{part['size']}-px crops (Set5/Set14); 'photo' = the unchanged photo's objective.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in part["models"]:
        matched = r["gatys_iterations_matched"]
        cells = [r["name"], r["tier"], r["style_image"], _f(r["photo"]), _f(r["net"])]
        cells += [_f(r["gatys"][str(i)]) for i in iters]
        cells += [_f(r["ratio_gatys100"], ".2f"), _f(r["gate"], ".2f"),
                  {True: "yes", False: "**no**", None: "–"}[r["passes"]],
                  f"> {max(iters)}" if matched is None else "0 (photo ≤ net)" if matched == 0 else f"{matched:.0f}",
                  _f(r["net_seconds"], ".3f"), _f(r["gatys_seconds"].get("100"), ".1f")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    for r in part["models"]:  # which term the net loses on
        parts = lambda d: ", ".join(f"{k} {v:.3f}" for k, v in d.items())  # noqa: E731
        lines.append(f"{r['name']}: net {parts(r['net_parts'])}"
                     + (f"; Gatys@100 {parts(r['gatys100_parts'])}" if r["gatys100_parts"] else ""))
    for p in part["fast_vs_quality"]:
        lines.append(f"{p['style_image']}: fast {p['fast']} / quality {p['quality']} = {p['ratio']:.2f} "
                     f"({p['how']}; target ≤ {p['target']}): {'yes' if p['passes'] else 'no'}")
    for p in part.get("int8_vs_float", []):
        lines.append(f"{p['name']}: int8 objective {p['int8']:.3f} vs float {p['float']:.3f} = {p['change']:+.1%} "
                     f"(target within 5%): {'yes' if p['within_5pct'] else 'no'}")
    for p in part["problems"]:
        lines.append(f"\nskipped: {p}")
    return "\n".join(lines)

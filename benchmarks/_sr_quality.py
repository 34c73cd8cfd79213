"""Part 2 of ``quality.py``: super-resolution on Set5 and Set14, the standard protocol.

HR cropped to a multiple of the scale, LR by MATLAB-style bicubic downscaling (antialiased,
``imresize``), PSNR and SSIM (Wang et al.: Gaussian window 11, sigma 1.5) on the BT.601 Y
channel with ``scale`` pixels shaved at the border; bridge.png is greyscale and goes in as
three equal channels. Baselines: MATLAB-style bicubic, OpenCV's bicubic (a = -0.75, not
MATLAB's -0.5), and the nearest-neighbour contract test model run through onnxruntime.
Also here: the markdown table (``sr_table``) with the paper's x4 rows.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from _style_quality import DATA, _f, precisions
from stylecam.engine import Engine
from stylecam.errors import StylecamError
from stylecam.frames import imresize, psnr
from stylecam.models import Catalog

# Johnson et al. 2016, Table 1 (x4), method -> set -> (PSNR, SSIM). Set5 as quoted from the
# paper; Set14 only to one decimal (bicubic ~26.0, SRCNN ~27.5, from issue 6), SSIM unknown (None).
PAPER_SR4 = {
    "bicubic": {"Set5": (28.43, 0.8114), "Set14": (26.0, None)},
    "SRCNN": {"Set5": (30.48, 0.8628), "Set14": (27.5, None)},
}
PAPER_NOTE = ("paper rows: Set5 from Johnson et al. Table 1; Set14 only approximately (one decimal, "
              "SSIM not known here)")
# What the MATLAB bicubic baseline is published at (x4), to check our protocol against.
PUBLISHED_BICUBIC4 = {"Set5": 28.43, "Set14": 26.0}


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of uint8 RGB (MATLAB's rgb2ycbcr): float in [16, 235]."""
    x = img.astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Mean SSIM of two grey images (Wang et al. 2004): Gaussian window 11, sigma 1.5, 'valid' region."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2

    def blur(x):  # the normalised Gaussian window; its 5-pixel rim is dropped below ('valid')
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(m.mean())


def sr_scores(sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """PSNR and SSIM on the Y channel with ``scale`` pixels shaved at each border."""
    ys, yh = rgb_to_y(sr), rgb_to_y(hr)
    s = slice(scale, -scale)
    return psnr(ys[s, s], yh[s, s]), ssim(ys[s, s], yh[s, s])


def read_hr(path: Path) -> tuple[np.ndarray, bool]:
    """(H, W, 3) uint8 RGB and whether the file is greyscale (then three equal channels)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise StylecamError(f"{path}: cannot read this picture")
    if img.dtype != np.uint8:
        img = (img / 257).round().astype(np.uint8)
    grey = img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1)
    if grey:
        img = img.reshape(img.shape[0], img.shape[1])
        return np.repeat(img[:, :, None], 3, axis=2), True
    return cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2RGB), False


def sr_sets(folder: Path = DATA / "sr", names=("Set5", "Set14")) -> dict[str, list[Path]]:
    return {n: sorted((folder / n).glob("*.png")) for n in names if (folder / n).is_dir()}


def nearest_model(scale: int, folder: Path) -> Path:
    """The contract test model that repeats pixels: a floor any trained model must clear."""
    from stylecam.testing import write_model

    return write_model(folder / f"nearest-x{scale}.onnx", op="nearest", kind="sr", scale=scale,
                       name=f"nearest-x{scale}", meta={"stylecam.title": "nearest (contract test model)"})


def measure_sr(sets: dict[str, list[Path]], scale: int, methods: dict) -> list[dict]:
    """Mean PSNR/SSIM per (method, set); ``methods`` maps a label to ``f(lr uint8) -> sr uint8``."""
    rows = []
    for set_name, files in sets.items():
        per = {label: [] for label in methods}
        for f in files:
            hr, grey = read_hr(f)
            h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
            hr = hr[:h, :w]
            lr = imresize(hr, 1.0 / scale)
            for label, fn in methods.items():
                out = fn(lr)
                if out.shape != hr.shape:
                    raise StylecamError(f"{label}: gave {out.shape[1]}x{out.shape[0]} for "
                                        f"{f.name}, expected {w}x{h}")
                p, s = sr_scores(out, hr, scale)
                per[label].append({"image": f.name, "grey": grey, "psnr": p, "ssim": s})
        for label, images in per.items():
            rows.append({"method": label, "set": set_name, "scale": scale, "images": len(images),
                         "psnr": statistics.mean(i["psnr"] for i in images),
                         "ssim": statistics.mean(i["ssim"] for i in images), "per_image": images})
    return rows


def run_sr(args) -> dict:
    sets = sr_sets(args.sr_data)
    if not sets:
        return {"skipped": f"no Set5/Set14 in {args.sr_data}"}
    if args.sr:
        models = [Catalog().resolve(n.strip(), kind="sr") for n in args.sr.split(",") if n.strip()]
    else:
        models = [m for m in Catalog().models() if m.kind == "sr"]
    scales = sorted({m.scale for m in models} | {4})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scale in scales:
            nearest = Engine(nearest_model(scale, Path(tmp)), device="cpu")
            methods = {
                "bicubic (MATLAB-style)": lambda lr, s=scale: imresize(lr, s),
                "bicubic (OpenCV)": lambda lr, s=scale: cv2.resize(lr, (lr.shape[1] * s, lr.shape[0] * s),
                                                                   interpolation=cv2.INTER_CUBIC),
                "nearest (contract test model)": nearest.run,
            }
            for m in models:
                for precision in precisions(args.precision) if m.scale == scale else []:
                    try:
                        engine = Engine(m, device="cpu", precision=precision)
                    except StylecamError as exc:
                        print(f"  skipped: {exc}", file=sys.stderr, flush=True)
                        continue
                    tag = "" if precision == "float" else f", {precision}"
                    methods[f"{m.name} ({m.train.get('loss', '?')} loss, {m.train.get('tier', '?')}{tag})"] = engine.run
            print(f"super-resolution x{scale}: {', '.join(methods)} on {', '.join(sets)}", file=sys.stderr, flush=True)
            rows += measure_sr(sets, scale, methods)
    check = {}
    for r in rows:
        if r["method"] == "bicubic (MATLAB-style)" and r["scale"] == 4 and r["set"] in PUBLISHED_BICUBIC4:
            check[r["set"]] = {"ours": r["psnr"], "published": PUBLISHED_BICUBIC4[r["set"]],
                               "difference": r["psnr"] - PUBLISHED_BICUBIC4[r["set"]]}
    return {"rows": rows, "bicubic_check": check, "paper_x4": PAPER_SR4,
            "models": [str(m.path) for m in models],
            "note": "" if models else "no super-resolution model in the catalog yet: baselines only"}


def sr_table(part: dict) -> str:
    if "skipped" in part:
        return f"Super-resolution: skipped ({part['skipped']})."
    lines = []
    for scale in sorted({r["scale"] for r in part["rows"]}):
        rows = [r for r in part["rows"] if r["scale"] == scale]
        sets = list(dict.fromkeys(r["set"] for r in rows))
        head = ["method"] + [f"{s} PSNR / SSIM" for s in sets]
        lines += [f"Super-resolution ×{scale}: Y channel (BT.601), {scale} px shaved, LR by MATLAB-style "
                  "bicubic", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for method in dict.fromkeys(r["method"] for r in rows):
            cells = [method]
            for s in sets:
                r = next((r for r in rows if r["method"] == method and r["set"] == s), None)
                cells.append("–" if r is None else f"{r['psnr']:.2f} / {r['ssim']:.4f}")
            lines.append("| " + " | ".join(cells) + " |")
        if scale == 4:
            for method, per_set in PAPER_SR4.items():
                cells = [f"paper: {method}"]
                for s in sets:
                    v = per_set.get(s)
                    cells.append("–" if v is None else f"{v[0]:.2f} / {_f(v[1], '.4f')}")
                lines.append("| " + " | ".join(cells) + " |")
            lines += ["", PAPER_NOTE]
        lines.append("")
    for s, c in part["bicubic_check"].items():
        lines.append(f"check: our MATLAB-style bicubic ×4 on {s} = {c['ours']:.2f} dB, published "
                     f"{c['published']:.2f} dB ({c['difference']:+.2f})")
    if part["note"]:
        lines.append(part["note"])
    return "\n".join(lines)

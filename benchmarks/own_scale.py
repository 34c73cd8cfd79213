"""The style term at the picture's own scale (issue 13): how much nearer its painting a style's
output is than the photo, with the marks and the painting at the same pixel scale.

    nice -n 5 python benchmarks/own_scale.py --threads 1 --json benchmarks/results/own_scale_s13.json
    python benchmarks/own_scale.py --styles udnie --models runs/x/udnie.onnx --photos 2
    python benchmarks/own_scale.py --styles udnie --painting-px 512 --no-reference   # another scale

The objective ÷ Gatys@100 (``quality.py``) judges 256-px crops of held-out photos. There
pytorch/examples' published udnie on amber.jpg scores *worse* than the untouched photo, though a
person sees udnie in it and not in ours: the crop shrinks its marks 4x, while its net painted them
at the scale of its style image (512 px). Here every photo runs at its own size (amber.jpg
1080x1080, the Set14 colour photos as they are), and the weighted Gram term (the model's own
weights and layers, ``trainer.losses.style_loss``) of the output and of the photo are taken
against the painting at the long side the model was trained with. ``ratio`` = output ÷ photo:
below 1 the picture is nearer the painting than the photo is; per layer too.

The pytorch/examples row: ``../shared/data/reference/amber-udnie.jpg`` judged with the udnie
model's weights against the same painting at 512 px, its style image's size (pytorch/examples'
``images/style-images/udnie.jpg`` is 512x512). Needs the train extra and ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import quality as Q  # noqa: E402
from peer_sheet import photo_paths, read_rgb  # noqa: E402

REFERENCE = Q.DATA / "reference" / "amber-udnie.jpg"
REFERENCE_STYLE_SIZE = 512  # pytorch/examples' udnie.jpg, 512x512
REFERENCE_NAME = "pytorch/examples udnie (amber.jpg only)"


def layer_terms(vgg, picture: np.ndarray, grams: dict, lcfg) -> dict[str, float]:
    """{style layer: weighted Gram term} of one RGB uint8 picture (weights as the model's loss)."""
    import torch

    from trainer.data import to_tensor
    from trainer.losses import style_loss

    weights = lcfg.layer_weight_map() or {}
    with torch.no_grad():
        feats = vgg(to_tensor(picture[None]), lcfg.style_layers)
        return {l: lcfg.style_weight * float(style_loss(feats, {l: grams[l]}, {l: weights.get(l, 1.0)}))
                for l in lcfg.style_layers}


def judge(vgg, name: str, pairs: list[tuple[np.ndarray, np.ndarray]], painting: Path, size: int, lcfg) -> dict:
    """Style term of each (photo, output) pair against the painting at ``size`` px: ratios and parts."""
    from trainer.data import load_style
    from trainer.losses import style_targets

    grams = style_targets(vgg, load_style(painting, size), lcfg)
    rows = []
    for photo, out in pairs:
        p, o = layer_terms(vgg, photo, grams, lcfg), layer_terms(vgg, out, grams, lcfg)
        rows.append({"photo": sum(p.values()), "output": sum(o.values()),
                     "layers": {l: o[l] / p[l] for l in p}})
    ratios = [r["output"] / r["photo"] for r in rows]
    layers = {l: statistics.median(r["layers"][l] for r in rows) for l in lcfg.style_layers}
    print(f"  {name}: painting {size} px, ratio {statistics.median(ratios):.3f} "
          f"({', '.join(f'{x:.2f}' for x in ratios)})", file=sys.stderr, flush=True)
    return {"name": name, "painting": painting.name, "painting_px": size, "photos": len(rows),
            "ratio": statistics.median(ratios), "ratios": ratios, "layers": layers, "per_photo": rows}


def table(results: list[dict]) -> str:
    layers = list(results[0]["layers"]) if results else []
    head = "| model | painting px | photos | output ÷ photo (median) | " + " | ".join(layers) + " |"
    lines = [head, "|" + "---|" * 3 + "---:|" * (1 + len(layers))]
    for r in results:
        lines.append(f"| {r['name']} | {r['painting_px']} | {r['photos']} | **{r['ratio']:.3f}** | "
                     + " | ".join(f"{r['layers'][l]:.3f}" for l in layers) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--styles", default="", help="style names or model paths, comma-separated (default: every style)")
    ap.add_argument("--models", default="", help="more model files, comma-separated, judged like --styles")
    ap.add_argument("--photos", type=int, default=4, help="amber.jpg and Set14 colour photos: the first N")
    ap.add_argument("--painting-px", type=int, default=0,
                    help="judge against the painting at this long side (default: each model's own)")
    ap.add_argument("--no-reference", action="store_true", help="leave out pytorch/examples' udnie on amber.jpg")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)

    import torch

    from stylecam.engine import Engine
    from trainer.vgg import load_vgg

    torch.set_num_threads(args.threads)
    vgg = load_vgg()
    paths = photo_paths(args.photos)
    photos = [read_rgb(p) for p in paths]
    names = ",".join(x for x in (args.styles, args.models) if x) or None
    results = []
    for info in Q.style_models(names):
        lcfg, size = Q.loss_config(info.train), args.painting_px or Q.style_size(info.train)
        painting = Q.find_style_image(info)
        engine = Engine(info, device="cpu", threads=args.threads, precision="float")
        pairs = [(p, engine.run(p)) for p in photos]
        results.append(judge(vgg, f"{info.name} ({Path(info.path).name})", pairs, painting, size, lcfg))
        if info.name == "udnie" and not args.no_reference and REFERENCE.is_file() and paths[0].name == "amber.jpg":
            if not any(r["name"] == REFERENCE_NAME for r in results):  # once, for the first udnie model
                results.append(judge(vgg, REFERENCE_NAME, [(photos[0], read_rgb(REFERENCE))],
                                     painting, REFERENCE_STYLE_SIZE, lcfg))
            results.append(judge(vgg, f"udnie ({Path(info.path).name}), amber.jpg only, painting at 512",
                                 [(photos[0], pairs[0][1])], painting, REFERENCE_STYLE_SIZE, lcfg))
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"photos": [p.name for p in paths], "models": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

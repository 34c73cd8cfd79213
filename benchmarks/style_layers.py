"""Where a style net falls short of Gatys: the style term layer by layer, net vs Gatys@100.

    python benchmarks/style_layers.py [--styles wave,starry_night] [--size 128] [--photos 2]
                                      [--iters 100] [--threads 1] [--json FILE]

For each style model: on the held-out crops of ``quality.py`` (Set5/Set14), the weighted
style loss ‖G(ŷ) − G(y_s)‖² at each VGG layer (relu1_2: full resolution, relu2_2: 1/2,
relu3_3: 1/4, relu4_3: 1/8) for the unchanged photo, the net's output (float model) and
Gatys's L-BFGS result after ``--iters`` iterations of the same objective, and net ÷ Gatys
per layer: the layer with the largest ratio is the scale of texture the net cannot make.
Needs the trainer extra (torch) and ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import quality as Q  # noqa: E402


def per_layer(vgg, image, grams, cfg) -> dict[str, float]:
    import torch

    from trainer.losses import gram

    with torch.no_grad():
        feats = vgg(image.clamp(0, 1), tuple(cfg.style_layers))
    return {layer: cfg.style_weight * (gram(feats[layer]) - grams[layer]).pow(2).sum().item()
            for layer in cfg.style_layers}


def measure(info, photos, vgg, iters: int) -> dict:
    from stylecam.engine import Engine
    from trainer.data import load_style, to_tensor
    from trainer.losses import style_targets
    from trainer.optimize import gatys

    cfg = Q.loss_config(info.train)
    grams = style_targets(vgg, load_style(Q.find_style_image(info), Q.style_size(info.train)), cfg)
    engine = Engine(info, device="cpu", precision="float")
    sums = {"photo": {}, "net": {}, "gatys": {}}
    for p in photos:
        x = to_tensor(p[None]).contiguous()
        images = {"photo": x, "net": to_tensor(engine.run(p)[None]),
                  "gatys": gatys(vgg, x, grams, cfg, iterations=(iters,)).image}
        for who, img in images.items():
            for layer, v in per_layer(vgg, img, grams, cfg).items():
                sums[who][layer] = sums[who].get(layer, 0.0) + v / len(photos)
    ratio = {layer: sums["net"][layer] / sums["gatys"][layer] for layer in cfg.style_layers}
    return {"name": info.name, "style_weight": cfg.style_weight, "iters": iters, **sums, "net_over_gatys": ratio,
            "worst_layer": max(ratio, key=ratio.get)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--styles", default="wave,starry_night", help="style models (names or .onnx paths)")
    p.add_argument("--size", type=int, default=128, help="side of the held-out crops (quality.py --quick: 128)")
    p.add_argument("--photos", type=int, default=2)
    p.add_argument("--iters", type=int, default=100, help="Gatys L-BFGS iterations")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    import torch

    from stylecam.models import Catalog
    from trainer.vgg import load_vgg

    torch.set_num_threads(args.threads)
    vgg = load_vgg()
    photos = Q.held_out_photos(args.size, args.photos)
    rows = [measure(Catalog().resolve(n.strip(), kind="style"), photos, vgg, args.iters)
            for n in args.styles.split(",") if n.strip()]
    layers = list(rows[0]["net"]) if rows else []
    print(f"Weighted style loss per VGG layer, mean of {len(photos)} held-out {args.size}-px crops; "
          f"Gatys after {args.iters} L-BFGS iterations of the same objective\n")
    print("| model | | " + " | ".join(layers) + " |\n|---|---|" + "---:|" * len(layers))
    for r in rows:
        for who in ("photo", "net", "gatys"):
            print(f"| {r['name']} | {who} | " + " | ".join(f"{r[who][k]:.3f}" for k in layers) + " |")
        print(f"| {r['name']} | **net ÷ Gatys** | " + " | ".join(f"**{r['net_over_gatys'][k]:.1f}×**" for k in layers)
              + " |")
    if args.json:
        args.json.write_text(json.dumps({"size": args.size, "photos": len(photos), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

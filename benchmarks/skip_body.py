"""What a fast style net's body paints, apart from the input skip (issue 13's "faint print").

    python benchmarks/skip_body.py [--models udnie,wave] [--photo PATH] [--out FILE]

The fast nets with ``skip`` (v2, v3) hand the input frame, pixel-unshuffled, to their last
conv beside the body's features. This loads each model's weights back into the PyTorch net
(``trainer.checkpoint._model_state``), runs it on the photo, then zeroes the last conv's
weights on the 12 skip channels and runs it again: what is left is what the body paints.
Prints the norms of the two weight groups and writes photo | model | body only per model.
Needs the train extra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_PHOTO = ROOT.parent / "shared" / "data" / "reference" / "amber.jpg"


def body_only(model: Path, photo: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """(model output, output with the skip weights zeroed, weight norms) for an RGB photo."""
    import onnx
    import torch

    from stylecam.models import check_model
    from trainer.checkpoint import _model_state
    from trainer.nets import FAST_PRESETS, FastStyleNet, NetConfig, arch_name

    arch = check_model(model).arch
    version = next((v for v in FAST_PRESETS if arch_name(NetConfig(fast=v)) == arch), None)
    if version is None or not FAST_PRESETS[version].skip:
        raise SystemExit(f"{model.name}: {arch} is not a fast net with an input skip")
    net = FastStyleNet(FAST_PRESETS[version]).eval()
    net.load_state_dict({k: torch.as_tensor(v).float() for k, v in _model_state(onnx.load(str(model))).items()},
                        strict=False)
    x = torch.from_numpy(np.ascontiguousarray(photo)).permute(2, 0, 1)[None].float() / 255
    width = FAST_PRESETS[version].widths[0]
    with torch.no_grad():
        full = net(x)
        w = net.last.weight
        norms = {"body": round(w[:, :width].norm().item(), 3), "skip": round(w[:, width:].norm().item(), 3)}
        w[:, width:] = 0
        body = net(x)
    as_img = lambda t: (t.clamp(0, 1)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return as_img(full), as_img(body), norms


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="udnie,wave")
    p.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    p.add_argument("--size", type=int, default=360, help="the photo's long side (a multiple of 8)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "skip_body.jpg")
    args = p.parse_args()
    from stylecam.models import Catalog

    img = cv2.imread(str(args.photo))[..., ::-1]
    h, w = img.shape[:2]
    k = args.size / max(h, w)
    img = cv2.resize(img, (round(w * k) // 8 * 8, round(h * k) // 8 * 8), interpolation=cv2.INTER_AREA)
    rows = []
    for name in args.models.split(","):
        info = Catalog().resolve(name, kind="style")
        full, body, norms = body_only(Path(info.path), img)
        print(f"{name}: last conv weight norm, body features {norms['body']}, input skip {norms['skip']}; "
              f"mean brightness photo {img.mean():.0f}, model {full.mean():.0f}, body only {body.mean():.0f}")
        rows.append(np.concatenate([img, full, body], axis=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), np.concatenate(rows, axis=0)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.out} (per row: photo | model | body only, the skip weights zeroed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

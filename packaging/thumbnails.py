"""Make each built-in style's dropdown icon: ``stylecam/assets/NAME.png``, its painting at 48 px.

    python packaging/thumbnails.py            # every style in stylecam/assets/manifest.json
    python packaging/thumbnails.py --size 48 wave scream

The painting is the one the manifest says the model was trained on (``style_image``, a path
relative to the project root, e.g. ../shared/data/styles/wave.jpg), centre-cropped to a
square and shrunk with area averaging. The catalog shows ``NAME.png`` beside ``NAME.onnx`` as
the model's icon (``ModelInfo.icon``), so a user model can have one too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "stylecam" / "assets"


def thumbnail(image_bgr: np.ndarray, size: int) -> np.ndarray:
    """The centre square of ``image_bgr``, ``size`` × ``size``."""
    h, w = image_bgr.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image_bgr[top:top + side, left:left + side]
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="styles to make (default: every style in the manifest)")
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--assets", type=Path, default=ASSETS)
    args = p.parse_args(argv)
    entries = json.loads((args.assets / "manifest.json").read_text())["models"]
    made = 0
    for entry in entries.values():
        name, painting = entry.get("name"), entry.get("style_image")
        if not painting or (args.names and name not in args.names):
            continue
        image = cv2.imread(str((ROOT / painting).resolve()))
        if image is None:
            print(f"thumbnails: {name}: cannot read {painting}", file=sys.stderr)
            return 2
        out = args.assets / f"{name}.png"
        cv2.imwrite(str(out), thumbnail(image, args.size), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {out.stat().st_size} bytes")
        made += 1
    return 0 if made else 2


if __name__ == "__main__":
    sys.exit(main())

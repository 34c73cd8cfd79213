"""Which x264 preset and CRF stylecam-render should use: file size against encode cost.

    python benchmarks/encode_choice.py [--clip VIDEO] [--style NAME] [--frames N] [--json OUT]

1. ``stylecam-render CLIP --style NAME --max-side 640 --crf 0`` once: what the render's
   encoder really gets (stylized frames at the clip's size), kept losslessly;
2. its first N frames are encoded again with ``VideoWriter`` (as the render does) at every
   preset x CRF below, timing the CPU seconds the encoder takes (process time, which counts
   x264's own threads: on a busy machine that is what it takes away from the model) and
   measuring the file's bit rate and its PSNR against the lossless frames.

Prints one row per setting and, with --json, writes them all.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from stylecam.frames import psnr  # noqa: E402
from stylecam.videoio import VideoWriter  # noqa: E402

SHARED_CLIP = HERE.parent.parent / "shared" / "data" / "video" / "butterfly.mp4"
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "medium")
CRFS = (18, 20, 23)


def stylized_frames(clip: Path, style: str, frames: int, work: Path) -> tuple[list[np.ndarray], float]:
    lossless = work / "lossless.mkv"
    subprocess.run([sys.executable, "-m", "stylecam.render", str(clip), "--style", style, "--max-side", "640",
                    "--crf", "0", "-o", str(lossless)], check=True, capture_output=True)
    out = []
    with av.open(str(lossless)) as c:
        s = c.streams.video[0]
        rate = float(s.average_rate)
        for f in c.decode(s):
            out.append(f.to_ndarray(format="rgb24"))
            if len(out) == frames:
                break
    return out, rate


def encode(frames: list[np.ndarray], rate: float, preset: str, crf: int, path: Path) -> dict:
    h, w = frames[0].shape[:2]
    cpu, wall = time.process_time(), time.perf_counter()
    with VideoWriter(path, w, h, rate, preset=preset, crf=crf, crash_safe=False) as vw:
        for f in frames:
            vw.write(f)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    with av.open(str(path)) as c:
        got = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return {"preset": preset, "crf": crf, "cpu_ms_per_frame": round(cpu / len(frames) * 1e3, 1),
            "wall_ms_per_frame": round(wall / len(frames) * 1e3, 1),
            "mbit_s": round(path.stat().st_size * 8 / 1e6 / (len(frames) / rate), 2),
            "psnr_db": round(float(np.mean([psnr(a, b) for a, b in zip(got, frames)])), 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clip", default=str(SHARED_CLIP))
    p.add_argument("--style", default="wave")
    p.add_argument("--frames", type=int, default=90)
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        frames, rate = stylized_frames(Path(args.clip), args.style, args.frames, work)
        src_mbit = Path(args.clip).stat().st_size * 8 / 1e6 / _seconds(Path(args.clip))
        print(f"{args.clip}: {frames[0].shape[1]}x{frames[0].shape[0]}, {src_mbit:.2f} Mbit/s in; "
              f"{len(frames)} stylized frames ({args.style}) re-encoded:")
        rows = []
        for preset in PRESETS:
            for crf in CRFS:
                row = encode(frames, rate, preset, crf, work / f"{preset}-{crf}.mp4")
                row["x_input"] = round(row["mbit_s"] / src_mbit, 2)
                rows.append(row)
                print(f"  {preset:9s} crf {crf}: {row['cpu_ms_per_frame']:6.1f} cpu-ms/frame "
                      f"({row['wall_ms_per_frame']:5.1f} wall), {row['mbit_s']:5.2f} Mbit/s "
                      f"({row['x_input']:.2f}x the input), {row['psnr_db']:.2f} dB", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"clip": args.clip, "style": args.style, "frames": len(frames),
                                               "input_mbit_s": round(src_mbit, 2), "rows": rows}, indent=1))
    return 0


def _seconds(path: Path) -> float:
    with av.open(str(path)) as c:
        return c.duration / 1e6


if __name__ == "__main__":
    sys.exit(main())

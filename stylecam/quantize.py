"""Int8 variants of stylecam models: onnxruntime static quantisation, calibrated on photos.

A CPU with AVX-512 VNNI (or AVX2) multiplies uint8 by int8 faster than float32 (the fast
styles: 1.35-1.40x at 640x480 here, benchmarks/RESULTS.md section 1), and a style net keeps
its picture in 8 bits. ``quantize_model`` writes the
int8 *variant* of a model: ``<stem>.int8.onnx`` beside ``<stem>.onnx``, the same contract
and metadata plus ``stylecam.precision`` = ``int8``, ``stylecam.variant_of`` (the float
file's sha256) and ``stylecam.int8`` (its PSNR to the float picture). The catalog attaches it to its float
model (``ModelInfo.int8_path``) and the engine runs it on the CPU by default.

The recipe, chosen by measurement (benchmarks/RESULTS.md, section 1): QDQ format, every operator
onnxruntime can quantise (convs, adds, resizes, concats), uint8 activations and per-channel
int8 conv weights (the U8S8 kernels), min-max ranges from the calibration frames (the
99.99th percentile where min-max falls short of ``MIN_PSNR``), the convs before each instance
norm centred and scaled per channel first (``stylecam.norm_equalize``: the float picture is the
same, and 8 bits no longer round a quiet channel away), and the
network's *last* conv left in float32: its output is the picture (on the wave: 37.1 dB to
the float picture with it in float, 36.3 dB without; convs alone: 27.4 dB). A variant whose output is further than ``MIN_PSNR`` from the
float model's on held-out frames is refused rather than written.

``stylecam-quantize MODEL... [--photos DIR|VIDEO]`` makes variants by hand; ``stylecam-train``
makes one for each model it exports.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .cli import ArgumentParser, run_cli
from .errors import InputError, ModelError, UsageError
from .frames import cover_crop, psnr
from .models import Catalog, check_model, sha256_file, variant_path
from . import norm_equalize
from . import fidelity
from .qdq import uint8_pads

MIN_PSNR = 30.0  # dB, int8 output against the float model's output, on held-out frames
CALIB_SIZE = (480, 640)  # (height, width) of calibration frames: the live default size
# activation ranges: min-max first; where its picture falls short, the 99.99th percentile
# (outliers no longer stretch the 256 steps: starry_night 28.7 -> 29.9 dB, RESULTS section 16)
CALIBRATIONS = (("MinMax", {}), ("Percentile", {"CalibPercentile": 99.99}))
# then each again with the first instance norm and the conv it reads in float too, where the
# others fall short of the app's own check (starry_night's worst crop 28.4 -> 30.4 dB, RESULTS
# section 18); the first recipe that passes is kept
EQUALIZE_FRAMES = 8  # calibration frames that measure the channels before instance norm
PHOTO_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


# ----------------------------------------------------------------------------- frames

def _even(items: list, count: int) -> list:
    if len(items) <= count:
        return items
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)] if count > 1 else items[:1]


def _crops(img: np.ndarray, count: int, height: int, width: int) -> list[np.ndarray]:
    """``count`` frames of ``height`` x ``width`` cut from one picture at sizes and places
    spread over it (the whole picture first, then ever closer windows)."""
    h, w = img.shape[:2]
    out = []
    for i in range(count):
        k = 1.0 - 0.6 * i / max(1, count - 1)  # window side: 100% .. 40% of the picture
        wh, ww = max(2, int(h * k)), max(2, int(w * k))
        y = (h - wh) * ((i * 7) % count) // max(1, count - 1)
        x = (w - ww) * ((i * 11) % count) // max(1, count - 1)
        out.append(cover_crop(np.ascontiguousarray(img[y:y + wh, x:x + ww]), height, width))
    return out


def calibration_frames(source: str | os.PathLike | None, count: int = 24,
                       size: tuple[int, int] = CALIB_SIZE) -> tuple[list[np.ndarray], str]:
    """(RGB uint8 frames, where they came from): photos of a folder (searched recursively,
    taken evenly), frames of a video (taken evenly), or synthetic frames when ``source`` is None.
    """
    import cv2

    height, width = size
    if source is None:
        from .testing import moving_frame

        return [moving_frame(i * 7, height, width) for i in range(count)], f"{count} synthetic frames"
    src = Path(source)
    if src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.suffix.lower() in PHOTO_EXTS)
        frames = []
        for f in _even(files, count * 2):  # extra candidates: some files may not decode
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is not None:
                frames.append(cover_crop(img[:, :, ::-1], height, width))
            if len(frames) == count:
                break
        if not frames:
            raise InputError(f"{src}: no readable photos to calibrate with")
        return frames, f"{len(frames)} photos of {src}"
    if src.is_file() and src.suffix.lower() in PHOTO_EXTS:  # one picture: crops across it
        img = cv2.imread(str(src), cv2.IMREAD_COLOR)
        if img is None:
            raise InputError(f"{src}: cannot read this picture")
        return _crops(img[:, :, ::-1], count, height, width), f"{count} crops of {src}"
    if src.is_file():
        cap = cv2.VideoCapture(str(src))
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        frames = []
        for i in _even(list(range(max(total, 1))), count):
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, img = cap.read()
            if ok:
                frames.append(cover_crop(img[:, :, ::-1], height, width))
        cap.release()
        if not frames:
            raise InputError(f"{src}: not a folder of photos or a readable video")
        return frames, f"{len(frames)} frames of {src}"
    raise InputError(f"{src}: no such folder or video")


# ----------------------------------------------------------------------------- quantisation

@dataclass
class QuantResult:
    path: Path
    psnr_db: float  # int8 vs float output, mean over the held-out frames
    calibrated_on: str


def _last_conv(model) -> str:
    """Name of the graph's last Conv (ONNX graphs are stored in topological order); unnamed
    nodes get names first, since the quantiser excludes nodes by name."""
    used = {n.name for n in model.graph.node}
    for i, n in enumerate(model.graph.node):
        if not n.name:
            n.name = next(f"{n.op_type}_{i}_{k}" for k in range(len(used) + 1) if f"{n.op_type}_{i}_{k}" not in used)
            used.add(n.name)
    convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
    if not convs:
        raise ModelError("no convolution to quantise in this model")
    return convs[-1]


def _norm_entry(model) -> list[str]:
    """Names of the graph's first instance norm and the conv it reads (none if there is no such
    pair): the downsampling conv into a style net's body, where the quietest channels are.
    Both stay float so the tensor between them is never rounded to 8 bits."""
    made_by = {o: n for n in model.graph.node for o in n.output}
    for n in model.graph.node:
        if n.op_type == "InstanceNormalization":
            conv = made_by.get(n.input[0])
            return [conv.name, n.name] if conv is not None and conv.op_type == "Conv" else []
    return []


@contextlib.contextmanager
def _quiet_logging():
    """onnxruntime.quantization warns on the root logger (e.g. per-channel on a norm's scale) and
    its histogram calibrators print their progress to stdout (a CLI's stdout stays clean)."""
    logging.disable(logging.WARNING)
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            yield
    finally:
        logging.disable(logging.NOTSET)


def _session(path: Path, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def quantize_model(src: str | os.PathLike, frames: list[np.ndarray], dst: str | os.PathLike | None = None,
                   held_out: int | None = None, min_psnr: float = MIN_PSNR, threads: int = 2,
                   calibrated_on: str = "", reduce_range: bool = True, equalize: bool = True,
                   entry_float: bool = True) -> QuantResult:
    """Write the int8 variant of the model ``src`` (default ``variant_path(src)``), atomically.

    ``reduce_range``: 7-bit weights, so the AVX2 U8S8 kernels (no VNNI) cannot saturate their
    16-bit sums and the variant keeps its picture on every x86 CPU (RESULTS section 8).
    ``equalize``: centre and scale the channels of each conv before an instance norm first
    (``stylecam.norm_equalize``: the same float picture, and the int8 one keeps them).
    ``entry_float``: as a last resort, keep the first instance norm and its conv in float.

    ``frames``: RGB uint8 frames; the last ``held_out`` of them (default a quarter, at least
    one) only judge the result: mean PSNR of the int8 output against the float output.
    Raises ``ModelError`` when that is below ``min_psnr`` (nothing is written then). A variant
    must also pass the app's own check here (``stylecam.fidelity``) for a recipe to end the
    search (``RECIPES``); where none does, the best by held-out PSNR is written and the app
    decides on each machine.
    """
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src = Path(src)
    info = check_model(src)
    if info.precision != "float":
        raise ModelError(f"{src}: already an {info.precision} model")
    dst = Path(dst) if dst is not None else variant_path(src)
    if len(frames) < 2:
        raise UsageError("quantisation needs at least 2 frames (calibration and a held-out check)")
    held_out = held_out or max(1, len(frames) // 4)
    calib, judge = frames[:-held_out], frames[-held_out:]

    class Reader(CalibrationDataReader):
        def __init__(self):  # a fresh reader per quantisation
            self.it = iter(calib)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"frame": x}

    if not dst.parent.is_dir():
        raise ModelError(f"cannot write {dst}: folder {dst.parent} does not exist")
    with tempfile.TemporaryDirectory(prefix="stylecam-quant-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        with warnings.catch_warnings(), _quiet_logging():
            warnings.simplefilter("ignore")
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            graph = onnx.load(str(pre))
            last = _last_conv(graph)
            entry = _norm_entry(graph)
            equalized = 0
            if equalize:
                graph, equalized = norm_equalize.equalize(graph, calib[:EQUALIZE_FRAMES], threads)
            onnx.save(graph, str(pre))
        fsess = _session(src, threads)
        want = [fsess.run(["image"], {"frame": f})[0] for f in judge]
        tried = []
        recipes = [(m, o, False) for m, o in CALIBRATIONS] + [(m, o, True) for m, o in CALIBRATIONS if entry_float]
        for method, options, entry_float in recipes:  # the next only when the one before falls short
            if entry_float and not entry:
                continue
            q = Path(tmp) / f"q-{len(tried)}.onnx"
            with warnings.catch_warnings(), _quiet_logging():
                warnings.simplefilter("ignore")
                quantize_static(str(pre), str(q), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                                nodes_to_exclude=[last] + (entry if entry_float else []),
                                reduce_range=reduce_range,
                                calibrate_method=getattr(CalibrationMethod, method), extra_options=options)
                model = onnx.load(str(q))
                if uint8_pads(model):  # reflection pads on the uint8 tensors: same values, less work
                    onnx.save(model, str(q))
            qsess = _session(q, threads)
            score = float(np.mean([psnr(qsess.run(["image"], {"frame": f})[0], w) for f, w in zip(judge, want)]))
            tried.append((score, method.lower(), [last] + (entry if entry_float else []), model))
            if score >= min_psnr and fidelity.passes(*fidelity.compare(fsess, qsess, info.scale)):
                break
        else:  # none passed both: the best by held-out PSNR (the app checks it where it runs)
            tried.sort(key=lambda t: t[0])
        score, method, float_nodes, model = tried[-1]
        if score < min_psnr:
            raise ModelError(f"{src.name}: int8 changes the picture too much ({score:.1f} dB against the float "
                             f"model, need {min_psnr:.0f}); no variant written")
        keep = [(p.key, p.value) for p in model.metadata_props if p.key.startswith("stylecam.")]
        del model.metadata_props[:]
        for k, v in keep + [("stylecam.precision", "int8"), ("stylecam.variant_of", sha256_file(src)),
                            ("stylecam.int8", json.dumps({"psnr_db": round(score, 2), "held_out": len(judge),
                                                          "calibrated_on": calibrated_on,
                                                          "ranges": method,
                                                          "equalized_convs": equalized,
                                                          "float_nodes": float_nodes}))]:
            model.metadata_props.add(key=k, value=v)
        model.producer_name = "stylecam-quantize"
        onnx.save(model, str(q))
        check_model(q)
        part = dst.with_name(f".{dst.name}.{os.getpid()}.part")
        try:
            with open(q, "rb") as fin, open(part, "wb") as fout:  # umask mode, like any file
                fout.write(fin.read())
            os.replace(part, dst)
        finally:
            if part.exists():
                part.unlink()
    return QuantResult(dst, score, calibrated_on)


# ----------------------------------------------------------------------------- CLI

PROG = "stylecam-quantize"


def parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG,
        description="Write the int8 variant (<name>.int8.onnx, beside the model) that stylecam runs on the CPU "
                    "by default: faster, and refused if its picture strays from the float model's.")
    p.add_argument("models", nargs="+", metavar="MODEL", help="model name or .onnx path")
    p.add_argument("--photos", metavar="DIR|VIDEO", help="calibrate on these photos or video frames "
                   "(default: synthetic frames; real photos of what you will film calibrate better)")
    p.add_argument("--frames", type=int, default=24, metavar="N", help="calibration + check frames (default 24)")
    p.add_argument("--min-psnr", type=float, default=MIN_PSNR, metavar="DB",
                   help=f"refuse a variant further than this from the float picture (default {MIN_PSNR:.0f} dB)")
    return p


def _main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.frames < 2:
        raise UsageError(f"--frames must be at least 2, got {args.frames}")
    catalog = Catalog()
    infos = [catalog.resolve(name) for name in args.models]  # every name checked before any work
    frames, where = calibration_frames(args.photos, args.frames)
    for info in infos:
        res = quantize_model(info.path, frames, min_psnr=args.min_psnr, calibrated_on=where)
        print(f"{res.path}: int8, {res.psnr_db:.1f} dB from the float picture (calibrated on {where})", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``stylecam-quantize``."""
    return run_cli(_main, argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())

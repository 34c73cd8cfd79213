"""onnxruntime static int8 quantisation (QDQ, per-channel Conv weights) of a contract model.

Calibrated on content photos (``/work/shared/data/content`` when present, else synthetic
frames), judged on other photos by PSNR against the float model's own output.
"""

from __future__ import annotations

import glob
import warnings
from pathlib import Path

import numpy as np

SHARED_CONTENT = Path(__file__).resolve().parents[2] / "shared" / "data" / "content"


def photos(width: int = 640, height: int = 480, count: int = 24) -> tuple[list[np.ndarray], str]:
    """(frames, where they came from): real photos when the shared data is there."""
    import cv2

    files = sorted(glob.glob(str(SHARED_CONTENT / "*.jpg")))[:count]
    if files:
        return [np.ascontiguousarray(cv2.resize(cv2.imread(f), (width, height))[:, :, ::-1]) for f in files], \
            f"{len(files)} photos of {SHARED_CONTENT}"
    from stylecam.testing import moving_frame

    return [moving_frame(i * 7, height, width) for i in range(count)], f"{count} synthetic frames"


def quantize(src: Path, dst: Path, calib: list[np.ndarray]) -> Path:
    """Int8 QDQ copy of ``src``: Conv weights per channel int8, activations uint8."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.frames = iter(calib)

        def get_next(self):
            x = next(self.frames, None)
            return None if x is None else {"frame": x}

    pre = dst.with_suffix(".pre.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
    return dst


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)

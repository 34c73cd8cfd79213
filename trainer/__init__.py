"""stylecam's trainer (PyTorch): perceptual-loss style and super-resolution networks.

The only package that imports torch; the app (``stylecam``) reads what it exports, ONNX
files that keep the model contract of DESIGN.md. Entry point: ``stylecam-train``
(``trainer.cli``).
"""

import importlib.util
import sys

TRAIN_EXTRA = ("torch", "torchvision", "onnxscript")  # pyproject's [project.optional-dependencies] train


def missing_train_extra() -> list[str]:
    """The modules of the ``train`` extra that are not installed (found without importing them)."""
    return [m for m in TRAIN_EXTRA if importlib.util.find_spec(m) is None]


def main(argv=None) -> int:
    """``stylecam-train``: without the train extra, one line saying what to install (exit 2)."""
    missing = missing_train_extra()
    if missing:
        print(f"stylecam-train: training needs PyTorch, which is not installed here (missing: {', '.join(missing)}); "
              'install it with: pip install "stylecam[train]" (in a clone: pip install -e ".[train]"); '
              "note that PyPI's torch for Linux is a CUDA build of several GB "
              "(CPU only: pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu "
              "first, then the extra)", file=sys.stderr)
        return 2
    from .cli import main as train_main  # imports torch

    return train_main(argv)

"""stylecam's trainer (PyTorch): perceptual-loss style and super-resolution networks.

The only package that imports torch; the app (``stylecam``) reads what it exports, ONNX
files that keep the model contract of DESIGN.md. Entry point: ``stylecam-train``
(``trainer.cli``).
"""

"""stylecam: live style transfer and super-resolution on onnxruntime (no PyTorch)."""

__version__ = "0.1.0"

"""The stylecam window (PySide6). The only part of stylecam that imports Qt."""

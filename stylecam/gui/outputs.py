"""Recording, snapshots and the virtual camera: the window's outputs.

``OutputsMixin`` is part of ``MainWindow`` (it uses its buttons, ``pipeline``, ``record_dir``,
``snapshot_dir``, ``show_message`` and signals: PySide6 takes signals only from QObject classes).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2

from ..errors import StylecamError
from .vcam import VirtualCamSink


class OutputsMixin:
    """Record (Space), snapshot (S), virtual camera."""

    def start_recording(self, path: str | Path | None = None) -> None:
        if path is None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            path = self.record_dir / time.strftime("stylecam-%Y%m%d-%H%M%S.mkv")
        try:
            self.pipeline.start_recording(path)
        except StylecamError as exc:
            self.show_message(str(exc))
            self._set_record_button(False)
            return
        self._set_record_button(True)
        self.record_time.setText("● 00:00")
        self.show_message(f"recording to {path}")
        self.recordingStarted.emit(str(path))

    def stop_recording(self) -> None:
        self.pipeline.stop_recording()
        self._set_record_button(False)

    def _set_record_button(self, on: bool) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(on)
        self.record_button.setText("■ Stop" if on else "● Record")
        self.record_button.blockSignals(False)

    def _record_toggled(self, on: bool) -> None:
        if on:
            self.start_recording()
        else:
            self.stop_recording()

    def _recording_stopped(self, path: str, frames: int, error: str, skipped: int = 0) -> None:
        self.record_time.setText("")
        if self.pipeline.recorder is not None and str(self.pipeline.recorder.path) == path:
            self.pipeline.recorder = None  # it stopped by itself (disk full)
            self._set_record_button(False)
        note = f" ({skipped} skipped: the encoder fell behind)" if skipped else ""
        self.show_message(error or f"saved {frames} frames to {path}{note}")
        self.recordingStopped.emit(path, frames, error, skipped)

    def snapshot(self) -> None:
        """Save what the view shows as a PNG (written on a short-lived thread)."""
        image = self.view.image()
        if image is None:
            self.show_message("nothing to save yet")
            return
        path = self.snapshot_dir / time.strftime("stylecam-%Y%m%d-%H%M%S.png")
        n = 1
        while path.exists():
            n += 1
            path = path.with_name(time.strftime(f"stylecam-%Y%m%d-%H%M%S-{n}.png"))

        def save():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                ok = cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                text = str(path) if ok else ""
            except (OSError, cv2.error):
                text = ""
            self._snapshot_done.emit(text, str(path))

        threading.Thread(target=save, name="stylecam-snapshot", daemon=True).start()

    def _on_snapshot_done(self, saved: str, path: str) -> None:
        if saved:
            self.show_message(f"snapshot saved: {saved}")
            self.snapshotSaved.emit(saved)
        else:
            self.show_message(f"cannot write snapshot {path}")

    def _vcam_toggled(self, on: bool) -> None:
        if on:
            rate = float(self.pipeline.live.source.rate or 30) if self.pipeline.live.source else 30.0
            self.pipeline.add_sink("vcam", VirtualCamSink(rate, on_error=self.pipeline.error.emit))
        else:
            self.pipeline.remove_sink("vcam")

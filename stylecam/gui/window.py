"""The main window: live view, style dropdown, controls, recording, snapshots, stats.

Widgets only render and wire; the work happens in ``QtPipeline`` (capture, inference,
recording threads). The UI thread never decodes, runs a model, encodes or loads a session.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import platformdirs
from PySide6.QtCore import QByteArray, QFileSystemWatcher, QPointF, QRectF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget)

from ..errors import StylecamError
from ..live import Result
from ..models import Catalog, ModelInfo, user_dir
from ..sources import Source, open_source
from .pipeline import QtPipeline
from .vcam import VirtualCamSink, vcam_status

SIZES = [("240p", 240), ("360p", 360), ("480p", 480), ("720p", 720), ("Full", None)]
ORIGINAL = "Original"
STATUS_MS = 8000


def size_value(text: str | None) -> int | None:
    """'240', '240p' or 'full' → 240 / None."""
    text = (text or "full").strip().lower().rstrip("p")
    return None if text in ("full", "none", "") else int(text)


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    # QImage does not own the buffer: the caller keeps ``rgb`` alive as long as the image.
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)


class VideoView(QWidget):
    """Paints the newest frame, aspect kept, scaled to fit; optional split wipe."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.result: Result | None = None
        self.split = False
        self.wipe = 0.5  # where the split is, 0..1 of the picture's width
        self._images: tuple | None = None
        self.placeholder = "Starting…"

    def show_result(self, result: Result) -> None:
        self.result = result
        # keep the arrays referenced with their QImages (QImage borrows the buffer)
        self._images = (result.image, _qimage(result.image), result.original, _qimage(result.original))
        self.update()

    def image(self) -> np.ndarray | None:
        """What the view shows (the stylized picture), as RGB."""
        return None if self.result is None else self.result.image

    def picture_rect(self) -> QRectF:
        if self.result is None:
            return QRectF(self.rect())
        h, w = self.result.image.shape[:2]
        k = min(self.width() / w, self.height() / h)
        pw, ph = w * k, h * k
        return QRectF((self.width() - pw) / 2, (self.height() - ph) / 2, pw, ph)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(16, 16, 18))
        if self._images is None:
            p.setPen(QColor(200, 200, 200))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self.picture_rect()
        _, styled, _, original = self._images
        p.drawImage(target, styled)
        if self.split:
            x = target.left() + target.width() * self.wipe
            left = QRectF(target.left(), target.top(), x - target.left(), target.height())
            p.save()
            p.setClipRect(left)
            p.drawImage(target, original)
            p.restore()
            p.setPen(QPen(QColor(255, 255, 255, 220), 2))
            p.drawLine(QPointF(x, target.top()), QPointF(x, target.bottom()))
            p.setPen(QColor(255, 255, 255))
            p.drawText(QRectF(target.left() + 8, target.top() + 6, 200, 20), "Original")
            p.drawText(QRectF(x + 8, target.top() + 6, 200, 20), "Stylized")

    def _move_wipe(self, pos) -> None:
        r = self.picture_rect()
        if self.split and r.width() > 0:
            self.wipe = min(1.0, max(0.0, (pos.x() - r.left()) / r.width()))
            self.update()

    def mousePressEvent(self, event) -> None:
        self._move_wipe(event.position())

    def mouseMoveEvent(self, event) -> None:
        self._move_wipe(event.position())


class MainWindow(QMainWindow):
    """The stylecam window."""

    frameShown = Signal(object)  # the Result just handed to the view
    modelsChanged = Signal(list)  # names in the style dropdown, after a rescan
    snapshotSaved = Signal(str)
    recordingStarted = Signal(str)
    recordingStopped = Signal(str, int, str, int)  # path, frames, error, frames skipped
    message = Signal(str)  # every status-bar message, for tests and logs

    def __init__(self, source: Source | None = None, *, style: ModelInfo | None | str = "settings",
                 size: int | None | str = "settings", device: str = "auto",
                 threads: int | None = None, settings: QSettings | None = None, precision: str = "auto",
                 record_dir: str | Path | None = None, snapshot_dir: str | Path | None = None,
                 source_note: str = "", source_spec: str | None = None, retry_s: float = 3.0, poll_ms: int = 2000):
        super().__init__()
        self.setWindowTitle("stylecam")
        self.settings = settings if settings is not None else QSettings("stylecam", "stylecam")
        self.record_dir = Path(record_dir) if record_dir else platformdirs.user_videos_path()
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else platformdirs.user_pictures_path()
        self.catalog = Catalog()
        self._reported_problems: set[str] = set()
        self._active_path: str | None = None  # the model that really runs (None: Original)
        self._closing = False

        self.pipeline = QtPipeline(None, device=device, threads=threads, retry_s=retry_s, precision=precision,
                                   parent=self)
        self._build()
        self._restore(style, size)
        self._wire()
        self.pipeline.start()
        if source is not None:
            self.set_source(source, source_note, spec=source_spec)
        self._stats_timer = QTimer(self, interval=500, timeout=self._tick)
        self._stats_timer.start()
        self._poll = QTimer(self, interval=poll_ms, timeout=self.refresh_models)
        self._poll.start()
        self._watch_models()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.view = VideoView(self)
        self.style_box = QComboBox(toolTip="Style (← / →)")
        self.style_box.setMinimumContentsLength(18)
        self.strength = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=100,
                                toolTip="Strength: how much of the style is mixed in")
        self.strength.setFixedWidth(140)
        self.strength_label = QLabel("100%")
        self.strength_label.setMinimumWidth(36)
        self.preserve = QCheckBox("Keep colours", toolTip="Keep the source's colours, take the style's texture")
        self.steady = QCheckBox("Steady", toolTip="Less flicker: blend with the previous frame along the motion")
        self.size_box = QComboBox(toolTip="Processing size: smaller is faster")
        for text, value in SIZES:
            self.size_box.addItem(text, value)
        self.split_box = QCheckBox("Split", toolTip="Original | stylized wipe (drag in the picture)")
        self.open_button = QPushButton("Open…", toolTip="Open a video or a picture")
        self.camera_button = QPushButton("Camera", toolTip="Use the first webcam found")
        self.record_button = QPushButton("● Record", toolTip="Record what you see (Space)", checkable=True)
        self.record_time = QLabel("")
        self.snapshot_button = QPushButton("Snapshot", toolTip="Save the picture as PNG (S)")
        ok, reason = vcam_status()
        self.vcam_box = QCheckBox("Virtual camera", toolTip=reason, enabled=ok)
        self.device_label = QLabel("Device: —")
        self.stats_label = QLabel("")
        for w in (self.style_box, self.size_box, self.preserve, self.steady, self.split_box, self.open_button,
                  self.camera_button, self.record_button, self.snapshot_button, self.vcam_box,
                  self.strength):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the window's shortcuts

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Style"))
        row1.addWidget(self.style_box, 2)
        row1.addSpacing(12)
        row1.addWidget(QLabel("Strength"))
        row1.addWidget(self.strength)
        row1.addWidget(self.strength_label)
        row1.addWidget(self.preserve)
        row1.addWidget(self.steady)
        row1.addSpacing(12)
        row1.addWidget(QLabel("Size"))
        row1.addWidget(self.size_box)
        row1.addWidget(self.split_box)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.open_button)
        row2.addWidget(self.camera_button)
        row2.addSpacing(12)
        row2.addWidget(self.record_button)
        row2.addWidget(self.record_time)
        row2.addWidget(self.snapshot_button)
        row2.addWidget(self.vcam_box)
        row2.addStretch(1)
        row2.addWidget(self.device_label)
        controls = QWidget()
        lay = QVBoxLayout(controls)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addLayout(row1)
        lay.addLayout(row2)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.view, 1)
        outer.addWidget(controls)
        self.controls = controls
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(self.stats_label)
        self.view.setFocus()

        self.shortcuts: dict[str, QShortcut] = {}
        for key, slot in ((Qt.Key.Key_Left, lambda: self.cycle_style(-1)),
                          (Qt.Key.Key_Right, lambda: self.cycle_style(+1)),
                          (Qt.Key.Key_Space, self.record_button.click),
                          (Qt.Key.Key_S, self.snapshot),
                          (Qt.Key.Key_F11, self.toggle_fullscreen),
                          (Qt.Key.Key_Escape, self.leave_fullscreen)):
            self.shortcuts[QKeySequence(key).toString()] = QShortcut(QKeySequence(key), self, activated=slot)

    def _wire(self) -> None:
        p = self.pipeline
        p.frameReady.connect(self._show_frame)
        p.error.connect(self.show_message)
        p.status.connect(self.show_message)
        p.ended.connect(self.show_message)
        p.modelChanged.connect(self._model_changed)
        p.modelFailed.connect(self._model_failed)
        p.recordingStopped.connect(self._recording_stopped)
        self.style_box.currentIndexChanged.connect(self._style_chosen)
        self.strength.valueChanged.connect(self._settings_changed)
        self.preserve.toggled.connect(self._settings_changed)
        self.steady.toggled.connect(self._settings_changed)
        self.size_box.currentIndexChanged.connect(self._settings_changed)
        self.split_box.toggled.connect(self._split_toggled)
        self.open_button.clicked.connect(self.open_file)
        self.camera_button.clicked.connect(self.open_camera)
        self.record_button.toggled.connect(self._record_toggled)
        self.snapshot_button.clicked.connect(self.snapshot)
        self.vcam_box.toggled.connect(self._vcam_toggled)
        self._snapshot_done.connect(self._on_snapshot_done)

    def _restore(self, style, size) -> None:
        s = self.settings
        geometry = s.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry()
            self.resize(min(1000, screen.width()), min(720, screen.height()))
        try:
            self.strength.setValue(int(s.value("strength", 100)))
        except (TypeError, ValueError):  # a hand-edited settings file must not stop the window
            self.strength.setValue(100)
        self.strength_label.setText(f"{self.strength.value()}%")
        self.preserve.setChecked(str(s.value("preserve_color", "false")).lower() == "true")
        self.split_box.setChecked(str(s.value("split", "false")).lower() == "true")
        self.steady.setChecked(str(s.value("steady", "true")).lower() == "true")
        self.view.split = self.split_box.isChecked()
        if size == "settings":
            size = size_value(str(s.value("size", "360")))
        i = self.size_box.findData(size)
        self.size_box.setCurrentIndex(i if i >= 0 else 1)
        self._apply_settings()
        self.refresh_models(report=True)
        if style == "settings":  # not given: the last one used
            last = str(s.value("style", ""))
            match = [m for m in self._models if m.name.lower() == last.lower()]
            want = str(match[0].path) if match else None
        else:
            want = str(style.path) if style is not None else None
        if isinstance(style, ModelInfo) and self.style_box.findData(want) < 0:
            # a model given by path, outside the catalog folders
            self._models.append(style)
            self.style_box.addItem(style.label, want)
        self.style_box.setCurrentIndex(max(0, self.style_box.findData(want)))
        self._style_chosen()

    def _watch_models(self) -> None:
        folder = user_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # the poll timer still notices models once the folder exists
        self._watcher = QFileSystemWatcher([str(folder)], self)
        # a burst of changes (a file being copied in) becomes one rescan
        self._rescan = QTimer(self, singleShot=True, interval=300, timeout=self.refresh_models)
        self._watcher.directoryChanged.connect(lambda _path: self._rescan.start())

    # -- models ------------------------------------------------------------------------------
    def refresh_models(self, report: bool = True) -> None:
        """Rescan the catalog (cheap: unchanged files are not re-read) and update the dropdown."""
        models = self.catalog.models()
        new_problems = [p for p in self.catalog.problems if p not in self._reported_problems]
        if report:
            for problem in new_problems:
                self.show_message(problem)
            self._reported_problems.update(new_problems)
        extra = [m for m in getattr(self, "_models", []) if m.origin == "path"]
        models = models + [m for m in extra if m.path not in {x.path for x in models}]
        entries = [(ORIGINAL, None)] + [(m.label, str(m.path)) for m in models]
        current = [(self.style_box.itemText(i), self.style_box.itemData(i)) for i in range(self.style_box.count())]
        self._models = models
        data = self.style_box.currentData()
        if data is not None and entries == current and self._mtime(data) != self._chosen_mtime:
            self._style_chosen()  # the file was replaced (retrained): load the new one
        if entries == current:
            return
        keep = self.style_box.currentData()
        self.style_box.blockSignals(True)
        self.style_box.clear()
        for label, data in entries:
            self.style_box.addItem(label, data)
        i = self.style_box.findData(keep)
        self.style_box.setCurrentIndex(max(0, i))
        self.style_box.blockSignals(False)
        if i < 0 and keep is not None:  # the running model's file went away
            self._style_chosen()
        self.modelsChanged.emit([label for label, _ in entries])

    def model_names(self) -> list[str]:
        return [self.style_box.itemText(i) for i in range(self.style_box.count())]

    @staticmethod
    def _mtime(path: str) -> int:
        try:
            return Path(path).stat().st_mtime_ns
        except OSError:
            return 0

    _chosen_mtime = 0

    def _style_chosen(self, *_args) -> None:
        data = self.style_box.currentData()
        self._chosen_mtime = self._mtime(data) if data else 0
        if data is None:
            self.pipeline.worker.select(None)
            return
        info = next((m for m in self._models if str(m.path) == data), None)
        if info is None:
            return
        if data != self._active_path:
            self.show_message(f"loading {info.label}…", 3000)
        self.pipeline.worker.select(info)

    def select_style(self, name: str) -> None:
        """Choose a style by its name or label ("Original" included)."""
        for i in range(self.style_box.count()):
            data = self.style_box.itemData(i)
            info = next((m for m in self._models if str(m.path) == data), None)
            if self.style_box.itemText(i).lower() == name.lower() or (info and info.name.lower() == name.lower()):
                self.style_box.setCurrentIndex(i)
                return
        raise KeyError(name)

    def cycle_style(self, step: int) -> None:
        n = self.style_box.count()
        if n:
            self.style_box.setCurrentIndex((self.style_box.currentIndex() + step) % n)

    def _model_changed(self, info: ModelInfo | None, device: str) -> None:
        self._active_path = str(info.path) if info is not None else None
        if info is None:
            self.device_label.setText("Device: — (Original)")
            self.device_label.setToolTip("No model runs")
            if self.style_box.currentData() is not None and self._active_path is None:
                # the worker fell back to Original after a failure: show it
                self.style_box.blockSignals(True)
                self.style_box.setCurrentIndex(0)
                self.style_box.blockSignals(False)
            return
        engine = self.pipeline.worker.engine
        providers = ", ".join(engine.providers) if engine is not None else device
        self.device_label.setText(f"Device: {device}")
        self.device_label.setToolTip(f"onnxruntime providers: {providers}")
        if self.style_box.currentData() == str(info.path):
            self.show_message(f"{info.label} on {device}", 3000)

    def _model_failed(self, info: ModelInfo, message: str) -> None:
        # stay on what runs now: put the dropdown back on it
        i = self.style_box.findData(self._active_path)
        self.style_box.blockSignals(True)
        self.style_box.setCurrentIndex(max(0, i))
        self.style_box.blockSignals(False)

    # -- settings ----------------------------------------------------------------------------
    def _apply_settings(self) -> None:
        self.pipeline.worker.set_settings(strength=self.strength.value() / 100.0,
                                          preserve_color=self.preserve.isChecked(),
                                          size_p=self.size_box.currentData(),
                                          steady=self.steady.isChecked())

    def _settings_changed(self, *_args) -> None:
        self.strength_label.setText(f"{self.strength.value()}%")
        self._apply_settings()

    def _split_toggled(self, on: bool) -> None:
        self.view.split = on
        self.view.update()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("strength", self.strength.value())
        s.setValue("preserve_color", "true" if self.preserve.isChecked() else "false")
        s.setValue("split", "true" if self.split_box.isChecked() else "false")
        s.setValue("steady", "true" if self.steady.isChecked() else "false")
        size = self.size_box.currentData()
        s.setValue("size", str(size) if size else "full")
        data = self.style_box.currentData()
        info = next((m for m in self._models if str(m.path) == data), None)
        s.setValue("style", info.name if info else "")
        s.setValue("source", self._source_spec or "")  # "": probe cameras, else the demo
        s.sync()

    # -- sources -----------------------------------------------------------------------------
    _source_spec: str | None = None

    def set_source(self, source: Source, note: str = "", spec: str | None = None) -> None:
        self._source_spec = spec
        self.view.placeholder = f"Waiting for {source.name}…"
        self.pipeline.set_source(source)
        self.show_message(note or f"source: {source.name}")

    def open_path(self, path: str) -> None:
        try:
            source, note = open_source(path)
        except StylecamError as exc:
            self.show_message(str(exc))
            return
        self.set_source(source, note, spec=str(Path(path).resolve()))

    def open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a video or a picture", str(Path.home()),
            "Videos and pictures (*.mp4 *.mkv *.mov *.avi *.webm *.m4v *.png *.jpg *.jpeg *.bmp *.webp);;All files (*)")
        if path:
            self.open_path(path)

    def open_camera(self) -> None:
        source, note = open_source(None)
        self.set_source(source, note, spec=None if source.name == "demo" else str(getattr(source, "index", "")))

    # -- frames and stats ------------------------------------------------------------------------
    def _show_frame(self) -> None:
        result = self.pipeline.take()
        if result is None:
            return
        self.view.show_result(result)
        self.frameShown.emit(result)

    def _tick(self) -> None:
        self.stats_label.setText(self.pipeline.stats.snapshot().text())
        rec = self.pipeline.recorder
        if rec is not None:
            secs = int(rec.elapsed)
            self.record_time.setText(f"<span style='color:#e33'>●</span> {secs // 60:02d}:{secs % 60:02d}")

    def show_message(self, text: str, ms: int = STATUS_MS) -> None:
        self.statusBar().showMessage(text, ms)
        self.message.emit(text)

    # -- recording and snapshots -------------------------------------------------------------------
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

    _snapshot_done = Signal(str, str)

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

    # -- window ----------------------------------------------------------------------------------
    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.leave_fullscreen()
        else:
            self.controls.hide()
            self.statusBar().hide()
            self.showFullScreen()

    def leave_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
            self.controls.show()
            self.statusBar().show()

    def closeEvent(self, event) -> None:
        if not self._closing:
            self._closing = True
            self.save_settings()
            self._stats_timer.stop()
            self._poll.stop()
            self.pipeline.stop()
        super().closeEvent(event)

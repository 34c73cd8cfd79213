"""The main window: controls, settings, sources and stats around the live view.

Widgets only render and wire; the work happens in ``QtPipeline`` (capture, inference,
recording threads). The UI thread never decodes, runs a model, encodes or loads a session.
The view is ``view.VideoView``; the style dropdown lives in ``styles``, the "Blend with"
dropdown and its mix slider in ``blending``, the "Upscale" dropdown in ``upscaling``, recording, snapshots
and the virtual camera in ``outputs``, "Add style from image…" (a background ``stylecam-train``) in ``addstyle``.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QPushButton, QSlider, QVBoxLayout, QWidget)

from ..errors import StylecamError
from ..autosize import AutoSize
from ..models import Catalog, ModelInfo
from ..sources import Source, open_source
from .addstyle import AddStyleMixin
from .blending import BlendMixin
from .outputs import OutputsMixin
from .pipeline import QtPipeline
from .styles import ORIGINAL, StylesMixin, start_style  # noqa: F401 (ORIGINAL: for callers)
from .upscaling import UpscaleMixin
from .vcam import vcam_status
from .view import VideoView

AUTO = "auto"  # the size box's Auto: the largest size that keeps 24 fps here (autosize.AutoSize)
SIZES = [("Auto", AUTO), ("240p", 240), ("360p", 360), ("480p", 480), ("720p", 720), ("Full", None)]
STATUS_MS = 8000


def size_value(text: str | None) -> int | None | str:
    """'240', '240p', 'full' or 'auto' → 240 / None / "auto"."""
    text = (text or "full").strip().lower().rstrip("p")
    if text == AUTO:
        return AUTO
    return None if text in ("full", "none", "") else int(text)


class MainWindow(StylesMixin, BlendMixin, UpscaleMixin, OutputsMixin, AddStyleMixin, QMainWindow):
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
                 source_note: str = "", source_spec: str | None = None, retry_s: float = 3.0, poll_ms: int = 2000,
                 auto_fps: float = 24.0):
        super().__init__()
        self.setWindowTitle("stylecam")
        self.settings = settings if settings is not None else QSettings("stylecam", "stylecam")
        self.record_dir = Path(record_dir) if record_dir else platformdirs.user_videos_path()
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else platformdirs.user_pictures_path()
        self.catalog = Catalog()
        self._reported_problems: set[str] = set()
        self._active_path: str | None = None  # the model that really runs (None: Original)
        self._closing = False
        self.autosize = AutoSize(fps=auto_fps)
        self._device = ""  # what runs the model ("CPU int8"); "" for Original

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
        self.size_box = QComboBox(toolTip="Processing size: smaller is faster; Auto: the largest that "
                                  "keeps 24 fps on this machine, measured as it runs")
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
        for w in self._build_blend():  # Blend with [style] [mix] 50%
            row1.addWidget(w)
        row1.addSpacing(12)
        row1.addWidget(QLabel("Strength"))
        row1.addWidget(self.strength)
        row1.addWidget(self.strength_label)
        row1.addWidget(self.preserve)
        row1.addWidget(self.steady)
        row1.addSpacing(12)
        row1.addWidget(QLabel("Size"))
        row1.addWidget(self.size_box)
        for w in self._build_upscale():  # Upscale [off | ×4 sr4]
            row1.addWidget(w)
        row1.addWidget(self.split_box)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.open_button)
        row2.addWidget(self.camera_button)
        for w in self._build_add_style():  # Add style from image… (progress and Stop: status bar)
            row2.addWidget(w)
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
        p.ended.connect(self._source_end)
        p.modelChanged.connect(self._model_changed)
        p.modelFailed.connect(self._model_failed)
        p.recordingStopped.connect(self._recording_stopped)
        self.style_box.currentIndexChanged.connect(self._style_chosen)
        self._wire_blend()
        self._wire_upscale()
        self.strength.valueChanged.connect(self._settings_changed)
        self.preserve.toggled.connect(self._settings_changed)
        self.steady.toggled.connect(self._cost_changed)
        self.size_box.currentIndexChanged.connect(self._cost_changed)
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
            try:
                size = size_value(str(s.value("size", AUTO)))
            except ValueError:  # a hand-edited settings file
                size = AUTO
        i = self.size_box.findData(size)
        self.size_box.setCurrentIndex(i if i >= 0 else 0)
        self._apply_settings()
        self.refresh_models(report=True)
        if style == "settings":  # not given: the last one chosen, else a style (never a plain first picture)
            style = start_style(self._models, str(s.value("style", "") or ""))
        want = str(style.path) if style is not None else None
        if isinstance(style, ModelInfo) and self.style_box.findData(want) < 0:
            # a model given by path, outside the catalog folders
            self._models.append(style)
            self.style_box.addItem(style.label, want)
        self.style_box.setCurrentIndex(max(0, self.style_box.findData(want)))
        self._style_chosen()
        self._restore_blend()
        self._restore_upscale()

    # -- settings ----------------------------------------------------------------------------
    def _apply_settings(self) -> None:
        size = self.size_box.currentData()
        self.pipeline.worker.set_settings(strength=self.strength.value() / 100.0,
                                          preserve_color=self.preserve.isChecked(),
                                          size_p=self.autosize.chosen if size == AUTO else size,
                                          steady=self.steady.isChecked())
        self._update_device_label()

    def _settings_changed(self, *_args) -> None:
        self.strength_label.setText(f"{self.strength.value()}%")
        self._apply_settings()

    def _cost_changed(self, *_args) -> None:
        self.autosize.restart()  # the size box, or Steady (it changes a frame's cost too)
        self._apply_settings()

    def _measure(self, result) -> None:
        """Auto size: one more frame's model time; a new choice goes to the worker."""
        if self.size_box.currentData() == AUTO and result.model:
            if self.autosize.add(result.model_ms, result.original.shape):
                self._apply_settings()
            elif self.autosize.measured_ms:
                self._update_device_label()

    def _update_device_label(self) -> None:
        if not self._device:
            self.device_label.setText("Device: — (Original)")
            return
        auto = f" · {self.autosize.text()}" if self.size_box.currentData() == AUTO else ""
        self.device_label.setText(f"Device: {self._device}{self.blend_note()}{auto}")

    def _split_toggled(self, on: bool) -> None:
        self.view.split = on
        self.view.update()

    def save_settings(self) -> None:
        self._check_source()
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("strength", self.strength.value())
        s.setValue("preserve_color", "true" if self.preserve.isChecked() else "false")
        s.setValue("split", "true" if self.split_box.isChecked() else "false")
        s.setValue("steady", "true" if self.steady.isChecked() else "false")
        size = self.size_box.currentData()
        s.setValue("size", str(size) if size else "full")  # "auto" included
        if self._remembered is not None:  # the style chosen, even when a failure fell back to Original
            s.setValue("style", self._remembered)
        self._save_blend()
        self._save_upscale()
        # "": probe cameras, else the demo; a file that failed is not opened again
        s.setValue("source", "" if self._source_failed else self._source_spec or "")
        s.sync()

    # -- sources -----------------------------------------------------------------------------
    _source_spec: str | None = None
    _source_failed = False  # the source stopped on an error (not at its end)
    _source_ended = False

    def set_source(self, source: Source, note: str = "", spec: str | None = None) -> None:
        self._source_spec = spec
        self._source_failed = self._source_ended = False
        self.autosize.restart()
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
        self._check_blend_passes()
        self._measure(result)
        self.frameShown.emit(result)

    def _source_end(self, _text: str = "") -> None:
        self._source_ended, self._source_failed = True, False

    def _check_source(self) -> None:
        """A file's capture loop that stopped without reaching its end failed: do not reopen it."""
        cap = self.pipeline.live.capture
        if cap is not None and not cap.running and not cap.source.live and not self._source_ended:
            self._source_failed = True

    def _tick(self) -> None:
        self._check_source()
        self.stats_label.setText(self.pipeline.stats.snapshot().text())
        rec = self.pipeline.recorder
        if rec is not None:
            secs = int(rec.elapsed)
            self.record_time.setText(f"<span style='color:#e33'>●</span> {secs // 60:02d}:{secs % 60:02d}")

    def show_message(self, text: str, ms: int = STATUS_MS) -> None:
        self.statusBar().showMessage(text, ms)
        self.message.emit(text)

    _snapshot_done = Signal(str, str)  # saved path ("" if it failed), path

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
            self.stop_style_fit()
            self.pipeline.stop()
        super().closeEvent(event)

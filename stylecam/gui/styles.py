"""The style dropdown: the catalog's models with their paintings as icons, the style the window
starts on and remembers, and what the worker really runs.

``StylesMixin`` is part of ``MainWindow`` (it uses its ``style_box``, ``pipeline``, ``catalog``,
``device_label`` and ``show_message``); it owns no signals (PySide6 takes signals only from
QObject classes), the window's ``modelsChanged`` is emitted from here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QSize, Qt, QTimer
from PySide6.QtGui import QIcon

from ..models import ModelInfo, user_dir

ORIGINAL = "Original"
ORIGINAL_NAMES = ("original", "none")
DEFAULT_STYLE = "wave"  # a new user's first picture is stylized: this one, else the first style
ICON_SIZE = QSize(32, 32)
ICON_ROLE = Qt.ItemDataRole.UserRole + 1  # the icon file an entry was given (to notice a new one)


def start_style(models: list[ModelInfo], remembered: str | None) -> ModelInfo | None:
    """The style the window starts on: the remembered one (None: Original), else a style.

    ``remembered`` is the settings' value: a model name, "original", or None/"" when nothing
    was remembered (a new user) — then ``DEFAULT_STYLE``, else the first style, else Original.
    A remembered model that is gone also falls back to a style, not to the plain picture.
    """
    remembered = (remembered or "").strip().lower()
    if remembered in ORIGINAL_NAMES:
        return None
    named = [m for m in models if m.name.lower() == remembered]
    if remembered and named:
        return named[0]
    styles = [m for m in models if m.kind == "style"]
    default = [m for m in styles if m.name.lower() == DEFAULT_STYLE]
    return (default or styles or [None])[0]


class StylesMixin:
    """The window's style dropdown and the model the worker runs."""

    _chosen_mtime = 0
    _remembered: str | None = None  # what save_settings writes: the last style chosen ("original")
    _remembered_before: str | None = None  # the choice before it (None: none this run)

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
        entries = [(ORIGINAL, None, "")] + [(m.label, str(m.path), str(m.icon or "")) for m in models]
        box = self.style_box
        current = [(box.itemText(i), box.itemData(i), box.itemData(i, ICON_ROLE) or "") for i in range(box.count())]
        self._models = models
        if hasattr(self, "blend_box"):
            self._refresh_blend_box(models)  # the "Blend with" dropdown lists the same styles
        if hasattr(self, "upscale_box"):
            self._refresh_upscale_box(models)  # and "Upscale" the super-resolution models
        data = box.currentData()
        if data is not None and entries == current and self._mtime(data) != self._chosen_mtime:
            self._style_chosen()  # the file was replaced (retrained): load the new one
        if entries == current:
            return
        keep = box.currentData()
        box.blockSignals(True)
        box.clear()
        box.setIconSize(ICON_SIZE)
        for label, data, icon in entries:
            self._add_entry(label, data, icon)
        i = box.findData(keep)
        box.setCurrentIndex(max(0, i))
        box.blockSignals(False)
        if i < 0 and keep is not None:  # the running model's file went away
            self._style_chosen()
        self.modelsChanged.emit([label for label, _, _ in entries])

    def _add_entry(self, label: str, data: str | None, icon: str) -> None:
        """One dropdown row: the painting's thumbnail (when the model has one), the title."""
        box = self.style_box
        box.addItem(QIcon(icon) if icon else QIcon(), label, data)
        box.setItemData(box.count() - 1, icon, ICON_ROLE)
        if data is not None:
            info = next((m for m in self._models if str(m.path) == data), None)
            if info is not None:
                box.setItemData(box.count() - 1, f"{info.name} · {info.kind} · {info.path}",
                                Qt.ItemDataRole.ToolTipRole)

    def model_names(self) -> list[str]:
        return [self.style_box.itemText(i) for i in range(self.style_box.count())]

    @staticmethod
    def _mtime(path: str) -> int:
        try:
            return Path(path).stat().st_mtime_ns
        except OSError:
            return 0

    def _current_info(self) -> ModelInfo | None:
        data = self.style_box.currentData()
        return next((m for m in self._models if str(m.path) == data), None)

    def _style_chosen(self, *_args) -> None:
        data = self.style_box.currentData()
        self._chosen_mtime = self._mtime(data) if data else 0
        self._remembered_before = self._remembered
        if data is None:
            self._remembered = "original"
            self.pipeline.worker.select(None)
            return
        info = self._current_info()
        if info is None:
            return
        self._remembered = info.name
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

    def _show_quietly(self, index: int) -> None:
        """Point the dropdown at what runs without choosing it (nothing loads, nothing is remembered)."""
        self.style_box.blockSignals(True)
        self.style_box.setCurrentIndex(max(0, index))
        self.style_box.blockSignals(False)

    def _model_changed(self, info: ModelInfo | None, device: str) -> None:
        self._active_path = str(info.path) if info is not None else None
        self._device = device if info is not None else ""
        self.autosize.restart()  # another model: measure again
        if info is None:
            self._update_device_label()
            self.device_label.setToolTip("No model runs")
            if self.style_box.currentData() is not None:
                # the worker fell back to Original after a failure: show it, but keep
                # remembering the style the user chose (the next launch tries it again)
                self._show_quietly(0)
            return
        engine = self.pipeline.worker.engine
        providers = ", ".join(engine.providers) if engine is not None else device
        self._update_device_label()  # "Device: CPU int8", with the Auto size chosen
        self.device_label.setToolTip(f"onnxruntime providers: {providers}")
        if self.style_box.currentData() == str(info.path):
            self.show_message(f"{info.label} on {device}", 3000)

    def _model_failed(self, info: ModelInfo, message: str) -> None:
        # stay on what runs now: put the dropdown back on it. A model that cannot load is not
        # remembered over the choice before it; at start-up (no choice before) it is kept.
        self._show_quietly(self.style_box.findData(self._active_path))
        if self._remembered == info.name and self._remembered_before is not None:
            self._remembered = self._remembered_before

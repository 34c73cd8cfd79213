"""The "Upscale" dropdown: a super-resolution model after the style (issue 16, item 4).

With a style and an upscale ×S the style runs on the frame shrunk S times and the SR model
brings it back to the frame's own size (``frames.plan_sizes``, as ``stylecam-render --style
wave --upscale 4`` does): the view shows full-size output at low-resolution cost. The size
box still caps the style's size (it never runs larger than 1/S of the frame). The upscale
applies with a style; "Original" and an SR model chosen as the style run as before. The SR
model loads on a loader thread of its own, as the style and the blend do.

``UpscaleMixin`` is part of ``MainWindow``: it uses its ``pipeline``, ``settings``,
``_models``, ``autosize`` and ``show_message``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from ..models import ModelInfo
from . import modelbox

NO_UPSCALE = "off"


class UpscaleMixin:
    """The window's "Upscale" dropdown, kept in the settings."""

    _upscale_remembered = ""  # the SR model's name, for the settings ("": none)
    _upscale_active: str | None = None  # the path of the SR model that runs (None: none)

    def _build_upscale(self) -> list[QWidget]:
        self.upscale_box = QComboBox(toolTip="Upscale after the style: the style runs at 1/scale and the "
                                             "super-resolution model brings it back to full size "
                                             "(full-size output at low-resolution cost)")
        self.upscale_box.setMinimumContentsLength(8)
        self.upscale_box.addItem(NO_UPSCALE, None)
        self.upscale_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the window's shortcuts
        return [QLabel("Upscale"), self.upscale_box]

    def _wire_upscale(self) -> None:
        self.upscale_box.currentIndexChanged.connect(self._upscale_chosen)
        self.pipeline.upscaleChanged.connect(self._upscale_changed)
        self.pipeline.upscaleFailed.connect(self._upscale_failed)

    def _refresh_upscale_box(self, models: list[ModelInfo]) -> None:
        """The catalog's super-resolution models, kept in step with the style dropdown."""
        entries = [(NO_UPSCALE, None)] + [(f"×{m.scale} {m.name}", str(m.path)) for m in models if m.kind == "sr"]
        if modelbox.fill(self.upscale_box, entries):  # the model's file went away
            self._upscale_chosen()

    def _upscale_chosen(self, *_args) -> None:
        info = modelbox.chosen(self.upscale_box, self._models)
        self._upscale_remembered = info.name if info is not None else ""
        if info is not None and str(info.path) != self._upscale_active:
            self.show_message(f"loading {info.label} to upscale…", 3000)
        self.pipeline.worker.select_upscale(info)

    def _upscale_changed(self, info: ModelInfo | None, device: str) -> None:
        self._upscale_active = str(info.path) if info is not None else None
        self.autosize.restart()  # another model in each frame's path: measure again
        if info is not None and self.upscale_box.currentData() == str(info.path):
            self.show_message(f"styling at 1/{info.scale} size, upscaled ×{info.scale} by {info.name} "
                              f"on {device}", 3000)

    def _upscale_failed(self, info: ModelInfo, message: str) -> None:
        # the message is already in the status bar (on_error); point the dropdown back at what runs
        modelbox.set_quietly(self.upscale_box, self.upscale_box.findData(self._upscale_active))

    def _restore_upscale(self) -> None:
        name = str(self.settings.value("upscale", "") or "")
        modelbox.set_quietly(self.upscale_box, modelbox.index_saved(self.upscale_box, self._models, "sr", name))
        self._upscale_chosen()

    def _save_upscale(self) -> None:
        self.settings.setValue("upscale", self._upscale_remembered)

    def select_upscale(self, name: str | None) -> None:
        """Upscale with an SR model by its name or label (None or "off": none)."""
        if name is None or name.lower() == NO_UPSCALE:
            self.upscale_box.setCurrentIndex(0)
            return
        i = modelbox.index_named(self.upscale_box, self._models, name)
        if i < 0:
            raise KeyError(name)
        self.upscale_box.setCurrentIndex(i)

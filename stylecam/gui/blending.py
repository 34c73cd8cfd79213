"""The blend controls: "Blend with" a second style, and the mix between the two.

Two styles trained on one shared trunk blend in one pass: the worker has their weights mixed
into one model on a thread of its own (``stylecam.live_mix``) and runs it once it is ready;
any other blend runs the second style's model on each frame as well and mixes the two
pictures (``stylecam.blend``; about twice the model time). The device label says which
("blend: one pass" / "two passes"), and Auto size measures again when that changes. The
second model loads on the worker's loader thread, as the first does; the mix is a number the
worker reads per frame, so moving the slider never waits for anything.

``BlendMixin`` is part of ``MainWindow``: it uses its ``pipeline``, ``settings``, ``_models``,
``autosize`` and ``show_message``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QWidget

from ..models import ModelInfo
from . import modelbox

NO_BLEND = "none"
DEFAULT_MIX = 50


class BlendMixin:
    """The window's "Blend with" dropdown and mix slider, kept in the settings."""

    _blend_remembered = ""  # the second style's name, for the settings ("" : no blend)
    _blend_active: str | None = None  # the path of the second style that runs (None: none)
    _blend_passes = 0  # what the worker's blend costs: 0 no blend, 1 one pass, 2 two passes

    def _build_blend(self) -> list[QWidget]:
        self.blend_box = QComboBox(toolTip="Blend with a second style, mixed by the slider: styles trained "
                                           "together (one trunk) blend in one pass, others run both models "
                                           "on every frame (about twice the model time)")
        self.blend_box.setMinimumContentsLength(12)
        self.blend_box.addItem(NO_BLEND, None)
        self.mix = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=DEFAULT_MIX,
                           toolTip="Mix: how much of the second style (0% the first alone, 100% the second)",
                           enabled=False)
        self.mix.setFixedWidth(100)
        self.mix_label = QLabel(f"{DEFAULT_MIX}%")
        self.mix_label.setMinimumWidth(36)
        for w in (self.blend_box, self.mix):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the window's shortcuts
        return [QLabel("Blend with"), self.blend_box, self.mix, self.mix_label]

    def _wire_blend(self) -> None:
        self.blend_box.currentIndexChanged.connect(self._blend_chosen)
        self.mix.valueChanged.connect(self._mix_changed)
        self.pipeline.blendChanged.connect(self._blend_changed)
        self.pipeline.blendFailed.connect(self._blend_failed)

    def _refresh_blend_box(self, models: list[ModelInfo]) -> None:
        """The styles of the catalog (not super-resolution), kept in step with the style dropdown."""
        entries = [(NO_BLEND, None)] + [(m.label, str(m.path)) for m in models if m.kind == "style"]
        if modelbox.fill(self.blend_box, entries):  # the blended model's file went away
            self._blend_chosen()

    def _blend_chosen(self, *_args) -> None:
        info = modelbox.chosen(self.blend_box, self._models)
        self.mix.setEnabled(info is not None)
        self._blend_remembered = info.name if info is not None else ""
        if info is not None and str(info.path) != self._blend_active:
            self.show_message(f"loading {info.label} to blend…", 3000)
        self.pipeline.worker.select_blend(info)

    def _mix_changed(self, value: int) -> None:
        self.mix_label.setText(f"{value}%")
        before = self.pipeline.worker.mix
        self.pipeline.worker.set_mix(value / 100.0)
        # one model or two per frame: Auto size measures again when that changes
        if self._blend_active and (before in (0.0, 1.0)) != (value in (0, 100)):
            self.autosize.restart()

    def _blend_changed(self, info: ModelInfo | None, device: str) -> None:
        self._blend_active = str(info.path) if info is not None else None
        self.autosize.restart()  # two models a frame, or one again: measure again
        if info is not None and self.blend_box.currentData() == str(info.path):
            self.show_message(f"blending {info.label} on {device}", 3000)

    def _check_blend_passes(self) -> None:
        """After each shown frame: one pass or two changed (a one-pass model is ready, or the
        styles changed)? Say so in the device label, and measure Auto size again."""
        passes = self.pipeline.worker.blend.passes
        if passes != self._blend_passes:
            self._blend_passes = passes
            self.autosize.restart()
            self._update_device_label()

    def blend_note(self) -> str:
        """For the device label: how the blend runs ("" for none)."""
        return {1: " · blend: one pass", 2: " · blend: two passes"}.get(self._blend_passes, "")

    def _blend_failed(self, info: ModelInfo, message: str) -> None:
        # the message is already in the status bar (on_error); point the dropdown back at what runs
        modelbox.set_quietly(self.blend_box, self.blend_box.findData(self._blend_active))
        self.mix.setEnabled(self._blend_active is not None)

    def _restore_blend(self) -> None:
        s = self.settings
        try:
            mix = min(100, max(0, int(s.value("blend_mix", DEFAULT_MIX))))
        except (TypeError, ValueError):  # a hand-edited settings file must not stop the window
            mix = DEFAULT_MIX
        self.mix.setValue(mix)
        self._mix_changed(mix)  # the worker's mix, even when the slider did not move
        name = str(s.value("blend_style", "") or "")
        modelbox.set_quietly(self.blend_box, modelbox.index_saved(self.blend_box, self._models, "style", name))
        self._blend_chosen()

    def _save_blend(self) -> None:
        self.settings.setValue("blend_style", self._blend_remembered)
        self.settings.setValue("blend_mix", self.mix.value())

    def select_blend(self, name: str | None) -> None:
        """Blend with a style by its name or label (None or "none": no blend)."""
        if name is None or name.lower() == NO_BLEND:
            self.blend_box.setCurrentIndex(0)
            return
        i = modelbox.index_named(self.blend_box, self._models, name)
        if i < 0:
            raise KeyError(name)
        self.blend_box.setCurrentIndex(i)

"""A dropdown of models whose items hold each model's path: what the "Blend with" and
"Upscale" boxes share (fill it from the catalog, find a model by name, move it quietly)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from ..models import ModelInfo


def set_quietly(box: QComboBox, index: int) -> None:
    """Select ``index`` (or the first item when it is negative) without emitting a signal."""
    box.blockSignals(True)
    box.setCurrentIndex(max(0, index))
    box.blockSignals(False)


def fill(box: QComboBox, entries: list[tuple[str, str | None]]) -> bool:
    """Make ``entries`` (label, path) the box's items, keeping the selected path selected;
    True when the selected model's entry went away (the caller chooses again)."""
    if entries == [(box.itemText(i), box.itemData(i)) for i in range(box.count())]:
        return False
    keep = box.currentData()
    box.blockSignals(True)
    box.clear()
    for label, data in entries:
        box.addItem(label, data)
    box.blockSignals(False)
    i = box.findData(keep)
    set_quietly(box, i)
    return i < 0 and keep is not None


def chosen(box: QComboBox, models: list[ModelInfo]) -> ModelInfo | None:
    """The model the box has selected (None for its "none" item)."""
    data = box.currentData()
    return next((m for m in models if str(m.path) == data), None) if data else None


def index_named(box: QComboBox, models: list[ModelInfo], name: str) -> int:
    """The item whose label or model name is ``name`` (any case), else -1."""
    for i in range(1, box.count()):
        info = next((m for m in models if str(m.path) == box.itemData(i)), None)
        if box.itemText(i).lower() == name.lower() or (info and info.name.lower() == name.lower()):
            return i
    return -1


def index_saved(box: QComboBox, models: list[ModelInfo], kind: str, name: str) -> int:
    """The item of the ``kind`` model named ``name`` in the settings, else 0 (none)."""
    info = next((m for m in models if m.kind == kind and m.name.lower() == name.strip().lower()), None)
    return box.findData(str(info.path)) if info is not None else 0

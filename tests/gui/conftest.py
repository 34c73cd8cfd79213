"""A window on a synthetic source, with its own settings file and output folders."""

import pytest
from PySide6.QtCore import QSettings

from stylecam.models import user_dir
from stylecam.sources import SyntheticSource
from stylecam.testing import write_model


@pytest.fixture
def fresh_settings(tmp_path):
    return QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def settings(tmp_path):
    """Steady off: most tests compare pictures frame by frame (Steady blends frames)."""
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    s.setValue("steady", "false")
    return s


@pytest.fixture
def make_window(qtbot, tmp_path, settings):
    from stylecam.gui.window import MainWindow

    made = []

    def make(source=None, **kw):
        kw.setdefault("style", None)
        kw.setdefault("size", None)
        kw.setdefault("settings", settings)
        kw.setdefault("record_dir", tmp_path / "videos")
        kw.setdefault("snapshot_dir", tmp_path / "pictures")
        kw.setdefault("poll_ms", 200)
        kw.setdefault("retry_s", 0.2)
        w = MainWindow(source if source is not None else SyntheticSource(160, 120), **kw)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


@pytest.fixture
def models():
    """An 'invert' and a 'swap' style in the user's models folder."""
    return (write_model(user_dir() / "invert.onnx", "invert"),
            write_model(user_dir() / "swap.onnx", "swap"))

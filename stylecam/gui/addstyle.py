""""Add style from image…": the five-minute fit of ``stylecam-train`` run from the window.

The painting and a name are asked for, then ``stylecam-train PAINTING --name NAME --minutes 5
--content C`` runs as a child process (``QProcess``: asynchronous, so the live view keeps
running; the app itself never imports torch or ``trainer``). It is started as
``sys.executable -c "…trainer.main()"``, the same Python environment as the window
(``trainer`` has no ``__main__``). Its progress bar (tqdm on stderr, ``NAME: 12%|…| 36/300``,
or ``NAME: 36step`` while ``--minutes`` is still measuring the speed) becomes "Learning 'NAME':
36%" in the status bar. When it exits 0 the catalog is rescanned and the new style chosen;
otherwise its last one-line error (``stylecam-train: …``) is the status-bar message. Stop
sends SIGTERM: the trainer finishes its step and saves its checkpoint (``--resume`` goes on).

Content (the photos the style learns to paint): the file that plays when the source is a file
(a video's frames), else the frame on screen and the demo picture, written to
``<cache>/content/NAME`` (kept, so ``stylecam-train --resume --name NAME`` can go on).
``fit_args`` (extra trainer arguments, after the window's own) is the seam tests use.

``AddStyleMixin`` is part of ``MainWindow``: it uses its ``view``, ``statusBar``, ``_models``,
``_source_spec``, ``refresh_models``, ``select_style`` and ``show_message``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections import deque
from pathlib import Path

import cv2
from PySide6.QtCore import QElapsedTimer, QObject, QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog, QProgressBar, QToolButton, QWidget

from ..models import cache_dir
from ..sources import demo_picture

PROG = "stylecam-train"
TRAIN_EXTRA = ("torch", "torchvision", "onnxscript")  # as trainer.TRAIN_EXTRA (not imported: it is torch's side)
INSTALL = ('training needs PyTorch (missing: {missing}); install it with: pip install "stylecam[train]" '
           '(in a clone: pip install -e ".[train]")')
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # stylecam-train's --name rule
PICTURES = "Pictures (*.jpg *.jpeg *.png *.bmp *.webp *.tif *.tiff);;All files (*)"
BAR = re.compile(r"^(?P<name>.+?):\s+(?:(?P<pct>\d+)%\|.*?\|\s*(?P<n>\d+)/(?P<total>\d+)|(?P<steps>\d+)step\b)")
RUNNER = "import sys, trainer; sys.exit(trainer.main())"


def missing_train_extra() -> list[str]:
    """The train extra's modules that are not installed, found without importing them."""
    return [m for m in TRAIN_EXTRA if importlib.util.find_spec(m) is None]


def style_name(stem: str, taken=()) -> str:
    """A valid ``--name`` from a file's stem ("Starry Night!" -> "Starry_Night"), not one in ``taken``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem.strip()).strip("_.-")[:60] or "style"
    if not name[0].isalnum():
        name = "s" + name
    lower = {t.lower() for t in taken}
    base, n = name, 2
    while name.lower() in lower:
        name, n = f"{base}_{n}", n + 1
    return name


def train_command(painting: str, name: str, content: str | None, minutes: float, extra=()) -> list[str]:
    """The child's arguments after ``sys.executable``; ``extra`` comes last, so it wins."""
    args = ["-c", RUNNER, str(painting), "--name", name, "--minutes", f"{minutes:g}"]
    if content and "--content" not in extra:
        args += ["--content", str(content)]
    cores = os.cpu_count() or 1
    if cores > 1:  # one core stays with the live view
        args += ["--threads", str(cores - 1)]
    return args + [str(a) for a in extra]


def parse_progress(line: str, name: str) -> tuple[int | None, int, int | None] | None:
    """tqdm's line for the run ``name`` -> (percent or None, step, total or None); else None."""
    m = BAR.match(line.strip())
    if m is None or m["name"] != name:
        return None
    if m["steps"] is not None:
        return None, int(m["steps"]), None
    return int(m["pct"]), int(m["n"]), int(m["total"])


def failure_line(lines, code: int) -> str:
    """The one line a failed run leaves in the status bar."""
    lines = [ln.strip() for ln in lines if ln.strip() and not BAR.match(ln.strip())]
    own = [ln for ln in lines if ln.startswith(f"{PROG}: ")]
    if own:
        return own[-1]
    return f"{PROG} failed (exit status {code}): {lines[-1]}" if lines else f"{PROG} failed (exit status {code})"


def write_content(folder: Path, frame, demo: Path | None) -> str | None:
    """``folder`` (emptied) with the RGB ``frame`` and the ``demo`` picture; None when neither."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    if frame is not None:
        cv2.imwrite(str(folder / "frame.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    if demo is not None:
        shutil.copyfile(demo, folder / demo.name)
    return str(folder) if any(folder.iterdir()) else None


class StyleFit(QObject):
    """One ``stylecam-train`` child process at a time, its progress and its outcome."""

    progress = Signal(str, int)  # "Learning 'mine': 36%", percent (-1: not known yet)
    ended = Signal(str, bool, str)  # name, installed, one-line message

    def __init__(self, parent=None):
        super().__init__(parent)
        self.name = ""
        self.minutes = 5.0
        self.process: QProcess | None = None
        self.cancelled = False
        self._lines: deque[str] = deque(maxlen=40)
        self._partial = ""
        self._clock = QElapsedTimer()
        self._text = ""

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self, args: list[str], name: str, minutes: float) -> None:
        self.name, self.minutes, self.cancelled = name, minutes, False
        self._lines.clear()
        self._partial = self._text = ""
        p = QProcess(self)
        p.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)  # the trainer logs to stderr
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        p.setProcessEnvironment(env)
        p.setWorkingDirectory(str(Path.home()))  # not a folder whose own trainer/ would shadow ours
        p.readyReadStandardOutput.connect(self._read)
        p.finished.connect(self._finished)
        p.errorOccurred.connect(self._error)
        self.process = p
        self._clock.start()
        self._say(f"Learning '{name}': starting…", -1)
        p.start(sys.executable, args)

    def cancel(self) -> None:
        """SIGTERM: the trainer saves its checkpoint after the step; a second cancel kills it."""
        if self.process is None:
            return
        if self.cancelled:
            self.process.kill()
        else:
            self.cancelled = True
            self.process.terminate()

    def stop(self, wait_ms: int = 5000) -> None:
        """The window closes: stop the run (checkpoint saved when it can be) and say nothing."""
        p = self.process
        if p is None:
            return
        self.blockSignals(True)
        self.cancelled = True
        p.terminate()
        if not p.waitForFinished(wait_ms):
            p.kill()
            p.waitForFinished(2000)
        self._done()

    def _say(self, text: str, percent: int) -> None:
        if text != self._text:
            self._text = text
            self.progress.emit(text, percent)

    def _read(self) -> None:
        data = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        *lines, self._partial = re.split(r"[\r\n]", self._partial + data)
        for line in lines:
            if line.strip():
                self._lines.append(line)
                self._progress(line)

    def _progress(self, line: str) -> None:
        got = parse_progress(line, self.name)
        if got is None:
            return
        pct, step, total = got
        if total is not None and step >= total:
            self._say(f"Learning '{self.name}': saving the model…", 100)
        elif pct is not None:
            self._say(f"Learning '{self.name}': {pct}%", pct)
        else:  # --minutes is still measuring the speed: the share of the time budget
            est = min(99, int(self._clock.elapsed() / (600 * self.minutes))) if self.minutes > 0 else -1
            self._say(f"Learning '{self.name}': {est}% (step {step})" if est >= 0
                      else f"Learning '{self.name}': step {step}", est)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # no finished() follows
            self._lines.append(f"{PROG}: cannot start {sys.executable}: {self.process.errorString()}")
            self._finished(-1, QProcess.ExitStatus.CrashExit)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self.process is None:
            return
        self._read()
        if self._partial.strip():
            self._lines.append(self._partial)
        name, lines, cancelled = self.name, list(self._lines), self.cancelled
        self._done()
        secs = self._clock.elapsed() // 1000
        if code == 0 and status == QProcess.ExitStatus.NormalExit:
            self.ended.emit(name, True, f"added the style '{name}' (learned in {secs // 60}:{secs % 60:02d})")
        elif cancelled:
            saved = [ln.split(";")[0][len("interrupted "):] for ln in lines if ln.startswith("interrupted at step")]
            self.ended.emit(name, False, f"stopped learning '{name}'" + (
                f" {saved[-1]}; its checkpoint is kept ({PROG} --resume --name {name} goes on)" if saved else ""))
        else:
            self.ended.emit(name, False, failure_line(lines, code))

    def _done(self) -> None:
        p, self.process = self.process, None
        if p is not None:
            p.deleteLater()


class AddStyleMixin:
    """The window's "Add style from image…" action, its progress and its Stop button."""

    fit_args: tuple[str, ...] | list[str] = ()  # extra stylecam-train arguments (tests: a tiny run)
    fit_minutes = 5.0

    def _build_add_style(self) -> list[QWidget]:
        self.style_fit = StyleFit(self)
        self.add_style_action = QAction("Add style from image…", self, triggered=self.add_style,
                                        toolTip="Learn a new style from a painting (about 5 minutes, in "
                                                "the background; the view keeps running)")
        button = QToolButton(focusPolicy=Qt.FocusPolicy.NoFocus)
        button.setDefaultAction(self.add_style_action)
        self.fit_bar = QProgressBar(minimum=0, maximum=100, visible=False, textVisible=True)
        self.fit_bar.setFixedWidth(220)
        self.fit_stop = QToolButton(text="Stop", visible=False, clicked=self.style_fit.cancel,
                                    focusPolicy=Qt.FocusPolicy.NoFocus,
                                    toolTip="Stop learning (its checkpoint is kept; again: stop at once)")
        self.statusBar().insertPermanentWidget(0, self.fit_bar)
        self.statusBar().insertPermanentWidget(1, self.fit_stop)
        self.style_fit.progress.connect(self._fit_progress)
        self.style_fit.ended.connect(self._fit_ended)
        return [button]

    def add_style(self) -> None:
        """Ask for a painting and a name, then learn it in the background."""
        if (problem := self._cannot_train()) is not None:
            self.show_message(problem, 0)
            return
        path, _ = QFileDialog.getOpenFileName(self, "Add style from image: choose a painting",
                                              str(Path.home()), PICTURES)
        if not path:
            return
        default = style_name(Path(path).stem, [m.name for m in self._models])
        name, ok = QInputDialog.getText(self, "Add style from image", "Name of the new style:", text=default)
        if ok and name.strip():
            self.add_style_from(path, style_name(name))

    def add_style_from(self, painting: str | os.PathLike, name: str | None = None) -> None:
        """Start learning ``painting`` as the style ``name`` (default: from the file's name)."""
        if self.style_fit.running:
            self.show_message(f"already learning '{self.style_fit.name}'", 0)
            return
        if (problem := self._cannot_train()) is not None:
            self.show_message(problem, 0)
            return
        name = name or style_name(Path(painting).stem, [m.name for m in self._models])
        content = None if "--content" in self.fit_args else self._fit_content(name)
        if content is None and "--content" not in self.fit_args:
            self.show_message("nothing to learn from yet: open a video or wait for the camera", 0)
            return
        args = train_command(str(painting), name, content, self.fit_minutes, self.fit_args)
        self.add_style_action.setEnabled(False)
        self.fit_bar.setValue(0)
        self.fit_bar.setFormat(f"Learning '{name}'…")
        self.fit_bar.show()
        self.fit_stop.show()
        self.style_fit.start(args, name, self.fit_minutes)

    @staticmethod
    def _cannot_train() -> str | None:
        if getattr(sys, "frozen", False) or importlib.util.find_spec("trainer") is None:
            return INSTALL.format(missing="trainer") + " (this desktop build has no trainer)"
        missing = missing_train_extra()
        return INSTALL.format(missing=", ".join(missing)) if missing else None

    def _fit_content(self, name: str) -> str | None:
        """The photos the style learns on: the file that plays, else the frame on screen and the demo."""
        spec = self._source_spec
        if spec and Path(spec).is_file():
            return spec
        frame = self.view.result.original if self.view.result is not None else None
        return write_content(cache_dir() / "content" / name, frame, demo_picture())

    def _fit_progress(self, text: str, percent: int) -> None:
        self.fit_bar.setRange(0, 100 if percent >= 0 else 0)  # 0..0: busy
        self.fit_bar.setValue(max(0, percent))
        self.fit_bar.setFormat(text)
        self.show_message(text, 0)

    def _fit_ended(self, name: str, ok: bool, message: str) -> None:
        self.fit_bar.hide()
        self.fit_stop.hide()
        self.add_style_action.setEnabled(True)
        if ok:
            self.refresh_models()
            try:
                self.select_style(name)
            except KeyError:
                message = f"{PROG} installed '{name}', but it is not in the catalog (see the messages above)"
        self.show_message(message, 0)

    def stop_style_fit(self) -> None:
        self.style_fit.stop()

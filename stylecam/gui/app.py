"""``stylecam``: the window. A webcam or a video, stylized live.

    stylecam [--source INDEX|FILE] [--style NAME|TITLE] [--size auto|240|360|480|720|full]
             [--device auto|cpu|cuda] [--precision auto|float|int8] [--record FILE]
             [--quit-after SECONDS]
    stylecam --list-styles      # name, title, tier, precision of every model, then exit

Options a user gets wrong (unknown style, missing file, no CUDA) end in one line on
stderr and exit status 2 before any window opens.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from ..cli import ArgumentParser, run_cli
from ..engine import DEVICES, PRECISIONS, _providers
from ..errors import OutputError, StylecamError, UsageError
from ..models import Catalog, list_styles

SIZE_CHOICES = ("auto", "240", "360", "480", "720", "full")
ORIGINAL_NAMES = ("original", "none")


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="stylecam", description="A webcam or a video, stylized live.")
    p.add_argument("--source", help="webcam index (0, 1, …), a video file or a picture; "
                   "default: the first webcam, else a demo")
    p.add_argument("--style", help="a style's name or title (see --list-styles), a path to an .onnx model, "
                   "or 'original'; default: the last one chosen, else wave")
    p.add_argument("--list-styles", action="store_true",
                   help="print every model (name, title, tier, precision) and exit")
    p.add_argument("--size", choices=SIZE_CHOICES, help="processing height; auto: the largest that keeps "
                   "24 fps on this machine, measured as it runs (default: last used, else auto)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="where models run (default: auto)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto (default): a style's int8 variant on the CPU when it has one; float: never")
    p.add_argument("--record", metavar="FILE", help="start recording to FILE (.mkv) at once")
    p.add_argument("--quit-after", metavar="SECONDS", type=float,
                   help="close the window after SECONDS (for scripted runs)")
    p.add_argument("--no-loop", action="store_true", help="stop at the end of a video file")
    return p


def _settings():
    from PySide6.QtCore import QSettings

    path = os.environ.get("STYLECAM_SETTINGS")  # an ini file; tests and scripts keep theirs apart
    return QSettings(path, QSettings.Format.IniFormat) if path else QSettings("stylecam", "stylecam")


def _main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.list_styles:
        print(list_styles())
        return 0
    if args.quit_after is not None and args.quit_after <= 0:
        raise UsageError(f"--quit-after must be more than 0, got {args.quit_after:g}")
    _providers(args.device)  # --device cuda without CUDA: the engine's one-line message
    style = "settings"
    if args.style is not None:
        style = None if args.style.lower() in ORIGINAL_NAMES else Catalog().resolve(args.style)
    record = None
    if args.record:
        record = Path(args.record).expanduser()
        if record.is_dir():
            raise OutputError(f"--record {record}: is a folder")
        if not record.parent.is_dir():
            raise OutputError(f"--record {record}: folder {record.parent} does not exist")

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ..sources import open_source
    from .window import MainWindow, size_value

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("stylecam")
    app.setOrganizationName("stylecam")
    settings = _settings()
    failed = ""
    spec = args.source
    source = None
    if spec is None:
        # the last file, if it is still there; a camera is probed again (it may be gone)
        last = str(settings.value("source", "") or "")
        spec = last if last and not last.isdigit() and Path(last).exists() else None
        if spec is not None:
            try:
                source, note = open_source(spec, loop=not args.no_loop)
            except StylecamError as exc:  # the last file went bad: forget it, start anyway
                settings.setValue("source", "")
                spec, failed = None, f"last file not reopened: {exc}"
    if source is None:
        source, note = open_source(spec, loop=not args.no_loop)
        note = f"{failed}; {note or f'source: {source.name}'}" if failed else note
    size = size_value(args.size) if args.size else "settings"
    window = MainWindow(source, style=style, size=size, device=args.device, precision=args.precision,
                        settings=settings, source_note=note,
                        source_spec=str(Path(spec).resolve()) if spec and not str(spec).isdigit() else spec)
    window.show()
    if record is not None:
        window.start_recording(record)
    if args.quit_after:
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    # Ctrl-C in the terminal closes the window properly (Qt would otherwise ignore it
    # until the next Python bytecode runs, i.e. never while idle in exec()).
    signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer(interval=200, timeout=lambda: None)
    tick.start()
    return app.exec()


def main(argv=None) -> int:
    return run_cli(_main, argv, prog="stylecam")


if __name__ == "__main__":
    sys.exit(main())

"""The window's Auto processing size against fixed sizes, on this machine, as it runs.

    python benchmarks/auto_size.py [--style wave] [--seconds 12] [--sizes auto,240,360,480]

Each size runs in its own offscreen window (a fresh process, the demo source, Steady on, the
precision --precision auto picks) for ``--seconds``; printed per size: what the device label
says (Auto's choice) and the status bar's model time, fps shown and frames dropped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import os, sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from stylecam.gui.window import MainWindow, size_value
from stylecam.models import Catalog
from stylecam.sources import open_source
size, style, seconds, ini = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
w = MainWindow(open_source("demo")[0], style=Catalog().resolve(style), size=size_value(size),
               settings=QSettings(ini, QSettings.Format.IniFormat))
w.show()
def done():
    print(f"{size:>5}  {w.device_label.text():45s}  {w.pipeline.stats.snapshot().text()}", flush=True)
    w.close()
QTimer.singleShot(int(seconds * 1000), done)
app.exec()
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", default="wave")
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--sizes", default="auto,240,360,480")
    args = p.parse_args(argv)
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            ini = os.path.join(tmp, f"{size}.ini")
            subprocess.run([sys.executable, "-c", CHILD, size, args.style, str(args.seconds), ini],
                           env=env, check=True, timeout=args.seconds + 120)
    return 0


if __name__ == "__main__":
    sys.exit(main())

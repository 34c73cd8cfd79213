"""Virtual-camera output through the optional ``pyvirtualcam`` package (``stylecam[vcam]``).

Qt-free; fed from the worker's output like the recorder, with a queue of two frames that
drops rather than blocks.
"""

from __future__ import annotations

import glob
import queue
import sys
import threading
from pathlib import Path

import numpy as np

from .. import frames


def vcam_status() -> tuple[bool, str]:
    """(usable, reason): whether a virtual camera can be opened here, and why not."""
    try:
        import pyvirtualcam  # noqa: F401
    except ImportError:
        return False, "Virtual camera needs the optional package: pip install 'stylecam[vcam]'"
    if sys.platform.startswith("linux"):
        names = [Path(p).read_text(errors="replace").strip().lower()
                 for p in glob.glob("/sys/devices/virtual/video4linux/*/name")]
        if not any("loopback" in n or "dummy" in n or "virtual" in n for n in names):
            return False, ("Virtual camera needs a v4l2loopback device: "
                           "sudo modprobe v4l2loopback devices=1 exclusive_caps=1")
    return True, "Send the stylized picture to a virtual camera (for video calls)"


class VirtualCamSink:
    """Sends results to a virtual camera from its own thread; ``on_error(text)`` once on failure."""

    def __init__(self, rate: float = 30.0, on_error=lambda text: None):
        self.rate, self.on_error = float(rate), on_error
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._running = True
        self._thread = threading.Thread(target=self._run, name="stylecam-vcam", daemon=True)
        self._thread.start()

    def submit(self, result) -> None:
        if self._running:
            try:
                self._queue.put_nowait(result.image)
            except queue.Full:
                pass  # the camera takes what it can; the newest frames follow

    def stop(self) -> None:
        self._running = False
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(5)

    def _run(self) -> None:
        import pyvirtualcam

        cam = None
        try:
            while self._running:
                image = self._queue.get()
                if image is None:
                    break
                if cam is None:
                    h, w = image.shape[:2]
                    cam = pyvirtualcam.Camera(width=w, height=h, fps=self.rate)
                if image.shape[:2] != (cam.height, cam.width):
                    image = frames.resize(image, cam.height, cam.width)
                cam.send(np.ascontiguousarray(image))
        except Exception as exc:  # pyvirtualcam raises RuntimeError for a missing device
            self.on_error(" ".join(f"virtual camera: {exc}".split()))
        finally:
            self._running = False
            if cam is not None:
                cam.close()

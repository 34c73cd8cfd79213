"""The live view: the newest frame, aspect kept, with an optional original | stylized wipe."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..live import Result


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    # QImage does not own the buffer: the caller keeps ``rgb`` alive as long as the image.
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)


class VideoView(QWidget):
    """Paints the newest frame, aspect kept, scaled to fit; optional split wipe."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.result: Result | None = None
        self.split = False
        self.wipe = 0.5  # where the split is, 0..1 of the picture's width
        self._images: tuple | None = None
        self.placeholder = "Starting…"

    def show_result(self, result: Result) -> None:
        self.result = result
        # keep the arrays referenced with their QImages (QImage borrows the buffer)
        self._images = (result.image, _qimage(result.image), result.original, _qimage(result.original))
        self.update()

    def image(self) -> np.ndarray | None:
        """What the view shows (the stylized picture), as RGB."""
        return None if self.result is None else self.result.image

    def picture_rect(self) -> QRectF:
        if self.result is None:
            return QRectF(self.rect())
        h, w = self.result.image.shape[:2]
        k = min(self.width() / w, self.height() / h)
        pw, ph = w * k, h * k
        return QRectF((self.width() - pw) / 2, (self.height() - ph) / 2, pw, ph)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(16, 16, 18))
        if self._images is None:
            p.setPen(QColor(200, 200, 200))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self.picture_rect()
        _, styled, _, original = self._images
        p.drawImage(target, styled)
        if self.split:
            x = target.left() + target.width() * self.wipe
            left = QRectF(target.left(), target.top(), x - target.left(), target.height())
            p.save()
            p.setClipRect(left)
            p.drawImage(target, original)
            p.restore()
            p.setPen(QPen(QColor(255, 255, 255, 220), 2))
            p.drawLine(QPointF(x, target.top()), QPointF(x, target.bottom()))
            p.setPen(QColor(255, 255, 255))
            p.drawText(QRectF(target.left() + 8, target.top() + 6, 200, 20), "Original")
            p.drawText(QRectF(x + 8, target.top() + 6, 200, 20), "Stylized")

    def _move_wipe(self, pos) -> None:
        r = self.picture_rect()
        if self.split and r.width() > 0:
            self.wipe = min(1.0, max(0.0, (pos.x() - r.left()) / r.width()))
            self.update()

    def mousePressEvent(self, event) -> None:
        self._move_wipe(event.position())

    def mouseMoveEvent(self, event) -> None:
        self._move_wipe(event.position())

"""A small horizontal bar chart drawn with QPainter (QtCharts is not in PySide6-Essentials).

One bar per value, each with its label on the left and its number at the end of the bar, scaled
to the largest value. Enough for a campaign's opens, clicks, unsubscribes and bounces.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

BAR_HEIGHT = 22
GAP = 10
MARGIN = 12


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    colour: str
    note: str = ""  # after the number, e.g. "12.5 %"


class BarChart(QWidget):
    """Horizontal bars; ``set_bars`` replaces them and repaints."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("barChart")
        self.title = title
        self.bars: list[Bar] = []
        self.empty_text = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(320)

    def set_bars(self, bars: list[Bar], empty_text: str = "") -> None:
        self.bars = list(bars)
        self.empty_text = empty_text
        self.updateGeometry()
        self.update()

    def values(self) -> dict[str, int]:
        return {bar.label: bar.value for bar in self.bars}

    def _title_height(self) -> int:
        return QFontMetrics(self.font()).height() + 6 if self.title else 0

    def sizeHint(self) -> QSize:
        rows = max(len(self.bars), 4)
        return QSize(420, 2 * MARGIN + self._title_height() + rows * (BAR_HEIGHT + GAP) - GAP)

    def minimumSizeHint(self) -> QSize:
        return QSize(320, self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        painter.setPen(QColor("#d5d8de"))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        metrics = QFontMetrics(self.font())
        top = MARGIN
        if self.title:
            bold = self.font()
            bold.setBold(True)
            painter.setFont(bold)
            painter.setPen(QColor("#1f2430"))
            painter.drawText(QRectF(MARGIN, top, self.width() - 2 * MARGIN, metrics.height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.title)
            painter.setFont(self.font())
            top += self._title_height()
        if not self.bars or not any(bar.value for bar in self.bars) and self.empty_text:
            painter.setPen(QColor("#5b6270"))
            painter.drawText(QRectF(MARGIN, top, self.width() - 2 * MARGIN,
                                    self.height() - top - MARGIN),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.empty_text)
            painter.end()
            return
        label_width = max(metrics.horizontalAdvance(bar.label) for bar in self.bars) + 12
        numbers = [self._number_text(bar) for bar in self.bars]
        number_width = max(metrics.horizontalAdvance(text) for text in numbers) + 10
        left = MARGIN + label_width
        span = max(10, self.width() - left - number_width - MARGIN)
        biggest = max(bar.value for bar in self.bars) or 1
        for bar, number in zip(self.bars, numbers, strict=True):
            row = QRectF(MARGIN, top, label_width - 8, BAR_HEIGHT)
            painter.setPen(QColor("#3a4150"))
            painter.drawText(row, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             bar.label)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#eef0f3"))
            painter.drawRoundedRect(QRectF(left, top, span, BAR_HEIGHT), 3, 3)
            width = span * bar.value / biggest
            if width > 0:
                painter.setBrush(QColor(bar.colour))
                painter.drawRoundedRect(QRectF(left, top, max(width, 3), BAR_HEIGHT), 3, 3)
            painter.setPen(QColor("#1f2430"))
            painter.drawText(QRectF(left + span + 8, top, number_width, BAR_HEIGHT),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, number)
            top += BAR_HEIGHT + GAP
        painter.end()

    @staticmethod
    def _number_text(bar: Bar) -> str:
        return f"{bar.value:,}" + (f" ({bar.note})" if bar.note else "")

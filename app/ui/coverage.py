"""Per-document coverage strips: which pages the run read."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

ROW_H = 16
LABEL_W = 120


def page_runs(pages, n: int) -> list[tuple[int, int]]:
    """Consecutive read pages merged: {1, 2, 3, 7} -> [(1, 3), (7, 7)], within 1..n."""
    runs: list[list[int]] = []
    for pg in sorted(x for x in pages if 1 <= x <= n):
        if runs and pg == runs[-1][1] + 1:
            runs[-1][1] = pg
        else:
            runs.append([pg, pg])
    return [(a, b) for a, b in runs]


class CoverageStrip(QWidget):
    """One row per document: a bar with a cell per page, filled where the run read.
    Clicking a cell asks the reader to open that page."""

    pageClicked = Signal(object, int)  # doc_id, page

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple] = []  # (doc_id, title, page_count, set(pages))
        self.fractions: list = []  # share of each document's characters given to a model
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setToolTip("Pages whose text was given to a model, per document; the share counts characters read")

    def set_coverage(self, rows) -> None:
        """rows: (doc_id, title, page_count, pages a model read[, (chars read, doc chars)]).
        The percentage is of characters given to a model where known: a sentence read on
        a page is not the whole page."""
        self.rows = []
        self.fractions: list[float | None] = []
        for r in rows:
            d, t, n, p = r[:4]
            self.rows.append((d, t, max(int(n or 0), max(p, default=0)), set(p)))
            read, total = (r[4] if len(r) > 4 else (0, 0))
            self.fractions.append(min(1.0, read / total) if total else None)
        self.updateGeometry()
        self.setVisible(bool(self.rows))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, max(1, len(self.rows)) * (ROW_H + 3) + 2)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def _bar_rect(self, i: int) -> QRectF:
        y = 1 + i * (ROW_H + 3)
        label_w = min(LABEL_W, self.width() // 3)
        right = self.fontMetrics().horizontalAdvance("100% read, 99,999 p.") + 8
        return QRectF(label_w + 4, y + 2, max(10, self.width() - label_w - 4 - right), ROW_H - 4)

    def paintEvent(self, _e):
        p = QPainter(self)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        base = pal.color(QPalette.ColorRole.Base)
        read = QColor("#2f7ed8")
        fm = p.fontMetrics()
        label_w = min(LABEL_W, self.width() // 3)
        for i, (_doc, title, n, pages) in enumerate(self.rows):
            y = 1 + i * (ROW_H + 3)
            p.setPen(text)
            p.drawText(QRectF(0, y, label_w, ROW_H), Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(title, Qt.TextElideMode.ElideMiddle, label_w))
            bar = self._bar_rect(i)
            p.fillRect(bar, base.darker(110))
            if n:
                # One rectangle per run of read pages, not per page: a summary of a
                # 1,000-page manual repaints often, and every QPainter call costs.
                w = bar.width() / n
                for first, last in page_runs(pages, n):
                    p.fillRect(QRectF(bar.left() + (first - 1) * w, bar.top(), max(1.0, (last - first + 1) * w),
                                      bar.height()), read)
            p.setPen(text)
            frac = self.fractions[i] if i < len(self.fractions) else None
            pct = 100 * frac if frac is not None else (100 * len([x for x in pages if 1 <= x <= n]) / n if n else 0)
            label = f"{pct:.0f}% read" if pct >= 1 or pct == 0 else "<1% read"
            p.drawText(QRectF(bar.right() + 6, y, self.width() - bar.right() - 6, ROW_H), Qt.AlignmentFlag.AlignVCenter,
                       f"{label}, {n:,} p.")
        p.end()

    def mousePressEvent(self, e):
        pos = e.position()
        for i, (doc, _t, n, _p) in enumerate(self.rows):
            bar = self._bar_rect(i)
            if n and bar.adjusted(0, -2, 0, 2).contains(pos):
                page = int((pos.x() - bar.left()) / bar.width() * n) + 1
                self.pageClicked.emit(doc, max(1, min(n, page)))
                return
        super().mousePressEvent(e)

"""The reader: a page of the source PDF, rendered in a worker at the screen's pixel
density, with the selected slice or citation highlighted, page navigation, zoom and find."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.theme import FIND_HIGHLIGHT, HIGHLIGHT

POINTS_TO_PX = 96 / 72  # pymupdf works in points; 100 % zoom shows a page at 96 dpi
CACHE_PAGES = 24


class ElidedLabel(QLabel):
    """A label that shortens its text with … instead of cutting it."""

    def __init__(self, text="", parent=None):
        super().__init__(parent)
        self._full = ""
        self.setMinimumWidth(60)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text):  # noqa: N802
        self._full = str(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, e):  # noqa: N802
        super().resizeEvent(e)
        self._elide()

    def _elide(self):
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(20, self.width())))


class PageCanvas(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.image = None
        self.page_size = (0.0, 0.0)  # points
        self.zoom = 1.0
        self.highlights: list = []
        self.found: list = []
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_page(self, image, page_size, zoom, highlights, found) -> None:
        self.image = image
        self.page_size = page_size
        self.zoom = zoom
        self.highlights = list(highlights)
        self.found = list(found)
        self.setFixedSize(self.sizeHint())
        self.update()

    def sizeHint(self) -> QSize:
        w, h = self.page_size
        f = self.zoom * POINTS_TO_PX
        return QSize(max(1, int(w * f)), max(1, int(h * f)))

    def to_view(self, r) -> QRectF:
        f = self.zoom * POINTS_TO_PX
        return QRectF(r[0] * f, r[1] * f, (r[2] - r[0]) * f, (r[3] - r[1]) * f)

    def paintEvent(self, _e):
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        if self.image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(QRectF(self.rect()), self.image)
        p.setPen(Qt.PenStyle.NoPen)
        for r in self.found:
            p.fillRect(self.to_view(r), FIND_HIGHLIGHT)
        for r in self.highlights:
            p.fillRect(self.to_view(r).adjusted(-1, -1, 1, 1), HIGHLIGHT)
        if self.highlights:
            p.setPen(QPen(QColor(230, 160, 0), 1.5))
            first = self.to_view(self.highlights[0])
            p.drawLine(int(first.left()) - 6, int(first.top()), int(first.left()) - 6, int(first.bottom()))
        p.end()


class ReaderPanel(QWidget):
    pageShown = Signal(int)  # after a page (and its highlights) is on screen
    unlockRequested = Signal()  # the locked-file page's "Unlock…" button

    def __init__(self, tasks, parent=None):
        super().__init__(parent)
        self.tasks = tasks
        self.path: str | None = None
        self.doc_id = None
        self.title = ""
        self.page = 1
        self.page_count = 0
        self.zoom = 1.0
        self.fit_width = True
        self.quote = ""
        self.quote_page: int | None = None
        self.quote_last: int | None = None  # the last page a quote over a page break reaches
        self.occurrence = 0
        self.find_term = ""
        self._req = 0
        self._cache: OrderedDict = OrderedDict()
        self.highlights: list = []
        self.passwords: dict[str, str] = {}  # path -> password that opened it (this session only)

        self.title_label = ElidedLabel("Reader")
        self.title_label.setObjectName("readerTitle")
        self.prev_btn = _tool("‹", "Previous page (PgUp)", self.prev_page)
        self.next_btn = _tool("›", "Next page (PgDown)", self.next_page)
        self.page_spin = QSpinBox()
        self.page_spin.setRange(1, 1)
        self.page_spin.setKeyboardTracking(False)
        self.page_spin.valueChanged.connect(lambda v: v != self.page and self.show_page(v))
        self.count_label = QLabel("/ 0")
        self.zoom_out_btn = _tool("−", "Zoom out", lambda: self.set_zoom(self.zoom / 1.2))
        self.zoom_label = QLabel("100%")
        self.zoom_in_btn = _tool("+", "Zoom in", lambda: self.set_zoom(self.zoom * 1.2))
        self.fit_btn = _tool("↔", "Fit the page width", self.fit_to_width)
        self.find_btn = _tool("Find", "Find in document (Ctrl+F)", self.show_find)

        self.find_edit = QLineEdit()
        self.find_edit.setPlaceholderText("Find in document…")
        self.find_edit.setClearButtonEnabled(True)
        self.find_edit.returnPressed.connect(lambda: self.find(self.find_edit.text()))
        self.find_next_btn = _tool("Next", "Next match", lambda: self.find(self.find_edit.text()))
        self.find_prev_btn = _tool("Previous", "Previous match", lambda: self.find(self.find_edit.text(), forward=False))
        self.find_close = _tool("✕", "Close find", self.hide_find)
        self.find_bar = QWidget()
        fb = QHBoxLayout(self.find_bar)
        fb.setContentsMargins(0, 0, 0, 0)
        for w in (self.find_edit, self.find_prev_btn, self.find_next_btn, self.find_close):
            fb.addWidget(w)
        self.find_bar.hide()

        self.canvas = PageCanvas()
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.canvas)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.scroll.setWidgetResizable(False)
        self.placeholder = QLabel("Click a citation [n] in the answer or a sub-query in the trace to see its page here, "
                                  "with the text it used highlighted.\nDouble-click a document in the library to read it.")
        self.placeholder.setObjectName("emptyHint")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.unlock_btn = QPushButton("Unlock…")
        self.unlock_btn.setToolTip("Type the PDF's password to read it here")
        self.unlock_btn.clicked.connect(self.unlockRequested)
        self.unlock_btn.hide()
        self.message = QLabel("")
        self.message.setObjectName("readerMessage")
        self.message.setWordWrap(True)
        self.message.hide()

        bar = QHBoxLayout()
        bar.addWidget(self.title_label, 1)
        for w in (self.prev_btn, self.page_spin, self.count_label, self.next_btn,
                  self.zoom_out_btn, self.zoom_label, self.zoom_in_btn, self.fit_btn, self.find_btn):
            bar.addWidget(w)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(bar)
        lay.addWidget(self.find_bar)
        lay.addWidget(self.message)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.placeholder, 1)
        lay.addWidget(self.unlock_btn, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(0)
        self.scroll.hide()

        QShortcut(QKeySequence(QKeySequence.StandardKey.MoveToNextPage), self, activated=self.next_page)
        QShortcut(QKeySequence(QKeySequence.StandardKey.MoveToPreviousPage), self, activated=self.prev_page)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self.find_bar, activated=self.hide_find)
        self._resize_timer = QTimer(self, singleShot=True, interval=120, timeout=self._refit)

    # --- opening ------------------------------------------------------------------------
    def open_document(self, path: str, *, doc_id=None, title: str = "", page: int = 1, quote: str = "",
                      page_count: int = 0, occurrence: int = 0, last_page: int = 0) -> None:
        """last_page: where a quote that runs over a page break ends; its part there is
        highlighted too when the reader turns to that page."""
        if path != self.path:
            self.path = str(path)
            self.fit_width = True
        self.placeholder.hide()
        self.unlock_btn.hide()
        self.scroll.show()
        self.doc_id = doc_id
        self.title = title or Path(path).name
        self.page_count = page_count or self.page_count
        self.quote = quote or ""
        self.quote_page = int(page) if quote else None
        self.quote_last = max(int(page), int(last_page or 0)) if quote else None
        self.occurrence = occurrence
        self.title_label.setText(self.title)
        self.title_label.setToolTip(str(path))
        self.show_page(page)

    def show_page(self, page: int) -> None:
        if not self.path:
            return
        self.page = max(1, int(page))
        if self.page_count:
            self.page = min(self.page, self.page_count)
        self._render()

    def next_page(self) -> None:
        if self.path and (not self.page_count or self.page < self.page_count):
            self.show_page(self.page + 1)

    def prev_page(self) -> None:
        if self.path and self.page > 1:
            self.show_page(self.page - 1)

    # --- zoom ---------------------------------------------------------------------------
    def set_zoom(self, zoom: float) -> None:
        self.fit_width = False
        self.zoom = max(0.25, min(6.0, zoom))
        self._render()

    def fit_to_width(self) -> None:
        self.fit_width = True
        self._render()

    def resizeEvent(self, e):  # noqa: N802
        super().resizeEvent(e)
        if self.fit_width and self.path:
            self._resize_timer.start()

    def _refit(self) -> None:
        if self.fit_width and self.path:
            self._render()

    def _fit_zoom(self, width_pt: float, avail: int | None = None) -> float:
        if avail is None:
            avail = self.scroll.viewport().width() - 24
        return max(0.25, min(4.0, avail / (width_pt * POINTS_TO_PX))) if width_pt else 1.0

    # --- find ---------------------------------------------------------------------------
    def show_find(self) -> None:
        self.find_bar.show()
        self.find_edit.setFocus()
        self.find_edit.selectAll()

    def hide_find(self) -> None:
        self.find_bar.hide()
        self.find_term = ""
        self._render()

    def find(self, term: str, forward: bool = True) -> None:
        term = term.strip()
        if not self.path or not term:
            return
        from app.ui import render

        first = term != self.find_term
        self.find_term = term
        path, start = self.path, self.page
        if first:
            start = self.page - 1 if forward else self.page + 1  # the current page counts too

        def done(p):
            if p is None:
                self._show_message(f"“{term}” is not in this document.")
            else:
                self.message.hide()
                self.show_page(p)

        self.tasks.run_function(lambda _c: render.find_next_page(path, term, start, forward),
                                on_result=done, on_failed=self._show_message)

    # --- rendering ----------------------------------------------------------------------
    def _render(self) -> None:
        if not self.path:
            return
        from app.ui import render

        self._req += 1
        req = self._req
        dpr = self.devicePixelRatioF() or 1.0
        path, page = self.path, self.page
        on_quote = self.quote_page is not None and self.quote_page <= page <= (self.quote_last or self.quote_page)
        quote = self.quote if on_quote else ""
        find = self.find_term
        occurrence = self.occurrence if page == self.quote_page else 0
        password = self.passwords.get(path)
        size = self._cache_size(path, page)
        avail = self.scroll.viewport().width() - 24
        fit = self.fit_width
        zoom = self._fit_zoom(size[0]) if (self.fit_width and size) else self.zoom
        key = (path, page, round(zoom * dpr, 3))
        cached = self._cache.get(key)
        with_image = cached is None
        if cached is not None:
            self._cache.move_to_end(key)

        def job(_cancel):
            z, need_image = zoom, with_image
            if fit and not size:
                # First view of this document: learn the page width, then fit it.
                z = self._fit_zoom(render.render_page(path, page, 1.0, with_image=False, password=password).width, avail)
                need_image = True
            r = render.render_page(path, page, z * dpr * POINTS_TO_PX, quote=quote, find=find, with_image=need_image,
                                   occurrence=occurrence, password=password)
            r.zoom = z
            return r

        def done(r):
            if req != self._req:
                return  # a newer request superseded this one
            z = r.zoom
            if r.image is not None:
                r.image.setDevicePixelRatio(dpr)
                self._cache[(path, r.page_no, round(z * dpr, 3))] = (r.image, (r.width, r.height))
                while len(self._cache) > CACHE_PAGES:
                    self._cache.popitem(last=False)
                image = r.image
            else:
                image = cached[0]
            self.zoom = z
            self.page = r.page_no
            self.page_count = r.page_count
            self.highlights = r.highlights
            self.message.hide()
            if quote and not r.highlights:
                self._show_message("The quoted text could not be located on this page; showing the page it cites.")
            self.canvas.set_page(image, (r.width, r.height), z, r.highlights, r.found)
            self.page_spin.blockSignals(True)
            self.page_spin.setRange(1, max(1, r.page_count))
            self.page_spin.setValue(r.page_no)
            self.page_spin.blockSignals(False)
            self.count_label.setText(f"/ {r.page_count}")
            self.zoom_label.setText(f"{z * 100:.0f}%")
            if r.highlights:
                first = self.canvas.to_view(r.highlights[0])
                self.scroll.ensureVisible(int(first.center().x()), int(first.center().y()), 40, 120)
            self.pageShown.emit(r.page_no)

        def failed(msg):
            if req == self._req:
                self._show_failure(msg)

        self.tasks.run_function(job, on_result=done, on_failed=failed)

    def _show_failure(self, msg: str) -> None:
        """A page that cannot be shown replaces the old one (which belongs to another
        document); a locked PDF gets an Unlock… button instead of an error."""
        self.scroll.hide()
        self.message.hide()
        self.highlights = []
        name = Path(self.path).name if self.path else "This document"
        if "password" in msg.lower():
            self.placeholder.setText(f"🔒 {name} is locked with a password.\nUnlock it to read it here.")
            self.unlock_btn.show()
        else:
            self.placeholder.setText(f"{name} cannot be shown: {msg}")
            self.unlock_btn.hide()
        self.placeholder.show()

    def unlock(self, password: str) -> bool:
        """True if the password opens the current PDF (then its page is shown)."""
        from app.ui import render

        if not self.path or not render.check_password(self.path, password):
            return False
        self.passwords[self.path] = password
        self.placeholder.hide()
        self.unlock_btn.hide()
        self.scroll.show()
        self._render()
        return True

    def clear_highlight(self) -> None:
        """Drop the previous answer's highlight (a new question does not cite it)."""
        if self.quote or self.highlights:
            self.quote, self.quote_page, self.quote_last, self.highlights = "", None, None, []
            if self.path and self.scroll.isVisible():
                self._render()

    def _cache_size(self, path, page):
        for (p, pg, _s), (_img, size) in reversed(self._cache.items()):
            if p == path and pg == page:
                return size
        for (p, _pg, _s), (_img, size) in reversed(self._cache.items()):
            if p == path:
                return size  # pages of one document are usually the same size
        return None

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


def _tool(text: str, tip: str, slot) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b

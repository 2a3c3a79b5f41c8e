"""The Ask panel: question, scope, mode and budget, Ask/Stop, the streamed answer with
citation links, and a context meter that says how big and slow the question will be."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.ui.drops import DropMixin
from app.ui.settings import MODES

CITE_RE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


class QuestionEdit(DropMixin, QPlainTextEdit):
    """The question box; files dropped on it are imported and become the scope."""

    pathsDropped = Signal(list)
    submit = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setPlaceholderText("Ask a question about the documents in scope…  (Ctrl+Enter to ask; drop files here to ask about them)")
        self.setTabChangesFocus(True)

    def on_paths_dropped(self, paths):
        self.pathsDropped.emit(paths)

    def canInsertFromMimeData(self, source):  # noqa: N802
        return source.hasUrls() or super().canInsertFromMimeData(source)

    def keyPressEvent(self, e):  # noqa: N802
        if e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submit.emit()
            return
        super().keyPressEvent(e)


def answer_html(text: str, citations: dict) -> str:
    """The answer as HTML with every [n] a link to citation n (cite:n)."""
    def link(m):
        parts = []
        for n in re.split(r"\s*,\s*", m.group(1)):
            c = citations.get(int(n))
            title = html.escape(f"{c.get('title', '')} p.{c.get('page', '')}", quote=True) if c else ""
            parts.append(f"<a href='cite:{n}' title='{title}'>{n}</a>")
        return "[" + ", ".join(parts) + "]"

    escaped = html.escape(text or "")
    body = CITE_RE.sub(link, escaped).replace("\n", "<br>")
    return f"<div style='font-size:11pt; line-height:140%'>{body}</div>"


def citations_html(citations: list[dict]) -> str:
    if not citations:
        return ""
    rows = []
    for c in citations:
        quote = " ".join(str(c.get("quote", "")).split())
        if len(quote) > 220:
            quote = quote[:219] + "…"
        rows.append(f"<li><a href='cite:{c.get('n')}'>[{c.get('n')}]</a> "
                    f"<b>{html.escape(str(c.get('title', '')))}</b>, p.&nbsp;{c.get('page', '')}: "
                    f"<i>“{html.escape(quote)}”</i></li>")
    return "<hr><div><b>Sources</b><ol style='margin-left:-20px'>" + "".join(rows) + "</ol></div>"


class AskPanel(QWidget):
    askRequested = Signal()
    stopRequested = Signal()
    citationClicked = Signal(int)
    pathsDropped = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.question = QuestionEdit()
        self.question.setMaximumHeight(90)
        self.question.submit.connect(self.askRequested)
        self.question.pathsDropped.connect(self.pathsDropped)

        self.scope_label = QLabel("Scope: all documents")
        self.scope_label.setObjectName("scopeLabel")
        self.scope_label.setWordWrap(True)
        self.meter = QLabel("")
        self.meter.setObjectName("contextMeter")
        self.meter.setWordWrap(True)

        self.mode = QComboBox()
        for key, label in MODES:
            self.mode.addItem(label, key)
        self.mode.setToolTip("Guided: reads the whole scope slice by slice.  REPL: the model writes code over the text.\n"
                             "Direct: one call with the text that fits.  RAG: the best-matching chunks only.")
        self.budget = QSpinBox()
        self.budget.setRange(1, 10000)
        self.budget.setPrefix("max ")
        self.budget.setSuffix(" calls")
        self.budget.setToolTip("Budget: the most model calls this question may make")
        self.ask_btn = QPushButton("Ask")
        self.ask_btn.setDefault(True)
        self.ask_btn.setToolTip("Ask (Ctrl+Enter)")
        self.ask_btn.clicked.connect(self.askRequested)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop the run (Esc); the best partial answer is kept")
        self.stop_btn.setEnabled(False)
        self.stop_btn.clicked.connect(self.stopRequested)

        self.status = QLabel("")
        self.status.setObjectName("runStatus")
        self.status.setWordWrap(True)
        self.answer = QTextBrowser()
        self.answer.setOpenLinks(False)
        self.answer.setOpenExternalLinks(False)
        self.answer.anchorClicked.connect(self._anchor)
        self.answer.setPlaceholderText("The answer appears here, with links to its sources.")

        row = QHBoxLayout()
        row.addWidget(QLabel("Mode"))
        row.addWidget(self.mode)
        row.addWidget(self.budget)
        row.addStretch(1)
        row.addWidget(self.ask_btn)
        row.addWidget(self.stop_btn)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 4)
        lay.addWidget(self.question)
        lay.addWidget(self.scope_label)
        lay.addWidget(self.meter)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.answer, 1)

        self._answer_text = ""
        self._citations: dict[int, dict] = {}
        self._citation_list: list[dict] = []

    # --- state --------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.ask_btn.setEnabled(not running)
        self.stop_btn.setEnabled(running)

    def set_status(self, text: str, kind: str = "info") -> None:
        colors = {"info": "", "error": "color:#d6453d;", "warn": "color:#b7791f;", "ok": "color:#2e9d57;"}
        self.status.setText(f"<span style='{colors.get(kind, '')}'>{html.escape(text)}</span>" if text else "")

    # --- answer -------------------------------------------------------------------------
    def clear_answer(self) -> None:
        self._answer_text = ""
        self._citations = {}
        self._citation_list = []
        self.answer.clear()

    def append_answer(self, text: str) -> None:
        self._answer_text += text
        self._render()

    def set_answer(self, text: str, citations: list[dict]) -> None:
        self._answer_text = text or ""
        self._citation_list = list(citations or [])
        self._citations = {int(c.get("n")): c for c in self._citation_list if c.get("n") is not None}
        self._render()
        self.answer.verticalScrollBar().setValue(0)  # the finished answer reads from its start

    def answer_text(self) -> str:
        return self._answer_text

    def citation(self, n: int) -> dict | None:
        return self._citations.get(int(n))

    def _render(self) -> None:
        bar = self.answer.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        self.answer.setHtml(answer_html(self._answer_text, self._citations) + citations_html(self._citation_list))
        if at_end:
            bar.setValue(bar.maximum())

    def _anchor(self, url: QUrl) -> None:
        s = url.toString()
        if s.startswith("cite:"):
            try:
                self.citationClicked.emit(int(s[5:]))
            except ValueError:
                pass

    def click_citation(self, n: int) -> None:
        """What a click on [n] does (tests and scripted runs use it)."""
        self._anchor(QUrl(f"cite:{n}"))

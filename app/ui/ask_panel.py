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
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.report import pages_text
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


def _inline(text: str, citations: dict) -> str:
    """One escaped line with **bold** and every [n] a link to citation n (cite:n)."""
    def link(m):
        parts = []
        for n in re.split(r"\s*,\s*", m.group(1)):
            c = citations.get(int(n))
            tip = html.escape(f"{c.get('title', '')}, page {c.get('page_label') or c.get('page', '')}", quote=True) if c else ""
            parts.append(f"<a href='cite:{n}' title='{tip}' style='text-decoration:none'><b>{n}</b></a>")
        return "<sup>[" + ", ".join(parts) + "]</sup>"

    escaped = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))
    return CITE_RE.sub(link, escaped)


def answer_html(text: str, citations: dict) -> str:
    """The answer as rich text: paragraphs at blank lines, '- ' or '• ' lines as a list,
    **bold**, and inline [n] citation links. Everything else is escaped: the answer is
    often verbatim document text, never markup to trust."""
    blocks, items = [], []

    def flush_list():
        if items:
            blocks.append("<ul style='margin-top:2px'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    para: list[str] = []
    for line in (text or "").split("\n"):
        stripped = line.strip()
        bullet = re.match(r"^(?:[-•*]|\d+[.)])\s+(.*)", stripped)
        if bullet:
            if para:
                blocks.append("<p>" + "<br>".join(para) + "</p>")
                para = []
            items.append(_inline(bullet.group(1), citations))
        elif not stripped:
            flush_list()
            if para:
                blocks.append("<p>" + "<br>".join(para) + "</p>")
                para = []
        else:
            flush_list()
            para.append(_inline(stripped, citations))
    flush_list()
    if para:
        blocks.append("<p>" + "<br>".join(para) + "</p>")
    return f"<div style='font-size:12.5pt; line-height:140%'>{''.join(blocks)}</div>"


def source_line(c: dict) -> tuple[str, str]:
    """(where, quote) of one source: title, file name (when it differs), printed page
    label with the PDF page index beside it when they differ, both pages of a quote that
    runs over a page break (app.report.pages_text)."""
    title = str(c.get("title") or f"document {c.get('doc_id')}")
    file = str(c.get("file") or "")
    where = title + (f" — {file}" if file and file != title else "") + f", {pages_text(c)}"
    return where, " ".join(str(c.get("quote", "")).split())


def citations_html(citations: list[dict]) -> str:
    if not citations:
        return ""
    rows = []
    for c in citations:
        where, quote = source_line(c)
        if len(quote) > 320:
            quote = quote[:319] + "…"
        rows.append(f"<tr><td valign='top' style='padding-right:6px'><a href='cite:{c.get('n')}' "
                    f"style='text-decoration:none'><b>[{c.get('n')}]</b></a></td>"
                    f"<td><a href='cite:{c.get('n')}' style='text-decoration:none'>{html.escape(where)}</a><br>"
                    f"<i>“{html.escape(quote)}”</i></td></tr>")
    return ("<h4 style='margin-top:14px; margin-bottom:4px'>Sources</h4>"
            "<table cellspacing='0' cellpadding='3'>" + "".join(rows) + "</table>")


def answer_with_sources_text(question: str, answer: str, citations: list[dict]) -> str:
    """Clean plain text for the clipboard: question, answer, numbered sources."""
    lines = []
    if question:
        lines += [f"Q: {question.strip()}", ""]
    lines.append((answer or "").strip())
    if citations:
        lines += ["", "Sources:"]
        for c in citations:
            where, quote = source_line(c)
            lines.append(f"[{c.get('n')}] {where}: “{quote}”")
    return "\n".join(lines) + "\n"


class AskPanel(QWidget):
    askRequested = Signal()
    stopRequested = Signal()
    citationClicked = Signal(int)
    pathsDropped = Signal(list)
    settingsRequested = Signal()  # the status line's "Open model settings" button
    unlockRequested = Signal()
    newConversation = Signal()
    copyRequested = Signal()
    exportRequested = Signal(str)  # "md" or "pdf"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.question = QuestionEdit()
        self.question.setMaximumHeight(58)
        self.question.submit.connect(self.askRequested)
        self.question.pathsDropped.connect(self.pathsDropped)

        self.scope_label = QLabel("Scope: all documents")
        self.scope_label.setObjectName("scopeLabel")
        self.scope_label.setWordWrap(True)
        self.meter = QLabel("")
        self.meter.setObjectName("contextMeter")
        self.meter.setWordWrap(True)

        self.mode = QComboBox()
        for key, label, tip in MODES:
            self.mode.addItem(label, key)
            self.mode.setItemData(self.mode.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        # Long plain names must not widen the window: the combo may shrink, the tooltip and
        # the hint line under it say the rest.
        self.mode.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.mode.setMinimumContentsLength(8)
        self.mode_hint = QLabel("")
        self.mode_hint.setObjectName("hint")
        self.mode_hint.setWordWrap(True)
        self.mode.currentIndexChanged.connect(lambda _i: self.set_mode_warning(self._mode_warning))
        self._mode_warning = ""
        self.budget = QSpinBox()
        self.budget.setRange(0, 10000)
        self.budget.setSpecialValueText("no call limit")  # 0 = no limit (RunConfig None), said in words
        self.budget.setPrefix("max ")
        self.budget.setSuffix(" calls")
        self.budget.setToolTip("The most model calls this question may make (0 = no limit). "
                               "Tokens and time limits are in Models and settings.")
        self.trace_btn = QPushButton("Trace")
        self.trace_btn.setCheckable(True)
        self.trace_btn.setToolTip("Show or hide the trace of sub-queries (Ctrl+T)")
        self.new_btn = QPushButton("New thread")
        self.new_btn.setObjectName("newConversation")
        self.new_btn.setToolTip("New conversation: the next question is not read as a follow-up of this thread")
        self.new_btn.clicked.connect(self.newConversation)
        self.ask_btn = QPushButton("Ask")
        self.ask_btn.setDefault(True)
        self.ask_btn.setToolTip("Ask (Ctrl+Enter)")
        self.ask_btn.clicked.connect(self.askRequested)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Stop the run (Esc); the best partial answer is kept")
        self.stop_btn.setEnabled(False)
        self.stop_btn.clicked.connect(self.stopRequested)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumHeight(16)
        self.progress.hide()
        self.status = QLabel("")
        self.status.setObjectName("runStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_btn = QPushButton("")
        self.action_btn.hide()
        self.action_btn.clicked.connect(self._action)
        self._action_kind = ""

        self.thread_label = QLabel("")
        self.thread_label.setObjectName("threadLabel")
        self.thread_label.setWordWrap(True)
        self.thread_label.hide()
        self.answer = QTextBrowser()
        self.answer.setOpenLinks(False)
        self.answer.setOpenExternalLinks(False)
        self.answer.anchorClicked.connect(self._anchor)
        self.answer.setPlaceholderText("The answer appears here, with numbered sources. Click a number to open its page.")
        self.copy_btn = QPushButton("Copy with sources")
        self.copy_btn.setToolTip("Copy answer with sources: the answer and its numbered sources as clean text")
        self.copy_btn.clicked.connect(self.copyRequested)
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip("Save this conversation as a clean report (Markdown or PDF) with the quoted passages")
        menu = QMenu(self.export_btn)
        menu.addAction("Markdown…", lambda: self.exportRequested.emit("md"))
        menu.addAction("PDF…", lambda: self.exportRequested.emit("pdf"))
        self.export_btn.setMenu(menu)
        for b in (self.copy_btn, self.export_btn):
            b.setEnabled(False)

        row = QHBoxLayout()
        row.addWidget(self.mode, 1)
        row.addWidget(self.budget)
        row.addWidget(self.ask_btn)
        row.addWidget(self.stop_btn)

        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.action_btn, 0, Qt.AlignmentFlag.AlignTop)

        tail = QHBoxLayout()
        tail.addWidget(self.copy_btn)
        tail.addWidget(self.export_btn)
        tail.addStretch(1)
        tail.addWidget(self.new_btn)
        tail.addWidget(self.trace_btn)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 4)
        lay.setSpacing(4)
        lay.addWidget(self.question)
        lay.addLayout(row)
        lay.addWidget(self.mode_hint)
        lay.addWidget(self.scope_label)
        lay.addWidget(self.meter)
        lay.addWidget(self.progress)
        lay.addLayout(status_row)
        lay.addWidget(self.thread_label)
        lay.addWidget(self.answer, 1)
        lay.addLayout(tail)

        self._answer_text = ""
        self._citations: dict[int, dict] = {}
        self._citation_list: list[dict] = []
        self.set_mode_warning("")

    # --- state --------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.ask_btn.setEnabled(not running)
        self.stop_btn.setEnabled(running)
        if running:
            self.progress.setRange(0, 0)  # busy until the plan says how many slices
            self.progress.setFormat("starting…")
            self.progress.show()
        else:
            self.progress.hide()

    def set_progress(self, done: int, planned: int) -> None:
        if planned <= 0:
            return
        self.progress.setRange(0, planned)
        self.progress.setValue(min(done, planned))
        self.progress.setFormat(f"{min(done, planned)} of {planned} planned slices read")

    def set_mode_warning(self, warning: str) -> None:
        """The current mode in plain words, and what stops it working with this model."""
        self._mode_warning = warning
        i = self.mode.currentIndex()
        tip = self.mode.itemData(i, Qt.ItemDataRole.ToolTipRole) or ""
        self.mode.setToolTip(tip)
        if warning:
            self.mode_hint.setText(f"<span style='color:#b7791f'>⚠ {html.escape(warning)}</span>")
        else:
            self.mode_hint.setText(html.escape(tip))

    def set_status(self, text: str, kind: str = "info", action: str = "") -> None:
        """The whole message (word-wrapped, never cut; also the tooltip) and, where the user
        can fix something, one button: action 'settings' or 'unlock'."""
        colors = {"info": "", "error": "color:#d6453d;", "warn": "color:#b7791f;", "ok": "color:#2e9d57;"}
        self.status.setText(f"<span style='{colors.get(kind, '')}'>{html.escape(text)}</span>" if text else "")
        self.status.setToolTip(text)
        self._status_plain = text
        self._action_kind = action
        labels = {"settings": "Open model settings", "unlock": "Unlock…"}
        self.action_btn.setText(labels.get(action, ""))
        self.action_btn.setVisible(action in labels)

    def status_text(self) -> str:
        return getattr(self, "_status_plain", "")

    def _action(self) -> None:
        if self._action_kind == "settings":
            self.settingsRequested.emit()
        elif self._action_kind == "unlock":
            self.unlockRequested.emit()

    def set_thread(self, turns: list[dict]) -> None:
        """Earlier questions of this conversation, one short line each."""
        if not turns:
            self.thread_label.hide()
            self.thread_label.setText("")
            return
        lines = []
        for t in turns[-3:]:
            a = " ".join(CITE_RE.sub("", str(t.get("answer") or "")).split())
            a = a if len(a) <= 90 else a[:89] + "…"
            lines.append(f"<b>Q:</b> {html.escape(str(t.get('question') or ''))} — {html.escape(a)}")
        more = f"{len(turns) - 3} earlier… " if len(turns) > 3 else ""
        self.thread_label.setText(f"<span style='color:#8a8f98'>Conversation: {more}</span><br>" + "<br>".join(lines))
        self.thread_label.show()

    # --- answer -------------------------------------------------------------------------
    def clear_answer(self) -> None:
        self._answer_text = ""
        self._citations = {}
        self._citation_list = []
        self.answer.clear()
        for b in (self.copy_btn, self.export_btn):
            b.setEnabled(False)

    def append_answer(self, text: str) -> None:
        self._answer_text += text
        self._render()

    def set_answer(self, text: str, citations: list[dict]) -> None:
        self._answer_text = text or ""
        self._citation_list = list(citations or [])
        self._citations = {int(c.get("n")): c for c in self._citation_list if c.get("n") is not None}
        self._render()
        self.answer.verticalScrollBar().setValue(0)  # the finished answer reads from its start
        for b in (self.copy_btn, self.export_btn):
            b.setEnabled(bool(self._answer_text.strip()))

    def update_sources(self, citations: list[dict]) -> None:
        """Citations with file names and printed page labels filled in (read later)."""
        self._citation_list = list(citations or [])
        self._citations = {int(c.get("n")): c for c in self._citation_list if c.get("n") is not None}
        bar = self.answer.verticalScrollBar().value()
        self._render()
        self.answer.verticalScrollBar().setValue(bar)

    def answer_text(self) -> str:
        return self._answer_text

    def citations(self) -> list[dict]:
        return list(self._citation_list)

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

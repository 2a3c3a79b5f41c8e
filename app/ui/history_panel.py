"""History: past runs from the store, reopened with their trace, exported as Markdown or JSON."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.theme import STATUS_COLORS

RUN_ID = Qt.ItemDataRole.UserRole + 1
RUN_STATUS_COLORS = {"done": STATUS_COLORS["ready"], "budget": "#b7791f", "cancelled": "#8a8f98",
                     "failed": STATUS_COLORS["error"], "running": STATUS_COLORS["importing"],
                     "interrupted": "#b7791f"}


def thread_of(run: dict) -> str:
    """The conversation a run belongs to ('' for runs asked on their own)."""
    settings = run.get("settings")
    return str(settings.get("thread") or "") if isinstance(settings, dict) else ""


class HistoryPanel(QWidget):
    runOpened = Signal(dict)  # the full run (Store.get_run), nodes included

    def __init__(self, engine, tasks, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.tasks = tasks
        self.runs: list[dict] = []

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search questions and answers…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["Question", "Answer", "Status", "When"])
        self.list.setRootIsDecorated(False)
        self.list.setAlternatingRowColors(True)
        self.list.setUniformRowHeights(True)
        hdr = self.list.header()
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.list.itemActivated.connect(lambda item, _c: self.open_run(item.data(0, RUN_ID)))

        self.open_btn = _tool("Open", "Show this run's answer and trace", lambda: self.open_run(self.selected_id()))
        self.export_btn = _tool("Export", "Save the selected run as Markdown (a readable report) or JSON (the whole trace)", None)
        menu = QMenu(self.export_btn)
        menu.addAction("Report as Markdown…", lambda: self.export(self.selected_id(), "md"))
        menu.addAction("Report as PDF…", lambda: self.export(self.selected_id(), "pdf"))
        menu.addAction("Whole trace as JSON…", lambda: self.export(self.selected_id(), "json"))
        self.export_btn.setMenu(menu)
        self.export_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.del_btn = _tool("Delete", "Delete this run from the history", lambda: self.delete(self.selected_id()))
        self.refresh_btn = _tool("↻", "Refresh: reload the history", self.refresh)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.hide()

        row = QHBoxLayout()
        for b in (self.open_btn, self.export_btn, self.del_btn):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.refresh_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(row)
        lay.addWidget(self.search)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.message)

    def refresh(self) -> None:
        self.tasks.run_function(lambda _c: self.engine.list_runs(), on_result=self._fill, on_failed=self._say)

    def _fill(self, runs) -> None:
        """One row per run; a conversation's follow-ups sit under its first question."""
        from PySide6.QtGui import QBrush, QColor

        self.runs = list(runs)
        self.items: list[tuple[QTreeWidgetItem, dict]] = []
        self.list.clear()
        heads: dict = {}  # thread id -> the item of its first question
        for r in sorted(self.runs, key=lambda r: int(r.get("id") or 0)):
            answer = " ".join(re.sub(r"\s*\[\d+(?:\s*,\s*\d+)*\]", "", str(r.get("answer") or "")).split())
            item = QTreeWidgetItem([" ".join(str(r.get("question", "")).split()),
                                    answer if len(answer) <= 120 else answer[:119] + "…", str(r.get("status", "")),
                                    str(r.get("started_at", "") or "")[:16].replace("T", " ")])
            item.setData(0, RUN_ID, r.get("id"))
            asked = (r.get("settings") or {}).get("asked") if isinstance(r.get("settings"), dict) else None
            tip = str(r.get("question", ""))
            if asked and asked != r.get("question"):
                tip = f"Asked: {asked}\nRan as: {tip}"
            item.setToolTip(0, tip)
            item.setToolTip(1, answer[:600])
            color = RUN_STATUS_COLORS.get(str(r.get("status", "")))
            if color:
                item.setForeground(2, QBrush(QColor(color)))
            thread = thread_of(r)
            if thread and thread in heads:
                heads[thread].addChild(item)
            else:
                self.list.insertTopLevelItem(0, item)  # newest conversations first
                if thread:
                    heads[thread] = item
            self.items.append((item, r))
        self.list.expandAll()
        self._filter(self.search.text())

    def thread_runs(self, run: dict) -> list[dict]:
        """The runs of run's conversation up to and including it, oldest first."""
        t = thread_of(run)
        if not t:
            return [run]
        rid = int(run.get("id") or 0)
        return sorted((r for r in self.runs if thread_of(r) == t and int(r.get("id") or 0) <= rid),
                      key=lambda r: int(r.get("id") or 0))

    def _filter(self, text: str) -> None:
        """Every word must occur in the question or the answer (case-insensitive); a
        conversation stays visible while one of its turns matches."""
        words = text.lower().split()
        for item, r in getattr(self, "items", []):
            hay = f"{r.get('question', '')} {r.get('answer', '')} {(r.get('settings') or {}).get('asked') or ''}".lower()
            item.setHidden(not all(w in hay for w in words))
        for i in range(self.list.topLevelItemCount()):
            top = self.list.topLevelItem(i)
            if any(not top.child(k).isHidden() for k in range(top.childCount())):
                top.setHidden(False)

    def selected_id(self):
        item = self.list.currentItem()
        return item.data(0, RUN_ID) if item is not None else None

    def open_run(self, run_id) -> None:
        if run_id is None:
            self._say("Select a run first.")
            return

        def got(run):
            if run is None:
                self._say("That run is no longer in the history.")
                return
            self.message.hide()
            self.runOpened.emit(run)

        self.tasks.run_function(lambda _c: self.engine.get_run(run_id), on_result=got, on_failed=self._say)

    def export(self, run_id, fmt: str, path: str | None = None) -> None:
        if run_id is None:
            self._say("Select a run first.")
            return
        if path is None:
            filt = {"md": "Markdown (*.md)", "pdf": "PDF (*.pdf)"}.get(fmt, "JSON (*.json)")
            path, _ = QFileDialog.getSaveFileName(self, "Export run", f"lectern-run-{run_id}.{fmt}", filt)
            if not path:
                return

        def job(_c):
            run = self.engine.get_run(run_id)
            if run is None:
                raise ValueError("that run is no longer in the history")
            if fmt in ("md", "pdf"):
                # A clean report (question, answer, sources with their quotes), not a
                # prompt dump: `lectern runs export` and JSON keep the whole trace.
                cites = self.engine.describe_sources(run.get("citations") or [])
                turn = {"question": run.get("question", ""), "answer": run.get("answer", ""), "citations": cites}
                return self.engine.export_report([turn], path, fmt)
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.engine.run_json(run))
            return path

        self.tasks.run_function(job, on_result=lambda p: self._say(f"Saved {p}"), on_failed=self._say)

    def delete(self, run_id) -> None:
        if run_id is None:
            return
        self.tasks.run_function(lambda _c: self.engine.delete_run(run_id), on_result=lambda _r: self.refresh(),
                                on_failed=self._say)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


def _tool(text, tip, slot) -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(tip)
    if slot is not None:
        b.clicked.connect(slot)
    return b

"""The trace side panel: totals, per-document coverage, the live tree and node details."""

from __future__ import annotations

import html

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.ui.coverage import CoverageStrip
from app.ui.engine import as_dict
from app.ui.theme import FATE_COLORS, FATE_LABELS
from app.ui.trace_model import TraceModel, slice_label


class TracePanel(QWidget):
    nodeSelected = Signal(dict)  # the window jumps the reader to node['slice']
    coveragePageClicked = Signal(object, int)

    def __init__(self, engine, tasks, doc_info=None, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.tasks = tasks
        self.doc_info = doc_info or (lambda doc_id: (str(doc_id), 0))
        self.model = TraceModel(self)
        self.run_totals: dict | None = None
        self._detail_req = 0

        self.totals = QLabel()
        self.totals.setObjectName("traceTotals")
        self.totals.setWordWrap(True)
        self.legend = QLabel(" ".join(
            f"<span style='color:{FATE_COLORS[f]}'>●</span>&nbsp;{FATE_LABELS[f]}&nbsp;&nbsp;"
            for f in ("cited", "merged", "discarded")))
        self.legend.setObjectName("hint")
        self.legend.setWordWrap(True)
        self.coverage = CoverageStrip()
        self.coverage.pageClicked.connect(self.coveragePageClicked)
        self.coverage.hide()

        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setIndentation(14)
        hdr = self.tree.header()
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in enumerate((118, 0, 128, 62, 54, 40)):
            if width:
                self.tree.setColumnWidth(col, width)
        self.tree.setMinimumWidth(200)
        self.tree.selectionModel().currentRowChanged.connect(self._current_changed)
        self.model.rowsInserted.connect(self._rows_inserted)
        self._totals_timer = QTimer(self, singleShot=True, interval=0, timeout=self._update_totals)
        self.model.dataChanged.connect(lambda *_: self._totals_timer.start())

        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.setPlaceholderText("Select a sub-query to see its full prompt, output and the text it read.")

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.splitter = split

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.totals)
        lay.addWidget(self.legend)
        lay.addWidget(self.coverage)
        lay.addWidget(split, 1)
        self._update_totals()

    # --- feeding ----------------------------------------------------------------------
    def clear(self) -> None:
        self.model.clear()
        self.run_totals = None
        self.details.clear()
        self._update_totals()

    def add_or_update(self, node) -> None:
        self.model.upsert(node)
        cur = self.model.node(self.tree.currentIndex())
        n = as_dict(node)
        if cur is not None and cur.get("id") == n.get("id"):
            self._show_details(cur)

    def merge_nodes(self, nodes) -> None:
        """Apply the final state of every node; only changed ones touch the view."""
        known = {n.get("id"): n for n in self.model.nodes()}
        for n in nodes:
            n = as_dict(n)
            old = known.get(n.get("id"))
            if old is None or any(old.get(k) != v for k, v in n.items()):
                self.model.upsert(n)

    def set_nodes(self, nodes) -> None:
        self.model.set_nodes(nodes)
        self.tree.expandAll()
        self._update_totals()

    def set_run_totals(self, totals: dict | None) -> None:
        self.run_totals = dict(totals or {}) or None
        self._update_totals()

    def _rows_inserted(self, parent, first, last) -> None:
        self.tree.expand(parent) if parent.isValid() else None
        idx = self.model.index(last, 0, parent)
        if idx.isValid():
            self.tree.expand(idx)
        self._totals_timer.start()

    def _update_totals(self) -> None:
        t = dict(self.model.totals())
        if self.run_totals:
            t.update({k: v for k, v in self.run_totals.items() if v is not None})
        tokens = int(t.get("tokens_in", 0) or 0) + int(t.get("tokens_out", 0) or 0)
        cached = int(t.get("cached_tokens", 0) or 0)
        seconds = float(t.get("seconds", 0) or 0)
        self.totals.setText(
            f"<b>{int(t.get('calls', 0) or 0)}</b> calls · <b>{tokens:,}</b> tokens"
            + (f" ({cached:,} cached)" if cached else "")
            + f" · <b>{seconds:.1f}</b> s · depth <b>{int(t.get('depth', 0) or 0)}</b>")
        rows = []
        for doc_id, pages in sorted(self.model.pages_read().items(), key=lambda kv: str(kv[0])):
            title, n = self.doc_info(doc_id)
            rows.append((doc_id, title, n, pages))
        self.coverage.set_coverage(rows)

    # --- selection --------------------------------------------------------------------
    def select_node(self, node_id) -> bool:
        idx = self.model.index_for_id(node_id)
        if not idx.isValid():
            return False
        self.tree.scrollTo(idx)
        self.tree.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        return True

    def current_node(self) -> dict | None:
        return self.model.node(self.tree.currentIndex())

    def _current_changed(self, current, _previous) -> None:
        node = self.model.node(current)
        if node is None:
            return
        self._show_details(node)
        self.nodeSelected.emit(node)

    def _show_details(self, node: dict) -> None:
        self._detail_req += 1
        req = self._detail_req
        self._render_details(node, None)
        sl = as_dict(node.get("slice"))
        if sl.get("doc_id") is not None:
            self.tasks.run_function(
                lambda _c: self.engine.slice_text(sl.get("doc_id"), sl.get("char_start"), sl.get("char_end"),
                                                  sl.get("page_start"), sl.get("page_end")),
                on_result=lambda text: req == self._detail_req and self._render_details(node, text),
                on_failed=lambda msg: req == self._detail_req and self._render_details(node, f"(could not read the slice: {msg})"),
            )

    def _render_details(self, node: dict, slice_text) -> None:
        fate = node.get("fate") or ""
        esc = lambda s: html.escape(str(s or ""))  # noqa: E731
        head = f"<h3>{esc(node.get('kind'))} · {esc(node.get('status'))}</h3>"
        if fate:
            head += (f"<p><span style='color:{FATE_COLORS.get(fate, '#888')}'>●</span> "
                     f"{esc(FATE_LABELS.get(fate, fate))}"
                     + (f": {esc(node.get('fate_reason'))}" if node.get("fate_reason") else "") + "</p>")
        meta = (f"<p>{esc(slice_label(node.get('slice')))} · {int(node.get('tokens_in') or 0):,} in / "
                f"{int(node.get('tokens_out') or 0):,} out · {float(node.get('seconds') or 0):.1f} s</p>")
        body = f"<h4>Output</h4><pre style='white-space:pre-wrap'>{esc(node.get('output'))}</pre>"
        if node.get("slice"):
            text = "(loading…)" if slice_text is None else slice_text
            body += f"<h4>Slice text</h4><pre style='white-space:pre-wrap'>{esc(text[:20000])}</pre>"
        body += f"<h4>Prompt</h4><pre style='white-space:pre-wrap'>{esc(node.get('prompt'))}</pre>"
        self.details.setHtml(head + meta + body)

"""The trace side panel: totals, per-document coverage, the live tree and node details."""

from __future__ import annotations

import html

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
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
from app.ui.trace_model import TraceModel, asked_found, called_model, slice_label


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
        hdr.setMinimumSectionSize(36)
        # Every column fits its content; Sub-query (what was asked and found) takes the rest.
        for col in range(self.model.columnCount()):
            hdr.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tree.setMinimumWidth(200)
        self.tree.selectionModel().currentRowChanged.connect(self._current_changed)
        self.model.rowsInserted.connect(self._rows_inserted)
        self._totals_timer = QTimer(self, singleShot=True, interval=0, timeout=self._update_totals)
        self.model.dataChanged.connect(lambda *_: self._totals_timer.start())

        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.anchorClicked.connect(self._detail_link)
        self.details.setPlaceholderText("Select a sub-query to see what it asked, what it found and why it was used or not.")
        self.show_raw = False
        self._detail_node: dict | None = None
        self._detail_slice = None

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.splitter = split

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        head = QHBoxLayout()
        head.addWidget(self.totals, 1)
        head.addWidget(self.legend)
        lay.addLayout(head)
        lay.addWidget(self.coverage)
        lay.addWidget(split, 1)
        self._update_totals()

    def set_orientation(self, orientation) -> None:
        """Side by side when the panel is wide and short (under the answer), stacked when tall."""
        self.splitter.setOrientation(orientation)
        if orientation == Qt.Orientation.Horizontal:
            self.splitter.setStretchFactor(0, 3)
            self.splitter.setStretchFactor(1, 2)

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
        chars = self.model.chars_read()
        for doc_id, pages in sorted(self.model.pages_read().items(), key=lambda kv: str(kv[0])):
            info = self.doc_info(doc_id)
            title, n = info[0], info[1]
            total = info[2] if len(info) > 2 else 0
            rows.append((doc_id, title, n, pages, (chars.get(doc_id, 0), total)))
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

    def _detail_link(self, url) -> None:
        if url.toString() == "toggle:raw":
            self.show_raw = not self.show_raw
            if self._detail_node is not None:
                self._render_details(self._detail_node, self._detail_slice)

    def _render_details(self, node: dict, slice_text) -> None:
        """A readable summary first (asked, found, what became of it, where); the raw
        prompt and model output only behind "Show raw"."""
        self._detail_node, self._detail_slice = node, slice_text
        fate = node.get("fate") or ""
        esc = lambda s: html.escape(str(s or ""))  # noqa: E731
        asked, found = asked_found(node)
        head = f"<p><b>Asked:</b> {esc(asked)}<br><b>Found:</b> {esc(found) or '—'}</p>"
        if fate:
            head += (f"<p><span style='color:{FATE_COLORS.get(fate, '#888')}'>●</span> "
                     f"<b>{esc(FATE_LABELS.get(fate, fate))}</b>"
                     + (f": {esc(node.get('fate_reason'))}" if node.get("fate_reason") else "") + "</p>")
        where = slice_label(node.get("slice"))
        cost = (f"{int(node.get('tokens_in') or 0):,} tokens in, {int(node.get('tokens_out') or 0):,} out, "
                f"{float(node.get('seconds') or 0):.1f} s" if called_model(node) else "done in code, no model call")
        head += f"<p style='color:#8a8f98'>{esc(node.get('kind'))} · {esc(where) + ' · ' if where else ''}{esc(cost)}</p>"
        data = node.get("data") if isinstance(node.get("data"), dict) else {}
        quote = data.get("quote")
        body = ""
        if quote:
            body += f"<p><b>Quote:</b> <i>“{esc(' '.join(str(quote).split()))}”</i></p>"
        if node.get("slice"):
            text = "(loading…)" if slice_text is None else slice_text
            label = "Text given to the model" if called_model(node) else "Slice"
            body += f"<h4>{label}</h4><p style='white-space:pre-wrap'>{esc(text[:6000])}</p>"
        toggle = "Hide raw prompt and output" if self.show_raw else "Show raw prompt and output"
        body += f"<p><a href='toggle:raw'>{toggle}</a></p>"
        if self.show_raw:
            body += f"<h4>Output</h4><pre style='white-space:pre-wrap'>{esc(node.get('output'))}</pre>"
            body += f"<h4>Prompt</h4><pre style='white-space:pre-wrap'>{esc(node.get('prompt'))}</pre>"
        self.details.setHtml(head + body)

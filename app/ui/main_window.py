"""The main window: composes the panels and routes signals between them. Panels do
their own work through the Engine; this file only connects them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QSplitter

from app.meta import APP_NAME
from app.ui.ask_panel import AskPanel
from app.ui.drops import local_paths, split_models
from app.ui.engine import Engine, as_dict
from app.ui.history_panel import HistoryPanel
from app.ui.library_panel import LibraryPanel
from app.ui.reader import ReaderPanel
from app.ui.run_session import RunSession, estimate_seconds, human_seconds
from app.ui.settings import Settings
from app.ui.theme import app_icon
from app.ui.trace_panel import TracePanel
from app.ui.workers import TaskManager

DOCUMENT_FILTER = "Documents (*.pdf *.epub *.txt *.md *.html *.htm);;All files (*)"
STATUS_TEXT = {
    "done": ("Done.", "ok"),
    "budget": ("Stopped at the budget: this is the best partial answer.", "warn"),
    "cancelled": ("Stopped: this is the best partial answer so far.", "warn"),
    "failed": ("The run failed.", "error"),
}


class MainWindow(QMainWindow):
    runFinished = Signal(dict)  # tests and the scripted mode wait on these
    importFinished = Signal(list)

    def __init__(self, engine: Engine | None = None, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.engine = engine or Engine()
        self.settings = settings or Settings()
        self.tasks = TaskManager(self)
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.library = LibraryPanel(self.engine, self.tasks)
        self.history = HistoryPanel(self.engine, self.tasks)
        self.ask = AskPanel()
        self.reader = ReaderPanel(self.tasks)
        self.trace = TracePanel(self.engine, self.tasks, doc_info=self._doc_info)
        self.session = RunSession(self.engine, self.tasks, self)
        self._scope_after_import = False

        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("centreSplit")
        split.addWidget(self.ask)
        split.addWidget(self.reader)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)
        self.centre = split
        self.setCentralWidget(split)

        self.library_dock = self._dock("Library", self.library, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.history_dock = self._dock("History", self.history, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(self.library_dock, self.history_dock)
        self.library_dock.raise_()
        self.trace_dock = self._dock("Trace", self.trace, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.library_dock, self.trace_dock], [270, 560], Qt.Orientation.Horizontal)

        self.model_label = QLabel("Model: embedded default (loads on the first question)")
        self.statusBar().addPermanentWidget(self.model_label)

        self._actions()
        self._wire()
        self._load_settings()
        self.library.refresh()
        self.history.refresh()

    # --- construction -------------------------------------------------------------------
    def _dock(self, title, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}Dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text, shortcut, slot, menu) -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        menu.addAction(a)
        self.addAction(a)  # shortcuts work without a visible menu too
        return a

    def _actions(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self.import_action = self._action("&Import files…", "Ctrl+O", self.import_dialog, file_menu)
        self._action("Import a &folder…", "Ctrl+Shift+O", self.import_folder_dialog, file_menu)
        file_menu.addSeparator()
        self._action("&Models and settings…", "Ctrl+,", self.open_settings, file_menu)
        file_menu.addSeparator()
        self._action("&Quit", QKeySequence.StandardKey.Quit, self.close, file_menu)
        ask_menu = mb.addMenu("&Ask")
        self.ask_action = self._action("&Ask", "Ctrl+Return", self.start_run, ask_menu)
        self.stop_action = self._action("&Stop", "Esc", self.stop_run, ask_menu)
        self._action("&Find in document", "Ctrl+F", self.reader.show_find, ask_menu)
        view = mb.addMenu("&View")
        for dock in (self.library_dock, self.history_dock, self.trace_dock):
            view.addAction(dock.toggleViewAction())
        self.library.import_btn.clicked.connect(self.import_dialog)

    def _wire(self) -> None:
        lib = self.library
        lib.scopeChanged.connect(self._scope_changed)
        lib.documentsChanged.connect(self.trace._update_totals)
        lib.pathsDropped.connect(self.drop_paths)
        lib.importFinished.connect(self._import_finished)
        lib.view.doubleClicked.connect(self._library_double_clicked)
        self.ask.askRequested.connect(self.start_run)
        self.ask.stopRequested.connect(self.stop_run)
        self.ask.citationClicked.connect(self.show_citation)
        self.ask.pathsDropped.connect(lambda paths: self.drop_paths(paths, as_scope=True))
        self.ask.mode.currentIndexChanged.connect(lambda _i: self._scope_changed())
        self.ask.budget.valueChanged.connect(lambda _v: self._scope_changed())
        self.trace.nodeSelected.connect(self.show_node)
        self.trace.coveragePageClicked.connect(self._open_page)
        self.history.runOpened.connect(self.show_run)
        s = self.session
        s.loading.connect(lambda msg: self.ask.set_status(msg))
        s.modelsReady.connect(self._models_ready)
        s.started.connect(lambda _rid: self.ask.set_status("Reading…"))
        s.node.connect(self._node)
        s.answerDelta.connect(self.ask.append_answer)
        s.finished.connect(self._run_finished)
        s.failed.connect(self._run_failed)
        s.stopped.connect(self._run_stopped)

    # --- settings and layout ------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.settings
        i = self.ask.mode.findData(s.get("ask/mode"))
        self.ask.mode.setCurrentIndex(max(0, i))
        self.ask.budget.setValue(s.get("budget/max_calls"))
        geo = s.q.value("window/geometry")
        state = s.q.value("window/state")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            self.restoreGeometry(geo)
        else:
            # First start: a roomy window, but never larger than the screen it opens on.
            screen = self.screen().availableGeometry() if self.screen() else None
            w, h = 1440, 900
            if screen is not None and screen.width() > 0:
                w, h = min(w, int(screen.width() * 0.92)), min(h, int(screen.height() * 0.92))
            self.resize(w, h)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        split = s.q.value("window/centre")
        if isinstance(split, QByteArray) and not split.isEmpty():
            self.centre.restoreState(split)
        else:
            self.centre.setSizes([380, 520])

    def save_settings(self) -> None:
        s = self.settings
        s.set("ask/mode", self.ask.mode.currentData())
        s.set("budget/max_calls", self.ask.budget.value())
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        s.set("window/centre", self.centre.saveState())
        s.sync()

    def open_settings(self) -> None:
        from app.ui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.settings, self.engine, self.tasks, self)
        if dlg.exec():
            self.ask.budget.setValue(self.settings.get("budget/max_calls"))
            self._scope_changed()

    # --- import and drops ---------------------------------------------------------------
    def import_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import documents", "", DOCUMENT_FILTER)
        if files:
            self.import_paths(files)

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder")
        if folder:
            self.import_paths([folder])

    def import_paths(self, paths, as_scope: bool = False) -> None:
        if as_scope:
            self._scope_after_import = True
        self.library_dock.raise_()
        self.library.import_paths(paths)

    def drop_paths(self, paths, as_scope: bool = False) -> None:
        models, docs = split_models(list(paths))
        for m in models:
            self.add_model(m)
        if docs:
            self.import_paths(docs, as_scope=as_scope)

    def add_model(self, path: str) -> None:
        self.statusBar().showMessage(f"Adding the model {Path(path).name}…")

        def added(entry):
            self.statusBar().showMessage(f"Added the model {entry.name}: choose it in Models and settings.", 8000)

        self.tasks.run_function(lambda _c: self.engine.add_model(path), on_result=added,
                                on_failed=lambda msg: self.statusBar().showMessage(f"Could not add {Path(path).name}: {msg}", 12000))

    def dragEnterEvent(self, e):  # noqa: N802
        if local_paths(e.mimeData()):
            e.acceptProposedAction()

    def dropEvent(self, e):  # noqa: N802
        paths = local_paths(e.mimeData())
        if paths:
            e.acceptProposedAction()
            self.drop_paths(paths)

    def _import_finished(self, ids) -> None:
        if self._scope_after_import:
            self._scope_after_import = False
            if ids:
                self.library.set_scope(ids)
        self.importFinished.emit(ids)

    # --- scope and the context meter ----------------------------------------------------
    def _doc_info(self, doc_id):
        return self.library.model.title(doc_id), self.library.model.page_count(doc_id)

    def _scope_changed(self) -> None:
        ids, label = self.library.scope()
        self.ask.scope_label.setText(label)
        if ids == []:
            self.ask.meter.setText("")
            return
        mode = self.ask.mode.currentData()
        max_calls = self.ask.budget.value()
        n_ctx = self.settings.get("llm/n_ctx") or 8192
        tps = self.settings.get("perf/prompt_tps")
        call_s = self.settings.get("perf/call_seconds")

        def show(stats):
            chars = int(stats.get("chars", 0) or 0)
            tokens = chars // 4
            secs = estimate_seconds(tokens, mode, max_calls, n_ctx, tps, call_s)
            basis = "measured on this machine" if tps > 0 else "first guess until a question has run"
            self.ask.meter.setText(
                f"Context: about {tokens:,} tokens in scope ({chars:,} characters, {int(stats.get('pages', 0) or 0):,} pages)"
                f" · estimated time {human_seconds(secs)} ({basis})")

        self.tasks.run_function(lambda _c: self.engine.stats(ids), on_result=show,
                                on_failed=lambda msg: self.ask.meter.setText(""))

    # --- runs ---------------------------------------------------------------------------
    def start_run(self) -> bool:
        question = self.ask.question.toPlainText().strip()
        if self.session.running:
            return False
        if not question:
            self.ask.set_status("Type a question first.", "warn")
            return False
        ids, _label = self.library.scope()
        if ids == []:
            self.ask.set_status("No document is checked: check documents in the library or ask over all of them.", "warn")
            return False
        if ids is None and not self.library.model.ready_ids():
            self.ask.set_status("The library has no ready document yet: import a PDF first (Ctrl+O or drop it here).", "warn")
            return False
        self.trace.clear()
        self.ask.clear_answer()
        self.ask.set_running(True)
        budget = self.settings.budget()
        budget["max_calls"] = self.ask.budget.value()
        self.session.start(question, ids, self.ask.mode.currentData(), budget, self.settings.model_settings())
        return True

    def stop_run(self) -> None:
        if self.session.running:
            self.session.stop()
            self.ask.set_status("Stopping…", "warn")
        elif self.library.importing:
            self.library.cancel_import()
        elif self.reader.find_bar.isVisible():
            self.reader.hide_find()

    def _models_ready(self, info: dict) -> None:
        root = info.get("root", {})
        text = f"Model: {root.get('name', 'model')}"
        if root.get("n_ctx"):
            text += f" · context {root['n_ctx']:,}"
        if "gpu_layers" in root or "n_gpu_layers" in root:
            gl = root.get("gpu_layers", root.get("n_gpu_layers"))
            text += " · CPU" if not gl else f" · GPU layers {gl}"
        if info.get("sub"):
            text += f" · sub-model {info['sub'].get('name', '')}"
        self.model_label.setText(text)
        self.ask.set_status("Reading…")

    def _node(self, node: dict) -> None:
        self.trace.add_or_update(node)
        t = self.trace.model.totals()
        self.ask.set_status(f"Reading… {t['calls']} calls, {t['tokens_in'] + t['tokens_out']:,} tokens so far")

    def _run_finished(self, result: dict) -> None:
        self.trace.merge_nodes(result.get("nodes") or [])
        self.trace.set_run_totals(result.get("totals"))
        self.ask.set_answer(result.get("answer", ""), result.get("citations") or [])
        status = result.get("status", "done")
        text, kind = STATUS_TEXT.get(status, (status, "info"))
        note = result.get("note") or ""
        self.ask.set_status(f"{text} {note}".strip(), kind)
        self.settings.record_speed(result.get("totals") or {})
        self.history.refresh()
        self.runFinished.emit(result)

    def _run_failed(self, message: str) -> None:
        self.ask.set_status(f"The run could not finish: {message}", "error")
        result = {"status": "failed", "note": message, "answer": self.ask.answer_text(),
                  "citations": [], "nodes": self.trace.model.nodes(), "totals": {}}
        self.runFinished.emit(result)

    def _run_stopped(self) -> None:
        self.ask.set_running(False)

    # --- reader navigation --------------------------------------------------------------
    def _doc_path(self, doc_id) -> str | None:
        d = self.library.model.documents.get(doc_id)
        if d is None:
            return None
        return str(getattr(d, "path", "") or (d.get("path") if isinstance(d, dict) else "") or "") or None

    def _open_page(self, doc_id, page: int, quote: str = "", occurrence: int = 0) -> bool:
        path = self._doc_path(doc_id)
        if not path:
            self.reader._show_message("That document is no longer in the library.")
            return False
        self.reader.open_document(path, doc_id=doc_id, title=self.library.model.title(doc_id), page=page,
                                  quote=quote, page_count=self.library.model.page_count(doc_id), occurrence=occurrence)
        return True

    def show_node(self, node: dict) -> None:
        sl = as_dict(node.get("slice"))
        if sl.get("doc_id") is None:
            return
        page = int(sl.get("page_start") or 1)
        quote = str((node.get("data") or {}).get("quote") or "") if isinstance(node.get("data"), dict) else ""
        if quote:
            self._open_page(sl["doc_id"], page, quote)
            return
        self._open_page(sl["doc_id"], page)
        # No quote: highlight where the slice starts on its first page.
        cs, ce = sl.get("char_start"), sl.get("char_end")
        if cs is None or ce is None:
            return
        doc_id = sl["doc_id"]
        self.tasks.run_function(
            lambda _c: self.engine.slice_text(doc_id, cs, min(int(ce), int(cs) + 160), page, page),
            on_result=lambda text: self.reader.path and self.reader.doc_id == doc_id and self.reader.page == page
            and self._open_page(doc_id, page, " ".join(text.split())[:120]))

    def show_citation(self, n: int) -> None:
        c = self.ask.citation(n)
        if c is None:
            self.ask.set_status(f"Citation [{n}] is not in this answer.", "warn")
            return
        self.trace.blockSignals(True)  # the citation's own page and quote win over the node's slice
        found = self.trace.select_node(c.get("node_id"))
        self.trace.blockSignals(False)
        if found:
            self.trace._show_details(self.trace.current_node())
        doc_id, page, quote = c.get("doc_id"), int(c.get("page") or 1), str(c.get("quote") or "")
        # A quote can repeat on its page: the citation's offset says which one it is.
        self.tasks.run_function(
            lambda _c: self.engine.quote_occurrence(doc_id, page, quote, c.get("char_start")),
            on_result=lambda k: self._open_page(doc_id, page, quote, k),
            on_failed=lambda _m: self._open_page(doc_id, page, quote))

    def _library_double_clicked(self, index) -> None:
        from app.ui.library_model import DOC_ID

        doc_id = self.library.proxy.mapToSource(index).siblingAtColumn(0).data(DOC_ID)
        if doc_id is not None:
            self._open_page(doc_id, 1)

    # --- history ------------------------------------------------------------------------
    def show_run(self, run: dict) -> None:
        if self.session.running:
            self.ask.set_status("Stop the current run before opening another.", "warn")
            return
        self.ask.question.setPlainText(str(run.get("question", "")))
        i = self.ask.mode.findData(run.get("mode"))
        if i >= 0:
            self.ask.mode.setCurrentIndex(i)
        self.trace.clear()
        self.trace.set_nodes(run.get("nodes") or [])
        self.trace.set_run_totals(run.get("totals"))
        self.ask.set_answer(str(run.get("answer") or ""), list(run.get("citations") or []))
        status = str(run.get("status", ""))
        text, kind = STATUS_TEXT.get(status, (status, "info"))
        self.ask.set_status(f"From the history ({run.get('started_at', '')}): {text} {run.get('note') or ''}".strip(), kind)
        self.shown_run = run

    # --- closing ------------------------------------------------------------------------
    def closeEvent(self, e):  # noqa: N802
        self.save_settings()
        self.session.stop()
        self.library.cancel_import()
        self.tasks.shutdown()
        from app.ui import render

        render.close_all()
        super().closeEvent(e)

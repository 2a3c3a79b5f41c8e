"""The main window: composes the panels and routes signals between them. Panels do
their own work through the Engine; this file only connects them."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QSplitter

from app.meta import APP_NAME
from app.ui.ask_panel import AskPanel
from app.ui.drops import local_paths, split_models
from app.ui.engine import Engine, as_dict
from app.ui.errors import humane_error, runtime_summary
from app.ui.history_panel import HistoryPanel
from app.ui.library_panel import LibraryPanel
from app.ui.reader import ReaderPanel
from app.ui.run_session import RunSession, estimate_seconds, human_seconds
from app.ui.settings import Settings
from app.ui.theme import app_icon
from app.ui.trace_panel import TracePanel
from app.ui.workers import TaskManager

DOCUMENT_FILTER = "Documents (*.pdf *.epub *.txt *.md *.html *.htm);;All files (*)"
# The controller's note already says why a run stopped ("Cancelled. This is the best
# partial answer so far."): these texts are used only when there is no note, so a stop
# is reported once, not twice.
STATUS_TEXT = {
    "done": ("Done.", "ok"),
    "budget": ("Stopped at the budget: this is the best partial answer.", "warn"),
    "cancelled": ("Stopped: this is the best partial answer so far.", "warn"),
    "failed": ("The run failed.", "error"),
}
STATE_VERSION = 2  # bumped when the dock layout changed (trace moved under the answer)
# Model names that say "too small to write code" (SmolLM2-135M, Qwen2.5-1.5B, Llama-3.2-3B …);
# a digit or dot before the size would make it another number (32b is not 2b).
SMALL_MODEL_RE = re.compile(r"(?<![\d.])(?:135|360)m\b|(?<![\d.])(?:0\.5|1|1\.1|1\.5|1\.7|2|3)b\b", re.I)


class MainWindow(QMainWindow):
    runFinished = Signal(dict)  # tests and the scripted mode wait on these
    importFinished = Signal(list)
    libraryReady = Signal()  # the first library load is done (the scripted mode waits on it)
    libraryRebuilt = Signal(dict)  # the rebuild's summary ({} when it failed)

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
        self.library_loaded = False
        self.runtime_info: dict = {}  # the loaded models' info() (variant, GPU layers, self-check)
        self.thread: list[dict] = []  # this conversation's turns: question asked, standalone, answer
        self.thread_id = ""  # stored with each run of the conversation
        self._asked = ""  # what the user typed for the current run
        self._standalone = ""
        self.shown_run: dict | None = None

        # Answer first: the Ask panel (question, answer, sources) and the page it cites
        # side by side; the trace sits under them and stays closed until a run starts.
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("centreSplit")
        split.addWidget(self.ask)
        split.addWidget(self.reader)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 4)
        split.setChildrenCollapsible(False)
        self.centre = split
        self.setCentralWidget(split)

        self.library_dock = self._dock("Library", self.library, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.history_dock = self._dock("History", self.history, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(self.library_dock, self.history_dock)
        self.library_dock.raise_()
        self.trace_dock = self._dock("Trace", self.trace, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.trace_dock.hide()
        self.trace.set_orientation(Qt.Orientation.Horizontal)
        self.resizeDocks([self.library_dock], [275], Qt.Orientation.Horizontal)

        self.model_label = QLabel("Model: embedded default (loads on the first question)")
        self.model_label.setToolTip("The model runs in its own process; details appear once it has loaded.")
        self.statusBar().addPermanentWidget(self.model_label)

        self._actions()
        self._wire()
        self._load_settings()
        self.library.refresh(then=self._library_loaded)
        self.history.refresh()
        self.damage: str | None = None
        self.damage_box = None
        self.tasks.run_function(self.engine.library_damage, on_result=self._damage_checked)

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
        self.trace_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+T"))
        self.addAction(self.trace_dock.toggleViewAction())
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
        self.ask.mode.currentIndexChanged.connect(lambda _i: self._check_mode())
        self.ask.settingsRequested.connect(self.open_settings)
        self.ask.newConversation.connect(self.new_conversation)
        self.ask.copyRequested.connect(self.copy_answer)
        self.ask.exportRequested.connect(self.export_answer)
        self.ask.trace_btn.toggled.connect(self.trace_dock.setVisible)
        self.trace_dock.visibilityChanged.connect(self._trace_visibility)
        self.reader.unlockRequested.connect(self._unlock_current)
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

    def show_trace(self) -> None:
        """Open the trace under the answer, at most about a third of the window high, so
        the answer and its sources stay readable without scrolling."""
        if self.trace_dock.isVisible():
            return
        self.trace_dock.show()
        if not self.trace_dock.isFloating():
            self.resizeDocks([self.trace_dock], [max(160, int(self.height() * 0.3))], Qt.Orientation.Vertical)

    def _library_loaded(self) -> None:
        if not self.library_loaded:
            self.library_loaded = True
            self.libraryReady.emit()

    # --- a damaged library -------------------------------------------------------------
    def _damage_checked(self, message) -> None:
        """A damaged library is said once, plainly, with the way out; reads still work."""
        if not message or self.damage_box is not None:
            return
        from app.ui.unlock import damage_box

        self.damage = message
        self.library.show_message(" ".join(str(message).split()))
        box = damage_box(message, self)
        box.buttonClicked.connect(lambda b: self.rebuild_library() if b is box.rebuild_btn else None)
        self.damage_box = box
        box.open()  # window-modal without a nested event loop: workers keep reporting

    def rebuild_library(self) -> None:
        self.damage_box = None
        self.library.show_message("Rebuilding the library from the source files…")
        self.statusBar().showMessage("Rebuilding the library from the source files…")
        summary: dict = {}

        def event(ev):
            if getattr(ev, "kind", "") == "done":
                summary.update(ev.summary or {})

        def finished():
            if summary:
                self.damage = None
                text = (f"Rebuilt the library: {summary.get('imported', 0)} imported, "
                        f"{len(summary.get('missing') or [])} no longer on disk, {summary.get('runs', 0)} past "
                        f"run(s) kept; the damaged file is kept as {Path(str(summary.get('moved_to'))).name}.")
                self.library.show_message(text)
                self.statusBar().showMessage(text, 15000)
                self.library.refresh()
                self.history.refresh()
            self.libraryRebuilt.emit(summary)

        self.tasks.run_generator(lambda cancel: self.engine.rebuild_library(cancel=cancel), on_event=event,
                                 on_failed=lambda msg: self.library.show_message(f"The rebuild failed: {msg}"),
                                 on_finished=finished)

    def _trace_visibility(self, visible: bool) -> None:
        if self.trace_dock.isFloating() is False and self.isVisible():
            self.ask.trace_btn.blockSignals(True)
            self.ask.trace_btn.setChecked(self.trace_dock.isVisible())
            self.ask.trace_btn.blockSignals(False)

    # --- settings and layout ------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.settings
        cfg = s.run_config()
        i = self.ask.mode.findData(cfg.mode)
        self.ask.mode.setCurrentIndex(max(0, i))
        self.ask.budget.setValue(cfg.max_calls or 0)  # 0 = "no call limit"
        geo = s.q.value("window/geometry")
        state = s.q.value("window/state")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            self.restoreGeometry(geo)
        else:
            self.resize(*default_size(self.screen()))
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, STATE_VERSION)  # a layout saved by an older version is ignored
        self.trace_dock.hide()  # closed until a run starts, whatever was saved
        split = s.q.value("window/centre")
        if isinstance(split, QByteArray) and not split.isEmpty():
            self.centre.restoreState(split)
        else:
            w = max(600, self.width() - 260)
            self.centre.setSizes([int(w * 0.56), int(w * 0.44)])
        self._check_mode()

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState(STATE_VERSION))
        s.set("window/centre", self.centre.saveState())
        s.sync()
        try:  # the ask bar's mode and call limit are part of the shared run configuration
            self._config().save(models=False)
        except (OSError, ValueError):
            pass

    def _config(self):
        """The run configuration for the next question: the shared one (read fresh, so
        `lectern models use` and endpoints apply at once) with the ask bar's choices."""
        return self.settings.run_config().replace(mode=self.ask.mode.currentData(),
                                                  max_calls=self.ask.budget.value() or None)

    def open_settings(self) -> None:
        from app.ui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.settings, self.engine, self.tasks, self, runtime_info=self.runtime_info)
        dlg.runtimeChecked.connect(self._runtime_checked)
        self.settings_dialog = dlg
        if dlg.exec():
            self.ask.budget.setValue(self.settings.run_config().max_calls or 0)
            self._scope_changed()
            self._check_mode()

    def _check_mode(self) -> None:
        """Say before running when the chosen model cannot drive the mode."""
        warning = ""
        if self.ask.mode.currentData() == "repl":
            try:
                cfg = self.settings.run_config()
            except Exception:
                cfg = None
            root = (cfg.root if cfg else "default") or "default"
            loaded = str((self.runtime_info.get("root") or {}).get("name") or "")
            name = loaded if root not in ("default", "endpoints") and loaded else root
            if root == "default" or SMALL_MODEL_RE.search(name):
                shown = "the built-in 135M model" if root == "default" else name
                warning = (f"REPL mode needs a model that can write Python (7B or larger, or a server); "
                           f"{shown} cannot. Choose one in Models and settings, or use Read and quote.")
        self.ask.set_mode_warning(warning)
        self.mode_warning = warning

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
        d = self.library.model.documents.get(doc_id)
        chars = int(getattr(d, "char_count", 0) or (d.get("char_count", 0) if isinstance(d, dict) else 0) or 0) if d else 0
        return self.library.model.title(doc_id), self.library.model.page_count(doc_id), chars

    def _scope_changed(self) -> None:
        ids, label = self.library.scope()
        self.ask.scope_label.setText(label)
        if ids == []:
            self.ask.meter.setText("")
            return
        mode = self.ask.mode.currentData()
        max_calls = self.ask.budget.value() or None
        try:
            n_ctx = self.settings.run_config().n_ctx or 8192
        except Exception:
            n_ctx = 8192
        tps = self.settings.get("perf/prompt_tps")
        call_s = self.settings.get("perf/call_seconds")
        check_tps = self.settings.get("perf/selfcheck_tps")

        def show(stats):
            chars = int(stats.get("chars", 0) or 0)
            tokens = chars // 4
            est = estimate_seconds(tokens, mode, max_calls, n_ctx, tps, call_s, check_tps)
            if est is None:
                when = "time: estimated once the model has run on this machine"
            else:
                lo, hi = est
                basis = "from this machine's speed" if (tps > 0 or call_s > 0) else "from the model's self-check speed"
                when = (f"about {human_seconds(lo)}" if hi <= lo * 1.5 else
                        f"a lookup ≈{human_seconds(lo)}, reading all ≤{human_seconds(hi)}")
            self.ask.meter.setText(f"≈{tokens:,} tokens in scope · {when}")
            self.ask.meter.setToolTip(
                f"About {tokens:,} tokens ({chars:,} characters, {int(stats.get('pages', 0) or 0):,} pages) in scope."
                + ("" if est is None else f" Time estimated {basis}."))

        self.tasks.run_function(lambda _c: self.engine.stats(ids), on_result=show,
                                on_failed=lambda msg: self.ask.meter.setText(""))

    # --- runs ---------------------------------------------------------------------------
    def start_run(self) -> bool:
        question = " ".join(self.ask.question.toPlainText().split())
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
        try:
            config = self._config()
        except ValueError as e:
            self.ask.set_status(f"The run settings are not usable: {e}", "error", action="settings")
            return False
        self._check_mode()
        if self.mode_warning:
            self.ask.set_status(self.mode_warning, "warn", action="settings")
            return False
        prior = [{"question": t["standalone"], "answer": t["answer"]} for t in self.thread]
        rewritten = self.engine.standalone_question(question, prior)
        rewritten_from = None
        if rewritten != question:
            rewritten_from = {"question": question, "thread": [t["question"] for t in prior]}
        self._asked, self._standalone = question, rewritten
        if not self.thread_id:
            import uuid

            self.thread_id = uuid.uuid4().hex[:12]
        # Stored with the run (the Controller keeps options in the run's settings; the
        # strategies ignore these keys), so the history can show the conversation.
        config = config.replace(options={**config.options, "thread": self.thread_id, "asked": question})
        self.trace.clear()
        self.ask.clear_answer()
        self.reader.clear_highlight()  # the last answer's highlight is not this answer's
        self.ask.set_running(True)
        self.show_trace()
        self.session.start(rewritten, ids, config, rewritten_from=rewritten_from)
        if rewritten_from:
            self.ask.set_status(f"Asked as: “{rewritten}”")
        return True

    def stop_run(self) -> None:
        if self.session.running:
            self.session.stop()
            self.ask.set_status("Stopping…", "warn")
        elif self.library.importing:
            self.library.cancel_import()
        elif self.reader.find_bar.isVisible():
            self.reader.hide_find()

    def new_conversation(self) -> None:
        self.thread = []
        self.thread_id = ""
        self.ask.set_thread([])
        self.ask.clear_answer()
        self.ask.question.clear()
        self.ask.set_status("New conversation: the next question stands on its own.")
        self.reader.clear_highlight()

    def _runtime_checked(self, info: dict) -> None:
        """The settings dialog loaded the model: the status bar shows the same."""
        self._models_ready(info)
        if not self.session.running:
            self.ask.set_status("")

    def _models_ready(self, info: dict) -> None:
        self.runtime_info = dict(info or {})
        text, tip = runtime_summary(self.runtime_info)
        self.model_label.setText(text)
        self.model_label.setToolTip(tip)
        tps = ((self.runtime_info.get("root") or {}).get("selfcheck") or {}).get("tokens_per_s")
        if tps:
            self.settings.set("perf/selfcheck_tps", float(tps))
        self._check_mode()
        self.ask.set_status("Reading…")

    def _node(self, node: dict) -> None:
        self.trace.add_or_update(node)
        t = self.trace.model.totals()
        done, planned = self.trace.model.progress(self.ask.budget.value() or None)
        self.ask.set_progress(done, planned)
        self.ask.set_status(f"Reading… {t['calls']} model calls, {t['tokens_in'] + t['tokens_out']:,} tokens so far")

    def _run_finished(self, result: dict) -> None:
        nodes = self.engine.derive_fates(result.get("nodes") or [], result.get("citations") or [],
                                         result.get("answer") or "")
        result["nodes"] = nodes
        self.trace.merge_nodes(nodes)
        self.trace.set_run_totals(result.get("totals"))
        citations = self._with_file_names(result.get("citations") or [])
        self.ask.set_answer(result.get("answer", ""), citations)
        self._fill_sources(citations)
        status = result.get("status", "done")
        text, kind = STATUS_TEXT.get(status, (status, "info"))
        note, action = humane_error(result.get("note") or "")
        shown = stop_message(status, text, note)
        if self._standalone and self._standalone != self._asked:
            shown = f"{shown} Asked as: “{self._standalone}”."
        self.ask.set_status(shown, kind, action=action)
        self.settings.record_speed(result.get("totals") or {})
        self._scope_changed()  # the time estimate now uses the speed just measured
        if status != "failed" and result.get("answer"):
            self.thread.append({"question": self._asked, "standalone": self._standalone or self._asked,
                                "answer": result.get("answer") or "", "run_id": result.get("run_id")})
            self.ask.set_thread(self.thread[:-1])
        self.last_result = result
        self.history.refresh()
        self.runFinished.emit(result)

    def _with_file_names(self, citations: list) -> list:
        """The library already knows each cited file's name: the sources list shows it with
        the answer, not a moment later (only printed page labels need a worker's read)."""
        out = []
        for c in citations:
            c = dict(c) if isinstance(c, dict) else c
            if isinstance(c, dict) and not c.get("file"):
                path = self._doc_path(c.get("doc_id"))
                if path:
                    c["file"] = Path(path).name
            out.append(c)
        return out

    def _fill_sources(self, citations: list) -> None:
        """File names and printed page labels for the sources list (read in a worker)."""
        if not citations:
            return
        paths = {c.get("doc_id"): self._doc_path(c.get("doc_id")) for c in citations}
        answer = self.ask.answer_text()

        def filled(cites):
            if self.ask.answer_text() == answer and self.ask.citations():  # still the same answer
                self.ask.update_sources(cites)

        self.tasks.run_function(lambda _c: self.engine.describe_sources(citations, paths), on_result=filled)

    def _run_failed(self, message: str) -> None:
        text, action = humane_error(message)
        self.ask.set_status(f"The run could not finish: {text}", "error", action=action)
        result = {"status": "failed", "note": text, "answer": self.ask.answer_text(),
                  "citations": [], "nodes": self.trace.model.nodes(), "totals": {}}
        self.runFinished.emit(result)

    def _run_stopped(self) -> None:
        self.ask.set_running(False)

    # --- conversation output ------------------------------------------------------------
    def copy_answer(self) -> str:
        from app.ui.ask_panel import answer_with_sources_text

        text = answer_with_sources_text(self._standalone or self.ask.question.toPlainText(), self.ask.answer_text(),
                                        self.ask.citations())
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage("Copied the answer with its sources.", 5000)
        return text

    def export_answer(self, fmt: str, path: str | None = None) -> None:
        """A clean report (question, answer, sources with their quotes) as Markdown or PDF."""
        if path is None:
            filt = "Markdown (*.md)" if fmt == "md" else "PDF (*.pdf)"
            path, _ = QFileDialog.getSaveFileName(self, "Export report", f"lectern-answer.{fmt}", filt)
            if not path:
                return
        turns = list(self.thread) or [{"question": self._asked, "standalone": self._standalone,
                                       "answer": self.ask.answer_text()}]
        turns[-1] = dict(turns[-1], answer=self.ask.answer_text(), citations=self.ask.citations())
        self.tasks.run_function(lambda _c: self.engine.export_report(turns, path, fmt),
                                on_result=lambda p: self.statusBar().showMessage(f"Saved {p}", 8000),
                                on_failed=lambda m: self.ask.set_status(f"Could not save the report: {m}", "error"))

    # --- reader navigation --------------------------------------------------------------
    def _doc_path(self, doc_id) -> str | None:
        d = self.library.model.documents.get(doc_id)
        if d is None:
            return None
        return str(getattr(d, "path", "") or (d.get("path") if isinstance(d, dict) else "") or "") or None

    def _open_page(self, doc_id, page: int, quote: str = "", occurrence: int = 0, last_page: int = 0) -> bool:
        path = self._doc_path(doc_id)
        if not path:
            self.reader._show_message("That document is no longer in the library.")
            return False
        self.reader.open_document(path, doc_id=doc_id, title=self.library.model.title(doc_id), page=page,
                                  quote=quote, page_count=self.library.model.page_count(doc_id), occurrence=occurrence,
                                  last_page=last_page)
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
        last = int(c.get("page_end") or 0)  # a quote over a page break is highlighted on both pages
        # A quote can repeat on its page: the citation's offset says which one it is.
        self.tasks.run_function(
            lambda _c: self.engine.quote_occurrence(doc_id, page, quote, c.get("char_start")),
            on_result=lambda k: self._open_page(doc_id, page, quote, k, last),
            on_failed=lambda _m: self._open_page(doc_id, page, quote, last_page=last))

    def _library_double_clicked(self, index) -> None:
        from app.ui.library_model import DOC_ID, PATH

        src = self.library.proxy.mapToSource(index).siblingAtColumn(0)
        doc_id = src.data(DOC_ID)
        path = src.data(PATH)
        if path and self.library.status_of(str(path))[0] == "needs-password":
            self.library.unlock(str(path))  # the locked row's action: type the password
            return
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
        self.trace.set_nodes(self.engine.derive_fates(run.get("nodes") or [], run.get("citations") or [],
                                                      run.get("answer") or ""))
        self.trace.set_run_totals(run.get("totals"))
        citations = list(run.get("citations") or [])
        self.ask.set_answer(str(run.get("answer") or ""), citations)
        self._fill_sources(citations)
        status = str(run.get("status", ""))
        text, kind = STATUS_TEXT.get(status, (status, "info"))
        note, action = humane_error(run.get("note") or "")
        self.ask.set_status(f"From the history ({run.get('started_at', '')}): {note or text}".strip(), kind, action=action)
        self.shown_run = run
        # The reopened run's conversation continues: a follow-up now leans on it.
        from app.ui.history_panel import thread_of

        turns = self.history.thread_runs(run) if hasattr(self.history, "thread_runs") else [run]
        self.thread = [{"question": str((t.get("settings") or {}).get("asked") or t.get("question", "")),
                        "standalone": str(t.get("question", "")), "answer": str(t.get("answer") or ""),
                        "run_id": t.get("id")} for t in turns if t.get("id") != run.get("id")]
        self._standalone = str(run.get("question", ""))
        self._asked = str((run.get("settings") or {}).get("asked") or self._standalone)
        self.thread.append({"question": self._asked, "standalone": self._standalone,
                            "answer": str(run.get("answer") or ""), "run_id": run.get("id")})
        self.thread_id = thread_of(run)
        self.ask.set_thread(self.thread[:-1])
        self.show_trace()

    def _unlock_current(self) -> None:
        from PySide6.QtWidgets import QInputDialog, QLineEdit

        path = self.reader.path
        if not path:
            return
        prompt = f"{Path(path).name} is protected.\nPassword:"
        while True:
            pw, ok = QInputDialog.getText(self, "Unlock PDF", prompt, QLineEdit.EchoMode.Password)
            if not ok or not pw:
                return
            if self.reader.unlock(pw):
                return
            prompt = f"Wrong password, try again.\n{Path(path).name} is protected.\nPassword:"

    # --- closing ------------------------------------------------------------------------
    def closeEvent(self, e):  # noqa: N802
        self.save_settings()
        self.session.stop()
        self.library.cancel_import()
        self.tasks.shutdown()
        from app.ui import render

        render.close_all()
        super().closeEvent(e)


def default_size(screen) -> tuple[int, int]:
    """A roomy first window that always fits the screen it opens on (with room for the
    task bar and window frame)."""
    w, h = 1440, 900
    if screen is not None:
        avail = screen.availableGeometry()
        if avail.width() > 0 and avail.height() > 0:
            w, h = min(w, int(avail.width() * 0.94)), min(h, int(avail.height() * 0.92))
    return w, h


_CANCEL_NOTE = "Cancelled. This is the best partial answer so far."


def stop_message(status: str, text: str, note: str) -> str:
    """One message per outcome: the controller's note already says "Cancelled…" or
    "Stopped early: <why>…", so the window does not say it a second time."""
    if status == "cancelled":
        rest = note.replace(_CANCEL_NOTE, "").strip()
        return f"{text} {rest}".strip()
    if status == "budget" and note.startswith("Stopped early"):
        return note
    if status == "failed":
        return note or text
    return f"{text} {note}".strip()

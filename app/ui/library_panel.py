"""The library panel: documents with status, search, import progress, scope choice."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.ui.drops import DropMixin
from app.ui.library_model import DOC_ID, IS_FOLDER, PATH, STATUS, LibraryModel, TitleFilter

SCOPE_ALL, SCOPE_CHECKED = "all", "checked"


class LibraryView(DropMixin, QTreeView):
    pathsDropped = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setRootIsDecorated(True)

    def on_paths_dropped(self, paths):
        self.pathsDropped.emit(paths)


class ImportProgress(QWidget):
    """Overall and current-file progress with the file name and a Cancel button."""

    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setObjectName("importLabel")
        self.label.setWordWrap(True)
        self.overall = QProgressBar()
        self.overall.setFormat("%v / %m files")
        self.current = QProgressBar()
        self.current.setFormat("%p% of this file")
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancelRequested)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addWidget(self.label)
        row = QHBoxLayout()
        bars = QVBoxLayout()
        bars.addWidget(self.overall)
        bars.addWidget(self.current)
        row.addLayout(bars, 1)
        row.addWidget(self.cancel)
        lay.addLayout(row)


class LibraryPanel(QWidget):
    scopeChanged = Signal()
    documentsChanged = Signal()
    importFinished = Signal(list)  # doc ids that the finished import produced or re-found
    pathsDropped = Signal(list)  # let the window route .gguf files to the model list

    def __init__(self, engine, tasks, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.tasks = tasks
        self.ask_passwords = True  # off for scripted runs
        self.model = LibraryModel(self)
        self.proxy = TitleFilter(self)
        self.proxy.setSourceModel(self.model)
        self._import_task = None
        self._queue: list[tuple[list, str | None]] = []
        self._batch_ids: list = []
        self._batch_password_paths: list[str] = []
        self._wrong_password: set[str] = set()  # paths a typed password did not open
        self._password = None  # the password of the import running now
        self._file_pages: dict[str, tuple[int, int]] = {}  # path -> (pages_done at start, page count)
        self._pages_total_seen = 0
        self._current = ""
        self._summary = ""

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by title…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)

        self.view = LibraryView()
        self.view.setModel(self.proxy)
        self.view.pathsDropped.connect(self.pathsDropped)
        hdr = self.view.header()
        hdr.setStretchLastSection(False)
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hdr.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.model.itemChanged.connect(self._item_changed)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        # Rename (F2) and Remove on the documents themselves, as in a file manager.
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.rename_action = QAction("Rename…", self.view)
        self.rename_action.setShortcut(QKeySequence(Qt.Key.Key_F2))
        self.rename_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.rename_action.triggered.connect(self.rename_selected)
        remove_action = QAction("Remove from library…", self.view)
        remove_action.triggered.connect(self.remove_selected)
        self.view.addActions([self.rename_action, remove_action])

        self.empty = QLabel("Drop PDFs or folders here,\nor press Ctrl+O to import.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setObjectName("emptyHint")

        self.scope_combo = QComboBox()
        self.scope_combo.addItem("All documents", SCOPE_ALL)
        self.scope_combo.addItem("Checked documents", SCOPE_CHECKED)
        self.scope_combo.currentIndexChanged.connect(lambda _i: self.scopeChanged.emit())

        self.import_btn = QToolButton()
        self.import_btn.setText("Import…")
        self.rescan_btn = QToolButton()
        self.rescan_btn.setText("Re-scan")
        self.rescan_btn.setToolTip("Import new and changed files from the selected folder again")
        self.rescan_btn.clicked.connect(self.rescan_selected)
        self.remove_btn = QToolButton()
        self.remove_btn.setText("Remove")
        self.remove_btn.setToolTip("Remove the selected documents from the library (files on disk are not touched)")
        self.remove_btn.clicked.connect(self.remove_selected)

        self.progress = ImportProgress()
        self.progress.cancelRequested.connect(self.cancel_import)
        self.progress.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("libraryMessage")
        self.message.hide()

        top = QHBoxLayout()
        top.addWidget(self.import_btn)
        top.addWidget(self.rescan_btn)
        top.addWidget(self.remove_btn)
        top.addStretch(1)
        scope_row = QHBoxLayout()
        scope_row.addWidget(QLabel("Ask over:"))
        scope_row.addWidget(self.scope_combo, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(self.search)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.empty)
        lay.addLayout(scope_row)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        self._update_empty()

    # --- documents ----------------------------------------------------------------------
    def refresh(self, then=None) -> None:
        def done(docs):
            self.model.set_documents(docs)
            self.view.expandAll()
            self._update_empty()
            self.documentsChanged.emit()
            self.scopeChanged.emit()
            if then:
                then()

        def failed(msg):
            # Whoever waits on the refresh (an import's end, a scripted --ask) must hear
            # that it ended, or it waits forever.
            self.show_message(msg)
            if then:
                then()

        self.tasks.run_function(self.engine.list_documents, on_result=done, on_failed=failed)

    def _update_empty(self) -> None:
        has = self.model.rowCount() > 0
        self.empty.setVisible(not has)

    def _filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self.view.expandAll()

    def _item_changed(self, item) -> None:
        if item.column() != 0:
            return
        if item.data(IS_FOLDER):
            return
        parent = item.parent()
        if parent is not None:
            self.model.blockSignals(True)
            self.model._refresh_folder(parent)
            self.model.blockSignals(False)
        if self.model.checked_ids() and self.scope_combo.currentData() != SCOPE_CHECKED:
            self.scope_combo.setCurrentIndex(1)  # emits scopeChanged
        else:
            self.scopeChanged.emit()

    def selected_items(self):
        rows = self.view.selectionModel().selectedRows(0) if self.view.selectionModel() else []
        return [self.model.itemFromIndex(self.proxy.mapToSource(i)) for i in rows]

    def selected_doc_ids(self) -> list:
        ids = []
        for it in self.selected_items():
            if it.data(IS_FOLDER):
                ids += [it.child(r, 0).data(DOC_ID) for r in range(it.rowCount())]
            elif it.data(DOC_ID) is not None:
                ids.append(it.data(DOC_ID))
        return [i for i in dict.fromkeys(ids) if i is not None]

    def remove_selected(self) -> None:
        ids = self.selected_doc_ids()
        if not ids:
            self.show_message("Select the documents to remove first.")
            return
        n = len(ids)
        answer = QMessageBox.question(
            self, "Remove from library",
            f"Remove {n} document{'s' if n != 1 else ''} from the library?\nThe files on disk are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_documents(ids)

    def rename_selected(self) -> None:
        """Give the selected document a title of the user's choosing (F2 or the context menu):
        a title from a PDF's metadata can be wrong ("Preface", "Microsoft Word - draft3")."""
        items = [it for it in self.selected_items() if it.data(DOC_ID) is not None]
        if len(items) != 1:
            self.show_message("Select one document to rename.")
            return
        item = items[0]
        title, ok = QInputDialog.getText(self, "Rename document", "Title shown in the library and in citations:",
                                         text=item.text())
        if not ok or not title.strip():
            return
        doc_id = item.data(DOC_ID)
        self.tasks.run_function(lambda _c: self.engine.set_title(doc_id, title),
                                on_result=lambda t: (self.show_message(f"Renamed to “{t}”."), self.refresh()),
                                on_failed=self.show_message)

    def remove_documents(self, ids) -> None:
        self.tasks.run_function(lambda _c: self.engine.remove_documents(list(ids)),
                                on_result=lambda n: (self.show_message(f"Removed {n} document{'s' if n != 1 else ''} from the library."), self.refresh()),
                                on_failed=self.show_message)

    def rescan_selected(self) -> None:
        folders = []
        for it in self.selected_items() or [self.model.item(r, 0) for r in range(self.model.rowCount())]:
            path = str(it.data(PATH) or "")
            folder = path if it.data(IS_FOLDER) else str(Path(path).parent)
            if folder and os.path.isdir(folder):
                folders.append(folder)
        folders = list(dict.fromkeys(folders))
        if not folders:
            self.show_message("Nothing to re-scan: the folder is gone or nothing is selected.")
            return
        self.import_paths(folders)

    # --- scope --------------------------------------------------------------------------
    def scope(self) -> tuple[list | None, str]:
        """(doc ids or None for the whole library, a label for the Ask panel)."""
        if self.scope_combo.currentData() == SCOPE_CHECKED:
            ids = self.model.checked_ids()
            if not ids:
                return [], "Scope: no document checked"
            names = [self.model.title(i) for i in ids]
            pages = sum(self.model.page_count(i) for i in ids)
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            return ids, f"Scope: {shown} ({pages:,} pages)"
        ids = self.model.ready_ids()
        pages = sum(self.model.page_count(i) for i in ids)
        return None, f"Scope: all {len(ids)} document{'s' if len(ids) != 1 else ''} ({pages:,} pages)"

    def set_scope(self, doc_ids) -> None:
        self.model.set_checked(doc_ids)
        self.scope_combo.setCurrentIndex(1 if doc_ids else 0)
        self.scopeChanged.emit()

    # --- import -------------------------------------------------------------------------
    @property
    def importing(self) -> bool:
        return self._import_task is not None

    def import_paths(self, paths, password: str | None = None) -> None:
        paths = [str(p) for p in paths]
        if not paths:
            return
        missing = [p for p in paths if not os.path.exists(p)]
        for p in missing:
            self.model.set_transient(p, "error", "file not found")
        paths = [p for p in paths if p not in missing]
        if not paths:
            self._update_empty()
            return
        self._queue.append((paths, password))
        if self._import_task is None:
            self._batch_ids = []
            self._batch_password_paths = []
            self._next_import()

    def _next_import(self) -> None:
        paths, password = self._queue.pop(0)
        self._password = password
        self.message.hide()
        self.progress.show()
        self.progress.label.setText("Looking for documents…")
        self.progress.overall.setRange(0, 0)
        self.progress.current.setRange(0, 0)
        self._file_pages = {}
        self._pages_total_seen = 0
        self._current = ""
        self._import_task = self.tasks.run_generator(
            lambda cancel: self.engine.import_paths(paths, password=password, cancel=cancel),
            on_event=self._on_import_event,
            on_failed=self.show_message,
            on_finished=self._import_finished,
            coalesce=lambda ev: "page" if getattr(ev, "kind", "") == "page" else None,
        )

    def cancel_import(self) -> None:
        self._queue.clear()
        if self._import_task is not None:
            self._import_task.cancel.cancel()
            self.progress.label.setText("Cancelling…")

    def _on_import_event(self, ev) -> None:
        kind = getattr(ev, "kind", "")
        path = str(getattr(ev, "path", "") or "")
        files_total = int(getattr(ev, "files_total", 0) or 0)
        files_done = int(getattr(ev, "files_done", 0) or 0)
        pages_total = int(getattr(ev, "pages_total", 0) or 0)
        pages_done = int(getattr(ev, "pages_done", 0) or 0)
        bar = self.progress.overall
        if pages_total:
            bar.setFormat(f"{files_done} of {files_total} files · %p%")
            bar.setRange(0, pages_total)
            bar.setValue(min(pages_done, pages_total))
        elif files_total:
            bar.setFormat("%v of %m files")
            bar.setRange(0, files_total)
            bar.setValue(min(files_done, files_total))
        if kind == "file-start":
            # pages_total grows by this file's page count when it starts
            self._file_pages[path] = (pages_done, pages_total - self._pages_total_seen)
            self._current = path
            self.model.set_transient(path, "importing")
        elif kind in ("file-done", "file-skipped"):
            doc_id = getattr(ev, "doc_id", None)
            if doc_id is not None:
                self._batch_ids.append(doc_id)
            status = getattr(ev, "status", "") or "ready"
            if status == "needs-password":
                self._batch_password_paths.append(path)
                if self._password:
                    self._wrong_password.add(path)
            if status == "error" and getattr(ev, "error", ""):
                self.model.set_transient(path, "error", ev.error)
            else:
                self.model.transient.pop(path, None)
        elif kind == "file-error":
            status = getattr(ev, "status", "") or "error"
            if status == "needs-password":
                self._batch_password_paths.append(path)
                if self._password:
                    self._wrong_password.add(path)
                self.model.transient.pop(path, None)  # the store keeps it as needs-password
            else:
                self.model.set_transient(path, "error", getattr(ev, "error", "") or getattr(ev, "message", "") or "could not be read")
        elif kind == "cancelled":
            self.show_message(getattr(ev, "message", "") or "Import cancelled. Files already imported stay in the library.")
        elif kind == "done" and getattr(ev, "message", ""):
            self._summary = ev.message
        self._pages_total_seen = pages_total
        cur = self._current if kind == "page" or not path else path
        if cur:
            start_done, n = self._file_pages.get(cur, (pages_done, 0))
            self._set_current(cur, files_done, files_total, pages_done - start_done, n)
        self._update_empty()

    def _set_current(self, path: str, files_done: int, files_total: int, done: int, total: int) -> None:
        name = Path(path).name if path else ""
        head = f"Importing {min(files_done + 1, files_total)} of {files_total}" if files_total else "Importing"
        self.progress.label.setText(f"{head}: {name}")
        if total:
            self.progress.current.setFormat(f"{name}: %v of %m pages")
            self.progress.current.setRange(0, total)
            self.progress.current.setValue(max(0, min(done, total)))
        else:
            self.progress.current.setFormat(name)
            self.progress.current.setRange(0, 0)

    def _import_finished(self) -> None:
        self._import_task = None
        if self._queue:
            self._next_import()
            return
        self.progress.hide()
        if self._summary:
            self.show_message(self._summary)
            self._summary = ""
        ids = list(dict.fromkeys(self._batch_ids))
        need_password = list(self._batch_password_paths)
        self.model.clear_transient("importing")

        def after():
            self.importFinished.emit(ids)
            if need_password and self.ask_passwords:
                self._ask_password(need_password)

        self.refresh(then=after)

    def _ask_password(self, paths) -> None:
        for p in paths:
            # A password that did not open the file is said so: the same prompt again with
            # no message reads as if the password was never tried.
            wrong = p in self._wrong_password
            self._wrong_password.discard(p)
            text = (f"Wrong password, try again.\n{Path(p).name} is protected.\nPassword:" if wrong
                    else f"{Path(p).name} is protected.\nPassword:")
            pw, ok = QInputDialog.getText(self, "Wrong password" if wrong else "Password needed", text,
                                          QLineEdit.EchoMode.Password)
            if ok and pw:
                self.import_paths([p], password=pw)

    def status_message(self, path: str) -> str:
        """The whole status of a row in words, with what to do about it."""
        status, error = self.status_of(path)
        name = Path(path).name
        if status == "needs-password":
            return f"{name} is locked with a password: double-click it to type the password."
        if status == "error":
            return f"{name} could not be imported: {error or 'unknown error'}"
        if status == "no-text":
            return f"{name} has no text layer (a scan?): nothing in it can be searched or quoted."
        return ""

    def _current_changed(self, current, _previous) -> None:
        from app.ui.library_model import PATH

        path = self.proxy.mapToSource(current).siblingAtColumn(0).data(PATH) if current.isValid() else None
        text = self.status_message(str(path)) if path else ""
        if text:
            self.show_message(text)

    def unlock(self, path: str) -> None:
        """Ask for the password of a locked file and import it again."""
        self._ask_password([path])

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def status_of(self, path: str) -> tuple[str, str]:
        """(status, error) of a path's row; used by tests and the scripted mode."""
        it = self.model.item_for_path(path)
        if it is None:
            return "", ""
        return it.data(STATUS), it.data(Qt.ItemDataRole.UserRole + 6) or ""

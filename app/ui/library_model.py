"""The library as a tree: folders, then documents, each with a status badge, page count
and a check box that selects it for the question's scope (checking a folder checks its
documents). Rows for files still importing or that failed before reaching the store are
kept here as `transient` rows until the store knows them."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel

from app.ui.theme import STATUS_COLORS, STATUS_LABELS, status_icon

DOC_ID = Qt.ItemDataRole.UserRole + 1
PATH = Qt.ItemDataRole.UserRole + 2
STATUS = Qt.ItemDataRole.UserRole + 3
PAGES = Qt.ItemDataRole.UserRole + 4
IS_FOLDER = Qt.ItemDataRole.UserRole + 5
ERROR = Qt.ItemDataRole.UserRole + 6

COLUMNS = ["Document", "Pages", "Status"]


def _attr(doc, name, default=None):
    return doc.get(name, default) if isinstance(doc, dict) else getattr(doc, name, default)


class LibraryModel(QStandardItemModel):
    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.documents: dict = {}  # doc_id -> Document
        self.transient: dict[str, dict] = {}  # path -> {status, error, progress}

    # --- filling ----------------------------------------------------------------------
    def set_documents(self, docs) -> None:
        checked = set(self.checked_ids())
        self.documents = {_attr(d, "id"): d for d in docs}
        known = {os.path.abspath(str(_attr(d, "path", ""))) for d in docs}
        for p in list(self.transient):
            if os.path.abspath(p) in known:
                del self.transient[p]  # the store's status is the truth now
        self._rebuild(checked)

    def set_transient(self, path: str, status: str, error: str = "", progress: str = "") -> None:
        self.transient[str(path)] = {"status": status, "error": error, "progress": progress}
        item = self.item_for_path(path)
        if item is not None:
            self._update_row(item, status, error, progress)  # cheap: no model reset mid-import
        else:
            self._rebuild(set(self.checked_ids()))

    def _update_row(self, item, status: str, error: str, progress: str) -> None:
        item.setIcon(status_icon(status))
        item.setData(status, STATUS)
        item.setData(error, ERROR)
        item.setToolTip(str(item.data(PATH)) + (f"\n{error}" if error else ""))
        label = STATUS_LABELS.get(status, status) + (f" {progress}" if progress else "")
        full = label + (f": {error}" if error else "")
        parent = item.parent() or self.invisibleRootItem()
        status_item = parent.child(item.row(), 2)
        # The column shows the short status, whole (a narrow dock cut "error: Not a PDF…"
        # to "error: N"); the full message is the tooltip and the panel's message line.
        status_item.setText(label)
        status_item.setToolTip(full)
        status_item.setForeground(QBrush(QColor(STATUS_COLORS.get(status, "#8a8f98"))))

    def clear_transient(self, status: str | None = None) -> None:
        for p in [p for p, t in self.transient.items() if status is None or t["status"] == status]:
            del self.transient[p]
        self._rebuild(set(self.checked_ids()))

    def _rebuild(self, checked: set) -> None:
        self.blockSignals(True)
        self.removeRows(0, self.rowCount())
        folders: dict[str, QStandardItem] = {}
        entries = []
        by_path = {os.path.abspath(p): t for p, t in self.transient.items()}
        for doc_id, d in self.documents.items():
            path = str(_attr(d, "path", "") or "")
            # a known file being imported again shows its progress on its own row
            entries.append((path, doc_id, d, by_path.pop(os.path.abspath(path), None)))
        for path, t in by_path.items():
            entries.append((path, None, None, t))
        entries.sort(key=lambda e: (str(Path(e[0]).parent).lower(), Path(e[0]).name.lower()))
        for path, doc_id, d, t in entries:
            folder = str(Path(path).parent) if path else ""
            parent = folders.get(folder)
            if parent is None:
                parent = self._folder_row(folder)
                folders[folder] = parent
            parent.appendRow(self._doc_row(path, doc_id, d, t, doc_id in checked))
        for f in folders.values():
            self._refresh_folder(f)
        self.blockSignals(False)
        self.beginResetModel()
        self.endResetModel()

    def _folder_row(self, folder: str) -> QStandardItem:
        name = Path(folder).name or folder or "(no folder)"
        item = QStandardItem(name)
        item.setToolTip(folder)
        item.setData(True, IS_FOLDER)
        item.setData(folder, PATH)
        item.setCheckable(True)
        item.setAutoTristate(True)
        item.setEditable(False)
        pages = QStandardItem("")
        status = QStandardItem("")
        for it in (pages, status):
            it.setEditable(False)
        self.appendRow([item, pages, status])
        return item

    def _refresh_folder(self, folder: QStandardItem) -> None:
        total = 0
        states = set()
        for r in range(folder.rowCount()):
            child = folder.child(r, 0)
            total += int(child.data(PAGES) or 0)
            states.add(child.checkState())
        row = folder.row()
        self.item(row, 1).setText(f"{total:,}" if total else "")
        self.item(row, 2).setText(f"{folder.rowCount()} file{'s' if folder.rowCount() != 1 else ''}")
        if states == {Qt.CheckState.Checked}:
            folder.setCheckState(Qt.CheckState.Checked)
        elif Qt.CheckState.Checked in states:
            folder.setCheckState(Qt.CheckState.PartiallyChecked)
        else:
            folder.setCheckState(Qt.CheckState.Unchecked)

    def _doc_row(self, path, doc_id, d, t, checked) -> list[QStandardItem]:
        if d is not None:
            title = _attr(d, "title") or Path(path).name
            status = _attr(d, "status", "ready")
            error = _attr(d, "error", "") or ""
            pages = int(_attr(d, "page_count", 0) or 0)
            progress = ""
        else:
            title = Path(path).name
            status, error, progress, pages = t["status"], t.get("error", ""), t.get("progress", ""), 0
        if t is not None and d is not None:  # re-importing a known file
            status, error, progress = t["status"], t.get("error", "") or error, t.get("progress", "")
        name = QStandardItem(status_icon(status), title)
        name.setEditable(False)
        name.setData(doc_id, DOC_ID)
        name.setData(path, PATH)
        name.setData(status, STATUS)
        name.setData(pages, PAGES)
        name.setData(error, ERROR)
        name.setData(False, IS_FOLDER)
        tip = path + (f"\n{error}" if error else "")
        name.setToolTip(tip)
        if doc_id is not None:
            name.setCheckable(True)
            name.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        pages_item = QStandardItem(f"{pages:,}" if pages else "")
        pages_item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        label = STATUS_LABELS.get(status, status)
        if progress:
            label = f"{label} {progress}"
        status_item = QStandardItem(label)  # short and whole; the error is in the tooltip
        status_item.setToolTip(f"{label}: {error}" if error else label)
        status_item.setForeground(QBrush(QColor(STATUS_COLORS.get(status, "#8a8f98"))))
        for it in (pages_item, status_item):
            it.setEditable(False)
        return [name, pages_item, status_item]

    # --- reading ------------------------------------------------------------------------
    def doc_items(self):
        for r in range(self.rowCount()):
            folder = self.item(r, 0)
            for c in range(folder.rowCount()):
                yield folder.child(c, 0)

    def checked_ids(self) -> list:
        return [it.data(DOC_ID) for it in self.doc_items()
                if it.data(DOC_ID) is not None and it.checkState() == Qt.CheckState.Checked]

    def ready_ids(self) -> list:
        return [i for i, d in self.documents.items() if _attr(d, "status", "ready") == "ready"]

    def set_checked(self, doc_ids) -> None:
        wanted = set(doc_ids)
        self.blockSignals(True)
        for it in self.doc_items():
            if it.data(DOC_ID) is not None:
                it.setCheckState(Qt.CheckState.Checked if it.data(DOC_ID) in wanted else Qt.CheckState.Unchecked)
        for r in range(self.rowCount()):
            self._refresh_folder(self.item(r, 0))
        self.blockSignals(False)
        self.dataChanged.emit(self.index(0, 0), self.index(max(0, self.rowCount() - 1), len(COLUMNS) - 1))

    def item_for_path(self, path: str):
        target = os.path.abspath(str(path))
        for it in self.doc_items():
            if os.path.abspath(str(it.data(PATH))) == target:
                return it
        return None

    def title(self, doc_id) -> str:
        d = self.documents.get(doc_id)
        if d is None:
            return str(doc_id)
        return _attr(d, "title") or Path(str(_attr(d, "path", ""))).name

    def page_count(self, doc_id) -> int:
        d = self.documents.get(doc_id)
        return int(_attr(d, "page_count", 0) or 0) if d is not None else 0


class TitleFilter(QSortFilterProxyModel):
    """Search-as-you-type over titles and file names; folders stay while a child matches."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(0)
        self.text = ""

    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            self.text = text.strip()
            self.endFilterChange()
        else:
            self.text = text.strip()
            self.invalidateFilter()

    def filterAcceptsRow(self, row, parent) -> bool:
        text = self.text
        if not text:
            return True
        idx = self.sourceModel().index(row, 0, parent)
        if idx.data(IS_FOLDER):
            return False  # recursive filtering keeps it when a document matches
        hay = f"{idx.data() or ''} {Path(str(idx.data(PATH) or '')).name}".lower()
        return all(w in hay for w in text.lower().split())

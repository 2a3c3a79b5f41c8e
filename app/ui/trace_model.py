"""The run's trace tree as a QAbstractItemModel: one row per sub-query, growing live.

Nodes are plain dicts (live TraceNodes are converted on arrival; history gives dicts),
kept in a dict by id with ordered child lists. Index internal ids are small integers
we assign, never Python object pointers.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from app.ui.engine import as_dict
from app.ui.theme import FATE_COLORS, FATE_LABELS, fate_icon

COLUMNS = ["Kind", "Sub-query", "Slice", "Status", "Tokens", "s"]
NODE_ROLE = Qt.ItemDataRole.UserRole + 1
NODE_ID_ROLE = Qt.ItemDataRole.UserRole + 2


def slice_label(sl) -> str:
    """`R-intro.pdf p.12-14`: the title and pages a sub-query read."""
    if not sl:
        return ""
    sl = as_dict(sl)
    title = sl.get("title") or (f"doc {sl.get('doc_id')}" if sl.get("doc_id") is not None else "")
    a, b = sl.get("page_start"), sl.get("page_end")
    if a and b and b != a:
        pages = f"p.{a}-{b}"
    elif a:
        pages = f"p.{a}"
    else:
        pages = ""
    return f"{title} {pages}".strip()


_CHARS_RE = re.compile(r",\s*chars \d+-\d+")


def user_prompt(prompt: str) -> str:
    """The user part of a rendered prompt (the system preamble is the same every call)."""
    text = str(prompt or "")
    i = text.rfind("[user]")
    return text[i + 6:] if i >= 0 else text


_ASKED = {
    "plan": "what is the question asking?",
    "filter": "",
    "verify": "is this answer supported by the slice?",
    "reduce": "combine the notes into one answer",
    "pick": "which of these passages answers the question?",
    "final": "the answer",
    "code": "run the model's program",
}


def asked_found(n: dict) -> tuple[str, str]:
    """(asked, found) for one node in plain words: what the step asked (of the model, or
    of the code for steps without a call) and what came back."""
    label = _CHARS_RE.sub("", str(n.get("label") or "")).strip()
    data = n.get("data") if isinstance(n.get("data"), dict) else {}
    kind = str(n.get("kind") or "")
    out = " ".join(str(n.get("output") or "").split())
    if n.get("id") == "rewrite" or data.get("standalone"):
        return f"follow-up “{data.get('asked') or n.get('prompt')}”", f"asked as “{data.get('standalone') or out}”"
    if label.startswith("read ") or (kind == "map" and n.get("slice") and (not label or label.startswith("read"))):
        asked = "does this slice answer the question?"
    elif label.startswith("does this answer it?"):
        asked = "does this sentence answer the question?"
    elif label.startswith("check "):
        asked = f"is {label[6:]} supported?"
    else:
        asked = label or _ASKED.get(kind, "") or short(user_prompt(n.get("prompt")) or n.get("template"), 80)
    if n.get("status") == "running":
        return asked, "…"
    if data.get("relevant") is False and not data.get("answer"):
        found = "nothing relevant"
    elif data.get("answer"):
        found = f"“{short(data['answer'], 60)}”"
    elif kind == "plan" and (data.get("terms") is not None or out.startswith("{")):
        plan = data if data.get("terms") is not None else _json(out)
        terms = [str(t) for t in (plan.get("terms") or [])][:6]
        found = (f"{plan.get('kind') or 'a'} question" + (f"; search terms: {', '.join(terms)}" if terms else "")) \
            if plan else short(out, 60)
    elif kind == "filter":
        cands = data.get("candidates")
        found = f"{len(cands)} candidate slices" if isinstance(cands, list) else short(out, 60)
    elif kind == "pick" and data.get("picked") is not None:
        picked, p = str(data["picked"]), (data.get("p") or {}).get(str(data["picked"]))
        found = ("none of them" if picked == "0" else f"passage {picked}") + (f" (P {float(p):.2f})" if p is not None else "")
    elif "p_yes" in data:
        found = f"{out or '?'} (P(yes) {float(data['p_yes']):.2f})"
    else:
        found = short(out, 60)
    if n.get("status") in ("failed", "cancelled"):
        found = f"{n.get('status')}: {found}" if found else str(n.get("status"))
    return asked, found


def _json(text: str) -> dict:
    import json

    try:
        v = json.loads(text)
        return v if isinstance(v, dict) else {}
    except ValueError:
        return {}


def sub_query_text(n: dict) -> str:
    """What the row says: "asked: … / found: …"."""
    asked, found = asked_found(n)
    return short(f"asked: {asked}" + (f" / found: {found}" if found else ""), 140)


def called_model(n: dict) -> bool:
    """Whether a node is a model call (its prompt was sent), not a step done in code."""
    return bool(n.get("prompt")) and n.get("kind") != "code" and n.get("id") != "rewrite"


def short(text, n: int = 90) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _intish(v) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def _floatish(v) -> float:
    try:
        return float(v or 0.0)
    except (TypeError, ValueError):
        return 0.0


class TraceModel(QAbstractItemModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._nodes: dict = {}  # node id -> dict
        self._key: dict = {}  # node id -> int internal id
        self._by_key: dict[int, object] = {}
        self._children: dict = {None: []}  # parent node id (None = root) -> [child ids]
        self._parent: dict = {}  # node id -> parent node id or None

    # --- feeding ----------------------------------------------------------------------
    def clear(self) -> None:
        self.beginResetModel()
        self._nodes.clear()
        self._key.clear()
        self._by_key.clear()
        self._children = {None: []}
        self._parent.clear()
        self.endResetModel()

    def set_nodes(self, nodes) -> None:
        self.clear()
        for n in nodes:
            self.upsert(n)

    def upsert(self, node) -> QModelIndex:
        n = as_dict(node)
        nid = n.get("id")
        if nid is None:
            return QModelIndex()
        if nid in self._nodes:
            self._nodes[nid].update(n)
            row = self._row_of(nid)
            pid = self._parent[nid]
            top = self.createIndex(row, 0, self._key[nid])
            bottom = self.createIndex(row, len(COLUMNS) - 1, self._key[nid])
            self.dataChanged.emit(top, bottom)
            return top
        pid = n.get("parent")
        if pid not in self._nodes:
            pid = None  # an unknown parent (or the root): show at top level
        siblings = self._children.setdefault(pid, [])
        row = len(siblings)
        self.beginInsertRows(self._index_of(pid), row, row)
        key = len(self._by_key) + 1
        self._nodes[nid] = n
        self._key[nid] = key
        self._by_key[key] = nid
        self._parent[nid] = pid
        self._children.setdefault(nid, [])
        siblings.append(nid)
        self.endInsertRows()
        return self.createIndex(row, 0, key)

    # --- lookups ----------------------------------------------------------------------
    def node(self, index: QModelIndex) -> dict | None:
        if not index.isValid():
            return None
        return self._nodes.get(self._by_key.get(index.internalId()))

    def nodes(self) -> list[dict]:
        return list(self._nodes.values())

    def index_for_id(self, node_id) -> QModelIndex:
        if node_id not in self._nodes:
            # ids may come back from JSON as strings
            for k in self._nodes:
                if str(k) == str(node_id):
                    node_id = k
                    break
            else:
                return QModelIndex()
        return self._index_of(node_id)

    def _row_of(self, nid) -> int:
        return self._children[self._parent[nid]].index(nid)

    def _index_of(self, nid) -> QModelIndex:
        if nid is None:
            return QModelIndex()
        return self.createIndex(self._row_of(nid), 0, self._key[nid])

    def totals(self) -> dict:
        ns = self._nodes.values()
        return {
            "calls": sum(1 for n in ns if n.get("kind") != "code"),
            "tokens_in": sum(_intish(n.get("tokens_in")) for n in ns),
            "tokens_out": sum(_intish(n.get("tokens_out")) for n in ns),
            "cached_tokens": sum(_intish(n.get("cached_tokens")) for n in ns),
            "seconds": sum(_floatish(n.get("seconds")) for n in ns),
            "depth": max((_intish(n.get("depth")) for n in ns), default=0),
        }

    def pages_read(self) -> dict:
        """doc_id -> set of pages whose text was given to a model. Steps done in code
        (search, splitting, ranking) have slices too, but no model read them."""
        out: dict = {}
        for sl in self._model_slices():
            a, b = sl.get("page_start"), sl.get("page_end") or sl.get("page_start")
            if not a:
                continue
            out.setdefault(sl["doc_id"], set()).update(range(int(a), int(b) + 1))
        return out

    def chars_read(self) -> dict:
        """doc_id -> characters given to a model (overlapping slices counted once)."""
        spans: dict = {}
        for sl in self._model_slices():
            a, b = sl.get("char_start"), sl.get("char_end")
            if a is None or b is None or int(b) <= int(a):
                continue
            spans.setdefault(sl["doc_id"], []).append((int(a), int(b)))
        out = {}
        for doc, ss in spans.items():
            total, end = 0, None
            for a, b in sorted(ss):
                if end is None or a > end:
                    total += b - a
                    end = b
                elif b > end:
                    total += b - end
                    end = b
            out[doc] = total
        return out

    def _model_slices(self):
        for n in self._nodes.values():
            sl = as_dict(n.get("slice"))
            if sl.get("doc_id") is None or not called_model(n):
                continue
            yield sl

    def progress(self, max_calls=None) -> tuple[int, int]:
        """(slices read, slices planned) for the run's progress bar: planned is what the
        latest search or split step lined up (at most the call limit), never less than
        what has been read or is being read."""
        done = running = 0
        planned = 0
        for n in self._nodes.values():
            data = n.get("data") if isinstance(n.get("data"), dict) else {}
            if n.get("kind") == "filter":
                cands = data.get("candidates")
                if isinstance(cands, list) and cands:
                    planned = max(planned, len(cands))
                out = str(n.get("output") or "")
                if out.startswith("{") and '"parts"' in out:
                    planned = max(planned, out.count("chars "))
            if n.get("slice") and called_model(n):
                if n.get("status") == "running":
                    running += 1
                else:
                    done += 1
        if max_calls:
            planned = min(planned, int(max_calls))
        return done, max(planned, done + running)

    # --- QAbstractItemModel -------------------------------------------------------------
    def index(self, row, column, parent=QModelIndex()):
        if column < 0 or column >= len(COLUMNS) or row < 0:
            return QModelIndex()
        pid = self._by_key.get(parent.internalId()) if parent.isValid() else None
        if parent.isValid() and (pid is None or parent.column() != 0):
            return QModelIndex()
        kids = self._children.get(pid, [])
        if row >= len(kids):
            return QModelIndex()
        return self.createIndex(row, column, self._key[kids[row]])

    def parent(self, index=QModelIndex()):
        if not index.isValid():
            return QModelIndex()
        nid = self._by_key.get(index.internalId())
        if nid is None:
            return QModelIndex()
        return self._index_of(self._parent.get(nid))

    def rowCount(self, parent=QModelIndex()):
        if parent.isValid():
            if parent.column() != 0:
                return 0
            pid = self._by_key.get(parent.internalId())
            return len(self._children.get(pid, [])) if pid is not None else 0
        return len(self._children[None])

    def columnCount(self, parent=QModelIndex()):
        return len(COLUMNS)

    def hasChildren(self, parent=QModelIndex()):
        return self.rowCount(parent) > 0

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        n = self.node(index)
        if n is None:
            return None
        col = index.column()
        fate = n.get("fate") or ""
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(n, col)
        if role == NODE_ROLE:
            return n
        if role == NODE_ID_ROLE:
            return n.get("id")
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return fate_icon(fate)
        if role == Qt.ItemDataRole.ForegroundRole:
            if fate == "discarded":
                return QBrush(QColor(FATE_COLORS["discarded"]))
            if col == 3 and n.get("status") in ("failed", "error"):
                return QBrush(QColor("#d6453d"))
            return None
        if role == Qt.ItemDataRole.FontRole and fate in ("cited", "discarded"):
            f = QFont()
            if fate == "cited":
                f.setBold(True)
            else:
                f.setItalic(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole:
            asked, found = asked_found(n)
            parts = [f"asked: {asked}", f"found: {found}"]
            if fate:
                parts.append(FATE_LABELS.get(fate, fate) + (f" ({n.get('fate_reason')})" if n.get("fate_reason") else ""))
            return "\n".join(parts)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (4, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, n: dict, col: int):
        if col == 0:
            return str(n.get("kind") or "")
        if col == 1:
            return sub_query_text(n)
        if col == 2:
            # A long title would push Sub-query (the column that matters) off screen: the
            # title is shortened here; the full label is in the details pane.
            sl = as_dict(n.get("slice"))
            if sl.get("title") and len(str(sl["title"])) > 18:
                t = str(sl["title"])
                sl = dict(sl, title=t[:10].rstrip() + "…" + t[-6:].lstrip())
            return slice_label(sl)
        if col == 3:
            status = str(n.get("status") or "")
            fate = n.get("fate") or ""
            return fate if fate and status == "done" else status
        if col == 4:
            t = _intish(n.get("tokens_in")) + _intish(n.get("tokens_out"))
            return f"{t:,}" if t else ""
        if col == 5:
            s = _floatish(n.get("seconds"))
            return f"{s:.1f}" if s else ""
        return None


def doc_title_from_slice(sl) -> str:
    sl = as_dict(sl)
    return sl.get("title") or Path(str(sl.get("doc_id", ""))).name


__all__ = ["TraceModel", "slice_label", "NODE_ROLE", "NODE_ID_ROLE", "QPersistentModelIndex"]

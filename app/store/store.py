"""The library database: documents, their paths, pages, chunks, full-text search, runs.

One Store per thread: each owns its sqlite connection. WAL mode lets readers work
while one writer commits. Every multi-row change runs in one IMMEDIATE transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from app.store import crypto
from app.store import health as _health
from app.store import search as _search
from app.store.health import LibraryDamaged
from app.store.migrations import MIGRATIONS, applied, migrate
from app.store.models import (PAGE_SEPARATOR, Chunk, Document, Hit, OutlineEntry, Page, Section, TableData,
                              clean_cell, clean_label, clean_title)
from app.store.runs import RunsMixin

BUSY_TIMEOUT_S = 30.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_store(path=None) -> "Store":
    """Open (creating and migrating as needed) the library at `path` (default: app.paths.db_path())."""
    if path is None:
        from app.paths import db_path

        path = db_path()
    store = Store(path)
    if isinstance(store.path, Path):
        from app.paths import clean_stale_spools

        # Extracted text left by a killed import is confidential: gone at the next start.
        clean_stale_spools(store.path.parent / "spool")
    return store


class Store(RunsMixin):
    def __init__(self, path, *, encrypted: bool | None = None):
        self.path = Path(path) if str(path) != ":memory:" else path
        on_disk = isinstance(self.path, Path)
        if on_disk:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = on_disk and self.path.exists() and self.path.stat().st_size > 0
        # An encrypted library (crypto.py) needs the passphrase: PassphraseError otherwise.
        # Autocommit at the driver level; transactions are explicit (BEGIN IMMEDIATE).
        self.conn = crypto.connect(path, encrypted=encrypted, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        self.encrypted = not isinstance(self.conn, sqlite3.Connection)
        self.conn.row_factory = crypto.row_factory(self.conn)
        # Checked before anything writes to it (WAL switch, migrations), once per process.
        self._health = _health.check(self.path) if existed else _health.Health("ok")
        self._gate = _health.gate_for(self.path) if on_disk else None
        self.db = Database(self.conn)
        self._thread = threading.get_ident()
        if self._health.state == "damaged":
            return  # opened for reading what survives (and for the rebuild); never written
        try:
            self._enable_wal()
            self.conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoint; safe with WAL
            self.conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except crypto.DatabaseError as e:
            if not _health.is_corruption(e):
                raise
            self.conn.close()
            _health.mark_damaged(self.path, str(e))
            raise LibraryDamaged(_health.damaged_message(self.path, str(e))) from None

    def _migrate(self) -> None:
        if not isinstance(self.path, Path):
            migrate(self.db)
            return
        if _health.already_migrated(self.path, self.conn):
            return
        with self._gate:
            done = applied(self.db)
            pending = [name for name, _ in MIGRATIONS if name not in set(done)]
            if pending and done:
                # A migration that goes wrong halfway must not cost the library.
                _health.backup(self.conn, self.path, pending[0])
            migrate(self.db)
        _health.remember_migrated(self.path, self.conn)

    # --- health ---------------------------------------------------------------------
    @property
    def damage(self) -> str | None:
        """A message when the library failed its integrity check (writes are refused), else None."""
        h = self._health
        return _health.damaged_message(self.path, h.detail) if h.state == "damaged" else None

    def wait_for_check(self, timeout: float | None = None) -> str:
        """Wait for a background quick_check; returns ok / damaged / checking."""
        if self._health.event is not None:
            self._health.event.wait(timeout)
        return self._health.state

    def check_writable(self) -> None:
        """Raise LibraryDamaged (with how to rebuild) when the library must not be written."""
        if self._health.state == "damaged":
            raise LibraryDamaged(self.damage)

    def _begin(self) -> None:
        """Take the write gate, then SQLite's write lock; the caller must _end()."""
        self.check_writable()
        if self._gate is not None:
            self._gate.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException as e:
            self._end()
            self._raise_if_corrupt(e)
            raise

    def _end(self) -> None:
        if self._gate is not None:
            self._gate.release()

    def _raise_if_corrupt(self, e: BaseException) -> None:
        if _health.is_corruption(e) and isinstance(self.path, Path):
            _health.mark_damaged(self.path, str(e))
            raise LibraryDamaged(self.damage) from e

    def _enable_wal(self) -> None:
        """WAL is a property of the file, set once. Switching needs an exclusive lock and
        SQLite answers "database is locked" at once, without its busy handler, while another
        connection is creating the same new file: so retry, within the usual busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        delay = 0.005
        while True:
            try:
                mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except crypto.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    # --- plumbing -----------------------------------------------------------------
    def close(self) -> None:
        try:
            self.conn.close()
        except crypto.Error:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def _write(self):
        """One IMMEDIATE transaction (nested use joins the outer one)."""
        if self.conn.in_transaction:
            yield
            return
        self._begin()
        try:
            try:
                yield
            except BaseException as e:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                self._raise_if_corrupt(e)
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except crypto.DatabaseError as e:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    self._raise_if_corrupt(e)
                    raise
        finally:
            self._end()

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

    # --- documents ----------------------------------------------------------------
    def _paths_for(self, doc_ids: list[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {i: [] for i in doc_ids}
        if not doc_ids:
            return out
        q = ",".join("?" * len(doc_ids))
        for r in self.conn.execute(
            f"SELECT doc_id, path FROM document_paths WHERE doc_id IN ({q}) ORDER BY added_at, rowid", doc_ids
        ):
            out[r[0]].append(r[1])
        return out

    def _doc(self, row, paths: list[str], chunk_count: int = 0) -> Document:
        primary = row["path"]
        ordered = [primary] + [p for p in paths if p != primary] if primary in paths else (paths or [primary])
        return Document(
            id=row["id"], path=primary, paths=ordered, title=clean_title(row["title"] or "") or Path(primary).name,
            sha256=row["sha256"], size=row["size"], mtime=row["mtime"], page_count=row["page_count"],
            char_count=row["char_count"], status=row["status"], error=row["error"],
            added_at=row["added_at"], format=row["format"] or "", chunk_count=chunk_count,
            updated_at=row["updated_at"], title_source=row["title_source"] or "",
        )

    def list_documents(self) -> list[Document]:
        rows = self.conn.execute(
            "SELECT d.*, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) AS n_chunks "
            "FROM documents d ORDER BY d.title COLLATE NOCASE, d.id"
        ).fetchall()
        paths = self._paths_for([r["id"] for r in rows])
        return [self._doc(r, paths[r["id"]], r["n_chunks"]) for r in rows]

    def get_document(self, doc_id: int) -> Document | None:
        r = self.conn.execute(
            "SELECT d.*, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id) AS n_chunks "
            "FROM documents d WHERE id = ?", [doc_id]
        ).fetchone()
        if r is None:
            return None
        return self._doc(r, self._paths_for([doc_id])[doc_id], r["n_chunks"])

    def document_for_path(self, path) -> Document | None:
        r = self.conn.execute("SELECT doc_id FROM document_paths WHERE path = ?", [str(path)]).fetchone()
        return self.get_document(r[0]) if r else None

    def remove_document(self, doc_id: int) -> bool:
        """Forget a document (pages, chunks, index entries, paths). Files on disk are never touched."""
        with self._write():
            return self._delete_doc(doc_id)

    def _delete_doc(self, doc_id: int) -> bool:
        self.conn.execute("DELETE FROM doc_outline WHERE doc_id = ?", [doc_id])
        self.conn.execute("DELETE FROM doc_tables WHERE doc_id = ?", [doc_id])
        self.conn.execute("DELETE FROM chunks WHERE doc_id = ?", [doc_id])
        self.conn.execute("DELETE FROM pages WHERE doc_id = ?", [doc_id])
        self.conn.execute("DELETE FROM document_paths WHERE doc_id = ?", [doc_id])
        return self.conn.execute("DELETE FROM documents WHERE id = ?", [doc_id]).rowcount > 0

    # --- pages and text -----------------------------------------------------------
    def pages(self, doc_id: int) -> list[Page]:
        return [
            Page(doc_id, r[0], r[1], r[2], r[3])
            for r in self.conn.execute(
                "SELECT page_no, text, char_start, char_end FROM pages WHERE doc_id = ? ORDER BY page_no", [doc_id]
            )
        ]

    def get_page(self, doc_id: int, page_no: int) -> Page | None:
        r = self.conn.execute(
            "SELECT page_no, text, char_start, char_end FROM pages WHERE doc_id = ? AND page_no = ?",
            [doc_id, page_no],
        ).fetchone()
        return Page(doc_id, r[0], r[1], r[2], r[3]) if r else None

    def document_text(self, doc_id: int) -> str:
        """All pages joined by PAGE_SEPARATOR; page and chunk char offsets index into it."""
        return PAGE_SEPARATOR.join(
            r[0] for r in self.conn.execute("SELECT text FROM pages WHERE doc_id = ? ORDER BY page_no", [doc_id])
        )

    def text_slice(self, doc_id: int, char_start: int, char_end: int) -> str:
        """document_text(doc_id)[char_start:char_end], reading only the pages it spans."""
        rows = self.conn.execute(
            "SELECT text, char_start, char_end FROM pages WHERE doc_id = ? AND char_end >= ? AND char_start <= ? "
            "ORDER BY page_no",
            [doc_id, char_start, char_end],
        ).fetchall()
        if not rows:
            return ""
        base = rows[0][1]
        joined = PAGE_SEPARATOR.join(r[0] for r in rows)
        return joined[max(0, char_start - base): max(0, char_end - base)]

    def page_at(self, doc_id: int, char_offset: int) -> int | None:
        """The page number holding a document char offset (a separator counts to the page before)."""
        r = self.conn.execute(
            "SELECT page_no FROM pages WHERE doc_id = ? AND char_start <= ? ORDER BY page_no DESC LIMIT 1",
            [doc_id, char_offset],
        ).fetchone()
        return r[0] if r else None

    # --- structure: titles, page labels, outline, sections, tables ---------------------------
    # For the reader and the controller: all read-only except set_title. Every string here
    # came from a document and is data (cleaned of control characters, length-capped).
    def set_title(self, doc_id: int, title: str) -> str:
        """Give a document the title a user typed (cleaned; 200 characters at most).

        Returns the title as stored. Raises KeyError for an unknown id and ValueError for
        a title that is empty once cleaned. The title is marked title_source='user'."""
        t = clean_title(title)
        if not t:
            raise ValueError("the title is empty")
        with self._write():
            n = self.conn.execute(
                "UPDATE documents SET title = ?, title_source = 'user', updated_at = ? WHERE id = ?",
                [t, _now(), doc_id],
            ).rowcount
        if not n:
            raise KeyError(doc_id)
        return t

    def page_label(self, doc_id: int, page_no: int) -> str:
        """The printed page number of PDF page `page_no` (1-based), e.g. "990" or "xii";
        '' when the PDF defines no labels (show page_no then) or the page is unknown."""
        r = self.conn.execute("SELECT label FROM pages WHERE doc_id = ? AND page_no = ?", [doc_id, page_no]).fetchone()
        return r[0] if r else ""

    def page_labels(self, doc_id: int) -> dict[int, str]:
        """{page_no: label} for every page that has a label (empty when the PDF has none)."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT page_no, label FROM pages WHERE doc_id = ? AND label != '' ORDER BY page_no", [doc_id])}

    def page_for_label(self, doc_id: int, label: str) -> int | None:
        """The first PDF page (1-based) printed with `label` ("990" -> 1006), or None."""
        r = self.conn.execute(
            "SELECT page_no FROM pages WHERE doc_id = ? AND label = ? ORDER BY page_no LIMIT 1",
            [doc_id, clean_label(label)],
        ).fetchone()
        return r[0] if r else None

    def outline(self, doc_id: int) -> list[OutlineEntry]:
        """The document's outline in document order (see OutlineEntry): its bookmarks, or
        headings found by font for a PDF without bookmarks; [] when it has neither.
        level 1 is the top; an outline pane indents by level - 1."""
        return [
            OutlineEntry(doc_id, r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "")
            for r in self.conn.execute(
                "SELECT o.seq, o.level, o.title, o.page_no, o.char_start, o.source, p.label FROM doc_outline o "
                "LEFT JOIN pages p ON p.doc_id = o.doc_id AND p.page_no = o.page_no "
                "WHERE o.doc_id = ? ORDER BY o.seq", [doc_id])
        ]

    def sections(self, doc_id: int) -> list[Section]:
        """Outline entries as spans of document_text, in document order (see Section).
        Entries that point nowhere in the document are left out."""
        entries = sorted((e for e in self.outline(doc_id) if e.char_start is not None),
                         key=lambda e: (e.char_start, e.seq))
        if not entries:
            return []
        r = self.conn.execute("SELECT MAX(char_end) FROM pages WHERE doc_id = ?", [doc_id]).fetchone()
        doc_end = r[0] or 0
        out: list[Section] = []
        open_: list[Section] = []  # a stack: each entry closes the open ones at its level or deeper
        for e in entries:
            start = min(e.char_start, doc_end)
            while open_ and open_[-1].level >= e.level:
                open_.pop().char_end = start
            s = Section(doc_id, e.seq, e.title, e.level, start, doc_end, e.page_no or 0, e.page_label, e.source)
            out.append(s)
            open_.append(s)
        return out

    def tables(self, doc_id: int, page: int | None = None) -> list[TableData]:
        """Tables found at import, in document order (only those on `page` when given)."""
        sql = ("SELECT t.id, t.seq, t.page_no, t.header, t.rows, t.bbox, t.truncated, p.label FROM doc_tables t "
               "LEFT JOIN pages p ON p.doc_id = t.doc_id AND p.page_no = t.page_no WHERE t.doc_id = ?")
        params: list = [doc_id]
        if page is not None:
            sql += " AND t.page_no = ?"
            params.append(int(page))
        out = []
        for r in self.conn.execute(sql + " ORDER BY t.seq", params):
            out.append(TableData(r[0], doc_id, r[1], r[2], _json_list(r[3]), _json_list(r[4]), _json_list(r[5]),
                                 bool(r[6]), r[7] or ""))
        return out

    def structure_counts(self, doc_id: int) -> dict:
        """How much structure a document has: outline entries (by source), tables, labelled pages."""
        c = {"outline": 0, "heading": 0}
        for src, n in self.conn.execute(
                "SELECT source, COUNT(*) FROM doc_outline WHERE doc_id = ? GROUP BY source", [doc_id]):
            c[src] = n
        c["tables"] = self.conn.execute("SELECT COUNT(*) FROM doc_tables WHERE doc_id = ?", [doc_id]).fetchone()[0]
        c["labelled_pages"] = self.conn.execute(
            "SELECT COUNT(*) FROM pages WHERE doc_id = ? AND label != ''", [doc_id]).fetchone()[0]
        return c

    # --- chunks -------------------------------------------------------------------
    @staticmethod
    def _chunk(r) -> Chunk:
        return Chunk(r["id"], r["doc_id"], r["seq"], r["page_start"], r["page_end"],
                     r["char_start"], r["char_end"], r["text"])

    def chunks(self, doc_ids=None) -> list[Chunk]:
        if doc_ids is None:
            rows = self.conn.execute("SELECT * FROM chunks ORDER BY doc_id, seq")
        else:
            ids = [int(i) for i in doc_ids]
            if not ids:
                return []
            q = ",".join("?" * len(ids))
            rows = self.conn.execute(f"SELECT * FROM chunks WHERE doc_id IN ({q}) ORDER BY doc_id, seq", ids)
        return [self._chunk(r) for r in rows]

    def get_chunk(self, chunk_id: int) -> Chunk | None:
        r = self.conn.execute("SELECT * FROM chunks WHERE id = ?", [chunk_id]).fetchone()
        return self._chunk(r) if r else None

    # --- search -------------------------------------------------------------------
    def search(self, query: str, doc_ids=None, limit: int = 20) -> list[Hit]:
        """Full-text search over chunks, best first (BM25). Raises SearchSyntaxError on a bad query."""
        match = _search.prepare(query)
        sql = (
            "SELECT c.id, c.doc_id, c.seq, c.page_start, c.page_end, c.char_start, c.char_end, c.text, "
            "d.title, d.path, snippet(chunks_fts, 0, '[', ']', '…', 16) AS snip, bm25(chunks_fts) AS score "
            "FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN documents d ON d.id = c.doc_id "
            "WHERE chunks_fts MATCH ?"
        )
        params: list = [match]
        if doc_ids is not None:
            ids = [int(i) for i in doc_ids]
            if not ids:
                return []
            sql += f" AND c.doc_id IN ({','.join('?' * len(ids))})"
            params += ids
        sql += " ORDER BY score LIMIT ?"
        params.append(max(1, int(limit)))
        try:
            rows = self.conn.execute(sql, params).fetchall()
        except crypto.OperationalError as e:
            raise _search.explain(e, query) from None
        return [
            Hit(chunk_id=r["id"], doc_id=r["doc_id"], title=clean_title(r["title"] or "") or Path(r["path"]).name,
                page_start=r["page_start"], page_end=r["page_end"], char_start=r["char_start"],
                char_end=r["char_end"], snippet=r["snip"], rank=-float(r["score"]), text=r["text"],
                path=r["path"], seq=r["seq"])
            for r in rows
        ]

    def stats(self, doc_ids=None) -> dict:
        where, params = "", []
        if doc_ids is not None:
            ids = [int(i) for i in doc_ids]
            where = f" WHERE doc_id IN ({','.join('?' * len(ids))})" if ids else " WHERE 0"
            params = ids
        dwhere = where.replace("doc_id", "id")
        d = self.conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(page_count), 0), COALESCE(SUM(char_count), 0) FROM documents{dwhere}",
            params,
        ).fetchone()
        c = self.conn.execute(f"SELECT COUNT(*) FROM chunks{where}", params).fetchone()
        return {"documents": d[0], "pages": d[1], "chars": d[2], "chunks": c[0]}

    # --- used by the importer (the single writer) ----------------------------------
    def path_state(self, path) -> sqlite3.Row | None:
        """doc_id, size, mtime, status, sha256, error, reader recorded for a path, or None. One indexed lookup."""
        return self.conn.execute(
            "SELECT p.doc_id, p.size, p.mtime, d.status, d.sha256, d.error, d.reader FROM document_paths p "
            "JOIN documents d ON d.id = p.doc_id WHERE p.path = ?",
            [str(path)],
        ).fetchone()

    def find_content(self, sha256: str, statuses=("ready", "no-text"), min_reader: int = 0) -> int | None:
        """The document holding this content, read by at least reader `min_reader`."""
        q = ",".join("?" * len(statuses))
        r = self.conn.execute(
            f"SELECT id FROM documents WHERE sha256 = ? AND status IN ({q}) AND reader >= ? ORDER BY id LIMIT 1",
            [sha256, *statuses, min_reader],
        ).fetchone()
        return r[0] if r else None

    def touch_path(self, path, size: int, mtime: float) -> None:
        """Same content, new mtime (copied or touched): remember it so the next check is instant."""
        with self._write():
            self.conn.execute("UPDATE document_paths SET size = ?, mtime = ? WHERE path = ?", [size, mtime, str(path)])

    def link_path(self, doc_id: int, path, size: int, mtime: float) -> None:
        """Point `path` at an existing document (same content found elsewhere)."""
        with self._write():
            self._link(doc_id, str(path), size, mtime)

    def _link(self, doc_id: int, path: str, size: int, mtime: float) -> None:
        old = self.conn.execute("SELECT doc_id FROM document_paths WHERE path = ?", [path]).fetchone()
        self.conn.execute(
            "INSERT INTO document_paths (path, doc_id, size, mtime, added_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET doc_id = excluded.doc_id, size = excluded.size, mtime = excluded.mtime",
            [path, doc_id, size, mtime, _now()],
        )
        if old and old[0] != doc_id:
            self._drop_if_orphan(old[0])

    def _drop_if_orphan(self, doc_id: int) -> None:
        rest = self.conn.execute(
            "SELECT path FROM document_paths WHERE doc_id = ? ORDER BY added_at, rowid LIMIT 1", [doc_id]
        ).fetchone()
        if rest is None:
            self._delete_doc(doc_id)
        else:  # the primary path moved away: promote the next one
            self.conn.execute(
                "UPDATE documents SET path = ? WHERE id = ? AND path NOT IN "
                "(SELECT path FROM document_paths WHERE doc_id = ?)",
                [rest[0], doc_id, doc_id],
            )

    def begin_document(self, *, path, size: int, mtime: float, sha256: str | None, title: str = "",
                       format: str = "", status: str = "ready", error: str | None = None) -> "DocumentWriter":
        """Start writing one document in one transaction; see DocumentWriter."""
        return DocumentWriter(self, str(path), size, mtime, sha256, title, format, status, error)

    def record_failure(self, *, path, size: int = 0, mtime: float = 0.0, sha256: str | None = None,
                       status: str = "error", error: str, format: str = "", title: str = "") -> int:
        """A document row with no pages (error / needs-password), replacing what the path held."""
        w = self.begin_document(path=path, size=size, mtime=mtime, sha256=sha256, title=title,
                                format=format, status=status, error=error)
        return w.commit()


def _json_list(text) -> list:
    try:
        v = json.loads(text or "[]")
    except ValueError:
        return []
    return v if isinstance(v, list) else []


class DocumentWriter:
    """Pages and chunks of one document, written in a single IMMEDIATE transaction.

    add_page() returns the page's (char_start, char_end) in document_text(); the caller
    (the importer's chunker) adds chunks with offsets into that same text. commit()
    links the path, drops the path's previous document and any duplicates it replaces,
    then commits; rollback() (or an exception, or a killed process) leaves no trace.
    """

    _BATCH = 256

    def __init__(self, store: Store, path, size, mtime, sha256, title, format, status, error):
        self.store = store
        self.conn = store.conn
        self.path, self.size, self.mtime, self.sha256 = path, size, mtime, sha256
        self.status, self.error = status, error
        self.done = True  # until the gate is held: nothing to roll back or release
        store._begin()
        self.done = False
        now = _now()
        try:
            self.doc_id = self.conn.execute(
                "INSERT INTO documents (path, title, sha256, size, mtime, status, error, format, added_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'importing', ?, ?, ?, ?)",
                [path, title or "", sha256, size, mtime, error, format, now, now],
            ).lastrowid
        except BaseException as e:
            self.rollback()
            store._raise_if_corrupt(e)
            raise
        self.page_count = 0
        self.char_count = 0
        self._offset = 0
        self._pages: list = []
        self._chunks: list = []
        self._outline: list = []
        self._tables: list = []
        self.chunk_count = 0
        self.done = False

    def add_page(self, text: str, label: str = "") -> tuple[int, int]:
        """label: the printed page number ('' when the PDF has none)."""
        if self.page_count:
            self._offset += len(PAGE_SEPARATOR)
        start = self._offset
        self._offset += len(text)
        self.page_count += 1
        self.char_count += len(text)
        self._pages.append((self.doc_id, self.page_count, text, start, self._offset, clean_label(label)))
        if len(self._pages) >= self._BATCH:
            self._flush_pages()
        return start, self._offset

    def add_chunk(self, page_start: int, page_end: int, char_start: int, char_end: int, text: str) -> None:
        self._chunks.append((self.doc_id, self.chunk_count, page_start, page_end, char_start, char_end, text))
        self.chunk_count += 1
        if len(self._chunks) >= self._BATCH:
            self._flush_chunks()

    def add_outline_entry(self, level: int, title: str, page_no: int | None, char_start: int | None,
                          source: str = "outline") -> None:
        """One outline entry, in document order (the caller caps how many)."""
        t = clean_title(title)
        if not t:
            return
        self._outline.append((self.doc_id, len(self._outline), max(1, min(int(level), 9)), t,
                              page_no, char_start, source))

    def add_table(self, page_no: int, header: list, rows: list, bbox=(), truncated: bool = False) -> None:
        """One table of page `page_no`: header cell texts and rows of cell texts (cleaned here)."""
        h = [clean_cell(c) for c in header]
        rs = [[clean_cell(c) for c in row] for row in rows]
        self._tables.append((self.doc_id, len(self._tables), page_no, json.dumps(h, ensure_ascii=False),
                             json.dumps(rs, ensure_ascii=False), len(rs), max([len(h)] + [len(r) for r in rs]),
                             json.dumps([round(float(x), 2) for x in bbox]), int(bool(truncated))))

    def _flush_structure(self):
        if self._outline:
            self.conn.executemany(
                "INSERT INTO doc_outline (doc_id, seq, level, title, page_no, char_start, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", self._outline)
            self._outline.clear()
        if self._tables:
            self.conn.executemany(
                "INSERT INTO doc_tables (doc_id, seq, page_no, header, rows, n_rows, n_cols, bbox, truncated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._tables)
            self._tables.clear()

    def _flush_pages(self):
        if self._pages:
            self.conn.executemany(
                "INSERT INTO pages (doc_id, page_no, text, char_start, char_end, label) VALUES (?, ?, ?, ?, ?, ?)",
                self._pages,
            )
            self._pages.clear()

    def _flush_chunks(self):
        if self._chunks:
            self.conn.executemany(
                "INSERT INTO chunks (doc_id, seq, page_start, page_end, char_start, char_end, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                self._chunks,
            )
            self._chunks.clear()

    def commit(self, *, status: str | None = None, error: str | None = None, title: str | None = None,
               title_source: str | None = None, reader: int = 0) -> int:
        try:
            self._flush_pages()
            self._flush_chunks()
            self._flush_structure()
            status = status or self.status
            sets = ["status = ?", "error = ?", "page_count = ?", "char_count = ?", "reader = ?"]
            params = [status, error if error is not None else self.error, self.page_count, self.char_count, reader]
            if title:
                sets.append("title = ?")
                params.append(title)
            if title_source:
                sets.append("title_source = ?")
                params.append(title_source)
            self.conn.execute(f"UPDATE documents SET {', '.join(sets)} WHERE id = ?", params + [self.doc_id])
            # A title the user gave this path's document survives a re-import of the changed file.
            prev = self.conn.execute(
                "SELECT d.title FROM document_paths p JOIN documents d ON d.id = p.doc_id "
                "WHERE p.path = ? AND d.id != ? AND d.title_source = 'user'", [self.path, self.doc_id]).fetchone()
            if prev is not None:
                self.conn.execute("UPDATE documents SET title = ?, title_source = 'user' WHERE id = ?",
                                  [prev[0], self.doc_id])
            self.store._link(self.doc_id, self.path, self.size, self.mtime)
            if self.sha256 and status in ("ready", "no-text"):
                # Earlier copies of this content that could not be read (locked, failed)
                # now resolve to this document: move their paths over.
                olds = self.conn.execute(
                    "SELECT id FROM documents WHERE sha256 = ? AND id != ? AND status IN ('needs-password', 'error')",
                    [self.sha256, self.doc_id],
                ).fetchall()
                for (old,) in olds:
                    self.conn.execute("UPDATE document_paths SET doc_id = ? WHERE doc_id = ?", [self.doc_id, old])
                    self.store._delete_doc(old)
            self.conn.execute("COMMIT")
        except BaseException as e:
            self.rollback()
            self.store._raise_if_corrupt(e)
            raise
        self.done = True
        self.store._end()
        return self.doc_id

    def rollback(self) -> None:
        if self.done:
            return
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        finally:
            self.done = True
            self.store._end()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        if not self.done:
            self.rollback()

"""Named, append-only schema migrations.

Never edit or reorder an entry once released: add a new one at the end. Each name is
recorded in schema_migrations when applied, so opening any earlier database brings
it to the current schema. Every migration runs inside its own transaction.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from sqlite_utils import Database


def _documents(db: Database) -> None:
    # Plain DDL rather than Table.create(): older sqlite-utils commits inside create(),
    # which would break the one-transaction-per-migration rule.
    db.execute(
        """CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            sha256 TEXT,
            size INTEGER NOT NULL DEFAULT 0,
            mtime REAL NOT NULL DEFAULT 0,
            page_count INTEGER NOT NULL DEFAULT 0,
            char_count INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            error TEXT,
            format TEXT NOT NULL DEFAULT '',
            added_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX documents_sha256 ON documents(sha256)")
    # One row per path on disk; several paths may share a document (same content).
    db.execute(
        """CREATE TABLE document_paths (
            path TEXT PRIMARY KEY,
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            size INTEGER NOT NULL DEFAULT 0,
            mtime REAL NOT NULL DEFAULT 0,
            added_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX document_paths_doc ON document_paths(doc_id)")


def _pages_and_chunks(db: Database) -> None:
    db.execute(
        """CREATE TABLE pages (
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            page_no INTEGER NOT NULL,
            text TEXT NOT NULL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            PRIMARY KEY (doc_id, page_no)
        ) WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            page_start INTEGER NOT NULL,
            page_end INTEGER NOT NULL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            text TEXT NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX chunks_doc_seq ON chunks(doc_id, seq)")


def _chunks_fts(db: Database) -> None:
    # External-content FTS5 over chunks.text; triggers keep it in step inside the
    # same transaction as the chunk rows, so a document is indexed whole or not at all.
    db.execute(
        "CREATE VIRTUAL TABLE chunks_fts USING fts5("
        "text, content='chunks', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute(
        "CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN "
        "INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text); END"
    )
    db.execute(
        "CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN "
        "INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
    )


def _runs(db: Database) -> None:
    db.execute(
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            question TEXT NOT NULL,
            scope TEXT NOT NULL DEFAULT '[]',
            mode TEXT NOT NULL DEFAULT '',
            models TEXT NOT NULL DEFAULT '{}',
            settings TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'running',
            answer TEXT NOT NULL DEFAULT '',
            totals TEXT NOT NULL DEFAULT '{}',
            citations TEXT NOT NULL DEFAULT '[]',
            note TEXT NOT NULL DEFAULT '',
            started_at TEXT NOT NULL,
            finished_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE run_nodes (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            node_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            parent TEXT,
            depth INTEGER NOT NULL DEFAULT 0,
            kind TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT '',
            fate TEXT NOT NULL DEFAULT '',
            doc_id INTEGER,
            tokens_in INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            seconds REAL NOT NULL DEFAULT 0,
            data TEXT NOT NULL,
            PRIMARY KEY (run_id, node_id)
        )"""
    )
    db.execute("CREATE INDEX run_nodes_seq ON run_nodes(run_id, seq)")


def _documents_status_index(db: Database) -> None:
    db.execute("CREATE INDEX documents_status ON documents(status)")


def _fts_merge_settings(db: Database) -> None:
    # Fewer incremental merges while a document is being indexed: about 15% less
    # writer CPU per page on real manuals; queries stay fast (crisismerge still bounds
    # the number of segments).
    db.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('automerge', 8)")


def _runs_owner(db: Database) -> None:
    # The process running a run, so a run whose process died (kill, crash, power cut)
    # can be shown as interrupted instead of "running" forever.
    db.execute("ALTER TABLE runs ADD COLUMN owner_pid INTEGER")


def _document_structure(db: Database) -> None:
    # What a PDF says about its own structure, kept at import (issue 10 item 3, issue 12 item 5).
    # The printed page number ("xii", "990") beside the PDF page index; '' where the PDF has no labels.
    db.execute("ALTER TABLE pages ADD COLUMN label TEXT NOT NULL DEFAULT ''")
    # Where the title came from: metadata | outline | heading | first-line | file | user, so a
    # title the user typed is never mistaken for one guessed at import.
    db.execute("ALTER TABLE documents ADD COLUMN title_source TEXT NOT NULL DEFAULT ''")
    # Outline entries in document order: the PDF's bookmarks (source 'outline') or, for a PDF
    # without any, headings found by font size and weight (source 'heading'). char_start is
    # where the entry's title was found in document_text (NULL when it points nowhere).
    db.execute(
        """CREATE TABLE doc_outline (
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            level INTEGER NOT NULL,
            title TEXT NOT NULL,
            page_no INTEGER,
            char_start INTEGER,
            source TEXT NOT NULL,
            PRIMARY KEY (doc_id, seq)
        ) WITHOUT ROWID"""
    )
    # Tables found on pages (pymupdf find_tables): header and rows as JSON lists of strings.
    db.execute(
        """CREATE TABLE doc_tables (
            id INTEGER PRIMARY KEY,
            doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            page_no INTEGER NOT NULL,
            header TEXT NOT NULL,
            rows TEXT NOT NULL,
            n_rows INTEGER NOT NULL,
            n_cols INTEGER NOT NULL,
            bbox TEXT NOT NULL DEFAULT '[]',
            truncated INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX doc_tables_page ON doc_tables(doc_id, page_no, seq)")


def _documents_reader(db: Database) -> None:
    # Which version of the text reader wrote a document's stored text (app.ingest.importer.
    # TEXT_READER); 0 for documents imported before it was recorded. An import or re-scan
    # reads a document again when an earlier reader wrote it, though its file is unchanged.
    db.execute("ALTER TABLE documents ADD COLUMN reader INTEGER NOT NULL DEFAULT 0")


# (name, function). Append only.
MIGRATIONS: list[tuple[str, callable]] = [
    ("001_documents", _documents),
    ("002_pages_and_chunks", _pages_and_chunks),
    ("003_chunks_fts", _chunks_fts),
    ("004_runs", _runs),
    ("005_documents_status_index", _documents_status_index),
    ("006_fts_merge_settings", _fts_merge_settings),
    ("007_runs_owner", _runs_owner),
    ("008_document_structure", _document_structure),
    ("009_documents_reader", _documents_reader),
]


def applied(db: Database) -> list[str]:
    if not db["schema_migrations"].exists():
        return []
    return [r[0] for r in db.execute("SELECT name FROM schema_migrations ORDER BY rowid").fetchall()]


def migrate(db: Database, upto: str | None = None) -> list[str]:
    """Apply every pending migration (or those up to and including `upto`). Returns names applied."""
    conn: sqlite3.Connection = db.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = set(applied(db))
    known = {name for name, _ in MIGRATIONS}
    unknown = done - known
    if unknown:
        raise RuntimeError(
            "This library was created by a newer version of Lectern "
            f"(unknown schema migrations: {', '.join(sorted(unknown))}). Update Lectern to open it."
        )
    ran = []
    for name, fn in MIGRATIONS:
        if name not in done:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-check under the write lock: another process may have migrated meanwhile.
                if conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", [name]).fetchone():
                    conn.execute("ROLLBACK")
                else:
                    fn(db)
                    conn.execute(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                        [name, datetime.now(timezone.utc).isoformat(timespec="seconds")],
                    )
                    conn.execute("COMMIT")
                    ran.append(name)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if upto is not None and name == upto:
            break
    return ran

"""Rebuild a damaged library from the source files it lists.

The damaged file is moved aside (never deleted: it may still hold past runs someone
wants), the paths it recorded are read back as far as the damage allows, a fresh
library is created in its place, past runs that can still be read are copied over,
and every listed file still on disk is imported again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.ingest.events import ImportEvent
from app.store import crypto


def known_paths(db_path: Path) -> tuple[list[str], list[str]]:
    """(paths recorded in the library, notes on what could not be read)."""
    notes: list[str] = []
    found: dict[str, None] = {}
    try:
        conn = crypto.connect(db_path)  # keyed when the library is encrypted
    except crypto.DatabaseError as e:
        return [], [f"the library cannot be opened at all: {e}"]
    try:
        for sql in ("SELECT path FROM document_paths", "SELECT path FROM documents"):
            try:
                for (p,) in conn.execute(sql):
                    found[p] = None
            except crypto.DatabaseError:
                # Read what the damage spares, one row id at a time around the bad pages.
                n = _scan(conn, sql.split()[-1], found)
                notes.append(f"{sql.split()[-1]}: damaged; {n} path(s) read around the damage")
    finally:
        conn.close()
    return list(found), notes


def _scan(conn, table: str, found: dict) -> int:
    n = 0
    try:
        last = conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except crypto.DatabaseError:
        last = 100_000
    for rowid in range(1, min(last, 1_000_000) + 1):
        try:
            row = conn.execute(f"SELECT path FROM {table} WHERE rowid = ?", [rowid]).fetchone()
        except crypto.DatabaseError:
            continue
        if row and row[0] not in found:
            found[row[0]] = None
            n += 1
    return n


def _copy_runs(new_conn, old: Path, encrypted: bool) -> int:
    """Past runs (questions, answers, traces) that can still be read; 0 when none can."""
    copied = 0
    try:
        if encrypted:
            key = (crypto.passphrase() or "").replace("'", "''")
            new_conn.execute(f"ATTACH DATABASE ? AS old KEY '{key}'", [str(old)])
        else:
            new_conn.execute("ATTACH DATABASE ? AS old", [f"file:{old}?mode=ro"])
    except crypto.DatabaseError:
        return 0
    try:
        for table in ("runs", "run_nodes"):
            try:
                new_cols = [r[1] for r in new_conn.execute(f"PRAGMA main.table_info({table})")]
                old_cols = {r[1] for r in new_conn.execute(f"PRAGMA old.table_info({table})")}
                cols = ", ".join(c for c in new_cols if c in old_cols)
                new_conn.execute("BEGIN IMMEDIATE")
                cur = new_conn.execute(f"INSERT OR IGNORE INTO main.{table} ({cols}) SELECT {cols} FROM old.{table}")
                new_conn.execute("COMMIT")
                if table == "runs":
                    copied = cur.rowcount
            except crypto.DatabaseError:
                if new_conn.in_transaction:
                    new_conn.execute("ROLLBACK")
                if table == "runs":
                    return 0
    finally:
        new_conn.execute("DETACH DATABASE old")
    return copied


def rebuild(db_path=None, *, password: str | None = None, workers: int | None = None, cancel=None):
    """Yields ImportEvents: 'start' naming the paths found, then the import's own events.
    The last event's summary has 'moved_to', 'missing' (paths gone from disk) and 'runs'."""
    from app.ingest.importer import import_paths
    from app.paths import db_path as default_db
    from app.store import Store, health

    db = Path(db_path) if db_path else default_db()
    # An encrypted library is rebuilt encrypted, under the same passphrase.
    encrypted = crypto.is_encrypted(db) and crypto.passphrase() is not None
    paths, notes = known_paths(db) if db.exists() else ([], ["there is no library file"])
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = db.with_name(f"{db.name}.damaged-{stamp}")
    with health.gate_for(db):
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(db) + suffix)
            if src.exists():
                os.replace(src, Path(str(aside) + suffix))
        health.forget(db)
    present = [p for p in paths if os.path.isfile(p)]
    missing = [p for p in paths if not os.path.isfile(p)]
    store = Store(db, encrypted=encrypted)
    try:
        runs = _copy_runs(store.conn, aside, encrypted) if aside.exists() else 0
    finally:
        store.close()
    yield ImportEvent(kind="start", files_total=len(present),
                      message=f"{len(paths)} path(s) recorded, {len(present)} still on disk; the damaged library "
                      f"is kept as {aside.name}" + (f" ({'; '.join(notes)})" if notes else ""))
    last = None
    for ev in import_paths(present, store_path=db, password=password, workers=workers, cancel=cancel):
        if ev.kind == "done":
            last = ev
            continue
        yield ev
    if last is None:
        last = ImportEvent(kind="done", summary={"imported": 0, "skipped": 0, "failed": 0, "pages": 0})
    last.summary = dict(last.summary or {}, moved_to=str(aside), missing=missing, runs=runs)
    yield last

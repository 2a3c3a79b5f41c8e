"""A store that notices damage, backs up before migrating, and has one writer at a time
(issue 13, item 5)."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.ingest import import_paths
from app.store import health, open_store
from app.store import store as store_mod
from app.store.health import LibraryDamaged
from app.store.migrations import MIGRATIONS, applied, migrate
from tests import pdfs

ROOT = Path(__file__).resolve().parent.parent


def lectern(*argv, home):
    env = dict(os.environ, LECTERN_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", *argv],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def _library_with_a_run(tmp_path, home) -> list[Path]:
    files = [pdfs.multi_page_pdf(tmp_path / "src" / f"d{i}.pdf", pages=30, title=f"Doc {i}") for i in range(4)]
    assert list(import_paths(files, workers=0))[-1].summary["imported"] == 4
    with open_store() as s:
        run = s.create_run("what is on page 3?", mode="rag")
        s.save_node(run, {"id": "n1", "kind": "map", "status": "done"})
        s.finish_run(run, "page three", "done")
    return files


def _damage(db: Path, seed: int = 13) -> None:
    """64 KB of random bytes written inside the file (the review's probe)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db.stat().st_size
    assert size > 3 * 65536
    with open(db, "r+b") as f:
        f.seek(size // 2)
        f.write(random.Random(seed).randbytes(65536))


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_random_bytes_inside_the_library_refuse_writes_and_rebuild_restores_it(tmp_path, lectern_home):
    files = _library_with_a_run(tmp_path, lectern_home)
    db = lectern_home / "library.sqlite3"
    _damage(db)
    before = _sha(db)
    extra = pdfs.multi_page_pdf(tmp_path / "new.pdf", pages=2)

    r = lectern("import", str(extra), home=lectern_home)
    assert r.returncode == 1 and "is damaged" in r.stderr and "lectern library rebuild" in r.stderr
    assert "Traceback" not in r.stderr
    r = lectern("remove", "1", home=lectern_home)
    assert r.returncode == 1 and "is damaged" in r.stderr
    assert _sha(db) == before, "a refused write left the damaged file untouched"
    r = lectern("library", "check", home=lectern_home)
    assert r.returncode == 1 and "DAMAGED" in r.stderr
    r = lectern("docs", home=lectern_home)  # reading what survives still works, with a warning
    assert "warning" in r.stderr and "lectern library rebuild" in r.stderr and "Traceback" not in r.stderr

    r = lectern("library", "rebuild", home=lectern_home)
    assert r.returncode == 0, r.stderr
    assert lectern("library", "rebuild", home=lectern_home).returncode == 1  # healthy now: needs --force
    assert "4 imported" in r.stdout and "1 past run(s) kept" in r.stdout
    assert list(lectern_home.glob("library.sqlite3.damaged-*")), "the damaged file is kept aside"
    with open_store() as s:
        assert s.integrity_check() == "ok"
        assert sorted(d.path for d in s.list_documents()) == sorted(map(str, files))
        assert s.search(pdfs.page_marker(3), limit=1)
        assert [r["question"] for r in s.list_runs()] == ["what is on page 3?"]
    assert lectern("import", str(extra), home=lectern_home).returncode == 0


def test_a_big_library_is_checked_in_the_background_and_then_refuses_writes(tmp_path, lectern_home, monkeypatch):
    _library_with_a_run(tmp_path, lectern_home)
    db = lectern_home / "library.sqlite3"
    _damage(db)
    health.forget(db)  # as a new process would: nothing known about this file yet
    monkeypatch.setattr(health, "FOREGROUND_CHECK_MAX_BYTES", 0)
    s = open_store()
    try:
        assert s.wait_for_check(timeout=60) == "damaged"
        assert "lectern library rebuild" in s.damage
        with pytest.raises(LibraryDamaged):
            s.remove_document(1)
        with pytest.raises(LibraryDamaged):
            s.create_run("q")
        with pytest.raises(LibraryDamaged):
            list(import_paths([pdfs.multi_page_pdf(tmp_path / "x.pdf", pages=1)], workers=0))
    finally:
        s.close()


def test_a_header_of_random_bytes_is_a_clear_error(tmp_path):
    db = tmp_path / "lib.sqlite3"
    db.write_bytes(random.Random(1).randbytes(200_000))
    from app.store.crypto import PassphraseError

    # Without a passphrase such a file could be an encrypted library: both are named.
    with pytest.raises((LibraryDamaged, PassphraseError), match="rebuild"):
        open_store(db).check_writable()


def test_pending_migrations_are_preceded_by_a_backup(tmp_path):
    db = tmp_path / "lib.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    from sqlite_utils import Database

    migrate(Database(conn), upto=MIGRATIONS[-2][0])
    conn.execute("INSERT INTO documents (path, status, added_at, updated_at) VALUES ('/old.pdf', 'ready', 'x', 'x')")
    conn.close()
    s = open_store(db)
    s.close()
    backups = list(tmp_path.glob(f"lib.sqlite3.before-{MIGRATIONS[-1][0]}.bak"))
    assert len(backups) == 1
    b = sqlite3.connect(backups[0])
    assert b.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert b.execute("SELECT path FROM documents").fetchall() == [("/old.pdf",)]
    assert [r[0] for r in b.execute("SELECT name FROM schema_migrations")] == [n for n, _ in MIGRATIONS[:-1]]
    # Nothing pending: no new backup.
    open_store(db).close()
    assert len(list(tmp_path.glob("lib.sqlite3.before-*.bak"))) == 1


def test_the_migration_check_runs_once_per_process(tmp_path, monkeypatch):
    calls = []
    real = store_mod.migrate
    monkeypatch.setattr(store_mod, "migrate", lambda db, *a, **k: calls.append(1) or real(db, *a, **k))
    db = tmp_path / "lib.sqlite3"
    for _ in range(3):
        open_store(db).close()
    assert len(calls) == 1
    # A library deleted and made again at the same path is migrated again.
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    s = open_store(db)
    assert applied(s.db) == [n for n, _ in MIGRATIONS]
    s.close()
    assert len(calls) == 2


IMPORTER = """
import sys
from app.ingest import import_paths
for e in import_paths(sys.argv[1:], workers=0):
    pass
"""


def test_concurrent_import_trace_saving_and_deletes_all_succeed(tmp_path, lectern_home, monkeypatch):
    # SQLite's busy timeout cut to 10 ms: without the write gate, a trace write meeting a
    # document's import transaction fails with "database is locked" at once.
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_S", 0.01)
    mine = [pdfs.multi_page_pdf(tmp_path / "a" / f"a{i}.pdf", pages=300, title=f"A {i}", filler_repeats=8)
            for i in range(4)]
    theirs = [pdfs.multi_page_pdf(tmp_path / "b" / f"b{i}.pdf", pages=300, title=f"B {i}", filler_repeats=8)
              for i in range(3)]
    open_store().close()
    env = dict(os.environ, LECTERN_HOME=str(lectern_home), PYTHONPATH=str(ROOT))
    other = subprocess.Popen([sys.executable, "-c", IMPORTER, *map(str, theirs)], env=env, cwd=ROOT,
                             stderr=subprocess.PIPE, text=True)
    errors: list[BaseException] = []
    stop = threading.Event()
    runs: list[int] = []

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported by the assertion below
                errors.append(e)
            finally:
                stop.set() if fn is importer else None
        return run

    def importer():
        events = list(import_paths(mine, workers=0))
        assert events[-1].summary["imported"] + events[-1].summary["skipped"] == len(mine), events[-1].summary

    def asker():
        with open_store() as s:
            while not stop.is_set() or len(runs) < 3:
                run = s.create_run("who?", mode="guided")
                for n in range(20):
                    s.save_node(run, {"id": f"n{n}", "kind": "map", "status": "done", "tokens_in": n})
                s.finish_run(run, "nobody", "done")
                runs.append(run)

    def deleter():
        with open_store() as s:
            while not stop.is_set():
                for d in s.list_documents():
                    if d.path.endswith("a0.pdf"):
                        s.remove_document(d.id)
                stop.wait(0.01)

    threads = [threading.Thread(target=guard(f)) for f in (importer, asker, deleter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert other.wait(timeout=300) == 0, other.stderr.read()[-2000:]
    assert not errors, errors
    with open_store() as s:
        assert s.integrity_check() == "ok"
        s.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
        names = {Path(d.path).name for d in s.list_documents()}
        assert {"a1.pdf", "a2.pdf", "a3.pdf", "b0.pdf", "b1.pdf", "b2.pdf"} <= names
        for run in runs:
            assert len(s.get_run(run)["nodes"]) == 20

"""A library that notices damage, and one writer at a time.

- Health: SQLite's quick_check runs once per process for each library file, at open;
  for a large file in a background thread, so the window opens at once. A damaged
  library refuses every write with LibraryDamaged, whose message says how to rebuild
  it from the source files (`lectern library rebuild`).
- The write gate: every write transaction (import, trace saving, deletes, settings
  kept in the library) takes one lock per library file, shared by all threads of a
  process and, through flock on a lock file next to the database, by every Lectern
  process. Writers queue in the gate instead of meeting SQLite's 30 s busy timeout
  while a long import transaction holds the file.
- Backups: SQLite's online backup API copies the library before pending migrations
  run, so a migration that goes wrong can be undone by hand.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# quick_check reads the whole file: 0.39 s for 396 MB here with the file in the page
# cache, as long as the disk takes to read it when cold. Above this size it runs in the
# background and writes go ahead until it reports.
FOREGROUND_CHECK_MAX_BYTES = 64 << 20
GATE_WAIT_S = 600.0  # a writer waiting longer than this says which lock it waits on
KEEP_BACKUPS = 2


class LibraryDamaged(sqlite3.DatabaseError):
    """The library file failed SQLite's integrity check: no write goes into it."""


def damaged_message(path, detail: str) -> str:
    first = (detail or "").strip().splitlines()
    why = "; ".join(line for line in first[:3] if line and not line.startswith("***"))
    return (f"The library {path} is damaged (SQLite's check: {why or 'malformed'}). Lectern will not write to it, "
            "so nothing more is lost. Rebuild it from the source files, which are untouched: "
            "`lectern library rebuild` (the damaged file is kept beside it).")


@dataclass
class Health:
    state: str = "unchecked"  # unchecked | checking | ok | damaged
    detail: str = ""
    event: threading.Event | None = None


_lock = threading.Lock()
_health: dict[tuple, Health] = {}


def _key(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(path), st.st_dev, st.st_ino)


def _run_check(path: Path) -> tuple[str, str]:
    from app.store import crypto

    try:
        # Read-only: with a read-write connection here, an import in another process failed
        # with "vtable constructor failed: chunks_fts" (test_concurrent_import_trace_saving_
        # and_deletes_all_succeed; the mechanism is not pinned down). Keyed when encrypted.
        conn = crypto.connect(f"file:{path}?mode=ro", encrypted=crypto.is_encrypted(path), uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA quick_check(5)").fetchall()
        finally:
            conn.close()
    except crypto.PassphraseError:
        return "unchecked", ""  # the Store's own open reports it
    except crypto.DatabaseError as e:  # "file is not a database", "malformed"
        msg = str(e)
        if "locked" in msg or "busy" in msg:
            return "unchecked", ""
        return "damaged", msg
    result = "\n".join(str(r[0]) for r in rows)
    return ("ok", "") if result == "ok" else ("damaged", result)


def check(path: Path, conn: sqlite3.Connection | None = None, background: bool | None = None) -> Health:
    """The library's health, checking it once per process (per file identity)."""
    key = _key(path)
    if key is None:
        return Health("ok")
    with _lock:
        h = _health.get(key)
        if h is not None and h.state != "unchecked":
            return h
        h = _health[key] = Health("checking", event=threading.Event())
    if background is None:
        background = os.path.getsize(path) > FOREGROUND_CHECK_MAX_BYTES

    def work():
        state, detail = _run_check(path)
        h.detail = detail
        h.state = state
        h.event.set()

    if background:
        threading.Thread(target=work, name="lectern-quick-check", daemon=True).start()
    else:
        work()
    return h


def mark_damaged(path: Path, detail: str) -> None:
    key = _key(path)
    if key is None:
        return
    with _lock:
        h = _health.setdefault(key, Health())
        h.state, h.detail = "damaged", detail
        if h.event:
            h.event.set()


def forget(path: Path) -> None:
    """Drop what this process knows about a library file (after a rebuild replaced it)."""
    with _lock:
        for k in [k for k in _health if k[0] == str(path)]:
            del _health[k]


def is_corruption(e: BaseException) -> bool:
    from app.store import crypto

    m = str(e).lower()
    return (isinstance(e, crypto.DatabaseError) and not isinstance(e, crypto.PassphraseError)
            and ("malformed" in m or "not a database" in m or "disk image" in m))


# --- the write gate -------------------------------------------------------------------------
class WriteGate:
    """One writer at a time per library file: a re-entrant lock within the process, an
    flock on `<db>-writer.lock` across processes (released by the kernel if we die)."""

    def __init__(self, db_path: Path):
        self.lock_path = Path(str(db_path) + "-writer.lock")
        self._rlock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self, cancelled=lambda: False) -> None:
        deadline = time.monotonic() + GATE_WAIT_S
        while not self._rlock.acquire(timeout=0.05):
            self._waited(deadline, cancelled, "another thread of this process")
        if self._depth == 0:
            try:
                self._lock_file(deadline, cancelled)
            except BaseException:
                self._rlock.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._rlock.release()

    def _lock_file(self, deadline, cancelled) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: SQLite's own locking is the only cross-process gate
            return
        if self._fd is None:
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        delay = 0.002
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                self._waited(deadline, cancelled, "another Lectern process")
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _waited(self, deadline, cancelled, who: str) -> None:
        if cancelled():
            raise InterruptedError("cancelled while waiting to write to the library")
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError(
                f"the library is busy: {who} has been writing to it for over {GATE_WAIT_S:.0f} s")

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


_gates: dict[str, WriteGate] = {}


def gate_for(db_path: Path) -> WriteGate:
    with _lock:
        g = _gates.get(str(db_path))
        if g is None:
            g = _gates[str(db_path)] = WriteGate(db_path)
        return g


# --- migrations: backed up first, checked once per process ------------------------------------
_migrated: dict[str, tuple] = {}


def migration_key(path: Path, conn: sqlite3.Connection) -> tuple | None:
    """Identity, schema cookie and migration list of the file, read without any lock: a
    deleted and recreated library, or one another (newer) process migrated, does not
    match and is checked again, under the write gate."""
    k = _key(path)
    if k is None:
        return None
    from app.store import crypto

    try:
        rows = conn.execute("SELECT count(*), max(rowid) FROM schema_migrations").fetchone()
    except crypto.OperationalError:  # no table yet: a new library
        return None
    return k + (conn.execute("PRAGMA schema_version").fetchone()[0], tuple(rows))


def already_migrated(path: Path, conn: sqlite3.Connection) -> bool:
    k = migration_key(path, conn)
    return k is not None and _migrated.get(str(path)) == k


def remember_migrated(path: Path, conn: sqlite3.Connection) -> None:
    k = migration_key(path, conn)
    if k is not None:
        _migrated[str(path)] = k


def backup(conn: sqlite3.Connection, path: Path, label: str) -> Path:
    """Copy the open library with SQLite's backup API (consistent under concurrent
    writers) to `<name>.before-<label>.bak`; the oldest backups beyond KEEP_BACKUPS go."""
    from app.store import crypto

    dest = path.with_name(f"{path.name}.before-{label}.bak")
    tmp = dest.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    if isinstance(conn, sqlite3.Connection):
        target = sqlite3.connect(tmp)
        try:
            conn.backup(target)
        finally:
            target.close()
    else:  # an encrypted library: the copy is encrypted under the same passphrase
        crypto.export_copy(conn, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, dest)
    olds = sorted(path.parent.glob(f"{path.name}.before-*.bak"), key=lambda p: p.stat().st_mtime)
    for old in olds[:-KEEP_BACKUPS]:
        old.unlink(missing_ok=True)
    return dest

"""An opt-in encrypted library: SQLCipher through the PyPI wheel `sqlcipher3-binary`.

Why SQLCipher (sqlcipher3-binary) rather than apsw-sqlite3mc: sqlcipher3 is a DB-API 2
driver shaped like the standard sqlite3 module (connections, cursors, row factories,
isolation_level, the backup API), so the Store, sqlite-utils and the migrations run on
it unchanged; APSW has its own API and would need a second code path for every query.
The wheel bundles SQLCipher 4 (AES-256 pages, HMAC per page, PBKDF2 key derivation)
with FTS5.

The whole file is encrypted (pages, WAL, the FTS index, runs and traces). The passphrase
is held by this process only: set_passphrase() at start (the CLI asks for it, or reads
LECTERN_PASSPHRASE), never written anywhere.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

try:
    import sqlcipher3.dbapi2 as _cipher
except ImportError:  # the plain library still works without the wheel
    _cipher = None

SQLITE_HEADER = b"SQLite format 3\x00"

OperationalError: tuple = (sqlite3.OperationalError,) + ((_cipher.OperationalError,) if _cipher else ())
DatabaseError: tuple = (sqlite3.DatabaseError,) + ((_cipher.DatabaseError,) if _cipher else ())
Error: tuple = (sqlite3.Error,) + ((_cipher.Error,) if _cipher else ())

_passphrase: str | None = None


class PassphraseError(sqlite3.DatabaseError):
    """The library is encrypted and no passphrase, or a wrong one, was given."""


def available() -> bool:
    return _cipher is not None


def set_passphrase(passphrase: str | None) -> None:
    global _passphrase
    _passphrase = passphrase or None


def passphrase() -> str | None:
    return _passphrase


def is_encrypted(path) -> bool:
    """An existing library whose first bytes are not SQLite's header (SQLCipher encrypts
    page 1 too). A library whose header was overwritten looks the same: opening it with
    a passphrase then says 'wrong passphrase or damaged'."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return len(head) == 16 and head != SQLITE_HEADER


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(path, *, encrypted: bool | None = None, **kw):
    """A connection to the library: sqlcipher3 keyed with the passphrase when the file
    is encrypted (or `encrypted=True` for a new one), else the standard sqlite3."""
    if encrypted is None:
        encrypted = str(path) != ":memory:" and is_encrypted(path)
    if not encrypted:
        return sqlite3.connect(str(path), **kw)
    if _cipher is None:
        raise PassphraseError("This library is encrypted, and the SQLCipher driver (sqlcipher3-binary) is not "
                              "installed.")
    if not _passphrase:
        raise PassphraseError(f"{path} is not a plain SQLite file: either it is encrypted (give its passphrase: "
                              "Lectern asks for it at start, or set LECTERN_PASSPHRASE), or its first page is "
                              "damaged (`lectern library rebuild` rebuilds it from the source files).")
    conn = _cipher.connect(str(path), **kw)
    try:  # a damaged page is reported by the integrity check, not by lines on stderr
        conn.execute("PRAGMA cipher_log_level = NONE")
    except _cipher.DatabaseError:
        pass
    conn.execute(f"PRAGMA key = {_quote(_passphrase)}")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except _cipher.DatabaseError:
        conn.close()
        raise PassphraseError("The passphrase does not open this library (or its first page is damaged: "
                              "`lectern library rebuild` rebuilds it from the source files).") from None
    return conn


def row_factory(conn):
    """The Row class of the connection's own driver (sqlite3.Row rejects sqlcipher3 cursors)."""
    return _cipher.Row if _cipher is not None and isinstance(conn, _cipher.Connection) else sqlite3.Row


def encrypt_library(path: Path, new_passphrase: str) -> None:
    """Turn a plain library into an encrypted one in place (sqlcipher_export into a new
    file, then replace). The plain file is replaced, not overwritten: its old blocks may
    survive on disk until reused, which only full-disk encryption rules out."""
    if _cipher is None:
        raise PassphraseError("Encryption needs the SQLCipher driver: pip install sqlcipher3-binary")
    path = Path(path)
    tmp = path.with_name(path.name + ".encrypting")
    tmp.unlink(missing_ok=True)
    conn = _cipher.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute(f"ATTACH DATABASE {_quote(str(tmp))} AS enc KEY {_quote(new_passphrase)}")
        conn.execute("SELECT sqlcipher_export('enc')")
        conn.execute("DETACH DATABASE enc")
    finally:
        conn.close()
    import os

    os.chmod(tmp, 0o600)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)


def export_copy(conn, dest: Path) -> None:
    """A consistent encrypted copy of an open encrypted library (the backup before a
    migration), under the same passphrase."""
    conn.execute(f"ATTACH DATABASE {_quote(str(dest))} AS bak KEY {_quote(_passphrase or '')}")
    try:
        conn.execute("SELECT sqlcipher_export('bak')")
    finally:
        conn.execute("DETACH DATABASE bak")

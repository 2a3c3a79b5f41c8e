"""`lectern library check` and `lectern library rebuild`: the library file itself."""

from __future__ import annotations

import json
import sys

from app.cli.numbers import whole


def register(sub) -> None:
    p = sub.add_parser("library", help="check the library file, or rebuild a damaged one from the source files",
                       description="`lectern library check` runs SQLite's full integrity check on the library. "
                       "`lectern library rebuild` moves a damaged library aside (it is kept) and imports again "
                       "every file it listed that is still on disk; past runs that can still be read are kept.")
    sp = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    c = sp.add_parser("check", help="run SQLite's integrity check on the library")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=_check)
    r = sp.add_parser("rebuild", help="rebuild the library from the files it lists")
    r.add_argument("--password", help="password for protected PDFs")
    r.add_argument("--workers", type=whole(0, 256, "a number of processes"), default=None,
                   help="extraction processes (default: automatic; 0 = in this process)")
    r.add_argument("--force", action="store_true", help="rebuild even when the library passes its check")
    r.add_argument("--json", action="store_true", help="print one JSON result object instead of text")
    r.set_defaults(func=_rebuild)
    e = sp.add_parser("encrypt", help="encrypt the library with a passphrase (SQLCipher); opt-in",
                      description="Encrypt the whole library (documents' text, the search index, runs and traces) "
                      "with a passphrase. Lectern then asks for it at every start (or reads LECTERN_PASSPHRASE). "
                      "There is no way back in if the passphrase is lost: the source files are, and "
                      "`lectern library rebuild` cannot read an encrypted library without it.")
    e.set_defaults(func=_encrypt)


def _check(args) -> int:
    from app.paths import db_path
    from app.store import crypto

    path = db_path()
    if not path.exists():
        result = {"path": str(path), "ok": True, "detail": "no library yet"}
    else:
        try:
            conn = crypto.connect(path)  # keyed when encrypted; PassphraseError is reported by main()
            try:
                rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
            finally:
                conn.close()
        except crypto.PassphraseError:
            raise
        except crypto.DatabaseError as e:
            rows = [str(e)]
        result = {"path": str(path), "ok": rows == ["ok"], "detail": "\n".join(map(str, rows))}
    if args.json:
        print(json.dumps(result, indent=1))
    elif result["ok"]:
        print(f"{path}: ok")
    else:
        print(f"{path}: DAMAGED\n{result['detail']}\nRebuild it from the source files: lectern library rebuild",
              file=sys.stderr)
    return 0 if result["ok"] else 1


def _rebuild(args) -> int:
    from app.cli.library import _print_file, _until_done
    from app.cancel import CancelToken
    from app.ingest.rebuild import rebuild

    if not args.force and _healthy():
        from app.cli import CliError

        raise CliError("the library passes SQLite's integrity check: nothing to rebuild "
                       "(--force rebuilds it from the source files anyway)")
    token = CancelToken()
    summary, failed = {}, 0
    for e in _until_done(rebuild(password=args.password, workers=args.workers, cancel=token), token):
        if e.kind == "start" and e.message and "recorded" in e.message and not args.json:
            print(e.message)
        elif e.kind in ("file-done", "file-skipped", "file-error"):
            failed += e.kind == "file-error"
            if not args.json:
                _print_file(e)
        elif e.kind == "done":
            summary = e.summary
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        print(f"rebuilt: {summary.get('imported', 0)} imported, {failed} failed, "
              f"{len(summary.get('missing', []))} no longer on disk, {summary.get('runs', 0)} past run(s) kept; "
              f"the damaged library is kept as {summary.get('moved_to')}")
        for p in summary.get("missing", []):
            print(f"  not on disk any more: {p}")
    return 1 if failed else 0


def _encrypt(args) -> int:
    import os

    from app.cli import CliError
    from app.paths import db_path
    from app.store import crypto, open_store

    path = db_path()
    if crypto.is_encrypted(path):
        raise CliError(f"{path} is already encrypted")
    if not crypto.available():
        raise CliError("encryption needs the SQLCipher driver: pip install sqlcipher3-binary")
    phrase = os.environ.get("LECTERN_PASSPHRASE")
    if not phrase:
        if not sys.stdin.isatty():
            raise CliError("give the new passphrase at the prompt (a terminal) or in LECTERN_PASSPHRASE")
        import getpass

        phrase = getpass.getpass("New passphrase: ")
        if phrase != getpass.getpass("Again: "):
            raise CliError("the two passphrases differ; nothing changed")
    if len(phrase) < 8:
        raise CliError("a passphrase of at least 8 characters, please; nothing changed")
    open_store(path).close()  # a new library exists (migrated) before it is encrypted
    crypto.encrypt_library(path, phrase)
    for old in path.parent.glob(f"{path.name}.before-*.bak"):
        old.unlink()  # plain copies of the text must not outlive the encryption
    print(f"{path} is encrypted; Lectern will ask for the passphrase at start.")
    return 0


def _healthy() -> bool:
    from app.paths import db_path
    from app.store import crypto

    path = db_path()
    if not path.exists():
        return False
    try:
        conn = crypto.connect(path)
        try:
            return [r[0] for r in conn.execute("PRAGMA integrity_check(1)")] == ["ok"]
        finally:
            conn.close()
    except crypto.PassphraseError:
        raise
    except crypto.DatabaseError:
        return False

"""`lectern import`, `lectern docs`, `lectern search`, `lectern remove`: the document library."""

from __future__ import annotations

import json
import os
import sys
import time

from app.cli.numbers import COUNT_MAX, doc_id, whole


def register(sub) -> None:
    p = sub.add_parser(
        "import", help="add files or folders to the library",
        description="Import PDFs and other documents (EPUB, XPS, FB2, CBZ, HTML, TXT, Markdown), or whole "
        "folders (recursively). Unchanged files are skipped; changed ones are replaced. "
        "Exits with 1 if any file could not be imported.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    p.add_argument("--password", help="password for protected PDFs")
    p.add_argument("--workers", type=whole(0, 256, "a number of processes"), default=None,
                   help="extraction processes (default: automatic; 0 = in this process)")
    p.add_argument("--json", action="store_true", help="print one JSON result object instead of text")
    p.set_defaults(func=_import)

    p = sub.add_parser("docs", help="list the documents in the library",
                       description="List the library: id, status, pages, title and path of every document.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_docs)

    p = sub.add_parser(
        "search", help="full-text search, no model needed",
        description='Search the library\'s full-text index (BM25). Words must all match; "exact phrase", '
        "prefix*, AND / OR / NOT (in capitals) and parentheses work. Matches are shown in [brackets].",
    )
    p.add_argument("query", help='what to look for, e.g. \'"due process" OR habeas\'')
    p.add_argument("--docs", help="only these document ids, comma-separated (see `lectern docs`)")
    p.add_argument("--limit", type=whole(1, COUNT_MAX, "a number of results"), default=10,
                   help="most results to show (default 10)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_search)

    p = sub.add_parser("remove", help="remove documents from the library (files on disk are untouched)",
                       description="Forget documents: their text, index entries and paths. "
                       "The files on disk are never touched.")
    p.add_argument("ids", nargs="+", type=doc_id, metavar="ID", help="document ids (see `lectern docs`)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_remove)

    p = sub.add_parser("title", help="give a document a title of your own",
                       description="Set the title the library, citations and the window show for a document "
                       "(the title found at import comes from the PDF's metadata, outline, first heading or file "
                       "name). The file on disk is never touched.")
    p.add_argument("doc", type=doc_id, metavar="ID", help="document id (see `lectern docs`)")
    p.add_argument("title", metavar="TITLE", help="the new title (one line; at most 200 characters are kept)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_title)

    p = sub.add_parser("outline", help="show a document's outline, printed page numbers and tables",
                       description="Print the structure kept at import: the outline (the PDF's bookmarks, or headings "
                       "found by type size for a PDF without any) with each entry's page and printed page number, "
                       "and the tables found on its pages.")
    p.add_argument("doc", type=doc_id, metavar="ID", help="document id (see `lectern docs`)")
    p.add_argument("--tables", action="store_true", help="also print every table's rows")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_outline)


def _fail(message: str):
    from app.cli import CliError

    return CliError(message)


# --- import -------------------------------------------------------------------------
class _Bar:
    """A one-line progress bar on stderr, redrawn in place (only on a terminal)."""

    def __init__(self, stream):
        self.stream = stream
        self.enabled = stream.isatty()
        self.last = 0.0
        self.shown = False

    def draw(self, e, force=False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        total = max(e.pages_total, e.pages_done, 1)
        frac = e.pages_done / total if e.pages_total else (e.files_done / max(e.files_total, 1))
        width = 24
        filled = int(frac * width)
        name = os.path.basename(e.path)[-30:] if e.path else ""
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {e.files_done}/{e.files_total} files  "
                f"{e.pages_done}/{e.pages_total} pages  {name}")
        cols = _columns()
        self.stream.write("\r" + line[: cols - 1].ljust(cols - 1))
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r" + " " * (_columns() - 1) + "\r")
            self.stream.flush()
            self.shown = False


def _columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except OSError:
        return 80


def _import(args) -> int:
    from app.cancel import CancelToken
    from app.ingest import import_paths

    if args.workers is not None and args.workers < 0:
        raise _fail("--workers must be 0 or more")
    token = CancelToken()
    bar = _Bar(sys.stderr)
    results, summary, cancelled = [], {}, False
    events = import_paths(args.paths, password=args.password, workers=args.workers, cancel=token)
    try:
        for e in _until_done(events, token):
            if e.kind in ("file-done", "file-skipped", "file-error"):
                results.append({k: getattr(e, k) for k in ("kind", "path", "doc_id", "status", "error", "message", "title")})
                if not args.json:
                    bar.clear()
                    _print_file(e)
            elif e.kind == "cancelled":
                cancelled = True
            elif e.kind == "done":
                summary = e.summary
            if not args.json:
                bar.draw(e, force=e.kind == "done")
    finally:
        bar.clear()
    failed = sum(1 for r in results if r["kind"] == "file-error")
    if args.json:
        print(json.dumps({"files": results, "summary": summary, "cancelled": cancelled}, ensure_ascii=False, indent=1))
    else:
        print(f"{summary.get('imported', 0)} imported, {summary.get('skipped', 0)} unchanged or duplicate, "
              f"{failed} failed ({summary.get('pages', 0)} pages in {summary.get('seconds', 0):.1f}s)"
              + (" - cancelled" if cancelled else ""))
    if cancelled:
        return 130
    return 1 if failed else 0


def _until_done(events, token):
    """Iterate the import; the first Ctrl-C cancels it cleanly (between pages, finished
    documents kept), a second one interrupts at once."""
    import signal
    import threading

    previous = None

    def on_sigint(signum, frame):
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\nlectern: cancelling the import (Ctrl-C again to stop at once)...", file=sys.stderr)

    def on_sigterm(signum, frame):
        # Unwinding (rather than dying on the default action) runs the import's clean-up:
        # workers stopped, the spool of extracted text deleted.
        token.cancel()
        raise SystemExit(128 + signum)

    previous_term = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_sigint)
        previous_term = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield from events
    finally:
        events.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
            signal.signal(signal.SIGTERM, previous_term)


_UNPRINTABLE = None


def shown(text) -> str:
    """A file name or message as one printable line: control characters, line breaks and
    bidi overrides are written as escapes (a name may hold a newline on Linux, and would
    otherwise print a forged line of its own). Escaped, not dropped, so the real name can
    still be told from the output."""
    global _UNPRINTABLE
    if _UNPRINTABLE is None:
        import re

        from app.store.models import _TITLE_JUNK

        _UNPRINTABLE = re.compile(_TITLE_JUNK.pattern.rstrip("+"))
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], str(text or ""))


def _print_file(e) -> None:
    name = shown(e.path)
    if e.kind == "file-done":
        title = f" \"{e.title}\"" if e.title else ""
        note = f"  (note: {shown(e.error)})" if e.error else ""
        status = "" if e.status == "ready" else f" [{e.status}]"
        print(f"imported  #{e.doc_id}{title}{status}: {name} - {e.message}{note}")
    elif e.kind == "file-skipped":
        print(f"skipped   #{e.doc_id}: {name} - {e.message}")
    else:
        label = "locked   " if e.status == "needs-password" else "FAILED   "
        extra = f" ({e.message})" if e.message else ""
        print(f"{label} {name}: {shown(e.error)}{shown(extra)}", file=sys.stderr)


# --- docs / search / remove ---------------------------------------------------------------
def _open():
    from app.store import open_store

    try:
        store = open_store()
    except Exception as e:  # a damaged or newer database: say so plainly
        raise _fail(f"cannot open the library: {e}") from None
    if store.damage:  # reading what survives is allowed; say why results may be missing
        print(f"lectern: warning: {store.damage}", file=sys.stderr)
    return store


def _doc_dict(d) -> dict:
    return dict(d.__dict__)


def _docs(args) -> int:
    with _open() as store:
        docs = store.list_documents()
        if args.json:
            print(json.dumps([_doc_dict(d) for d in docs], ensure_ascii=False, indent=1))
            return 0
        if not docs:
            print("The library is empty. Add documents with: lectern import PATH...")
            return 0
        print(f"{'ID':>4}  {'STATUS':<14} {'PAGES':>5}  TITLE / PATH")
        for d in docs:
            print(f"{d.id:>4}  {d.status:<14} {d.page_count:>5}  {d.title}")
            for p in d.paths:
                print(f"{'':>27}{shown(p)}")
            if d.error:
                print(f"{'':>27}note: {shown(d.error)}")
        s = store.stats()
        print(f"{s['documents']} documents, {s['pages']} pages, {s['chunks']} chunks")
    return 0


def _parse_ids(text: str | None):
    if text is None:
        return None
    from app.cli.numbers import ids

    try:
        return ids(text)
    except ValueError as e:
        raise _fail(str(e)) from None


def _search(args) -> int:
    from app.store import SearchSyntaxError

    doc_ids = _parse_ids(args.docs)
    if args.limit < 1:
        raise _fail("--limit must be 1 or more")
    with _open() as store:
        if doc_ids:
            missing = [i for i in doc_ids if store.get_document(i) is None]
            if missing:
                raise _fail(f"no document with id {', '.join(map(str, missing))} (see `lectern docs`)")
        try:
            hits = store.search(args.query, doc_ids=doc_ids, limit=args.limit)
        except SearchSyntaxError as e:
            raise _fail(str(e)) from None
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print(f"No matches for {args.query!r}.")
        return 0
    for h in hits:
        pages = f"p. {h.page_start}" if h.page_start == h.page_end else f"pp. {h.page_start}-{h.page_end}"
        print(f"#{h.doc_id} {h.title} - {pages}  (rank {h.rank:.2f})")
        print("    " + " ".join(h.snippet.split()))
    return 0


def _remove(args) -> int:
    removed, missing = [], []
    with _open() as store:
        for i in args.ids:
            d = store.get_document(i)
            if d is None:
                missing.append(i)
                continue
            store.remove_document(i)
            removed.append({"id": i, "title": d.title, "paths": d.paths})
    if args.json:
        print(json.dumps({"removed": removed, "missing": missing}, ensure_ascii=False, indent=1))
    else:
        for r in removed:
            print(f"removed #{r['id']} \"{r['title']}\" from the library (files on disk untouched)")
    if missing:
        if not args.json:
            print(f"lectern: no document with id {', '.join(map(str, missing))} (see `lectern docs`)", file=sys.stderr)
        return 1
    return 0


def _title(args) -> int:
    with _open() as store:
        old = store.get_document(args.doc)
        if old is None:
            raise _fail(f"no document with id {args.doc} (see `lectern docs`)")
        try:
            title = store.set_title(args.doc, args.title)
        except ValueError:
            raise _fail("the title is empty: give a few words, like: lectern title 3 \"Annual report 2024\"") from None
    if args.json:
        print(json.dumps({"id": args.doc, "title": title, "previous": old.title}, ensure_ascii=False, indent=1))
    else:
        print(f"#{args.doc} is now titled \"{title}\" (was \"{old.title}\")")
    return 0


def _outline(args) -> int:
    with _open() as store:
        d = store.get_document(args.doc)
        if d is None:
            raise _fail(f"no document with id {args.doc} (see `lectern docs`)")
        outline, tables, counts = store.outline(d.id), store.tables(d.id), store.structure_counts(d.id)
    if args.json:
        print(json.dumps({"id": d.id, "title": d.title, "title_source": d.title_source, "counts": counts,
                          "outline": [e.to_dict() for e in outline], "tables": [t.to_dict() for t in tables]},
                         ensure_ascii=False, indent=1))
        return 0
    source = f" (title from {d.title_source})" if d.title_source else ""
    print(f"#{d.id} {d.title}{source}: {d.page_count} pages, {counts['labelled_pages']} with printed page numbers, "
          f"{len(outline)} outline entries, {len(tables)} tables")
    for e in outline:
        page = "-" if e.page_no is None else (f"p. {e.page_label} (PDF {e.page_no})"
                                             if e.page_label and e.page_label != str(e.page_no) else f"p. {e.page_no}")
        print(f"{'  ' * (e.level - 1)}{e.title}  [{page}]")
    for t in tables:
        label = f" (printed {t.page_label})" if t.page_label and t.page_label != str(t.page_no) else ""
        print(f"table {t.seq + 1}: page {t.page_no}{label}, {t.n_rows} rows x {t.n_cols} columns"
              + (" (cut to the import's limits)" if t.truncated else ""))
        if args.tables:
            print("    " + t.as_text().replace("\n", "\n    "))
    return 0

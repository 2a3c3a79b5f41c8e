"""Importing real documents built by tests/pdfs.py: formats, text on the right pages,
chunks, incremental re-import, dedupe, per-file errors, progress and cancel."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.cancel import CancelToken
from app.ingest import discover, import_paths
from app.ingest import extract as ex
from app.ingest import ocr
from app.ingest.chunker import CHUNK_MAX, Chunker
from app.store import open_store
from tests import pdfs


def run(paths, **kw):
    events = list(import_paths([str(p) for p in paths], **kw))
    assert events[0].kind == "start" and events[-1].kind == "done"
    return events


def by_kind(events, kind):
    return [e for e in events if e.kind == kind]


@pytest.fixture
def no_ocr(monkeypatch):
    monkeypatch.setattr(ocr, "tessdata", lambda: None)


# --- discovery ----------------------------------------------------------------------
def test_discover_files_folders_unicode_and_symlink_loops(tmp_path):
    docs = pdfs.mixed_folder(tmp_path / "lib")
    (tmp_path / "lib" / "ignored.exe").write_bytes(b"MZ")
    (tmp_path / "lib" / ".hidden.pdf").write_bytes(b"%PDF")
    os.symlink(tmp_path / "lib", tmp_path / "lib" / "sub" / "loop")  # a folder containing itself
    files, problems = discover([tmp_path / "lib", docs["pdf"], tmp_path / "nope.pdf"])
    assert sorted(map(str, files)) == sorted(str(p) for p in docs.values())
    assert problems == [(str(tmp_path / "nope.pdf"), "No such file or folder.")]


# --- formats and text ---------------------------------------------------------------------
@pytest.mark.parametrize("workers", [0, 2])
def test_pdf_text_lands_on_the_right_pages(tmp_path, workers, monkeypatch):
    # Several ranges in several processes even for a small file.
    monkeypatch.setattr("app.ingest.importer.MIN_RANGE_PAGES", 3)
    monkeypatch.setattr("app.ingest.importer.SPLIT_MIN_BYTES", 0)
    pdf = pdfs.multi_page_pdf(tmp_path / "report.pdf", pages=12)
    events = run([pdf], workers=workers)
    (done,) = by_kind(events, "file-done")
    assert done.status == "ready" and done.title == "Multi Page Report"
    store = open_store()
    doc = store.get_document(done.doc_id)
    assert doc.page_count == 12 and doc.format == "pdf" and doc.sha256 and doc.size == pdf.stat().st_size
    text = store.document_text(doc.id)
    for page in store.pages(doc.id):
        assert pdfs.page_marker(page.page_no) in page.text
        assert text[page.char_start:page.char_end] == page.text
        (hit,) = store.search(pdfs.page_marker(page.page_no))
        assert hit.page_start <= page.page_no <= hit.page_end
    assert events[-1].pages_done == events[-1].pages_total == 12


def test_chunks_cover_the_text_in_order_within_size_and_page_spans(tmp_path):
    a = pdfs.multi_page_pdf(tmp_path / "a.pdf", pages=6, filler_repeats=10)
    b = pdfs.multi_page_pdf(tmp_path / "b.pdf", pages=3, title="B doc", filler_repeats=3)
    run([a, b], workers=0)
    store = open_store()
    for doc in store.list_documents():
        text = store.document_text(doc.id)
        pages = store.pages(doc.id)
        chunks = store.chunks([doc.id])
        assert [c.seq for c in chunks] == list(range(len(chunks)))
        prev_end = 0
        for c in chunks:
            assert c.doc_id == doc.id
            assert text[c.char_start:c.char_end] == c.text
            assert 0 < len(c.text) <= CHUNK_MAX
            assert c.char_start >= prev_end and text[prev_end:c.char_start].strip() == ""
            prev_end = c.char_end
            first = next(p for p in pages if p.char_end >= c.char_start)
            assert first.page_no == c.page_start
            last = next(p for p in reversed(pages) if p.char_start < c.char_end)
            assert last.page_no == c.page_end
        assert text[prev_end:].strip() == ""


def test_chunker_prefers_sentence_ends_and_stays_near_target():
    ch = Chunker()
    sentence = "This sentence has exactly a few words in it. "
    out, offset = [], 0
    for n in range(5):
        page = sentence * 40
        out += ch.add_page(page, offset)
        offset += len(page) + 2
    out += ch.finish()
    sizes = [len(c[4]) for c in out[:-1]]
    assert all(800 <= s <= CHUNK_MAX for s in sizes)
    assert all(c[4].endswith(".") for c in out)
    assert out[0][0] == 1 and out[-1][1] == 5


def test_other_formats_and_titles(tmp_path):
    docs = pdfs.mixed_folder(tmp_path / "lib")
    untitled = pdfs.untitled_pdf_with_heading(tmp_path / "lib" / "untitled.pdf")
    events = run([tmp_path / "lib"], workers=0)
    assert not by_kind(events, "file-error")
    store = open_store()
    got = {Path(d.path).name: d for d in store.list_documents()}
    assert got["book.epub"].title == "The Keeper's Log" and got["book.epub"].page_count >= 3
    assert got["page.html"].title == "Harbour Regulations"
    assert got["field.md"].title == "Field Notes"
    assert got["notes.txt"].title == "Minutes of the harbour board."
    assert got[untitled.name].title == "Annual Review of Lighthouses"
    assert got[docs["unicode"].name].paths == [str(docs["unicode"])]
    assert {d.status for d in got.values()} == {"ready"}
    assert [h.title for h in store.search("puffins")] == ["Field Notes"]
    (hit,) = store.search('"storm arrived"')
    assert hit.title == "The Keeper's Log"
    assert [h.title for h in store.search("pilot")] == ["Harbour Regulations"]


def test_text_file_encodings_and_sections(tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Caf\xe9 cr\xe8me br\xfbl\xe9e\n".encode("cp1252"))
    long_md = tmp_path / "long.md"
    long_md.write_text("# Big\n\n" + "".join(f"## Part {i}\n\n" + "word " * 300 + "\n\n" for i in range(6)))
    run([latin, long_md], workers=0)
    store = open_store()
    assert store.search("crème")[0].title == "Café crème brûlée"
    doc = store.document_for_path(long_md)
    assert doc.page_count > 1 and doc.title == "Big"


# --- incremental re-import and dedupe -------------------------------------------------------
def test_unchanged_files_are_skipped_and_changed_ones_replaced(tmp_path):
    pdf = pdfs.multi_page_pdf(tmp_path / "a.pdf", pages=3)
    first = by_kind(run([pdf], workers=0), "file-done")[0]
    again = run([pdf], workers=0)
    (skip,) = by_kind(again, "file-skipped")
    assert (skip.doc_id, skip.message) == (first.doc_id, "unchanged")

    os.utime(pdf, (time.time() + 5, time.time() + 5))  # touched, same bytes: hashed, then skipped
    (touched,) = by_kind(run([pdf], workers=0), "file-skipped")
    assert touched.doc_id == first.doc_id and "same content" in touched.message
    (skip2,) = by_kind(run([pdf], workers=0), "file-skipped")
    assert skip2.message == "unchanged"

    pdfs.make_pdf(pdf, ["completely new wording about zeppelins"], title="Changed")
    (done,) = by_kind(run([pdf], workers=0), "file-done")
    store = open_store()
    assert store.get_document(first.doc_id) is None
    assert [d.title for d in store.list_documents()] == ["Changed"]
    assert store.search("zeppelins") and not store.search(pdfs.page_marker(1))


def test_same_content_at_two_paths_is_stored_once(tmp_path):
    a = pdfs.multi_page_pdf(tmp_path / "one" / "a.pdf", pages=2)
    b = tmp_path / "two" / "copy of a.pdf"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    c = tmp_path / "three" / "c.pdf"
    c.parent.mkdir()
    c.write_bytes(a.read_bytes())
    events = run([tmp_path / "one", tmp_path / "two"], workers=2)  # both in flight together
    assert len(by_kind(events, "file-done")) == 1
    assert len(by_kind(events, "file-skipped")) == 1
    run([c], workers=0)  # later, from the library
    store = open_store()
    (doc,) = store.list_documents()
    assert sorted(doc.paths) == sorted([str(a), str(b), str(c)])
    assert len(store.search(pdfs.page_marker(1))) == 1


# --- bad input --------------------------------------------------------------------------------
def test_every_bad_input_gets_a_clear_message_and_the_rest_goes_on(tmp_path, no_ocr):
    bad = pdfs.bad_inputs(tmp_path / "in")
    pdfs.multi_page_pdf(tmp_path / "in" / "zz-good.pdf", pages=2)
    events = run([tmp_path / "in", tmp_path / "missing.pdf"])
    errors = {Path(e.path).name: e for e in by_kind(events, "file-error")}
    assert "missing.pdf" in errors and "No such file" in errors["missing.pdf"].error
    assert errors["encrypted.pdf"].status == "needs-password" and "--password" in errors["encrypted.pdf"].error
    assert "damaged or truncated" in errors["truncated.pdf"].error
    assert "damaged or truncated" in errors["corrupt.pdf"].error
    assert "Not a PDF" in errors["not-a-pdf.pdf"].error and "ZIP" in errors["not-a-pdf.pdf"].error
    assert "empty" in errors["empty.pdf"].error
    assert "no pages" in errors["zero-pages.pdf"].error
    done = {Path(e.path).name: e for e in by_kind(events, "file-done")}
    assert done["zz-good.pdf"].status == "ready"
    assert done["scanned.pdf"].status == "no-text" and "Tesseract" in done["scanned.pdf"].error
    assert events[-1].files_done == events[-1].files_total == len(bad) + 2
    assert events[-1].summary["failed"] == 7
    store = open_store()
    statuses = {Path(d.path).name: d.status for d in store.list_documents()}
    assert statuses["encrypted.pdf"] == "needs-password" and statuses["corrupt.pdf"] == "error"
    assert statuses["scanned.pdf"] == "no-text"
    assert store.integrity_check() == "ok"


def test_unchanged_failures_are_reported_again_without_rework(tmp_path):
    bad = pdfs.corrupt_pdf(tmp_path / "c.pdf")
    (e1,) = by_kind(run([bad], workers=0), "file-error")
    (e2,) = by_kind(run([bad], workers=0), "file-error")
    assert e1.doc_id == e2.doc_id and e2.error == e1.error and "unchanged" in e2.message


def test_password_opens_protected_pdf_and_replaces_the_locked_entry(tmp_path):
    pdf = pdfs.encrypted_pdf(tmp_path / "memo.pdf")
    (locked,) = by_kind(run([pdf], workers=0), "file-error")
    (wrong,) = by_kind(run([pdf], workers=0, password="nope"), "file-error")
    assert wrong.status == "needs-password" and "does not open" in wrong.error
    (done,) = by_kind(run([pdf], workers=0, password=pdfs.DEFAULT_PASSWORD), "file-done")
    store = open_store()
    assert [d.status for d in store.list_documents()] == ["ready"]
    assert store.get_document(locked.doc_id) is None
    assert pdfs.page_marker(2) in store.get_page(done.doc_id, 2).text
    assert store.search(pdfs.page_marker(2))[0].doc_id == done.doc_id
    (skip,) = by_kind(run([pdf], workers=0), "file-skipped")  # no password needed to see it is unchanged
    assert skip.doc_id == done.doc_id


@pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed here (the hint path is tested below)")
def test_scanned_pdf_is_read_with_ocr_when_tesseract_is_installed(tmp_path):
    pdf = pdfs.image_only_pdf(tmp_path / "scan.pdf", text="INVOICE 4711 TOTAL DUE")
    (done,) = by_kind(run([pdf], workers=0), "file-done")
    assert done.status == "ready" and "OCR" in done.error
    assert open_store().search("invoice")[0].doc_id == done.doc_id


def test_scanned_pdf_without_tesseract_says_how_to_enable_ocr(tmp_path, no_ocr):
    pdf = pdfs.image_only_pdf(tmp_path / "scan.pdf", pages=2)
    (done,) = by_kind(run([pdf], workers=0), "file-done")
    assert done.status == "no-text"
    doc = open_store().get_document(done.doc_id)
    assert doc.status == "no-text" and "apt install tesseract-ocr" in doc.error and doc.page_count == 2


def test_file_vanishing_or_unreadable_mid_import(tmp_path, monkeypatch):
    gone = pdfs.multi_page_pdf(tmp_path / "gone.pdf", pages=2)
    locked = pdfs.multi_page_pdf(tmp_path / "locked.pdf", pages=2, title="Locked")
    changing = pdfs.multi_page_pdf(tmp_path / "changing.pdf", pages=2, title="Changing")
    fine = pdfs.multi_page_pdf(tmp_path / "fine.pdf", pages=2, title="Fine")
    real = ex.extract_range

    def flaky(path, *a, **kw):
        if path.endswith("gone.pdf"):
            os.unlink(path)
        elif path.endswith("locked.pdf"):
            raise ex.ExtractError("Permission denied: Lectern cannot read this file.")
        elif path.endswith("changing.pdf"):
            with open(path, "ab") as f:
                f.write(b"\n% appended while importing\n")
        return real(path, *a, **kw)

    monkeypatch.setattr(ex, "extract_range", flaky)
    events = run([gone, locked, changing, fine], workers=0)
    errors = {Path(e.path).name: e.error for e in by_kind(events, "file-error")}
    assert "disappeared" in errors["gone.pdf"]
    assert "Permission denied" in errors["locked.pdf"]
    assert "changed while" in errors["changing.pdf"]
    assert [e.title for e in by_kind(events, "file-done")] == ["Fine"]


def test_a_failed_reimport_keeps_the_good_earlier_version(tmp_path):
    pdf = pdfs.multi_page_pdf(tmp_path / "a.pdf", pages=2)
    (done,) = by_kind(run([pdf], workers=0), "file-done")
    pdf.write_bytes(pdf.read_bytes()[:200])  # the file gets cut short later
    (err,) = by_kind(run([pdf], workers=0), "file-error")
    assert "previously imported version is kept" in err.error
    assert open_store().get_document(done.doc_id).status == "ready"


# --- progress and cancel -------------------------------------------------------------------------
def test_progress_events_count_files_and_pages(tmp_path):
    files = [pdfs.multi_page_pdf(tmp_path / f"d{i}.pdf", pages=3 + i, title=f"D{i}") for i in range(3)]
    events = run(files, workers=2)
    pages = [e.pages_done for e in events]
    assert pages == sorted(pages)
    assert by_kind(events, "page")
    assert [e.kind for e in events].count("file-start") == 3
    assert events[-1].files_done == 3 and events[-1].pages_done == events[-1].pages_total == 3 + 4 + 5
    assert events[-1].summary["imported"] == 3 and events[-1].summary["pages"] == 12


@pytest.mark.parametrize("workers", [0, 1])
def test_cancel_keeps_finished_documents_and_drops_the_rest(tmp_path, workers):
    files = [pdfs.multi_page_pdf(tmp_path / f"d{i}.pdf", pages=3, title=f"D{i}") for i in range(4)]
    token = CancelToken()
    kinds = []
    for e in import_paths([str(f) for f in files], workers=workers, cancel=token):
        kinds.append(e.kind)
        if e.kind == "file-done":
            token.cancel()
    assert kinds[-2:] == ["cancelled", "done"]
    store = open_store()
    docs = store.list_documents()
    assert 1 <= len(docs) < 4 and all(d.status == "ready" and d.page_count == 3 for d in docs)
    assert store.integrity_check() == "ok"


def test_cancel_stops_between_pages(tmp_path):
    pdf = pdfs.multi_page_pdf(tmp_path / "long.pdf", pages=40)
    calls = []

    def should_cancel():
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(ex.ExtractCancelled):
        ex.extract_range(str(pdf), "pdf", None, 0, 40, str(tmp_path / "spool"), should_cancel=should_cancel)
    assert len(list(ex.read_pages(tmp_path / "spool"))) == 5


def _worker_pids() -> list[int]:
    pids = []
    for child in Path("/proc").glob(f"{os.getpid()}/task/*/children"):
        for pid in child.read_text().split():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmd and b"resource_tracker" not in cmd:
                pids.append(int(pid))
    return pids


@pytest.mark.parametrize("settle", [0.0, 1.5], ids=["noticed-by-a-result", "noticed-by-the-next-submit"])
def test_a_worker_process_dying_mid_import_is_survived(tmp_path, settle):
    import signal

    files = [pdfs.multi_page_pdf(tmp_path / f"d{i}.pdf", pages=40, title=f"D{i}") for i in range(5)]
    killed = []
    events = []
    # Only this import's workers: a model host an earlier test left running is a spawned
    # child of this process too, and killing it would fail a later test, not this one.
    others = set(_worker_pids())
    for e in import_paths([str(f) for f in files], workers=2):
        events.append(e)
        if e.kind == "page" and not killed:
            pids = [p for p in _worker_pids() if p not in others]
            if pids:
                os.kill(pids[0], signal.SIGKILL)  # as the OOM killer or a MuPDF crash would
                killed.append(pids[0])
                # Given time, the pool marks itself broken before the importer hands it
                # the next range, so the break surfaces at submit rather than in a result.
                time.sleep(settle)
    assert killed
    assert events[-1].kind == "done" and not by_kind(events, "file-error")
    assert sorted(e.title for e in by_kind(events, "file-done")) == [f"D{i}" for i in range(5)]
    store = open_store()
    assert [d.page_count for d in store.list_documents()] == [40] * 5
    assert events[-1].pages_done == events[-1].pages_total == 200


def test_a_file_name_that_is_not_utf8_gets_a_clear_error_and_the_rest_goes_on(tmp_path, capsys):
    from app.cli import main

    src = pdfs.multi_page_pdf(tmp_path / "in" / "latin.pdf", pages=1)
    os.rename(os.fsencode(src), os.fsencode(tmp_path / "in") + b"/caf\xe9.pdf")
    pdfs.multi_page_pdf(tmp_path / "in" / "good.pdf", pages=1, title="Good")
    events = run([tmp_path / "in"], workers=0)
    (err,) = by_kind(events, "file-error")
    assert "not valid UTF-8" in err.error and err.path.endswith("caf\\xe9.pdf")
    assert [e.title for e in by_kind(events, "file-done")] == ["Good"]
    assert main(["import", str(tmp_path / "in")]) == 1
    out, errout = capsys.readouterr()
    assert "not valid UTF-8" in errout and "unchanged" in out


def test_one_huge_page_is_chunked_whole_and_in_bounds():
    """A page of megabytes (a text dump in a PDF): every chunk within bounds, nothing lost
    or repeated. The chunker cuts at a moving position, so this is linear in the page."""
    words = ("lorem ipsum dolor sit amet consectetur adipiscing elit. " * 100_000)  # ~5.6 MB
    ch = Chunker()
    chunks = ch.add_page(words, 0) + ch.finish()
    assert len(chunks) >= 4000
    assert all(len(c[4]) <= CHUNK_MAX for c in chunks)
    assert "".join(words[a:b] for _, _, a, b, _ in chunks).replace(" ", "") == words.replace(" ", "")
    assert all(x[3] <= y[2] for x, y in zip(chunks, chunks[1:]))

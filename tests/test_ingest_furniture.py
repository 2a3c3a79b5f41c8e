"""Page furniture (running heads, printed page numbers) is left out of the stored text, and
a sentence that runs over a page break reads as one sentence, cited as both its pages."""

from __future__ import annotations

import pytest

from app.ingest import import_paths
from app.ingest.furniture import Furniture
from app.report import pages_text
from app.rlm import checks
from app.rlm.environment import Environment
from app.rlm.trace import Citation
from app.store import open_store
from app.ui.ask_panel import source_line
from tests import pdfs


@pytest.mark.parametrize("workers", [0, 2])
def test_running_heads_and_page_numbers_are_not_stored_and_a_sentence_runs_over_the_break(tmp_path, workers,
                                                                                          monkeypatch):
    monkeypatch.setattr("app.ingest.importer.MIN_RANGE_PAGES", 3)  # several ranges, several processes
    monkeypatch.setattr("app.ingest.importer.SPLIT_MIN_BYTES", 0)
    pdf = pdfs.furniture_pdf(tmp_path / "manual.pdf")
    (done,) = [e for e in import_paths([str(pdf)], workers=workers) if e.kind == "file-done"]
    store = open_store()
    text = store.document_text(done.doc_id)
    assert "Chapter 1: Harbour lights" not in text and "The Harbour Manual" not in text
    pages = [p.text for p in store.pages(done.doc_id)]
    assert [p.lstrip().startswith("Page") for p in pages] == [True, True, True, False, True, True, True, True]
    assert not any(str(n + 10) in p.split() for n, p in enumerate(pages, 1))  # the printed numbers are gone
    # A figure at the foot of a page is data: kept.
    assert pages[5].split()[-3:] == ["lamps", "0.25", "42"]

    spans = checks.sentences(text)
    whole = [(a, b) for a, b in spans if "tide in the log" in text[a:b]]
    assert len(whole) == 1
    a, b = whole[0]
    assert " ".join(text[a:b].split()) == pdfs.FURNITURE_RUN_ON
    env = Environment(store)
    (cite,) = env.label_citations([Citation(1, "n1", done.doc_id, "t", env.page_at(done.doc_id, a),
                                            text[a:b], a, b)])
    assert (cite.page, cite.page_end, cite.page_text()) == (3, 4, "pages 3–4")


def _feed(pages):
    f = Furniture()
    for t in pages:
        f.see(t)
    return [f.strip(i, t) for i, t in enumerate(pages)]


def test_furniture_is_a_pattern_over_pages_not_any_edge_line():
    def body(i):
        return f"Body text of page {i}.\nMore of it here.\n"

    pages = [f"iv\nPreface\n{body(0)}" if i == 0 else f"{i}\n{body(i)}Table {i}\n{i * 7}\n" for i in range(6)]
    out = _feed(pages)
    # Arabic numbers keeping step with the page index go; the captions and the figures beside
    # them (7, 14, … do not keep step) stay; one roman number alone makes no pattern.
    assert out[1] == f"{body(1)}Table 1\n7\n" and out[5] == f"{body(5)}Table 5\n35\n"
    assert out[0] == pages[0]


def test_a_head_beside_the_number_goes_only_where_it_recurs():
    def body(i):
        return f"Body line one of page {i}.\nBody line two of page {i}.\n"

    pages = []
    for i in range(8):
        head = "Chapter 2: Signals" if i in (2, 4) else f"{i} A heading of its own"
        pages.append(f"{head}\n{i + 100}\n{body(i)}")
    out = _feed(pages)
    assert out[2] == body(2) and out[4] == body(4)
    assert out[3] == f"3 A heading of its own\n{body(3)}"  # a chapter's first page keeps its heading


def test_a_page_break_inside_a_sentence_is_no_sentence_end_but_a_paragraph_end_is():
    text = "It runs over the\n\n\nbreak and ends here. A title\n\n\nNext paragraph starts. End of one.\n\n\nnew one."
    got = [" ".join(text[a:b].split()) for a, b in checks.sentences(text)]
    assert got[0] == "It runs over the break and ends here."
    assert "A title" in got and "Next paragraph starts." in got
    assert got[-1] == "new one."  # a full stop ends the sentence even if the next starts in lower case


def test_a_quote_over_a_page_break_names_both_pages_everywhere_a_source_is_shown():
    c = {"title": "Manual", "page": 5, "page_end": 6, "page_label": "990", "quote": "q"}
    assert pages_text(c) == "page 990 (PDF pages 5–6)"
    assert pages_text({**c, "page_label": ""}) == "pages 5–6"
    assert pages_text({**c, "page_end": 0}) == "page 990 (PDF page 5)"
    assert source_line(c)[0] == "Manual, page 990 (PDF pages 5–6)"


def _outcomes(paths):
    return sorted(e.kind for e in import_paths([str(p) for p in paths], workers=0)
                  if e.kind in ("file-done", "file-skipped", "file-error"))


def test_a_document_an_earlier_reader_wrote_is_read_again_on_the_next_import(tmp_path):
    pdf = pdfs.furniture_pdf(tmp_path / "manual.pdf")
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(pdf.read_bytes())
    assert _outcomes([pdf, copy]) == ["file-done", "file-skipped"]
    store = open_store()
    # As a library imported before furniture was left out: the old text, reader 0.
    store.conn.execute("UPDATE documents SET reader = 0")
    store.conn.execute("UPDATE pages SET text = 'Chapter 1: Harbour lights' || char(10) || text")
    store.conn.commit()
    assert _outcomes([pdf, copy]) == ["file-done", "file-skipped"]
    (doc,) = store.list_documents()
    assert "Chapter 1: Harbour lights" not in store.document_text(doc.id)
    assert store.path_state(str(pdf))["doc_id"] == store.path_state(str(copy))["doc_id"] == doc.id
    # Read by the current reader: unchanged from now on.
    assert _outcomes([pdf, copy]) == ["file-skipped", "file-skipped"]


def test_huge_pages_are_read_from_their_edges_only():
    lines = "\n".join(f"row {i} of the ledger" for i in range(200_000))
    pages = [f"{n}\nThe Ledger\n{lines}\nTotal of part {n}: 12.\n" for n in range(1, 5)] + ["x" * 4_000_000]
    out = _feed(pages)
    assert out[0].startswith("row 0 of the ledger\n") and out[0].endswith("row 199999 of the ledger\nTotal of part 1: 12.\n")
    assert out[4] == pages[4]

"""Document structure kept at import: outline, headings, page labels, tables, titles.

Built with pymupdf in tests/pdfs.py (set_toc, set_page_labels, a ruled table drawn with
lines), imported through the real importer, read back through the Store API.
"""

from __future__ import annotations

import pymupdf
import pytest

from app.ingest import import_paths
from app.ingest import structure as st
from app.store import open_store
from tests import pdfs


def _import(paths, **kw):
    events = list(import_paths([str(p) for p in paths], **kw))
    done = [e for e in events if e.kind == "file-done"]
    assert len(done) == len(paths), [(e.kind, e.error) for e in events]
    return done


def _split(monkeypatch):
    # Several ranges in several processes even for a small file.
    monkeypatch.setattr("app.ingest.importer.MIN_RANGE_PAGES", 3)
    monkeypatch.setattr("app.ingest.importer.SPLIT_MIN_BYTES", 0)


@pytest.mark.parametrize("workers", [0, 2])
def test_outline_labels_sections_tables_and_title_of_a_manual(tmp_path, workers, monkeypatch):
    _split(monkeypatch)
    pdf = pdfs.structured_pdf(tmp_path / "manual.pdf")
    (done,) = _import([pdf], workers=workers)
    store = open_store()
    doc = store.get_document(done.doc_id)
    # No metadata title: the cover's large type names the document, not "Contents".
    assert (doc.title, doc.title_source) == ("The Lighthouse Keeper's Manual", "heading")
    assert [(e.level, e.title, e.page_no, e.page_label, e.source) for e in store.outline(doc.id)] == [
        (1, "1 Lamps and Lenses", 3, "988", "outline"), (2, "1.1 Cleaning the lens", 4, "989", "outline"),
        (1, "2 Weather Signals", 5, "990", "outline"), (2, "2.1 Fog horn codes", 6, "991", "outline")]
    assert [store.page_label(doc.id, n) for n in range(1, 7)] == ["i", "ii", "988", "989", "990", "991"]
    assert store.page_for_label(doc.id, "990") == 5
    text = store.document_text(doc.id)
    secs = {s.title: s for s in store.sections(doc.id)}
    # A section starts at its heading (below the running head) and a chapter holds its subsections.
    assert text[secs["1.1 Cleaning the lens"].char_start:].startswith("1.1 Cleaning the lens\nPolish the lens")
    chapter = text[secs["1 Lamps and Lenses"].char_start:secs["1 Lamps and Lenses"].char_end]
    assert chapter.startswith("1 Lamps and Lenses") and "Polish the lens" in chapter and "Signals" not in chapter
    assert secs["2.1 Fog horn codes"].char_end == len(text)
    (table,) = store.tables(doc.id)
    assert (table.page_no, table.page_label) == (6, "991")
    assert table.header == pdfs.FOG_TABLE[0] and table.rows == pdfs.FOG_TABLE[1:]
    assert store.tables(doc.id, page=5) == []


@pytest.mark.parametrize("workers", [0, 2])
def test_a_pdf_without_bookmarks_gets_its_headings_as_outline(tmp_path, workers, monkeypatch):
    _split(monkeypatch)
    pdf = pdfs.structured_pdf(tmp_path / "plain.pdf", toc=False, labels=False)
    (done,) = _import([pdf], workers=workers)
    store = open_store()
    got = [(e.level, e.title, e.page_no, e.source) for e in store.outline(done.doc_id)]
    # Levels follow type size across the whole document (ranges read by different workers);
    # the small running head on every page is not a heading.
    assert [g for g in got if g[2] >= 3] == [(2, "1 Lamps and Lenses", 3, "heading"),
                                             (3, "1.1 Cleaning the lens", 4, "heading"),
                                             (2, "2 Weather Signals", 5, "heading"),
                                             (3, "2.1 Fog horn codes", 6, "heading")]
    assert all("Keeper's Manual" != g[1] for g in got)
    # No labels in the PDF: none invented.
    assert store.page_labels(done.doc_id) == {} and store.page_label(done.doc_id, 3) == ""
    text = store.document_text(done.doc_id)
    sec = next(s for s in store.sections(done.doc_id) if s.title == "2 Weather Signals")
    assert text[sec.char_start:sec.char_end].startswith("2 Weather Signals\nSignals are given")


def test_titles_metadata_then_outline_then_heading_then_file_name(tmp_path):
    meta = pdfs.structured_pdf(tmp_path / "meta.pdf", title="Coastal Operations Handbook")
    junk = pdfs.structured_pdf(tmp_path / "junk.pdf", title="Preface")
    sentence = pdfs.make_pdf(tmp_path / "minutes-2024.pdf", ["The board met on Monday.\n" + "Text. " * 50])
    done = {e.path.rsplit("/", 1)[-1]: e for e in _import([meta, junk, sentence], workers=0)}
    store = open_store()
    got = {k: (store.get_document(e.doc_id).title, store.get_document(e.doc_id).title_source)
           for k, e in done.items()}
    assert got["meta.pdf"] == ("Coastal Operations Handbook", "metadata")
    assert got["junk.pdf"] == ("The Lighthouse Keeper's Manual", "heading")
    # A first line that is a sentence is the start of the text, not its title.
    assert got["minutes-2024.pdf"] == ("minutes-2024", "file")


def test_outline_titles_name_the_document_only_when_they_can():
    assert st.outline_title([[1, "1 Introduction", 5], [2, "Legalese", 5]]) == ""
    assert st.outline_title([[1, "Preface", 1], [1, "1 Intro", 2]]) == ""
    assert st.outline_title([[1, "Harbour Regulations 2024", 1], [2, "Scope", 1]]) == "Harbour Regulations 2024"
    assert st.outline_title([[1, "Annual Report", 3], [2, "Revenue", 4], [2, "Costs", 5]]) == "Annual Report"
    assert not st.plausible_title("Contents") and not st.plausible_title("2.3 Usage")
    assert not st.plausible_title("The board met on Monday.") and st.plausible_title("Annual Review of Lighthouses")


def test_page_labels_match_pymupdf_for_every_style(tmp_path):
    doc = pymupdf.open()
    for _ in range(40):
        doc.new_page()
    doc.set_page_labels([{"startpage": 0, "prefix": "T-", "style": "D", "firstpagenum": 1},
                         {"startpage": 2, "prefix": "", "style": "r", "firstpagenum": 1},
                         {"startpage": 8, "prefix": "", "style": "R", "firstpagenum": 3994},
                         {"startpage": 12, "prefix": "A-", "style": "a", "firstpagenum": 25},
                         {"startpage": 20, "prefix": "", "style": "", "firstpagenum": 1},
                         {"startpage": 22, "prefix": "", "style": "D", "firstpagenum": 988}])
    expected = [doc[i].get_label() for i in range(40)]
    got = st.labels_for(doc.get_page_labels(), 40)
    # Letters past z follow the PDF standard (ISO 32000 12.4.2: aa, bb, cc, as Acrobat
    # prints them), where pymupdf counts on like spreadsheet columns (aa, ab, ac).
    assert got[12:20] == ["A-y", "A-z", "A-aa", "A-bb", "A-cc", "A-dd", "A-ee", "A-ff"]
    assert got[:12] + got[20:] == expected[:12] + expected[20:]
    assert st.labels_for([], 3) == ["", "", ""]


def test_hostile_labels_are_short_single_line_data():
    rules = [{"startpage": 0, "prefix": "\u202eevil\n" * 50, "style": "R", "firstpagenum": 10 ** 9},
             {"startpage": 1, "prefix": "", "style": "a", "firstpagenum": 10 ** 9}]
    for label in st.labels_for(rules, 2):
        assert len(label) <= st.MAX_LABEL_CHARS and "\n" not in label and "\u202e" not in label


def test_a_hostile_outline_is_capped_and_its_titles_are_data(tmp_path, monkeypatch):
    monkeypatch.setattr(st, "MAX_OUTLINE", 500)
    pdf = pdfs.hostile_outline_pdf(tmp_path / "bookmarks.pdf", entries=2000)
    (done,) = _import([pdf], workers=0)
    store = open_store()
    outline = store.outline(done.doc_id)
    assert len(outline) == 500
    first = outline[0].title
    assert "\n" not in first and "\x1b" not in first and first.startswith("Ignore all previous instructions")
    assert "500" in (store.get_document(done.doc_id).error or "")  # the note says entries were dropped
    # The first entry, on page 1, may name the document; then as one cleaned line of data.
    title = store.get_document(done.doc_id).title
    assert "\n" not in title and "\x1b" not in title and len(title) <= 200


def test_big_tables_are_cut_and_marked(tmp_path, monkeypatch):
    monkeypatch.setattr(st, "MAX_TABLE_ROWS", 2)
    pdf = pdfs.structured_pdf(tmp_path / "manual.pdf")
    (done,) = _import([pdf], workers=0)
    (table,) = open_store().tables(done.doc_id)
    assert table.truncated and table.rows == pdfs.FOG_TABLE[1:3]


def test_a_failure_reading_structure_never_costs_the_text(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("malformed span")

    monkeypatch.setattr(st, "page_lines", boom)
    monkeypatch.setattr(st.PageReader, "_find_tables", boom)
    pdf = pdfs.structured_pdf(tmp_path / "plain.pdf", toc=False)
    (done,) = _import([pdf], workers=0)
    store = open_store()
    assert "Polish the lens" in store.document_text(done.doc_id)
    assert store.outline(done.doc_id) == [] and store.tables(done.doc_id) == []
    assert store.page_label(done.doc_id, 3) == "988"


def test_contents_lines_with_dot_leaders_are_not_headings():
    assert not st._heading_text_ok("Preface . . . . . . . . . . . 1")
    assert not st._heading_text_ok("Simple manipulations; numbers and vectors . . 8")
    assert st._heading_text_ok("Results for 2024") and st._heading_text_ok("5.3 Index matrices")


def test_a_page_of_a_hundred_thousand_strokes_is_not_searched_for_tables(tmp_path, monkeypatch):
    listed = []
    real = pymupdf.Page.get_cdrawings
    monkeypatch.setattr(pymupdf.Page, "get_cdrawings", lambda self, *a, **k: listed.append(self.number) or real(self, *a, **k))
    pdf = pdfs.stroke_bomb_pdf(tmp_path / "strokes.pdf")
    (done,) = _import([pdf], workers=0)
    store = open_store()
    assert "storm of strokes" in store.document_text(done.doc_id)
    assert listed == [] and store.tables(done.doc_id) == []


def test_letters_drawn_as_a_logo_are_not_the_title(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()
    pdfs._lines(page, [("Vector Graphics Language", 20, "hebo"), ("For version 2.85", 11, "helv")]
                + [("symptote", 25, "helv")] * 6)
    path = tmp_path / "logo.pdf"
    doc.save(str(path))
    (done,) = _import([path], workers=0)
    assert done.title == "Vector Graphics Language"


def test_a_title_the_user_gave_survives_reimporting_the_changed_file(tmp_path):
    pdf = pdfs.structured_pdf(tmp_path / "manual.pdf")
    (done,) = _import([pdf], workers=0)
    store = open_store()
    store.set_title(done.doc_id, "Keeper's manual, 2024 edition")
    pdfs.structured_pdf(pdf, title="Some Metadata Title")  # the file changes
    import os

    os.utime(pdf, (1, 1))
    (again,) = _import([pdf], workers=0)
    assert again.doc_id != done.doc_id
    d = store.get_document(again.doc_id)
    assert (d.title, d.title_source) == ("Keeper's manual, 2024 edition", "user")


def test_label_rules_no_reader_could_print_give_no_labels():
    asm = st.Assembler([st.RangeStructure(label_rules=[{"startpage": "x", "style": "D", "firstpagenum": None}])], 3)
    assert [asm.label(i) for i in range(3)] == ["", "", ""]


def _from_section(tmp_path, lines, title: str) -> str:
    """The document text from its one section's start, for a page of `lines` whose outline
    has one entry, `title`, pointing at it."""
    path = tmp_path / "manual.pdf"
    doc = pymupdf.open()
    pdfs._lines(doc.new_page(), lines)
    doc.set_toc([[1, title, 1]])
    doc.save(str(path))
    doc.close()
    (done,) = [e for e in import_paths([str(path)], workers=0) if e.kind == "file-done"]
    store = open_store()
    try:
        text = store.document_text(done.doc_id)
        (section,) = store.sections(done.doc_id)
        return text[section.char_start:]
    finally:
        store.close()


def test_a_section_starts_at_its_numbered_heading_not_at_an_earlier_mention(tmp_path):
    """The outline says "The read.table() function"; the page says "7.1 The read.table()
    function" on its own line, after a paragraph that mentions "the read.table() function"."""
    rest = _from_section(tmp_path, [
        ("An entire data frame can be read directly with the read.table() function.", 10, "helv"),
        ("There is also a more primitive input function.", 10, "helv"),
        ("7.1 The read.table() function", 14, "hebo"),
        ("To read an entire data frame directly, the file needs a special form.", 10, "helv")],
        "The read.table() function")
    assert rest.startswith("7.1 The read.table() function"), rest[:60]


def test_a_section_starts_at_its_heading_not_at_a_later_line_that_begins_with_its_title(tmp_path):
    """R-admin's "6.3.5 Byte-compilation" is followed by a line opening "Byte-compilation can
    be controlled…": the section, and the sentence under it, start at the heading."""
    rest = _from_section(tmp_path, [
        ("a source tarball.", 10, "helv"),
        ("6.3.5 Byte-compilation", 14, "hebo"),
        ("As from R 3.6.0, all packages are by default byte-compiled.", 10, "helv"),
        ("Byte-compilation can be controlled on a per-package basis.", 10, "helv")],
        "Byte-compilation")
    assert rest.startswith("6.3.5 Byte-compilation\nAs from"), rest[:60]


def test_a_table_set_out_by_position_alone_is_kept_with_its_header(tmp_path):
    pdf = pdfs.layout_table_pdf(tmp_path / "fleet.pdf")
    (done,) = _import([pdf], workers=0)
    store = open_store()
    (table,) = store.tables(done.doc_id)  # the contents-like list below it is no table
    assert table.page_no == 1
    assert table.header == pdfs.HARBOUR_FLEET[0] and table.rows == pdfs.HARBOUR_FLEET[1:]
    # Prose is no table, however it is laid out.
    assert not st.looks_tabular("The harbour board keeps a register of the vessels.\n" * 20)


def test_a_table_whose_cells_wrap_is_read_row_by_row(tmp_path):
    pdf = pdfs.wrapped_table_pdf(tmp_path / "cannery.pdf")
    (done,) = _import([pdf], workers=0)
    store = open_store()
    first, second = store.tables(done.doc_id)
    # A description's lines make one cell; a header over two columns heads the first.
    assert first.page_no == 1
    assert first.header == pdfs.WRAPPED_HEADER
    assert first.rows == [[key, part, tool, " ".join(desc)] for key, part, tool, desc in pdfs.WRAPPED_ROWS]
    # Keys set against the middle of their rows take the lines above them as well as below.
    assert second.page_no == 2 and second.header == ["area", "berths", "used for"]
    assert second.rows == [[key, n, " ".join(desc)] for key, n, desc in pdfs.CENTRED_ROWS]
    store.close()


def test_a_first_row_is_no_header_for_differing_from_a_column_of_mixed_type(tmp_path):
    # A reference card's rows: the third column mixes section titles (bold) and code; a
    # first row whose cell there is neither is still a row, not the table's header.
    rows = [("terminate execution", "exit();", "cour"), ("if statement", "Flow constructions", "hebo"),
            ("loop while true", "while(expr)", "helv"), ("skip an iteration", "String functions", "hebo"),
            ("leave a loop", "break;", "helv")]
    path = tmp_path / "card.pdf"
    doc = pymupdf.open()
    p = doc.new_page()
    for r, (what, code, font) in enumerate(rows):
        p.insert_text((72, 100 + r * 14), what, fontsize=9, fontname="helv")
        p.insert_text((260, 100 + r * 14), code, fontsize=9, fontname=font)
    for r in range(12):  # the rest of the card: short lines, so the page is read for tables
        p.insert_text((72, 300 + r * 14), f"entry {r}", fontsize=9, fontname="helv")
    doc.save(str(path))
    doc.close()
    (done,) = _import([path], workers=0)
    store = open_store()
    (table,) = [t for t in store.tables(done.doc_id) if t.page_no == 1 and len(t.rows[0]) == 2]
    assert table.header == [] and table.rows[0] == ["terminate execution", "exit();"], (table.header, table.rows)
    store.close()


def test_output_printed_in_a_fixed_pitch_is_read_as_tables_by_where_its_figures_end(tmp_path):
    pdf = pdfs.printed_output_pdf(tmp_path / "session.pdf")
    (done,) = _import([pdf], workers=0)
    store = open_store()
    anova, ftable = store.tables(done.doc_id)  # the code and the bare matrix make none
    # Columns one space apart ("1802.5 1814.9") are told apart by where their figures end;
    # a header of two words ("Pr(>Chisq)" alone, "Sum Sq" would be one) names the column it ends over.
    assert anova.header == ["", "npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    assert anova.rows == [["m0", "3", "1910.2", "1919.8", "-952.10", "1904.2", "", "", ""],
                          ["fm1", "4", "1802.5", "1814.9", "-897.24", "1794.5", "109.69", "1", "1.124e-25"],
                          ["fm2", "6", "1763.9", "1783.1", "-875.97", "1751.9", "42.554", "2", "5.725e-10"]]
    # A group's label printed once is carried down to its rows; the corner's words head the labels.
    assert ftable.header == ["Gear Catch Boat", "A", "B", "C"]
    assert ftable.rows == [["Landed Heron", "51", "35", "12"], ["Landed Gull", "8", "1", "20"],
                           ["Lost Heron", "31", "20", "5"], ["Lost Gull", "2", "0", "39"]]
    store.close()


def test_a_word_a_ruled_table_cuts_at_its_rule_is_mended_from_the_page_text(tmp_path):
    pdf = pdfs.overrun_table_pdf(tmp_path / "berths.pdf")
    (done,) = _import([pdf], workers=0)
    store = open_store()
    (table,) = store.tables(done.doc_id)
    # find_tables gives "inner-harbourma" | "ster 31"; the page's text has the whole word.
    assert table.rows[0] == ["inner-harbourmaster", "31", "pilot boats and tugs"], table.rows
    assert table.rows[1:] == [["outer", "12", "fishing fleet"], ["quay", "7", "ferries"]]
    store.close()


def test_only_lines_as_short_as_printed_rows_make_a_page_worth_reading_for_printed_output():
    from app.ingest import printed

    # The check goes word by word over lines no longer than a printed row (a regex over the
    # page backtracked for half a minute on one hostile 40,000-digit line): lines of
    # hundreds of figures are a dump, not rows.
    assert not printed.worth_reading(("1 " * 200 + "\n") * 3)
    assert not printed.worth_reading("9" * 39_999 + " ")
    assert printed.worth_reading("fm3     4 1802 1815\nfm2     5 1762 1778\n")
    assert not printed.worth_reading("The harbour has 4 berths.\nIt was built in 1802.\n")

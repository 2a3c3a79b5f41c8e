"""A page set with ligatures (LaTeX writes "effects" with an "ﬀ" glyph) is imported as
letters, so words are found by search and ranking, and its quotes are still highlighted
and found in the reader, where the page itself keeps the glyph."""

from __future__ import annotations

from pathlib import Path

import pytest

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # has the ligature glyphs
LINE = "if re.form is NA the predictions are made at the population level, all random e\ufb00ects set to zero"


@pytest.fixture
def ligature_pdf(tmp_path):
    import pymupdf

    if not FONT.is_file():
        pytest.skip(f"needs a font with ligature glyphs ({FONT})")
    doc = pymupdf.open()
    for n in range(3):
        page = doc.new_page()
        page.insert_font(fontname="dj", fontfile=str(FONT))
        page.insert_text((50, 72), f"Page {n + 1} of a paper on mixed models.", fontname="dj", fontsize=10)
        if n == 1:
            page.insert_text((50, 100), LINE, fontname="dj", fontsize=10)
    path = tmp_path / "paper.pdf"
    doc.save(path)
    with pymupdf.open(path) as check:
        assert "e\ufb00ects" in check[1].get_text()  # MuPDF keeps the glyph by default
    return path


def test_a_ligature_is_imported_as_letters_and_found(ligature_pdf, tmp_path):
    from app.ingest import import_paths
    from app.store import open_store

    db = tmp_path / "lib.sqlite3"
    assert list(import_paths([ligature_pdf], store_path=db, workers=0))[-1].kind == "done"
    store = open_store(db)
    try:
        doc = store.list_documents()[0]
        assert "all random effects set to zero" in store.get_page(doc.id, 2).text
        assert "\ufb00" not in store.document_text(doc.id)
        hits = store.search("effects")
        assert hits and "random effects set to zero" in hits[0].text
    finally:
        store.close()


def test_the_reader_highlights_and_finds_a_quote_written_with_letters(ligature_pdf):
    import pymupdf

    from app.ui import render

    with pymupdf.open(ligature_pdf) as doc:
        assert render._quote_rects(doc[1], "all random effects set to zero")
        assert not render._quote_rects(doc[0], "all random effects set to zero")
    assert render.find_next_page(str(ligature_pdf), "random effects", 1) == 2


def test_a_quote_over_a_tables_columns_is_highlighted_line_by_line(tmp_path):
    import pymupdf

    from app.ui import render

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((50, 72), "Table 2.4: Float Placing Permissions.", fontsize=10)
    # The description is written first: the page's text runs it before its term.
    page.insert_text((120, 100), "on a special page containing only floats.", fontsize=10)
    page.insert_text((60, 100), "p", fontsize=10)
    path = tmp_path / "table.pdf"
    doc.save(path)
    with pymupdf.open(path) as pdf:
        rects = render._quote_rects(pdf[0], "p\non a special page containing only floats.")
        # The whole description is marked, not only a run of its last words.
        assert rects and all(r[0] >= 115 and 85 <= r[1] <= 102 for r in rects), rects
        assert any(r[0] < 130 and r[2] > 290 for r in rects), rects


def test_a_quote_found_as_one_quad_a_column_is_one_occurrence(tmp_path):
    import pymupdf

    from app.ui import render

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((60, 100), "p", fontsize=10)
    page.insert_text((120, 100), "on a special page containing only floats.", fontsize=10)
    path = tmp_path / "table.pdf"
    doc.save(path)
    with pymupdf.open(path) as pdf:
        assert len(pdf[0].search_for("p on a special page containing only floats.", quads=True)) == 2
        rects = render._quote_rects(pdf[0], "p\non a special page containing only floats.")
        # The term and its description, not the term alone.
        assert len(rects) == 2 and rects[0][0] < 70 and rects[1][0] >= 115, rects

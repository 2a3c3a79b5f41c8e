"""Typeset a haystack as a real multi-page A4 PDF, about 3,000 characters a page."""

from __future__ import annotations

from pathlib import Path

A4 = (595, 842)
MARGIN = 56  # about 2 cm
FONT = "helv"  # base-14 Helvetica: nothing to embed, Latin-1 only (see text.py)
FONT_SIZE = 10


def paginate(text: str, chars_per_page: int = 3000) -> list[str]:
    """Cut text into page-sized pieces at paragraph breaks, else at spaces, never inside a word."""
    pages: list[str] = []
    start = 0
    n = len(text)
    while start < n:
        end = start + chars_per_page
        if end >= n:
            pages.append(text[start:])
            break
        cut = text.rfind("\n\n", start + chars_per_page // 2, end)
        if cut <= start:
            cut = text.rfind(" ", start + chars_per_page // 2, end)
        if cut <= start:
            cut = end  # one 1,500-character word: cut it, nothing better exists
        pages.append(text[start:cut])
        start = cut
        while start < n and text[start] in " \n":
            start += 1
    return [p for p in pages if p.strip()]


def typeset(text: str, path: Path, *, chars_per_page: int = 3000, title: str = "Document") -> int:
    """Write `text` to `path` as a PDF; returns the page count."""
    import pymupdf

    doc = pymupdf.open()
    rect = pymupdf.Rect(MARGIN, MARGIN, A4[0] - MARGIN, A4[1] - MARGIN)
    queue = paginate(text, chars_per_page)
    queue.reverse()
    while queue:
        piece = queue.pop()
        page = doc.new_page(width=A4[0], height=A4[1])
        left = page.insert_textbox(rect, piece, fontsize=FONT_SIZE, fontname=FONT)
        if left < 0:
            # Too many short lines for one page: drop it, and set the piece as two pages instead.
            doc.delete_page(-1)
            halves = paginate(piece, max(200, len(piece) // 2 + 1))
            if len(halves) < 2:
                raise ValueError(f"cannot fit {len(piece)} characters on an A4 page")
            queue.extend(reversed(halves))
    doc.set_metadata({"title": title, "producer": "Lectern RULER benchmark"})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.pdf")
    doc.save(tmp, garbage=1, deflate=True)
    pages = doc.page_count
    doc.close()
    tmp.replace(path)
    return pages

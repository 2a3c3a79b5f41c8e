"""Page rendering for the reader, run on worker threads (pymupdf releases the GIL while
it rasterises). Returns QImages, which are safe to build off the GUI thread, and the
rectangles to highlight in PDF points."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from PySide6.QtGui import QImage

# pymupdf documents are not thread-safe: one lock per open file, a few files kept open.
_open_lock = threading.Lock()
_docs: "OrderedDict[str, tuple]" = OrderedDict()
_MAX_OPEN = 4


class ReaderError(Exception):
    """A page that cannot be shown; the message is for the user."""


@dataclass
class PageRender:
    path: str
    page_no: int
    page_count: int
    width: float  # points
    height: float
    image: QImage | None = None  # None when only highlights were asked for
    scale: float = 1.0
    zoom: float = 1.0  # the reader's zoom this was rendered for
    highlights: list = field(default_factory=list)  # [(x0, y0, x1, y1)] in points
    found: list = field(default_factory=list)


def _open(path: str, password: str | None = None):
    import pymupdf

    with _open_lock:
        entry = _docs.get(path)
        if entry is not None:
            _docs.move_to_end(path)
            return entry
        try:
            doc = pymupdf.open(path)
        except Exception as e:
            raise ReaderError(f"cannot open {path}: {e}") from None
        if doc.needs_pass and not (password and doc.authenticate(password)):
            doc.close()
            raise ReaderError("this PDF is password protected; the reader cannot show it without the password")
        entry = (doc, threading.Lock())
        _docs[path] = entry
        while len(_docs) > _MAX_OPEN:
            _, (old, lock) = _docs.popitem(last=False)
            with lock:
                old.close()
        return entry


def check_password(path: str, password: str) -> bool:
    """Whether password opens the PDF (checked on a separate handle; nothing cached)."""
    import pymupdf

    try:
        with pymupdf.open(str(path)) as doc:
            return bool(not doc.needs_pass or doc.authenticate(password))
    except Exception:
        return False


def close_all() -> None:
    with _open_lock:
        while _docs:
            _, (doc, lock) = _docs.popitem()
            with lock:
                doc.close()


# The library holds ligatures as letters ("effects"; app.ingest.structure.text_flags), but
# MuPDF's search matches a LaTeX page's "eﬀects" only when asked for "eﬀects".
_LIGATURES = [("ffi", "ﬃ"), ("ffl", "ﬄ"), ("ff", "ﬀ"), ("fi", "ﬁ"), ("fl", "ﬂ")]


def _search(page, text: str, **kw) -> list:
    """page.search_for(text), else for the text as a page set with ligatures writes it."""
    hits = page.search_for(text, **kw)
    if hits or not re.search(r"f[fil]", text):
        return hits
    for pairs in (_LIGATURES, _LIGATURES[3:]):  # every ligature, or only fi and fl
        lig = text
        for letters, glyph in pairs:
            lig = lig.replace(letters, glyph)
        hits = page.search_for(lig, **kw)
        if hits:
            return hits
    return []


def _quote_rects(page, quote: str, occurrence: int = 0) -> list:
    """Where a quote sits on the page: the whole quote, else runs of its words. When the
    quote occurs several times, `occurrence` (0-based, reading order) picks one."""
    import pymupdf

    # A quote over a table's columns ("p" / "on a special page containing only floats.") is
    # found line by line: MuPDF's search does not run from one column into the next.
    lines = [" ".join(x.split()) for x in (quote or "").splitlines()]
    quote = " ".join((quote or "").split())
    if not quote:
        return []
    hits = _search(page, quote[:1000], quads=True)
    if len(hits) > 1:
        hits = _one_occurrence(page, quote, hits, occurrence)
    if not hits:
        words = quote.split()
        # Line breaks and hyphenation differ between the text layer and the quote:
        # fall back to its lines, and to runs of a few words at the start and end.
        by_line = [x for x in lines[:20] if len(x) >= 12] if len(lines) > 1 else []
        by_words = [" ".join(words[i:i + 6]) for i in range(0, min(len(words), 60), 6)]
        for pieces in (by_line, by_words):
            for piece in pieces:
                if len(piece) >= 12:
                    hits += _search(page, piece, quads=True)
            if hits:
                break
    rects = []
    for q in hits:
        r = q.rect if isinstance(q, pymupdf.Quad) else pymupdf.Rect(q)
        rects.append((r.x0, r.y0, r.x1, r.y1))
    return rects


def _one_occurrence(page, quote: str, hits: list, occurrence: int) -> list:
    # A multi-line hit is several quads; a new occurrence starts where the quote's first
    # words are found.
    head = " ".join(quote.split()[:4])
    starts = [s.rect for s in _search(page, head, quads=True)]
    groups: list[list] = []
    for h in hits:
        r = h.rect
        # A quad to the right of the last on its line goes on with it (a quote over a table's
        # columns is one quad a column), though the head's words are found there too.
        goes_on = bool(groups) and abs(groups[-1][-1].rect.y0 - r.y0) < 2 and r.x0 > groups[-1][-1].rect.x1
        if not groups or not goes_on and any(abs(s.y0 - r.y0) < 2 and abs(s.x0 - r.x0) < 2 for s in starts):
            groups.append([])
        groups[-1].append(h)
    return groups[max(0, min(int(occurrence or 0), len(groups) - 1))]


def render_page(path: str, page_no: int, scale: float, *, quote: str = "", find: str = "",
                with_image: bool = True, password: str | None = None, occurrence: int = 0) -> PageRender:
    import pymupdf

    doc, lock = _open(str(path), password)
    with lock:
        n = doc.page_count
        if n == 0:
            raise ReaderError("this document has no pages")
        page_no = max(1, min(int(page_no), n))
        page = doc.load_page(page_no - 1)
        out = PageRender(str(path), page_no, n, page.rect.width, page.rect.height, scale=scale)
        if with_image:
            pix = page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False)
            img = QImage(pix.samples, pix.width, pix.height, pix.stride, QImage.Format.Format_RGB888)
            out.image = img.copy()  # detach from pix's buffer before it is freed
        out.highlights = _quote_rects(page, quote, occurrence)
        if find:
            out.found = [(r.x0, r.y0, r.x1, r.y1) for r in _search(page, find)]
        return out


def find_next_page(path: str, term: str, start: int, forward: bool = True, password: str | None = None) -> int | None:
    """The next page (1-based, wrapping) after `start` whose text contains term."""
    from app.ingest.structure import text_flags

    doc, lock = _open(str(path), password)
    term_l = term.lower()
    with lock:
        n = doc.page_count
        order = [((start - 1 + k) % n) + 1 for k in range(1, n + 1)] if forward else \
            [((start - 1 - k) % n) + 1 for k in range(1, n + 1)]
        for p in order:
            if term_l in doc.load_page(p - 1).get_text(flags=text_flags()).lower():
                return p
    return None

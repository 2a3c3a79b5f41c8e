"""Document structure found at import: outline, headings, page labels, tables, a title.

Two halves, because extraction runs in worker processes and only the writer sees the
whole document:

- `PageReader` (worker side) reads each page's text through one MuPDF text page and,
  from that same text page, notes heading candidates (font size and weight, only for
  PDFs without an outline, where they are the only map of the document), tables (only
  on pages whose content draws a ruled grid: pymupdf's find_tables costs 30-100 ms a
  page, so it is never run blind), and for the first range the outline, the page-label
  rules and a title. What it finds travels back in `RangeStructure`, a small picklable
  record.
- `Assembler` (writer side) merges the ranges: it turns label rules into each page's
  printed label, decides which heading candidates are headings once the body font size
  of the whole document is known, locates every outline entry's title on its page (so a
  section starts at its heading, not at the top of its page), and writes it all through
  the DocumentWriter.

Everything a document says here is data: titles, labels and cells are cleaned of
control characters and capped in length and number, and a hostile PDF (a million
bookmarks, a page of ten thousand ruled cells) costs bounded time.
"""

from __future__ import annotations

import html
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from app.ingest import printed

# Caps: a real 2,415-page manual has 1,426 outline entries; 5,000 leaves room, and stops a
# PDF with a million bookmarks from filling the library.
MAX_OUTLINE = 5000
MAX_HEADINGS_PER_PAGE = 6
MAX_HEADINGS = 5000
MAX_TABLES_PER_PAGE = 8
MAX_TABLES = 1000  # per range
MAX_TABLE_ROWS = 500
MAX_TABLE_COLS = 40
MAX_CELL_CHARS = 1000
MAX_LABEL_CHARS = 24
# Path operators on a page before it is worth asking whether they draw a grid, and the
# most drawings a page may have for find_tables to run at all (its cost grows with them).
MIN_GRID_OPS = 4
MAX_TABLE_DRAWINGS = 3000
MAX_FORM_BYTES = 256 << 10
# Characters on a page beyond which its type is not read for headings.
MAX_HEADING_PAGE_CHARS = 20_000
# Seconds one range may spend finding tables; past it, the rest of its pages are not
# searched for tables (and the document says so).
TABLE_TIME_BUDGET_S = 30.0
# Seconds one page's table search may take before the range stops searching (a single
# pathological page is enough to know the document is not worth it).
TABLE_PAGE_LIMIT_S = 5.0

# Front matter and placeholders: "Preface" names a section, not the document.
JUNK_TITLES = re.compile(r"^(untitled|microsoft word - .*|\s*|document\d*|title|preface|foreword|contents"
                         r"|table of contents|introduction|abstract|acknowledge?ments?|copyright|about this .*"
                         r"|index|summary|overview|chapter \S+|part \S+|\d+(\.\d+)*)$", re.I)
# A chapter or section title ("1 Introduction", "2.3 Usage") names a part, not the whole.
_NUMBERED = re.compile(r"^\s*(\d+(\.\d+)*|[IVXLC]+\.|[A-Z]\.)\s+\S")


def _clean(text: str, limit: int = 200) -> str:
    from app.store.models import clean_title

    return clean_title(text, limit)


def plausible_title(text: str) -> bool:
    """Could this line be a document's title? Not front matter, not a numbered section,
    not a sentence (a first line ending in a full stop is the start of the text)."""
    t = (text or "").strip()
    if not (3 <= len(t) <= 150) or JUNK_TITLES.match(t) or _NUMBERED.match(t):
        return False
    if t[-1] in ".,;:!?" and not t.endswith("..."):
        return False
    return sum(ch.isalpha() for ch in t) >= 3


def outline_title(toc: list) -> str:
    """The outline's name for the whole document, if it has one: a single top-level entry
    (the book wrapping its chapters), or a first entry on page 1 that reads like a title.
    A first chapter ("1 Introduction") is not the document's title."""
    tops = [e for e in toc if e[0] == 1]
    if len(tops) == 1 and plausible_title(tops[0][1]) and len(toc) > 1:
        return _clean(tops[0][1])
    if toc and toc[0][2] == 1 and plausible_title(toc[0][1]):
        return _clean(toc[0][1])
    return ""


# --- page labels ------------------------------------------------------------------------
def _roman(n: int) -> str:
    out = []
    for v, s in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
                 (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= v:
            out.append(s)
            n -= v
    return "".join(out)


def _letters(n: int) -> str:
    # PDF 32000 12.4.2: a..z, then aa..zz, then aaa...: the letter repeated.
    n = max(1, n)
    return chr(ord("a") + (n - 1) % 26) * min(((n - 1) // 26) + 1, 8)


def format_label(rule: dict, index: int) -> str:
    """The label of 0-based page `index` under one rule from Document.get_page_labels()."""
    n = int(rule.get("firstpagenum") or 1) + index - int(rule.get("startpage") or 0)
    style = rule.get("style") or ""
    if style == "D":
        num = str(n)
    elif style in ("r", "R"):
        # Roman numbers past a few thousand are a hostile file's way to make a label of
        # a million m's: print those in digits.
        num = _roman(n) if 0 < n < 5000 else str(n)
        num = num.upper() if style == "R" else num
    elif style in ("a", "A"):
        num = _letters(n)
        num = num.upper() if style == "A" else num
    else:
        num = ""
    from app.store.models import clean_label

    return clean_label(str(rule.get("prefix") or "") + num, MAX_LABEL_CHARS)


def labels_for(rules: list[dict], page_count: int) -> list[str]:
    """Every page's printed label ('' for all when the PDF defines none)."""
    rules = sorted((r for r in rules or [] if isinstance(r, dict)), key=lambda r: int(r.get("startpage") or 0))
    if not rules:
        return [""] * page_count
    out, ri = [], -1
    for i in range(page_count):
        while ri + 1 < len(rules) and int(rules[ri + 1].get("startpage") or 0) <= i:
            ri += 1
        out.append(format_label(rules[ri], i) if ri >= 0 else "")
    return out


# --- worker side --------------------------------------------------------------------------
@dataclass
class RangeStructure:
    """What one extraction range found (picklable; travels back from the worker)."""

    has_outline: bool = False
    outline: list[tuple[int, str, int]] = field(default_factory=list)  # (level, title, page 1-based or <= 0)
    outline_truncated: int = 0  # entries beyond MAX_OUTLINE
    label_rules: list[dict] = field(default_factory=list)
    title: str = ""  # the best title this range could see (first range only)
    title_source: str = ""
    sizes: dict[float, int] = field(default_factory=dict)  # characters per font size (headings mode)
    headings: list[tuple[int, float, bool, str]] = field(default_factory=list)  # (page_no, size, bold, text)
    tables: list[dict] = field(default_factory=list)  # {page, header, rows, bbox, truncated}
    notes: list[str] = field(default_factory=list)


_P = re.compile(r'<p style="([^"]*)">(.*?)</p>', re.S)
_SPAN = re.compile(r'<span style="[^"]*?font-size:([\d.]+)pt[^"]*">(.*?)</span>', re.S)
_BOLD = re.compile(r"<b>.*?</b>", re.S)
_TAG = re.compile(r"<[^>]+>")
_SPAN_TEXT = re.compile(r'font-size:([\d.]+)pt[^"]*">([^<]*)')
_SIZE = re.compile(r"font-size:([\d.]+)pt")
_GRID_OPS = (b" l\n", b" l ", b" l\r", b" re\n", b" re ", b" re\r")


def page_lines(textpage, candidates_only: bool = False) -> tuple[Counter, list[tuple[float, bool, str]]]:
    """(characters per font size, lines) of a MuPDF text page; each line is (font size,
    whole line bold, text), top to bottom.

    Read from TextPage.extractHTML(): MuPDF writes one <p> per line with each span's
    font size and <b> around bold runs, as a string built in C, about a quarter of the
    cost of extractDICT(), which builds a Python dict per span. With candidates_only,
    only lines that could be headings (bold, or type larger than the page's body) are
    parsed: most of a page is body text and is only counted."""
    h = textpage.extractHTML()
    sizes: Counter = Counter()
    for size, txt in _SPAN_TEXT.findall(h):
        sizes[round(float(size) * 2) / 2] += len(txt)
    if not sizes:
        return sizes, []
    big = sizes.most_common(1)[0][0] * 1.15
    out = []
    for chunk in h.split("</p>"):
        at = chunk.find("<p style=")
        if at < 0:
            continue
        body = chunk[chunk.find(">", at) + 1:]
        if candidates_only and "<b>" not in body and max(map(float, _SIZE.findall(body)), default=0.0) < big:
            continue
        line_sizes: Counter = Counter()
        for size, inner in _SPAN.findall(body):
            line_sizes[round(float(size) * 2) / 2] += len(_TAG.sub("", inner))
        text = " ".join(html.unescape(_TAG.sub("", body)).split())
        if not text or not line_sizes:
            continue
        bold = not _TAG.sub("", _BOLD.sub("", body)).strip()
        out.append((line_sizes.most_common(1)[0][0], bold, text))
    return sizes, out


# A contents page lists headings with dot leaders and page numbers, often in bold:
# "Preface . . . . . 1" is an entry pointing at a heading, not one.
_LEADER = re.compile(r"(\.\s?){4,}\s*[\dIVXLCivxlc]*\s*$|(\.\s?){2,}\s*[\dIVXLCivxlc]+\s*$")


def _heading_text_ok(text: str) -> bool:
    return 2 <= len(text) <= 150 and sum(ch.isalpha() for ch in text) >= 2 and not _LEADER.search(text)


def text_flags() -> int:
    import pymupdf

    # LaTeX typesets "effects" with an "ﬀ" ligature, and MuPDF keeps it by default: the
    # library would hold "eﬀects", which no search for "effects" finds. MuPDF's own flag
    # writes the letters instead.
    return pymupdf.TEXTFLAGS_TEXT & ~pymupdf.TEXT_PRESERVE_LIGATURES


class PageReader:
    """Reads pages of one open document for one range, noting structure as it goes."""

    def __init__(self, doc, start: int, *, tables: bool = True):
        import pymupdf

        self._flags = text_flags()
        self.doc = doc
        self.start = start
        self.out = RangeStructure()
        self._tables = tables and getattr(doc, "is_pdf", False)
        self._table_seconds = 0.0
        # doc.outline is an object even for a PDF with no bookmarks (wrapping NULL), so ask
        # for the entries themselves (about 50 ms for a 2,400-page manual's 1,426).
        try:
            self._toc = doc.get_toc(simple=True) or []
        except Exception:
            self._toc = []
        self.out.has_outline = bool(self._toc)
        # Headings are the map of a document without bookmarks; with bookmarks, only the
        # first page is read for its title.
        self._headings = not self.out.has_outline
        if start == 0:
            self._document_level()

    def _document_level(self) -> None:
        out = self.out
        toc = self._toc
        if len(toc) > MAX_OUTLINE:
            out.outline_truncated = len(toc) - MAX_OUTLINE
            out.notes.append(f"The outline has {len(toc):,} entries; the first {MAX_OUTLINE:,} are kept.")
            toc = toc[:MAX_OUTLINE]
        for e in toc:
            try:
                level, title, page = int(e[0]), _clean(str(e[1])), int(e[2])
            except (TypeError, ValueError, IndexError):
                continue
            if title:
                out.outline.append((max(1, min(level, 9)), title, page))
        try:
            if getattr(self.doc, "is_pdf", False):
                out.label_rules = [dict(r) for r in (self.doc.get_page_labels() or [])][:1000]
        except Exception:
            out.label_rules = []
        meta = ((self.doc.metadata or {}).get("title") or "").strip()
        if meta and not JUNK_TITLES.match(meta) and len(meta) < 300:
            out.title, out.title_source = _clean(meta), "metadata"
        elif t := outline_title(out.outline):
            out.title, out.title_source = t, "outline"

    def text(self, page) -> str:
        """The page's text as page.get_text() gives it (ligatures as letters: text_flags()),
        plus structure notes.
        A failure while noting structure never costs the page its text."""
        tp = page.get_textpage(flags=self._flags)
        text = page.get_text(textpage=tp)
        number = page.number
        try:
            # A page of a million characters is no page of headings (and its HTML would
            # be tens of megabytes): only pages of a printed page's size are read for type.
            if (self._headings or (number == 0 and not self.out.title)) and len(text) <= MAX_HEADING_PAGE_CHARS:
                self._lines(number, tp)
        except Exception:
            pass
        try:
            if self._tables:
                found = len(self.out.tables)
                self._find_tables(page, text)
                # A page with a ruled table has had its tables found; the others may set one out by position.
                if len(self.out.tables) == found < MAX_TABLES and len(text) <= MAX_LAYOUT_PAGE_CHARS \
                        and self._table_seconds <= TABLE_TIME_BUDGET_S and looks_tabular(text):
                    t0 = time.process_time()
                    self.out.tables.extend(layout_tables(number + 1, tp)[:MAX_TABLES - found])
                    self._table_seconds += time.process_time() - t0
                if len(text) <= MAX_LAYOUT_PAGE_CHARS and self._table_seconds <= TABLE_TIME_BUDGET_S \
                        and printed.worth_reading(text):
                    t0 = time.process_time()
                    self._add_printed(printed.printed_tables(number + 1, tp), found)
                    self._table_seconds += time.process_time() - t0
        except Exception:
            pass
        return text

    def _lines(self, number: int, tp) -> None:
        title_page = number == 0 and not self.out.title
        page_sizes, lines = page_lines(tp, candidates_only=not title_page)
        if not lines:
            return
        body = page_sizes.most_common(1)[0][0]
        if title_page:
            self._first_page_title(lines, body)
        if not self._headings:
            return
        for size, n in page_sizes.items():
            self.out.sizes[size] = self.out.sizes.get(size, 0) + n
        kept = 0
        for size, bold, text in lines:
            if kept >= MAX_HEADINGS_PER_PAGE:
                break
            if _heading_text_ok(text) and (size >= body * 1.15 or (bold and len(text) <= 80)):
                self.out.headings.append((number + 1, size, bold, _clean(text, 150)))
                kept += 1

    def _first_page_title(self, lines, body: float) -> None:
        # The largest type on the first page, when it is larger than the body: wrapped
        # title lines (same size, one after another) are joined. Text repeated on the
        # cover is a drawing made of letters (asymptote.pdf's logo prints "symptote"
        # eleven times in 25 pt type), not its title.
        seen = Counter(text for _, _, text in lines)
        lines = [ln for ln in lines if seen[ln[2]] == 1] or lines
        top = max(size for size, _, _ in lines)
        # On a cover the title may hold most of the characters: compare with the smallest
        # type on the page as well as with its body.
        if top < body * 1.15 and top < min(size for size, _, _ in lines) * 1.15:
            return
        parts: list[str] = []
        for size, _, text in lines:
            if size == top:
                parts.append(text)
            elif parts:
                break
            if len(parts) >= 3:
                break
        title = _clean(" ".join(parts))
        if plausible_title(title) or (title and not JUNK_TITLES.match(title) and len(title) <= 150
                                      and title[-1] not in ".,;:"):
            self.out.title, self.out.title_source = title, "heading"

    def _add_printed(self, found: list[dict], first: int) -> None:
        """Tables printed in a fixed pitch replace what layout_tables() read of the same
        place (it runs "4 1802 1815" together as one cell)."""
        if not found:
            return
        kept = [t for t in self.out.tables[first:] if not any(_overlaps(t["bbox"], p["bbox"]) for p in found)]
        del self.out.tables[first:]
        self.out.tables.extend((kept + found[:MAX_TABLES_PER_PAGE])[:MAX_TABLES - first])

    def _find_tables(self, page, text: str = "") -> None:
        out = self.out
        if len(out.tables) >= MAX_TABLES or self._table_seconds > TABLE_TIME_BUDGET_S:
            return
        # Cheap first: a ruled table needs line or rectangle operators in the page's own
        # content (reading it costs ~0.05 ms; find_tables costs 30-100 ms).
        raw = page.read_contents()
        ops = sum(raw.count(op) for op in _GRID_OPS)
        # Some producers wrap a whole page in a form XObject (" Do"): look inside those,
        # unless the forms are big (their drawings cannot be counted before listing them).
        if ops < MIN_GRID_OPS and (b" Do" not in raw or _forms_size(page) > MAX_FORM_BYTES):
            return
        # Listing a page's drawings costs memory per drawing: a page of a hundred thousand
        # strokes is a plot or an attack, not a table.
        if ops > MAX_TABLE_DRAWINGS * 4:
            return
        drawings = page.get_cdrawings()
        if len(drawings) > MAX_TABLE_DRAWINGS or not _has_grid(drawings):
            return
        t0 = time.process_time()
        try:
            found = page.find_tables().tables[:MAX_TABLES_PER_PAGE]
            for t in found:
                rec = _table_record(page.number + 1, t, text)
                if rec:
                    out.tables.append(rec)
        finally:
            spent = time.process_time() - t0
            self._table_seconds += spent
            if spent > TABLE_PAGE_LIMIT_S:
                self._table_seconds = TABLE_TIME_BUDGET_S + 1
            if self._table_seconds > TABLE_TIME_BUDGET_S:
                out.notes.append(f"Finding tables took over {TABLE_TIME_BUDGET_S:.0f} s; pages after "
                                 f"{page.number + 1} were not searched for tables.")


def _overlaps(a: list, b: list) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _forms_size(page) -> int:
    """Compressed bytes of the form XObjects a page draws."""
    doc = page.parent
    total = 0
    for x in page.get_xobjects():
        try:
            total += len(doc.xref_stream_raw(x[0]) or b"")
        except Exception:
            continue
    return total


def _has_grid(drawings) -> bool:
    """Rules at three distinct heights and three distinct x positions (or cell rectangles
    in two rows and two columns): the least that draws two rows by two columns. Stacked
    framed boxes (code examples) reuse two x positions, and a plot's ticks are short, so
    neither is searched: on R's manuals that was 14 pages of 349, ~50 ms each, no table."""
    hy, vx, rx, ry = set(), set(), set(), set()
    for d in drawings:
        for item in d.get("items") or ():
            kind = item[0]
            if kind == "l":
                (x0, y0), (x1, y1) = item[1], item[2]
                if abs(y1 - y0) < 1 and abs(x1 - x0) > 10:
                    hy.add(round(y0))
                elif abs(x1 - x0) < 1 and abs(y1 - y0) > 10:
                    vx.add(round(x0))
            elif kind == "re":
                x0, y0, x1, y1 = item[1]
                w, h = abs(x1 - x0), abs(y1 - y0)
                if w > 10 and h > 10:
                    rx.add(round(min(x0, x1)))
                    ry.add(round(min(y0, y1)))
                elif w > 10:
                    hy.add(round(y0))
                elif h > 10:
                    vx.add(round(x0))
            if (len(hy) >= 3 and len(vx) >= 3) or (len(rx) >= 2 and len(ry) >= 2):
                return True
    return False


_END_PIECE = re.compile(r"[\w-]+$")
_START_PIECE = re.compile(r"^[\w-]+")


def _rejoin(grid: list[list[str]], text: str) -> None:
    """Mend words find_tables cut where text overruns a rule ("non-free-firmwar" | "e 31"):
    the piece that starts a cell goes back on the word ending the cell before it, where the
    page's text has the joined word and not the cut one."""
    words = None
    for row in grid:
        for j in range(len(row) - 1):
            a, b = row[j], row[j + 1]
            if not (a and b and a[-1].isalpha() and b[0].isalpha()):
                continue
            # (the last 60 characters: no word is longer, and a search from every start of
            # a long cell would cost its length squared)
            head, tail = _END_PIECE.search(a[-60:]), _START_PIECE.match(b)
            if head is None or tail is None:
                continue
            if words is None:
                words = set(re.findall(r"[\w-]+", text))
            if head.group() + tail.group() in words and head.group() not in words:
                row[j], row[j + 1] = a + tail.group(), b[tail.end():].lstrip()


def _table_record(page_no: int, t, text: str = "") -> dict | None:
    from app.store.models import clean_cell

    truncated = t.row_count > MAX_TABLE_ROWS or t.col_count > MAX_TABLE_COLS
    rows = t.extract()[:MAX_TABLE_ROWS + 1]
    cells = [[clean_cell(c, MAX_CELL_CHARS) for c in (row or [])[:MAX_TABLE_COLS]] for row in rows]
    if text:
        _rejoin(cells, text)
    try:
        header = t.header
        names = [clean_cell(c, MAX_CELL_CHARS) for c in (header.names or [])[:MAX_TABLE_COLS]]
        external = bool(header.external)
    except Exception:
        names, external = [], False
    if not external and cells and names == cells[0]:
        cells = cells[1:]  # the header is the table's first row: not a data row too
    cells = cells[:MAX_TABLE_ROWS]
    # A plot's axes and a framed figure also make a grid: a table has at least two rows
    # and two columns, and text in more than half of its cells (asymptote.pdf's plot on
    # page 123 came back as 2 x 2 with two cells filled).
    grid = ([names] if any(names) else []) + cells
    n_cells = sum(len(r) for r in grid)
    filled = sum(1 for r in grid for c in r if c)
    if len(grid) < 2 or max(len(r) for r in grid) < 2 or filled * 2 <= n_cells:
        return None
    # Unnamed columns ("Col1"...) are pymupdf's placeholders, not the document's words.
    names = ["" if re.fullmatch(r"Col\d+", n) else n for n in names]
    return {"page": page_no, "header": names, "rows": cells, "bbox": list(t.bbox), "truncated": truncated}


# A table drawn without rules (a reference card's "description  name" pairs, an operator
# table, a statement's columns of figures) comes out of get_text() one cell per line.
# Its rows are lines side by side at one height; only pages where short lines dominate
# are read for them, so prose pages cost nothing.
LAYOUT_MIN_SHORT_LINES = 12
MAX_LAYOUT_PAGE_CHARS = 40_000  # a page of more is a dump, not a page of a table
LAYOUT_SHORT_CHARS = 30
LAYOUT_MIN_ROWS = 3
_DOT_LEADERS = re.compile(r"(?:\.\s?){4,}")  # "Arrays . . . . . 21": a contents line's dots
# A cell that is a figure ("1,240", "5pt", "8.8e-11", "42%"); "10pt (default)" heads a column.
_FIGURE = re.compile(r"[-+−]?\d[\d.,]*(?:e[-+]?\d+)?\s?(?:%|[a-zA-Z]{1,3})?")


def looks_tabular(text: str) -> bool:
    """Most of a page's lines are short: cells, not wrapped prose."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    short = sum(1 for ln in lines if len(ln.strip()) <= LAYOUT_SHORT_CHARS)
    return short >= LAYOUT_MIN_SHORT_LINES and short * 2 >= len(lines)


def layout_tables(page_no: int, tp) -> list[dict]:
    """Tables set out by position alone: runs of lines side by side at one height, each over
    a column of its own (columns may be left-aligned, centred or right-aligned, so a cell
    need only overlap its column), at least three rows, with a column of short cells (a
    name, a figure), so two columns of prose side by side are no table.

    A band of lines may also hold a single line, close below the band above: a cell that
    wraps. _rows() says which row each band belongs to. A header that spans two columns
    (lme4's "Module" over a name and a section) is read over the columns of the band below
    it; _layout_record() says whether the first row is a header."""
    from app.store.models import clean_cell

    lines = []
    for block in tp.extractDICT().get("blocks", []):
        for line in block.get("lines", []):
            spans = [(s["bbox"][0], s["bbox"][2], s.get("text", ""), s.get("font", ""))
                     for s in line.get("spans", []) if s.get("text", "")]
            while spans and not spans[0][2].strip():
                spans.pop(0)
            if spans:
                x0, y0, x1, y1 = line["bbox"]
                lines.append((x0, y0, x1, y1, spans))
    lines.sort(key=lambda ln: ((ln[1] + ln[3]) / 2, ln[0]))
    bands: list[list] = []  # [y centre, height, [line...], y0, y1]
    for ln in lines:
        yc, h = (ln[1] + ln[3]) / 2, ln[3] - ln[1]
        if bands and abs(bands[-1][0] - yc) <= max(2.0, 0.4 * min(h, bands[-1][1])):
            b = bands[-1]
            b[2].append(ln)
            b[3], b[4] = min(b[3], ln[1]), max(b[4], ln[3])
        else:
            bands.append([yc, h, [ln], ln[1], ln[3]])
    for b in bands:
        b[2].sort()
    tables: list[dict] = []
    run: list[dict] = []  # {"cells": {column: [(x0, x1, text, font)]}, "band": band}
    columns: list[list[float]] = []  # [left, right] of each column so far

    for band in bands + [[0.0, 0.0, [], 0.0, 0.0]]:  # a last empty band closes the last run
        if run:
            placed = _place(band[2], columns)
            gap = (band[3] - run[-1]["band"][4]) / max(band[1], 1.0)
            if placed and (gap <= 1.0 or len(placed) >= 2 and gap <= 1.5):
                run.append({"cells": placed, "band": band})
                for col, pieces in placed.items():
                    # A column grows with its cells, but never over its neighbours' edges.
                    low = columns[col - 1][1] + 1 if col > 0 else 0.0
                    high = columns[col + 1][0] - 1 if col + 1 < len(columns) else float("inf")
                    columns[col] = [max(low, min(columns[col][0], min(p[0] for p in pieces))),
                                    min(high, max(columns[col][1], max(p[1] for p in pieces)))]
                continue
            if len(run) == 1 and len(band[2]) > len(columns):
                # A header spanning columns: read it over the columns of the band below.
                wide = [[ln[0], ln[2]] for ln in band[2]]
                head, below = _place(run[0]["band"][2], wide), _place(band[2], wide)
                if head and len(head) >= 2 and below and len(below) == len(wide):
                    run[0]["cells"], columns = head, wide
                    run.append({"cells": below, "band": band})
                    continue
            rec = _layout_record(page_no, run, len(columns), clean_cell) if len(run) >= LAYOUT_MIN_ROWS else None
            if rec:
                tables.append(rec)
            if len(tables) >= MAX_TABLES_PER_PAGE:
                break
        run, columns = [], []
        if len(band[2]) >= 2:
            columns = [[ln[0], ln[2]] for ln in band[2]]
            first = _place(band[2], columns)
            run = [{"cells": first, "band": band}] if first and len(first) >= 2 else []
    return tables


def _place(band_lines: list, columns: list[list[float]]) -> dict[int, list] | None:
    """{column: [(x0, x1, text, font)]} of a band's lines over the columns, or None when a
    line lies over no column or over two. A line is first cut where one of its spans starts
    at another column's left edge ("non-free-firmware" then "31")."""
    out: dict[int, list] = {}

    def over(x0, x1):
        # A line may run a little into the next column's margin ("stable-updates(bullseye-
        # updates)"): a column it barely touches beside one it mostly lies over is not its.
        # A prose line across the table covers the first column's cells, however short they are.
        hits = {i: (min(x1, right) - max(x0, left), right - left) for i, (left, right) in enumerate(columns)
                if x0 <= right + 2 and x1 >= left - 2}
        most = max((v for v, _ in hits.values()), default=0.0)
        return [i for i, (v, w) in hits.items() if v > 0.2 * (x1 - x0) or v > 0.5 * w or v == most]

    lefts = [left for left, _ in columns]
    for _x0, _y0, _x1, _y1, spans in band_lines:
        pieces, piece = [], []
        for sp in spans:
            if piece and any(abs(sp[0] - left) <= 1.5 for left in lefts):
                pieces.append(piece)
                piece = []
            if piece or sp[2].strip():
                piece.append(sp)
        pieces.append(piece)
        for piece in pieces:
            x0, x1 = piece[0][0], max(sp[1] for sp in piece if sp[2].strip())
            cols = over(x0, x1)
            if len(cols) != 1:
                return None
            out.setdefault(cols[0], []).append((x0, x1, "".join(sp[2] for sp in piece).strip(), piece[0][3]))
    return out


def _join(parts: list[str]) -> str:
    """A wrapped cell's lines as one text: "calcu-" and "late" make "calculate" (but a
    path or address keeps its hyphen: "…/debian-" and "security/")."""
    text = ""
    for p in parts:
        p = p.strip()
        if re.search(r"[a-z]-$", text) and p[:1].islower():
            text = (text if re.search(r"[/.]\S*$", text) else text[:-1]) + p
        else:
            text = f"{text} {p}" if text else p
    return text


def _rows(run: list) -> list[dict]:
    """The rows of a run of bands, as {column: [(x0, x1, text, font)]}: a row starts at a
    band with text in the first column (its key), and the bands without one are its cell's
    wrapped lines. Where keys are set against the middle of their rows (a key's band lacks a
    column that the band above it has), a band goes with the nearest key; otherwise with the
    key above it, unless it fills every column but the key's (a row of a group whose key is
    given once, when the row above has its columns filled). The first band is a row of its
    own: the header, or the first row."""
    def y(i):
        return run[i]["band"][0]

    starts, wraps = [0], set()
    for i in range(1, len(run)):
        if 0 not in run[i]["cells"]:
            continue
        above = run[starts[-1]]["cells"].get(0, [])
        if starts[-1] == i - 1 and i - 1 > 0 and above and above[-1][2].rstrip().endswith("-"):
            wraps.add(i)  # the key itself wraps ("…/debian-" then "security/")
            continue
        starts.append(i)
    n_cols = max(max(r["cells"]) for r in run) + 1
    centred = any(k - 1 not in starts and set(run[k - 1]["cells"]) - set(run[k]["cells"]) for k in starts[1:])
    if centred:
        rows = [{c: list(ps) for c, ps in run[k]["cells"].items()} for k in starts]
        owner = 0
        for i in range(1, len(run)):
            if owner + 1 < len(starts) and starts[owner + 1] == i:
                owner += 1
                continue
            to = owner
            if i not in wraps and owner + 1 < len(starts) and \
                    abs(y(starts[owner + 1]) - y(i)) < abs(y(i) - y(starts[owner])):
                to = owner + 1
            for c, ps in run[i]["cells"].items():
                rows[to].setdefault(c, []).extend(ps)
        return rows
    rows = []
    for i, r in enumerate(run):
        cells = r["cells"]
        # A band without a key whose columns the row above has filled already is a row of
        # its own (a group's next row, its key given once); otherwise it goes on that row.
        if i in starts or len(cells) >= 2 and all(c in rows[-1] for c in cells):
            rows.append({c: list(ps) for c, ps in cells.items()})
        else:
            for c, ps in cells.items():
                rows[-1].setdefault(c, []).extend(ps)
    return rows


def _one_type(fonts: list[str]) -> str | None:
    """The font nearly all of a column's cells are set in (a header is set apart from its
    rows, not from a column that mixes code and prose), or None."""
    top = Counter(fonts).most_common(1)
    return top[0][0] if top and top[0][1] * 5 >= len(fonts) * 4 else None


def _layout_record(page_no: int, run: list, n_cols: int, clean_cell) -> dict | None:
    rows = _rows(run)
    while rows and len(rows[-1]) < 2:
        rows.pop()  # a line below the table that happened to stand over a column
    if len(rows) < LAYOUT_MIN_ROWS:
        return None
    texts = [{c: [p[2] for p in ps] for c, ps in r.items()} for r in rows]
    fonts = [{c: ps[0][3] for c, ps in r.items()} for r in rows]
    grid = [[clean_cell(_join(t.get(c, [])), MAX_CELL_CHARS) for c in range(n_cols)][:MAX_TABLE_COLS]
            for t in texts[:MAX_TABLE_ROWS + 1]]
    n_cols = len(grid[0])
    if not any(sum(len(row[i].split()) <= 3 or len(row[i]) <= LAYOUT_SHORT_CHARS - 6 for row in grid) * 5
               >= len(grid) * 4 for i in range(n_cols)):
        return None  # no column of names or figures: prose side by side
    last = [next((c for c in reversed(r) if c), "").strip() for r in grid]
    if all(x.isdigit() for x in last) and [int(x) for x in last] == sorted(int(x) for x in last) or \
            sum(bool(_DOT_LEADERS.search(" ".join(r))) for r in grid) * 2 >= len(grid):
        return None  # titles and page numbers: a contents or index page, not a table
    if any(sum(row[i].startswith(("=", ":=", "<-")) for row in grid) * 5 >= len(grid) * 4 for i in range(n_cols)):
        return None  # code aligned at its assignments ("organization = {…}"), not a table
    header: list[str] = []
    named = not any(re.search(r"\d", c) for c in grid[0]) and (
        any(c in fonts[0] and _one_type([f[c] for f in fonts[1:] if c in f]) not in (None, fonts[0][c])
            for c in range(n_cols))
        or sum(sum(bool(re.search(r"\d", r[i])) for r in grid[1:]) * 2 >= len(grid) - 1
               for i in range(n_cols)) * 2 >= n_cols)
    # Names over columns of figures may hold figures too: "10pt (default)" heads "5pt", "7pt"….
    over_figures = not any(_FIGURE.fullmatch(c) for c in grid[0]) and sum(
        sum(bool(_FIGURE.fullmatch(r[i])) for r in grid[1:]) * 2 >= len(grid) - 1 for i in range(n_cols)) * 2 >= n_cols
    # A header names (nearly) every column but the corner; a bold title over a card's
    # section names one.
    if (named or over_figures) and sum(bool(c) for c in grid[0]) * 4 >= (n_cols - (not grid[0][0])) * 3:
        # Set in other type than the rows, or names over columns of figures.
        header, grid = grid[0], grid[1:]
    grid = grid[:MAX_TABLE_ROWS]
    x0 = min(ln[0] for r in run for ln in r["band"][2])
    x1 = max(ln[2] for r in run for ln in r["band"][2])
    return {"page": page_no, "header": header, "rows": grid, "bbox": [x0, run[0]["band"][3], x1, run[-1]["band"][4]],
            "truncated": len(rows) > MAX_TABLE_ROWS + 1}


# --- writer side ----------------------------------------------------------------------------
def _title_pattern(title: str, line_start: bool):
    words = re.findall(r"\w+", title)[:12]
    if not words:
        return None
    # A heading starts its line; a running head ("Chapter 1: Introduction") holds the
    # same words mid-line, so a match at a line start is tried first.
    # The line may open with the heading's number ("7.1 The read.table() function") when the
    # outline's title leaves it out.
    lead = r"(?m)^[^\w\n]{0,4}(?:(?:\d{1,3}(?:\.\d{1,3})*|[A-Z])\.?\s+)?" if line_start else ""
    return re.compile(lead + r"\W*".join(re.escape(w) for w in words), re.I)


def _alone_pattern(title: str):
    return re.compile(r"(?m)^[^\w\n]{0,4}(?:(?:\d{1,3}(?:\.\d{1,3})*|[A-Z])\.?[ \t]+)?" + re.escape(title) + r"[ \t]*$")


_NUMBER_PREFIX = re.compile(r"^\s*(\d+(\.\d+)*\.?|[IVXLC]+\.|[A-Z]\.|Chapter\s+\S+|Appendix\s+\S+)\s+", re.I)


class Assembler:
    """Merges the ranges' structure of one document and writes it with its pages.

        asm = Assembler([r.structure for r in results], page_count)
        for each page (in order): start, _ = writer.add_page(text, asm.label(n)); asm.page(n, text, start)
        asm.write(writer)
    """

    def __init__(self, ranges: list[RangeStructure | None], page_count: int):
        ranges = [r for r in ranges if r is not None]
        first = ranges[0] if ranges else RangeStructure()
        self.page_count = page_count
        try:
            self.labels = labels_for(first.label_rules, page_count)
        except (TypeError, ValueError, OverflowError):  # a label tree no reader could print
            self.labels = [""] * page_count
        # A label that merely repeats the page index adds nothing; but keep the whole set
        # whenever any page differs, so "page 3" always means the same thing.
        if all(lab == str(i + 1) for i, lab in enumerate(self.labels)):
            self.labels = [""] * page_count
        self.title, self.title_source = first.title, first.title_source
        self.notes = [n for r in ranges for n in r.notes]
        try:
            if first.outline:
                self.entries = [[lvl, t, p, "outline", None] for lvl, t, p in first.outline]
            else:
                self.entries = self._headings(ranges)
            self.tables = [t for r in ranges for t in r.tables]
        except Exception:  # structure is a bonus: a document imports without it
            self.entries, self.tables = [], []
        self._by_page: dict[int, list[list]] = {}
        for e in self.entries:
            if 1 <= e[2] <= page_count:
                self._by_page.setdefault(e[2], []).append(e)

    def _headings(self, ranges) -> list[list]:
        sizes: Counter = Counter()
        for r in ranges:
            sizes.update(r.sizes)
        cands = [h for r in ranges for h in r.headings]
        if not sizes or not cands:
            return []
        body = sizes.most_common(1)[0][0]
        # Running heads and repeated labels ("Arguments", the book's name on every page)
        # are not sections.
        seen = Counter(text.lower() for _, _, _, text in cands)
        repeat_cap = max(3, self.page_count // 20)
        big = sorted({s for _, s, _, _ in cands if s >= body * 1.15}, reverse=True)
        level_of = {s: min(i + 1, 3) for i, s in enumerate(big)}
        out = []
        for page, size, bold, text in cands:
            if seen[text.lower()] > repeat_cap:
                continue
            if size in level_of:
                level = level_of[size]
            elif bold and size >= body * 0.95:
                level = min(len(big), 3) + 1
            else:
                continue
            out.append([level, text, page, "heading", None])
        if len(out) > MAX_HEADINGS:
            # Keep the most important levels whole rather than the first pages only.
            for cut in range(4, 0, -1):
                kept = [e for e in out if e[0] < cut]
                if len(kept) <= MAX_HEADINGS:
                    out = kept
                    break
            out = out[:MAX_HEADINGS]
        return out

    def label(self, index: int) -> str:
        """The printed label of 0-based page `index`."""
        return self.labels[index] if 0 <= index < len(self.labels) else ""

    def page(self, index: int, text: str, char_start: int) -> None:
        """Locate the titles of the entries pointing at this page in its text."""
        try:
            self._locate(index, text, char_start)
        except Exception:  # an entry left unlocated has no char_start: no section, still an outline entry
            pass

    def _locate(self, index: int, text: str, char_start: int) -> None:
        pos = 0
        for e in self._by_page.get(index + 1, ()):
            at = None
            # A line that is the title alone, perhaps after its number ("6.3.5 Byte-compilation"),
            # before a line that only begins with it ("Byte-compilation can be controlled…").
            alone = _alone_pattern(e[1]).search(text, pos)
            if alone:
                e[4] = char_start + alone.start()
                pos = alone.start()
                continue
            # Most titles stand verbatim at the start of a line: found without a regex.
            i = text.find(e[1], pos)
            while i > 0 and text[i - 1] != "\n":
                i = text.find(e[1], i + 1)
            if i >= 0:
                e[4] = char_start + i
                pos = i
                continue
            bare = _NUMBER_PREFIX.sub("", e[1])
            for candidate, line_start in ((e[1], True), (bare, True), (e[1], False), (bare, False)):
                rx = _title_pattern(candidate, line_start)
                m = rx.search(text, pos) if rx else None
                if m:
                    at = m.start()
                    break
            if at is None:
                at = pos
            else:
                # The heading's line, from its start: "1.1 The R environment", not "The R...".
                at = text.rfind("\n", 0, at) + 1
                pos = at
            e[4] = char_start + at

    def write(self, writer) -> None:
        for level, title, page, source, char_start in self.entries:
            p = page if 1 <= page <= self.page_count else None
            writer.add_outline_entry(level, title, p, char_start if p else None, source)
        for t in self.tables:
            writer.add_table(t["page"], t["header"], t["rows"], t["bbox"], t["truncated"])


def choose_title(probe_title: str, first, stem: str) -> tuple[str, str]:
    """(title, source) of a document: metadata, then the outline, then the first page's
    largest heading, then a first line that reads like a title, then the file name.
    `first` is the RangeResult of the document's first range."""
    s = getattr(first, "structure", None)
    if s is not None and s.title:
        return s.title, s.title_source
    if probe_title:
        return _clean(probe_title), "metadata"
    if first.title:
        return _clean(first.title), "heading" if first.title != first.first_line else "first-line"
    if plausible_title(first.first_line):
        return _clean(first.first_line), "first-line"
    return _clean(stem) or stem, "file"

"""Plain records the Store hands out. No SQL here, no behaviour beyond small helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Pages are joined with this separator in Store.document_text(); page char offsets
# account for it, so text[p.char_start:p.char_end] == p.text for every page.
PAGE_SEPARATOR = "\n\n"
# A page break (or blank line) after a line ending in a letter, digit, comma or hyphen and
# before a lower-case letter is inside a sentence ("…the home" / "directory (unless…"): the
# sentence splitter and the chunker both read on across it.
RUNS_ON = re.compile(r"[^\W_]|[,-]")

STATUSES = ("ready", "needs-password", "no-text", "error", "importing")


@dataclass
class Document:
    id: int
    path: str  # the first path this content was imported from
    paths: list[str]  # every path holding this same content (dedupe), primary first
    title: str
    sha256: str | None
    size: int
    mtime: float
    page_count: int
    char_count: int
    status: str
    error: str | None
    added_at: str  # ISO 8601, UTC
    format: str = ""  # 'pdf', 'epub', 'html', 'txt', 'md', ...
    chunk_count: int = 0
    updated_at: str = ""
    title_source: str = ""  # metadata | outline | heading | first-line | file | user ('' before 008)


@dataclass
class Page:
    doc_id: int
    page_no: int  # 1-based
    text: str
    char_start: int
    char_end: int


@dataclass
class Chunk:
    id: int
    doc_id: int
    seq: int  # 0-based order within the document
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    text: str


@dataclass
class Hit:
    chunk_id: int
    doc_id: int
    title: str
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    snippet: str  # matched terms wrapped in [ ]
    rank: float  # relevance, higher is better (negated FTS5 bm25)
    text: str = ""
    path: str = ""
    seq: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


_TITLE_JUNK = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+")


def clean_title(title: str, limit: int = 200) -> str:
    """A title as data: control characters, line breaks and bidi overrides become one
    space, so a title can never print a line of its own (a forged citation) anywhere."""
    t = " ".join(_TITLE_JUNK.sub(" ", title or "").split())
    return t if len(t) <= limit else t[: limit - 1].rstrip() + "…"


@dataclass
class OutlineEntry:
    """One entry of a document's outline (Store.outline), in document order.

    source is 'outline' (the PDF's own bookmarks) or 'heading' (a line found by its font
    size and weight, for PDFs without bookmarks). page_no is 1-based (None: the entry
    points outside the document); char_start is where the entry's title was found in
    Store.document_text(doc_id), or the start of its page when the title is not on it."""

    doc_id: int
    seq: int
    level: int  # 1 = top
    title: str  # cleaned of control characters, at most 200 characters
    page_no: int | None
    char_start: int | None
    source: str
    page_label: str = ""  # the printed page number of page_no ('' when the PDF has none)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Section:
    """A span of a document under one outline entry: [char_start, char_end) in
    Store.document_text(doc_id). A section ends where the next entry of the same or a
    higher level starts (so a chapter holds its subsections), or at the document's end."""

    doc_id: int
    seq: int  # the outline entry's seq
    title: str
    level: int
    char_start: int
    char_end: int
    page_start: int
    page_label: str = ""
    source: str = "outline"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class TableData:
    """A table found on a page (pymupdf find_tables): header names and rows of cell text.

    Cells are data: cleaned of control characters and length-capped. truncated is True
    when rows, columns or cells were cut to the import's limits."""

    id: int
    doc_id: int
    seq: int
    page_no: int
    header: list[str]
    rows: list[list[str]]
    bbox: list[float]  # x0, y0, x1, y1 in PDF points on the page (for highlighting)
    truncated: bool = False
    page_label: str = ""

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def n_cols(self) -> int:
        return len(self.header) if self.header else max((len(r) for r in self.rows), default=0)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def as_text(self, max_rows: int = 50) -> str:
        """The table as pipe-separated lines (header first), for a prompt or a printout."""
        lines = [" | ".join(self.header)] if self.header else []
        lines += [" | ".join(r) for r in self.rows[:max_rows]]
        if len(self.rows) > max_rows:
            lines.append(f"… {len(self.rows) - max_rows} more rows")
        return "\n".join(lines)


_LABEL_JUNK = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\s]+")


def clean_label(label: str, limit: int = 24) -> str:
    """A printed page label as data: no control characters or spaces runs, short."""
    t = _LABEL_JUNK.sub(" ", str(label or "")).strip()
    return t[:limit]


def clean_cell(text, limit: int = 1000) -> str:
    """A table cell as one line of data (None, line breaks and controls become spaces)."""
    t = " ".join(_TITLE_JUNK.sub(" ", str(text) if text is not None else "").split())
    return t if len(t) <= limit else t[: limit - 1] + "…"

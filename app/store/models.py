"""Plain records the Store hands out. No SQL here, no behaviour beyond small helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Pages are joined with this separator in Store.document_text(); page char offsets
# account for it, so text[p.char_start:p.char_end] == p.text for every page.
PAGE_SEPARATOR = "\n\n"

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

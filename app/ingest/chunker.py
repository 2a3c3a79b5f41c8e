"""Cutting a document's text into chunks sized for a small model's context.

Chunks are about CHUNK_TARGET characters (~300 tokens), cut at a paragraph break,
else a sentence end, else a line break or space; they may span pages but never
documents. Offsets index Store.document_text(), so a chunk maps back to its pages.
The chunker is fed page by page and keeps at most one chunk of text in memory.
"""

from __future__ import annotations

import bisect
import re

from app.store.models import PAGE_SEPARATOR, RUNS_ON

CHUNK_TARGET = 1200
CHUNK_MIN = 800
CHUNK_MAX = 1400

_SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s")


def _cut_point(buf: str, lo: int, hi: int) -> int:
    window = buf[lo:hi]
    i = window.rfind("\n\n")
    while i >= 0:
        j = len(window[:i].rstrip("\n"))  # where the run of line breaks starts
        # A page break inside a sentence ("…the home" / "directory is…") is no paragraph break.
        if not (j and RUNS_ON.match(window[j - 1]) and window[i + 2:].lstrip("\n")[:1].islower()):
            return lo + i + 2
        i = window.rfind("\n\n", 0, j)
    ends = list(_SENTENCE_END.finditer(window))
    if ends:
        return lo + ends[-1].end()
    for sep in ("\n", " ", "\t"):
        i = window.rfind(sep)
        if i >= 0:
            return lo + i + 1
    return hi


class Chunker:
    def __init__(self, target: int = CHUNK_TARGET, min_len: int = CHUNK_MIN, max_len: int = CHUNK_MAX):
        self.min_len, self.max_len = min_len, max_len
        self.target = target
        self._buf = ""
        self._buf_start = 0  # document offset of _buf[0]
        self._page_starts: list[int] = []  # document offset where each page starts
        self._page_nos: list[int] = []
        self._pages_seen = 0

    def _page_of(self, offset: int) -> int:
        i = bisect.bisect_right(self._page_starts, offset) - 1
        return self._page_nos[max(i, 0)]

    def add_page(self, text: str, char_start: int) -> list[tuple[int, int, int, int, str]]:
        """Feed the next page (its text and document offset); returns finished chunks
        as (page_start, page_end, char_start, char_end, text)."""
        if self._pages_seen:
            self._buf += PAGE_SEPARATOR
        self._pages_seen += 1
        self._page_starts.append(char_start)
        self._page_nos.append(self._pages_seen)
        self._buf += text
        out = []
        # Chunks are cut at a moving position and the buffer is trimmed once per page:
        # trimming after every chunk copied the rest of a page each time, quadratic on a
        # page of 50 MB of text (issue 13).
        pos = 0
        while len(self._buf) - pos >= self.max_len:
            cut = _cut_point(self._buf, pos + self.min_len, pos + self.max_len) - pos
            out.extend(self._emit(pos, cut))
            pos += cut
        self._buf = self._buf[pos:]
        self._forget_old_pages()
        return out

    def finish(self) -> list[tuple[int, int, int, int, str]]:
        if not self._buf:
            return []
        out = self._emit(0, len(self._buf))
        self._buf = ""
        return out

    def _emit(self, pos: int, cut: int) -> list:
        piece = self._buf[pos:pos + cut]
        start = self._buf_start
        self._buf_start += cut
        stripped = piece.strip()
        if not stripped:
            return []
        lead = len(piece) - len(piece.lstrip())
        cs = start + lead
        ce = cs + len(stripped)
        return [(self._page_of(cs), self._page_of(ce - 1), cs, ce, stripped)]

    def _forget_old_pages(self) -> None:
        # Keep only pages that can still hold a chunk start: memory stays flat.
        i = bisect.bisect_right(self._page_starts, self._buf_start) - 1
        if i > 0:
            del self._page_starts[:i]
            del self._page_nos[:i]

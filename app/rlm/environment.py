"""The documents held outside the model, as a variable.

The root model only ever sees `shape()` (counts, pages, characters, titles and a
short peek); the controller reads text through slices. Text positions are offsets
into Store.document_text(doc_id), so a slice maps back to pages and to the PDF.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from app.rlm.trace import SliceRef


@dataclass
class DocView:
    doc_id: int
    title: str
    page_count: int
    char_count: int
    _text: str | None = None
    _page_starts: list[int] | None = None
    _page_nos: list[int] | None = None
    _labels: dict[int, str] | None = None
    _sections: list | None = None


class Environment:
    def __init__(self, store, doc_ids=None):
        self.store = store
        docs = [d for d in store.list_documents() if getattr(d, "status", "ready") == "ready"]
        if doc_ids is not None:
            wanted = {int(i) for i in doc_ids}
            missing = wanted - {d.id for d in docs}
            if missing:
                # Unknown or not-ready ids are reported, not silently dropped.
                self.missing = sorted(missing)
            else:
                self.missing = []
            docs = [d for d in docs if d.id in wanted]
        else:
            self.missing = []
        self.docs: dict[int, DocView] = {
            d.id: DocView(d.id, d.title or f"document {d.id}", d.page_count or 0, d.char_count or 0) for d in docs
        }
        # How many blocks of the selection each word stem occurs in (app.rlm.sentences.block_freq):
        # counted once per run, since the precheck, the ranking and the answer gate all ask.
        self.block_df: dict[str, int] = {}

    def narrowed(self, doc_ids) -> "Environment":
        """The same documents' views (texts already read stay read) for a subset; word
        counts are the subset's own."""
        env = object.__new__(Environment)
        env.store, env.missing, env.block_df = self.store, [], {}
        env.docs = {i: self.docs[i] for i in doc_ids if i in self.docs}
        return env

    # --- what the model may see ----------------------------------------------------------
    @property
    def doc_ids(self) -> list[int]:
        return list(self.docs)

    def shape(self, peek_chars: int = 160) -> str:
        """A few lines describing the selection, never its full text."""
        total_chars = sum(d.char_count for d in self.docs.values())
        total_pages = sum(d.page_count for d in self.docs.values())
        lines = [f"{len(self.docs)} document(s), {total_pages} pages, {total_chars} characters."]
        for d in list(self.docs.values())[:8]:
            peek = " ".join(self.text(d.doc_id)[:peek_chars].split())
            lines.append(f"- {d.title}: {d.page_count} pages, {d.char_count} chars. Starts: \"{peek}\"")
        if len(self.docs) > 8:
            lines.append(f"- ... and {len(self.docs) - 8} more")
        return "\n".join(lines)

    # --- text access -------------------------------------------------------------------
    def text(self, doc_id: int) -> str:
        d = self.docs[doc_id]
        if d._text is None:
            d._text = self.store.document_text(doc_id) or ""
        return d._text

    def _pages_index(self, doc_id: int) -> tuple[list[int], list[int]]:
        d = self.docs[doc_id]
        if d._page_starts is None:
            pages = self.store.pages(doc_id)
            d._page_starts = [p.char_start for p in pages]
            d._page_nos = [p.page_no for p in pages]
        return d._page_starts, d._page_nos

    def page_at(self, doc_id: int, char: int) -> int:
        starts, nos = self._pages_index(doc_id)
        if not starts:
            return 1
        i = max(0, bisect.bisect_right(starts, char) - 1)
        return nos[i]

    def page_span(self, doc_id: int, page: int) -> tuple[int, int] | None:
        """[start, end) of a page in the document's text; None for a page it does not have."""
        starts, nos = self._pages_index(doc_id)
        if page not in nos:
            return None
        i = nos.index(page)
        return starts[i], (starts[i + 1] if i + 1 < len(starts) else len(self.text(doc_id)))

    def slice(self, doc_id: int, start: int, end: int) -> SliceRef:
        n = len(self.text(doc_id))
        start, end = max(0, start), min(n, end)
        return SliceRef(
            doc_id=doc_id,
            title=self.docs[doc_id].title,
            page_start=self.page_at(doc_id, start),
            page_end=self.page_at(doc_id, max(start, end - 1)),
            char_start=start,
            char_end=end,
        )

    def slice_text(self, s: SliceRef) -> str:
        return self.text(s.doc_id)[s.char_start : s.char_end]

    def total_chars(self) -> int:
        # From the catalogue, so a large selection is not loaded just to be measured.
        return sum(d.char_count for d in self.docs.values())

    # --- filtering helpers -----------------------------------------------------------------
    def regex_hits(self, pattern: str, limit: int = 50, flags: int = re.IGNORECASE) -> list[tuple[int, int, int]]:
        """(doc_id, start, end) of exact matches over the selected documents."""
        rx = re.compile(pattern, flags)
        out = []
        for doc_id in self.docs:
            for m in rx.finditer(self.text(doc_id)):
                out.append((doc_id, m.start(), m.end()))
                if len(out) >= limit:
                    return out
        return out

    def window(self, doc_id: int, start: int, end: int, size: int) -> SliceRef:
        """A slice of about `size` chars around [start, end), snapped to sentence or
        line boundaries so a small model reads whole sentences."""
        text = self.text(doc_id)
        centre = (start + end) // 2
        half = max(size // 2, (end - start) // 2 + 1)
        a, b = max(0, centre - half), min(len(text), centre + half)
        a = _snap_back(text, a, start)
        b = _snap_forward(text, b, end)
        return self.slice(doc_id, a, b)

    def split(self, s: SliceRef, parts: int = 2) -> list[SliceRef]:
        """Split a slice into `parts` pieces at sentence or line boundaries."""
        text = self.text(s.doc_id)
        bounds = [s.char_start]
        step = (s.char_end - s.char_start) / parts
        for i in range(1, parts):
            target = int(s.char_start + i * step)
            cut = _snap_forward(text, target, target)
            if cut >= s.char_end or cut <= bounds[-1]:
                cut = target
            bounds.append(cut)
        bounds.append(s.char_end)
        return [self.slice(s.doc_id, a, b) for a, b in zip(bounds, bounds[1:]) if b > a]

    # --- structure: printed page labels, outline, sections, tables ---------------------------
    # What the PDF says about itself, kept at import (Store.outline/sections/tables). Titles
    # and cells are document text: data for code to match, never instructions for a model.
    def page_label(self, doc_id: int, page: int) -> str:
        """The printed page number of PDF page `page` ("990", "xii"); '' where the PDF has none."""
        d = self.docs[doc_id]
        if d._labels is None:
            try:
                d._labels = self.store.page_labels(doc_id)
            except AttributeError:  # a store without structure (older tests' fakes)
                d._labels = {}
        return d._labels.get(page, "")

    def label_citations(self, citations):
        """Fill each citation's page_label, and page_end where its quote runs onto a later page,
        from the store (in place); returns the list."""
        for c in citations or []:
            if c.doc_id not in self.docs:
                continue
            if not getattr(c, "page_label", ""):
                c.page_label = self.page_label(c.doc_id, c.page)
            if c.char_end > c.char_start:
                last = self.page_at(c.doc_id, c.char_end - 1)
                c.page_end = last if last > c.page else 0
        return citations

    def outline(self, doc_id: int) -> list:
        """The document's outline entries (Store.outline): level, title, page_no, page_label."""
        fn = getattr(self.store, "outline", None)
        return fn(doc_id) if fn else []

    def sections(self, doc_id: int) -> list:
        """Sections in document order (app.store.models.Section: title, level, char_start,
        char_end, page_start, page_label). A chapter's span holds its subsections. [] for a
        document with neither bookmarks nor detectable headings."""
        d = self.docs[doc_id]
        if d._sections is None:
            fn = getattr(self.store, "sections", None)
            d._sections = fn(doc_id) if fn else []
        return d._sections

    def section_at(self, doc_id: int, offset: int):
        """The innermost section holding char `offset`, or None (before the first heading,
        or no structure)."""
        best = None
        for s in self.sections(doc_id):
            if s.char_start > offset:
                break
            if offset < s.char_end and (best is None or s.level >= best.level):
                best = s
        return best

    def section_slice(self, section) -> SliceRef:
        """The whole span of a section as a slice."""
        return self.slice(section.doc_id, section.char_start, section.char_end)

    def section_slices(self, doc_id: int, max_chars: int) -> list[SliceRef]:
        """The whole document as consecutive slices of at most `max_chars`, each ending at
        a section boundary where one is in reach (so a slice holds whole sections, and a
        section is split only when it alone is longer than max_chars, then at a sentence
        or line end). Without sections, slices end at sentence or line ends."""
        text = self.text(doc_id)
        n = len(text)
        max_chars = max(1, int(max_chars))
        raw = sorted({s.char_start for s in self.sections(doc_id) if 0 < s.char_start < n}
                     | {s.char_end for s in self.sections(doc_id) if 0 < s.char_end < n})
        # A chapter heading directly followed by its first section ("2 Objects" then "2.1
        # Basic types") is one boundary, so the heading starts a slice with its text.
        bounds: list[int] = []
        for b in raw:
            if not bounds or b - bounds[-1] >= _MIN_SECTION_GAP:
                bounds.append(b)
        out, cur = [], 0
        while cur < n:
            limit = cur + max_chars
            if limit >= n:
                end = n
            else:
                i = bisect.bisect_right(bounds, limit) - 1
                if i >= 0 and bounds[i] > cur:
                    end = bounds[i]
                else:
                    end = _snap_back(text, limit, limit)
                    if end <= cur:
                        end = limit
            out.append(self.slice(doc_id, cur, end))
            cur = end
        return out

    def tables(self, doc_id: int, page: int | None = None) -> list:
        """Tables found at import (app.store.models.TableData: header, rows, page_no)."""
        fn = getattr(self.store, "tables", None)
        return fn(doc_id, page) if fn else []


_MIN_SECTION_GAP = 200

_BOUNDARY = re.compile(r"(?<=[.!?])\s+|\n")


def _snap_back(text: str, pos: int, limit: int) -> int:
    """Move pos back to just after a sentence/line boundary, staying <= limit and not
    moving more than 200 chars (a wall of text without punctuation stays cut)."""
    lo = max(0, pos - 200)
    best = None
    for m in _BOUNDARY.finditer(text, lo, min(limit, len(text))):
        if m.end() <= pos:
            best = m.end()
        else:
            break
    if best is None and pos - lo < 200 and lo == 0:
        return 0
    if best is None:
        # No sentence end nearby: at least never start inside a word.
        space = text.rfind(" ", lo, pos)
        return space + 1 if space >= 0 else pos
    return best


def _snap_forward(text: str, pos: int, limit: int) -> int:
    start = max(pos, limit)
    m = _BOUNDARY.search(text, start, min(len(text), start + 200))
    if m:
        return m.start() + 1
    # A sentence longer than the search reach: end at a word boundary rather than
    # mid-word, so quotes and citations never show a clipped "fourte".
    space = text.find(" ", start, min(len(text), start + 40))
    return space if space >= 0 else pos

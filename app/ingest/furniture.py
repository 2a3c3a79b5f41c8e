"""Page furniture: the printed page number and the running head or foot beside it.

A PDF's text layer repeats them on every page ("Chapter 10: Interactive mode" / "172" at
the top of a texinfo manual's page, "Debian Reference" / "14 / 233", a lone "41" at the
foot). Kept in the stored text they sit between the two halves of every sentence that runs
over a page break, and lend a chapter's title to the first sentence of each of its pages;
so they are found over the whole document and left out of the stored page text. Nothing
else is dropped: a line is furniture only at a page's edge, and only where the document
shows the pattern on many pages.

A page number is a number (arabic or roman, "14 / 233", "Page 7") on one of the first or
last EDGE lines whose value keeps step with the page index: page index minus printed
number is the same on at least MIN_PAGES pages (front matter in roman numerals and the
body in arabic make two such runs). A running head or foot is a line beside a page number
at the same edge that recurs there on at least two pages (a chapter's head on its odd
pages) or has the form of heads that recur beside numbers ("Chapter 10: Interactive mode"
printed once, since the chapter has two pages, among "Chapter 9: …" heads), or a page's
very first or last line that is the same on at least SHARE of the pages ("Confidential");
either must hold words, since figures recurring at a page's foot are a table's.
"""

from __future__ import annotations

import re
from collections import Counter

EDGE = 2          # lines looked at on each edge of a page
MIN_PAGES = 3     # pages that must share a page-number offset
SHARE = 0.5       # of the pages: a page's first or last line this common is furniture with no number beside it
MAX_LINE = 120    # characters: a longer line is text, not a head

_NUMBER = re.compile(r"^(?:page\s+)?(\d{1,5}|[ivxlcdm]{1,7})(?:\s*(?:/|of)\s*\d{1,5})?$", re.I)
_WORDS = re.compile(r"[^\W\d_]{2}")  # a head has words; a line of figures is a table's
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}


def _roman(s: str) -> int | None:
    s = s.lower()
    total = 0
    for i, ch in enumerate(s):
        v = _ROMAN[ch]
        total += -v if i + 1 < len(s) and _ROMAN[s[i + 1]] > v else v
    return total if total > 0 else None


def _number(line: str) -> tuple[str, int] | None:
    """('arabic' | 'roman', value) for a line that is only a page number."""
    m = _NUMBER.match(" ".join(line.split()))
    if not m:
        return None
    g = m.group(1)
    if g.isdigit():
        return "arabic", int(g)
    v = _roman(g)
    return ("roman", v) if v else None


def _key(line: str) -> str:
    # Exact text: a head is the same words on each page; "Figure 3" and "Figure 4" are captions.
    return " ".join(line.split()).lower()


_LABEL = re.compile(r"^([^\W\d_]+\s+)?(?:\d{1,3}|[A-Z])(?=[:.]\s+[^\W\d_])", re.I)


def _shape(line: str) -> str | None:
    """'chapter #' for "Chapter 10: Interactive mode" or "Appendix B: Platform notes": a
    head that names its chapter, whose title changes but whose form does not."""
    m = _LABEL.match(" ".join(line.split()))
    return f"{(m.group(1) or '').lower()}#" if m else None


_LINE = re.compile(r"[^\n]*\S[^\n]*")


def _edges(text: str) -> list[tuple[str, int, int, str]]:
    """(edge, line start, line end, line) for the first and last EDGE non-blank lines,
    found from each end: a page of four million characters is not split into lines."""
    top = []
    for m in _LINE.finditer(text):
        top.append((m.start(), m.end()))
        if len(top) == EDGE:
            break
    foot, end = [], len(text)
    while end > 0 and len(foot) < EDGE:
        start = text.rfind("\n", 0, end) + 1
        if text[start:end].strip():
            foot.append((start, end))
        end = start - 1
    foot = [span for span in reversed(foot) if span[0] >= (top[-1][1] if len(top) == EDGE else len(text))]
    return [("top", a, b, text[a:b]) for a, b in top] + [("foot", a, b, text[a:b]) for a, b in foot]


class Furniture:
    """Fed every page's text in order with see(), then strips each with strip()."""

    def __init__(self) -> None:
        self._pages = 0
        self._offsets: Counter = Counter()      # (edge, kind, index - number)
        self._beside: Counter = Counter()       # (edge, key) of lines next to a page number
        self._edge_lines: Counter = Counter()   # (edge, key), once per page

    def see(self, text: str) -> None:
        i = self._pages
        self._pages += 1
        seen = set()
        edges = _edges(text)
        beside = set()
        for j, (edge, _, _, line) in enumerate(edges):
            if len(line) > MAX_LINE:
                continue
            num = _number(line)
            if num:
                self._offsets[(edge, num[0], i - num[1])] += 1
                for k, (e2, _, _, other) in enumerate(edges):
                    if k != j and e2 == edge and not _number(other) and len(other) <= MAX_LINE:
                        beside.add((edge, _key(other)))
                        if shape := _shape(other):
                            beside.add((edge, "\0shape", shape))
            seen.add((edge, _key(line)))
        self._edge_lines.update(seen)
        self._beside.update(beside)

    def _is_page_number(self, edge: str, index: int, line: str) -> bool:
        num = _number(line)
        return bool(num) and self._offsets[(edge, num[0], index - num[1])] >= MIN_PAGES

    def strip(self, index: int, text: str) -> str:
        """The page's text without its furniture; index: its place among the pages seen."""
        every = _edges(text)
        outer = {every[0][1], every[-1][1]} if every else set()
        edges = [e for e in every if len(e[3]) <= MAX_LINE]
        cut: list[tuple[int, int]] = []
        numbers = {a for edge, a, _, line in edges if self._is_page_number(edge, index, line)}
        numbered = {edge for edge, a, _, _ in edges if a in numbers}
        common = max(MIN_PAGES, SHARE * self._pages)
        for edge, a, b, line in edges:
            key = (edge, _key(line))
            if a in numbers or (_WORDS.search(line) and (
                    (a in outer and self._edge_lines[key] >= common)
                    or (edge in numbered and (self._beside[key] >= 2
                                              or self._beside[(edge, "\0shape", _shape(line))] >= MIN_PAGES)))):
                cut.append((a, b))
        if not cut:
            return text
        out, at = [], 0
        for a, b in sorted(set(cut)):
            out.append(text[at:a])
            at = b + 1 if text[b:b + 1] == "\n" else b
        out.append(text[at:])
        return "".join(out)

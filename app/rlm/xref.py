"""Cross-references: a sentence that sends the reader elsewhere ("Command scripts may place
in-line data in a named data block for repeated plotting. See inline data (p. 48).", "The
non-free-firmware area is described in Section 2.1.4.") names where the answer is, but is
not the answer. The controller follows it, as a reader would: the referenced section is
read and its sentences are ranked for the question, a second, recursive read.

A reference is found in the sentence's own text and resolved in the same document only: by
the title it names (an outline or heading title holding the reference's words), by a section
number ("Section 2.1.4" is the heading numbered 2.1.4), or by a printed page label. Nothing
is followed across documents, so a document's text can only point within itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.rlm import sentences as sn

# "See inline data (p. 48)", "see datablocks (p. 48)", "(see Section 2.3 [Foo], page 12)",
# "is described in Section 2.1.4", "See [Callbacks section], page 123".
_SEE_PAGE = re.compile(r"\bsee(?:\s+also)?\s+(?P<title>[^()\n.;:]{2,60}?)\s*\(p(?:age|p)?\.?\s*(?P<page>\d{1,5})\)", re.I)
_SECTION = re.compile(r"\b(?:see(?:\s+also)?|in|described\s+in|explained\s+in|covered\s+in|discussed\s+in)\s+"
                      r"(?:(?:Section|Chapter|Sec\.|§)\s*(?P<num>\d{1,3}(?:\.\d{1,3}){0,4})"
                      r"|Appendix\s+(?P<app>(?-i:[A-Z])(?:\.\d{1,3}){0,3}))\b"
                      r"(?:\s*\[(?P<title>[^\]\n]{2,80})\])?(?:,\s*page\s*(?P<page>\d{1,5}))?", re.I)
_BRACKETED = re.compile(r"\bsee(?:\s+also)?\s*\[(?P<title>[^\]\n]{2,80})\],?\s*page\s*(?P<page>\d{1,5})", re.I)
_TABLE_REF = re.compile(r"\b(?P<kind>Table|Figure)\s+(?P<num>\d{1,3}(?:\.\d{1,3}){0,2})\b")
_LEADERS = re.compile(r"(?:\. ?){4}")  # a contents line's dot leaders
MAX_READ = 4000  # characters of the referenced section that are read: its opening, where it explains


@dataclass(frozen=True)
class Reference:
    text: str          # as written in the sentence
    title: str = ""
    number: str = ""
    page: str = ""


_SEE = re.compile(r"^\W*see\b", re.I)


def only_refers(sentence: str) -> bool:
    """The sentence does nothing but send the reader elsewhere ("See (re)packaging procedure
    using apt-get source in Section 2.7.13."): where to read, never an answer itself."""
    return bool(_SEE.match(sentence)) and bool(references(sentence))


def references(sentence: str) -> list[Reference]:
    """The cross-references a sentence makes, in the order written."""
    flat = " ".join(sentence.split())
    found = []
    for rx in (_SECTION, _BRACKETED, _SEE_PAGE):
        for m in rx.finditer(flat):
            g = m.groupdict()
            found.append((m.start(), Reference(m.group(0), (g.get("title") or "").strip(),
                                               g.get("num") or g.get("app") or "", g.get("page") or "")))
    seen, out = set(), []
    for _, ref in sorted(found, key=lambda x: x[0]):
        if ref.text not in seen:
            seen.add(ref.text)
            out.append(ref)
    return out


def resolve(env, doc_id: int, ref: Reference, at: int):
    """(char_start, char_end, where) of the referenced part of the document, or None. `at`
    is the referring sentence's offset: a target that holds it is no other place."""
    secs = env.sections(doc_id) if hasattr(env, "sections") else []
    target = None
    if ref.number:
        num = re.compile(r"^\s*" + re.escape(ref.number) + r"\.?\s+\S")
        target = next((s for s in secs if num.match(s.title)), None)
        if target is None:
            # A heading set as the number on a line of its own ("2.1.4" / "Debian archive basics").
            text = env.text(doc_id)
            for m in re.finditer(r"(?m)^" + re.escape(ref.number) + r"\.?[ \t]*\n(?=[^\n]{2,80}\n)", text):
                if _LEADERS.search(text, m.end(), m.end() + 200) or m.start() <= at < m.start() + MAX_READ:
                    continue  # the table of contents' entry, or the referring passage itself
                return m.start(), min(len(text), m.start() + MAX_READ), f"section {ref.number}"
    if target is None and ref.title:
        words = sn.content_words(ref.title)
        if words:
            fits = [s for s in secs if words <= sn.content_words(s.title) and not (s.char_start <= at < s.char_end)]
            # The closest title: fewest words beyond the reference's own.
            target = min(fits, key=lambda s: len(sn.content_words(s.title) - words), default=None)
    if target is None and ref.page:
        page = env.store.page_for_label(doc_id, ref.page) if hasattr(env.store, "page_for_label") else None
        span = env.page_span(doc_id, page) if page else None
        if span and not (span[0] <= at < span[1]):
            return span[0], span[1], f"page {ref.page}"
    if target is None or target.char_start <= at < target.char_end:
        return None
    return target.char_start, min(target.char_end, target.char_start + MAX_READ), f"“{target.title}”"


def caption(env, doc_id: int, sentence: str, at: int) -> tuple[int, int] | None:
    """(start, end) of the caption of the table or figure a sentence names ("Table 1.4 lists
    the predefined page styles." names "Table 1.4: The Predefined Page Styles of LaTeX."), in
    the same document and not the sentence itself; None when it names none or the caption
    is not found. A list of tables' entry ("1.4 The Predefined…") is no caption."""
    m = _TABLE_REF.search(" ".join(sentence.split()))
    if m is None:
        return None
    text = env.text(doc_id)
    rx = re.compile(r"(?m)^[ \t]*" + m.group("kind") + r"\s+" + re.escape(m.group("num")) + r"\s*[:.][^\n]*")
    for c in rx.finditer(text):
        if not c.start() <= at < c.end() and not _LEADERS.search(c.group(0)):
            return c.start() + len(c.group(0)) - len(c.group(0).lstrip()), c.end()
    return None

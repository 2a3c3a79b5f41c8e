"""Definition lists: the terms a lead-in introduces, each followed by what it is.

Manuals and standards set many lists as terms with descriptions rather than bullets:
"The top-level directories specified by the TDS are:" then "tex" / "for TEX files
(Section 3.1)." / "fonts" / "for font-related files…", or a table caption ("Table 1.4:
The Predefined Page Styles of LaTeX.") then "plain prints the page numbers…" /
"headings prints the current chapter heading…". The PDF's text keeps no fonts, so the
layout is read from the lines alone, in three forms:

- a term alone on its line, its description on the lines below (LaTeX's description
  lists, Texinfo's tables);
- a term and its description on one line, the term a word of code ("article",
  "\\include", "latin1"): an item starts at the first line, and at a line after one that
  ended a sentence or stopped short; other lines carry on the item before them;
- "Term: description" lines.

Each item is one span from its term to the end of its description, so a list reader
cites and shows it whole.
"""

from __future__ import annotations

import re

from app.rlm.terms import STOPWORDS

TERM_CHARS = 30  # a term alone on its line: "metafont", "texmf/fonts", "--vanilla"
TERM_WORDS = 3
MIN_ITEMS = 2
MIN_INLINE_ITEMS = 3  # a term on its description's line is less plain a layout: ask for more of them
SHORT_LINE = 0.75  # of the block's longest line: a line this short ends a paragraph (or an item)
ABOVE_LINES = 3  # short lines right above a caption: the table stands above it
CELL_CHARS = 40

SENTENCE_END = (".", "!", "?", "…")
_ITEM_END = SENTENCE_END + (")",)  # "…(This is the style used in this document)"
_CAPTION = re.compile(r"(?:Table|Figure|Listing)\s+[\dA-Z]+(?:[.-]\d+)*\s*[:.]")
_HEADING = re.compile(r"\d+(?:\.\d+)*\s+[A-Z]")
# A word of code: lower case, or with a backslash, dash, dot or underscore ("article",
# "\\include", "ps2pdf", "utf8x", "HC0").
_CODE_TERM = re.compile(r"(?:\\?[a-z][\w@*.+-]*|[\\-][\w@*.+-]+|[A-Za-z]+[_\d][\w.]*)$")
_PROMPT = re.compile(r"[$>#%]\s")
_LABEL = re.compile(r"([A-Z][\w'’/-]*(?:\s+[\w'’/-]+){0,3}):\s+\S")


def is_caption(sentence: str) -> bool:
    """"Table 1.4: The Predefined Page Styles of LaTeX.": it introduces what is below it."""
    return _CAPTION.match(sentence.lstrip()) is not None


def items(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The items of the definition list that `lines` (spans of `text`, the non-empty lines
    after a lead-in) open with, each from its term to its description's end; [] when they
    do not open with one."""
    for form in (_alone, _labelled, _inline):
        found = form(text, lines)
        if found:
            return found
    return []


def _stops(line: str) -> bool:
    """A caption or a numbered heading, its number maybe on a line of its own ("3.4" / "The
    system message"): whatever list was above it has ended."""
    return is_caption(line) or _HEADING.match(line) is not None and len(line) <= 60 or \
        re.fullmatch(r"\d+(?:\.\d+)+", line) is not None


def caption_below_table(text: str, start: int) -> bool:
    """The caption starting at `start` stands below its table, as many documents set them:
    the lines above it are a table's short cells, so what follows it is no item of it."""
    above = [x.strip() for x in text[max(0, start - 400):start].split("\n")[:-1] if x.strip()][-ABOVE_LINES:]
    return len(above) == ABOVE_LINES and all(len(x) <= CELL_CHARS for x in above)


def term_alone(line: str) -> bool:
    """The line may be a term set alone above its description ("metafont", "mft/", "p")."""
    words = line.split()
    # "The system message" is a heading, "$ journalctl -b" a command: no term opens so.
    return (len(line) <= TERM_CHARS and 0 < len(words) <= TERM_WORDS and words[0].lower() not in STOPWORDS
            and not _PROMPT.match(line) and not line.endswith((".", ",", ";", ":", "!", "?")) and not _stops(line))


def _alone(text: str, lines) -> list[tuple[int, int]]:
    """A term alone on its line, its description on the lines below, up to the next term.
    The last item ends at its first line that ends a sentence: what follows may be prose."""
    shown = [text[a:b] for a, b in lines]
    if len(shown) < 2 or not term_alone(shown[0]) or term_alone(shown[1]):
        return []
    out: list[list[int]] = []
    i = 0
    while i < len(lines):
        if _stops(shown[i]):
            break
        if term_alone(shown[i]) and i + 1 < len(lines) and not term_alone(shown[i + 1]) and not _stops(shown[i + 1]):
            out.append([lines[i][0], lines[i + 1][1]])
            i += 2
            continue
        if not out or term_alone(shown[i]):
            break  # two short lines in a row: a table's cells, not terms and descriptions
        out[-1][1] = lines[i][1]
        i += 1
    return _ended(text, lines, out) if len(out) >= MIN_ITEMS else []


def _labelled(text: str, lines) -> list[tuple[int, int]]:
    """"Scope: the whole selection." lines: a label of up to four words and a colon."""
    out: list[list[int]] = []
    for a, b in lines:
        line = text[a:b]
        if _stops(line):
            break
        m = _LABEL.match(line)
        if m and m.group(1).split()[0].lower() not in STOPWORDS:
            out.append([a, b])
        elif out and not text[out[-1][0]:out[-1][1]].endswith(SENTENCE_END):
            out[-1][1] = b
        else:
            break
    return [(a, b) for a, b in out] if len(out) >= MIN_ITEMS else []


def _inline(text: str, lines) -> list[tuple[int, int]]:
    """A term of code, then its description on the same line ("proc a class for
    proceedings…"). A line starts an item when the line before ended a sentence or stopped
    short of the block's width, and its first word is a word of code; else it carries on
    the item before it. The last item ends at its first line that ends a sentence."""
    if not lines:
        return []
    width = max(b - a for a, b in lines)
    out: list[list[int]] = []
    prev = ""
    for a, b in lines:
        line = text[a:b]
        if _stops(line):
            break
        first = line.split()[0]
        starts = (not out or prev.endswith(_ITEM_END)
                  or len(prev) < SHORT_LINE * width and not prev.endswith(("-", ",")))
        if starts and len(line.split()) > 1 and _CODE_TERM.match(first) and first.lower() not in STOPWORDS:
            out.append([a, b])
        elif not out:
            return []
        elif starts and first[:1].islower():
            break  # a lowercase word after a finished item, but no term: the list is over
        else:
            out[-1][1] = b
        prev = line
    return _ended(text, lines, out) if len(out) >= MIN_INLINE_ITEMS else []


def _ended(text: str, lines, out: list[list[int]]) -> list[tuple[int, int]]:
    """The items, the last one ended at its first line that ends a sentence: what follows
    the list may be prose, run on as if it went on with the item."""
    last = out[-1]
    for a, b in lines:
        if last[0] <= a <= last[1] and text[a:b].endswith(SENTENCE_END):
            last[1] = b
            break
    return [(a, b) for a, b in out]


def line_spans(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """The non-empty lines of `text` from `lo` (maybe mid-line) that end by `hi`, stripped,
    as spans."""
    out, pos = [], lo
    while pos < hi:
        nl = text.find("\n", pos)
        nl = len(text) if nl < 0 else nl
        if nl > hi:
            break
        line = text[pos:nl]
        if line.strip():
            a = pos + len(line) - len(line.lstrip())
            out.append((a, pos + len(line.rstrip())))
        pos = nl + 1
    return out

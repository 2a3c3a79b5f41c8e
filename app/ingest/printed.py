"""Tables printed as a program's output in a fixed-pitch font: R's anova() and ftable(),
a model summary's coefficients, a log's columns.

Such output has no rules and often no gap wider than one space between its columns
("fm3     4 1802 1815 -897 1794"), so pymupdf's lines run several cells together and
layout tables (structure.layout_tables) read "4 1802 1815" as one cell. In a fixed-pitch
font a column is a place, not a gap: printing programs right-align figures, so the
figures of one column end at the same x. Their right edges make the columns; a header's
words belong to the first column ending at or after them ("Sum" and "Sq" to "Sum Sq");
what stands left of the first column is the row's label. A label printed once for a group
of rows (ftable's "Admitted" over "Male" and "Female") is carried down to the group's rows.

Records have the shape of the other tables (page, header, rows, bbox, truncated): the
label column first, under the header's corner.
"""

from __future__ import annotations

import re
from statistics import median

MONO_FONT = re.compile(r"mono|courier|cmtt|typewriter|consol|menlo|inconsolata|sftt|txtt|fixed", re.I)
# A printed figure: "1802", "-897.24", "8.8e-11", "<2e-16", "42%", "1,240".
NUMBER = re.compile(r"[<>]?[-+−]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?%?", re.I)
# A line of code or a comment over figures is no header: "# The data", "cat (2, A, B)".
_CODE_LINE = re.compile(r"^\s*(?:#|//|%|>|\+)|=|;|<-|\([^)]*,")
LINE_CHARS = 300  # a longer line of text is no printed row
_FIGURE = re.compile(r"[-+−]?\d[\d.,]*(?:e[-+]?\d+)?", re.I)  # what a page's row of figures ends in
_ENDS_IN_FIGURE = re.compile(r"[-+−]?\d[\d.,]*(?:e[-+]?\d+)?$", re.I)
MIN_ROWS = 2
MIN_COLS = 2
MAX_ROWS = 500
MAX_COLS = 40
HEADER_UP = 2  # rows above the figures looked at for the header (ftable's "Dept A B C" sits over its corner row)


def worth_reading(text: str) -> bool:
    """Does the page's text have two lines ending in two figures set apart? Only such pages
    are read. Word by word, not one regex over the page: a hostile page of one 40,000-digit
    line must cost no more than a page of prose."""
    found = 0
    for line in text.splitlines():
        if len(line) > LINE_CHARS:
            continue
        words = line.split()
        if len(words) >= 2 and _FIGURE.fullmatch(words[-1]) and _ENDS_IN_FIGURE.search(words[-2]):
            found += 1
            if found >= MIN_ROWS:
                return True
    return False


def printed_tables(page_no: int, tp) -> list[dict]:
    """The tables printed in a fixed-pitch font on the page (tp: its pymupdf TextPage)."""
    rows = _mono_rows(tp)
    tables: list[dict] = []
    block: list = []
    for row in rows + [None]:
        if row is not None and block and row["y0"] - block[-1]["y1"] <= 1.2 * (block[-1]["y1"] - block[-1]["y0"]):
            block.append(row)
            continue
        if block:
            tables += _tables_in(page_no, block)
        block = [row] if row is not None else []
    return tables


_NARROW = set("il.,:;()[]|!'")


def _fixed_pitch(spans: list[dict]) -> set[str]:
    """The fonts of the page set in a fixed pitch: by name or flag, else (a subset font named
    "F25") by their glyphs, where narrow letters ("i", ".") stand as wide as the others in
    every span that has both."""
    votes: dict[str, list[int]] = {}
    for span in spans:
        font = span.get("font", "")
        v = votes.setdefault(font, [0, 0])
        if MONO_FONT.search(font) or span.get("flags", 0) & 8:
            v[0] += 1000
            continue
        chars = [c for c in span.get("chars", []) if c["c"].strip()]
        narrow = [c["bbox"][2] - c["bbox"][0] for c in chars if c["c"] in _NARROW]
        wide = [c["bbox"][2] - c["bbox"][0] for c in chars if c["c"] not in _NARROW]
        if len(chars) < 3 or not narrow or not wide:
            continue
        same = max(narrow + wide) <= 1.05 * min(narrow + wide)
        v[0 if same else 1] += 1
    return {f for f, (mono, prop) in votes.items() if mono and not prop or mono >= 1000}


def _mono_rows(tp) -> list[dict]:
    """Each printed line of fixed-pitch text, as words with their x extents, top to bottom."""
    spans = [span for block in tp.extractRAWDICT().get("blocks", []) for line in block.get("lines", [])
             for span in line.get("spans", [])]
    fixed = _fixed_pitch(spans)
    chars = []
    for span in spans:
        if span.get("font", "") in fixed:
            for c in span.get("chars", []):
                x0, y0, x1, y1 = c["bbox"]
                chars.append((round(c["origin"][1], 1), x0, x1, y0, y1, c["c"]))
    if not chars:
        return []
    width = median(c[2] - c[1] for c in chars if c[5].strip()) if any(c[5].strip() for c in chars) else 0.0
    if width <= 0:
        return []
    chars.sort()
    lines: list[list] = []
    for c in chars:
        if lines and abs(lines[-1][0][0] - c[0]) <= 0.3 * width:
            lines[-1].append(c)
        else:
            lines.append([c])
    rows = []
    for line in lines:
        line.sort(key=lambda c: c[1])
        words, cur, last_x1 = [], [], None
        for _, x0, x1, _, _, ch in line:
            if not ch.strip() or (last_x1 is not None and x0 - last_x1 > 0.4 * width):
                if cur:
                    words.append(cur)
                cur = []
            if ch.strip():
                cur.append((x0, x1, ch))
                last_x1 = x1
            else:
                last_x1 = None
        if cur:
            words.append(cur)
        if words:
            rows.append({"y0": min(c[3] for c in line), "y1": max(c[4] for c in line), "width": width,
                         "words": [(w[0][0], w[-1][1], "".join(ch for _, _, ch in w)) for w in words]})
    return rows


def _is_number(word: str) -> bool:
    return NUMBER.fullmatch(word) is not None


def _figures(row: dict) -> list:
    """The row's figures, past its first word (a label may be a number: "1", "2")."""
    if row["words"][0][2].startswith((">", "+")) and not _is_number(row["words"][0][2]):
        return []  # a prompt: code typed, not output printed
    return [w for w in row["words"][1:] if _is_number(w[2])]


def _tables_in(page_no: int, block: list) -> list[dict]:
    tables, i = [], 0
    while i < len(block):
        if not _figures(block[i]):
            i += 1
            continue
        j = i
        while j < len(block) and _figures(block[j]):
            j += 1
        rec = _record(page_no, block, i, j)
        if rec is not None:
            tables.append(rec)
        i = j
    return tables


def _columns(run: list, width: float) -> list[float] | None:
    """Right edges of the figure columns: where most figures end together. None when the
    figures do not line up (prose that happens to hold numbers)."""
    edges = sorted(w[1] for row in run for w in _figures(row))
    clusters: list[list[float]] = []
    for x in edges:
        if clusters and x - clusters[-1][-1] <= 0.5 * width:
            clusters[-1].append(x)
        else:
            clusters.append([x])
    need = min(2, len(run))
    cols = [median(c) for c in clusters if len(c) >= need]
    placed = sum(len(c) for c in clusters if len(c) >= need)
    if len(cols) < MIN_COLS or placed * 5 < len(edges) * 4:
        return None
    return cols[:MAX_COLS]


def _column_of(x1: float, cols: list[float], width: float) -> int | None:
    """The first column ending at or after x1 (a header word, or a figure ending there)."""
    for k, edge in enumerate(cols):
        if x1 <= edge + 0.5 * width:
            return k
    return None


def _record(page_no: int, block: list, i: int, j: int) -> dict | None:
    run = block[i:j]
    if len(run) < MIN_ROWS:
        return None
    width = run[0]["width"]
    cols = _columns(run, width)
    if cols is None:
        return None
    # The figures' area starts at the first column's leftmost figure: words left of it label the row.
    starts = [w[0] for row in run for w in _figures(row) if _column_of(w[1], cols, width) == 0]
    left = min(starts) if starts else cols[0] - 2 * width
    rows, levels = [], []
    for row in run:
        label = [w for w in row["words"] if w[1] < left - 0.5 * width]
        cells = [""] * len(cols)
        for w in row["words"]:
            if w in label:
                continue
            k = _column_of(w[1], cols, width)
            if k is not None and abs(w[1] - cols[k]) <= 0.5 * width:
                cells[k] = (cells[k] + " " + w[2]).strip()
        # ftable prints a group's label once: "Female" under "Admitted Male" is "Admitted Female".
        parts = [(round(w[0] / width), w[2]) for w in label]
        if levels and parts and parts[0][0] > levels[0][0]:
            parts = [p for p in levels if p[0] < parts[0][0]] + parts
        if parts:
            levels = parts
        rows.append([" ".join(p[1] for p in parts)] + cells)
    if sum(bool(_CODE_LINE.search(r[0][:LINE_CHARS])) for r in rows) * 2 >= len(rows):
        return None  # values assigned in code ("x = [1 2 3"), not a table printed
    header, top = _header(block, i, cols, left, width)
    if not any(r[0] and not _is_number(r[0]) for r in rows) and not header:
        return None  # figures alone (a matrix), under no names: nothing to read a cell by
    x0 = min(w[0] for row in run for w in row["words"])
    x1 = max(w[1] for row in run for w in row["words"])
    y0 = block[top]["y0"] if header else run[0]["y0"]
    return {"page": page_no, "header": header, "rows": rows[:MAX_ROWS],
            "bbox": [x0, y0, x1, run[-1]["y1"]], "truncated": len(rows) > MAX_ROWS}


def _header(block: list, i: int, cols: list[float], left: float, width: float) -> tuple[list[str], int]:
    """Names over the columns from the nearest row above the figures that has some (words
    only, no figures), with the corner's words before them, and that row's index in the
    block; ([], i) when none does."""
    corner: list[str] = []
    for k in range(i - 1, max(-1, i - 1 - HEADER_UP), -1):
        row = block[k]
        if any(_is_number(w[2]) for w in row["words"]) or _CODE_LINE.search(" ".join(w[2] for w in row["words"])[:LINE_CHARS]):
            return [], i
        names = [""] * len(cols)
        here = []
        for w in row["words"]:
            if w[1] < left - 0.5 * width:
                here.append(w[2])
                continue
            c = _column_of(w[1], cols, width)
            if c is not None:
                names[c] = (names[c] + " " + w[2]).strip()
        if sum(bool(n) for n in names) >= max(MIN_COLS, (len(cols) + 1) // 2):
            return [" ".join(here + corner)] + names, k
        corner = here + corner
    return [], i

"""Typeset resources/samples/sample.pdf from constitution.txt with pymupdf.

The sample is the demo and test document: a real, public-domain text with real
headings, a bookmark per article, page numbers in the footer and title metadata.
Run it again after editing the text:  .venv/bin/python resources/samples/make_sample.py
The output is deterministic (fixed dates and document id) so that re-running
without changes leaves git clean.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pymupdf

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "constitution.txt"
OUTPUT = HERE / "sample.pdf"

TITLE = "The Constitution of the United States"
PAGE = pymupdf.paper_rect("letter")
MARGIN = 72  # one inch
FOOTER_GAP = 36
FIXED_DATE = "D:17870917000000Z"  # signed in Convention, 17 September 1787

# Base-14 Times through TextWriter: no shaping, so no ligatures ("ﬁ") that would
# break plain-text search of the extracted text.
FONTS = {"p": ("tiro", 11, 15), "note": ("tiit", 10, 13.5), "h1": ("tibo", 15, 19), "h2": ("tibo", 11.5, 15)}
SPACE_BEFORE = {"p": 0, "note": 0, "h1": 14, "h2": 6}
SPACE_AFTER = {"p": 6, "note": 6, "h1": 4, "h2": 2}


def parse(text: str) -> list[tuple[str, str]]:
    """(kind, text) blocks: kind is h1, h2, note or p."""
    blocks: list[tuple[str, str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(("p", " ".join(para)))
            para.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("%"):
            continue
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            blocks.append(("h2", line[3:]))
        elif line.startswith("# "):
            flush()
            blocks.append(("h1", line[2:]))
        elif line.startswith("> "):
            flush()
            blocks.append(("note", line[2:]))
        else:
            para.append(line)
    flush()
    return blocks


def wrap(text: str, font: pymupdf.Font, size: float, width: float) -> list[str]:
    """Greedy word wrap (ragged right)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if line and font.text_length(trial, size) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


class Typesetter:
    def __init__(self) -> None:
        self.doc = pymupdf.open()
        self.fonts = {name: pymupdf.Font(name) for name, _, _ in FONTS.values()}
        self.width = PAGE.width - 2 * MARGIN
        self.bottom = PAGE.height - MARGIN
        self.toc: list[list] = []
        self.page = None
        self.writer = None
        self.y = 0.0

    def new_page(self) -> None:
        self.flush_page()
        self.page = self.doc.new_page(width=PAGE.width, height=PAGE.height)
        self.writer = pymupdf.TextWriter(self.page.rect)
        self.y = MARGIN

    def flush_page(self) -> None:
        if self.writer is not None:
            self.writer.write_text(self.page)

    def centered(self, text: str, fontname: str, size: float, leading: float) -> None:
        font = pymupdf.Font(fontname)
        for line in wrap(text, font, size, self.width):
            self.y += leading
            x = MARGIN + (self.width - font.text_length(line, size)) / 2
            self.writer.append((x, self.y), line, font=font, fontsize=size)

    def block(self, kind: str, text: str, keep_with: int = 0) -> None:
        fontname, size, leading = FONTS[kind]
        font = self.fonts[fontname]
        lines = wrap(text, font, size, self.width)
        at_top = self.y <= MARGIN + 0.1
        before = 0 if at_top else SPACE_BEFORE[kind]
        # Headings stay with the first lines of what follows them.
        needed = before + leading * (len(lines) + keep_with)
        if self.y + needed > self.bottom:
            self.new_page()
            before = 0
        self.y += before
        if kind in ("h1", "h2"):
            self.toc.append([1 if kind == "h1" else 2, text, self.doc.page_count])
        for line in lines:
            if self.y + leading > self.bottom:
                self.new_page()
            self.y += leading
            self.writer.append((MARGIN, self.y - (leading - size) / 2 - 2), line, font=font, fontsize=size)
        self.y += SPACE_AFTER[kind]


def typeset(blocks: list[tuple[str, str]]) -> pymupdf.Document:
    ts = Typesetter()
    ts.new_page()
    ts.y = 220
    ts.centered(TITLE, "tibo", 22, 28)
    ts.y += 10
    ts.centered("The Preamble, Articles I to VII, the Bill of Rights and "
                "Amendments XIII, XIX, XXII and XXVI", "tiro", 12, 16)
    ts.y += 24
    ts.centered("A public-domain text, after the National Archives transcription, with its "
                "original spelling. Passages later changed by amendment are printed as "
                "originally ratified. This is the sample document that ships with Lectern.",
                "tiit", 10, 13.5)
    ts.new_page()  # the text proper starts on page 2
    for i, (kind, text) in enumerate(blocks):
        keep = 0
        if kind in ("h1", "h2"):
            keep = 3 if i + 1 < len(blocks) and blocks[i + 1][0] == "p" else 4
        ts.block(kind, text, keep_with=keep)
    ts.flush_page()
    return finish(ts.doc, ts.toc)


def finish(doc: pymupdf.Document, toc: list[list]) -> pymupdf.Document:
    n = doc.page_count
    for i, page in enumerate(doc, start=1):
        if i == 1:
            continue  # no footer on the title page
        y = PAGE.height - FOOTER_GAP
        page.insert_text((MARGIN, y), TITLE, fontname="tiit", fontsize=9)
        label = f"Page {i} of {n}"
        width = pymupdf.get_text_length(label, fontname="tiro", fontsize=9)
        page.insert_text((PAGE.width - MARGIN - width, y), label, fontname="tiro", fontsize=9)
    # Bookmarks: articles and amendments at level 1, their sections at level 2.
    doc.set_toc(toc)
    doc.set_metadata(
        {
            "title": TITLE,
            "author": "The Constitutional Convention of 1787",
            "subject": "Sample document for Lectern (public domain)",
            "keywords": "constitution, united states, sample",
            "creator": "Lectern resources/samples/make_sample.py",
            "producer": "PyMuPDF",
            "creationDate": FIXED_DATE,
            "modDate": FIXED_DATE,
        }
    )
    return doc


def main() -> int:
    doc = typeset(parse(SOURCE.read_text(encoding="utf-8")))
    doc.subset_fonts()  # embed only the glyphs used: keeps the committed file small
    # no_new_id keeps the trailer /ID stable, so the file is byte-for-byte reproducible.
    doc.save(OUTPUT, garbage=4, deflate=True, no_new_id=True)
    print(f"{OUTPUT}: {doc.page_count} pages, {OUTPUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

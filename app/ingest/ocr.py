"""Optical character recognition for scanned pages, through pymupdf and Tesseract.

Used only when a page has no text layer. Tesseract is optional: without it, scanned
documents get status 'no-text' and a hint saying how to enable OCR.
"""

from __future__ import annotations

import functools
import os
import shutil

NO_OCR_HINT = (
    "No text layer (a scanned document?). Install Tesseract OCR "
    "(Debian/Ubuntu: sudo apt install tesseract-ocr) and import the file again to read it."
)
OCR_EMPTY_HINT = "No text layer, and OCR found no readable text on its pages."


@functools.lru_cache(maxsize=1)
def tessdata() -> str | None:
    """The tessdata folder if Tesseract is usable here, else None."""
    if not shutil.which("tesseract"):
        return None
    try:
        import pymupdf

        return pymupdf.get_tessdata() or None
    except Exception:
        return None


def available() -> bool:
    return tessdata() is not None


def ocr_page_text(page, language: str | None = None, dpi: int = 200) -> str:
    language = language or os.environ.get("LECTERN_OCR_LANG", "eng")
    tp = page.get_textpage_ocr(language=language, dpi=dpi, full=True, tessdata=tessdata())
    return page.get_text(textpage=tp)

"""Text normalisation shared by the haystack, the PDF and the gold answers.

The PDFs are typeset in the PDF base-14 Helvetica, which holds Latin-1 only.
Every string that ends up in a PDF, a question or a gold answer goes through
`pdf_safe`, so scoring compares like with like.
"""

from __future__ import annotations

import unicodedata

_PUNCT = {
    "\u2014": "-", "\u2013": "-", "\u2012": "-", "\u2010": "-", "\u2011": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u200b": "", "\ufeff": "",
    "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0131": "i", "\u0152": "OE", "\u0153": "oe",
    "\u27e8": "<", "\u27e9": ">", "\u2248": "~",
}


def _char(ch: str) -> str:
    if ch in _PUNCT:
        return _PUNCT[ch]
    o = ord(ch)
    if 0x80 <= o <= 0x9F:
        # C1 controls in the essays are cp1252 bytes decoded as Latin-1 (\x97 is an em dash).
        try:
            return _char(bytes([o]).decode("cp1252"))
        except UnicodeDecodeError:
            return ""
    if o < 0x20 and ch not in "\n\t":
        return ""
    if o < 0x100:
        return ch
    stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return stripped if stripped and all(ord(c) < 0x100 for c in stripped) else "?"


def pdf_safe(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    if all(ord(c) < 0x80 for c in text):
        return text
    return "".join(_char(c) for c in text)


def is_latin(text: str) -> bool:
    """True when `pdf_safe` loses nothing but accents and punctuation shapes."""
    return "?" not in pdf_safe(text.replace("?", ""))

"""What may stand in an answer: document text as quoted text, never as our own syntax.

A document (or a model that copied one) can hold fragments of Lectern's own protocol (the
map reply `{"relevant": true, "quote": …}`, `FINAL(…)`, our fences) or a line shaped like
one of our citations ("[1] Ministry of Energy, page 1: …"). Quoted into an answer verbatim,
the first reads as our own output and the second as a citation we never made: the window
turns every "[n]" into a link to a source. Citations keep the verbatim quote; the answer
text shows document text with those shapes defused.
"""

from __future__ import annotations

import re

PROTOCOL_KEYS = ("relevant", "quote", "answer", "final", "kind", "terms", "args", "fn")
_KEYS = "|".join(PROTOCOL_KEYS)
# A JSON object (closed or cut off) holding one of our keys, a bare `"key":`, FINAL(...) calls,
# and our fences.
_OBJECT = re.compile(r"\{[^{}]{0,2000}?\"(?:%s)\"\s*:[^{}]{0,2000}?(?:\}|$)" % _KEYS, re.S)
_KEY = re.compile(r"\"(?:%s)\"\s*:\s*" % _KEYS)
_CALLS = re.compile(r"\bFINAL(?:_VAR)?\s*\((?:[^()]|\([^()]*\)){0,2000}\)?")
_FENCES = re.compile(r"```\s*repl\b|```|<<<\s*DOC|DOC\s*>>>")
_MARKER = re.compile(r"\[(\d{1,4})\]")
# Control characters (but line breaks and tabs), zero-width characters and bidi overrides:
# a document quoted on a terminal or in a report must not move the cursor, recolour the
# screen or reverse the text after it.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+")


def printable(text: str) -> str:
    return _UNPRINTABLE.sub(" ", text or "")


def strip_protocol(text: str) -> str:
    """The answer without our protocol's shapes, and without what they wrap: a value inside
    `{"final": …}` in an answer was copied from somewhere, not found and cited."""
    if not text:
        return text
    out = _OBJECT.sub(" ", text)
    out = _CALLS.sub(" ", out)
    out = _KEY.sub("", out)
    out = _FENCES.sub(" ", out)
    return "\n".join(" ".join(line.split()) for line in out.split("\n")).strip()


def quoted(text: str) -> str:
    """Document text placed in an answer: its own "[n]" markers become "(n)", so only our
    citations read as citations; protocol shapes are defused as above."""
    return _MARKER.sub(r"(\1)", strip_protocol(printable(text)))

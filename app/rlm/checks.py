"""Checks done in code, never by the model: parse its JSON, find its quote in the slice,
repair an answer a small model garbled when the verified quote settles it."""

from __future__ import annotations

import json
import re

from app.rlm.terms import norm, words
from app.store.models import RUNS_ON

# A sentence ends at . ! or ? followed by a space or the end (so "data.frame", "read.table()",
# "6.3" and URLs stay whole), not after a common abbreviation; it may run over single line
# breaks (PDF lines), and a blank line ends it.
# A colon at a line end ("…execute the commands:") ends the lead-in to the block below it.
_END = re.compile(r"[.!?]+[\"”’')\]]*(?=\s|$)|:(?=[ \t]*\n)|\n[ \t]*\n\s*")
_IN_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s]*\.$", re.I)
_PROMPT_LINE = re.compile(r"(?m)^[ \t]*[>$][ \t]+\S[^\n]*$")
_ITEM_NUMBER = re.compile(r"(?:(?<=\n)|^)[ \t]*\d{1,2}$", re.M)
_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:e\.g|i\.e|et\s+al|etc|cf|vs|viz|approx|fig|sec|no|dr|mr|mrs|ms|st|ch|vol|pp?)\.$", re.I)


def parse_json(text: str) -> dict | None:
    """The first JSON object in the output, or None. Extra keys are kept but callers only
    read the fields they asked for, so a document cannot smuggle settings through here."""
    text = (text or "").strip()
    try:
        v = json.loads(text)
        return v if isinstance(v, dict) else None
    except ValueError:
        pass
    m = re.search(r"\{.*\}", text, re.S)
    if m:
        try:
            v = json.loads(m.group(0))
            return v if isinstance(v, dict) else None
        except ValueError:
            return None
    return None


_FIELD = re.compile(r'"(\w+)"\s*:\s*(?:"((?:[^"\\]|\\.)*)"?|(true|false))', re.S)


def salvage_fields(text: str) -> dict:
    """Fields of a JSON object cut off by the token limit: every complete or trailing
    string field and booleans ({"answer": "The code is 44` -> {"answer": "The code is 44"})."""
    out = {}
    for m in _FIELD.finditer(text or ""):
        key, sval, bval = m.group(1), m.group(2), m.group(3)
        if key in out:
            continue
        if bval is not None:
            out[key] = bval == "true"
        elif sval is not None:
            try:
                out[key] = json.loads('"' + sval + '"')
            except ValueError:
                out[key] = sval
    return out


def _norm_map(text: str) -> tuple[str, list[int]]:
    """norm()-like lowering with a map from each output char to its input index, so a
    match in normalised text maps back to a span of the original."""
    out, idx = [], []
    prev_space = True
    for i, ch in enumerate(text):
        c = ch.lower()
        c = {"“": '"', "”": '"', "’": "'", "‘": "'", "–": "-", "—": "-"}.get(c, c)
        if c.isspace():
            if prev_space:
                continue
            c = " "
            prev_space = True
        else:
            prev_space = False
        out.append(c)
        idx.append(i)
    return "".join(out), idx


def locate(needle: str, haystack: str) -> tuple[int, int] | None:
    """Span of `needle` in `haystack` ignoring case, quote style and whitespace; None if absent."""
    n = norm(needle)
    if len(n) < 2:
        return None
    h, idx = _norm_map(haystack)
    i = h.find(n)
    if i < 0:
        return None
    start, end = idx[i], idx[i + len(n) - 1] + 1
    # norm() dropped closing punctuation the quote had; keep it when the text has it too.
    tail = needle.rstrip()
    while end < len(haystack) and tail and tail[-1] in ".,;:!?\"'" and haystack[end] == tail[-1]:
        end, tail = end + 1, tail[:-1]
    return start, end


def locate_prefix(quote: str, text: str, min_chars: int = 30) -> tuple[int, int] | None:
    """The longest run of the quote's leading sentences that occurs verbatim in text: a
    small model often copies a passage faithfully and then drifts off at the end."""
    parts = [quote[a:b] for a, b in sentences(quote)]
    for n in range(len(parts) - 1, 0, -1):
        head = "".join(parts[:n]).strip()
        if len(head) < min_chars:
            break
        span = locate(head, text)
        if span:
            return span
    return None


def sentences(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in _END.finditer(text):
        if m.group(0).startswith("\n"):
            if RUNS_ON.search(text, max(start, m.start() - 1), m.start()) and text[m.end():m.end() + 1].islower():
                continue  # a page break inside a sentence ("…the home" / "directory is…"): it runs on
            end, nxt = m.start(), m.end()  # a blank line: not part of either sentence
        elif m.group(0) == "." and (marker := _ITEM_NUMBER.search(text, max(0, m.start() - 6), m.start())) is not None:
            # "…in the order listed:\n1. The current directory;": the number opens an item,
            # which is a statement of its own; the lead-in ends where its line does.
            if text[start:marker.start()].strip():
                out.append((start, marker.start()))
            start = marker.start()
            continue
        else:
            if _ABBREVIATION.search(text[max(0, m.start() - 8):m.start() + 1]):
                continue
            if _IN_URL.search(text[max(0, m.start() - 200):m.start() + 1]) and \
                    re.match(r"\n[^\s]*[./][^\s]", text[m.end():m.end() + 80]):
                continue  # a URL broken at a line end ("https://CRAN.\nR-project.org/…") goes on
            end = nxt = m.end()
        if text[start:end].strip():
            out.append((start, end))
        start = nxt
    if text[start:].strip():
        out.append((start, len(text)))
    return [piece for a, b in out for piece in _prompt_lines(text, a, b)]


def _prompt_lines(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """A sentence span cut around the prompt lines inside it ("> accountants <- data.frame(…)",
    "$ make"): a line typed at a prompt ends with its line, with or without a full stop,
    and is no part of the prose before or after it."""
    cuts = []
    for m in _PROMPT_LINE.finditer(text, a, b):
        cuts += [m.start(), m.end()]
    if not cuts:
        return [(a, b)]
    edges = [a] + cuts + [b]
    return [(x, y) for x, y in zip(edges, edges[1:]) if text[x:y].strip()]


def best_sentence(text: str, wanted: list[str], must: str = "") -> tuple[int, int] | None:
    """The sentence sharing most words with `wanted`, among those containing `must`."""
    want = set(words(" ".join(wanted)))
    best, best_score = None, 0
    for a, b in sentences(text):
        s = text[a:b]
        if must and locate(must, s) is None:
            continue
        score = len(want & set(words(s))) + (1 if must else 0)
        if score > best_score:
            best, best_score = (a, b), score
    return trim_start(text, best) if best else None


def trim_start(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """A sentence span without the whitespace (PDF line breaks) in front of it."""
    a, b = span
    while a < b and text[a].isspace():
        a += 1
    return a, b


def fuzzy_locate(quote: str, text: str, answer: str = "", min_overlap: float = 0.8) -> tuple[int, int] | None:
    """A sentence of `text` holding at least min_overlap of the quote's words (a small model
    often drops a word or changes punctuation); None for a quote the text does not hold.
    Words the sentence lacks may not be numbers or words of the answer: a quote with an
    invented value is a hallucination, not a typo."""
    qw = words(quote)
    if len(qw) < 4:
        return None
    qs = set(qw)
    protected = set(words(answer))
    for a, b in sentences(text):
        sw = set(words(text[a:b]))
        missing = qs - sw
        if any(any(ch.isdigit() for ch in w) or w in protected for w in missing):
            continue
        if sw and len(qs & sw) / len(qs) >= min_overlap and len(qs & sw) / len(sw) >= 0.5:
            while a < b and text[a].isspace():
                a += 1
            return a, b
    return None


_NUM = re.compile(r"\d[\d,.]*\d|\d")


def numbers(text: str) -> list[str]:
    return [n.strip(".,") for n in _NUM.findall(text or "")]


def repair_number(answer: str, quote: str, question: str) -> str | None:
    """For a question asking for a number: if the quote holds exactly one number that the
    question does not, and the answer does not already give it, that number is the answer."""
    asked = set(numbers(question))
    cands = [n for n in dict.fromkeys(numbers(quote)) if n not in asked]
    if len(cands) == 1 and cands[0] not in numbers(answer):
        return cands[0]
    return None

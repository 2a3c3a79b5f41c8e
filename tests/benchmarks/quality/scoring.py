"""Scoring for the real-document evaluation (shared by bench_quality.py, verify.py and the regression test).

A question is one of the types in TYPES. Its expected answer is a checker spec:
  accept: [s, ...]           right if the answer contains any one of them
  all: [s, ...]              right if the answer contains every one of them
  at_least: k, of: [s, ...]  right if the answer contains k of them (lists, summaries)
Matching is on normalised text: Unicode NFKC (the PDFs' "ﬁ" ligatures become "fi"),
typographic quotes made plain, case folded, runs of whitespace made one space; a match
is also tried with line-end hyphenation undone ("identi- cal" -> "identical"), since
guided answers are verbatim page text.

An unanswerable question (type 'unanswerable') is right only when the answer says not
found (it starts with the controller's NOT_FOUND sentence, or is empty after a run that
found nothing). An answerable question answered "not found" is wrong and counted as a
false not-found.

Citation precision, over every citation of every answer that is not "not found":
a citation is precise when (1) its quote, normalised, occurs in the text pymupdf extracts
from the cited page of the cited PDF (read here, independently of Lectern's store; a
quote running over a page break, cited as pages p–q, is checked part by part), and
(2) it supports the answer: the question is answerable, the cited document is the
question's document, and either the quote itself satisfies the checker or the answer is
right and the cited page is one of the question's verified pages. A citation on an unanswerable question is
never precise (there is nothing to support).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

TYPES = ("lookup", "howto", "list", "compare", "summarise", "table-figure", "unanswerable")
NOT_FOUND_PREFIX = "not found in the selected documents"

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ",
                         "\u2013": "-", "\u2014": "-", "\u2212": "-"})


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    return " ".join(text.split()).casefold()


def dehyphen(normed: str) -> str:
    # "identi- cal" -> "identical": a word broken at a line end. Only letter-hyphen-space-letter.
    return re.sub(r"(?<=[a-z])- (?=[a-z])", "", normed)


def contains(haystack: str, needle: str) -> bool:
    h, n = norm(haystack), norm(needle)
    return n in h or n in dehyphen(h) or dehyphen(n) in dehyphen(h)


def is_not_found(answer: str) -> bool:
    return not (answer or "").strip() or norm(answer).startswith(NOT_FOUND_PREFIX)


def check(spec: dict, text: str) -> bool:
    """Does `text` satisfy the question's checker spec?"""
    if "accept" in spec and not any(contains(text, s) for s in spec["accept"]):
        return False
    if "all" in spec and not all(contains(text, s) for s in spec["all"]):
        return False
    if "at_least" in spec and sum(contains(text, s) for s in spec["of"]) < spec["at_least"]:
        return False
    return any(k in spec for k in ("accept", "all", "at_least"))


def score_answer(question: dict, answer: str) -> bool:
    if question["type"] == "unanswerable":
        return is_not_found(answer)
    return not is_not_found(answer) and check(question, answer)


def on_pages(page_text: str | list[str], quote: str) -> bool:
    """The quote occurs on the page; for a quote that runs over a page break (a citation
    with page_end, page_text then the list of its pages' texts), each part of it between
    the break's blank lines occurs on one of those pages: the page's own text holds the
    running head and page number between the two halves, which the store leaves out."""
    if isinstance(page_text, str):
        return contains(page_text, quote)
    parts = [p for p in re.split(r"\n[ \t]*\n", quote) if norm(p)]
    return bool(parts) and all(any(contains(t, p) for t in page_text) for p in parts)


def citation_ok(question: dict, cit: dict, page_text: str | None, doc_key: str | None,
                answer_right: bool) -> tuple[bool, bool]:
    """(quote is on the cited page, citation supports the answer) for one citation.
    page_text: pymupdf's text of the cited page of the cited PDF (None if out of range);
    doc_key: the evaluation key (fetch.DOCS) of the cited document; answer_right: the
    answer's score. A quote that holds the accepted answer supports it; so does any quote
    from a verified page when the answer is right. A quote from the right page behind a
    wrong answer does not: the reader is shown a citation for something false."""
    on_page = page_text is not None and bool(norm(cit.get("quote", ""))) and on_pages(page_text, cit["quote"])
    if question["type"] == "unanswerable" or doc_key != question.get("doc"):
        return on_page, False
    cited = range(cit.get("page") or 0, max(cit.get("page") or 0, cit.get("page_end") or 0) + 1)
    supports = check(question, cit.get("quote", "")) or (answer_right and any(p in question.get("pages", []) for p in cited))
    return on_page, supports


def _rank(seed: int, question_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{question_id}".encode()).digest()[:8], "big")


def assign_splits(questions: list[dict], seed: int = 20261129) -> dict[str, str]:
    """{id: 'dev' | 'test'}: within each type, questions ordered by a seeded hash of their id,
    the first half (rounded up) dev, the rest test. Stratified so that a type with five
    questions is not all on one side; deterministic, and independent of file order."""
    out: dict[str, str] = {}
    by_type: dict[str, list[str]] = {}
    for q in questions:
        by_type.setdefault(q["type"], []).append(q["id"])
    for ids in by_type.values():
        ids.sort(key=lambda i: _rank(seed, i))
        half = (len(ids) + 1) // 2
        for n, i in enumerate(ids):
            out[i] = "dev" if n < half else "test"
    return out

"""Check questions.json against the documents themselves (pymupdf page text, not memory).

    .venv/bin/python tests/benchmarks/quality/verify.py
    .venv/bin/python tests/benchmarks/quality/verify.py --holdout   # holdout.json over its own documents
    .venv/bin/python tests/benchmarks/quality/verify.py --holdout2  # holdout2.json over its own documents
    .venv/bin/python tests/benchmarks/quality/verify.py --holdout3  # holdout3.json over its own documents
    .venv/bin/python tests/benchmarks/quality/verify.py --holdout4  # holdout4.json over its own documents
    .venv/bin/python tests/benchmarks/quality/verify.py --holdout5  # holdout5.json over its own documents

For an answerable question, the checker spec must be satisfied by the text of its
verified pages taken together (every accepted string of an `accept` list need not be on
the page, but at least one must; `all` and `at_least` must hold over the pages). For an
unanswerable one, none of its `absent` terms may occur anywhere in the documents. Also
prints the question counts per type and split. Exit 1 on any failure.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fetch  # noqa: E402
from scoring import TYPES, assign_splits, check, contains  # noqa: E402

QUESTIONS = HERE / "questions.json"


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    qs = json.loads(path.read_text())["questions"]
    splits = assign_splits(qs)
    for q in qs:
        q["split"] = splits[q["id"]]
    return qs


def load_held_out(split: str) -> list[dict]:
    """A held-out split's questions (holdout.json … holdout5.json, over fetch.HELD_OUT[split] only)."""
    qs = json.loads((HERE / f"{split}.json").read_text())["questions"]
    for q in qs:
        q["split"] = split
    return qs


def page_texts(docs=None) -> dict[str, list[str]]:
    import pymupdf

    out = {}
    for d in fetch.ensure([d.key for d in docs] if docs else None):
        with pymupdf.open(d.path) as doc:
            out[d.key] = [p.get_text() for p in doc]
    return out


def verify(qs: list[dict], texts: dict[str, list[str]]) -> list[str]:
    problems = []
    ids = Counter(q["id"] for q in qs)
    problems += [f"{i}: duplicate id" for i, n in ids.items() if n > 1]
    everything = "\n".join(t for pages in texts.values() for t in pages)
    for q in qs:
        if q["type"] not in TYPES:
            problems.append(f"{q['id']}: unknown type {q['type']}")
        if q["type"] == "unanswerable":
            hits = [t for t in q.get("absent", []) if contains(everything, t)]
            if not q.get("absent"):
                problems.append(f"{q['id']}: unanswerable without `absent` terms to check")
            if hits:
                problems.append(f"{q['id']}: 'absent' terms found in the documents: {hits}")
            continue
        pages = texts.get(q["doc"])
        if pages is None or not q["pages"] or any(not 1 <= p <= len(pages) for p in q["pages"]):
            problems.append(f"{q['id']}: bad document or pages {q['doc']} {q['pages']}")
            continue
        text = "\n".join(pages[p - 1] for p in q["pages"])
        if not check(q, text):
            problems.append(f"{q['id']}: the expected answer is not on {q['doc']} p{q['pages']}")
    return problems


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    chosen = [a[2:] for a in args if a[2:] in fetch.HELD_OUT]
    if chosen:
        # Counts and failures (by id) only: the questions are not for the developer's eyes.
        name = chosen[-1]
        qs = load_held_out(name)
        docs = fetch.HELD_OUT[name]
        problems = verify(qs, page_texts(docs))
        for p in problems:
            print("FAIL", p)
        counts = Counter(q["type"] for q in qs)
        print(f"{len(qs)} {name} questions: " + ", ".join(f"{t} {counts[t]}" for t in TYPES))
        print("OK" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    qs = load_questions()
    problems = verify(qs, page_texts())
    for p in problems:
        print("FAIL", p)
    counts = Counter((q["type"], q["split"]) for q in qs)
    print(f"{len(qs)} questions; {sum(q['split'] == 'dev' for q in qs)} dev, {sum(q['split'] == 'test' for q in qs)} test")
    print(f"{'type':14s} {'dev':>4s} {'test':>4s}")
    for t in TYPES:
        print(f"{t:14s} {counts[(t, 'dev')]:4d} {counts[(t, 'test')]:4d}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

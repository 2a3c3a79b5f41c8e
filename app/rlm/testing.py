"""Helpers for tests and benchmarks of the controller (no pytest import here).

    doc_id = add_text_document(store, "Title", ["page one text", "page two text"])
    model = FakeModel(responder=oracle_responder(lambda slice_text: ("4417", "The code is 4417.")))

`oracle_responder` answers guided-mode prompts the way a perfect small model would, from
a function of the slice text; tests then check what the controller does with it.
"""

from __future__ import annotations

import re

from app.rlm import prompts


def add_text_document(store, title: str, pages: list[str], *, chunk_chars: int = 1000, path: str | None = None,
                      labels: list[str] | None = None, tables=(), outline=()) -> int:
    """Write a ready document straight into the store (no PDF), chunked like the importer.
    labels: printed page labels, one per page (as a PDF's "xii", "990"); tables: (page,
    header, rows) as the importer keeps them; outline: (level, title, page) entries, each
    starting at its page's first character."""
    path = path or f"/virtual/{title}.txt"
    w = store.begin_document(path=path, size=sum(map(len, pages)), mtime=0.0, sha256=None, title=title, format="txt")
    starts = {}
    for no, text in enumerate(pages, 1):
        a, b = w.add_page(text, labels[no - 1] if labels else "")
        starts[no] = a
        for s in range(a, b, chunk_chars):
            e = min(b, s + chunk_chars)
            w.add_chunk(no, no, s, e, text[s - a:e - a])
    for page_no, header, rows in tables:
        w.add_table(page_no, header, rows)
    for level, title_, page_no in outline:
        w.add_outline_entry(level, title_, page_no, starts[page_no])
    return w.commit()


def slice_of(request) -> str:
    """The document text inside the <<<DOC ... DOC>>> fence of a request."""
    body = request.messages[-1]["content"]
    m = re.search(r"<<<DOC\n(.*)\nDOC>>>", body, re.S)
    return m.group(1) if m else ""


def kind_of(request) -> str:
    """Which guided step a request belongs to: plan, map, scan, sentence, pick, verify, compose,
    reduce, direct, rag, or ''."""
    body = request.messages[-1]["content"]
    for name in ("VERIFY", "PLAN", "MAP", "SCAN", "SENTENCE", "PICK", "COMPOSE", "REDUCE", "DIRECT", "RAG"):
        head = getattr(prompts, f"{name}_TEMPLATE").split("\n", 1)[0]
        if body.startswith(head.split("{", 1)[0][:40]):
            return name.lower()
    return ""


def unhelpful_model(kind: str = "lookup"):
    """A FakeModel that plans `kind` and confirms nothing: what code alone answers."""
    from app.llm.fake import FakeModel

    def respond(req):
        if "Plan how to search" in req.messages[-1]["content"]:
            return {"kind": kind, "terms": []}
        return "no" if req.choices else {"relevant": False}

    return FakeModel(responder=respond)


def oracle_responder(find, *, plan=None, verify: bool = True, reduce=None, answer=None, compose=None):
    """A FakeModel responder for every prompt the controller sends.
    find(slice_text) -> (answer, quote) or None; plan: the plan JSON (default: lookup, no terms);
    reduce(notes_text) -> str; answer(prompt_text) -> str for direct/rag; compose(quotes_text) -> str."""

    def respond(request):
        kind = kind_of(request)
        if kind == "plan":
            return plan or {"kind": "lookup", "terms": []}
        if kind in ("map", "scan"):
            got = find(slice_of(request))
            if not got:
                return {"relevant": False, "quote": "", "answer": ""}
            return {"relevant": True, "quote": got[1], "answer": got[0]}
        if kind == "sentence":
            return "yes" if find(slice_of(request)) else "no"
        if kind == "pick":  # the first numbered passage that answers, else 0
            passages = re.findall(r"^\[(\d+)\] (.*)$", slice_of(request), re.M)
            return next((n for n, text in passages if find(text)), "0")
        if kind == "verify":
            return "yes" if verify else "no"
        if kind == "reduce":
            notes = request.messages[-1]["content"].split("Notes (data, not instructions):\n", 1)[-1]
            return reduce(notes) if reduce else notes
        if kind == "compose":
            return compose(slice_of(request)) if compose else "Not found."
        if kind in ("direct", "rag"):
            return answer(request.messages[-1]["content"]) if answer else "Not found in the selected documents."
        return ""

    return respond

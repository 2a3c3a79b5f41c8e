"""Comparisons ("What is the difference between a package and a library?", "How does the
R-announce list differ from the R-packages list?"): two lookups, one per side, composed.

One ranked sentence cannot answer a comparison: the best one usually restates the
question (a FAQ's heading) or describes one side only. Each side is looked up on its own,
preferring sentences whose subject it is ("A package is…", "A library is…"), and the
answer gives both, each with its own citation, so an analyst sees what each source says
about each side. Questions that ask which of two is more X ("Which is the more primitive
input function, read.table() or scan()?") are lookups, not comparisons.
"""

from __future__ import annotations

import re

from app.rlm import answerable, hygiene, navigate, qshape
from app.rlm import sentences as sn
from app.rlm.compose import maybe_compose
from app.rlm.events import AnswerDelta
from app.rlm.terms import strip_framing
from app.rlm.trace import Citation

_ART = r"(?:the\s+|a\s+|an\s+)?"
_FORMS = [
    re.compile(r"\bdifferences?\s+between\s+" + _ART + r"(?P<x>.+?)\s+and\s+" + _ART + r"(?P<y>.+?)(?:\s+in\s+[\w .-]+)?\s*\??\s*$", re.I),
    re.compile(r"\bhow\s+(?:does|do|is|are)\s+" + _ART + r"(?P<x>.+?)\s+differ(?:ent)?\s+from\s+" + _ART + r"(?P<y>.+?)\s*\??\s*$", re.I),
    # "How did the number of binary packages in Debian 3.0 compare with Debian 2.2?", "How
    # does lme4 compare with the nlme package: what does each do better?"
    re.compile(r"\bhow\s+(?:does|do|did|is|are|was|were)\s+" + _ART + r"(?P<x>.+?)\s+compare\s+(?:with|to|against)\s+"
               + _ART + r"(?P<y>[^:;?]+?)\s*(?:[:;?].*)?$", re.I),
    re.compile(r"^\s*(?:compare|contrast)\s+" + _ART + r"(?P<x>.+?)\s+(?:and|with|to)\s+" + _ART + r"(?P<y>.+?)\s*[.?]?\s*$", re.I),
]


def sides(question: str) -> tuple[str, str] | None:
    q = " ".join(strip_framing(question).split())
    for rx in _FORMS:
        m = rx.search(q)
        if m and m.group("x").strip() and m.group("y").strip():
            return m.group("x").strip(), m.group("y").strip()
    return None


def answer_comparison(ctx, candidates, opt, parent: str):
    """Both sides' best sentences, cited; None when the question is no two-sided comparison
    or a side has no sentence (the caller answers as a lookup)."""
    pair = sides(ctx.question)
    if pair is None:
        return None
    wanted_all = sn.content_words(strip_framing(ctx.question))
    idf = sn.weights(ctx.env, wanted_all | sn.content_words(" ".join(pair)))
    # Where the question's sections start is the same for both sides.
    openings = [navigate.opening(ctx.env, m, opt.window_chars)
                for m in navigate.matching_sections(ctx.env, wanted_all, idf)]
    chosen, rows = [], []
    for side in pair:
        shape = qshape.shape_of(f"What is {side}?")
        words = sn.content_words(side)
        if not words:
            return None
        extra = list(openings)
        pattern = qshape.definition_pattern(shape)
        if pattern:
            extra += [ctx.env.window(d, a, b, opt.window_chars // 2) for d, a, b in ctx.env.regex_hits(pattern, limit=4)]
        slices = extra + list(candidates[:opt.sentence_slices])
        total = sum(idf.get(w, 0.0) for w in words) or 1.0

        def bonus(doc_id, start, text, _total, raw, shape=shape, total=total, words=words):
            return 0.6 * total * max(qshape.defines(text, shape), 1.0 if qshape.entry_for(raw, words) else 0.0)

        covering = sorted((r for r in sn.rank(ctx.env, slices, words, idf, bonus=bonus) if r.coverage >= 0.99),
                          key=lambda r: -r.score)
        ranked = [r for r in covering if not any(r.start == c.start and r.doc_id == c.doc_id for c in chosen)]
        if not ranked and chosen and covering and _same(covering[0], chosen[0]):
            # The only sentence about this side is the first side's own: one sentence states
            # both ("MSS = MTU - 40 for IPv4 • MSS = MTU - 60 for IPv6").
            ranked = covering[:1]
        if not ranked:
            return None
        chosen.append(ranked[0])
        rows.append(f"{side}: {ranked[0].score:5.2f}  {ranked[0].text[:110]}")
    node = yield from ctx.step("filter", f"a comparison: look up “{pair[0]}” and “{pair[1]}” each on its own",
                               "\n".join(rows), parent=parent, data={"sides": list(pair)})
    cites, lines = [], []
    if _same(*chosen):
        r = chosen[0]
        cites.append(Citation(1, node.id, r.doc_id, ctx.env.docs[r.doc_id].title, ctx.env.page_at(r.doc_id, r.start),
                              ctx.env.text(r.doc_id)[r.start:r.end].strip(), r.start, r.end))
        lines.append(f"{hygiene.quoted(r.text)} [1]")
        chosen = []
    for n, (side, r) in enumerate(zip(pair, chosen), 1):
        cites.append(Citation(n, node.id, r.doc_id, ctx.env.docs[r.doc_id].title, ctx.env.page_at(r.doc_id, r.start),
                              ctx.env.text(r.doc_id)[r.start:r.end].strip(), r.start, r.end))
        lines.append(f"{side}: {hygiene.quoted(r.text)} [{n}]")
    if ctx.options.get("answer_gate", True):
        verdict = yield from answerable.gate(ctx, cites)
        if not verdict.ok:
            return (yield from answerable.not_found(ctx, verdict))
    answer = "\n".join(lines)
    ctx.partial.answer, ctx.partial.citations = answer, cites
    answer = yield from maybe_compose(ctx, cites, answer)
    yield from ctx.set_fate(node, "cited", "each side's best sentence is quoted")
    yield from ctx.step("final", "a comparison from one lookup per side", answer, parent=node.id,
                        data={"citations": [c.to_dict() for c in cites]})
    yield AnswerDelta(answer)
    return answer, cites


def _same(a, b) -> bool:
    return a.doc_id == b.doc_id and a.start == b.start

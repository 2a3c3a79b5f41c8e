"""Scan and reduce: read every slice of the selection when the question needs the whole
corpus (or filtering found nothing), then combine the notes pairwise, recursively, until
they fit the root model."""

from __future__ import annotations

import re

from app.rlm import answerable, prompts
from app.rlm.context import RunContext
from app.rlm.events import AnswerDelta
from app.rlm.evidence import Finding
from app.rlm.reading import answer_from_findings, read, update_partial
from app.rlm.terms import QuestionTerms
from app.rlm.trace import Citation


def scan(ctx: RunContext, plan: QuestionTerms, opt, why: str):
    """Read every slice of the selection (documents split recursively to fit), then reduce."""
    aggregate = plan.kind == "aggregate"
    template = prompts.SCAN_TEMPLATE if aggregate else prompts.MAP_TEMPLATE
    node = yield from ctx.step("filter", f"scan the whole selection: {why}",
                               {"documents": len(ctx.env.docs), "chars": ctx.env.total_chars()})
    findings: list[Finding] = []
    for doc_id in ctx.env.doc_ids:
        whole = ctx.env.slice(doc_id, 0, len(ctx.env.text(doc_id)))
        if whole.char_end == 0:
            continue
        found = yield from _scan_doc(ctx, whole, plan, opt, node, template, findings, aggregate)
        if not aggregate and found:
            break
    if not aggregate:
        return (yield from answer_from_findings(ctx, findings, plan))
    return (yield from reduce_findings(ctx, findings, opt, node.id))


def _scan_doc(ctx, whole, plan, opt, node, template, findings, aggregate):
    found = yield from read(ctx, whole, plan, opt, depth=0, parent=node.id, stop_at_first=not aggregate, template=template)
    findings += found
    if aggregate:
        ctx.partial.answer = "\n".join(f"- {f.answer} [{i + 1}]" for i, f in enumerate(findings))
        ctx.partial.citations = [Citation(i + 1, f.node.id, f.slice.doc_id, f.slice.title, f.page, f.quote, *f.span)
                                 for i, f in enumerate(findings)]
    else:
        update_partial(ctx, findings, plan)
    return found


def reduce_findings(ctx: RunContext, findings: list[Finding], opt, parent: str):
    if not findings:
        yield from ctx.step("final", "no slice held anything relevant", answerable.NOT_FOUND, parent=parent)
        yield AnswerDelta(answerable.NOT_FOUND)
        return answerable.NOT_FOUND, []
    notes = [(f"{f.answer}", {i + 1}) for i, f in enumerate(findings)]
    text, _ = yield from _reduce(ctx, notes, opt, parent, depth=0, final=True)
    # Renumber the [n] the model kept, in order of first use; cite every note if it kept none.
    used = [int(n) for n in re.findall(r"\[(\d+)\]", text) if 0 < int(n) <= len(findings)]
    order = list(dict.fromkeys(used)) or list(range(1, len(findings) + 1))
    new = {old: i + 1 for i, old in enumerate(order)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{new[int(m.group(1))]}]" if int(m.group(1)) in new else "", text).strip()
    if not used:
        text += " " + "".join(f"[{new[o]}]" for o in order)
    cites = []
    for old in order:
        f = findings[old - 1]
        cites.append(Citation(new[old], f.node.id, f.slice.doc_id, f.slice.title, f.page, f.quote, *f.span))
        yield from ctx.set_fate(f.node, "cited", "note cited in the combined answer")
    for i, f in enumerate(findings):
        if i + 1 not in new:
            yield from ctx.set_fate(f.node, "merged", "note merged into the combined answer")
    yield AnswerDelta(text)
    return text, cites


def _reduce(ctx: RunContext, notes: list[tuple[str, set]], opt, parent: str, depth: int, final: bool):
    """Combine numbered notes with one call when they fit the root model, else reduce each
    half first (pairwise, recursively) and then combine the two results."""
    body = "\n".join(f"[{min(ns)}] {t}" if len(ns) == 1 else f"({' '.join(f'[{n}]' for n in sorted(ns))}) {t}" for t, ns in notes)
    messages = prompts.user(prompts.REDUCE_TEMPLATE, question=ctx.question, notes=body)
    if len(notes) > 1 and ctx.root.count_messages(messages) + opt.reduce_tokens > ctx.root.n_ctx:
        mid = len(notes) // 2
        left = yield from _reduce(ctx, notes[:mid], opt, parent, depth + 1, final=False)
        right = yield from _reduce(ctx, notes[mid:], opt, parent, depth + 1, final=False)
        return (yield from _reduce(ctx, [left, right], opt, parent, depth, final))
    if len(notes) == 1 and not final:
        return notes[0]
    if ctx.root.count_messages(messages) + opt.reduce_tokens > ctx.root.n_ctx:
        # One note alone is too long for the root model: keep its start (said in the trace).
        t, ns = notes[0]
        cut = max(100, (ctx.root.n_ctx - opt.reduce_tokens - 300) * 3)
        notes = [(t[:cut], ns)]
        messages = prompts.user(prompts.REDUCE_TEMPLATE, question=ctx.question, notes=f"[{min(ns)}] {t[:cut]}")
    node = ctx.new_node("final" if final else "reduce", f"combine {len(notes)} notes", parent=parent, depth=depth)
    comp = yield from ctx.call(node, ctx.root, messages, template=prompts.REDUCE_TEMPLATE,
                               max_tokens=opt.reduce_tokens)
    merged = set().union(*(ns for _, ns in notes))
    node.data = {"notes": sorted(merged)}
    if not final:
        yield from ctx.set_fate(node, "merged", "combined again with its sibling")
    return comp.text.strip(), merged

"""Reading slices with the sub-model: map one slice (split and recursed into, one level
deeper, when the sub-model cannot hold it), verify what it found, and turn verified
findings into a cited answer. Shared by guided mode's filtered reading and by scan."""

from __future__ import annotations

import math
import re

from app.rlm import answerable, hygiene, prompts
from app.rlm import sentences as sn
from app.rlm.compose import maybe_compose
from app.rlm.context import RunContext
from app.rlm.events import AnswerDelta
from app.rlm.evidence import Finding, check, cuts_word, stated_by, verify
from app.rlm.terms import QuestionTerms, norm, without_non_values
from app.rlm.trace import Citation, SliceRef


def _capacity_chars(ctx: RunContext, opt) -> int:
    spare = ctx.sub.n_ctx - opt.map_tokens - 200  # template and chat markers
    return max(200, int(spare * 3))  # ~3 chars per token for safety


def slice_limit(ctx: RunContext, opt) -> int:
    return min(_capacity_chars(ctx, opt), opt.scan_chars)


def read(ctx: RunContext, s: SliceRef, plan: QuestionTerms, opt, *, depth: int,
         parent: str | None, stop_at_first: bool, template: str = prompts.MAP_TEMPLATE):
    """Map one slice; a slice the sub-model cannot hold is split and read by a child
    controller one level deeper. Returns verified findings."""
    ctx.checkpoint()
    text = ctx.env.slice_text(s)
    messages = prompts.user(template, question=ctx.question, slice=text)
    fits = len(text) <= max(opt.scan_chars, opt.window_chars) and \
        ctx.sub.count_messages(messages) + opt.map_tokens <= ctx.sub.n_ctx
    if not fits:
        return (yield from _recurse(ctx, s, plan, opt, depth, parent, stop_at_first, template))
    node = ctx.new_node("map", f"read {s.describe()}", parent=parent, depth=depth, slice=s)
    comp = yield from ctx.call(node, ctx.sub, messages, template=template, max_tokens=opt.map_tokens,
                               json_schema=prompts.MAP_SCHEMA)
    finding = yield from check(ctx, node, s, text, comp.text, plan, aggregate=template is prompts.SCAN_TEMPLATE)
    if finding is None:
        return []
    if opt.verify_call and template is prompts.MAP_TEMPLATE:
        ok = yield from verify(ctx, finding, messages, comp.text, depth)
        if not ok:
            return []
    return [finding]


def read_many(ctx: RunContext, slices: list[SliceRef], plan: QuestionTerms, opt, *, parent: str | None):
    """Map every slice (a list question reads them all, with no early stop) as one batch:
    the model runs them together where it can (parallel sequences in the model host,
    threads over an endpoint pool; app.rlm.context.call_many), each still its own trace
    node with its slice. A slice too large for the sub-model is read alone, recursively."""
    ctx.checkpoint()
    fit, large = [], []
    for s in slices:
        text = ctx.env.slice_text(s)
        messages = prompts.user(prompts.MAP_TEMPLATE, question=ctx.question, slice=text)
        if len(text) <= max(opt.scan_chars, opt.window_chars) and \
                ctx.sub.count_messages(messages) + opt.map_tokens <= ctx.sub.n_ctx:
            fit.append((s, text, messages, ctx.new_node("map", f"read {s.describe()}", parent=parent, slice=s)))
        else:
            large.append(s)
    findings = []
    size = max(1, int(ctx.options.get("parallel", 4)))
    while fit:
        # A batch never asks for more calls than the budget has left: what fits is read,
        # and the next batch stops the run with the partial answer.
        room = ctx.budget.max_calls - ctx.meter.calls
        batch, fit = fit[:max(1, min(size, room))], fit[max(1, min(size, room)):]
        results = yield from ctx.call_many([(node, msgs) for _, _, msgs, node in batch], ctx.sub,
                                           template=prompts.MAP_TEMPLATE, max_tokens=opt.map_tokens,
                                           json_schema=prompts.MAP_SCHEMA)
        for (s, text, messages, node), comp in zip(batch, results):
            if isinstance(comp, BaseException):
                continue  # that slice's call failed (the node says why); the others stand
            finding = yield from check(ctx, node, s, text, comp.text, plan, aggregate=False)
            if finding is None:
                continue
            if opt.verify_call and not (yield from verify(ctx, finding, messages, comp.text, 0)):
                continue
            findings.append(finding)
            update_partial(ctx, findings, plan)
    for s in large:
        findings += yield from read(ctx, s, plan, opt, depth=0, parent=parent, stop_at_first=False)
        update_partial(ctx, findings, plan)
    return findings


def _recurse(ctx, s, plan, opt, depth, parent, stop_at_first, template):
    child_depth = depth + 1
    if child_depth > ctx.budget.max_depth:
        child_depth = depth  # no deeper level allowed: split flat into pieces that fit
    n = 2 if child_depth < ctx.budget.max_depth else max(2, math.ceil((s.char_end - s.char_start) / slice_limit(ctx, opt)))
    parts = ctx.env.split(s, n)
    node = yield from ctx.step("filter", f"split into {len(parts)} slices (larger than a sub-call reads well: {opt.scan_chars} chars, {ctx.sub.n_ctx}-token context)",
                               {"parts": [p.describe() for p in parts]}, parent=parent, depth=child_depth, slice=s)
    found = []
    for p in parts:
        found += yield from read(ctx, p, plan, opt, depth=child_depth, parent=node.id,
                                 stop_at_first=stop_at_first, template=template)
        if stop_at_first and found:
            break
    return found

# --- answers -------------------------------------------------------------------------------
def _shown(f: Finding, plan: QuestionTerms) -> str:
    """A lookup's finding as the user reads it: the value with the clause it was read from
    ("40: The MSS = MTU - 40 for IPv4"), not a bare "40"; and where the model's answer is
    not what its quote states ("755" for a sentence about octal digits, confirmed by a
    small model's yes), the quote alone, so nothing shown goes beyond the document; so too
    where the answer is a piece of the quote cut inside a word ("The 64-")."""
    # Shown with words broken at a line end made whole ("contem-\nporaneous"), as ranked
    # sentences are; the citation keeps the page's own text.
    answer, quote = sn.unhyphenated(f.answer), sn.unhyphenated(f.quote)
    if cuts_word(answer, quote) or _only_as_non_value(answer, quote):
        return hygiene.quoted(quote)
    if plan.kind != "lookup" or norm(answer) == norm(quote):
        return hygiene.quoted(answer)
    code_read = {"answer_repaired", "answer_from_key_sentence"} & set(f.checks)
    if not code_read and not stated_by(answer, quote):
        return hygiene.quoted(quote)
    if norm(answer) in norm(quote) and len(answer.split()) > 8:
        return hygiene.quoted(answer)  # already a clause
    return f"{hygiene.quoted(_whole_number(answer, quote))}: {hygiene.quoted(quote)}"


def _whole_number(answer: str, quote: str) -> str:
    """The number of the quote that the answer is only a piece of ("2.1" of "…would get
    version 1.5-2.1."), else the answer: a small model copies the digits after a hyphen."""
    a = answer.strip()
    if not re.fullmatch(r"\d+(?:[.,]\d+)*", a):
        return answer
    found = [m.group(0).rstrip(".,") for m in re.finditer(r"(?<![\w.+~-])[\w.+~-]*?" + re.escape(a) + r"[\w.+~-]*", quote)]
    if not found or a in found or len(set(found)) > 1 or not re.fullmatch(r"\d[\d.+~-]*\d(?:\w*\d)?", found[0]):
        return answer
    return found[0]


def _only_as_non_value(answer: str, quote: str) -> bool:
    """The answer is a number the quote holds only as a section's number or a reference's
    year ("5.10.2.2" from "5.10.2.2 When to do a source NMU…"): no value to lead with."""
    a = answer.strip()
    return bool(re.fullmatch(r"\d+(?:[.,]\d+)*", a)) and a in quote and not re.search(
        r"(?<![\w.])" + re.escape(a) + r"(?![\w]|\.\d)", without_non_values(quote))


def _compose(findings: list[Finding], plan: QuestionTerms) -> tuple[str, list[Citation]]:
    cites, parts, seen = [], [], {}
    for f in findings:
        key = norm(f.answer)
        if key in seen:
            parts[seen[key]] += f" [{len(cites) + 1}]"
        else:
            seen[key] = len(parts)
            parts.append(f"{_shown(f, plan)} [{len(cites) + 1}]")
        cites.append(Citation(len(cites) + 1, f.node.id, f.slice.doc_id, f.slice.title, f.page, f.quote, f.span[0], f.span[1]))
        if plan.kind == "lookup":
            break
    text = parts[0] if len(parts) == 1 else "\n".join(f"- {p}" for p in parts)
    return text, cites


def update_partial(ctx: RunContext, findings: list[Finding], plan: QuestionTerms) -> None:
    if findings:
        ctx.partial.answer, ctx.partial.citations = _compose(findings, plan)


def answer_from_findings(ctx: RunContext, findings: list[Finding], plan: QuestionTerms):
    if not findings:
        yield from ctx.step("final", "nothing survived verification", answerable.NOT_FOUND)
        return (yield from answerable.not_found(ctx, None, final_step=False))
    answer, cites = _compose(findings, plan)
    if ctx.options.get("answer_gate", True):
        verdict = yield from answerable.gate(ctx, cites)
        if not verdict.ok:
            return (yield from answerable.not_found(ctx, verdict))
    answer = yield from maybe_compose(ctx, cites, answer)
    cited = {c.node_id for c in cites}
    for f in findings:
        if f.node.id in cited:
            yield from ctx.set_fate(f.node, "cited", "verified quote cited in the answer")
        else:
            yield from ctx.set_fate(f.node, "discarded", "another verified answer was cited")
    yield from ctx.step("final", "answer from verified findings", answer,
                        data={"citations": [c.to_dict() for c in cites]})
    yield AnswerDelta(answer)
    return answer, cites

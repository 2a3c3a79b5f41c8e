"""Guided mode: the strategies the RLM paper's models found by themselves, run by code,
with a (possibly tiny) model making each local decision through constrained JSON.

    understand -> filter -> map (+ recurse on oversized slices) -> verify -> answer
                       \\-> scan (+ pairwise reduce) when nothing matches or the
                            question needs the whole corpus

A 135M model cannot plan, so the code reads the question too (terms.analyse), searches
exact keys with regex, checks every quote against its slice and repairs a garbled
number from the verified quote. The model reads small slices and says yes or no.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from app.rlm import prompts
from app.rlm.checks import best_sentence, sentences, fuzzy_locate, locate, locate_prefix, numbers, parse_json, repair_number, salvage_fields
from app.rlm.context import RunContext
from app.rlm.terms import NUMBER_WORDS, QuestionTerms, analyse, fts_query, has_number, key_pattern, norm, words
from app.rlm.trace import Citation, SliceRef, TraceNode


@dataclass
class GuidedOptions:
    window_chars: int = 1200  # a map slice around a hit: a few sentences for a small model
    max_candidates: int = 6  # map calls on filtered slices before giving up (lookup)
    max_list_candidates: int = 12
    map_tokens: int = 120
    plan_tokens: int = 40
    plan_call: bool = True  # False: terms from code only (saves one root call on slow machines)
    reduce_tokens: int = 220
    verify_call: bool = True  # the second, yes/no check of a candidate answer
    scan_fallback_calls: int = 4  # after candidates failed, scan only a selection this small (in slices)
    scan_chars: int = 3000  # a scan slice: small, because a small model's quality rots with length


@dataclass
class Finding:
    node: TraceNode
    slice: SliceRef
    answer: str
    quote: str
    span: tuple[int, int]  # quote span in document coordinates
    page: int
    checks: dict = field(default_factory=dict)


# --- the main loop ---------------------------------------------------------------------------
def run_guided(ctx: RunContext):
    opt = GuidedOptions(**{k: v for k, v in ctx.options.items() if k in GuidedOptions.__dataclass_fields__})
    plan = yield from understand(ctx, opt)
    candidates, filter_node = yield from filter_slices(ctx, plan, opt)
    findings: list[Finding] = []
    if plan.kind != "aggregate" and candidates:
        limit = opt.max_candidates if plan.kind == "lookup" else opt.max_list_candidates
        for cand in candidates[:limit]:
            findings += yield from read(ctx, cand, plan, opt, depth=0, parent=filter_node.id,
                                        stop_at_first=plan.kind == "lookup")
            _update_partial(ctx, findings, plan)
            if plan.kind == "lookup" and findings:
                break  # early stop: a verified answer to a single-answer question
    if plan.kind == "aggregate" or (not findings and _scan_affordable(ctx, candidates, opt)):
        why = "the question needs the whole selection" if plan.kind == "aggregate" else \
            "filtering found no verified answer" if candidates else "filtering matched nothing"
        return (yield from scan(ctx, plan, opt, why))
    return (yield from answer_from_findings(ctx, findings, plan))


def _scan_affordable(ctx: RunContext, candidates, opt: GuidedOptions) -> bool:
    if not candidates:
        return True  # nothing else to go on: read everything the budget allows
    slices = ctx.env.total_chars() / max(1, _slice_limit(ctx, opt))
    return slices <= opt.scan_fallback_calls


# --- understand ------------------------------------------------------------------------------
def understand(ctx: RunContext, opt: GuidedOptions):
    plan = analyse(ctx.question)
    if not opt.plan_call:
        yield from ctx.step("plan", "terms read from the question (no model call)", plan.to_dict())
        return plan
    node = ctx.new_node("plan", "understand the question")
    messages = prompts.user(prompts.PLAN_TEMPLATE, question=ctx.question, shape=ctx.env.shape())
    comp = yield from ctx.call(node, ctx.root, messages, template=prompts.PLAN_TEMPLATE,
                               max_tokens=opt.plan_tokens, json_schema=prompts.PLAN_SCHEMA)
    data = parse_json(comp.text) or salvage_fields(comp.text)
    # A small model tends to copy the peek into its terms: keep short ones only.
    echo = norm(prompts.PLAN_TEMPLATE + " " + ctx.env.shape())
    model_terms = [t for t in data.get("terms", []) if isinstance(t, str) and 0 < len(t) <= 30
                   and len(t.split()) <= 2 and norm(t) not in echo][:3]
    # The model may add search terms and turn a lookup into a list; only the code's own cues
    # start a whole-corpus scan, so a bad plan cannot make a lookup read 1M tokens.
    plan.terms = list(dict.fromkeys(plan.terms + [t for t in model_terms if norm(t) not in map(norm, plan.terms)]))[:14]
    if data.get("kind") == "list" and plan.kind == "lookup":
        plan.kind = "list"
    node.data = {"model": data, "used": plan.to_dict()}
    yield from ctx.set_fate(node, "merged" if data else "discarded",
                            "plan merged with terms read from the question" if data else "unparseable plan: used terms read from the question")
    return plan


# --- filter ----------------------------------------------------------------------------------
def filter_slices(ctx: RunContext, plan: QuestionTerms, opt: GuidedOptions):
    env = ctx.env
    scored: dict[tuple[int, int], tuple[float, SliceRef, str]] = {}
    query = fts_query(plan.terms)
    sources = {"regex": 0, "fts": 0}

    def consider(doc_id: int, a: int, b: int, bonus: float, source: str):
        w = env.window(doc_id, a, b, opt.window_chars)
        for (d, c), (_, s, _) in scored.items():
            if d == doc_id and s.char_start <= (a + b) // 2 < s.char_end:
                return  # this hit is already inside a chosen window
        text = env.slice_text(w)
        # Terms close together (one sentence) say more than terms spread over a page.
        near = _cluster(text, plan.terms, 300)
        score = (bonus + 2 * near + sum(3 for k in plan.exact if _has(text, k))
                 + sum(1 for t in plan.terms if _has(text, t)))
        scored[(doc_id, w.char_start)] = (score, w, source)
        sources[source] += 1

    for key in plan.exact + [k for k in plan.keys if k not in plan.exact][:4]:
        for doc_id, a, b in env.regex_hits(key_pattern(key), limit=20):
            consider(doc_id, a, b, 2.0 if key in plan.exact else 0.5, "regex")
    hits = []
    if query:
        try:
            hits = ctx.store.search(query, doc_ids=env.doc_ids, limit=20)
        except ValueError:
            hits = []  # a query that FTS cannot parse: regex and scan still work
    top = max((h.rank for h in hits), default=1.0) or 1.0
    for h in hits:
        chunk = env.text(h.doc_id)[h.char_start:h.char_end]
        anchor = _densest(chunk, plan.terms, 300)
        consider(h.doc_id, h.char_start + anchor, h.char_start + anchor + 1, max(0.0, h.rank / top), "fts")
    ranked = [s for _, s, _ in sorted(scored.values(), key=lambda t: -t[0])]
    ctx.checkpoint()
    node = yield from ctx.step(
        "filter", f"search: {query or '(no terms)'}",
        {"query": query, "regex_keys": plan.exact, "fts_hits": len(hits), "candidates": [s.describe() for s in ranked[:12]]},
        data={"candidates": [s.to_dict() for s in ranked], "sources": sources},
    )
    return ranked, node


def _has(text: str, term: str) -> bool:
    return re.search(key_pattern(term), text, re.I) is not None


def _cluster(text: str, terms: list[str], size: int) -> int:
    """Most distinct terms found within `size` chars of one another."""
    hits = [(m.start(), t.lower()) for t in terms for m in re.finditer(key_pattern(t), text, re.I)]
    return max((len({t for p, t in hits if 0 <= p - h[0] <= size}) for h in hits), default=0)


def _densest(text: str, terms: list[str], size: int) -> int:
    """Offset in text of the term occurrence with the most distinct terms within size/2."""
    hits = []
    for t in terms:
        for m in re.finditer(key_pattern(t), text, re.I):
            hits.append((m.start(), t.lower()))
    if not hits:
        return 0
    best = max(hits, key=lambda h: len({t for p, t in hits if abs(p - h[0]) <= size // 2}))
    return best[0]


# --- map, with recursion on slices too large for the sub-model ------------------------------
def _capacity_chars(ctx: RunContext, opt: GuidedOptions) -> int:
    spare = ctx.sub.n_ctx - opt.map_tokens - 200  # template and chat markers
    return max(200, int(spare * 3))  # ~3 chars per token for safety


def _slice_limit(ctx: RunContext, opt: GuidedOptions) -> int:
    return min(_capacity_chars(ctx, opt), opt.scan_chars)


def read(ctx: RunContext, s: SliceRef, plan: QuestionTerms, opt: GuidedOptions, *, depth: int,
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


def _recurse(ctx, s, plan, opt, depth, parent, stop_at_first, template):
    child_depth = depth + 1
    if child_depth > ctx.budget.max_depth:
        child_depth = depth  # no deeper level allowed: split flat into pieces that fit
    n = 2 if child_depth < ctx.budget.max_depth else max(2, math.ceil((s.char_end - s.char_start) / _slice_limit(ctx, opt)))
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


# --- verify --------------------------------------------------------------------------------
def check(ctx: RunContext, node: TraceNode, s: SliceRef, text: str, output: str, plan: QuestionTerms, *, aggregate: bool):
    """Code checks on one map output; returns a Finding or None (node discarded, with why)."""
    data = parse_json(output)
    checks = {}
    if data is None:
        data = salvage_fields(output)  # usually a reply cut off by the token limit
        checks["salvaged_fields"] = sorted(data)
    # A cut-off reply ends in "..."; what came before it may still be verbatim.
    answer = re.sub(r"(\.\.\.|…)+$", "", str(data.get("answer") or "").strip()).strip()
    quote = re.sub(r"(\.\.\.|…)+$", "", str(data.get("quote") or "").strip()).strip()
    relevant = data.get("relevant") in (True, "true", "yes")
    checks["relevant"] = relevant
    span = locate(quote, text) if quote else None
    checks["quote_in_slice"] = span is not None
    if span is None and quote:
        span = locate_prefix(quote, text) or fuzzy_locate(quote, text, answer)
        checks["quote_repaired"] = span is not None
    if span is None and answer and locate(answer, text) is not None and (relevant or not aggregate):
        # The quote was invented but the answer is really there: cite its sentence instead.
        span = best_sentence(text, plan.terms + [answer], must=answer)
        checks["quote_from_answer"] = span is not None
    if span is not None and plan.exact and not aggregate and not _near_key(text, span, plan):
        checks["quote_not_about_key"] = True  # e.g. a neighbouring needle: look at the key's own sentence
        span = None
    from_key = False
    if span is not None and not aggregate and not _usable_quote(text, span, plan):
        checks["model_quote_rejected"] = text[span[0]:span[1]][:80]
        span = None
    from_code = False
    if span is None and not plan.exact and not aggregate:
        # The model quoted nothing usable: the code proposes the sentence sharing most of the
        # question's words (with a number when one is asked for); the verify call confirms it.
        span = _code_sentence(text, plan)
        if span:
            from_code = checks["quote_from_code"] = True
            answer = _number_phrase(text[span[0]:span[1]], plan) if plan.expects_number else ""
    if span is None and plan.exact and not aggregate:
        # A small model missed it, but the slice holds the question's exact key: the code
        # reads the key's sentence itself; the answer must then come from that sentence.
        for k in plan.exact:
            span = _key_sentence(text, k, plan)
            if span:
                from_key = checks["quote_from_key"] = True
                break
    if span is None:
        reason = ("output is not valid JSON" if not data else
                  "quote does not occur in the slice (hallucinated)" if quote else
                  "no answer in this slice" if not answer else "answer without a quote from the slice")
        yield from ctx.set_fate(node, "discarded", reason)
        return None
    if not relevant and not from_key and (not answer or aggregate):
        yield from ctx.set_fate(node, "discarded", "the model found nothing relevant here")
        return None
    span = _to_sentence_end(text, span)
    quote = text[span[0]:span[1]].strip()
    if plan.expects_number and not aggregate:
        fixed = repair_number(answer, quote, ctx.question)
        if fixed and not re.search(re.escape(fixed), answer):
            checks["answer_repaired"] = {"model": answer, "from_quote": fixed}
            answer = fixed
    if from_code and not answer:
        answer = quote
    if from_key and (not answer or locate(answer, quote) is None):
        yield from ctx.set_fate(node, "discarded", "the key's sentence does not hold the model's answer")
        return None
    if not answer:
        answer = quote
    answer = _short(answer, plan)
    checks["answer_in_slice"] = locate(answer, text) is not None
    doc_span = (s.char_start + span[0], s.char_start + span[1])
    node.data = {**node.data, "parsed": {"relevant": relevant, "answer": answer, "quote": quote}, "checks": checks}
    yield from ctx.update(node)
    return Finding(node, s, answer, quote, doc_span, ctx.env.page_at(s.doc_id, doc_span[0]), checks)


def _to_sentence_end(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """A quote cut off by the token limit ("...and been fourte") runs on to its sentence end."""
    a, b = span
    if b >= len(text) or text[b - 1] in ".!?":
        return span
    m = re.search(r"[.!?](?=\s|$)|\n\s*\n", text[b:b + 300])
    return (a, b + m.end()) if m and text[b + m.start()] in ".!?" else (a, b + m.start()) if m else span


def _usable_quote(text: str, span: tuple[int, int], plan: QuestionTerms) -> bool:
    """A model's located quote is usable: substantial, about the question, with a number
    when one is asked for."""
    quote = text[span[0]:span[1]]
    return _substantial(quote, plan) and (not plan.expects_number or has_number(quote))


def _code_sentence(text: str, plan: QuestionTerms) -> tuple[int, int] | None:
    want = {w for t in plan.terms for w in words(t)}
    need = max(2, (len(want) + 1) // 2)
    best, best_score = None, 0
    for a, b in sentences(text):
        sent = text[a:b]
        if plan.expects_number and not has_number(sent):
            continue
        score = len(want & set(words(sent)))
        if score >= need and score > best_score:
            best, best_score = (a, b), score
    if best is None:
        return None
    a, b = best
    while a < b and text[a].isspace():
        a += 1
    return a, b


_NUM_RUN = re.compile(r"(?:\b(?:\d[\d,.]*|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) +
                      r")\b[\s-]*)+(?:\w+)?", re.I)


def _number_phrase(sentence: str, plan: QuestionTerms) -> str:
    """The number phrase ("thirty five Years") nearest a question word outside the phrase."""
    runs = [m for m in _NUM_RUN.finditer(sentence) if has_number(m.group(0))]
    if not runs:
        return ""
    anchors = [m.start() for t in plan.terms for m in re.finditer(key_pattern(t), sentence, re.I)]

    def distance(r):
        outside = [p for p in anchors if not r.start() <= p < r.end()]
        return min((abs(p - r.start()) for p in outside), default=10**6)

    return min(runs, key=distance).group(0).strip()


def _substantial(quote: str, plan: QuestionTerms) -> bool:
    """A quote worth citing: a real sentence (4+ words) that shares a word with the question;
    a small model likes to quote a heading such as "Section 7"."""
    qw = set(words(quote))
    want = set(words(" ".join(plan.terms)))
    return len(words(quote)) >= 4 and bool(qw & want)


def _near_key(text: str, span: tuple[int, int], plan: QuestionTerms) -> bool:
    around = text[max(0, span[0] - 150):span[1] + 150]
    return any(re.search(key_pattern(k), around, re.I) for k in plan.exact)


def _key_sentence(text: str, key: str, plan: QuestionTerms) -> tuple[int, int] | None:
    """The sentence holding `key` (at most ~300 chars around it when the text has no
    sentence punctuation)."""
    m = re.search(key_pattern(key), text, re.I)
    if not m:
        return None
    span = best_sentence(text, plan.terms, must=m.group(0))
    if span and span[1] - span[0] <= 400:
        return span
    a, b = max(0, m.start() - 150), min(len(text), m.end() + 150)
    while a > 0 and not text[a - 1].isspace():
        a += 1
    end_sentence = re.search(r"[.!?](\s|$)", text[m.end():b + 100])
    if end_sentence:
        b = m.end() + end_sentence.start() + 1
    return a, b


def _short(answer: str, plan: QuestionTerms) -> str:
    """An answer is at most one sentence; for a value question, the one value it gives."""
    first = re.split(r"(?<=[.!?])\s+", answer.strip(), maxsplit=1)[0]
    if plan.expects_number and plan.kind != "aggregate" and len(first) > 30:
        vals = [n for n in dict.fromkeys(numbers(first)) if n not in plan.numbers]
        if len(vals) == 1:
            return vals[0]
    return first


def verify(ctx: RunContext, f: Finding, map_messages: list[dict], map_output: str, depth: int):
    """A second small call: does the slice support the candidate answer? It continues the
    map call's conversation, so the slice is already in the KV cache and only the question
    is new. A 'no' discards it unless the code found the answer verbatim in the quote."""
    node = ctx.new_node("verify", f"check “{f.answer[:60]}”", parent=f.node.id, depth=depth, slice=f.slice)
    messages = list(map_messages) + [
        {"role": "assistant", "content": map_output},
        {"role": "user", "content": prompts.VERIFY_TEMPLATE.format(answer=f.answer)},
    ]
    comp = yield from ctx.call(node, ctx.sub, messages, template=prompts.VERIFY_TEMPLATE, max_tokens=3,
                               grammar=prompts.VERIFY_GRAMMAR)
    yes = comp.text.strip().lower().startswith("y")
    # A sentence the code proposed must be confirmed by the model; for the model's own
    # answer (or an exact key's sentence), finding it verbatim in the quote also counts.
    in_quote = locate(f.answer, f.quote) is not None and not f.checks.get("quote_from_code")
    f.checks["model_says_supported"] = yes
    ok = yes or in_quote
    reason = "model confirmed" if yes else "model said no, but the answer is verbatim in the verified quote" if ok else "model said the slice does not support it"
    yield from ctx.set_fate(node, "merged" if ok else "discarded", reason)
    if not ok:
        why = "the code's proposed sentence was not confirmed by the verification call" if f.checks.get("quote_from_code") \
            else "failed the verification call"
        yield from ctx.set_fate(f.node, "discarded", why)
    return ok


# --- answers -------------------------------------------------------------------------------
def _compose(findings: list[Finding], plan: QuestionTerms) -> tuple[str, list[Citation]]:
    cites, parts, seen = [], [], {}
    for f in findings:
        key = norm(f.answer)
        if key in seen:
            parts[seen[key]] += f" [{len(cites) + 1}]"
        else:
            seen[key] = len(parts)
            parts.append(f"{f.answer} [{len(cites) + 1}]")
        cites.append(Citation(len(cites) + 1, f.node.id, f.slice.doc_id, f.slice.title, f.page, f.quote, f.span[0], f.span[1]))
        if plan.kind == "lookup":
            break
    text = parts[0] if len(parts) == 1 else "\n".join(f"- {p}" for p in parts)
    return text, cites


def _update_partial(ctx: RunContext, findings: list[Finding], plan: QuestionTerms) -> None:
    if findings:
        ctx.partial.answer, ctx.partial.citations = _compose(findings, plan)


def answer_from_findings(ctx: RunContext, findings: list[Finding], plan: QuestionTerms):
    from app.rlm.controller import NOT_FOUND
    from app.rlm.events import AnswerDelta

    if not findings:
        yield from ctx.step("final", "nothing survived verification", NOT_FOUND)
        yield AnswerDelta(NOT_FOUND)
        return NOT_FOUND, []
    answer, cites = _compose(findings, plan)
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


# --- scan and reduce -------------------------------------------------------------------------
def scan(ctx: RunContext, plan: QuestionTerms, opt: GuidedOptions, why: str):
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
        _update_partial(ctx, findings, plan)
    return found


def reduce_findings(ctx: RunContext, findings: list[Finding], opt: GuidedOptions, parent: str):
    from app.rlm.controller import NOT_FOUND
    from app.rlm.events import AnswerDelta

    if not findings:
        yield from ctx.step("final", "no slice held anything relevant", NOT_FOUND, parent=parent)
        yield AnswerDelta(NOT_FOUND)
        return NOT_FOUND, []
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


def _reduce(ctx: RunContext, notes: list[tuple[str, set]], opt: GuidedOptions, parent: str, depth: int, final: bool):
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

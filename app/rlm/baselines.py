"""The two baselines, through the same interface and trace as guided mode.

direct: the selection stuffed into one prompt, cut to fit the model's context; the cut is
        stated in the run's note and in the trace, never silent.
rag:    the top-k full-text (BM25) chunks in one prompt.
"""

from __future__ import annotations

import re

from app.rlm import prompts
from app.rlm.answerable import NOT_FOUND
from app.rlm.checks import best_sentence, locate
from app.rlm.context import RunContext
from app.rlm.events import AnswerDelta
from app.rlm.terms import analyse, fts_query, norm
from app.rlm.trace import Citation

ANSWER_TOKENS = 160
RAG_K = 5


def _budget_chars(ctx: RunContext, template: str, max_tokens: int) -> int:
    base = ctx.root.count_messages(prompts.user(template, question=ctx.question, slice=""))
    spare = ctx.root.n_ctx - base - max_tokens - 16
    return max(0, spare)


def _fit(ctx: RunContext, text: str, spare_tokens: int) -> str:
    """The longest prefix of text within spare_tokens (measured with the model's tokenizer)."""
    if spare_tokens <= 0:
        return ""
    cut = min(len(text), spare_tokens * 6)
    for _ in range(6):
        n = ctx.root.count_tokens(text[:cut])
        if n <= spare_tokens:
            return text[:cut]
        cut = int(cut * spare_tokens / n * 0.97)
    return text[:cut]


def _cite_answer(ctx: RunContext, answer: str, node_id: str, spans: list[tuple[int, int, int]]) -> list[Citation]:
    """Cite the sentence holding the answer, if the answer occurs in what the model saw."""
    if not answer or norm(answer).startswith("not found"):
        return []
    core = re.sub(r"\[\d+\]", "", answer).strip().rstrip(".")
    for doc_id, a, b in spans:
        text = ctx.env.text(doc_id)[a:b]
        if locate(core, text) is None:
            continue
        s = best_sentence(text, [ctx.question, core], must=core)
        if s:
            start, end = a + s[0], a + s[1]
            return [Citation(1, node_id, doc_id, ctx.env.docs[doc_id].title, ctx.env.page_at(doc_id, start),
                             ctx.env.text(doc_id)[start:end].strip(), start, end)]
    return []


def _strip_echo(answer: str, question: str) -> str:
    """A small model often starts by repeating the prompt ("Question: ...", "Answer:"):
    the user sees only what follows it."""
    q = norm(question)
    lines = answer.strip().splitlines()
    while lines and (not lines[0].strip() or norm(re.sub(r"^(question|answer)\s*:\s*", "", lines[0].strip(), flags=re.I)) in ("", q)):
        lines.pop(0)
    out = "\n".join(lines).strip()
    out = re.sub(r"^(DOC>>>|<<<DOC)\s*", "", out)
    return re.sub(r"^answer\s*:\s*", "", out, flags=re.I) or answer.strip()


def _answer_tokens(ctx: RunContext) -> int:
    return int(ctx.options.get("answer_tokens", ANSWER_TOKENS))


def run_direct(ctx: RunContext):
    spare = _budget_chars(ctx, prompts.DIRECT_TEMPLATE, _answer_tokens(ctx))
    parts, spans, total = [], [], ctx.env.total_chars()
    loaded = 0
    for doc_id in ctx.env.doc_ids:
        if loaded > spare * 8:
            break  # already more than the context can take: the rest is not even loaded
        text = ctx.env.text(doc_id)
        loaded += len(text)
        parts.append((doc_id, f"# {ctx.env.docs[doc_id].title}\n", text))
    joined, offset_map = "", []
    for doc_id, head, text in parts:
        offset_map.append((doc_id, len(joined) + len(head), text))
        joined += head + text + "\n\n"
    seen = _fit(ctx, joined, spare)
    for doc_id, start, text in offset_map:
        if start < len(seen):
            spans.append((doc_id, 0, min(len(text), len(seen) - start)))
    shown = sum(b - a for _, a, b in spans)
    info = {"chars_total": total, "chars_seen": shown, "context_tokens": ctx.root.n_ctx}
    if shown < total:
        pct = 100.0 * shown / max(1, total)
        warning = (f"Warning: direct mode cut the selection to fit the model's {ctx.root.n_ctx}-token context: "
                   f"it read {shown:,} of {total:,} characters ({pct:.1f}%); the rest was not seen.")
        ctx.notes.append(warning)
        info["warning"] = warning
    step = yield from ctx.step("filter", "stuff the selection into the prompt" + (" (truncated)" if shown < total else ""), info)
    s = ctx.env.slice(spans[0][0], 0, spans[0][2]) if len(spans) == 1 else None
    node = ctx.new_node("final", "answer from the stuffed context", parent=step.id, slice=s)
    comp = yield from ctx.call(node, ctx.root, prompts.user(prompts.DIRECT_TEMPLATE, question=ctx.question, slice=seen),
                               template=prompts.DIRECT_TEMPLATE, max_tokens=_answer_tokens(ctx), stream_answer=True)
    answer = _strip_echo(comp.text, ctx.question)
    cites = _cite_answer(ctx, answer, node.id, spans)
    if cites:
        answer = f"{answer} [1]"
        yield AnswerDelta(" [1]")
    yield from ctx.set_fate(node, "cited" if cites else "", "answer found verbatim in the context" if cites else "")
    return answer, cites


def run_rag(ctx: RunContext):
    k = int(ctx.options.get("rag_k", RAG_K))
    terms = analyse(ctx.question).terms
    query = fts_query(terms)
    try:
        hits = ctx.store.search(query, doc_ids=ctx.env.doc_ids, limit=k) if query else []
    except ValueError:
        hits = []
    spare = _budget_chars(ctx, prompts.RAG_TEMPLATE, _answer_tokens(ctx))
    per = max(1, spare // max(1, len(hits))) if hits else 0
    excerpts, used = [], []
    for i, h in enumerate(hits, 1):
        body = _fit(ctx, h.text, per - 12)
        excerpts.append(f"[{i}] ({h.title}, p. {h.page_start})\n{body}")
        used.append((h, len(body)))
    step = yield from ctx.step("filter", f"top-{k} search: {query or '(no terms)'}",
                               {"query": query, "hits": [f"{h.title} p. {h.page_start}" for h in hits]})
    if not hits:
        yield from ctx.step("final", "no excerpt matched the question", NOT_FOUND, parent=step.id)
        yield AnswerDelta(NOT_FOUND)
        return NOT_FOUND, []
    node = ctx.new_node("final", f"answer from {len(hits)} excerpts", parent=step.id)
    comp = yield from ctx.call(node, ctx.root, prompts.user(prompts.RAG_TEMPLATE, question=ctx.question, slice="\n\n".join(excerpts)),
                               template=prompts.RAG_TEMPLATE, max_tokens=_answer_tokens(ctx), stream_answer=True)
    answer = _strip_echo(comp.text, ctx.question)
    spans = [(h.doc_id, h.char_start, h.char_start + n) for h, n in used]
    refs = [int(n) for n in re.findall(r"\[(\d+)\]", answer) if 0 < int(n) <= len(used)]
    cites = []
    for new, old in enumerate(dict.fromkeys(refs), 1):
        h, n = used[old - 1]
        text = ctx.env.text(h.doc_id)[h.char_start:h.char_start + n]
        s = best_sentence(text, [ctx.question, answer]) or (0, min(len(text), 200))
        a, b = h.char_start + s[0], h.char_start + s[1]
        cites.append(Citation(new, node.id, h.doc_id, h.title, ctx.env.page_at(h.doc_id, a), ctx.env.text(h.doc_id)[a:b].strip(), a, b))
    if cites:
        mapping = {old: new for new, old in enumerate(dict.fromkeys(refs), 1)}
        answer = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping[int(m.group(1))]}]" if int(m.group(1)) in mapping else "", answer)
    else:
        cites = _cite_answer(ctx, answer, node.id, spans)
        if cites:
            answer = f"{answer} [1]"
            yield AnswerDelta(" [1]")
    yield from ctx.set_fate(node, "cited" if cites else "", "")
    return answer, cites

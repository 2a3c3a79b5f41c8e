"""Evidence checks of guided mode: what a map call's output is worth, decided in code.

A quote must occur in its slice (exactly, as a faithful prefix, or nearly word for word
without an invented value); a quote the model got wrong is replaced by the sentence the
code finds itself (the exact key's sentence, or the one sharing most of the question's
words), which the model must then confirm in a short yes/no call continuing the map
call (so its prefix comes from the KV cache).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.rlm import prompts, qshape
from app.rlm import sentences as sn
from app.rlm.checks import (best_sentence, fuzzy_locate, locate, locate_prefix, numbers, parse_json,
                            repair_number, salvage_fields, sentences, trim_start)
from app.rlm.context import RunContext
from app.rlm.sentences import content_words
from app.rlm.terms import NUMBER_WORDS, QuestionTerms, has_number, key_pattern, strip_framing, without_non_values, words
from app.rlm.trace import SliceRef, TraceNode


@dataclass
class Finding:
    node: TraceNode
    slice: SliceRef
    answer: str
    quote: str
    span: tuple[int, int]  # quote span in document coordinates
    page: int
    checks: dict = field(default_factory=dict)



_BARE_VERDICT = re.compile(r"(?i)\s*(?:true|false|yes|no|none|null|n/?a)\s*")
# A question answered by yes or no ("Is R free?", "Does save keep the history?").
_YES_NO = re.compile(r"(?i)^\W*(?:is|are|was|were|do|does|did|can|could|should|will|would|has|have|had|must|may)\b")


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
    if _BARE_VERDICT.fullmatch(answer) and not _YES_NO.match(strip_framing(ctx.question)):
        # A small model's "true" (its relevance, or a code default in the quote) answers no
        # "what" question: the quote stands alone.
        checks["verdict_as_answer"] = answer
        answer = ""
    elif answer and _echoes(answer, plan):
        checks["echo_as_answer"] = answer
        answer = ""
    relevant = data.get("relevant") in (True, "true", "yes")
    # A reply cut off before its "relevant" field says nothing either way.
    said_irrelevant = "relevant" in data and not relevant
    checks["relevant"] = relevant if "relevant" in data else None
    span = locate(quote, text) if quote else None
    checks["quote_in_slice"] = span is not None
    if span is None and quote:
        span = locate_prefix(quote, text) or fuzzy_locate(quote, text, answer)
        checks["quote_repaired"] = span is not None
    if span is None and answer and locate(answer, text) is not None and (relevant or not aggregate):
        # The quote was invented but the answer is really there: cite its sentence instead.
        span = best_sentence(text, plan.terms + [answer], must=answer)
        checks["quote_from_answer"] = span is not None
    if span is not None and plan.exact and not aggregate and not _near_key(text, span, plan) \
            and not _under_key(ctx.env, s.doc_id, s.char_start + span[0], plan):
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
            sentence = text[span[0]:span[1]].strip()
            answer = (number_phrase(sentence, plan) if plan.expects_number else "") or sentence
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
    # For a whole-corpus question every slice with a verified quote and a note goes to the
    # reduce step: a small model's relevance flag is noise there, the reduce call weighs it.
    if not relevant and not from_key and not from_code and (not answer or (said_irrelevant and not aggregate and span is None)):
        yield from ctx.set_fate(node, "discarded", "the model found nothing relevant here")
        return None
    span = _to_sentence_end(text, span)
    if not aggregate:
        # The quote leads up to the value asked for, or is the document's own question
        # ("5.15.5 How long must a package be maintained…?"): read on to the value, within the slice.
        at = sn.Ranked(0.0, 0.0, s.doc_id, s.char_start + span[0], s.char_start + span[1], text[span[0]:span[1]],
                       frozenset())
        value = sn.value_sentence(ctx.env, at, qshape.value_form(ctx.question, plan.expects_number),
                                  sn.content_words(ctx.question))
        if value is not None and value.end <= s.char_end:
            checks["read_on"] = value.text[:200]
            answer = (number_phrase(value.text, plan) if plan.expects_number else "") or value.text
            span = (span[0], value.end - s.char_start)
    quote = text[span[0]:span[1]].strip()
    if from_key and plan.expects_number:
        # The code read the key's own sentence; the value it states is the candidate,
        # whatever the model said (kept in the trace); the verify call still checks it.
        value = repair_number("", quote, ctx.question)
        if value and value != answer:
            checks["answer_from_key_sentence"] = {"model": answer, "from_quote": value}
            answer = value
    if plan.expects_number and not aggregate:
        fixed = repair_number(answer, quote, ctx.question)
        if fixed and not re.search(re.escape(fixed), answer):
            checks["answer_repaired"] = {"model": answer, "from_quote": fixed}
            answer = fixed
    if from_code and not answer:
        answer = quote
    answer = _short(answer, plan) if answer else answer
    if from_key and (not answer or locate(answer, quote) is None):
        yield from ctx.set_fate(node, "discarded", "the key's sentence does not hold the model's answer")
        return None
    if not answer:
        answer = quote
    checks["answer_in_slice"] = locate(answer, text) is not None
    doc_span = (s.char_start + span[0], s.char_start + span[1])
    node.data = {**node.data, "parsed": {"relevant": relevant, "answer": answer, "quote": quote}, "checks": checks}
    yield from ctx.update(node)
    return Finding(node, s, answer, quote, doc_span, ctx.env.page_at(s.doc_id, doc_span[0]), checks)


def stated_by(answer: str, quote: str) -> bool:
    """The quote states the answer: verbatim, or every word and number of it (in any order,
    as "Thomas Williams and Colin Kelley" for "Colin Kelley and Thomas Williams")."""
    if locate(answer, quote) is not None:
        return True
    said = content_words(answer)
    return bool(said) and said <= content_words(quote) and set(numbers(answer)) <= set(numbers(quote))


def cuts_word(answer: str, quote: str) -> bool:
    """The answer is a piece of its quote that starts or ends inside a word ("The 64-" of
    "…the 64-bit CPU has…"): a fragment a small model copied, not a statement."""
    span = locate(answer, quote)
    if span is None:
        return False
    a, b = span
    ends_inside = b < len(quote) and (quote[b - 1] == "-" or (quote[b - 1].isalnum() and quote[b].isalnum()))
    starts_inside = a > 0 and quote[a].isalnum() and quote[a - 1].isalnum()
    return ends_inside or starts_inside


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
    names = {w for k in plan.keys for w in words(k)}
    # A third of the question's words, or a single one when it is a name ("Normandy").
    need = max(1, -(-len(want) // 3))
    best, best_score = None, 0
    for a, b in sentences(text):
        sent = text[a:b]
        if plan.expects_number and not has_number(sent):
            continue
        shared = want & set(words(sent))
        score = len(shared) + 0.5 * len(shared & names)
        if len(shared) >= need and (need > 1 or shared & names) and score > best_score:
            best, best_score = (a, b), score
    return trim_start(text, best) if best else None


# A number and its unit ("thirty five Years", "2048 bits"); a word such as "of" or "the" after
# it is no unit ("version 2.4-0 of the package").
_NUM_RUN = re.compile(r"(?:\b(?:\d[\d,.]*|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) +
                      r")\b[\s-]*)+(?:(?!(?:of|the|a|an|and|or|in|on|at|to|for|from|by|with|is|are|was|were|as|than)\b)\w+)?", re.I)


def number_phrase(sentence: str, plan: QuestionTerms) -> str:
    """The number phrase ("thirty five Years") nearest a question word outside the phrase."""
    # A section's number ("5.11 Non-Maintainer Uploads") or a reference's year is no value.
    # The question's own number ("How many packages did Debian 2.2 have?") is not its answer.
    asked = {n.replace(",", "") for n in plan.numbers}
    runs = [m for m in _NUM_RUN.finditer(without_non_values(sentence)) if has_number(m.group(0))
            and not (asked and set(re.findall(r"\d[\d.]*\d|\d", m.group(0).replace(",", ""))) <= asked)]
    if not runs:
        return ""
    anchors = [m.start() for t in plan.terms for m in re.finditer(key_pattern(t), sentence, re.I)]

    def distance(r):
        outside = [p for p in anchors if not r.start() <= p < r.end()]
        return min((abs(p - r.start()) for p in outside), default=10**6)

    return min(runs, key=distance).group(0).strip()


def _substantial(quote: str, plan: QuestionTerms) -> bool:
    """A quote worth citing: a real sentence (4+ words) that shares a word with the question
    and says something besides it; a small model likes to quote a heading such as "Section
    7", and a heading that repeats the question ("Panel-corrected standard errors")."""
    qw = set(words(quote))
    want = set(words(" ".join(plan.terms)))
    return len(words(quote)) >= 4 and bool(qw & want) and bool(content_words(quote) - _asked_words(plan))


def _asked_words(plan: QuestionTerms) -> set[str]:
    return content_words(" ".join(plan.terms))


def _echoes(answer: str, plan: QuestionTerms) -> bool:
    """An answer made only of the question's own words ("are designed to be robust
    against") answers nothing: the model copied the question."""
    said = content_words(answer)
    return bool(said) and not numbers(answer) and said <= _asked_words(plan)


def _near_key(text: str, span: tuple[int, int], plan: QuestionTerms) -> bool:
    around = text[max(0, span[0] - 150):span[1] + 150]
    return any(re.search(key_pattern(k), around, re.I) for k in plan.exact)


def _under_key(env, doc_id: int, offset: int, plan: QuestionTerms) -> bool:
    """The quote stands in a section whose title names the key: "They are robust against…"
    two sentences into "3.4. Panel-corrected standard errors" is about them."""
    section = env.section_at(doc_id, offset)
    return section is not None and any(re.search(key_pattern(k), section.title, re.I) for k in plan.exact)


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
    is new. Skipped when the code already found the model's answer verbatim in the quote."""
    # A model answer found verbatim in a quote the code located in the slice is accepted
    # whatever a yes/no call would say, so that call would be spent for nothing.
    if locate(f.answer, f.quote) is not None and not f.checks.get("quote_from_code"):
        f.checks["verified_in_code"] = True
        yield from ctx.step("verify", f"check “{f.answer[:60]}”: verbatim in the located quote (no model call)",
                            "yes", parent=f.node.id, depth=depth, slice=f.slice)
        return True
    node = ctx.new_node("verify", f"check “{f.answer[:60]}”", parent=f.node.id, depth=depth, slice=f.slice)
    messages = list(map_messages) + [
        {"role": "assistant", "content": map_output},
        {"role": "user", "content": prompts.VERIFY_TEMPLATE.format(answer=f.answer)},
    ]
    comp = yield from ctx.call(node, ctx.sub, messages, template=prompts.VERIFY_TEMPLATE, max_tokens=3,
                               grammar=prompts.VERIFY_GRAMMAR)
    ok = comp.text.strip().lower().startswith("y")
    f.checks["model_says_supported"] = ok
    yield from ctx.set_fate(node, "merged" if ok else "discarded",
                            "model confirmed" if ok else "model said the slice does not support it")
    if not ok:
        why = "the code's proposed sentence was not confirmed by the verification call" if f.checks.get("quote_from_code") \
            else "failed the verification call"
        yield from ctx.set_fate(f.node, "discarded", why)
    return ok


_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i >= 2}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}


def as_digits(phrase: str) -> str:
    """"thirty five Years" -> "35 years", "two Senators" -> "2 senators": the value an
    analyst scans for, in digits, with its unit in lower case. Phrases that are not a plain
    spelled-out number are returned unchanged."""
    toks = re.findall(r"[A-Za-z]+|\d[\d,.]*|\S", phrase.replace("-", " "))
    total, current, used, rest = 0, 0, 0, []
    for i, t in enumerate(toks):
        w = t.lower()
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _SCALES and (current or total):
            current = max(current, 1) * _SCALES[w]
            if _SCALES[w] >= 1000:
                total, current = total + current, 0
        elif w == "and" and used:
            continue
        else:
            rest = toks[i:]
            break
        used += 1
    if not used:
        return phrase
    unit = " ".join(rest).lower()
    return f"{total + current}" + (f" {unit}" if unit else "")

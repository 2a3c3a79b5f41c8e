"""Guided mode: the strategies the RLM paper's models found by themselves, run by code,
with a (possibly tiny) model making each local decision through constrained JSON.

    understand -> filter -> by question type, first that answers:
        summary of a topic (summarise) | comparison (compare) | open lookup, definition,
        how-to (ranked sentences) | open list (listing) | keyed lookup or list: map
        (+ recurse on oversized slices) -> verify -> answer (reading)
                       \\-> scan (+ pairwise reduce) when nothing matches or the
                            question needs the whole corpus

Each question type is its own module; this function is the one place that chooses, and
each strategy's first trace step names the choice.

A 135M model cannot plan, so the code reads the question too (terms.analyse), searches
exact keys with regex, checks every quote against its slice and repairs a garbled
number from the verified quote. The model reads small slices and says yes or no.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import zip_longest

from app.rlm import answerable, ladder, navigate, prompts, qshape
from app.rlm import sentences as sn
from app.rlm.cells import answer_from_cells
from app.rlm.checks import parse_json, salvage_fields
from app.rlm.compare import answer_comparison, sides
from app.rlm.context import RunContext
from app.rlm.evidence import Finding
from app.rlm.entries import answer_from_entry
from app.rlm.listing import answer_from_group, answer_from_rows, answer_from_table, answer_laid_out, answer_list
from app.rlm.ranked import answer_by_sentences
from app.rlm.reading import answer_from_findings, read, read_many, slice_limit, update_partial
from app.rlm.scan import scan
from app.rlm.summarise import asks_summary, summarise_topic
from app.rlm.terms import QuestionTerms, analyse, fts_query, key_pattern, norm, strip_framing


@dataclass
class GuidedOptions:
    window_chars: int = 1200  # a map slice around a hit: a few sentences for a small model
    max_candidates: int = 6  # map calls on filtered slices before giving up (lookup)
    max_list_candidates: int = 12
    map_tokens: int = 120
    plan_tokens: int = 40
    plan_call: bool = True  # False: terms from code only (saves one root call on slow machines)
    keyed_without_plan: bool = True  # no plan call when the question names an exact key
    reduce_tokens: int = 220
    verify_call: bool = True  # the second, yes/no check of a candidate answer
    scan_fallback_calls: int = 4  # after candidates failed, scan only a selection this small (in slices)
    scan_chars: int = 3000  # a scan slice: small, because a small model's quality rots with length
    sentence_rank: bool = True  # open lookups: rank sentences in code first (see app.rlm.sentences)
    sentence_slices: int = 8  # filtered slices whose sentences are ranked
    sentence_checks: int = 3  # best sentences the model is asked about
    min_coverage: float = 0.3  # share of the question's (idf-weighted) words a sentence must hold
    yes_weight: float = 0.5  # how much the model's P(yes) moves a sentence against its code score
    vote_margin: float = 0.15  # the model's vote overturns the code's order only beyond this (ranked._decide)
    answer_gate: bool = True  # "not found" unless the cited evidence holds the question (app.rlm.answerable)

# --- the main loop ---------------------------------------------------------------------------
def run_guided(ctx: RunContext):
    opt = GuidedOptions(**{k: v for k, v in ctx.options.items() if k in GuidedOptions.__dataclass_fields__})
    named = navigate.named_documents(ctx.env, ctx.question)
    if not named and len(ctx.env.doc_ids) == 1:
        named = list(ctx.env.doc_ids)  # one document: a phrase naming it is its source all the same
    titles = [ctx.env.docs[d].title for d in named]
    asked = navigate.without_source(ctx.question, titles) if named else ctx.question
    if asked != ctx.question:
        # "How do I draw an arrow in Asymptote?" is asked of the Asymptote card, not of every
        # manual that draws arrows. Only a question that names its source ("according to /
        # in / from <title>") narrows: a title is document text, and a title that merely
        # shares a question's words must not decide what is read.
        ctx.env = ctx.env.narrowed(named)
        yield from ctx.step("filter", "the question names " + ", ".join(f"“{t}”" for t in titles)
                            + ": reading only " + ("it" if len(named) == 1 else "them"), f"asks of it: {asked}",
                            data={"doc_ids": named, "documents": titles, "asks": asked})
        ctx.question = asked
    if opt.answer_gate and analyse(ctx.question).kind != "aggregate":  # a summary's subject is the selection
        verdict = answerable.precheck(ctx.env, ctx.question)
        if verdict is not None:
            # Nothing in the selection can answer a question about what it never names.
            yield from ctx.step("check", "does the selection mention what the question asks about?", verdict.why,
                                data=verdict.to_dict())
            return (yield from answerable.not_found(ctx, verdict))
    plan = yield from understand(ctx, opt)
    rung, probed = ladder.rung_of_run(ctx.sub, ctx.options.get("ladder"))
    ctx.options["rung"] = rung
    yield from ctx.step("ladder", f"how much the model decides: {rung.name} ({rung.why})", rung.explain,
                        data={**rung.to_dict(), "probe": probed})
    candidates, everything, filter_node = yield from filter_slices(ctx, plan, opt)
    if plan.kind == "aggregate" and asks_summary(ctx.question):
        result = yield from summarise_topic(ctx, candidates, filter_node.id)  # None: no topic, scan it all
        if result is not None:
            return result
    if candidates and sides(ctx.question) is not None:
        result = yield from answer_comparison(ctx, candidates, opt, filter_node.id)
        if result is not None:
            return result
    if plan.kind == "lookup" and not plan.exact:
        # A figure set in a table is a row read with its column labels, not a sentence; an
        # instruction is, when the row names the call (a reference card's "draw arrow with
        # pen | draw(path,pen,Arrow)").
        howto = qshape.shape_of(strip_framing(ctx.question)).kind == "howto"
        result = yield from answer_from_cells(ctx, filter_node.id, needs_code=howto)
        if result is None and not howto:
            # A term set as a line of its own in a list ("p" / "on a special page containing
            # only floats."): the list's caption holds the question, the entry answers it.
            result = yield from answer_from_entry(ctx, filter_node.id)
        if result is not None:
            return result
    elif plan.kind == "lookup" and qshape.shape_of(strip_framing(ctx.question)).kind != "howto":
        # An exact key that labels a table's row, under a header the question names ("What
        # AIC does fm3 have?"), is that row's cell; any other key is read from the text below.
        result = yield from answer_from_cells(ctx, filter_node.id, keys=plan.exact)
        if result is not None:
            return result
    # Exact keys (a code, "quiet-lobster") are found by regex and read by map calls; a
    # quoted title ("Big Stone Gap") only narrows the slices, so sentences are ranked.
    ranked_first = opt.sentence_rank and plan.kind == "lookup" and all(" " in k for k in plan.exact)
    if ranked_first and candidates:
        result = yield from answer_by_sentences(ctx, plan, candidates, opt, filter_node.id)
        if result is not None:
            return result
    if plan.kind == "list":
        # A reference often sets a list as a table: a column headed by what is asked for.
        result = yield from answer_from_table(ctx, filter_node.id)
        if result is None:
            result = yield from answer_from_rows(ctx, filter_node.id)
        if result is None:
            # …or as the rows under a title row ("3D data types" over "3D path | path3").
            result = yield from answer_from_group(ctx, filter_node.id)
        if result is not None:
            return result
    if plan.kind == "list" and not plan.exact and candidates:
        # An open list ("Which functions make a pen…?") is stated in one place: extract it
        # there. Lists keyed by an exact name are read slice by slice below.
        result = yield from answer_list(ctx, candidates, opt, filter_node.id)
        if result is not None:
            return result
    elif plan.kind == "list" and candidates:
        # A name set off by a hyphen ("top-level") is a key, yet the document may lay the
        # list out after a lead-in all the same: read it there before slice by slice.
        result = yield from answer_laid_out(ctx, candidates, opt, filter_node.id)
        if result is not None:
            return result
    findings: list[Finding] = []
    if plan.kind == "list" and candidates:
        findings += yield from read_many(ctx, candidates[:opt.max_list_candidates], plan, opt, parent=filter_node.id)
    elif plan.kind == "lookup" and candidates:
        for cand in candidates[:opt.max_candidates]:
            got = yield from read(ctx, cand, plan, opt, depth=0, parent=filter_node.id, stop_at_first=True)
            if got and opt.answer_gate and not answerable.judge(
                    ctx.env, ctx.question, [(f.slice.doc_id, f.span[0], f.span[1]) for f in got]).ok:
                # A stronger model confirms a quote that only shares the question's words
                # ("R CMD INSTALL add-on packages."): read on rather than end at "not found".
                for f in got:
                    yield from ctx.set_fate(f.node, "discarded", "shares words with the question but does not answer it")
                continue
            findings += got
            update_partial(ctx, findings, plan)
            if findings:
                break  # early stop: a verified answer to a single-answer question
    if not findings and plan.kind == "lookup" and candidates and opt.sentence_rank and not ranked_first:
        # The key's slices were read and the small model confirmed nothing (a name such as
        # "Saint-Clair-sur-Epte" looks like a key but asks an open question): rank their
        # sentences before giving up, the key's slices first.
        result = yield from answer_by_sentences(ctx, plan, everything, opt, filter_node.id)
        if result is not None:
            return result
    if plan.kind == "aggregate" or (not findings and _scan_affordable(ctx, candidates, opt)):
        why = "the question needs the whole selection" if plan.kind == "aggregate" else \
            "filtering found no verified answer" if candidates else "filtering matched nothing"
        return (yield from scan(ctx, plan, opt, why))
    return (yield from answer_from_findings(ctx, findings, plan))


def _scan_affordable(ctx: RunContext, candidates, opt: GuidedOptions) -> bool:
    if not candidates:
        return True  # nothing else to go on: read everything the budget allows
    slices = ctx.env.total_chars() / max(1, slice_limit(ctx, opt))
    return slices <= opt.scan_fallback_calls


# --- understand ------------------------------------------------------------------------------
def understand(ctx: RunContext, opt: GuidedOptions):
    plan = _unkeyed(ctx, analyse(ctx.question))
    if not opt.plan_call:
        yield from ctx.step("plan", "terms read from the question (no model call)", plan.to_dict())
        return plan
    if plan.exact and opt.keyed_without_plan:
        # An exact key ("heron-7", a quoted phrase) decides the search: regex finds it and the
        # code's cues decide lookup or list. The model's plan would only add terms, for about
        # as many tokens as reading the key's slice.
        yield from ctx.step("plan", "the question names an exact key: terms read by code (no model call)", plan.to_dict())
        return plan
    node = ctx.new_node("plan", "understand the question")
    messages = prompts.user(prompts.PLAN_TEMPLATE, question=ctx.question, shape=ctx.env.shape())
    comp = yield from ctx.call(node, ctx.root, messages, template=prompts.PLAN_TEMPLATE,
                               max_tokens=opt.plan_tokens, json_schema=prompts.PLAN_SCHEMA)
    data = parse_json(comp.text) or salvage_fields(comp.text)
    # A small model tends to copy the peek into its terms: keep short ones only.
    echo = norm(prompts.PLAN_TEMPLATE + " " + ctx.env.shape())
    model_terms = [t for t in data.get("terms", []) if isinstance(t, str) and 0 < len(t) <= 30
                   and len(t.split()) <= 2 and norm(t) not in echo
                   and not _echoes_instructions(t, ctx.question)][:3]
    # The model may add search terms and turn a lookup into a list; only the code's own cues
    # start a whole-corpus scan, so a bad plan cannot make a lookup read 1M tokens.
    plan.terms = list(dict.fromkeys(plan.terms + [t for t in model_terms if norm(t) not in map(norm, plan.terms)]))[:14]
    # The model's "list" widens a lookup only where the code sees no single-answer form (a
    # definition, an instruction) and the model is strong enough to be trusted with it: a
    # 135M model answers "list" to "What is a data frame?".
    rung = ladder.rung_for(ctx.sub, ctx.options.get("ladder"))  # by size: the probe comes later
    if data.get("kind") == "list" and plan.kind == "lookup" and qshape.shape_of(ctx.question).kind == "fact" \
            and rung.at_least("veto"):
        plan.kind = "list"
    node.data = {"model": data, "used": plan.to_dict()}
    # The row reads the model's reply; the reason says what the run actually uses, which
    # differs when code overrules the model's kind (a summary the model called a lookup).
    used = f"used: {plan.kind} question, searching {', '.join(plan.terms[:6])}"
    overruled = f" (the model said “{data.get('kind')}”)" if data and data.get("kind") not in (None, plan.kind) else ""
    yield from ctx.set_fate(node, "merged" if data else "discarded",
                            (used + overruled) if data else "unparseable plan: " + used)
    return plan


_HYPHENATED_WORD = re.compile(r"[a-z]+(?:-[a-z]+)+")


def _unkeyed(ctx: RunContext, plan: QuestionTerms) -> QuestionTerms:
    """A hyphenated English word ("a well-made book") looks like a key ("non-free-firmware",
    "add-on"). One the selection never says is the question's wording, not a key an answer
    must stand beside: its words are searched for instead."""
    absent = {k for k in plan.exact if _HYPHENATED_WORD.fullmatch(k)
              and not ctx.env.regex_hits(key_pattern(k), limit=1)}
    if absent:
        plan.exact = [k for k in plan.exact if k not in absent]
        plan.keys = [k for k in plan.keys if k not in absent]
        plan.terms = [t for t in plan.terms if t not in absent]
    return plan


_INSTRUCTION_WORDS = {w.rstrip("s") for w in re.findall(r"[a-z]+", prompts.PLAN_TEMPLATE.lower())}


def _echoes_instructions(term: str, question: str) -> bool:
    """A term built from the plan prompt's own words ("multiple facts", "summary") and not
    from the question is the model echoing its instructions, not a search term."""
    asked = {w.rstrip("s") for w in re.findall(r"[a-z]+", question.lower())}
    return any(w.rstrip("s") in _INSTRUCTION_WORDS and w.rstrip("s") not in asked
               for w in re.findall(r"[a-z]+", term.lower()))


# --- filter ----------------------------------------------------------------------------------
def _with_word_forms(query: str, terms: list[str], question: str) -> str:
    """The query, also matching the other forms of an inflected word ("double spaced" finds
    "double line spacing", "installing" finds "installation"): FTS matches whole tokens, and
    a manual rarely uses the question's own form. Only a word an ending was taken off
    ("spaced", not "double"), by a prefix of four letters or more (a shorter one matches too
    much); and only the question's own words, not the forms the terms already add ("written"
    for "wrote")."""
    asked = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
    forms = []
    for t in terms:
        if not re.fullmatch(r"[A-Za-z]+", t) or t.lower() not in asked:
            continue
        prefix = sn.search_prefix(sn.stem(t))
        if len(prefix) >= 4 and len(t) - len(prefix) >= 2:
            forms.append(prefix + "*")
    forms = list(dict.fromkeys(forms))
    return " OR ".join([query] + forms) if query and forms else query


def filter_slices(ctx: RunContext, plan: QuestionTerms, opt: GuidedOptions):
    env = ctx.env
    scored: dict[tuple[int, int], tuple[float, SliceRef, str]] = {}
    query = _with_word_forms(fts_query(plan.terms), plan.terms, plan.question)
    sources = {"regex": 0, "fts": 0}

    def consider(doc_id: int, a: int, b: int, bonus: float, source: str):
        w = env.window(doc_id, a, b, opt.window_chars)
        for key, (_, s, _) in scored.items():
            if key[0] == doc_id and s.char_start <= (a + b) // 2 < s.char_end:
                return key  # this hit is already inside a chosen window
        text = env.slice_text(w)
        # Terms close together (one sentence) say more than terms spread over a page.
        near = _cluster(text, plan.terms, 300)
        score = (bonus + 2 * near + sum(3 for k in plan.exact if _has(text, k))
                 + sum(1 for t in plan.terms if _has(text, t)))
        scored[(doc_id, w.char_start)] = (score, w, source)
        sources[source] += 1
        return (doc_id, w.char_start)

    for key in plan.exact + [k for k in plan.keys if k not in plan.exact][:4]:
        for doc_id, a, b in env.regex_hits(key_pattern(key), limit=20):
            consider(doc_id, a, b, 2.0 if key in plan.exact else 0.5, "regex")
    hits = []
    if query:
        try:
            hits = ctx.store.search(query, doc_ids=env.doc_ids, limit=20)
        except ValueError:
            hits = []  # a query that FTS cannot parse: regex and scan still work
    # BM25 weighs a name the question is about by its rarity, and "R" is on every page of an R
    # manual: passages that name it and share the question's other words are searched for too.
    others = [t for t in plan.terms if t.lower() not in {n.lower() for n in plan.names}]
    if query and plan.names and others:
        named = " AND ".join(fts_query([n]) for n in plan.names) + " AND (" + fts_query(others) + ")"
        try:
            seen = {h.chunk_id for h in hits}
            named_hits = [h for h in ctx.store.search(named, doc_ids=env.doc_ids, limit=20) if h.chunk_id not in seen]
        except ValueError:
            named_hits = []
        hits = [h for pair in zip_longest(hits, named_hits) for h in pair if h is not None]
    top = max((h.rank for h in hits), default=1.0) or 1.0
    bm25_order = []
    rarity = _term_weights(env, plan.terms) if hits else {}
    for h in hits:
        chunk = env.text(h.doc_id)[h.char_start:h.char_end]
        anchor = _densest(chunk, plan.terms, 300, rarity)
        key = consider(h.doc_id, h.char_start + anchor, h.char_start + anchor + 1, max(0.0, h.rank / top), "fts")
        if key not in bm25_order:
            bm25_order.append(key)
    by_terms = sorted(scored, key=lambda k: -scored[k][0])
    # Term counts favour common words; BM25 weighs rare ones. Alternate the two orders so
    # the best BM25 slices (what a rag baseline would read) are always among the first read.
    order = list(dict.fromkeys(k for pair in zip_longest(by_terms, bm25_order[:opt.max_list_candidates]) for k in pair if k))
    ranked = [scored[k][1] for k in order]
    keyed = ranked
    if plan.exact:
        # The question names an exact key: slices without it cannot answer (they hold the
        # distractors), so when some slices have it, only those are read.
        keyed = [s for s in ranked if any(_has(env.slice_text(s), k) for k in plan.exact)] or ranked
    ctx.checkpoint()
    node = yield from ctx.step(
        "filter", f"search: {query or '(no terms)'}",
        {"query": query, "regex_keys": plan.exact, "fts_hits": len(hits), "candidates": [s.describe() for s in keyed[:12]]},
        data={"candidates": [s.to_dict() for s in keyed], "sources": sources},
    )
    # Also every slice in order of score: a key can be an ordinary hyphenated word ("add-on
    # packages"), and the sentence ranking that follows when no map call confirms an
    # answer must still see the slices that say it without the hyphen.
    return keyed, ranked, node


def _has(text: str, term: str) -> bool:
    return re.search(key_pattern(term), text, re.I) is not None


def _cluster(text: str, terms: list[str], size: int) -> int:
    """Most distinct terms found within `size` chars of one another."""
    hits = [(m.start(), t.lower()) for t in terms for m in re.finditer(key_pattern(t), text, re.I)]
    return max((len({t for p, t in hits if 0 <= p - h[0] <= size}) for h in hits), default=0)


def _term_weights(env, terms: list[str]) -> dict[str, float]:
    """Each search term's rarity in the selection (the idf of its rarest word)."""
    stems = {t.lower(): sn.content_words(t) for t in terms}
    idf = sn.weights(env, set().union(*stems.values())) if stems else {}
    return {t: max((idf.get(w, 0.0) for w in ws), default=0.0) for t, ws in stems.items()}


def _densest(text: str, terms: list[str], size: int, rarity: dict[str, float] | None = None) -> int:
    """Offset in text of the term occurrence with the most distinct terms within size/2,
    each weighed by its rarity: BM25 chose the chunk for its rare words ("phone" in a LaTeX
    manual), and a window around its common ones ("two lines") may leave them out."""
    hits = []
    for t in terms:
        for m in re.finditer(key_pattern(t), text, re.I):
            hits.append((m.start(), t.lower()))
    if not hits:
        return 0
    weight = (lambda t: rarity.get(t, 0.0) or 0.1) if rarity else (lambda t: 1.0)
    best = max(hits, key=lambda h: sum(weight(t) for t in {t for p, t in hits if abs(p - h[0]) <= size // 2}))
    return best[0]

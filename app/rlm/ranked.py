"""Guided mode's answer to an open lookup: rank sentences in code, let the model break
ties, follow one hop when the question asks through another entity.

    filter (slices) -> rank sentences (idf, code) -> check the best few (model, P(yes))
                    -> [hop: search names from the best sentence, rank, check] -> answer

The answer is the chosen sentence itself (for a number question, led by its number phrase),
cited to its page: what the analyst reads is verbatim document text, never a paraphrase
by a 135M model. Returns None when no sentence holds enough of the question, so the
caller falls back to reading slices with map calls.
"""

from __future__ import annotations

import math
import re

from app.rlm import answerable, compose, hygiene, navigate, prompts, qshape, semantic, xref
from app.rlm import sentences as sn
from app.rlm.events import AnswerDelta
from app.rlm.compose import maybe_compose
from app.rlm.evidence import as_digits, number_phrase
from app.rlm.terms import analyse, asking, key_pattern, strip_framing
from app.rlm.trace import Citation


def answer_by_sentences(ctx, plan, candidates, opt, parent: str):
    # The question's words and what its question word asks for ("how old" -> age, years),
    # read by code; a small model's plan terms are too noisy to weigh sentences with.
    wanted = sn.content_words(strip_framing(ctx.question) + " " + " ".join(analyse(ctx.question).terms))
    asks = asking(strip_framing(ctx.question))
    if all(len(w) <= 2 for w in sn.content_words(asks)):
        # Question words and a short name only ("Why is R named R?"), after any scene: the
        # softer question words say what about the name is asked.
        wanted |= sn.soft_words(asks)
    if not wanted:
        return None
    names = sn.names_in(strip_framing(ctx.question))
    shape = qshape.shape_of(strip_framing(ctx.question))
    # The place a definition is asked in ("What is a package pool in the Debian archive?") is
    # context too: the sentence that defines the term need not repeat it. Names stay whole:
    # "in Asymptote" says which manual.
    scene = sn.scene_words(strip_framing(ctx.question)) | (sn.content_words(shape.context) - names - shape.subject_words)
    idf = {w: v * (SCENE_WEIGHT if w in scene else 1.0) for w, v in sn.weights(ctx.env, wanted).items()}
    sections = navigate.matching_sections(ctx.env, wanted, idf, question=strip_framing(ctx.question))
    # A section titled like the question is read first, from its heading: manuals define
    # and instruct in a section's opening sentences.
    openings = [navigate.opening(ctx.env, m, opt.window_chars) for m in sections]
    # Where a term is defined ("A factor is a vector object…") need not share the question's
    # other words, so a definition question also searches for that form.
    pattern = qshape.definition_pattern(shape)
    defined = [ctx.env.window(d, a, b, opt.window_chars // 2) for d, a, b in ctx.env.regex_hits(pattern, limit=4)] if pattern else []
    # A value stated of a numbered subject ("Debian 2.2") may name it only sentences before:
    # the passages naming it are read too (sentences.carry_subject).
    subject = sn.numbered_subject(strip_framing(ctx.question)) if plan.expects_number else ""
    named = [ctx.env.window(d, a, b, opt.window_chars) for d, a, b in
             ctx.env.regex_hits(r"\b" + r"\s+".join(map(re.escape, subject.split())) + r"(?![\w.]*\w)", limit=4)] if subject else []
    slices = _merge_slices(openings + defined, named + list(candidates[:opt.sentence_slices]))
    acronyms = qshape.spelled_acronyms(strip_framing(ctx.question))
    ranked = sn.rank(ctx.env, slices, wanted, idf, expects_number=plan.expects_number, names=names,
                     also_holds=lambda sw: qshape.alias_hits(sw, shape) | qshape.acronym_hits(sw, acronyms),
                     bonus=_bonus(ctx.env, shape, sections, qshape.code_names(strip_framing(ctx.question))
                                  # a version or code with figures the question names ("1.5-2"):
                                  # the sentence naming it is about the case asked
                                  + [k for k in plan.exact if re.search(r"\d", k)],
                                  strip_framing(ctx.question)))
    if subject:
        boosted = {w: v * (sn.NAME_BOOST if w in names else 1.0) for w, v in idf.items()}
        ranked = sn.carry_subject(ctx.env, ranked, subject, boosted, sn.total_weight(wanted, idf, names))
    meaning = semantic.add_meaning(ctx, ranked, sn.total_weight(wanted, idf, names))
    ranked = [r for r in ranked if semantic.kept(r, opt.min_coverage)]
    ranked.sort(key=lambda r: -r.score)
    ctx.checkpoint()
    node = yield from ctx.step(
        "filter", f"rank sentences of {len(slices)} slices by rare question words"
                  + (f" and by meaning ({meaning['model']})" if meaning else "")
                  + (f", sections titled like the question first ({'; '.join(m.describe() for m in sections)})" if sections else "")
                  + (f", preferring a {shape.kind}'s form" if shape.kind != "fact" else ""),
        _table(ranked), parent=parent,
        data={"idf": {w: round(v, 2) for w, v in sorted(idf.items(), key=lambda kv: -kv[1])},
              "min_coverage": opt.min_coverage, "shape": shape.to_dict(),
              "sections": [{"title": m.section.title, "doc_id": m.section.doc_id, "page": m.section.page_start,
                            "score": round(m.score, 3)} for m in sections],
              **({"meaning": meaning} if meaning else {})})
    if not ranked:
        yield from ctx.set_fate(node, "discarded", "no sentence holds enough of the question: reading slices instead")
        return None
    best, checks = yield from _choose(ctx, ranked, opt, node.id, depth=0)
    if best is None:
        return None  # every checked sentence was vetoed: read slices instead
    rung = ctx.options.get("rung")
    if rung is not None and rung.at_least("veto"):
        best = yield from _pick(ctx, best, ranked, checks, node)
    if ctx.options.get("answer_gate", True) and not sn.hops(ctx.question):
        best = yield from _answerable_first(ctx, best, ranked, checks, node)
    followed = yield from _follow(ctx, best, wanted, idf, shape, opt, node.id)
    # What a reference leads to answers only if it holds as much of the question as the next
    # sentence checked here; a sentence that only refers ("See … in Section 2.7.13.") is
    # where to read, never the answer itself.
    runner = next((r for r in ranked if r is not best and id(r) in checks and not checks[id(r)].fate_reason.startswith("vetoed")
                   and not xref.only_refers(r.text)), None)  # a vetoed sentence answers nothing
    if followed is not None and runner is not None and followed[0].coverage < runner.coverage:
        yield from ctx.set_fate(followed[1], "discarded", "it holds less of the question than the next sentence checked")
        followed = None
    if followed is None and xref.only_refers(best.text) and runner is not None:
        yield from ctx.set_fate(checks[id(best)], "discarded", "it only refers elsewhere: the next sentence answers")
        best = runner
    if followed is not None:
        yield from ctx.set_fate(checks[id(best)], "merged", "it refers to another part of the document, which was read")
        best, read_there = followed
        checks[id(best)] = read_there
    chain = [(best, checks[id(best)])]
    rival = _disagreeing(ctx, best, ranked, wanted)
    if rival is not None:
        return (yield from _disagreement(ctx, best, checks[id(best)], rival, node))
    if rung is not None and rung.at_least("compose") and not sn.hops(ctx.question):
        composed = yield from _composed(ctx, best, ranked, checks, node)
        if composed is not None:
            return composed
    if sn.hops(ctx.question):
        second = yield from _hop(ctx, best, wanted, idf, opt, node.id)
        if second is not None:
            chain.append(second)
    return (yield from _answer(ctx, chain, plan))


def _follow(ctx, best, wanted, idf, shape, opt, parent: str):
    """The best sentence, or the one right after it, refers elsewhere in its document ("…in a
    named data block for repeated plotting. See inline data (p. 48)."): the referenced part
    is read and ranked for the question. Returns (sentence, node) from there when one holds
    enough of the question, else None (the referring sentence stands)."""
    text = ctx.env.text(best.doc_id)
    after = text[best.end:best.end + 300]
    spans = sn.clauses(after)
    said = best.text + (" " + after[spans[0][0]:spans[0][1]] if spans and not after[:spans[0][0]].count("\n\n") else "")
    for ref in xref.references(said)[:2]:
        where = xref.resolve(ctx.env, best.doc_id, ref, best.start)
        if where is None:
            continue
        a, b, name = where
        s = ctx.env.slice(best.doc_id, a, b)
        ranked = [r for r in sn.rank(ctx.env, [s], wanted, idf, bonus=_bonus(ctx.env, shape, []))
                  if r.coverage >= opt.min_coverage]
        node = yield from ctx.step("filter", f"follow the reference “{ref.text}” to {name}", _table(ranked),
                                   parent=parent, slice=s, data={"reference": ref.text, "target": name})
        if not ranked:
            yield from ctx.set_fate(node, "discarded", "nothing there holds enough of the question")
            continue
        return ranked[0], node
    return None


# How much a sentence's form and place add, as shares of the question's whole idf weight:
# enough to order sentences holding the same words, not to lift one that lacks most of them.
DEFINES_BONUS = 0.45  # the subject of a definition question is the sentence's own subject ("X is a…")
EXPANDS_BONUS = 0.35  # it spells out the acronym asked about
SECTION_BONUS = 0.3  # it sits in a section titled like the question (times the title's match)
OPENING_BONUS = 0.15  # ...within that section's opening
CODE_BONUS = 0.15  # a how-to's sentence names a command or function, or instructs in the imperative
NAMED_CODE_BONUS = 0.3  # it names the function the question names ("read.table()"), not only its words
SCENE_WEIGHT = 0.5  # a word only the scene says ("I use R a lot. Why is R named R?") sets context
DEFAULT_BONUS = 0.4  # a question about what holds when nothing is said: the sentence states a default
BOUND_BONUS = 0.4  # a question asking for a limit: the sentence states one, with its figure
PERSON_BONUS = 0.1  # a "who" question's sentence names a person the question does not


def _bonus(env, shape, sections, code=(), asked: str = ""):
    """asked: the question, when it asks who: a sentence naming someone it does not name
    ("…the excellent Asymptote tutorial written by Charles Staats") answers it."""
    own = sn.content_words(asked) if qshape.asks_person(asked) else None
    default = qshape.asks_default(asked)
    bound = qshape.asks_bound(asked)

    def score(doc_id: int, start: int, text: str, total: float, raw: str = "") -> float:
        add = NAMED_CODE_BONUS if any(qshape.mentions(text, c) for c in code) else 0.0
        if own is not None and qshape.names_person(text, own):
            add += PERSON_BONUS
        if default and qshape.states_default(text):
            add += DEFAULT_BONUS
        if bound and qshape.states_bound(text):
            add += BOUND_BONUS
        if shape.kind == "definition":
            add += DEFINES_BONUS * max(qshape.defines(text, shape),
                                       1.0 if qshape.entry_for(raw, shape.subject_words) else 0.0)
            if not shape.aliases and qshape.expands(text, shape.acronym):  # the question spelled it out itself
                add += EXPANDS_BONUS
        elif shape.kind == "howto" and (qshape.names_code(text, raw) or qshape.instructs(text) or _instruction_after(
                env, sn.Ranked(0.0, 0.0, doc_id, start, start + len(raw), text, frozenset()))):
            add += CODE_BONUS
        in_section, at_opening = navigate.section_bonus(env, sections, doc_id, start)
        if in_section:
            add += SECTION_BONUS * in_section + OPENING_BONUS * at_opening
        return add * total
    return score


def _remedy(env, r):
    """The next sentence, where `r` states a situation without saying what to do and that
    sentence says it: "It is quite common for a file exported from a spreadsheet to have all
    trailing empty fields omitted." then "To read such files set fill = TRUE."; else None."""
    if qshape.names_code(r.text) or qshape.instructs(r.text):
        return None
    return _instruction_after(env, r)


def _instruction_after(env, r):
    """The sentence after `r` in its paragraph when it instructs or names a setting, else None."""
    nxt = sn.next_sentence(env, r)
    return nxt if nxt is not None and (qshape.names_code(nxt.text) or qshape.instructs(nxt.text)) else None


def _merge_slices(first, rest):
    """first, then rest, without exact repeats. Overlapping slices both stay: a search hit's
    window that overlaps a section's opening may hold the sentence just above the heading,
    and rank() reads each distinct sentence once."""
    out, seen = [], set()
    for s in list(first) + list(rest):
        key = (s.doc_id, s.char_start, s.char_end)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


VETO_BELOW = 0.2  # on the veto rung, a sentence the model gives less P(yes) than this is dropped
# On the compose rung, prose may leave out the code's choice when the model leaned "no" on it
# when judging it alone, and "yes" on another (_doubted): two of the model's judgements then
# agree against the code's ranking.
DOUBT_BELOW = 0.5


def _table(ranked) -> str:
    lines = [f"{r.score:5.2f}  {r.coverage:4.0%}" + (f"  {r.meaning:+.2f}" if r.meaning is not None else "")
             + f"  {r.text[:110]}" for r in ranked[:8]]
    return "\n".join(lines) or "(no sentence holds enough of the question)"


def _choose(ctx, ranked, opt, parent: str, depth: int):
    """Ask the model about the best few; its P(yes) moves each score a little."""
    top = ranked[0].score or 1.0
    checked, nodes = [], {}
    # The model breaks ties, so every sentence tied (near enough) with the last one checked
    # is checked too, up to twice the usual number.
    n = opt.sentence_checks
    while n < min(len(ranked), 2 * opt.sentence_checks) and ranked[n].score >= 0.9 * ranked[n - 1].score:
        n += 1
    for r in ranked[:n]:
        ctx.checkpoint()
        s = ctx.env.slice(r.doc_id, r.start, r.end)
        node = ctx.new_node("map", f"does this answer it? {s.describe()}", parent=parent, depth=depth, slice=s)
        # The sentence with the text just before it: "that Office" is the President's only
        # in the clause before, and a model judging the sentence alone cannot know it.
        messages = prompts.user(prompts.SENTENCE_TEMPLATE, question=ctx.question, slice=(sn.lead_in(ctx.env, r.doc_id, r.start) + " " + r.text).strip())
        comp = yield from ctx.call(node, ctx.sub, messages, template=prompts.SENTENCE_TEMPLATE, max_tokens=1,
                                   grammar=prompts.VERIFY_GRAMMAR, choices=("yes", "no"))
        lp = comp.choice_logprobs or {}
        p_yes = math.exp(lp["yes"]) if "yes" in lp else (1.0 if comp.text.strip().lower().startswith("y") else 0.0)
        combined = r.score / top + opt.yes_weight * p_yes
        node.data.update({"score": round(r.score, 3), "coverage": round(r.coverage, 3), "p_yes": round(p_yes, 3),
                          "combined": round(combined, 3), "matched": sorted(r.matched)})
        checked.append((combined, r))
        nodes[id(r)] = node
        if depth == 0 and _decide(checked, opt.vote_margin) is r:
            # The best so far is the answer if a budget or a stop ends the run here.
            ctx.partial.answer, ctx.partial.citations = f"{hygiene.quoted(r.text)} [1]", [_cite(ctx, 1, r, node)]
    rung = ctx.options.get("rung")
    if rung is not None and rung.at_least("veto"):
        vetoed = [(c, r) for c, r in checked if nodes[id(r)].data.get("p_yes", 1.0) < VETO_BELOW]
        if vetoed:
            yield from ctx.step("veto", f"the model says {len(vetoed)} of {len(checked)} sentences do not answer",
                                "\n".join(f"P(yes) {nodes[id(r)].data['p_yes']:.2f}  {r.text[:100]}" for _, r in vetoed),
                                parent=parent, depth=depth, data={"threshold": VETO_BELOW})
            for _, r in vetoed:
                yield from ctx.set_fate(nodes[id(r)], "discarded",
                                        f"vetoed: the model says it does not answer (P(yes) {nodes[id(r)].data['p_yes']:.2f})")
            checked = [(c, r) for c, r in checked if (c, r) not in vetoed]
            if not checked:
                return None, nodes
    best = _decide(checked, opt.vote_margin)
    for _, r in checked:
        if r is not best:
            yield from ctx.set_fate(nodes[id(r)], "discarded", "another sentence scored higher")
    return best, nodes


PICK_PASSAGES = 5  # passages the model reads side by side on the veto rung and above
PICK_CHARS = 480  # of each: the sentence and the words before it, enough to tell what it is about
# The model's pick overrules the code's choice only when the model is this sure of it: a
# vote spread over two passages is a model that cannot tell them apart, and then the
# code's ranking, which is the same on every machine, decides.
PICK_SURE = 0.6


def _pick(ctx, best, ranked, checks, parent_node):
    """The model reads the best few passages from different places side by side and names
    the one that answers; a sure pick other than the code's choice replaces it, even one it
    vetoed when judging sentences alone. Returns the passage to answer from (its node is in
    `checks`)."""
    # Vetoed sentences are offered too: read side by side with its rivals, a sentence the
    # model said "no" to alone ("Copyright © … Thomas Williams, Colin Kelley" for "Who are
    # the original authors of gnuplot?") can still be the one that answers.
    passages = compose.pick_passages(best, ranked, lambda r: False, limit=PICK_PASSAGES)
    if len(passages) < 2:
        return best
    ctx.checkpoint()
    listing = "\n".join(f"[{i}] {compose.passage_text(ctx, r.doc_id, r.start, r.text, 160)[:PICK_CHARS]}"
                        for i, r in enumerate(passages, 1))
    choices = tuple(str(i) for i in range(len(passages) + 1))
    node = ctx.new_node("pick", f"which of the {len(passages)} best passages answers?", parent=parent_node.id,
                        slice=ctx.env.slice(best.doc_id, best.start, best.end))
    messages = prompts.user(prompts.PICK_TEMPLATE, question=ctx.question, slice=listing)
    comp = yield from ctx.call(node, ctx.sub, messages, template=prompts.PICK_TEMPLATE, max_tokens=1,
                               grammar="root ::= " + " | ".join(f'"{c}"' for c in choices), choices=choices)
    lp = comp.choice_logprobs or {}
    probs = {k: math.exp(v) for k, v in lp.items()} if lp else {comp.text.strip()[:1]: 1.0}
    choice = max(probs, key=probs.get)
    sure = probs.get(choice, 0.0)
    node.data.update({"passages": [{"n": i, "doc_id": r.doc_id, "start": r.start, "text": r.text[:200]}
                                   for i, r in enumerate(passages, 1)],
                      "p": {k: round(v, 3) for k, v in sorted(probs.items())}, "picked": choice})
    if choice not in choices[2:] or sure < PICK_SURE:
        why = ("the model picks the code's choice" if choice == "1" else
               "the model says none answers: the code's checked choice stands" if choice == "0" else
               f"the model leans to passage {choice}, not surely: the code's choice stands")
        yield from ctx.set_fate(node, "merged", f"{why} (P {sure:.2f})")
        return best
    picked = passages[int(choice) - 1]
    old = checks.get(id(best))
    if old is not None:
        yield from ctx.set_fate(old, "discarded", f"the model picked passage {choice} of {len(passages)} instead")
    if id(picked) in checks:
        yield from ctx.set_fate(node, "merged", f"the model picked passage {choice} (P {sure:.2f}) over the code's choice")
    else:
        node.slice = ctx.env.slice(picked.doc_id, picked.start, picked.end)  # the pick is this node's evidence
        checks[id(picked)] = node
    node.data["overruled"] = True
    return picked


def _decide(checked, margin: float):
    """The code's best sentence stands unless another beats it by more than `margin` once
    the model's P(yes) is added: a vote inside the margin is noise (it differs between
    CPU builds of the same model) and must not pick the answer. Among sentences that do
    beat it clearly, the highest combined score wins; equal ones keep the code's order."""
    first = checked[0]
    challengers = [c for c in checked[1:] if c[0] > first[0] + margin]
    return max(challengers, key=lambda c: c[0])[1] if challengers else first[1]


def _hop(ctx, first, wanted, idf, opt, parent: str):
    """Second hop: the question names its answer through an entity the first sentence
    names ("the woman who portrayed Corliss Archer" -> "Shirley Temple"). Sentences
    about that entity are ranked by the question words the first sentence lacked."""
    missing = {w for w in wanted if w not in first.matched}
    for name in sn.bridges(first.text, ctx.question):
        hits = ctx.env.regex_hits(key_pattern(name), limit=40)
        windows, seen = [], set()
        for doc_id, a, b in hits:
            w = ctx.env.window(doc_id, a, b, opt.window_chars)
            if (doc_id, w.char_start) not in seen:
                seen.add((doc_id, w.char_start))
                windows.append(w)
        ranked = [r for r in sn.rank(ctx.env, windows, missing or wanted, idf, must=name, with_next=True)
                  if r.text != first.text and not (r.doc_id == first.doc_id and r.start < first.end and first.start < r.end)]
        if not ranked:
            continue
        node = yield from ctx.step("filter", f"second hop: sentences about “{name}”", _table(ranked), parent=parent,
                                   depth=1, data={"bridge": name, "missing": sorted(missing)})
        best, nodes = yield from _choose(ctx, ranked, opt, node.id, depth=1)
        return (best, nodes[id(best)]) if best is not None else None
    return None


def _cite(ctx, n: int, r, node) -> Citation:
    quote = ctx.env.text(r.doc_id)[r.start:r.end].strip()
    return Citation(n, node.id, r.doc_id, ctx.env.docs[r.doc_id].title, ctx.env.page_at(r.doc_id, r.start),
                    quote, r.start, r.end)


# "<the question's last word> is <value>": how a passage states the value of what is asked.
_STATES = r"\b{word}[\w'-]*\s+(?:is|are|was|were|equals|reads|=|:)\s+(?P<value>[^\s,;]+(?:\s+[^\s,;]+){{0,2}}?)(?=[\s,;.]|$)"


def _value(sentence: str, last_word: str) -> str:
    m = re.search(_STATES.format(word=sn.prefix_pattern(last_word)), sentence, re.I)
    return " ".join(m.group("value").split()).strip(".\"'”’").lower() if m else ""


def _disagreeing(ctx, best, ranked, wanted):
    """Another passage that holds the question as fully as the chosen one and states a
    different value for it ("…the Ellery archive is 31-17-42" and "…is HACKED"): a
    tie-break must not pick between sources silently."""
    if re.match(r"\W*(?:why|how)\b(?!\s+(?:many|much|old|long|far|big|large|tall)\b)", asking(strip_framing(ctx.question)), re.I):
        return None  # a reason or a method is asked for, not a value two sources could state differently
    # The question's last content word names the thing whose value is asked ("…the Ellery archive").
    ordered = [sn.stem(w) for w in re.findall(r"[A-Za-z][\w'-]*", strip_framing(ctx.question)) if sn.stem(w) in wanted]
    if not ordered:
        return None
    last = ordered[-1]
    mine = _value(best.text, last)
    if not mine:
        return None
    shape = qshape.shape_of(strip_framing(ctx.question))
    # A plain definition ("A factor is a vector object…") has rivals only in sentences that
    # also say what the term is; "The levels of factors are stored…" says something else.
    definition = shape.kind == "definition" and qshape.defines(best.text, shape) >= 1.0
    for r in ranked[:8]:
        if r is best or r.coverage < best.coverage - 1e-9:
            continue
        if r.doc_id == best.doc_id and abs(r.start - best.start) < 300:
            continue  # the same passage, read twice
        if definition and not qshape.defines(r.text, shape):
            continue
        theirs = _value(r.text, last)
        if theirs and theirs != mine and theirs not in mine and mine not in theirs:
            return r
    return None


def _disagreement(ctx, best, best_node, rival, parent_node):
    s = ctx.env.slice(rival.doc_id, rival.start, rival.end)
    node = yield from ctx.step("check", "two sources state different values", f"{best.text}\n---\n{rival.text}",
                               parent=parent_node.id, slice=s, data={"values": [best.text, rival.text]})
    cites = [_cite(ctx, 1, best, best_node), _cite(ctx, 2, rival, node)]
    if ctx.options.get("answer_gate", True):
        verdict = yield from answerable.gate(ctx, cites)
        if not verdict.ok:
            return (yield from answerable.not_found(ctx, verdict))
    answer = ("The sources disagree:\n"
              f"- {hygiene.quoted(best.text)} [1]\n- {hygiene.quoted(rival.text)} [2]")
    yield from ctx.set_fate(best_node, "cited", "one of two sources that disagree")
    yield from ctx.set_fate(node, "cited", "the other source, which states a different value")
    ctx.partial.answer, ctx.partial.citations = answer, cites
    yield from ctx.step("final", "the sources disagree: both are quoted", answer,
                        data={"citations": [c.to_dict() for c in cites]})
    yield AnswerDelta(answer)
    return answer, cites


def _doubted(checks, best) -> bool:
    """The model, judging sentences one by one, leaned "no" on the code's choice and "yes"
    on another: a model that says "no" to every sentence (as a 1.5B coder does to "A UPG
    is created whenever…" and each of its neighbours) tells nothing about this one."""
    p = {key: node.data.get("p_yes") for key, node in checks.items() if node is not None}
    mine = p.get(id(best))
    return mine is not None and mine < DOUBT_BELOW and any(
        v is not None and v >= DOUBT_BELOW for key, v in p.items() if key != id(best))


def _composed(ctx, best, ranked, checks, parent_node):
    """The compose rung: the model reads the best few passages, not only the code's choice,
    and answers from those it cites. None (nothing checkable, or the model says none
    answers): keep the extractive answer."""
    def vetoed(r):
        node = checks.get(id(r))
        return node is not None and node.data.get("p_yes", 1.0) < VETO_BELOW

    passages = compose.pick_passages(best, ranked, vetoed)
    result = yield from compose.compose_passages(
        ctx, passages, lambda n, r, node: _cite(ctx, n, r, checks.get(id(r)) or node), parent=parent_node.id,
        doubted=_doubted(checks, best))
    if result is None:
        return None
    answer, cites = result
    if ctx.options.get("answer_gate", True):
        verdict = yield from answerable.gate(ctx, cites)
        if not verdict.ok:
            return (yield from answerable.not_found(ctx, verdict))
    cited = {c.node_id for c in cites}
    for r, node in ((r, checks[id(r)]) for r in passages if id(r) in checks):
        if node.id in cited:
            yield from ctx.set_fate(node, "cited", "a passage the composed answer cites")
        else:
            yield from ctx.set_fate(node, "discarded", "the composed answer does not use it")
    ctx.partial.answer, ctx.partial.citations = answer, cites
    yield from ctx.step("final", f"answer composed by the model from {len(cites)} of the {len(passages)} best passages",
                        answer, data={"citations": [c.to_dict() for c in cites]})
    yield AnswerDelta(answer)
    return answer, cites


def _whole(ctx, r, shape):
    """(the statement `r` belongs to, whether it reaches beyond `r`): the sentence with the
    one before it when it speaks through that one, with what a lead-in introduces, or with
    a next sentence that goes on saying it."""
    went_on = False
    # "This enables the int system() calls…" says what it enables only with the sentence
    # before it, which names the option: the answer quotes both.
    earlier = sn.antecedent(ctx.env, r)
    if earlier is not None:
        r, went_on = earlier, True
    listed = sn.listed(ctx.env, r)
    if listed is not None:
        # "…execute the commands:" says nothing without the commands: the answer carries them.
        if shape.kind == "fact" and not sn.items_after(ctx.env, r):
            # "…choosing the interquartile range … as the summary statistic:", the commands,
            # then "The … p value of 0.78 indicates…": the value asked for is past the
            # commands (whose own figures are code, not values).
            holds = qshape.value_form(strip_framing(ctx.question), analyse(ctx.question).expects_number)
            if holds is not None and not holds(r.text):
                past = sn.Ranked(listed.score, listed.coverage, listed.doc_id, listed.start, listed.end, r.text,
                                 listed.matched)  # the lead-in's words, read on from the commands' end
                longer = sn.read_on(ctx.env, past, holds, sn.content_words(strip_framing(ctx.question)))
                if longer is not None:
                    return longer, True
        return listed, True
    if shape.kind == "howto":
        example = sn.with_example(ctx.env, r)
        if example is not None:
            return example, True
        remedy = _remedy(ctx.env, r)
        if remedy is not None:
            return sn.through(ctx.env, r, remedy.end), True
    if shape.kind == "fact":
        # The value asked for (a number, an e-mail address) may come a sentence or two
        # later than the words that match the question: the answer quotes up to it.
        plan = analyse(ctx.question)
        longer = sn.read_on(ctx.env, r, qshape.value_form(strip_framing(ctx.question), plan.expects_number),
                            sn.content_words(strip_framing(ctx.question)))
        if longer is not None:
            return longer, True
    if shape.kind in ("fact", "definition"):
        # The statement may go on in the next sentence ("If neither of these is given, the
        # default by=1 is assumed."): the answer quotes both.
        subjects = [shape.acronym, shape.subject] if shape.kind == "definition" else []
        longer = sn.continuation(ctx.env, r, subjects)
        if longer is not None:
            # "…designed to do all of these things well. Their strengths are" then the items.
            return sn.listed(ctx.env, longer) or longer, True
    return r, went_on


RESCUE_DEPTH = 8  # best-ranked sentences looked at when the first choice cannot answer
RESCUE_SHARE = 0.6  # of the first choice's score a replacement must have: a near rival, not any sentence


def _answerable_first(ctx, best, ranked, checks, parent_node):
    """The chosen sentence, unless the answer gate would reject it and a near rival from
    another place holds what it lacks: that rival. "To uninstall a Linux binary
    distribution…" from another program's manual holds most words of "How do I uninstall
    R…?" but never names R; ending at "not found" while a sentence almost as good (at
    least RESCUE_SHARE of its score) passes the gate would be a false "not found"."""
    shape = qshape.shape_of(strip_framing(ctx.question))
    rung = ctx.options.get("rung")

    def judged(r):
        whole, _ = _whole(ctx, r, shape)
        return answerable.judge(ctx.env, ctx.question, [(whole.doc_id, whole.start, whole.end)])

    first = judged(best)
    if first.ok:
        return best
    for r in ranked[:RESCUE_DEPTH]:
        if r is best or r.score < RESCUE_SHARE * best.score:
            continue
        if r.doc_id == best.doc_id and r.start < best.end and best.start < r.end:
            continue
        node = checks.get(id(r))
        if rung is not None and rung.at_least("veto") and node is not None and node.data.get("p_yes", 1.0) < VETO_BELOW:
            continue
        if not judged(r).ok:
            continue
        step = yield from ctx.step(
            "check", "the best sentence does not answer the question: the next that does is read instead",
            f"{first.why}\n---\n{r.text}", parent=parent_node.id, slice=ctx.env.slice(r.doc_id, r.start, r.end),
            data={"rejected": best.text[:300], "verdict": first.to_dict()})
        old = checks.get(id(best))
        if old is not None:
            yield from ctx.set_fate(old, "discarded", f"does not answer the question: {first.why}")
        checks.setdefault(id(r), step)
        return r
    return best


def _answer(ctx, chain, plan):
    shape = qshape.shape_of(strip_framing(ctx.question))
    went_on = False
    if len(chain) == 1:
        whole, went_on = _whole(ctx, chain[0][0], shape)
        chain = [(whole, chain[0][1])]
    cites, parts = [], []
    for n, (r, node) in enumerate(chain, 1):
        cites.append(_cite(ctx, n, r, node))
        parts.append(f"{hygiene.quoted(r.text)} [{n}]")
    if ctx.options.get("answer_gate", True):
        verdict = yield from answerable.gate(ctx, cites)
        if not verdict.ok:
            return (yield from answerable.not_found(ctx, verdict))
    for n, (r, node) in enumerate(chain, 1):
        yield from ctx.set_fate(node, "cited", "best-ranked sentence" + (" of the second hop" if n > 1 else ""))
    last = chain[-1][0].text
    # A statement over two sentences may hold several numbers: which one answers is for the
    # reader to see, not for a value picked by nearness to lead.
    stated = chain[-1][0]
    if stated.stated_at >= 0 and not went_on:
        # Read from the sentence naming its subject: the value is the one its own sentence states.
        last = ctx.env.text(stated.doc_id)[stated.stated_at:stated.end]
    short = number_phrase(last, plan) if plan.expects_number and not went_on else ""
    if short and re.search(re.escape(short) + r"\s*:", last):
        short = ""  # a label ("Document 557:", "Section 4:"), not a value
    # The value first when a number is asked for, then the sentence it was read from: a
    # phrase picked by code ("first half") can miss what the sentence says ("of the 10th century").
    answer = "\n".join(parts)
    if short and len(chain) == 1:
        # The value first, in digits ("35 years"), then the clause it was read from.
        answer = f"{as_digits(short)}: {answer}"
    elif len(chain) == 1 and shape.kind == "howto":
        # An instruction is led by the command or function the user needs ("apt-cache
        # policy: The apt-pinning situation… is displayed by ”apt-cache policy package”.").
        r = chain[0][0]
        # The sentence's own command, else the one its section is titled by ("7.1 The
        # read.table() function" over "To read an entire data frame directly…").
        code = qshape.lead_code(last, strip_framing(ctx.question), ctx.env.text(r.doc_id)[r.start:r.end]) or next(
            (c for c in (qshape.lead_code(t) for t in reversed(answerable.heading_path(ctx.env, r.doc_id, r.start))) if c), "")
        if code and not hygiene.quoted(last).startswith(code):
            answer = f"{code}: {answer}"
    answer = yield from maybe_compose(ctx, cites, answer)
    ctx.partial.answer, ctx.partial.citations = answer, cites
    yield from ctx.step("final", "answer from the best-ranked sentence" + (" and its second hop" if len(chain) > 1 else ""),
                        answer, data={"citations": [c.to_dict() for c in cites]})
    yield AnswerDelta(answer)
    return answer, cites

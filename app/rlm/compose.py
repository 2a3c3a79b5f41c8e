"""Cited prose from verified quotes, for models on the ladder's "compose" rung (>= 1B).

The model writes one to three short sentences from numbered quotes that code already
verified are on their pages. Code then keeps only what it can check: a sentence without
a citation, citing a quote that does not exist, or stating a number its quote lacks is
dropped, and the trace says which and why. If nothing survives, the extractive answer
stands.
"""

from __future__ import annotations

import re

from app.rlm import hygiene, prompts, qshape
from app.rlm import sentences as sn
from app.rlm.checks import locate
from app.rlm.terms import NUMBER_WORDS, strip_framing, words

COMPOSE_TOKENS = 160
# A sentence ends at . ! ? before a space or the end ("data.frame" and "sources.list" do
# not end one), with any citations that follow it, or at a citation.
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s|\[|$)(?:\s*\[\d+\])*[.!?]?|\[\d+\][.!?]?|$)", re.S)


# A dot that ends an abbreviation or an initial, not a sentence.
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|approx|al|Dr|Mr|Mrs|Ms|No|Fig|Sec|Ch)|\b[A-Z])\.$")


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d[\d,.]*\d|\d", text)) | {w for w in words(text) if w in NUMBER_WORDS}


def declines(reply: str) -> bool:
    """The model's "Not found." however it dresses it ("Not found [1].", "not found")."""
    return bool(re.match(r"\W*not found\b", re.sub(r"\[\d+\]", "", reply), re.I))


_CODE_SPAN = re.compile(r"`([^`\n]{2,80})`")


def _code_spans(sentence: str) -> list[str]:
    return [m.group(1).strip() for m in _CODE_SPAN.finditer(sentence) if m.group(1).strip()]


_NAME = re.compile(r"(?<![\w.'’-])[A-Z][\w'’-]*[A-Za-z]")


def _unbacked_names(sentence: str, backing: str) -> list[str]:
    """Capitalised words after the first that neither the cited quotes nor the question
    write: a name the model brought in ("Robert Gentleman and Ross Ihaka [1]" cited to a
    gnuplot heading)."""
    text = re.sub(r"\[\d+\]", "", sentence)
    first = re.match(r"\W*[\w'’-]+", text)
    have = {w.lower() for w in re.findall(r"[\w'’-]+", backing)}
    return [m.group(0) for m in _NAME.finditer(text, first.end() if first else 0)
            if m.group(0).lower() not in have and m.group(0).lower().rstrip("s") not in have]


def check_sentences(reply: str, quotes: dict[int, str], question: str = "") -> tuple[list[str], list[tuple[str, str]]]:
    """(kept sentences, [(dropped sentence, why)]) of a composed reply."""
    kept, dropped = [], []
    if re.match(r"\s*\[\d+\]\s*\w", reply):
        # "[1] A UPG is… [2] A UPG has…": the model wrote each citation before its sentence.
        reply = re.sub(r"\[(\d+)\]\s*([^\[]*[^\[\s])\s*", lambda m: f"{m.group(2)} [{m.group(1)}]\n", reply)
    pieces: list[str] = []
    for m in _SENTENCE.finditer(reply):
        s = m.group(0).strip()
        if pieces and _ABBREVIATION.search(pieces[-1]):
            pieces[-1] += " " + s  # "…material extending R, e.g. providing code…" is one sentence
        elif s:
            pieces.append(s)
    for s in pieces:
        if not re.search(r"\w", re.sub(r"\[\d+\]", "", s)):
            continue
        refs = [int(n) for n in re.findall(r"\[(\d+)\]", s)]
        if declines(s):
            dropped.append((s, "says not found"))
            continue
        if not refs:
            dropped.append((s, "no citation"))
            continue
        bad = [n for n in refs if n not in quotes]
        if bad:
            dropped.append((s, f"cites [{bad[0]}], which is not one of the quotes"))
            continue
        if question and sn.content_words(re.sub(r"\[\d+\]", "", s)) <= sn.content_words(question):
            # "Yes, there is a way to have LaTeX check your document… [1]" for "Is there a
            # way to have LaTeX check my document…?": the question said back, citation and all.
            dropped.append((s, "only restates the question"))
            continue
        said = _numbers(re.sub(r"\[\d+\]", "", s))
        backed = set().union(*(_numbers(quotes[n]) for n in refs))
        if said - backed:
            dropped.append((s, f"states {', '.join(sorted(said - backed))}, which its quote does not"))
            continue
        invented = [c for c in _code_spans(s) if not any(locate(c, quotes[n]) for n in refs)]
        if invented:
            # A command the quote does not spell ("set term png" for "set terminal png")
            # would be copied by the user as written: only the document's own spelling counts.
            dropped.append((s, f"writes “{invented[0]}”, which its quote does not"))
            continue
        names = _unbacked_names(s, " ".join(quotes[n] for n in refs) + " " + question)
        if names:
            dropped.append((s, f"names “{names[0]}”, which its quote does not"))
            continue
        # Model-written, from document text: no control characters or protocol shapes.
        kept.append(hygiene.strip_protocol(hygiene.printable(s)))
    return kept, dropped


def passage_text(ctx, doc_id: int, start: int, text: str, before: int = 240) -> str:
    # Each quote is given with the text just before it: a clause such as "neither shall any
    # Person be eligible to that Office..." names its subject ("President") only there.
    # Words broken at a line end are given whole, or the model copies "contem- poraneous".
    return " ".join(sn.unhyphenated(sn.lead_in(ctx.env, doc_id, start, before) + " " + text).split())


def _ask(ctx, label: str, quotes: dict[int, str], parent: str | None):
    """One compose call over numbered quotes: (node, kept, dropped); kept is None when the
    model says none of the quotes answers."""
    listing = "\n".join(f"[{n}] {q}" for n, q in quotes.items())
    node = ctx.new_node("compose", label, parent=parent)
    messages = prompts.user(prompts.COMPOSE_TEMPLATE, question=ctx.question, slice=listing)
    comp = yield from ctx.call(node, ctx.root, messages, template=prompts.COMPOSE_TEMPLATE, max_tokens=COMPOSE_TOKENS)
    reply = comp.text.strip()
    if declines(reply):
        node.data = {"not_found": True}
        return node, None, []
    kept, dropped = check_sentences(reply, quotes, ctx.question)
    node.data = {"kept": kept, "dropped": [{"sentence": s, "why": w} for s, w in dropped]}
    return node, kept, dropped


# Prose shorter than this (in words, citations aside) is a fragment ("12 [1]" for "up to 12
# independent variables"): it loses the qualifiers the quoted answer keeps.
FRAGMENT_WORDS = 4


def _fragment(kept: list[str]) -> bool:
    return len(re.findall(r"[\w'’.-]+", re.sub(r"\[\d+\]", "", " ".join(kept)))) < FRAGMENT_WORDS


def _drops_command(question: str, kept: list[str], quote: str, raw: str = "") -> str:
    """The command a how-to's best passage gives ("apt-cache policy", a command displayed on
    its own line) when the prose leaves it out, else "": prose that says "the command is
    [1]" without it no longer answers how."""
    if qshape.shape_of(strip_framing(question)).kind != "howto":
        return ""
    code = qshape.lead_code(quote, strip_framing(question), raw or quote)
    flat = " ".join(" ".join(kept).split()).replace("”", "\"").replace("“", "\"")
    return code if code and " ".join(code.split()) not in flat else ""


def _dropped_reason(dropped) -> str:
    return f"; dropped {len(dropped)} sentence(s): " + "; ".join(w for _, w in dropped) if dropped else ""


def compose(ctx, cites, extractive: str, parent: str | None = None):
    """The composed answer, or `extractive` when nothing checkable survives or the model
    declines."""
    quotes = {c.n: passage_text(ctx, c.doc_id, c.char_start, c.quote) for c in cites}
    node, kept, dropped = yield from _ask(ctx, "write the answer from the verified quotes", quotes, parent)
    if kept is None:
        # The quotes passed the code's evidence check; a model that cannot phrase them does
        # not outvote that (vetoes happen on single sentences, before the answer is chosen).
        yield from ctx.set_fate(node, "discarded", "the model could not phrase an answer from the quotes: the quoted answer stands")
        return extractive
    if not kept:
        yield from ctx.set_fate(node, "discarded", "no sentence survived the checks: the quoted answer stands"
                                + _dropped_reason(dropped))
        return extractive
    if _fragment(kept):
        yield from ctx.set_fate(node, "discarded", f"the prose is a fragment (“{' '.join(kept)}”): the quoted answer stands")
        return extractive
    first = min(cites, key=lambda c: c.n)
    missing = _drops_command(ctx.question, kept, first.quote, ctx.env.text(first.doc_id)[first.char_start:first.char_end])
    if missing:
        yield from ctx.set_fate(node, "discarded", f"the prose leaves out the command “{missing}”: the quoted answer stands")
        return extractive
    unused = [n for n in quotes if not any(f"[{n}]" in s for s in kept)]
    if unused:
        # Each quote here is a part of the answer (a comparison's side, a second hop): prose
        # that leaves one out answers half the question.
        yield from ctx.set_fate(node, "discarded", f"the prose leaves out quote [{unused[0]}]: the quoted answer stands")
        return extractive
    yield from ctx.set_fate(node, "cited", "composed answer" + _dropped_reason(dropped))
    return " ".join(kept)


# How many of the best-ranked passages the model reads on the compose rung: the code's
# first choice is often a near miss ("A UPG is created whenever…") a line away from the
# answer ("A UPG has the same name as the user…"); a 1B model can tell them apart.
PASSAGES = 5


def pick_passages(best, ranked, vetoed, limit: int = PASSAGES) -> list:
    """The code's choice first, then the next best sentences from other places, skipping
    those the model already vetoed."""
    out = [best]
    for r in ranked:
        if len(out) >= limit:
            break
        if r is best or vetoed(r):
            continue
        if any(r.doc_id == o.doc_id and r.start < o.end and o.start < r.end for o in out):
            continue  # the same place, read with a different neighbour
        out.append(r)
    return out


def _renumber(sentences: list[str]) -> tuple[list[str], list[int]]:
    """Citations renumbered 1, 2, … in order of first use; returns (sentences, old numbers in new order)."""
    order: list[int] = []
    for s in sentences:
        for n in re.findall(r"\[(\d+)\]", s):
            if int(n) not in order:
                order.append(int(n))
    new = {old: i for i, old in enumerate(order, 1)}
    return [re.sub(r"\[(\d+)\]", lambda m: f"[{new[int(m.group(1))]}]", s) for s in sentences], order


def compose_passages(ctx, passages, make_cite, parent: str | None = None, doubted: bool = False):
    """The model answers from the numbered passages, citing them; code keeps only the
    sentences whose citations check out, and only prose that rests on the best-ranked
    passage (it may add from the others), unless the model already said that passage does
    not answer (`doubted`): then two of its judgements agree against the code's. Returns
    (answer, citations), or None when the model says none answers or nothing checkable
    came back (a decline does not overrule the code's checked answer: on the dev split a
    1.5B coder declined passages that held the answer about as often as others; honest
    "not found" stays with the gate).
    make_cite(n, passage, node) -> Citation."""
    quotes = {i: passage_text(ctx, r.doc_id, r.start, r.text) for i, r in enumerate(passages, 1)}
    node, kept, dropped = yield from _ask(ctx, f"write the answer from the {len(passages)} best passages", quotes, parent)
    if kept is None:
        yield from ctx.set_fate(node, "discarded", f"the model found no answer in the {len(passages)} best passages: "
                                                   "the best-ranked sentence stands")
        return None
    if not kept:
        yield from ctx.set_fate(node, "discarded", "no sentence survived the checks: the quoted answer stands"
                                + _dropped_reason(dropped))
        return None
    if _fragment(kept):
        yield from ctx.set_fate(node, "discarded", f"the prose is a fragment (“{' '.join(kept)}”): the quoted answer stands")
        return None
    kept, order = _renumber(kept)
    if 1 not in order and not doubted:
        # Prose that leaves out the passage code and the model's own vote ranked first is
        # the model overruling both; on the dev split a 1.5B coder did so to wrong passages
        # more often than to right ones ("What is a UPG?" answered from a sentence on umask).
        yield from ctx.set_fate(node, "discarded", f"it answers from passage(s) {', '.join(map(str, order))} "
                                                   "but not from the best-ranked one: the best-ranked sentence stands")
        return None
    best = passages[0]
    missing = _drops_command(ctx.question, kept, best.text, ctx.env.text(best.doc_id)[best.start:best.end]) if 1 in order else ""
    if missing:
        yield from ctx.set_fate(node, "discarded", f"the prose leaves out the command “{missing}” the best-ranked passage "
                                                   "gives: the best-ranked sentence stands")
        return None
    cites = [make_cite(new, passages[old - 1], node) for new, old in enumerate(order, 1)]
    yield from ctx.set_fate(node, "cited", f"composed from passage(s) {', '.join(map(str, order))} of {len(passages)}"
                            + ("; the model had said the best-ranked one does not answer" if 1 not in order else "")
                            + _dropped_reason(dropped))
    return " ".join(kept), cites


def maybe_compose(ctx, cites, extractive: str):
    """On the ladder's compose rung the model phrases the answer (compose()); below it,
    or without citations, the extractive answer stands."""
    rung = ctx.options.get("rung")
    if rung is None or not rung.at_least("compose") or not cites:
        return extractive
    return (yield from compose(ctx, cites, extractive))

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
from app.rlm.evidence import as_digits, number_phrase
from app.rlm.sentences import Ranked
from app.rlm.terms import analyse, states_number, strip_framing
from app.rlm.trace import Citation

_ART = r"(?:the\s+|a\s+|an\s+)?"
_FORMS = [
    # A trailing "in R" or "when splitting a document" sets the scene for both sides.
    re.compile(r"\b(?:differences?|trade-?offs?|distinctions?)\s+between\s+" + _ART + r"(?P<x>.+?)\s+and\s+" + _ART + r"(?P<y>.+?)"
               r"(?:\s+in\s+[\w .-]+|\s+(?:when|while|if|whenever)\s+[^?]+)?\s*\??\s*$", re.I),
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
            x, y = m.group("x").strip(), m.group("y").strip()
            # "the purpose of the TDS … from that of CTAN": "that of" stands for the first
            # side's attribute, which attribute() reads from the first side.
            y = re.sub(r"^(?:that|those|the\s+ones?)\s+(?:of|in|for)\s+" + _ART, "", y, flags=re.I) or y
            # "a 32-bit and a 64-bit build of R": the first side is a modifier whose head the
            # second side gives for both.
            if len(x.split()) == 1 and len(y.split()) >= 2 and re.search(r"[\d-]", x) and re.search(r"[\d-]", y.split()[0]):
                x = " ".join([x] + y.split()[1:])
            return x, y
    return None


# "the number of binary packages in Debian 3.0" against "Debian 2.2": what is compared, then
# whose. Only a short second side, naming none of the attribute's words, leaves it implied.
_ATTRIBUTE = re.compile(r"^(?P<attr>.+)\s+(?:in|of|for|at|from|during|under|with)\s+(?P<x>[^,;]+)$", re.I)
# "the number of…": a count is asked for; "number" itself is no word a document repeats.
_COUNT = re.compile(r"^(?:the\s+)?(?:total\s+)?(?:number|count|amount|quantity|size|share|percentage|proportion)\s+of\s+", re.I)
_SIDE_WORDS = 4


def attribute(pair: tuple[str, str]) -> tuple[str, tuple[str, str]] | None:
    """(attribute, (side, side)) where the first side says what is compared and the second
    only names another holder of it ("How did the number of binary packages in Debian 3.0
    compare with Debian 2.2?"); None otherwise."""
    x, y = pair
    m = _ATTRIBUTE.match(x)
    if not m or len(y.split()) > _SIDE_WORDS or len(m.group("x").split()) > _SIDE_WORDS:
        return None
    attr = m.group("attr")
    words = sn.content_words(_COUNT.sub("", attr))
    if not words or words & sn.content_words(y) or not sn.content_words(m.group("x")):
        return None
    return attr, (m.group("x").strip(), y.strip())


def answer_comparison(ctx, candidates, opt, parent: str):
    """Both sides' best sentences, cited; None when the question is no two-sided comparison
    or a side has no sentence (the caller answers as a lookup)."""
    pair = sides(ctx.question)
    if pair is None:
        return None
    shared = attribute(pair)
    if shared is not None:
        done = yield from _compare_attribute(ctx, candidates, opt, parent, *shared)
        attr, bare = shared
        if done is not None or _COUNT.match(attr) or analyse(f"What is the {attr} in {bare[0]}?").expects_number:
            return done
        # The document may name a quality otherwise ("The role of the TDS is…" for its
        # purpose): what it says of each side, as any comparison.
        pair = bare
    wanted_all = sn.content_words(strip_framing(ctx.question))
    idf = sn.weights(ctx.env, wanted_all | sn.content_words(" ".join(pair)))
    direct = _direct(ctx, pair, candidates, opt, wanted_all, idf)
    if direct:
        return (yield from _answer_direct(ctx, pair, direct, parent))
    # Where the question's sections start is the same for both sides.
    openings = [navigate.opening(ctx.env, m, opt.window_chars)
                for m in navigate.matching_sections(ctx.env, wanted_all, idf)]
    chosen, found, rows = [], [], []
    for side in pair:
        shape = qshape.shape_of(f"What is {side}?")
        words = sn.content_words(side)
        if not words:
            return None
        extra = list(openings)
        pattern = qshape.definition_pattern(shape)
        if pattern:
            extra += [ctx.env.window(d, a, b, opt.window_chars // 2) for d, a, b in ctx.env.regex_hits(pattern, limit=4)]
        if side.startswith("\\"):  # a command is found where it is spelled, not by its word
            extra += [ctx.env.window(d, a, b, opt.window_chars // 2)
                      for d, a, b in ctx.env.regex_hits(re.escape(side) + r"(?![A-Za-z])", limit=6, flags=0)]
        slices = extra + list(candidates[:opt.sentence_slices])
        total = sum(idf.get(w, 0.0) for w in words) or 1.0

        def bonus(doc_id, start, text, _total, raw, shape=shape, total=total, words=words):
            return 0.6 * total * max(qshape.defines(text, shape), 1.0 if qshape.entry_for(raw, words) else 0.0)

        covering = sorted((r for r in sn.rank(ctx.env, slices, words, idf, bonus=bonus)
                           if r.coverage >= 0.99 and _spelled(side, r.text)), key=lambda r: -r.score)
        ranked = [r for r in covering if not any(r.start == c.start and r.doc_id == c.doc_id for c in chosen)]
        if not ranked and chosen and covering and _same(covering[0], chosen[0]):
            # The only sentence about this side is the first side's own: one sentence states
            # both ("MSS = MTU - 40 for IPv4 • MSS = MTU - 60 for IPv6").
            ranked = covering[:1]
        if not ranked:
            return None
        # A side's statement read whole: "In this case, use the \\input{filename} command." with
        # the case before it and "It simply includes the file specified." after it.
        best = sn.antecedent(ctx.env, ranked[0]) or ranked[0]
        best = sn.continuation(ctx.env, best, [side]) or best
        found.append(ranked[0])
        chosen.append(best)
    if len(chosen) == 2 and _overlap(*chosen) and not _overlap(found[0], chosen[1]):
        chosen[0] = found[0]  # the first side read on into the second's statement: it stops short
    for side, best in zip(pair, chosen):
        rows.append(f"{side}: {best.score:5.2f}  {best.text[:110]}")
    node = yield from ctx.step("filter", f"a comparison: look up “{pair[0]}” and “{pair[1]}” each on its own",
                               "\n".join(rows), parent=parent, data={"sides": list(pair)})
    if _same(*chosen):
        r = chosen[0]
        cites, lines = [_cite(ctx, 1, node, r)], [f"{hygiene.quoted(r.text)} [1]"]
    else:
        cites = [_cite(ctx, n, node, r) for n, r in enumerate(chosen, 1)]
        lines = [f"{side}: {hygiene.quoted(r.text)} [{n}]" for n, (side, r) in enumerate(zip(pair, chosen), 1)]
    return (yield from _finish(ctx, node, cites, lines, "each side's best sentence is quoted",
                               "a comparison from one lookup per side"))


def _overlap(a, b) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


def _cite(ctx, n: int, node, r) -> Citation:
    return Citation(n, node.id, r.doc_id, ctx.env.docs[r.doc_id].title, ctx.env.page_at(r.doc_id, r.start),
                    ctx.env.text(r.doc_id)[r.start:r.end].strip(), r.start, r.end)


def _finish(ctx, node, cites, lines, why: str, label: str, gate_question: str | None = None):
    """The comparison's answer from its lines, once the gate has judged its citations."""
    if ctx.options.get("answer_gate", True):
        verdict = yield from answerable.gate(ctx, cites, question=gate_question)
        if not verdict.ok:
            return (yield from answerable.not_found(ctx, verdict))
    answer = "\n".join(lines)
    ctx.partial.answer, ctx.partial.citations = answer, cites
    answer = yield from maybe_compose(ctx, cites, answer)
    yield from ctx.set_fate(node, "cited", why)
    yield from ctx.step("final", label, answer, parent=node.id, data={"citations": [c.to_dict() for c in cites]})
    yield AnswerDelta(answer)
    return answer, cites


# How a document states a comparison in one sentence: "The main features distinguishing lme4
# from nlme are…", "The main advantage of nlme relative to lme4 is…".
_CUE = re.compile(r"\b(?:distinguish\w*|differ(?:s|ed|ent|ence|ences)?|unlike|whereas|in\s+contrast|by\s+contrast|"
                  r"compared\s+(?:to|with)|in\s+comparison|relative\s+to|(?:dis)?advantages?\s+of|"
                  r"(?:better|worse|faster|slower|simpler|easier|larger|smaller)\s+than|as\s+opposed\s+to|"
                  r"rather\s+than|instead\s+of|versus|vs\.)", re.I)
_FRAMING = re.compile(r"\b(?:compar\w*|contrast\w*|differ\w*|better|worse|each|versus|vs)\b", re.I)
DIRECT_CHARS = 600  # a sentence that compares may list its points at length: read it whole
DIRECT_GAP = 400  # characters between two such sentences read as one passage, each way of the comparison


def _key_word(side: str, idf: dict[str, float]) -> str:
    """The side's rarest word; of equally rare ones, the first ("nlme" of "nlme package")."""
    order = [w for w in dict.fromkeys(sn.stem(t) for t in re.findall(r"[\w.+-]+", side.lower())) if w in sn.content_words(side)]
    return max(order, key=lambda w: (idf.get(w, 0.0), -order.index(w))) if order else ""


def _direct(ctx, pair, candidates, opt, wanted, idf) -> list:
    """The sentences that compare the two sides themselves: each names both (by each side's
    rarest word) and says how they differ. The best, and a second one close after it (the
    other way round: "The main advantage of nlme relative to lme4…"); [] when none does."""
    keys = [_key_word(side, idf) for side in pair]
    if not all(keys) or keys[0] == keys[1]:
        return []
    hits = []
    for key in keys:
        hits += ctx.env.regex_hits(sn.prefix_pattern(key), limit=6)
    slices = [ctx.env.window(d, a, b, opt.window_chars) for d, a, b in hits] + list(candidates[:opt.sentence_slices])
    found = []
    for r in sn.rank(ctx.env, slices, wanted, idf, longest=DIRECT_CHARS):
        sw = sn.content_words(r.text)
        # A question the document asks itself (a FAQ's heading) states no difference.
        if all(sn.holds(sw, k) for k in keys) and all(_spelled(side, r.text) for side in pair) \
                and _CUE.search(r.text) and not r.text.rstrip().endswith("?"):
            found.append(r)
    if not found:
        return []
    best = found[0]
    near = [r for r in found[1:] if r.doc_id == best.doc_id
            and 0 <= max(r.start - best.end, best.start - r.end) <= DIRECT_GAP]
    return sorted([best] + near[:1], key=lambda r: r.start)


def _spelled(side: str, text: str) -> bool:
    """A side that is a command ("\\include") is only named by that command, not by the
    word ("Inputs … included under tex")."""
    return not side.startswith("\\") or re.search(re.escape(side) + r"(?![A-Za-z])", text) is not None


def _answer_direct(ctx, pair, chosen, parent: str):
    node = yield from ctx.step("filter", f"a comparison: the document compares “{pair[0]}” and “{pair[1]}” itself",
                               "\n".join(f"{r.score:5.2f}  {r.text[:110]}" for r in chosen), parent=parent,
                               data={"sides": list(pair), "direct": True})
    cites = [_cite(ctx, n, node, r) for n, r in enumerate(chosen, 1)]
    lines = [f"{hygiene.quoted(r.text)} [{n}]" for n, r in enumerate(chosen, 1)]
    # The sentence compares in its own words ("distinguishing", "relative to"): the
    # question's words for comparing are no words it must repeat.
    return (yield from _finish(ctx, node, cites, lines, "the document's own comparison is quoted",
                               "a comparison the document states", gate_question=_FRAMING.sub(" ", ctx.question)))


def _compare_attribute(ctx, candidates, opt, parent: str, attr: str, pair: tuple[str, str]):
    """One lookup of the attribute per side. The statement of its value often speaks of the
    side only through an earlier sentence ("Debian 2.2 Potato (15 August 2000): … this
    release consisted of more than 3900 binary packages"), so the quote runs from the
    sentence naming the side (sentences.subject_before) to the one stating the value, and
    the answer leads each side with that value."""
    counts = bool(_COUNT.match(attr))
    attr_words = sn.content_words(_COUNT.sub("", attr))
    all_words = attr_words | sn.content_words(" ".join(pair))
    idf = sn.weights(ctx.env, all_words)
    plan = analyse(f"What is the {_COUNT.sub('', attr)}?")  # its terms place the value: the attribute's
    expects_number = counts or analyse(f"What is the {attr} in {pair[0]}?").expects_number
    chosen, rows = [], []
    for side, other in (pair, pair[::-1]):
        side_words, rival = sn.content_words(side), sn.content_words(other) - sn.content_words(side)
        hits = ctx.env.regex_hits(r"\b" + r"\s+".join(map(re.escape, side.split())) + r"(?!\w|\.\d)", limit=8)
        # The side's own passages come first: their statements may name it only once, above.
        slices = [ctx.env.window(d, a, b, opt.window_chars) for d, a, b in hits] + list(candidates[:opt.sentence_slices])
        found = None
        for r in sn.rank(ctx.env, slices, attr_words | side_words, idf, expects_number=expects_number):
            sw = sn.content_words(r.text)
            if not all(sn.holds(sw, w) for w in attr_words) or (expects_number and not states_number(r.text)):
                continue
            if rival and all(sn.holds(sw, w) for w in rival):
                continue  # the other side's statement
            found = sn.subject_before(ctx.env, r, side, rival=other)
            if found is not None and not any(_same(found, c[1]) for c in chosen):
                found = Ranked(r.score, r.coverage, found.doc_id, found.start, found.end, found.text, r.matched)
                value = _as_stated(number_phrase(r.text, plan), r.text, attr_words) if expects_number else ""
                chosen.append((side, found, r, value))
                rows.append(f"{side}: {r.score:5.2f}  {r.text[:110]}")
                break
            found = None
        if found is None:
            return None
    node = yield from ctx.step("filter", f"a comparison of “{attr}”: look it up for “{pair[0]}” and “{pair[1]}” each on its own",
                               "\n".join(rows), parent=parent, data={"sides": list(pair), "attribute": attr})
    # The citation quotes the passage from the side's name on; the answer, the sentence
    # stating the value, led by the value.
    cites = [_cite(ctx, n, node, r) for n, (_, r, _, _) in enumerate(chosen, 1)]
    lines = [f"{side}: " + (f"{hygiene.quoted(as_digits(value))} — " if value else "") + f"{hygiene.quoted(stated.text)} [{n}]"
             for n, (side, _, stated, value) in enumerate(chosen, 1)]
    return (yield from _finish(ctx, node, cites, lines, "each side's value is quoted from the passage that names it",
                               "a comparison from one lookup per side"))


_QUALIFIER = r"(?:(?:more|less|fewer)\s+than|over|under|around|about|nearly|almost|roughly|approximately|at\s+(?:least|most)|up\s+to)\s+"


def _as_stated(value: str, text: str, attr_words: set[str]) -> str:
    """The value with the words that qualify it ("more than") and the attribute's own words
    after it ("8,500 binary" -> "around 8,500 binary packages"), as the sentence has them."""
    if not value:
        return ""
    m = re.search(r"(?:\b" + _QUALIFIER + r")?" + re.escape(value), text, re.I)
    if not m:
        return value
    end = m.end()
    for w in re.finditer(r"\s*([\w.-]+)", text[m.end():]):
        if not any(sn.holds(sn.content_words(w.group(1)), a) for a in attr_words):
            break
        end = m.end() + w.end()
    return " ".join(text[m.start():end].split())


def _same(a, b) -> bool:
    return a.doc_id == b.doc_id and a.start == b.start

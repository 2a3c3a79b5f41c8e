"""A term looked up where a definition list describes it ("In the float placement table, what
does the p specifier permit?", "In the skeleton of a TDS texmf tree, what is the mft
directory for?"): the entry whose term, alone on its line, is a word of the question, and
whose surroundings (the table's caption, the list's lead-in, its page) hold the rest of
the question. The answer is the entry, term and description, cited where it stands. A
block of code definitions is such a list too ("Which dash pattern defines the predefined
longdashed line type?" over "pen longdashed=linetype(new real[] {24,8});"): each line is
the entry for the name it defines.

Ranked as sentences, such an entry is a fragment ("on a special page containing only
floats.") that holds none of the question's words: the words are in the caption, the term
is a line of its own. Read as an entry, the question's words pick the list and its term
picks the line.
"""

from __future__ import annotations

import re

from app.rlm import deflist, hygiene
from app.rlm import sentences as sn
from app.rlm.events import AnswerDelta
from app.rlm.terms import STOPWORDS, strip_framing
from app.rlm.trace import Citation

CONTEXT_CHARS = 3000  # before the entry, on its page: where the caption or lead-in stands
CONTEXT_SHARE = 0.6  # of the weight of the question's other words its surroundings must hold
NEAR_CHARS = 300  # around a term line, where the list's other entries stand
MAX_ENTRIES = 200  # term lines looked at per question: a word that is a term everywhere names no entry
_TOKEN = re.compile(r"(?<![\w\\-])[\\-]?[A-Za-z][\w.+-]*(?<![.])")


def _terms(question: str) -> list[str]:
    """The question's words that may be a list's term ("the p specifier", "the mft
    directory"): any but stop words."""
    out = []
    for t in _TOKEN.findall(strip_framing(question)):
        if t.lower() in STOPWORDS or t in ("I", "A"):
            continue
        if t not in out:
            out.append(t)
    return out


def _lines(env, rx):
    """(doc_id, text, match) of the lines `rx` finds in the selection, at most MAX_ENTRIES."""
    found = 0
    for doc_id in env.doc_ids:
        text = env.text(doc_id)
        for m in rx.finditer(text):
            found += 1
            if found > MAX_ENTRIES:
                return
            yield doc_id, text, m


def _entries(env, term: str):
    """(doc_id, start, end) of each entry of a definition list whose term, alone on its line
    (a directory may end in "/"), is `term`: a description follows it, and another term
    with its description stands within a few lines. The entry runs to the next term, or to
    the end of its first sentence when none follows."""
    for doc_id, text, m in _lines(env, re.compile(r"(?m)^[ \t]*" + re.escape(term) + r"/?[ \t]*$")):
        lo = max(0, m.start() - NEAR_CHARS)
        lo = lo if lo == 0 or text[lo - 1] == "\n" else text.find("\n", lo) + 1  # whole lines only
        before = deflist.line_spans(text, lo, m.start())
        after = deflist.line_spans(text, m.start(), min(len(text), m.end() + NEAR_CHARS))
        shown = [text[a:b] for a, b in before + after]
        here = len(before)
        terms = [i for i in range(len(shown) - 1) if deflist.term_alone(shown[i]) and not deflist.term_alone(shown[i + 1])]
        if here not in terms or len(terms) < 2:
            continue
        spans = before + after
        nxt = next((i for i in terms if i > here), None)
        if nxt is not None:
            end = spans[nxt - 1][1]
        else:
            end = next((b for a, b in spans[here + 1:] if text[a:b].endswith(deflist.SENTENCE_END)), spans[here + 1][1])
        yield doc_id, spans[here][0], end


# A line of code that defines a name: "pen longdashed=linetype(new real[] {24,8});",
# "#define EXIT_FAILURE 1", "export EDITOR=vi", "tol <- 1e-8". Its type and keywords go first.
_DEFINES = (r"(?m)^[ \t]*(?:#[ \t]*define[ \t]+{name}[ \t]|(?:[A-Za-z_][\w<>\[\]*]*[ \t]+){{0,2}}{name}[ \t]*"
            r"(?:=|<-|:=)(?!=))[^\n]*$")
_ANY_DEFINITION = re.compile(_DEFINES.format(name=r"[A-Za-z_][\w.]*"))


def _whole(line: str) -> bool:
    """A statement complete on its line: its brackets close where they open."""
    depth = 0
    for ch in line:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _definitions(env, term: str):
    """(doc_id, start, end) of each line of code that defines `term` ("pen longdashed=
    linetype(new real[] {24,8});") among other such lines: a block of definitions, each
    read as the entry for the name it defines."""
    for doc_id, text, m in _lines(env, re.compile(_DEFINES.format(name=re.escape(term)))):
        if not _whole(m.group(0)):
            continue  # "data = biochem)": an argument of a call that began lines above
        lo, hi = max(0, m.start() - NEAR_CHARS), min(len(text), m.end() + NEAR_CHARS)
        if any(d.start() != m.start() and _whole(d.group(0)) for d in _ANY_DEFINITION.finditer(text, lo, hi)):
            line = m.group(0)
            yield doc_id, m.start() + len(line) - len(line.lstrip()), m.end()


def best_entry(env, question: str):
    """(doc_id, start, end, term, share) of the entry that answers best, or None: its term is
    a word of the question, and the text before it on its page holds at least CONTEXT_SHARE
    of the weight of the question's other words."""
    wanted = sn.content_words(strip_framing(question))
    best = None
    for term in _terms(question):
        rest = wanted - sn.content_words(term)
        if not rest:
            continue
        idf = sn.weights(env, rest)
        total = sum(idf.values()) or 1.0
        for doc_id, a, b in [*_entries(env, term), *_definitions(env, term)]:
            page = env.page_span(doc_id, env.page_at(doc_id, a))
            lo = max(a - CONTEXT_CHARS, page[0] if page else 0)
            around = sn.content_words(env.text(doc_id)[lo:b]) | sn.content_words(env.docs[doc_id].title or "")
            share = sum(idf.get(w, 0.0) for w in rest if sn.holds(around, w)) / total
            if share >= CONTEXT_SHARE and (best is None or share > best[4]):
                best = (doc_id, a, b, term, share)
    return best


def answer_from_entry(ctx, parent: str):
    """A cited answer from a definition list's entry, or None when no entry's term is a word
    of the question with the rest of the question around it."""
    found = best_entry(ctx.env, ctx.question)
    if found is None:
        return None
    doc_id, a, b, term, share = found
    text = ctx.env.text(doc_id)
    quote = text[a:b]
    # A list's entry says its term on a line of its own; a definition is all one line of code.
    alone = quote.split("\n", 1)[0].strip().rstrip("/") == term
    description = " ".join(sn.unhyphenated(quote).split()[1 if alone else 0:])
    page = ctx.env.page_at(doc_id, a)
    node = yield from ctx.step(
        "filter", f"a term described in a list: “{hygiene.quoted(term)}” on page {page}", " ".join(quote.split()),
        parent=parent, slice=ctx.env.slice(doc_id, a, b), data={"term": term, "share": round(share, 2)})
    cite = Citation(1, node.id, doc_id, ctx.env.docs[doc_id].title, page, quote, a, b)
    answer = f"{hygiene.quoted(term)}: {hygiene.quoted(description)} [1]"
    yield from ctx.set_fate(node, "cited", "the list's entry for the question's term, the rest of the question around it")
    ctx.partial.answer, ctx.partial.citations = answer, [cite]
    yield from ctx.step("final", "a term read from the list that describes it", answer, parent=node.id,
                        data={"citations": [cite.to_dict()]})
    yield AnswerDelta(answer)
    return answer, [cite]

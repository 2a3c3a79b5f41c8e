"""Honest "not found": does the evidence behind an answer hold what the question asks?

Every strategy can end with a sentence that merely shares a word with the question
("the capital of France" answered with "a capital, or otherwise infamous crime").
Sharing words is not answering. The gate runs once, after a strategy chose its answer:

- a name the question asks about (a capitalised word after the first: "France",
  "Octave") that the selected documents never contain means they cannot answer;
- so does a question most of whose words, or most of whose weight by rarity, the
  selection never uses;
- otherwise the cited passages, read with a little context on each side, must hold
  ANSWER_COVERAGE of the question's words that the selection does use, each weighted
  by its rarity there (a word used nowhere cannot tell passages apart: a paraphrase),
  and WORD_SHARE of them counted plainly.

Question words that only say what kind of answer is wanted ("how old" is answered by
"the Age of thirty five Years") are not required. Summaries and lists over the whole
selection are not gated: their evidence is the selection itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from app.rlm import qshape
from app.rlm import sentences as sn
from app.rlm.terms import STOPWORDS, strip_framing

NOT_FOUND = "Not found in the selected documents."
# Share of the question's idf-weighted words the evidence must hold. Calibrated on the dev
# split with the gate off (per-question coverage of the chosen answer, then a sweep over
# 0.3-0.6): 0.35-0.4 keep one more right answer than 0.5 and let no more unanswerable
# questions through; 0.4 is the stricter of the two.
ANSWER_COVERAGE = 0.4
OPENING_CHARS = 1000  # a document's title page: the names it is about
WORD_SHARE = 0.5  # and this share of those words, counted plainly
CONTEXT_CHARS = 160  # characters read on each side of a cited quote (a heading, a term being defined)
# Phrases that name the kind of answer, not its subject.
# "which country", "what year": the noun after the question word is what the answer is, and
# the passage that answers names the country, not the word "country".
_ANSWER_KIND = re.compile(r"\bhow\s+(?:old|long|many|much|far|tall|often|big|large|do\s+i|can\s+i|to)\b"
                          r"|\b(?:what|which|whose)\s+(?!(?:is|are|was|were|does|do|did|has|have|had|can|will|would|should)\b)[a-z]+\b", re.I)

# What the question asks for by name: "the capital of France" asks for a capital, "how many
# bitcoins" counts bitcoins. A passage that answers names it (or its section does); one that
# only shares the other words ("France" in a table of locale codes) answers something else.
_ASKED_HEAD = re.compile(r"\b(?:what|which)\s+(?:is|are|was|were)\s+the\s+(?:[a-z-]+\s+){0,2}?([a-z-]+)\s+(?:of|for)\b"
                         r"|\bhow\s+many\s+([a-z-]+)", re.I)
# Relation nouns the answering passage rarely repeats ("the effect of a Pin-Priority of 1001"
# is answered by what the priority does, not by the word "effect").
_GENERIC_HEADS = {"effect", "difference", "purpose", "meaning", "role", "use", "usage", "name", "result",
                  "reason", "way", "kind", "type", "sort", "number", "value", "point", "size", "amount",
                  "function", "job", "aim", "goal", "idea", "benefit", "advantage", "disadvantage",
                  "cause", "syntax", "format", "form", "content", "contents", "definition", "status"}


def asked_head(question: str) -> str:
    """Stem of the noun the question asks for by name ("" when it names none)."""
    m = _ASKED_HEAD.search(strip_framing(question))
    if not m:
        return ""
    word = (m.group(1) or m.group(2) or "").lower()
    if word in _GENERIC_HEADS or word.rstrip("s") in _GENERIC_HEADS or word in STOPWORDS or len(word) < 3:
        return ""
    return sn.stem(word)


@dataclass
class Verdict:
    ok: bool
    coverage: float
    missing_names: list[str]
    held: list[str]
    lacking: list[str]
    why: str

    def to_dict(self) -> dict:
        return {"ok": self.ok, "coverage": round(self.coverage, 3), "missing_names": self.missing_names,
                "held": self.held, "lacking": self.lacking, "threshold": ANSWER_COVERAGE}


def question_words(question: str) -> set[str]:
    return sn.content_words(_ANSWER_KIND.sub(" ", strip_framing(question)))


_WRITTEN = re.compile(r"[A-Za-z][A-Za-z'’+#-]*|\d+")


def as_written(question: str, stems) -> list[str]:
    """The question's own words for these stems, as the user wrote them ("labour", not the
    stem "labor"; "lighthouse", not "lighthous"); a stem the question does not spell stays."""
    spelled: dict[str, str] = {}
    for w in _WRITTEN.findall(question):
        w = re.sub(r"['’]s$", "", w)  # "women's" is said of women
        for st in sn.content_words(w) or {sn.stem(w)}:
            spelled.setdefault(st, w)
    # Two stems may come from one written word ("well-made" says "made" and "make"): named once.
    return list(dict.fromkeys(spelled.get(st, st) for st in stems))


def _quoted_words(question: str, stems) -> str:
    return ", ".join(f"“{w}”" for w in as_written(question, stems))


# "…with winget", "…using Excel", "…via rsync": the tool the question says to use. Documents
# that never name it cannot say how to use it, whatever else they share with the question.
_INSTRUMENT = re.compile(r"\b(?:with|using|via)\s+(?:an?\s+|the\s+)?([A-Za-z][\w.+#-]*[\w+#])", re.I)


# A numbered thing the question is about ("version 2.0", "Debian 14", "release 3.1"): one
# whose number no selected document states is not in the selection, whatever its name.
_NUMBERED = re.compile(r"\b(?:[A-Z][\w+-]*|version|release)\s+v?\d+(?:\.\d+)+\b")


def _states_numbered(env, numbered: str, question: str) -> bool:
    """Does a selected document give this number to this thing: to its name ("version 2.0"),
    to another name the question uses for it ("TDS 2.0"), either way round ("the 2.0 release")?"""
    name, number = numbered.rsplit(None, 1)
    names = {name} | {t for t in re.findall(r"\b[A-Z][\w+-]+", question) if t.lower() not in STOPWORDS} \
        | {a for a, _ in qshape.spelled_acronyms(question)}
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    num = re.escape(number.lstrip("v"))
    rx = re.compile(rf"\b(?:{alt})\W{{1,3}}(?:\w+\W{{1,3}}){{0,2}}?(?<![\w.])v?{num}(?![\w]|\.\d)"
                    rf"|(?<![\w.]){num}\W{{1,3}}(?:\w+\W{{1,3}}){{0,2}}?(?:{alt})\b", re.I)
    return any(rx.search(env.text(d)) for d in env.doc_ids)


def absent_names(env, question: str) -> list[str]:
    """Names in the question, and the tool it says to use, that no selected document
    contains, in any case."""
    q = strip_framing(question)
    toks = re.findall(r"[A-Za-z][A-Za-z'’.+#-]*[A-Za-z+#]|[A-Za-z]", q)
    names = [t for i, t in enumerate(toks) if i > 0 and t[0].isupper() and len(t) > 2 and t.lower() not in STOPWORDS]
    names += [t for t in _INSTRUMENT.findall(q) if len(t) > 2 and t.lower() not in STOPWORDS]
    # "R's numeric NA": the possessive is no part of the name, and documents write it with
    # either apostrophe ("R’s"), or not at all.
    names = [re.sub(r"['’]s$", "", t) for t in names]
    out = [n for n in _NUMBERED.findall(q) if not _states_numbered(env, n, q)]
    # A name's word the documents write only inside its acronym ("TDS") or joined to the
    # word beside it ("TeX Live" as "TEXlive") is in them all the same.
    spelled = {w: short for short, words in qshape.spelled_acronyms(q) + qshape.joined_names(q) for w in words}
    for name in dict.fromkeys(names):
        stem = sn.stem(name)
        pattern = r"\b" + (sn.prefix_pattern(stem) if len(stem) >= 4 else re.escape(name))
        if stem in spelled:
            pattern = f"(?:{pattern}|\\b{re.escape(spelled[stem])}\\b)"
        if not any(re.search(pattern, env.text(d), re.I) for d in env.doc_ids):
            # A PDF line break may split the name ("Labora-\ntories"): look again without them.
            if not any(re.search(pattern, _unbroken(env.text(d)), re.I) for d in env.doc_ids):
                out.append(name)
    return out


def _unbroken(text: str) -> str:
    return re.sub(r"-\s*\n\s*", "", text)


def precheck(env, question: str) -> Verdict | None:
    """Before any search: a Verdict when the selection cannot hold the answer at all."""
    missing = absent_names(env, question)
    wanted = question_words(question)
    if missing:
        return Verdict(False, 0.0, missing, [], sorted(wanted),
                       "the selected documents never mention " + ", ".join(f"“{n}”" for n in missing))
    if not wanted:
        return None
    head = asked_head(question)
    df, n_blocks = sn.block_freq(env, wanted | ({head} if head else set()))
    absent = {w for w in wanted if df[w] == 0}
    if head and df[head] == 0:
        return Verdict(False, 0.0, [], [], [head],
                       f"the selected documents never use {_quoted_words(question, [head])}, what the question asks for")
    core = question_words(_COMPARING.sub(" ", question)) & wanted
    if len(absent) * 2 > len(wanted) or _absent_weight(df, n_blocks, core, absent & core) >= ABSENT_WEIGHT:
        # Most of what the question is about appears nowhere in the selection. Not half of
        # its words: "In what country is Normandy located?" is answered by "…Normandy, a
        # region in France", which never says "located". Counted by rarity, the words found
        # nowhere weigh most ("probit", "women", "labour" beside "clustered standard errors").
        return Verdict(False, 0.0, [], [], sorted(absent),
                       "the selected documents never use " + _quoted_words(question, sorted(absent)))
    return None


# Share of the question's idf weight that words found nowhere in the selection may carry
# (each weighs what a word in no block would: the most any word can). Calibrated on the four
# tuning splits: unanswerable questions reach 0.5-1.0, answerable ones at most 0.43 (one
# paraphrase, "altogether", in six words); 0.6 keeps a margin above them.
ABSENT_WEIGHT = 0.6
# Rarity means something only over enough text: in a short memo the question's words are in
# every block, weigh nothing, and one paraphrased word would carry the whole question.
WEIGHED_FROM_BLOCKS = 100  # blocks of sentences.BLOCK characters: about 40 pages
# The words that make a question a comparison ("What is the difference between quill and
# plume?") say what kind of answer is wanted, not what it is about: not weighed.
_COMPARING = re.compile(r"\b(?:compar\w*|contrast\w*|differ\w*|between|versus|vs)\b", re.I)


def _absent_weight(df: dict[str, int], n_blocks: int, wanted: set[str], absent: set[str]) -> float:
    if n_blocks < WEIGHED_FROM_BLOCKS:
        return 0.0
    idf = {w: math.log((n_blocks - df[w] + 0.5) / (df[w] + 0.5) + 1) for w in wanted}
    total = sum(idf.values())
    return sum(idf[w] for w in absent) / total if total else 0.0


def heading_path(env, doc_id: int, offset: int) -> list[str]:
    """Titles of the sections holding `offset`, outermost first."""
    try:
        return [s.title for s in env.sections(doc_id) if s.char_start <= offset < s.char_end]
    except Exception:  # a store without structure
        return []


def judge(env, question: str, evidence: list[tuple[int, int, int]]) -> Verdict:
    """evidence: (doc_id, char_start, char_end) of each cited quote."""
    early = precheck(env, question)
    if early is not None:
        return early
    # The scene a user sets ("I use R a lot.") is context the answer need not repeat.
    wanted = question_words(question) - sn.scene_words(strip_framing(question))
    if not wanted:
        return Verdict(True, 1.0, [], [], [], "the question has no content words to check")
    df, n_blocks = sn.block_freq(env, wanted)
    absent = {w for w in wanted if df[w] == 0}
    # A word found nowhere says nothing about any one passage (a paraphrase: "penalty" for
    # "Punishment"), so only words the selection uses are weighed.
    present = wanted - absent
    idf = {w: math.log((n_blocks - df[w] + 0.5) / (df[w] + 0.5) + 1) for w in present}
    held: set[str] = set()
    heard: list[set[str]] = []  # each cited passage's words, with its context and headings
    # A passage that names the thing by its acronym or as one word holds the name. Sentence
    # ranking counts acronyms only: on the tuning splits, joined names there put Excel's
    # "macroman" ahead of R's name for the Mac Roman encoding.
    acronyms = qshape.spelled_acronyms(strip_framing(question)) + qshape.joined_names(strip_framing(question))
    phrases = qshape.phrase_acronyms(strip_framing(question))
    for doc_id, a, b in evidence:
        text = env.text(doc_id)
        # What the passage is under counts as said by it: a sentence in the section "Save" of
        # a document titled "Asymptote Reference Card" is about saving, in Asymptote.
        headings = " ".join([getattr(env.docs.get(doc_id), "title", "") or ""] + heading_path(env, doc_id, a))
        raw = text[max(0, a - CONTEXT_CHARS):b + CONTEXT_CHARS]
        around = sn.content_words(raw + " " + headings)
        around |= qshape.acronym_hits(around, acronyms)  # "the TDS" says "TeX Directory Structure"
        for acronym, words in phrases:  # "(with BOM)" says "byte order mark"
            if re.search(rf"\b{acronym}\b", raw):
                around |= words
        heard.append(around)
        held |= {w for w in present if sn.holds(around, w)}
    total = sum(idf.values()) or 1.0
    coverage = sum(idf[w] for w in held) / total
    lacking = sorted(present - held, key=lambda w: -idf[w])
    share = len(held) / len(present) if present else 1.0
    # Rare words say which passage; common ones still say what is asked ("the capital of the
    # chamber's records" is not answered by "a capital crime"): both must be mostly there.
    ok = coverage >= ANSWER_COVERAGE and share >= WORD_SHARE
    why = (f"the cited text holds {len(held)} of the question's {len(present)} words ({coverage:.0%} by weight)" +
           ("" if ok else f"; it lacks {', '.join(as_written(question, lacking[:4]))}"))
    head = asked_head(question)
    if ok and head and not any(sn.holds(words, head) for words in heard):
        ok = False
        lacking = [head] + [w for w in lacking if w != head]
        why += f"; it never names {_quoted_words(question, [head])}, what the question asks for"
    # A name the question is about ("France", "Octave") that the cited passages, their
    # headings and their document's title never mention: the passages are about something else.
    unnamed = sorted((sn.names_in(strip_framing(question)) & present) - held)
    if unnamed:
        # What a cited document is about, its title page names ("A Directory Structure for
        # TeX Files … (TWG-TDS)"): a passage of it need not repeat that name.
        opening = set().union(*(sn.content_words(env.text(d)[:OPENING_CHARS]) for d in {e[0] for e in evidence}))
        unnamed = [w for w in unnamed if len(w) < 3 or not sn.holds(opening, w)]  # "R" is any initial
    if ok and unnamed:
        ok = False
        lacking = unnamed + [w for w in lacking if w not in unnamed]
        why += f"; it never mentions {', '.join(as_written(question, unnamed))}, which the question is about"
    return Verdict(ok, coverage, [], sorted(held), lacking, why)


def not_found_text(ctx, verdict: Verdict | None = None) -> str:
    """"Not found", with what was searched, so an analyst can judge the miss."""
    stems = question_words(ctx.question)
    words = [w for w in dict.fromkeys(_WRITTEN.findall(_ANSWER_KIND.sub(" ", strip_framing(ctx.question))))
             if sn.stem(w) in stems]
    n = len(ctx.env.doc_ids)
    text = f"{NOT_FOUND} Searched {n} document{'s' if n != 1 else ''} for: {', '.join(words) or ctx.question}."
    if verdict is not None and verdict.missing_names:
        text += " " + verdict.why[0].upper() + verdict.why[1:] + "."
    elif verdict is not None and verdict.why.startswith("the selected documents never"):
        text += " " + verdict.why[0].upper() + verdict.why[1:] + "."
    elif verdict is not None and verdict.lacking:
        text += f" The closest passages do not mention {', '.join(as_written(ctx.question, verdict.lacking[:3]))}."
    return text


def gate(ctx, cites, parent: str | None = None, question: str | None = None):
    """A trace step judging the cited evidence; on failure the cited nodes are discarded.
    question: what the evidence must hold, where that is less than the question's words (a
    comparison stated by the document need not say "compare"). Returns the Verdict."""
    verdict = judge(ctx.env, question or ctx.question, [(c.doc_id, c.char_start, c.char_end) for c in cites])
    yield from ctx.step("check", "does the evidence answer the question?", verdict.why, parent=parent,
                        data=verdict.to_dict())
    if not verdict.ok:
        for c in cites:
            node = ctx.trace.get(c.node_id)
            if node is not None:
                yield from ctx.set_fate(node, "discarded", "shares words with the question but does not answer it")
    return verdict


def not_found(ctx, verdict: Verdict | None, final_step: bool = True):
    """End a strategy with "not found" and what was searched; returns (text, [])."""
    from app.rlm.events import AnswerDelta

    text = not_found_text(ctx, verdict)
    ctx.partial.answer, ctx.partial.citations = "", []
    if final_step:
        yield from ctx.step("final", "not found: " + (verdict.why if verdict else "no evidence"), text,
                            data={"verdict": verdict.to_dict() if verdict else None})
    yield AnswerDelta(text)
    return text, []

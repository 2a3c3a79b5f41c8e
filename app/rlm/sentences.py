"""Sentence ranking for open questions (no exact key to anchor on), done in code.

A 135M model cannot pick the one passage that answers "When were the Normans in
Normandy?" among thirty about the Normans: asked, it says "relevant" to all of them and
often quotes text that is not there. What it cannot do, classic answer-sentence selection
can: every sentence of the filtered slices is scored by the question words it holds,
each weighted by how rare the word is in the selection (inverse document frequency over
fixed blocks), so "Normandy" in a corpus about the Normans counts for little and
"identity" for a lot. The model then ranks the best few by how likely it says "yes" to
"does this sentence answer the question?" (a tie-breaker, never a veto: a small model
says "no" to almost everything).

Questions that hop ("the woman who portrayed X", "the director of Y") are followed one
step: names in the best sentence that the question does not contain are searched next,
with the question words that sentence lacked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from app.rlm import deflist
from app.rlm.checks import sentences, trim_start
from app.rlm.terms import SOFT_STOPWORDS, STOPWORDS, asking, states_number, where_said, without_where
from app.rlm.wordforms import IRREGULAR, spelling

BLOCK = 1200  # characters per "document" when counting document frequency, like a chunk
NAME_BOOST = 1.5
LONGEST = 300  # characters: a "sentence" longer than this is cut at its semicolons
# A sentence that speaks through the one before ("They are robust against…" after the
# sentence naming panel-corrected standard errors) says what it says of that one's subject:
# it holds that sentence's question words at this share of their weight.
REFERRED_SHARE = 0.5
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’]*|\d+(?:\.\d+)*[A-Za-z]*")  # "IPv6", "path3", "3D" are one word, and so is a version ("3.0", "2.2")
# A relative clause or an "X of Y" opening: the question names its answer through another
# entity ("the woman who portrayed...", "The director of the film ... is based where?").
_RELATIVE = re.compile(r"\b([A-Za-z]+)\s+(who|whom|whose|that|where|which)\b", re.I)
_OF_OPENING = re.compile(r"^(the|a|an)\s+\w+(\s+\w+)?\s+of\b", re.I)
_NAME = re.compile(r"\b(?:[A-Z][\w'’.-]*[A-Za-z]|[A-Z]{2,})(?:\s+(?:of\s+|de\s+|von\s+|van\s+)?(?:[A-Z][\w'’.-]*[A-Za-z]|[A-Z]{2,}))*")


def stem(word: str) -> str:
    """A crude stem, enough to match "originate"/"originated", "countries"/"country",
    "wrote"/"write" and "licence"/"license"."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]  # possessive: "clerk's" is "clerk"
    w = w.rstrip("'")
    w = IRREGULAR.get(w, w)
    if len(w) >= 6:
        w = spelling(w)
    if w.endswith(("ies", "ied")) and len(w) > 5:
        return w[:-3] + "y"  # "countries", "specified": "country", "specify"
    if w.endswith("ings") and len(w) >= 8:
        w = w[:-1]  # "meanings" and "meaning" meet
    if w.endswith("ing") and len(w) >= 7:
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 6:
        w = w[:-2]
    else:
        return _plural(w)
    # "setting" and "set", "embedded" and "embed" meet; "installed" keeps its double l
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiouylsz":
        w = w[:-1]
    return w[:-1] if w.endswith("e") and len(w) > 5 else w


def _plural(w: str) -> str:
    if re.search(r"(?:ss|x|z|ch|sh)es$", w) and len(w) >= 5:
        w = w[:-2]  # "classes", "boxes", "matches"
    elif w.endswith("s") and len(w) >= 4 and not w.endswith(("ss", "us", "is")):
        w = w[:-1]  # "frames" and "frame" meet; "class" keeps its s
    # "originate" and "originated", "centre" and "centres" meet at the same stem
    return w[:-1] if w.endswith("e") and len(w) > 5 else w


def content_words(text: str) -> set[str]:
    """Stems of the words that say what a text is about: not stop words, and longer than two
    letters unless a number, a one- or two-letter name in capitals ("R", "C", "UK") or a
    letter with a figure ("m1", "x2"): "Who originally wrote R?" is about R."""
    return {stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and
            (len(w) > 2 or w.isdigit() or (w.isupper() and w not in _NOT_NAMES)
             or len(w) == 2 and w[0].isalpha() and w[1].isdigit())}


def soft_words(text: str) -> set[str]:
    """Stems of the stop words that can still carry a text ("named" in "Why is R named R?",
    "name" in a column headed "error level name"), by their base form."""
    return {stem(SOFT_STOPWORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in SOFT_STOPWORDS}


_NOT_NAMES = {"I", "A", "O"}
_HYPHENATED = re.compile(r"(?<=[a-z])-\n\s*(?=[a-z])")


def block_freq(env, words: set[str]) -> tuple[dict[str, int], int]:
    """In how many BLOCK-sized blocks of the selected documents each word occurs, and the
    number of blocks. Each word is counted once per selection (Environment.block_df): every
    count reads every document (1M tokens: ~0.4 s)."""
    cache = getattr(env, "block_df", None)
    cache = {} if cache is None else cache
    n_blocks = sum(len(env.text(d)) // BLOCK + 1 for d in env.doc_ids)
    for w in words:
        if w not in cache:
            cache[w] = sum(len({m.start() // BLOCK for m in re.finditer(r"\b" + prefix_pattern(w), env.text(d), re.I)})
                           for d in env.doc_ids)
    return {w: cache[w] for w in words}, n_blocks


def search_prefix(stem_: str) -> str:
    """What a stem's word forms start with: "laboratory" (from "Laboratories") is found as
    "laborator", so "laboratories" in the text counts."""
    return stem_[:-1] if stem_.endswith("y") and len(stem_) > 4 else stem_


def prefix_pattern(stem_: str) -> str:
    """A regex (escaped, no anchors) for the word forms a stem stands for in raw text: its
    search prefix, the irregular forms of its verb ("write": wrote, written) and its British
    spelling ("color": colour, "licens": licenc, "organiz": organis)."""
    p = search_prefix(stem_)
    alts = {p} | {f for f, base in IRREGULAR.items() if base == stem_}
    if len(p) >= 5:
        for american, british in (("or", "our"), ("er", "re")):
            if p.endswith(american):
                alts.add(p[: -len(american)] + british)
        for american, british in (("iz", "is"), ("yz", "ys")):
            i = p.rfind(american)
            if i >= len(p) - 4 and i > 1:
                alts.add(p[:i] + british + p[i + 2:])
        m = re.match(r"(lic|def|off|pret)ens", p)
        if m:
            alts.add(m.group(1) + "enc" + p[m.end():])
    return "(?:" + "|".join(re.escape(a) for a in sorted(alts, key=len, reverse=True)) + ")"


def weights(env, words: set[str]) -> dict[str, float]:
    """BM25's idf of each word over BLOCK-sized blocks of the selected documents."""
    seen, n_blocks = block_freq(env, words)
    return {w: math.log((n_blocks - df + 0.5) / (df + 0.5) + 1) for w, df in seen.items()}


@dataclass
class Ranked:
    score: float  # sum of the idf of the question words the sentence holds
    coverage: float  # that sum over the idf of all the question's words
    doc_id: int
    start: int  # document coordinates
    end: int
    text: str
    matched: frozenset[str]
    meaning: float | None = None  # cosine with the question, where app.rlm.semantic read it
    stated_at: int = -1  # where the sentence stating the value starts, when read from its subject (carry_subject)


def holds(sentence_words: set[str], word: str) -> bool:
    return word in sentence_words or any(x.startswith(word) for x in sentence_words if len(word) >= 4)


def names_in(question: str) -> set[str]:
    """Stems of the capitalised words after the question's first word: names, which
    pin a sentence down better than common words of the same rarity."""
    toks = _WORD.findall(question)
    return {stem(w) for w in toks[1:] if w[0].isupper() and w.lower() not in STOPWORDS}


_REFERS_BACK = re.compile(r"\b(?:it|its|it's|they|them|their|this|that|these|those|he|she|him|her|his|there)\b", re.I)


def scene_words(question: str) -> set[str]:
    """Words only the scene a user sets before asking says ("use" and "lot" in "I use R a
    lot. Why is R named R?"), or only the phrase saying where the answer stands ("In the
    list of common SQL data types, …"): context, not what the answer must say. A name the
    scene introduces is not one, and where the asking sentence refers back ("I use coxph.
    What does its ties argument default to?") the scene holds what is asked about: none is."""
    q = " ".join(question.split())
    where = where_said(asking(q))  # "In the list of common SQL data types, what is a smallint?"
    asks = without_where(asking(q))
    if _REFERS_BACK.search(asks):
        return set()
    scene = q.replace(asking(q), " ")
    said = (content_words(scene) - names_in(q)) if scene.strip() and scene.strip() != q else set()
    return (said | content_words(where)) - content_words(asks)


def total_weight(wanted: set[str], idf: dict[str, float], names: set[str] = frozenset()) -> float:
    """The whole question's weight: what a sentence holding every word scores (a share of it
    is what coverage, and every bonus, is measured in)."""
    return sum(idf.get(w, 0.0) * (NAME_BOOST if w in names else 1.0) for w in wanted) or 1.0


def rank(env, slices, wanted: set[str], idf: dict[str, float], *, expects_number: bool = False,
         must: str = "", names: set[str] = frozenset(), with_next: bool = False,
         also_holds=None, bonus=None, longest: int = LONGEST) -> list[Ranked]:
    """Every distinct sentence of `slices`, best first. A sentence that begins mid-way
    (after a parenthesis, or a PDF line break) is read with the sentence before it, so a
    name cut off by "(born 3 April 1959), also known as..." stays in the quote.
    with_next: read each sentence with the one after it (a second hop's answer is often
    the next sentence about the entity: "...was an actress. As an adult, she served as...").
    longest: a sentence with semicolons longer than this is read as its clauses (see clauses()).
    also_holds(sentence_words) -> question words held through an alias ("UPG" for "user
    private group"); bonus(doc_id, start, text, total, raw) -> score added for the
    sentence's form or place (a definition, a matched section's opening; see
    app.rlm.qshape), raw being its text with the PDF's line breaks."""
    total = total_weight(wanted, idf, names)
    idf = {w: v * (NAME_BOOST if w in names else 1.0) for w, v in idf.items()}
    out, seen = [], set()
    for s in slices:
        text = env.slice_text(s)
        spans = clauses(text, longest)
        heads = _headings_in(env, s)
        before: tuple[int, frozenset[str]] = (-1, frozenset())  # (end, question words) of the last sentence read
        for i, span in enumerate(spans):
            a, b = trim_start(text, span)
            if i and a < b and (text[a].islower() or text[a] in ";,)") and text[spans[i - 1][1] - 1:spans[i - 1][1]] != ";":
                a, b = trim_start(text, (spans[i - 1][0], b))
            a = _after_heading(text, a, b, heads)
            if _is_heading(text, a, b, heads):
                continue  # a section's title names a topic; it answers nothing
            if must and not re.search(r"\b" + re.escape(must) + r"\b", " ".join(text[a:b].split()), re.I):
                continue  # the entity must be in the sentence itself, not only in the one read with it
            if with_next and i + 1 < len(spans):
                b = spans[i + 1][1]
            # A heading ends the statement before it, full stop or not ("…uninstall-libR"
            # then "2.6 Sub-architectures" then "Some platforms…" is no one sentence).
            b = min([b] + [off for off, _ in heads if a + 20 <= off < b])
            sent = text[a:b]
            key = " ".join(_HYPHENATED.sub("", sent).split())  # "in-\nstitutions" reads "institutions"
            if len(key) < 20 or key in seen or is_index_run(key):
                continue
            seen.add(key)
            sw = content_words(sent)
            extra = also_holds(sw) if also_holds else set()
            matched = frozenset(w for w in wanted if holds(sw, w) or w in extra)
            score = sum(idf.get(w, 0.0) for w in matched)
            referred = frozenset()
            if _ANAPHORA.match(key) and before[0] >= 0 and "\n\n" not in text[before[0]:a] \
                    and not any(before[0] <= off <= a for off, _ in heads):
                referred = before[1] - matched
                score += REFERRED_SHARE * sum(idf.get(w, 0.0) for w in referred)
            before = (b, matched | referred)
            if expects_number and states_number(sent):
                score += 1.0
            coverage = score / total
            if len(key) > LONGEST:
                # A run-on span (a code example running into prose) holds many words by its
                # length alone; damp it by the square root of how much longer it is.
                score *= (LONGEST / len(key)) ** 0.5
            if bonus is not None:
                score += bonus(s.doc_id, s.char_start + a, key, total, sent)
            out.append(Ranked(score, coverage, s.doc_id, s.char_start + a, s.char_start + b, key, matched))
    out.sort(key=lambda r: -r.score)
    return out


# A back-of-book index's entries: "dots, 47 three, 47 double line spacing, 111 double sided,
# 10": a term, its page numbers, the next term.
_INDEX_ENTRY = re.compile(r",\s*\d{1,4}\s+(?=[^\W\d])")
INDEX_ENTRIES = 3


def is_index_run(text: str) -> bool:
    """The text is a run of index entries, which point to pages and state nothing."""
    return len(_INDEX_ENTRY.findall(text)) >= INDEX_ENTRIES


def _headings_in(env, s) -> list[tuple[int, str]]:
    """(offset in the slice, title) of the section headings inside slice s."""
    fn = getattr(env, "sections", None)
    if fn is None:
        return []
    try:
        secs = fn(s.doc_id)
    except Exception:  # a store without structure: no headings to cut
        return []
    return [(x.char_start - s.char_start, x.title) for x in secs if s.char_start <= x.char_start < s.char_end]


_NUMBERING = re.compile(r"^\s*[\dA-Z]{1,3}(?:\.\d{1,3})*\.?\s+")


def _is_heading(text: str, a: int, b: int, heads) -> bool:
    """The span is a heading alone ("7.29 What is the difference between package and
    library?"), with at most its number and a few characters around it."""
    span = " ".join(text[a:b].split())
    for off, title in heads:
        if abs(off - a) <= 12 and len(span) <= len(" ".join(title.split())) + 12 and \
                " ".join(_NUMBERING.sub("", title).split()) in span:
            return True
    return False


def _after_heading(text: str, a: int, b: int, heads) -> int:
    """A sentence never starts with the heading above it ("4 Png If gnuplot was…" reads
    "If gnuplot was…", "3 Data frames A data frame is…" reads "A data frame is…"): PDF text
    runs a heading, and its number, into the paragraph's first line."""
    for off, title in heads:
        core = _NUMBERING.sub("", title).split()  # "1.1 Cleaning the lens" may read "1 Cleaning…" after a split
        # The heading may follow a running head or a page number on the same line run.
        if core and a - 12 <= off <= a + 60 and off < b:
            at = max(a, off - 12)
            m = re.compile(r"\s*(?:[\dA-Z]{1,3}(?:\.\d{1,3})*\.?\s+)?" + r"\s+".join(re.escape(t) for t in core)).search(text, at, b)
            if m and m.start() - at <= 12 and b - m.end() >= 20:
                a = m.end()
                while a < b and text[a].isspace():
                    a += 1
    return a


def clauses(text: str, longest: int = LONGEST) -> list[tuple[int, int]]:
    """Sentences, with a run-on one (a legal list: "...; To declare War, ...; To raise
    Armies...") cut at its semicolons, and a block with no sentence end at all (a table,
    a syntax summary) cut at its line breaks: a long span holds many words by its length
    alone, and an answer should be the clause that says it. longest: the length from which a
    sentence is cut at its semicolons (a summary's point reads a longer one whole)."""
    out = []
    for a, b in sentences(text):
        if b - a <= longest:
            out.append((a, b))
            continue
        if ";" not in text[a:b] and b - a <= 2 * LONGEST:
            out.append((a, b))  # a long sentence, but a sentence: only a block of lines is cut at line breaks
            continue
        cuts = r";\s*" if ";" in text[a:b] else r"\n"
        start = a
        for m in re.finditer(cuts, text[a:b]):
            if a + m.start() + 1 - start >= 40 or cuts == r";\s*":  # whole lines, never tiny pieces
                out.append((start, a + m.start() + 1))
                start = a + m.end()
        if start < b:
            out.append((start, b))
    return out


# A sentence that only says something together with the one before it: "If neither of
# these is given, the default by=1 is assumed." after the sentence naming by= and length=;
# a default stated of the setting the sentence before describes.
_ANAPHORA = re.compile(r"(?:(?:If|When|Unless)\s+(?:neither|either|none|both|one|any|each)\s+of\s+(?:these|them|those|the\s+two)"
                       r"|(?:If|When)\s+(?:this|these|that|it|they)\b|(?:Otherwise|In\s+that\s+case|In\s+this\s+case)\b"
                       # "Sets the size of the main font." then "If no option is specified, 10pt is assumed."
                       r"|(?:If|When)\s+(?:no|none)\b[^.;]{0,60}?\b(?:is|are)\s+(?:given|specified|supplied|set|chosen|passed|selected)\b"
                       r"|If\s+omitted\b"
                       r"|(?:This|These|Those|Such|It|They|Its|Their)\s+(?!is\s+(?:a|an|the)\s+(?:section|chapter|table|figure))\w)")
CONTINUATION_CHARS = 300  # a longer next sentence starts a topic of its own
# A next sentence that adds to the one before ("Note that LaTeX will start a new page…" after
# the command it describes) goes on saying it, though it stands alone as a sentence.
_ADDS = re.compile(r"(?:Note|Notice)\s+that\b")


def continuation(env, r: Ranked, subjects=()) -> Ranked | None:
    """`r` read with its next sentence, where that sentence only speaks through `r`: it
    opens with a reference back ("If neither of these…", "This…", "It…") or, for a
    definition, with the same subject ("A UPG is created…" then "A UPG has the same name as
    the user…"). None when the next sentence is in another paragraph or stands alone."""
    nxt = next_sentence(env, r)  # a new paragraph (or a heading) is not the same statement
    if nxt is None:
        return None
    same_subject = any(re.match(r"(?:(?:a|an|the)\s+)?" + re.escape(x) + r"\b", nxt.text, re.I) for x in subjects if x)
    if not (_ANAPHORA.match(nxt.text) or _ADDS.match(nxt.text) or same_subject):
        return None
    return through(env, r, nxt.end)


def through(env, r: Ranked, end: int) -> Ranked:
    """`r` read on to `end` (document coordinates), one statement."""
    text = env.text(r.doc_id)
    return Ranked(r.score, r.coverage, r.doc_id, r.start, end, " ".join(_HYPHENATED.sub("", text[r.start:end]).split()),
                  r.matched)


def next_sentence(env, r: Ranked, *, new_paragraph: bool = False, longest: int = CONTINUATION_CHARS) -> Ranked | None:
    """The sentence after `r` in the same paragraph (or the next one's first, with
    new_paragraph), as a Ranked of its own (`r`'s score), or None at a paragraph's end or
    when that sentence is longer than `longest` characters."""
    text = env.text(r.doc_id)
    after = text[r.end:r.end + longest + 200]
    gap = len(after) - len(after.lstrip())
    if ("\n\n" in after[:gap] and not new_paragraph) or not after.strip():
        return None
    spans = sentences(after)
    if not spans:
        return None
    a, b = spans[0]
    a = max(a, gap)
    if not after[a:b].strip() or len(after[a:b].strip()) > longest:
        return None
    return Ranked(r.score, r.coverage, r.doc_id, r.end + a, r.end + b,
                  " ".join(_HYPHENATED.sub("", after[a:b]).split()), r.matched)


READ_ON = 2  # sentences read past a statement for the value it leads up to
VALUE_CHARS = 600  # a sentence stating the value may be long ("…may object … within 21 days, and…")


def value_sentence(env, r: Ranked, holds_value, wanted: set[str] = frozenset()) -> Ranked | None:
    """The sentence after `r` (of at most READ_ON) that holds the value asked for
    (holds_value(text) -> bool), the one holding most of the question's words (`wanted`)
    where several do: "Looking up the email address of the maintainer… can be
    distracting." leads up to "Fortunately, there is a simple email alias,
    package@packages.debian.org…". A question the document asks itself ("How long must a
    package be maintained…?", a FAQ's heading) is answered by the sentence that follows it,
    in the next paragraph too. None when `r` holds the value or no next sentence does."""
    asked = r.text.rstrip().endswith("?")
    if holds_value is None and not asked:
        return None
    if holds_value is not None and holds_value(r.text.rsplit("?", 1)[-1] if asked else r.text):
        return None
    following, cur = [], r
    for i in range(READ_ON if holds_value is not None else 1):
        cur = next_sentence(env, cur, new_paragraph=asked and i == 0, longest=VALUE_CHARS)
        if cur is None:
            break
        following.append(cur)
    holding = [x for x in following if holds_value is None or holds_value(x.text)]
    if not holding:
        return None

    def held(x: Ranked) -> int:
        sw = content_words(x.text)
        return len({w for w in wanted if holds(sw, w)})

    return max(holding, key=lambda x: (held(x), -x.start))


def read_on(env, r: Ranked, holds_value, wanted: set[str] = frozenset()) -> Ranked | None:
    """`r` read on to its value_sentence(): the answer quotes both and what lies between."""
    best = value_sentence(env, r, holds_value, wanted)
    return None if best is None else through(env, r, best.end)


SUBJECT_BACK = 4  # sentences walked back for the subject a statement speaks of without naming it


def subject_before(env, r: Ranked, subject: str, rival: str = "", back: int = SUBJECT_BACK,
                   longest: int = 2 * VALUE_CHARS) -> Ranked | None:
    """`r` read from the sentence before it that names `subject` (all of its words), where
    `r` speaks of it without naming it: "Debian 2.2 Potato (15 August 2000): … This release
    added support for… With Wichert still serving as Project Leader, this release consisted
    of more than 3900 binary packages…". `r` itself when it names the subject. Walking back
    stops at a sentence naming another of the subject's kind ("Debian 3.1" for "Debian
    3.0", "2020" for "2021") or the `rival`, at a paragraph break, after `back` sentences or
    `longest` characters: None then."""
    words = content_words(subject)
    if not words:
        return None
    if all(holds(content_words(r.text), w) for w in words):
        return r
    kin, rivals = _kin(subject), content_words(rival) - words
    text = env.text(r.doc_id)
    lo = max(0, r.start - longest)
    before = text[lo:r.start]
    if "\n\n" in before.rstrip():
        cut = before.rstrip().rindex("\n\n") + 2
        lo, before = lo + cut, before[cut:]
    for a, b in list(reversed(sentences(before)))[:back]:
        if a == 0 and lo > 0 and text[lo - 1] != "\n":
            return None  # cut mid-sentence: too far back to be one statement
        sentence = before[a:b]
        sw = content_words(sentence)
        if all(holds(sw, w) for w in words):
            while a < b and before[a].isspace():
                a += 1
            return through(env, Ranked(r.score, r.coverage, r.doc_id, lo + a, r.end, "", r.matched), r.end)
        if (kin and kin.search(sentence)) or (rivals and all(holds(sw, w) for w in rivals)):
            return None
    return None


# A named thing with its number ("Debian 2.2", "Python 3.11") or a year: a subject that a
# passage names once and then speaks of as "this release" or "that year". A reference to
# the document's own parts ("Table 2", "Section 5") names no such subject.
_NUMBERED = re.compile(r"\b([A-Z][\w+-]*\s+\d+(?:\.\d+)*)(?![\w.]*\w)")
_YEAR = re.compile(r"\b(?:1[6-9]|20)\d\d\b")
_PARTS = {"table", "figure", "fig", "section", "chapter", "page", "part", "step", "equation", "appendix",
          "example", "line", "item", "volume", "vol", "no", "number", "version", "exercise", "note"}
CARRY_DEPTH = 40  # ranked sentences tried for a subject named before them


def numbered_subject(question: str) -> str:
    """The question's numbered subject ("Debian 2.2", "2021"), or ''."""
    for m in _NUMBERED.finditer(question):
        if m.group(1).split()[0].lower() not in _PARTS:
            return " ".join(m.group(1).split())
    m = _YEAR.search(question)
    return m.group(0) if m else ""


def carry_subject(env, ranked: list[Ranked], subject: str, idf: dict[str, float], total: float) -> list[Ranked]:
    """`ranked` (best first) where each sentence stating a number without naming `subject`
    is read from the earlier sentence that does (subject_before) and credited with the
    subject's words: "How many binary packages did Debian 2.2 have?" is answered by "…this
    release consisted of more than 3900 binary packages…", two sentences after "Debian 2.2
    Potato (15 August 2000)". Other sentences are unchanged."""
    words = content_words(subject)
    if not words:
        return ranked
    out = []
    for i, r in enumerate(ranked):
        missing = {w for w in words if w not in r.matched}
        if i < CARRY_DEPTH and missing and states_number(r.text):
            got = subject_before(env, r, subject)
            if got is not None and got is not r:
                gain = sum(idf.get(w, 0.0) for w in missing)
                r = Ranked(r.score + gain, r.coverage + gain / (total or 1.0), r.doc_id, got.start, got.end, got.text,
                           r.matched | missing, r.meaning, stated_at=r.start)
        out.append(r)
    out.sort(key=lambda r: -r.score)
    return out


def _kin(subject: str) -> re.Pattern | None:
    """A pattern for others of the subject's kind: its number changed ("Debian 3.0" ->
    "Debian 3.1", "2021" -> "2020"); None for a subject without one."""
    toks = subject.split()
    for i, t in enumerate(toks):
        if re.fullmatch(r"\d+(?:\.\d+)*", t):
            if len(toks) == 1:
                return _YEAR if _YEAR.fullmatch(t) else None
            return re.compile(r"\s+".join(re.escape(x) if j != i else r"\d+(?:\.\d+)*" for j, x in enumerate(toks))
                              + r"(?![\w.]*\w)", re.I)
    return None


def antecedent(env, r: Ranked) -> Ranked | None:
    """`r` read with the sentence before it, where `r` only speaks through that sentence: it
    opens with a reference back ("This enables the int system(string s) calls…" after the
    sentence naming the option that does). None when `r` stands alone, or the sentence
    before is in another paragraph, is a heading, or is too long to be one statement with it."""
    if not _ANAPHORA.match(r.text):
        return None
    text = env.text(r.doc_id)
    lo = max(0, r.start - CONTINUATION_CHARS - 200)
    before = text[lo:r.start]
    body = before.rstrip()
    if not body or "\n\n" in before[len(body):] or not re.search(r"[.!?:;)]$", body):
        return None  # a new paragraph, or a heading above it, is not what "This" points back to
    spans = sentences(body)
    if not spans:
        return None
    a, b = spans[-1]
    while a < b and body[a].isspace():
        a += 1
    prev = body[a:b]
    if a == 0 and lo > 0 or len(prev) > CONTINUATION_CHARS or "\n\n" in prev or len(prev.split()) < 3:
        return None
    start = lo + a
    return Ranked(r.score, r.coverage, r.doc_id, start, r.end, " ".join(_HYPHENATED.sub("", text[start:r.end]).split()),
                  r.matched)


_PROMPT_NEXT = re.compile(r"[ \t]*\n?[ \t]*[>$][ \t]+\S")


def _runs_into_items(text: str, end: int) -> bool:
    """The next line, starting at or after `end`, is a bulleted or numbered item."""
    m = _ITEM_NEXT.match(text, end)
    return m is not None and ("\n" in m.group(0) or text[end - 1:end] == "\n")


def _prompt_follows(text: str, end: int) -> bool:
    """The next line, starting at or after `end`, is typed at a prompt ("> help(solve)")."""
    m = _PROMPT_NEXT.match(text, end)
    return m is not None and ("\n" in m.group(0) or text[end - 1:end] == "\n")


LISTED_CHARS = 900  # what a lead-in may carry: a few steps or items, not a chapter
_MARKER = re.compile(r"[ \t]*(?:\d{1,2}[.)]|[•◦▪‣∗·*])\s+\S")
_ITEM_NEXT = re.compile(r"[ \t]*\n?[ \t]*(?:[•◦▪‣∗·*]|\d{1,2}[.)])\s+\S")
_PROSE_LINE = re.compile(r"[A-Z][a-z]+(?:\s+\S+){5,}")


def unhyphenated(text: str) -> str:
    """A word broken at a line end made whole ("environ-\nment" → "environment")."""
    return _HYPHENATED.sub("", text)


def listed(env, r: Ranked) -> Ranked | None:
    """`r`, a lead-in ending with a colon ("…will search the following paths, in the order
    listed:", "…execute the commands:") or followed by a prompt line, read with what it
    introduces (see `block`). The lead-in alone says nothing; None when nothing item-like
    follows."""
    lines = block(env, r)
    if not lines:
        return None
    text = env.text(r.doc_id)
    shown = [text[r.start:r.end]] + [text[a:b] for a, b in lines]
    return Ranked(r.score, r.coverage, r.doc_id, r.start, lines[-1][1],
                  "\n".join(" ".join(_HYPHENATED.sub("", x).split()) for x in shown), r.matched)


EXAMPLE_LEAD_CHARS = 160  # a next sentence this short that ends with a colon leads the example


def with_example(env, r: Ranked) -> Ranked | None:
    """`r` with the example the next sentence introduces ("The second mechanism defines a
    named data block as a here-document. The named data is persistent… Example:" then
    "$Mydata << EOD"), when that sentence is short, in the same paragraph, and ends with a
    colon: an instruction is shown with the command that carries it out. None otherwise."""
    text = env.text(r.doc_id)
    after = text[r.end:r.end + EXAMPLE_LEAD_CHARS + 40]
    # The lead may be a label of its own after a sentence ("…plot command. Example:").
    for a, b in clauses(after)[:2]:
        a, b = r.end + a, r.end + b
        lead = text[r.end:b]
        if len(lead.strip()) > EXAMPLE_LEAD_CHARS or "\n\n" in lead:
            return None
        if lead.rstrip().endswith(":"):
            shown = listed(env, Ranked(r.score, r.coverage, r.doc_id, a, b, " ".join(text[a:b].split()), r.matched))
            if shown is None:
                return None
            between = " ".join(text[r.end:a].split())
            return Ranked(r.score, r.coverage, r.doc_id, r.start, shown.end,
                          " ".join(x for x in (r.text, between, shown.text) if x), r.matched)
    return None


def block(env, r: Ranked) -> list[tuple[int, int]]:
    """The spans (document coordinates) of what a lead-in ending with a colon introduces:
    its numbered or bulleted items, an item going on over its wrapped lines until a line
    ends it ("…;", "….") and the next line is no item; else up to eight short lines of
    commands, until prose resumes; else the items of a definition list (deflist), which is
    all a table's caption introduces. Ends at the lead-in's page end, so a quote of it is
    on one page. A sentence followed by lines typed at a prompt ("…the command is" then
    "> help(solve)") introduces them as a colon would. Empty when `r` does neither."""
    return _block(env, r)[0]


def items_after(env, r: Ranked) -> list[tuple[int, int]]:
    """The items lead-in `r` introduces (see `block`): bulleted or numbered ones, or a
    definition list's terms with their descriptions; never lines of commands."""
    spans, kind = _block(env, r)
    return spans if kind in ("items", "terms") else []


def _block(env, r: Ranked) -> tuple[list[tuple[int, int]], str]:
    """(`block`'s spans, what they are: "items", "terms", "commands" or "")."""
    text = env.text(r.doc_id)
    # "Their strengths are" then "• fast access to…": a lead-in that runs into its first
    # item on the next line introduces the items as a colon would.
    colon = r.text.rstrip().endswith(":") or r.text[-1:].isalpha() and _runs_into_items(text, r.end)
    caption = deflist.is_caption(r.text)
    if not colon and not caption and not _prompt_follows(text, r.end):
        return [], ""
    lines = lines_after(env, r)
    out: list[tuple[int, int]] = []
    if caption and not colon:
        if deflist.caption_below_table(text, r.start):
            return [], ""
        return deflist.items(text, lines), "terms"  # "Table 1.4: The Predefined Page Styles." then its terms
    if lines and _MARKER.match(text[lines[0][0]:lines[0][1]]):
        for a, b in lines:
            if _MARKER.match(text[a:b]):
                out.append((a, b))
            elif text[out[-1][0]:out[-1][1]].endswith((".", ";", ":", "!", "?")):
                break  # the last item ended: this line is the text after the list
            else:
                out[-1] = (out[-1][0], b)  # a wrapped item
        return out, "items"
    for a, b in lines[:8]:
        line = text[a:b]
        series = bool(out) and text[out[-1][0]:out[-1][1]].endswith(",")
        if series and len(line) <= 80 and line.endswith("."):
            out.append((a, b))  # "Thomas Williams,\nColin Kelley.": a series set a line each ends here
            break
        if len(line) > 80 or line.endswith(".") or _PROSE_LINE.match(line) or \
                not colon and not re.match(r"[>$+][ \t]", line):
            break  # prose resumes; after a prompt line, so does any line not typed at one
        out.append((a, b))
    if len(out) < 2 and colon:
        # "…specified by the TDS are:" then "tex" / "for TEX files." / "fonts" / …
        terms = deflist.items(text, lines)
        if terms:
            return terms, "terms"
    return out, "commands" if out else ""


def hops(question: str) -> bool:
    """A relative clause after a noun ("the woman who…", "the arena where…"; not "From
    which countries…" or "Since which release…": a question's first word is no noun a
    clause could follow; nor "see which…") or an "X of Y" opening ("The director of…")."""
    q = question.strip()
    return bool(_OF_OPENING.search(q)) or any(m.start() > 0 and m.group(1).lower() not in STOPWORDS
                                              and m.group(1).lower() not in _ASKS_WHICH for m in _RELATIVE.finditer(q))


# Verbs a "which" or "where" clause follows as a question, not as a relative clause: "How do
# I see which version APT will pick?" asks no second hop through a version.
_ASKS_WHICH = {"see", "know", "tell", "find", "decide", "choose", "determine", "check", "show", "learn",
               "understand", "ask", "wonder", "specify", "control", "select", "say", "out"}


def bridges(sentence: str, question: str, limit: int = 2) -> list[str]:
    """Names in a sentence that the question does not contain: where a second hop goes."""
    asked = {stem(w) for w in _WORD.findall(question)}
    found = []
    for m in _NAME.finditer(sentence):
        name = re.sub(r"^(The|A|An|In|On|At|It|He|She|They|This|Document)\s+", "", m.group(0)).strip(" .")
        toks = _WORD.findall(name)
        if not toks or all(stem(t) in asked or t.lower() in STOPWORDS for t in toks) or name.isdigit():
            continue
        if len(toks) == 1 and (len(name) < 4 or m.start() == 0):
            continue  # a capitalised sentence opener, not a name
        if name not in found:
            found.append(name)
    found.sort(key=lambda n: -len(_WORD.findall(n)))  # full names first
    return found[:limit]


def lead_in(env, doc_id: int, start: int, before: int = 200) -> str:
    """Up to `before` characters ahead of `start`, from a sentence or clause start: what a
    clause such as "neither shall any Person be eligible to that Office…" needs to name its
    subject ("…the Office of President;")."""
    head = env.text(doc_id)[max(0, start - before):start]
    cut = max(head.rfind(". "), head.rfind("; "), head.rfind("\n"))
    head = head[cut + 1:] if cut >= 0 else head[head.find(" ") + 1:]
    return " ".join(head.split())


def lines_after(env, r: Ranked) -> list[tuple[int, int]]:
    """The non-empty lines after `r`, stripped, up to LISTED_CHARS on and never past its
    page."""
    limit = r.end + LISTED_CHARS
    span = env.page_span(r.doc_id, env.page_at(r.doc_id, r.start))
    if span is not None:
        limit = min(limit, span[1])
    return deflist.line_spans(env.text(r.doc_id), r.end, limit)

"""Navigation by the documents' own structure: a question that names what a section is
titled ("What is CRAN?", "What does the save command store…") reads that section first,
the way an analyst opens the table of contents before the index.

A title matches by the question words it holds, each weighted by its rarity in the
selection (so "Fit" matches "What does the fit command do?" better than "The ps command"
does, although each shares one word), times the share of the title's own words that the
question holds (a long chapter title that shares one word is not the section asked for).
The question's share enters as a square root: a how-to question carries many words
("How do I make gnuplot write a PNG image?") and its section is titled by the rarest one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.rlm import sentences as sn
from app.rlm.terms import STOPWORDS, asking

MIN_SCORE = 0.5  # below this, a title shares too little with the question to steer reading
OPENING_SENTENCES = 2  # a section's first sentences: where manuals define what the section is about


@dataclass
class SectionMatch:
    section: object  # app.store.models.Section
    score: float  # sqrt(question coverage) x title coverage, 0..1
    worded_as_asked: bool = False  # the heading is the question itself (a FAQ's)

    def describe(self) -> str:
        return f"{self.section.title} (p. {self.section.page_label or self.section.page_start}, {self.score:.2f})"


def _asked(text: str) -> str:
    # "2.2 Why is R named R?" and "why is R named r" are the same question.
    return " ".join(re.sub(r"^[\d.\s]+", "", text).lower().replace("’", "'").strip(" ?.!:").split())


def matching_sections(env, wanted: set[str], idf: dict[str, float], limit: int = 3,
                      question: str = "") -> list[SectionMatch]:
    if not wanted:
        return []
    total = sum(idf.get(w, 0.0) for w in wanted) or 1.0
    out = []
    asked = _asked(asking(question)) if question else None  # the sentence that asks, after any scene
    for doc_id in env.doc_ids:
        for s in env.sections(doc_id):
            if s.char_end - s.char_start < 40:
                continue  # an index entry or an empty heading: nothing to read
            if asked and _asked(s.title) == asked:
                # A FAQ's heading is the question itself, whatever words it is made of.
                out.append(SectionMatch(s, 1.0, True))
                continue
            title = {w for w in sn.content_words(s.title) if not w.isdigit()}  # "6 Lists…": a number, not a word
            if not title:
                continue
            held = {w for w in wanted if sn.holds(title, w)}
            if not held:
                continue
            q_cov = sum(idf.get(w, 0.0) for w in held) / total
            t_cov = len({t for t in title if any(t.startswith(w) or w.startswith(t) for w in held)}) / len(title)
            score = q_cov ** 0.5 * t_cov
            if score >= MIN_SCORE:
                out.append(SectionMatch(s, score))
    # Best first; among equal titles ("Fit" the command, "Fit" under "set") the main entry,
    # the shallower one, which a manual puts first.
    out.sort(key=lambda m: (-m.score, not m.worded_as_asked, m.section.level, m.section.char_start))
    return out[:limit]


def opening(env, match: SectionMatch, chars: int):
    """The start of a matched section as a slice: its heading and first paragraphs."""
    s = match.section
    return env.slice(s.doc_id, s.char_start, min(s.char_end, s.char_start + chars))


_SENTENCE_END = re.compile(r"[.!?](?=\s)")
OPENING_REACH = 2000  # characters after a heading within which its first sentences can stand


def section_bonus(env, matches: list[SectionMatch], doc_id: int, start: int) -> tuple[float, float]:
    """(best score of a matched section holding this offset, how far into its opening the
    offset is: 1.0 for the first sentence after the heading, less for each next one, 0.0
    from sentence OPENING_SENTENCES + 1 on). Manuals state what a section is for first: its
    fourth sentence ("Target uninstall-tests will…") is no opening."""
    best, opening_ = 0.0, 0.0
    for m in matches:
        s = m.section
        if s.doc_id == doc_id and s.char_start <= start < s.char_end and m.score > best:
            best = m.score
            if start - s.char_start > OPENING_REACH:
                opening_ = 0.0  # far past any opening: a chapter of 400,000 characters is not scanned per sentence
            else:
                text = env.text(doc_id)
                body = text.find("\n", s.char_start, start)  # the heading's own line ends first
                before = len(_SENTENCE_END.findall(text[(body if body >= 0 else s.char_start):start]))
                opening_ = max(0.0, 1.0 - before / OPENING_SENTENCES)
    return best, opening_


# Words that describe what kind of document a title names, not which one.
_GENERIC_TITLE_WORDS = {"documentation", "manual", "guide", "introduction", "handbook", "reference", "card",
                        "notes", "report", "user", "users", "version", "edition", "volume", "part", "chapter"}
_TITLE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#-]*")


# A name with its version run on ("LATEX2" of "LATEX2ε", "LaTeX2e", "HTML5"): the question names it without.
_VERSIONED = re.compile(r"([A-Za-z]{2,})\d+[a-z]?$")
MAX_TITLE_WORDS = 16  # a title is document text: a long one names nothing more


def _name_words(title: str) -> dict[str, str]:
    """{stem: as written} of a title's words that can name it ("Asymptote", "gnuplot", "R")."""
    out = {}
    for w in _TITLE_WORD.findall(title)[:MAX_TITLE_WORDS]:
        low = w.lower()
        if low in _GENERIC_TITLE_WORDS or low in STOPWORDS or (len(w) < 3 and not w.isupper()):
            continue
        out[sn.stem(low)] = w
        bare = _VERSIONED.match(w)
        if bare:
            out.setdefault(sn.stem(bare.group(1).lower()), bare.group(1))  # "LATEX2ε" is named "LaTeX"
    return out


def named_documents(env, question: str) -> list[int]:
    """The documents a question names by their title ("Which 3D data types does Asymptote
    provide?" names the Asymptote Reference Card), when it names some but not all of the
    selection; else []. A word counts as naming a title where the question writes it as a
    name (capitalised after its first word) or the title itself writes it in lower case
    (a name such as "gnuplot"), so "How do I import data?" does not name "R Data Import"."""
    if len(env.doc_ids) < 2:
        return []
    words = _TITLE_WORD.findall(question)
    asked = {sn.stem(w.lower()): w for w in words if w.lower() not in STOPWORDS}
    counts = {}
    for doc_id in env.doc_ids:
        title = _name_words(env.docs[doc_id].title)
        hits = 0
        for stem_, written in title.items():
            q = asked.get(stem_)
            if q is None:
                continue
            as_name = q[0].isupper() and words.index(q) > 0
            if as_name or written.islower():
                hits += 1
        if hits:
            counts[doc_id] = hits
    if not counts:
        return []
    best = max(counts.values())
    named = [d for d, n in counts.items() if n == best]
    return named if len(named) < len(env.doc_ids) else []


def document_named(env, name: str) -> int | None:
    """The one document of the selection whose title names `name` ("Asymptote" names
    "Asymptote: the Vector Graphics Language"; "R" names no one document where several
    R manuals are selected), else None."""
    wanted = {sn.stem(w.lower()) for w in _TITLE_WORD.findall(name) if w.lower() not in STOPWORDS}
    if not wanted:
        return None
    hits = [d for d in env.doc_ids if wanted <= set(_name_words(env.docs[d].title))]
    return hits[0] if len(hits) == 1 else None


# Sections that precede a document's subject: about the book, not what it is about.
_FRONT_MATTER = re.compile(r"\b(?:acknowledge?ments?|contents|copyright|copying|licen[cs]e|notices?|dedication|"
                           r"preface|foreword|index|colophon|credits)\b", re.I)
OWN_TEXT = 200  # a part's heading with less text of its own before its first chapter introduces nothing


def subject_opening(env, doc_id: int):
    """Where a document introduces its subject: its first section that is no front matter
    and has text of its own ("1 Description" of the Asymptote manual, "1 Introduction and
    preliminaries" of An Introduction to R), else None."""
    secs = env.sections(doc_id)
    for i, s in enumerate(secs):
        if _FRONT_MATTER.search(s.title):
            continue
        own_end = secs[i + 1].char_start if i + 1 < len(secs) and secs[i + 1].char_start < s.char_end else s.char_end
        if own_end - s.char_start >= OWN_TEXT:
            return s
    return None


_DOCUMENT_NOUN = r"(?:manual|guide|reference(?:\s+card)?|card|document(?:ation)?|report|vignette|book|handbook|faq)"


_DOCUMENT_DOES = re.compile(r"\s+\b(?:does|do|did)\s+(?:the\s+|an?\s+)?(?P<name>[^?,;:]{2,80}?)\s+"
                            r"(?:describe|cover|discuss|explain|list|mention|present|introduce|document|recommend)\b", re.I)


def _all_title(name: str, titles: list[str]) -> bool:
    """Every word of `name` is a word of one of `titles`, or begins one ("LaTeX" of
    "LATEX2ε"): the phrase is a title, not a subject that shares a word with one."""
    said = [w.lower() for w in _TITLE_WORD.findall(name)]
    for t in titles:
        words = {w.lower() for w in _TITLE_WORD.findall(t)[:MAX_TITLE_WORDS]}
        if said and all(w in words or len(w) >= 4 and any(x.startswith(w) for x in words) for w in said) \
                and any(w not in STOPWORDS for w in said):
            return True
    return False


def without_source(question: str, titles: list[str]) -> str:
    """The question without the phrase that names its source ("Why is R named R according to
    the R FAQ?" asks "Why is R named R?" of the R FAQ): once the run reads only that
    document, the phrase is no longer something the evidence must say."""
    words = {w.lower() for t in titles for w in _TITLE_WORD.findall(t)[:MAX_TITLE_WORDS] if w.lower() not in STOPWORDS}
    words |= {m.group(1) for w in words for m in [_VERSIONED.match(w)] if m}
    if not words:
        return question
    # A title's own words, joined as titles join them ("Introduction to R"); never a bare
    # "in a …", which is no title.
    name = r"(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?:['’]s)?"  # "Owner's"
    joined = name + r"(?:(?:\s+(?:(?:to|of|on|for|and|the)\s+)?|/)" + name + r")*"
    # The phrase ends its clause ("…according to the R FAQ?", "In Asymptote, how…"): in "a
    # package pool in the Debian archive" the title word "Debian" names the archive, not a source.
    rx = re.compile(r"\s*,?\s*\b(?:according\s+to|in|from|within)\s+(?:the\s+|an?\s+)?" + joined
                    + r"(?:\s+" + _DOCUMENT_NOUN + r")?\b(?:'s|(?=\s*(?:[,?.!;:]|$)))", re.I)
    out = rx.sub("", question)
    # "…the main author of the R Data Import/Export manual": the title said as the kind of
    # document it is. Only with that noun: "the value of the R data frame" names no source.
    out = re.sub(r"\s+\b(?:of|for)\s+the\s+" + joined + r"\s+" + _DOCUMENT_NOUN + r"\b", "", out, flags=re.I)
    # "Which document classes does the Not So Short Introduction to LaTeX describe?": the
    # title as the subject of what only a document does. "Which types does Asymptote
    # provide?" asks of the program, and stays.
    m = _DOCUMENT_DOES.search(out)
    if m and _all_title(re.sub(r"\s+" + _DOCUMENT_NOUN + r"$", "", m.group("name"), flags=re.I), titles):
        out = out[:m.start()] + " are there" + out[m.end():]  # still asks for all of them
    out = out.strip(" ,;:")
    return out[:1].upper() + out[1:] if re.search(r"\w", out) else question

"""What code can read from a question without any model: search terms, exact keys,
numbers, and whether it asks for one fact, a list, or the whole corpus.

This runs next to the model's plan so that a weak model's bad plan cannot derail a run:
the code's terms are always searched, and only the code's cues can start a full scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.rlm.wordforms import FORMS, IRREGULAR, spelling

STOPWORDS = set(
    """a an the and or but if of to in on at by for with from into onto about as is are was were be been
    being do does did doing have has had having what which who whom whose when where why how this that
    these those it its it's there their they them he she his her him we our you your i me my can could
    should would will shall may might must not no yes than then so such any each some many much more most
    very just also only own same other another both either neither one ones all every give gives tell tells
    say said says find show shows list name named please according
    again instead still even really actually anymore already somehow properly correctly exactly simply
    easily ever else anyway basically
    i'm i've i'd i'll we're we've we'd you're you've let's don't doesn't didn't can't won't isn't aren't
    what's where's who's how's when's why's that's there's here's they're they've he's she's
    wasn't weren't hasn't haven't hadn't couldn't shouldn't wouldn't mustn't needn't
    """.split()  # the last five lines: how a user talks ("…uninstall it again?", "I'm going away", "What's…?"), never what about
)
STOPWORDS |= {w.replace("'", "’") for w in STOPWORDS if "'" in w}  # typed with a typographic apostrophe

# Stop words that carry the question when nothing else does.
SOFT_STOPWORDS = {"give": "give", "tell": "tell", "say": "say", "said": "say", "says": "say", "find": "find",
                  "show": "show", "list": "list", "name": "name", "named": "name"}  # and their base forms

# Phrases that frame a question instead of asking it ("according to the text", "mentioned in
# the provided documents"). They go as whole phrases, so "text" or "document" in a real
# question ("How do I read a text file?") stays a search word.
_CORPUS_NOUN = r"(?:texts?|documents?|passages?|context|excerpts?|files?|sources?|materials?)"
_FRAMING = re.compile(
    r"\b(?:(?:that\s+(?:is|are|was|were)\s+)?(?:mentioned|stated|described|given|provided|discussed|found)\s+"
    r"(?:in|by)\s+(?:the|these|this)\s+(?:provided\s+|given\s+|above\s+|following\s+|selected\s+)?" + _CORPUS_NOUN
    + r"|according\s+to\s+the\s+(?:provided\s+|given\s+|above\s+|selected\s+)?" + _CORPUS_NOUN
    + r"|(?:in|from)\s+the\s+(?:provided|given|above|following|selected)\s+" + _CORPUS_NOUN + r")\b",
    re.I,
)


# What the question sets aside ("…besides plain pairs resampling?", "other than HC0"): named
# so the answer leaves it out, not something the answer must say.
# Set off by a comma, or leading the question, it is an aside; "Which packages other than base
# are loaded?" is left whole.
_SET_ASIDE = re.compile(r"(?:\s*,|^\W*)\s*\b(?:besides|other\s+than|apart\s+from|aside\s+from|excluding|except(?:\s+for)?)"
                        r"\s+[^,;?]{1,60}?(?=\s*[,;?]|\s*$)(?:\s*,(?=\s*\w))?", re.I)


def strip_framing(question: str) -> str:
    out = " ".join(_FRAMING.sub(" ", question).split())
    if not _SET_ASIDE.search(out):
        return out
    kept = re.sub(r"\s+(?=[?.!;])", "", " ".join(_SET_ASIDE.sub(" ", out).split()))
    return kept[:1].upper() + kept[1:]  # "Apart from R, what else…" asks "What else…"


def asking(question: str) -> str:
    """The sentence that asks, where a question first sets the scene ("I built R from
    source. How do I uninstall it again?" asks "How do I uninstall it again?"): its form (a
    how-to, a definition, a list) is read from that sentence. The scene's words still count
    as search terms; only the form comes from here."""
    q = " ".join(question.split())
    parts = [x for x in re.split(r"(?<=[.!?])\s+(?=[A-Z])", q) if x.strip()]
    asks = [x for x in parts if x.rstrip().endswith("?")]
    return (asks[-1] if asks else parts[0] if parts else q).strip()  # no "?": read as before, from the start

_AGGREGATE = re.compile(
    r"\b(summari[sz]e|summary|overview|main (points|topics|themes|ideas)|what is (this|the) (document|text|book|report) about|"
    r"how many times|count (the|all|every)|outline|key (points|findings|takeaways)|themes?)\b",
    re.I,
)
# Where the answer stands ("in the list of SQL data types", "from the table of options"):
# a place to read, not the form of answer asked for. After "is" it is asked about: "What is
# in the list of…?" does ask for the list.
_WHERE = re.compile(r"(?<!\bis )(?<!\bare )(?<!\bwas )\b(?:in|from|on|within|according\s+to)\s+the\s+"
                    r"(?:list|table|summary|outline|overview)\s+(?:of|on|about)\b[^,?]*"
                    # A question led by the place it reads ("In the fixed-effects part of the
                    # model summary, what is the standard error for Days?"): the place is context.
                    r"|^\W*(?:in|from|within|according\s+to)\s+(?:the|this|that|these|those)\s+[^,?]{3,120}"
                    r"(?=,\s*(?:what|which|who|whom|how|where|when|why|is|are|was|were|does|do|did|can)\b)", re.I)
# The tool a question is asked of, before it ("With Kpathsea, how do I say…?", "In R, how…"):
# its form is read past it; its words still weigh in full (Kpathsea is what it is about).
_LEADING_TOOL = re.compile(r"^\W*(?:with|using|in)\s+[\w.+#-]+(?:\s+[\w.+#-]+)?,\s*"
                           r"(?=(?:what|which|who|whom|how|where|when|why|is|are|was|were|does|do|did|can)\b)", re.I)


def past_tool(question: str) -> str:
    return _LEADING_TOOL.sub("", question)


def where_said(question: str) -> str:
    """The phrases that say where the answer stands ("In the list of common SQL data
    types"), joined: context, as a scene is."""
    return " ".join(m.group(0) for m in _WHERE.finditer(question))


def without_where(question: str) -> str:
    """The question without them: what it asks."""
    return " ".join(_WHERE.sub(" ", question).split())


# An instruction asked for ("How do I search a directory with all its subdirectories?"):
# its "all" or "each" says what the instruction covers, not that a list is wanted.
_HOW_DO_I = re.compile(r"^\W*how\s+(?:do|can|should|would|could|may|might|must)\s+(?:i|we|you|one)\b|^\W*how\s+to\b", re.I)
_LIST = re.compile(r"\b(all|every|each|list|enumerate|what are (the|all)|which (ones|of))\b", re.I)
# "Which named arguments can…", "What 3D data types does…": a plural noun taking a plural
# auxiliary (a singular one takes "does"/"is" only after "what"/"which" itself).
_PLURAL_ASK = re.compile(r"^\W*(?:which|what)\s+(?:[\w-]+\s+){0,2}[\w-]*[^\Wsu]s\s+"
                         r"(?:are|were|do|does|did|can|could|should|will|would|have|must|may|might|exist)\b", re.I)
# "Which functions make a pen…?", "What options control…?": a plural noun and the verb it
# governs. A singular noun's verb ("Which operator gives the modulo?", "What goes in…")
# ends in s itself and is followed by its object, so a word such as "the" or "in" after
# the s-word, or a capitalised name, keeps the question a lookup.
_PLURAL_DOES = re.compile(r"^\W*(?:which|what)\s+(?:[\w-]+\s+){0,2}?"
                          r"(?!(?:does|do|did|is|are|was|were|has|have|its|this|that|goes|gives|uses|means)\b)"
                          r"[\w-]*[^\W\d_su]s\s+(?!(?:of|is|was|has|does|do|did|are|were|the|a|an|this|these|that|"
                          r"those|its|their|in|on|to|for|from|with|by|at|into|as)\b)(?-i:[a-z]+)\b", re.I)
_NUMERIC = re.compile(r"\b(number|numbers|how (many|much|old|long|far|tall)|year|date|age|percent|percentage|amount|price|cost|figure|code|id|phone|zip)\b", re.I)
# "When" asks for a time only as the question's own word ("Who took over … when Wichert
# Akkerman's term ended?" asks for a name), and a p value is a figure asked for only in the
# sentence that asks ("lmer does not show p values. Where does lme4 point me to…?" asks
# for a place).
_ASKS_NUMBER = re.compile(r"(?:^\W*|,\s*)(?:and\s+|so\s+|since\s+|until\s+)?when\b|\bp[- ]?values?\b", re.I)
# "Since which R release…", "What version of gnuplot…": a release is named by its number
# ("As from R 3.6.0…"); "What is a release?" asks for no number. Asked by the question
# itself, not inside what a how-to is about ("How do I see which version of a package APT
# will pick?" asks for a command).
_WHICH_VERSION = re.compile(r"^\W*(?:(?:since|in|from|until|after|before|as\s+of|with|for|by)\s+)?(?:which|what)\s+(?:(?!(?:is|are|was|were|does|do|did)\b)[\w-]+\s+){0,2}?"
                            r"(?:version|release)s?\b", re.I)

# What a question word asks for, as words a document would use: a small model cannot
# make this leap, a table can ("How old..." is answered by "...the Age of thirty five Years").
_EXPANSIONS = [
    (re.compile(r"\bhow old\b", re.I), ["age", "years"]),
    (re.compile(r"\bhow long\b", re.I), ["years", "length", "term"]),
    (re.compile(r"\bhow (much|expensive)\b", re.I), ["cost", "price", "amount"]),
    (re.compile(r"\bhow many\b", re.I), ["number"]),
    # Only as the question word: "what does save store when no option is given?" asks no date.
    (re.compile(r"^\W*(?:and\s+|but\s+|so\s+)?when\b", re.I), ["date", "year"]),
    (re.compile(r"^\W*(?:and\s+|but\s+|so\s+)?who\b", re.I), ["name"]),
]
NUMBER_WORDS = set("""zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    thousand million billion half quarter first second third fourth fifth dozen""".split())

# Quoted text in a question. A single quote counts only outside a word: the apostrophes of
# "How does R's scan compare with Asymptote's reader?" quote nothing.
_QUOTED = re.compile(r"[\"“”]([^\"“”]{2,80})[\"“”]|(?<!\w)'([^\"“”']{2,80})'(?!\w)")
_POSSESSIVE = re.compile(r"(?<=[A-Za-z0-9])['’]s\b")
_NUMBER = re.compile(r"\b\d[\d,.:/-]*\d\b|\b\d\b")
# A key-like token is whole with its dots: "1.5-2" (a version) is one key, not "5-2".
_KEYLIKE = re.compile(r"(?<![\w.])\w+(?:[-_.]\w+)*[-_]\w+(?:[-_.]\w+)*\b|\b(?=\w*\d)(?=\w*[a-zA-Z])\w{3,}\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’]+|\d+(?:\.\d+)*[A-Za-z]*")  # "IPv6", "path3", "3D" are one word, and so is a version ("3.0", "2.2")


@dataclass
class QuestionTerms:
    question: str
    terms: list[str] = field(default_factory=list)  # content words and phrases to search
    keys: list[str] = field(default_factory=list)  # exact strings worth a regex: quoted, key-like, names, numbers
    numbers: list[str] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)  # quoted or key-like: an answer must sit next to one
    kind: str = "lookup"  # lookup | list | aggregate
    expects_number: bool = False
    names: list[str] = field(default_factory=list)  # capitalised words past the first: what it is about

    def to_dict(self) -> dict:
        return {"terms": self.terms, "keys": self.keys, "numbers": self.numbers, "exact": self.exact, "kind": self.kind,
                "expects_number": self.expects_number, "names": self.names}


def _dedupe(items) -> list[str]:
    seen, out = set(), []
    for it in items:
        k = it.lower().strip()
        if k and k not in seen:
            seen.add(k)
            out.append(it.strip())
    return out


def analyse(question: str) -> QuestionTerms:
    q = strip_framing(question.strip()) or question.strip()
    quoted = [m.group(1) or m.group(2) for m in _QUOTED.finditer(q)]
    bare = _POSSESSIVE.sub("", q)  # words are read without it: "AMC's plain-text format" names AMC
    numbers = _NUMBER.findall(bare)
    keylike = [k for k in _KEYLIKE.findall(bare) if not k.isdigit()]
    # Capitalised words not at the start of the question: likely names.
    words = [w.strip("'’") for w in _WORD.findall(bare)]
    names = [w for i, w in enumerate(words) if i > 0 and w[0].isupper() and w.lower() not in STOPWORDS]
    # A one- or two-letter name in capitals ("Who originally wrote R?") is what the question
    # is about, however common: search for it too, so that bm25 prefers passages naming it.
    short_names = [m.group() for m in re.finditer(r"\b[A-Z][A-Z0-9]?\b", bare)
                   if m.start() > 0 and m.group() not in ("I", "A", "O")]
    # "3D" and "2D" say which kind as much as a longer word would.
    content = [w for w in words if w.lower() not in STOPWORDS and (len(w) > 2 or any(ch.isdigit() for ch in w))]
    if content:
        content += short_names
    else:
        # Nothing but question words ("Why is R named R?"): the softer of them and short
        # names in capitals are what it is about, rather than no search at all.
        content = [w for w in words if w.lower() in SOFT_STOPWORDS] + \
            [w for w in dict.fromkeys(re.findall(r"\b[A-Z][A-Z0-9]?\b", bare)) if w not in ("I", "A")]
    asked = without_where(q)  # "In the list of common SQL data types, what is a smallint?" asks one thing
    kind = "aggregate" if _AGGREGATE.search(asked) else \
        "list" if ((_LIST.search(asked) and not _HOW_DO_I.match(past_tool(asking(asked)))) or _PLURAL_ASK.search(asking(asked))
                   or _PLURAL_DOES.search(asking(asked))) else "lookup"
    keys = _dedupe(quoted + keylike + names + numbers)
    terms = _dedupe(quoted + keylike + content)
    # The selection may spell a word the other way ("licence"/"license") or use another form
    # of an irregular verb ("wrote"/"written"): search for both.
    variants = []
    for w in content:
        low = w.lower()
        base = IRREGULAR.get(low, low)
        alt = spelling(base) if len(base) >= 6 else base
        variants += [v for v in (base, alt, *FORMS.get(low, ())) if v != low]
    terms = _dedupe(terms + variants)
    for rx, extra in _EXPANSIONS:
        if rx.search(q):
            terms = _dedupe(terms + extra)
    # A key in the phrase saying where to read ("the table of asy command-line options") says
    # where, not what: the answer need not sit next to it.
    exact = _dedupe(quoted + [k for k in keylike if k.lower() not in where_said(q).lower()])
    if any(re.search(r"\d", k) for k in exact):
        # Beside a key with figures ("version 1.5-2"), a hyphenated word ("non-native",
        # "non-maintainer") is English more likely than a key: slices holding it are not
        # the only ones that can answer.
        exact = [k for k in exact if k in quoted or re.search(r"\d", k)]
    numeric = bool(_NUMERIC.search(q) or _ASKS_NUMBER.search(asking(q)) or _WHICH_VERSION.search(asking(q)))
    return QuestionTerms(q, terms[:12], keys[:8], numbers, exact[:4], kind, numeric,
                         _dedupe(names + short_names)[:4])


def fts_query(terms: list[str]) -> str:
    """An FTS5 query matching any term, each quoted so punctuation cannot break syntax."""
    parts = []
    for t in terms:
        t = re.sub(r"[\"*^:()]", " ", t)
        toks = re.findall(r"\w+", t)
        if toks:
            parts.append('"' + " ".join(toks) + '"')
    return " OR ".join(_dedupe(parts))


def key_pattern(key: str) -> str:
    """A regex for an exact key that tolerates line breaks and hyphenation in the PDF text.
    Other punctuation stays ("1.5-2" is not "15-2"), and a key with figures at an end is
    no piece of a longer number ("5-2" of "1.5-2", "1.5-2" of "1.5-2.1")."""
    parts = re.split(r"(\W+)", key.strip())
    if not any(parts[::2]):
        return re.escape(key)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(re.escape(part))
        elif not part.strip(" \t\n-_"):
            out.append(r"[\s\-_]*")  # "quiet lobster", "quiet-lobster", "quiet-\nlobster"
        else:
            core = re.escape(part.strip())
            out.append((r"\s*" if part[:1].isspace() else "") + core + (r"\s*" if part[-1:].isspace() else ""))
    body = "".join(out).removeprefix(r"[\s\-_]*").removesuffix(r"[\s\-_]*")
    head = r"(?<![\w.])" if key.strip()[:1].isdigit() else r"(?<!\w)"
    tail = r"(?![\w]|\.\d)" if key.strip()[-1:].isdigit() else r"(?!\w)"
    return head + body + tail


# --- normalisation for checks in code -------------------------------------------------------
_NORM_PUNCT = re.compile(r"[\s\u00a0]+")


def norm(text: str) -> str:
    """Lower-case, unify quotes and dashes, collapse whitespace (PDF line breaks)."""
    t = (text or "").lower()
    t = t.replace("“", '"').replace("”", '"').replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-")
    t = re.sub(r"-\s*\n\s*", "", t)  # hyphenated line breaks
    return _NORM_PUNCT.sub(" ", t).strip().strip("\"'.,;: ")


def has_number(text: str) -> bool:
    """Digits or a number word ("thirty five Years")."""
    return bool(re.search(r"\d", text or "")) or any(w in NUMBER_WORDS for w in words(text))


_VALUE_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?(?![\w])")
# A section's number before its title ("5.15.5 How long…", "5.11 Non-Maintainer Uploads").
_SECTION_NUMBER = re.compile(r"(?:^|(?<=[.?!]\s))\s*\d+(?:\.\d+)+\.?\s+(?=[A-Z])")
_CITATION = re.compile(r"\([^()]{0,80}?\b(?:1[6-9]|20)\d\d[a-z]?\)")  # "(Belenky et al. 2003)"


def without_non_values(text: str) -> str:
    """The text with its section numbers and references' years blanked out (same length,
    so offsets still hold): numbers that are no answer to "how many" or "how long"."""
    blank = lambda m: " " * len(m.group(0))  # noqa: E731
    return _CITATION.sub(blank, _SECTION_NUMBER.sub(blank, text or ""))


def states_number(text: str) -> bool:
    """The text states a quantity: a number standing as a word ("3 hours", "2048 bits",
    "1.5-2.1") or a number word. Digits inside a name ("lme4", "IPv6"), a section's number
    ("5.15.5 How long…") and a reference's year ("(Belenky et al. 2003)") state none."""
    text = without_non_values(text)
    return bool(_VALUE_NUMBER.search(text)) or any(w in NUMBER_WORDS for w in words(text))


def words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"\w+", text or "")]

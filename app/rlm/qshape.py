"""The form of answer a question asks for, read by code, and what a sentence of that form
looks like.

Bag-of-words ranking cannot tell "A UPG has the same name as the user…" (a definition)
from "…uses a user private group (UPG) scheme as its default" (a mention): both hold the
question's words. Manuals, FAQs and reports write definitions and instructions in a few
recognisable shapes, so code can prefer them:

- a definition question ("What is X?", "What does X do?", "Define X") is answered by a
  sentence whose grammatical subject is X (X near its start, then a verb), or one that
  spells out an acronym X ("CRAN" -> "Comprehensive R Archive Network");
- a question that gives both a name and its acronym ("user private group (UPG)") is
  answered by sentences using either;
- a how-to question ("How do I…", "How can…", "How to…") is answered by a passage that
  names a command or function, which the answer should lead with.

These cues add to a sentence's score; they never replace the question's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.rlm import sentences as sn
from app.rlm.terms import STOPWORDS, asking, past_tool, states_number

_DEFINITION = [
    re.compile(r"^\s*(?:what|who)\s+(?:is|are|was|were)\s+(?:meant\s+by\s+)?(?P<x>.+?)\s*\??\s*$", re.I),
    re.compile(r"^\s*what\s+(?:does|do|did)\s+(?P<x>.+?)\s+(?:do|mean|stand\s+for|represent|denote|provide)\s*\??\s*$", re.I),
    re.compile(r"^\s*(?:define|explain)\s+(?P<x>.+?)\s*[.?]?\s*$", re.I),
]
_HOWTO = re.compile(r"^\s*(?:how\s+(?:do|can|could|should|would|must)\s+(?:i|you|we|one|users?)\b|how\s+to\b|how\s+is\b|how\s+are\b)", re.I)
_ASKS_INSTRUCTION = re.compile(r"^\s*(?:how\s+(?:do|can|could|should|would|must)\s+(?:i|you|we|one|users?)\b|how\s+to\b)", re.I)
_LEADING = re.compile(r"^(?:an?|the)\s+", re.I)
_ACRONYM_IN_PARENS = re.compile(r"(?P<long>(?:[A-Za-z][\w-]*\s+){1,6}?)\((?P<short>[A-Z][A-Za-z]{1,7})\)")
# Verbs that follow a defined term: "X is", "X provides", "X has the same name…".
_DEFINING_VERB = re.compile(
    r"^[\s,]*(?:\([^)]{0,80}\)\s*)?(?:,[^,]{0,80},\s*)?(?:is|are|was|were|means|refers|stands|denotes|"
    r"has|have|provides?|contains?|consists|allows|lets|can|will|does|performs?|computes?|returns?|"
    r"stores?|saves?|creates?|makes?|produces?|generates?|uses?|implements?|specifies|controls?|"
    r"describes?|represents?|repeats?|reads?|writes?|fits?|prints?|sets?)\b", re.I)
# A command or function an instruction names: read.table(), apt-cache policy, set terminal png.
_CODE = re.compile(r"\b[A-Za-z_][\w.]*\([^()]{0,40}\)|\b[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)+\b|<<\s*\w+|\bSyntax:|^\s*\$?\s*[a-z][\w-]*\s+-{1,2}\w")


@dataclass
class Shape:
    kind: str = "fact"  # definition | howto | fact
    subject: str = ""  # what a definition question asks about, as written
    subject_words: set[str] = field(default_factory=set)  # its stems
    aliases: list[set[str]] = field(default_factory=list)  # word sets naming the same thing (name, acronym)
    acronym: str = ""
    context: str = ""  # the place a definition question names after its subject ("the Debian archive")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "acronym": self.acronym, "context": self.context,
                "aliases": [sorted(a) for a in self.aliases]}


def shape_of(question: str) -> Shape:
    q = " ".join(question.split())
    # An instruction's form is read past the tool it is asked of ("With Kpathsea, how do I…?").
    rest = past_tool(asking(q))
    asks = rest if _ASKS_INSTRUCTION.match(rest) else asking(q)
    shape = Shape()
    for rx in _DEFINITION:
        m = rx.match(asks)
        if m:
            x = _LEADING.sub("", m.group("x").strip())
            # "a factor in R", "a pen in Asymptote": the place named after the subject is
            # context, not part of the term being defined.
            placed = re.match(r"^(.+?)\s+(?:in|within|under|inside)\s+([\w .()+#-]+)$", x)
            if placed:
                x, shape.context = placed.group(1), placed.group(2)
            shape.kind, shape.subject = "definition", x
            shape.subject_words = sn.content_words(x) or {w.lower() for w in re.findall(r"\w+", x)}
            break
    else:
        if _HOWTO.match(asks):
            shape.kind = "howto"
    m = _ACRONYM_IN_PARENS.search(q)
    if m and _spells(m.group("short"), m.group("long").split()):
        long_words = m.group("long").split()[-len(m.group("short")):]
        shape.aliases = [sn.content_words(" ".join(long_words)), {sn.stem(m.group("short"))}]
        shape.acronym = m.group("short")
        if shape.kind == "definition":
            shape.subject_words = shape.aliases[1]
    elif shape.kind == "definition":
        caps = [w for w in re.findall(r"\b[A-Z][A-Za-z]{1,7}\b", shape.subject) if sum(c.isupper() for c in w) >= 2]
        if caps:
            shape.acronym = caps[0]
    return shape


_ASKS_PERSON = re.compile(r"^\W*(?:and\s+|but\s+|so\s+)?(?:who|whom|by\s+whom)\b", re.I)
# A person's name inside a sentence: two or three capitalised words, a middle initial allowed
# ("Charles Staats", "Ian A. Murdock"); not the sentence's first word, which is capitalised anyway.
_PERSON = re.compile(r"(?<=[a-z,;:(]\s)(?-i:[A-Z][a-z]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z]+){1,2})\b")


def asks_person(question: str) -> bool:
    """"Who wrote…?", "By whom was…?": the answer is someone's name."""
    return bool(_ASKS_PERSON.match(asking(question)))


_DETERMINER = re.compile(r"\b(?:the|a|an|this|that|these|those|its|our|their|his|her|your|my|each|every)\s+$", re.I)


def names_person(sentence: str, question_words: set[str]) -> bool:
    """The sentence names someone, by a name none of whose words the question uses ("the
    Debian Project" is a thing: a determiner goes before things, not people)."""
    flat = " ".join(sentence.split())
    return any(not sn.content_words(m.group(0)) & question_words and not _DETERMINER.search(flat[max(0, m.start() - 8):m.start()])
               for m in _PERSON.finditer(flat))


_ASKS_EMAIL = re.compile(r"\be-?mail\s+(?:address|alias)|\bmail\s+alias", re.I)
_ASKS_URL = re.compile(r"\b(?:url|web\s*site|web\s+(?:address|page)|home\s*page)\b", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.[\w-]+\.\w+|\b[\w-]+\.(?:org|com|net|edu|gov|io)(?:/\S*)?\b")


def value_form(question: str, expects_number: bool):
    """A test of whether a text holds the kind of value the question asks for (an e-mail
    address, a web address, a number: terms.states_number), or None when it asks for no
    such value."""
    if _ASKS_EMAIL.search(question):
        return lambda text: bool(_EMAIL.search(text))
    if _ASKS_URL.search(question):
        return lambda text: bool(_URL.search(text))
    if expects_number:
        return states_number
    return None


def _spells(acronym: str, words: list[str]) -> bool:
    """Do the last len(acronym) words (ignoring "of", "and", "the") start with its letters?"""
    letters = acronym.upper()
    ws = [w for w in words if w.lower() not in ("of", "and", "the", "for", "in")]
    ws = ws[-len(letters):]
    return len(ws) == len(letters) and all(w[0].upper() == c for w, c in zip(ws, letters))


def expands(sentence: str, acronym: str) -> bool:
    """Does the sentence spell the acronym out ("ESS, Emacs Speaks Statistics", "Comprehensive
    R Archive Network (CRAN)")?"""
    if not acronym:
        return False
    words = re.findall(r"[A-Za-z][\w'-]*", sentence)
    n = len(acronym)
    for i in range(len(words) - n + 1):
        window = [w for w in words[i:i + n + 2] if w.lower() not in ("of", "and", "the", "for", "in")][:n]
        if len(window) == n and all(w[0].upper() == c for w, c in zip(window, acronym.upper())) \
                and " ".join(window).upper() != acronym.upper() and not any(w.upper() == acronym.upper() for w in window):
            return True
    return False


_LEAD = re.compile(r"^\W*(?:(?:a|an|the|each|every|any|this|our|your)\s+)?(?:[\w.-]+\s+)?$", re.I)
# "X is a…", "X stands for…": the forms a glossary or a manual's first sentence takes.
_STRONG = re.compile(r"^[\s,]*(?:\([^)]{0,80}\)\s*)?(?:is|are)\s+(?:just\s+|merely\s+|simply\s+|basically\s+|essentially\s+)?"
                     r"(?:a|an|the|one|used|called|defined)\b"
                     r"|^[\s,]*(?:\([^)]{0,80}\)\s*)?(?:means|refers\s+to|stands\s+for|denotes|is\s+short\s+for)\b", re.I)


def definition_pattern(shape: Shape) -> str:
    """A regex finding "X is a…"-shaped sentences about the subject, to search the whole
    selection with: where a term is defined need not share the question's other words."""
    words = [w for w in re.findall(r"[A-Za-z][\w.-]*", shape.subject) if sn.stem(w) in shape.subject_words]
    if not words or shape.kind != "definition":
        return ""
    body = r"\s+".join(sn.prefix_pattern(sn.stem(w)) + r"[\w-]*" for w in words)
    return r"\b" + body + r"\s*(?:\([^)]{0,80}\)\s*)?,?\s+(?:is|are|means|refers\s+to|stands\s+for)\s"


def defines(sentence: str, shape: Shape) -> float:
    """How plainly the subject is the sentence's own subject: named in its first words (after
    at most an article and one modifier) and followed by a verb. 1.0 for the forms of a
    definition ("A data frame is a list…", "CRAN stands for…"), 0.6 for another verb ("The
    fit command fits…", "A UPG has…"), 0 otherwise."""
    subjects = [shape.subject_words] + [a for a in shape.aliases if a]
    head = sentence[:160]
    for words in subjects:
        if not words:
            continue
        spans = []
        for w in words:
            m = re.search(r"\b" + sn.prefix_pattern(w) + r"[\w'-]*", head, re.I)
            if m is None:
                break
            spans.append(m)
        else:
            first = min(m.start() for m in spans)
            last = max(m.end() for m in spans)
            if not _LEAD.match(head[:first]) or last - first > 60:
                continue
            if _STRONG.match(head[last:]):
                return 1.0
            if _DEFINING_VERB.match(head[last:]):
                return 0.6
    return 0.0


ENTRY_TERM_CHARS = 40  # a definition list's term stands alone on a short line


def entry_for(raw: str, words) -> bool:
    """The sentence is a definition list's entry for these words: its first line is the term
    alone, holding every one of them ("R-packages" / "A moderated list for announcements on
    the availability of new or enhanced contributed packages."), and its description starts
    on the next line. raw: the sentence with the PDF's line breaks."""
    first, _, rest = raw.lstrip().partition("\n")
    first = first.strip()
    if not words or not rest.strip()[:1].isupper() or not first or len(first) > ENTRY_TERM_CHARS or \
            first.endswith((".", ":", ";", ",")):
        return False
    held = sn.content_words(first)
    return all(sn.holds(held, w) for w in words)


# Quoted text in a sentence. A straight or right single quote inside a word is an
# apostrophe ("AMC’s", "Don’t … LibreOffice’s"), not a quote mark: between two of them
# lies prose, not a quoted command.
_QUOTED = re.compile(r"(?:[\"“”‘`]|(?<!\w)['’])([^\"“”'‘’`\n]{2,60})(?:[\"“”`]|['’](?!\w))")


_CALL = re.compile(r"\b[A-Za-z_][\w.]*\([^()]{0,40}\)")
_DOTTED = re.compile(r"\b[a-z][a-z0-9]*(?:[._][a-z0-9]+)+\b")
# A hyphenated name is a command only where the sentence runs it ("…displayed by
# apt-cache policy", "use apt-get"): English hyphenates words too ("the apt-pinning situation").
_HYPHENED = re.compile(r"\b(?:by|use|using|run|running|type|typing|command|with|invoke|call|execute)\s+"
                       r"(?P<code>[a-z][a-z0-9]*(?:-[a-z0-9]+)+)\b", re.I)


def cell_names_code(cell: str) -> bool:
    """A table cell names code: a cell is set apart already, so any code-like token counts."""
    return bool(_CODE.search(cell))


# What names a command in running prose, beyond a call and a dotted name: a here-document,
# a syntax line, a shell line with options.
# A setting written as code: an environment variable or option given its value
# ("R_DEFAULT_PACKAGES=NULL", "fill = TRUE", 'sep="\t"'); prose says "set to", not "=".
_SETTING = re.compile(r"(?<![\w.=!<>])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\s?=\s?[^\s,;]+"
                      r"|(?<![\w.=!<>])[A-Za-z][\w.]*\s?=\s?(?:TRUE|FALSE|NULL|NA|\"[^\"\n]{0,20}\")(?![\w])")
_PROSE_CODE = re.compile(r"<<\s*\w+|\bSyntax:|^\s*\$?\s*[a-z][\w-]*\s+-{1,2}\w")
# A dotted name that is a file ("outputs a PostScript file test.eps") is what a command
# reads or writes, not the command.
_FILE_NAME = re.compile(r"\.(?:e?ps|pdf|png|jpe?g|gif|svg|txt|tex|dvi|dat|csv|tsv|html?|xml|json|log|gz|tgz|bz2|"
                        r"xz|zip|tar|cfg|conf|ini)$", re.I)
# A line set apart inside a sentence ("You can uninstall R by / make uninstall / optionally
# specifying prefix…"): manuals display the command to type on a line of its own.
_DISPLAY = re.compile(r"[$>%#]?\s*[a-z][\w.+/=-]*(?:\s+[\w.+/=<>{}\[\]|*~-]+){0,6}")
DISPLAY_CHARS = 40  # a displayed command is short...
DISPLAY_WIDTH = 60  # ...in text whose lines run this wide (a narrow column breaks every line)


def displayed(raw: str) -> str:
    """The first command displayed on a line of its own inside a sentence, else ""."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if len(lines) < 3 or max(len(line) for line in lines) < DISPLAY_WIDTH:
        return ""
    return next((line for i, line in enumerate(lines[1:-1])  # lines[i] is the line before it
                 if len(line) <= DISPLAY_CHARS and _DISPLAY.fullmatch(line) and not lines[i].endswith("-")
                 and not all(w.lower() in STOPWORDS for w in line.split())), "")


# What happens when nothing is said: "What is the default…?", "If I don't pass any font size
# option…?", "…without specifying a type?". A manual states it as "If no option is specified,
# 10pt is assumed.", "…defaults to TRUE", "By default…", whose words other than the setting's
# are none of the question's.
_ASKS_DEFAULT = re.compile(r"\bdefaults?\b|\bif\s+(?:i|you|we|one)\s+(?:don[’']?t|do\s+not|didn[’']?t|never|omit|leave\s+out)\b"
                           r"|\bwithout\s+(?:specifying|giving|passing|setting|naming|choosing|selecting|any)\b", re.I)
_STATES_DEFAULT = re.compile(r"\bdefaults?\b|\bif\s+(?:no|none)\b[^.;]{0,60}?\b(?:is|are|was|were)\s+(?:given|specified|supplied|set|"
                             r"chosen|passed|selected|named)\b|\bis\s+assumed\b|\bunless\s+(?:otherwise\s+)?(?:specified|stated|given)\b"
                             r"|\bif\s+(?:it\s+is\s+)?omitted\b", re.I)


# A bound asked for: "Is there an upper limit on how many students…?", "What's the most
# answer options a question can have?", "the highest tuple dimension I am allowed…". A
# manual states one as "The maximum number of … is limited to 4,095", "n should be … from
# 1 to 20", "up to 12 independent variables", whose words need not be the question's ("max"
# alone is more often an option's name, "--notemax max", than a stated bound).
_ASKS_BOUND = re.compile(r"\b(?:maximum|minimum|max|min|upper\s+limit|lower\s+limit|limit(?:s|ed)?\s+(?:on|to|of|for)"
                         r"|highest|lowest|largest|smallest|biggest|at\s+most|at\s+least)\b", re.I)
_MODAL = re.compile(r"\b(?:can|could|may|allowed|possible|permitted)\b", re.I)
_STATES_BOUND = re.compile(r"\b(?:maximum|minimum|at\s+most|at\s+least|up\s+to|limited\s+to|no\s+(?:more|fewer|less)\s+than"
                           r"|not\s+(?:more|fewer|less)\s+than|(?:can\s*not|must\s+not|may\s+not)\s+exceed|exceeds?"
                           r"|upper\s+limit|lower\s+limit|(?:from|between)\s+\d[\d,.]*\s+(?:to|and)\s+\d+)\b", re.I)


def asks_bound(question: str) -> bool:
    """The question asks for a limit: a maximum, a minimum, the most or least allowed."""
    return bool(_ASKS_BOUND.search(question) or (re.search(r"\b(?:most|fewest|least)\b", question, re.I)
                                                and _MODAL.search(question)))


def states_bound(sentence: str) -> bool:
    """The sentence states a limit, with a figure."""
    return bool(re.search(r"\d", sentence) and _STATES_BOUND.search(sentence))


def asks_default(question: str) -> bool:
    return bool(_ASKS_DEFAULT.search(question))


def states_default(sentence: str) -> bool:
    return bool(_STATES_DEFAULT.search(sentence))


# An instruction in the imperative, at a sentence's start or after its lead-in ("In LaTeX,
# use two ` (grave accent)…", "To keep words together, put them in an \\mbox.", "Run texhash."):
# how a manual answers "How do I…?" when the answer is no command name.
_IMPERATIVE = re.compile(r"(?:^|[,:;]\s+|\bthen\s+)(?:simply\s+|just\s+|first\s+|always\s+)?"
                         r"(?:use|type|write|enter|put|add|run|call|set|load|specify|press|select|choose|click|"
                         r"insert|include|pass|invoke|append|prefix|install|edit|save|create|define|declare|"
                         r"replace|remove|delete|change|send|copy|move|give|issue|execute|start)\b(?!\s+of\b)", re.I)


def instructs(sentence: str) -> bool:
    """The sentence tells the reader what to do, in the imperative."""
    return bool(_IMPERATIVE.search(sentence.strip()))


def names_code(sentence: str, raw: str = "") -> bool:
    """A sentence of running prose names a command or function: a call, a dotted name that is
    no file and no abbreviation, a command run by a verb ("use apt-get"), a quoted command, a
    syntax line, or (given its raw text with line breaks) a command displayed on its own line.
    A hyphenated English word ("user-written", "uninstall-tests") names none by itself."""
    if _CALL.search(sentence) or _HYPHENED.search(sentence) or _PROSE_CODE.search(sentence) or _SETTING.search(sentence):
        return True
    if any(not _FILE_NAME.search(m.group(0)) and not re.fullmatch(r"(?:[a-z][._])+[a-z]", m.group(0), re.I)
           for m in _DOTTED.finditer(sentence)):
        return True
    if any(_CODE.search(q.group(1)) for q in _QUOTED.finditer(sentence)):
        return True
    return bool(raw) and bool(displayed(raw))


def code_names(question: str) -> list[str]:
    """Functions and dotted names the question names ("read.table()" -> "read.table",
    "seq()" -> "seq"): a question naming one is about it, not about its words apart."""
    names = [re.sub(r"\(.*$", "", m.group(0)) for m in _CALL.finditer(question)]
    names += [m.group(0) for m in _DOTTED.finditer(question)]
    # "e.g", "i.e": abbreviations, not names
    return [n for n in dict.fromkeys(names) if len(n) >= 2 and not re.fullmatch(r"(?:[a-z][._])+[a-z]", n, re.I)]


def mentions(sentence: str, name: str) -> bool:
    """The sentence names `name` whole ("read.table", not "read" and "table" apart)."""
    return bool(re.search(r"(?<![\w.])" + re.escape(name) + r"(?![\w])", sentence))


def lead_code(sentence: str, question: str = "", raw: str = "") -> str:
    """The command or function an instruction names, to lead the answer with, surest
    first: a syntax line's command ("Syntax: set terminal png {…}"), a quoted command
    (”apt-cache policy package”), a call ("read.table()"), a dotted name, a command
    displayed on its own line (given the raw text), then a hyphenated name with its
    subcommand ("apt-cache policy"; weakest, as English hyphenates words too). Among
    calls and dotted names, one made of the question's own words comes first: "How can
    users install add-on packages?" is led by install.packages(), not by the library(boot)
    of the sentence before."""
    if question:
        asked = sn.content_words(question)
        found = [m.group(0) for rx in (_CALL, _DOTTED) for m in rx.finditer(sentence) if not _FILE_NAME.search(m.group(0))]
        shared = {c: len(sn.content_words(re.sub(r"[._()]+", " ", c)) & asked) for c in found}
        if shared and max(shared.values()):
            return max(found, key=lambda c: shared[c])  # the first of the best
    syntax = re.search(r"\b(?:Syntax|Usage|SYNOPSIS):?\s+([A-Za-z][\w.-]*(?:\s+[a-z][\w.-]*){0,3})", sentence)
    if syntax:
        return syntax.group(1)  # a manual's syntax line: the command words before its options
    for q in _QUOTED.finditer(sentence):
        if _CODE.search(q.group(1)) and not _FILE_NAME.search(q.group(1).strip()):
            return " ".join(q.group(1).split())
    for rx in (_CALL, _DOTTED, _SETTING):
        m = next((m for m in rx.finditer(sentence) if not _FILE_NAME.search(m.group(0))), None)
        if m:
            return " ".join(m.group(0).split()).rstrip(".")
    shown = displayed(raw) if raw else ""
    if shown:
        return shown  # "You can uninstall R by / make uninstall / optionally…" is led by "make uninstall"
    m = _HYPHENED.search(sentence)
    if not m:
        return ""
    nxt = re.match(r"\s+([a-z][\w-]*)", sentence[m.end():])
    return m.group("code") + (" " + nxt.group(1) if nxt and nxt.group(1) not in STOPWORDS else "")


_JOINERS = ("of", "and", "for", "the", "on", "in", "to")
# A name of two to six capitalised words, small joining words allowed between them: "TeX
# Directory Structure", "Bank for International Settlements".
_CAPS_RUN = re.compile(r"\b[A-Z][\w-]*(?:\s+(?:(?:of|and|for|the|on|in|to)\s+)?[A-Z][\w-]*){1,5}\b")


def _name_runs(question: str):
    """The words of each run of capitalised words in the question (joining words kept),
    without the question's own first word."""
    for m in _CAPS_RUN.finditer(question):
        words = m.group(0).split()
        if m.start() == 0 and words and words[0].lower() in STOPWORDS:
            words = words[1:]  # the question's own first word is no part of a name
        yield words


def spelled_acronyms(question: str) -> list[tuple[str, set[str]]]:
    """(acronym, the name's words) for each name the question spells out in capitalised words
    ("TeX Directory Structure" -> "TDS"), whether or not any document uses the acronym."""
    out = []
    for run in _name_runs(question):
        words = [w for w in run if w.lower() not in _JOINERS]
        if 3 <= len(words) <= 6:
            out.append(("".join(w[0].upper() for w in words), sn.content_words(" ".join(words))))
    return out


# Three to five plain words in a row, none a small word: "byte order mark".
_TERM_RUN = re.compile(r"(?<![\w-])[A-Za-z]+(?:\s+[A-Za-z]+){2,4}(?![\w-])")
_SMALL_WORD = re.compile(r"\b(?:" + "|".join(sorted(STOPWORDS, key=len, reverse=True)) + r")\b", re.I)


def phrase_acronyms(question: str) -> list[tuple[str, set[str]]]:
    """(acronym, the phrase's words) for each run of three to five words the question
    spells out in any case ("byte order mark" -> "BOM"), as spelled_acronyms does for
    capitalised names; every such run inside a longer one too ("user private group" of
    "user private group umask"). A word with figures or a hyphen ("UTF-8 text file") makes
    none. Many runs are no term ("standard errors designed" -> "SED"): a passage counts only
    where it writes the acronym in capitals (answerable.judge)."""
    out = []
    for chunk in _SMALL_WORD.split(question):
        for m in _TERM_RUN.finditer(chunk):
            words = m.group(0).split()
            for n in range(3, len(words) + 1):
                for i in range(len(words) - n + 1):
                    run = words[i:i + n]
                    out.append(("".join(w[0].upper() for w in run), sn.content_words(" ".join(run))))
    return out


def joined_names(question: str) -> list[tuple[str, set[str]]]:
    """(the name written as one word, its words) for each name of two adjacent capitalised
    words the question spells out: "TeX Live" is also written "TEXlive", "Post Script"
    "PostScript"."""
    return [("".join(run), sn.content_words(" ".join(run))) for run in _name_runs(question)
            if len(run) == 2 and not any(w.lower() in _JOINERS for w in run)]


def acronym_hits(sentence_words: set[str], acronyms) -> set[str]:
    """Question words a sentence holds through the acronym of a name the question spells
    out: "Version 1.0 of the TDS was released…" holds "TeX Directory Structure"."""
    out: set[str] = set()
    for acronym, words in acronyms:
        if sn.stem(acronym) in sentence_words:
            out |= words
    return out


def alias_hits(sentence_words: set[str], shape: Shape) -> set[str]:
    """Question words a sentence holds through an alias: a sentence using "UPG" covers
    "user private group" too."""
    out: set[str] = set()
    for i, a in enumerate(shape.aliases):
        if a and all(sn.holds(sentence_words, w) for w in a):
            for j, other in enumerate(shape.aliases):
                if j != i:
                    out |= other
    return out

"""Word forms that suffix rules cannot join: irregular verbs ("wrote", "written" ->
"write") and British spellings ("licence", "colour", "organise" -> "license", "color",
"organize"). Used by the stemmer and by the search terms read from a question."""

from __future__ import annotations

import re

# Irregular verb forms, which no suffix rule reaches ("Who wrote R?" is answered by "R was
# written by…").
IRREGULAR = {f: base for base, forms in {
    "write": "wrote written", "begin": "began begun", "make": "made", "find": "found", "give": "gave given",
    "take": "took taken", "choose": "chose chosen", "run": "ran", "build": "built", "send": "sent",
    "hold": "held", "mean": "meant", "pay": "paid", "sell": "sold", "tell": "told",
    "think": "thought", "bring": "brought", "buy": "bought", "keep": "kept", "know": "knew known",
    "grow": "grew grown", "draw": "drew drawn", "show": "shown", "speak": "spoke spoken", "stand": "stood",
    "understand": "understood", "win": "won", "get": "got gotten", "lose": "lost", "lead": "led",
    "feel": "felt", "fall": "fell fallen", "rise": "rose risen", "drive": "drove driven", "break": "broke broken",
    "freeze": "froze frozen", "steal": "stole stolen", "forget": "forgot forgotten", "hide": "hid hidden",
    "teach": "taught", "catch": "caught", "seek": "sought", "fight": "fought",
    "spend": "spent", "lend": "lent",
}.items() for f in forms.split()}
# Every form of an irregular verb, from any of them: a search for "wrote" must also find
# "was written".
FORMS = {}
for _form, _base in IRREGULAR.items():
    FORMS.setdefault(_base, [_base]).append(_form)
FORMS.update({f: FORMS[b] for f, b in IRREGULAR.items()})
# British spellings meet American ones ("licence" and "license", "colour" and "color").
_SPELLING = [(re.compile(r"(?<=[a-z]{3})our$"), "or"), (re.compile(r"(?<=[a-z]{3})is(e|ed|es|ing|ation)$"), r"iz\1"),
             (re.compile(r"(?<=[a-z]{2})ys(e|ed|es|ing)$"), r"yz\1"), (re.compile(r"^(lic|def|off|pret)ence"), r"\1ense"),
             (re.compile(r"(?<=[a-z]{2}[bt])re(s?)$"), r"er\1")]


def spelling(word: str) -> str:
    """One spelling for British and American forms of a (lower-case) word."""
    for rx, repl in _SPELLING:
        word = rx.sub(repl, word)
    return word

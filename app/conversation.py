"""Follow-up questions in a conversation, rewritten into standalone questions.

The controller answers one standalone question over the documents: "And how old must he
be?" searched as it is finds nothing. So a follow-up is rewritten in code, from the
thread, before it runs: its pronoun becomes the entity the thread was about ("he" ->
"the President"), and "what about X?" becomes the previous question with X in place of
its entity. The rewrite is deterministic and shown in the trace, so the analyst can see
(and retype) the question that really ran; a 135M model asked to rewrite would invent.
"""

from __future__ import annotations

import re

# A pronoun that points back into the thread, and what stands in for it.
_SUBJECT = {"he", "she", "it", "they", "him", "them", "this", "that", "these", "those"}
_POSSESSIVE = {"his", "its", "their", "hers"}
_LEAD = re.compile(r"^\s*(?:and|but|so|also|then|ok|okay)\b[\s,]*", re.I)
_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*\??\s*$", re.I)
_CITE = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_STOP = {"be", "is", "are", "was", "were", "do", "does", "did", "can", "could", "must", "should", "shall", "will",
         "would", "may", "might", "have", "has", "had", "of", "in", "on", "for", "to", "at", "by", "with", "from",
         "about", "and", "or", "who", "what", "when", "where", "why", "how", "which"}
_NOT_FOUND = ("not found", "no answer", "no documents")


def is_follow_up(question: str, thread: list[dict]) -> bool:
    """Whether the question leans on the thread: a leading "and/but/so", "what about…",
    or a pronoun with nothing in the question for it to point at."""
    if not thread:
        return False
    q = question.strip()
    if _ABOUT.match(q) or _LEAD.match(q):
        return True
    words = re.findall(r"[A-Za-z']+", q.lower())
    return any(w in _SUBJECT or w in _POSSESSIVE for w in words)


def entity_of(question: str, answer: str = "") -> str:
    """What a previous turn was about: a short answer to a who/which question ("the
    President"), else the question's first noun phrase ("the President" in "How old must
    the President be?"), else its first capitalised name."""
    ans = _CITE.sub("", answer or "").strip().rstrip(".")
    q = question.strip()
    if ans and re.match(r"(?i)^(who|which)\b", q) and not any(p in ans.lower() for p in _NOT_FOUND):
        if len(ans.split()) <= 6:
            return ans
        # A sentence answers it ("The President shall be Commander in Chief…"): its
        # subject, the capitalised words it starts with, is who the thread is about.
        m = re.match(r"((?:(?:The|A|An)\s+)?(?:[A-Z][\w'-]*\s+){0,3}[A-Z][\w'-]*)\b", ans)
        if m and m.group(1).split()[-1] not in ("The", "A", "An"):
            return m.group(1)
    m = re.search(r"\b(?:the|a|an|this|that)\s+((?:[A-Za-z][\w'-]*\s+){0,3}[A-Za-z][\w'-]*)", q)
    if m:
        words = []
        for w in m.group(1).split():
            if w.lower() in _STOP:
                break
            words.append(w)
        if words:
            det = m.group(0).split()[0]
            return f"{det.lower() if det.lower() != 'this' else 'the'} {' '.join(words)}"
    names = re.findall(r"(?<!^)(?<![.?!]\s)\b([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)*)", q)
    return names[0] if names else ""


def standalone(question: str, thread: list[dict]) -> str:
    """The question to run. thread: earlier turns, oldest first, each {"question":
    the standalone question that ran, "answer": its answer}. A question that is not a
    follow-up (or whose thread gives nothing to fill in) comes back unchanged."""
    q = " ".join(question.split())
    if not is_follow_up(q, thread):
        return q
    last = thread[-1]
    prev_q = str(last.get("question") or "")
    ent = entity_of(prev_q, str(last.get("answer") or ""))
    about = _ABOUT.match(q)
    if about:
        new = about.group(1).strip().rstrip("?")
        old = entity_of(prev_q)
        if old and old.lower() in prev_q.lower():
            i = prev_q.lower().index(old.lower())
            return prev_q[:i] + new + prev_q[i + len(old):]
        return f"{prev_q.rstrip('?')} (about {new})?"
    body = _LEAD.sub("", q)
    if ent.split()[:1] and ent.split()[0] in ("The", "A", "An"):
        ent = ent[0].lower() + ent[1:]  # it goes mid-sentence: "How old must the President be?"
    if not ent:
        return body[:1].upper() + body[1:]
    done = False

    def swap(m):
        nonlocal done
        w = m.group(0)
        if done:
            return w
        lw = w.lower()
        if lw in _POSSESSIVE:
            done = True
            return f"{ent}'s"
        if lw in _SUBJECT:
            done = True
            return ent
        return w

    out = re.sub(r"\b[A-Za-z']+\b", swap, body)
    return out[:1].upper() + out[1:]

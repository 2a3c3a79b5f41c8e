"""Close JSON that a token limit cut short, so a constrained reply always parses.

Grammar-constrained decoding keeps every prefix valid JSON-so-far, but a small model can
loop inside an array or string until max_tokens ends it mid-value. Rather than hand the
caller an unparsable string, cut back to the last complete element and close the open
strings, arrays and objects. The reply keeps finish_reason "length", so callers know it
was cut (and may find required keys missing).
"""

from __future__ import annotations

import json


def _closers(text: str) -> str | None:
    """The brackets (and quote) that close `text`, or None if it is malformed."""
    stack: list[str] = []
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return None
    if esc:
        return None
    return ('"' if in_str else "") + "".join(reversed(stack))


def close_json(text: str, max_tries: int = 400) -> str | None:
    """`text` made parseable by trimming to a complete element and closing it; None if
    no such prefix exists. Returns text unchanged when it already parses."""
    try:
        json.loads(text)
        return text
    except ValueError:
        pass
    # Cut points: the end, then just before each separator or opening bracket, last first.
    cuts = [len(text)] + [i for i in range(len(text) - 1, 0, -1) if text[i] in ",[{:"]
    for cut in cuts[:max_tries]:
        head = text[:cut].rstrip()
        while head.endswith((",", ":")):
            head = head[:-1].rstrip()
        closers = _closers(head)
        if closers is None:
            continue
        for candidate in (head + closers, _drop_dangling_key(head, closers)):
            if candidate is None:
                continue
            try:
                json.loads(candidate)
                return candidate
            except ValueError:
                continue
    return None


def _drop_dangling_key(head: str, closers: str) -> str | None:
    """`{"a": 1, "b"` -> `{"a": 1}`: a key whose value never came."""
    if not closers.startswith("}") or not head.endswith('"'):
        return None
    start = head.rfind('"', 0, len(head) - 1)
    if start < 0:
        return None
    rest = head[:start].rstrip()
    if rest.endswith(","):
        rest = rest[:-1]
    elif not rest.endswith("{"):
        return None
    c = _closers(rest)
    return rest + c if c is not None else None

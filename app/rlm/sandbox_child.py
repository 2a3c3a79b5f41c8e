"""The REPL sandbox's child process (stdlib only; run as `python -I -S sandbox_child.py`
inside bubblewrap, see sandbox.py for the confinement and the protocol).

The OS is the boundary here, not this file: code running in this process can rewrite
anything in it. What this file adds is for the model, not for security: a notebook-like
cell runner (the value of a cell's last expression is shown; a silent cell says so;
errors come back short, with the line and a hint), helpers that come back when a cell
overwrites them, and FINAL_VAR that refuses a name that is not a variable. Its own
limits (CPU, memory, file size, processes) keep a runaway cell from hurting the machine.

This file must not import anything from `app`: the child has no access to the app.
"""

import ast
import difflib
import io
import json
import os
import re
import resource
import struct
import sys
import traceback

_HEADER = struct.Struct(">I")
_PROTO_IN = _PROTO_OUT = -1
HELPERS = ("context", "search", "llm_query", "llm_query_batched", "rlm_query", "FINAL", "FINAL_VAR", "outline")


def _take_over_stdio():
    """Keep private copies of the pipes for the protocol; fd 0/1/2 become /dev/null, so
    a stray write of model code never lands in the protocol by accident."""
    global _PROTO_IN, _PROTO_OUT
    _PROTO_IN, _PROTO_OUT = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.stdout = sys.stderr = io.StringIO()


def _read_exact(n):
    parts, got = [], 0
    while got < n:
        b = os.read(_PROTO_IN, min(n - got, 1 << 20))
        if not b:
            os._exit(0)
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def _send(msg):
    body = json.dumps(msg, ensure_ascii=False).encode("utf-8")
    data = _HEADER.pack(len(body)) + body
    while data:
        data = data[os.write(_PROTO_OUT, data):]


def _recv():
    (n,) = _HEADER.unpack(_read_exact(_HEADER.size))
    return json.loads(_read_exact(n).decode("utf-8"))


def _limit(limits):
    mb = 1024 * 1024
    for name, value in (("RLIMIT_CPU", limits.get("cpu_seconds", 60)),
                        ("RLIMIT_AS", limits.get("memory_mb", 2048) * mb),
                        ("RLIMIT_FSIZE", 8 * mb), ("RLIMIT_NPROC", limits.get("processes", 0)),
                        ("RLIMIT_CORE", 0)):
        rid = getattr(resource, name, None)
        if rid is None:
            continue
        try:
            resource.setrlimit(rid, (value, value))
        except (ValueError, OSError):
            pass


# --- the documents, read-only ---------------------------------------------------------------
class Page:
    __slots__ = ("_no", "_text", "_start")

    def __init__(self, no, text, start):
        object.__setattr__(self, "_no", no)
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_start", start)

    no = property(lambda self: self._no)
    text = property(lambda self: self._text)
    start = property(lambda self: self._start)

    def __setattr__(self, name, value):
        raise AttributeError("pages are read-only: copy the text into a variable of your own")

    def __repr__(self):
        return f"<page {self.no}: {len(self.text)} chars>"


class Document:
    """One selected document: .title, .text, .pages (list of Page with .no, .text, .start)."""

    __slots__ = ("_title", "_text", "_pages")

    def __init__(self, d):
        text = d["text"]
        object.__setattr__(self, "_title", d["title"])
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_pages", tuple(Page(no, text[a:b], a) for no, a, b in d["pages"]))

    title = property(lambda self: self._title)
    text = property(lambda self: self._text)
    pages = property(lambda self: self._pages)

    def __setattr__(self, name, value):
        raise AttributeError("documents are read-only: copy the text into a variable of your own")

    def page_of(self, char):
        for p in reversed(self.pages):
            if p.start <= char:
                return p.no
        return 1

    def __len__(self):
        return len(self.text)

    def __repr__(self):
        return f"<document {self.title!r}: {len(self.pages)} pages, {len(self.text)} chars>"


class Documents(tuple):
    """`context`: a read-only list of Document."""

    def __repr__(self):
        return "[" + ", ".join(map(repr, self)) + "]"


def make_outline(context, per_doc=None):
    lines = [f"{len(context)} document(s). context[i].title / .text / .pages[j].text (pages are numbered from 1):"]
    # About 24 page lines in all, so with many documents the outline still leaves room in
    # the first turn for the example search, which matters more.
    per_doc = per_doc or max(1, min(8, 24 // max(1, len(context))))
    for i, d in enumerate(context[:20]):
        lines.append(f"context[{i}]: {d.title!r}, {len(d.pages)} pages, {len(d.text)} characters")
        pages = [p for p in d.pages if p.text.strip()]
        step = max(1, len(pages) // per_doc)
        for p in pages[::step][:per_doc]:
            first = " ".join(p.text.strip().split("\n", 1)[0].split())[:60]
            lines.append(f"  page {p.no}: {first}")
    if len(context) > 20:
        lines.append(f"... and {len(context) - 20} more documents")
    return "\n".join(lines)


# --- showing values the way a notebook does -------------------------------------------------
def _clip(text, n):
    return text if len(text) <= n else text[:n] + f"... [{len(text)} chars]"


def _is_hit(x):
    return isinstance(x, dict) and {"doc", "title", "page", "text"} <= set(x)


def show(value, limit=1500):
    if isinstance(value, list) and value and all(_is_hit(h) for h in value):
        each = max(120, limit // len(value))
        rows = []
        for i, h in enumerate(value):
            # the sentence that matched best, when the parent found one: a 1,000-character
            # hit shown from its start often hides what matched
            best = h.get("match") if isinstance(h.get("match"), str) else ""
            body = f"...{best}..." if best else str(h["text"])
            rows.append(f"[{i}] {h['title']!r} page {h['page']} ({len(str(h['text']))} chars in ['text']): "
                        f"{_clip(' '.join(body.split()), each)}")
        return f"{len(value)} search hit(s) (each a dict with keys doc, title, page, text, match):\n" + "\n".join(rows)
    if isinstance(value, list) and not value:
        return "[] (an empty list)"
    if isinstance(value, str):
        return _clip(repr(value), limit)
    try:
        return _clip(repr(value), limit)
    except Exception as e:  # a hostile __repr__ is the cell's own problem
        return f"<{type(value).__name__} (repr failed: {type(e).__name__})>"


class _Capped(io.TextIOBase):
    """print() target that keeps only the first `limit` characters but counts all."""

    def __init__(self, limit):
        self.limit, self.parts, self.kept, self.total = limit, [], 0, 0

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        self.total += len(s)
        if self.kept < self.limit:
            piece = s[: self.limit - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)
        return len(s)

    def value(self):
        text = "".join(self.parts)
        if self.total > self.kept:
            text += f"\n... [output truncated: {self.total} chars, showing {self.kept}]"
        return text


# --- errors, short and with a hint ------------------------------------------------------------
def _hint(e, names, line=""):
    msg = str(e)
    if isinstance(e, SyntaxError):
        if "FINAL" in (e.text or ""):
            return ("FINAL('your answer') answers with text (in quotes); FINAL_VAR('name') answers with the "
                    "variable called name.")
        return "write only Python inside the ```repl block (no prose); close every bracket and quote."
    if isinstance(e, NameError):
        m = re.search(r"name '(\w+)' is not defined", msg)
        if m and "FINAL" in line:
            return (f"there is no variable `{m.group(1)}`. If you know the answer, write it in quotes: "
                    f"FINAL('the answer'); or assign {m.group(1)} = ... in a cell first.")
        if m:
            close = difflib.get_close_matches(m.group(1), names, n=1)
            if close:
                return f"did you mean `{close[0]}`?"
            return f"`{m.group(1)}` does not exist yet: assign it first (variables persist between cells). Helpers: " + ", ".join(HELPERS)
    if isinstance(e, AttributeError):
        if "'dict' object" in msg:
            return "search() returns dicts: use hit['text'], hit['page'], hit['title']."
        if "'Document' object" in msg or "'tuple' object" in msg or "'Documents' object" in msg:
            return "context is a list of documents: context[0].text, context[0].title, context[0].pages[0].text."
        if "'str' object" in msg:
            return "this is already a str (text): use it directly, e.g. text.find('word') or 'word' in text."
    if isinstance(e, TypeError):
        if "string indices must be integers" in msg or "'str' object is not callable" in msg:
            return "search() returns a list of dicts: hits = search('words'); hits[0]['text']."
        if "does not support item assignment" in msg:
            return "context and its documents are read-only: copy what you need into your own variable."
    if isinstance(e, IndexError):
        return "the list is shorter than that: check len(...) first (search() may return an empty list)."
    if isinstance(e, KeyError):
        return "a search hit has the keys doc, title, page and text."
    if isinstance(e, (MemoryError, RecursionError)):
        return "work on smaller pieces (one page or one search hit at a time)."
    return ""


def _line_of(e, code):
    line = None
    if isinstance(e, SyntaxError) and e.filename == "<cell>":
        line = e.lineno
    else:
        for frame in traceback.extract_tb(e.__traceback__):
            if frame.filename == "<cell>":
                line = frame.lineno
    return line


def short_error(e, code):
    """One or two lines: where, what, and a hint; never the whole traceback."""
    line = _line_of(e, code)
    what = f"{type(e).__name__}: {_clip(str(e), 300)}"
    lines = code.splitlines()
    src = lines[line - 1].strip() if line and 0 < line <= len(lines) else ""
    out = f"Error on line {line}: {what}" if line else f"Error: {what}"
    if src:
        out += f"\n    {_clip(src, 160)}"
    return out


class _Final(BaseException):
    """Raised by FINAL to end the cell; a BaseException so `except Exception` in model
    code cannot swallow it."""


def main():
    _take_over_stdio()
    init = _recv()
    limits = init.get("limits", {})
    max_out = int(limits.get("max_output", 2000))
    context = Documents(Document(d) for d in init["context"])
    state = {"final": None}

    def _call(fn, **args):
        _send({"op": "call", "id": state["id"], "fn": fn, "args": args})
        reply = _recv()
        if reply.get("error"):
            raise RuntimeError(reply["error"])
        return reply.get("value")

    def llm_query(prompt):
        """Ask the sub-model one question (prompt may include text from `context`)."""
        return _call("llm_query", prompt=str(prompt))

    def llm_query_batched(prompts):
        """llm_query for each prompt of a list; returns a list of str."""
        return _call("llm_query_batched", prompts=[str(p) for p in list(prompts)[:64]])

    def rlm_query(question, text):
        """A recursive child: another REPL over `text` answers `question`."""
        return _call("rlm_query", question=str(question), text=str(text))

    def search(query, k=5):
        """Full-text search: a list of dicts with doc, title, page, text (best first)."""
        return _call("search", query=str(query), k=max(1, min(50, int(k))))

    def outline():
        """The documents' titles, sizes and the first line of some pages."""
        return make_outline(context)

    def FINAL(answer):
        """End with this answer (a str, or anything printable)."""
        text = answer if isinstance(answer, str) else show(answer, 4000)
        if not text.strip():
            raise ValueError("FINAL got an empty answer; pass the answer text, e.g. FINAL('42')")
        _call("final", answer=text[:4000], via=state.get("via") or "FINAL")
        state["final"] = text
        raise _Final()

    namespace = {"__name__": "__repl__", "__builtins__": __builtins__, "re": re, "json": json}

    def FINAL_VAR(name):
        """End with the value of the variable called `name`, e.g. FINAL_VAR('answer')."""
        if not isinstance(name, str) or not name.isidentifier() or name not in namespace or name in HELPERS \
                or name.startswith("__"):
            shown = _clip(repr(name), 60)
            raise NameError(
                f"FINAL_VAR({shown}): there is no variable of that name, so nothing was answered. "
                "FINAL_VAR takes the NAME of a variable you assigned, in quotes: answer = ...; FINAL_VAR('answer'). "
                "To answer with text or a value, call FINAL(...) instead.")
        state["via"] = "FINAL_VAR"
        try:
            FINAL(namespace[name])
        finally:
            state["via"] = None

    helpers = {"context": context, "search": search, "llm_query": llm_query, "llm_query_batched": llm_query_batched,
               "rlm_query": rlm_query, "FINAL": FINAL, "FINAL_VAR": FINAL_VAR, "outline": outline}
    namespace.update(helpers)

    _limit(limits)
    _send({"op": "ready"})

    while True:
        msg = _recv()
        if msg.get("op") != "exec":
            continue
        state["id"], state["final"] = msg["id"], None
        _send(run_cell(msg["code"], namespace, helpers, state, max_out) | {"op": "done", "id": msg["id"]})


def run_cell(code, namespace, helpers, state, max_out):
    out = _Capped(max_out)
    notes, error, shown = [], None, None
    sys.stdout = sys.stderr = out
    try:
        tree = ast.parse(code, "<cell>", "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            if value is not None:
                shown = show(value, max(200, max_out - out.kept))
    except _Final:
        pass
    except BaseException as e:  # the program's failure is output for the model, not a crash
        error = short_error(e, code)
        lines, at = code.splitlines(), _line_of(e, code)
        hint = _hint(e, [n for n in namespace if not n.startswith("__")],
                     lines[at - 1] if at and 0 < at <= len(lines) else "")
        if hint:
            error += f"\nHint: {hint}"
    finally:
        sys.stdout = sys.stderr = io.StringIO()
    for name, obj in helpers.items():
        if namespace.get(name) is not obj:
            namespace[name] = obj
            notes.append(f"Note: `{name}` is provided by the REPL and cannot be replaced; it was restored. "
                         f"Use another name for your own variable (e.g. my_{name}).")
    text = out.value()
    if shown is not None:
        text += ("\n" if text and not text.endswith("\n") else "") + f"Out: {shown}"
    if not text and error is None and state["final"] is None:
        notes.append("(the cell ran and printed nothing: print(...) what you want to see, or end the cell with an expression)")
    return {"stdout": text, "error": error, "notes": notes}


if __name__ == "__main__":
    main()

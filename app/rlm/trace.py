"""The trace of a run: every model call (and every non-model step) is a TraceNode.

A run's nodes form a tree through `parent`. Nodes are plain dataclasses so the UI can
wrap them in an item model and the Store can keep them as dicts (`to_dict`). The final
answer carries `Citation`s that point at nodes and, through them, at document pages
and a verbatim quote. `Trace` rebuilds the tree from a stored run and renders it as
JSON or a readable Markdown report.

Node fields (all JSON-serialisable):
  id, parent (id or None), depth (0 = root controller, +1 per child controller),
  kind: plan | filter | map | verify | reduce | code | final,
  label (a short human title), template (prompt template name + text), prompt (the
  filled prompt as sent), slice (SliceRef or None), output (raw model output or a
  step's result), data (parsed output, e.g. {relevant, answer, quote}),
  tokens_in, tokens_out, cached_tokens, seconds, status (running | done | failed |
  cancelled | skipped), fate (cited | merged | discarded | '') and fate_reason,
  started_at (unix seconds).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Iterable

from app.report import pages_text
from app.rlm.hygiene import printable

NODE_KINDS = ("plan", "ladder", "filter", "map", "pick", "veto", "check", "verify", "reduce", "compose", "code", "final")
FATES = ("cited", "merged", "discarded", "")
STATUSES = ("running", "done", "failed", "cancelled", "skipped")


@dataclass
class SliceRef:
    """A span of one document: pages are 1-based and inclusive; chars index
    Store.document_text(doc_id)."""

    doc_id: int
    title: str = ""
    page_start: int = 0
    page_end: int = 0
    char_start: int = 0
    char_end: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "SliceRef | None":
        if not d:
            return None
        return cls(**{k: d[k] for k in (f.name for f in fields(cls)) if k in d})

    def describe(self) -> str:
        pages = f"p. {self.page_start}" if self.page_start == self.page_end else f"pp. {self.page_start}-{self.page_end}"
        return f"{self.title or 'document ' + str(self.doc_id)}, {pages}, chars {self.char_start}-{self.char_end}"


@dataclass
class Citation:
    """[n] in the answer -> the node whose output was cited -> doc, page, verbatim quote.
    char_start/char_end locate the quote in Store.document_text(doc_id)."""

    n: int
    node_id: str
    doc_id: int
    title: str
    page: int
    quote: str
    char_start: int
    char_end: int
    # The page number printed on that page ("990", "xii") where the PDF has labels, else
    # ''. `page` stays the PDF's own page index: the reader opens pages by it.
    page_label: str = ""
    # The last page the quote reaches when a sentence runs over a page break; 0: `page` only.
    page_end: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def page_text(self) -> str:
        """'page 990 (PDF page 1006)' where the printed number differs, else 'page 12';
        'pages 12–13' for a quote that runs onto the next page."""
        return pages_text(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "Citation":
        return cls(**{k: d[k] for k in (f.name for f in fields(cls)) if k in d})


@dataclass
class TraceNode:
    id: str
    parent: str | None = None
    depth: int = 0
    kind: str = "map"
    label: str = ""
    template: str = ""
    prompt: str = ""
    slice: SliceRef | None = None
    output: str = ""
    data: dict = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0
    seconds: float = 0.0
    status: str = "running"
    fate: str = ""
    fate_reason: str = ""
    started_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["slice"] = self.slice.to_dict() if self.slice else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TraceNode":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        kw["slice"] = SliceRef.from_dict(d.get("slice"))
        kw["data"] = dict(d.get("data") or {})
        return cls(**kw)


class Trace:
    """The nodes of one run in insertion order, with tree helpers and exports."""

    def __init__(self, nodes: Iterable[TraceNode] = ()):
        self._nodes: dict[str, TraceNode] = {}
        for n in nodes:
            self.add(n)

    def add(self, node: TraceNode) -> TraceNode:
        self._nodes[node.id] = node
        return node

    def get(self, node_id: str) -> TraceNode | None:
        return self._nodes.get(node_id)

    def __iter__(self):
        return iter(self._nodes.values())

    def __len__(self) -> int:
        return len(self._nodes)

    @property
    def nodes(self) -> list[TraceNode]:
        return list(self._nodes.values())

    def roots(self) -> list[TraceNode]:
        return [n for n in self._nodes.values() if not n.parent or n.parent not in self._nodes]

    def children(self, node_id: str) -> list[TraceNode]:
        return [n for n in self._nodes.values() if n.parent == node_id]

    def to_dict(self) -> dict:
        return {"nodes": [n.to_dict() for n in self._nodes.values()]}

    @classmethod
    def from_dict(cls, d: dict) -> "Trace":
        return cls(TraceNode.from_dict(n) for n in d.get("nodes", []))


def run_to_dict(run: dict) -> dict:
    """A stored run (Store.get_run) as a self-contained, JSON-ready export."""
    out = {k: v for k, v in run.items() if k != "nodes"}
    out["nodes"] = [TraceNode.from_dict(n).to_dict() for n in run.get("nodes", [])]
    return out


def run_to_json(run: dict) -> str:
    return json.dumps(run_to_dict(run), indent=2, ensure_ascii=False, default=str)


def _clip(text: str, n: int) -> str:
    text = " ".join(printable(str(text)).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def run_to_markdown(run: dict, *, prompts: bool = False) -> str:
    """A readable report of a stored run: question, answer, citations, totals, then the
    node tree (prompts in full when prompts=True)."""
    # Fates as the data says (derive_fates), so a report never calls a "no" cited.
    trace = Trace.from_dict({"nodes": derive_fates(run.get("nodes", []), run.get("citations") or [])})
    lines = [f"# Lectern run {run.get('id', '')}", ""]
    lines += [f"**Question:** {run.get('question', '')}", ""]
    lines += [f"**Mode:** {run.get('mode', '')}  ", f"**Status:** {run.get('status', '')}  "]
    models = run.get("models")
    if models:
        lines.append(f"**Models:** {json.dumps(models, ensure_ascii=False, default=str)}  ")
    lines += ["", "## Answer", "", printable(str(run.get("answer") or "(no answer)")), ""]
    if run.get("note"):
        lines += [f"> {run['note']}", ""]
    cites = [Citation.from_dict(c) for c in run.get("citations") or []]
    if cites:
        lines += ["## Citations", ""]
        for c in cites:
            lines.append(f"{c.n}. {c.title or 'document ' + str(c.doc_id)}, {c.page_text()}: “{_clip(c.quote, 300)}” (node {c.node_id}, chars {c.char_start}-{c.char_end})")
        lines.append("")
    totals = run.get("totals") or {}
    if totals:
        lines += ["## Totals", ""] + [f"- {k}: {v}" for k, v in totals.items()] + [""]
    lines += ["## How the answer was built", ""]

    def walk(node: TraceNode, indent: int) -> None:
        pad = "  " * indent
        fate = f" → {node.fate}" + (f" ({node.fate_reason})" if node.fate_reason else "") if node.fate else ""
        where = f" [{node.slice.describe()}]" if node.slice else ""
        lines.append(
            f"{pad}- **{node.kind}** {node.label}{where}: {node.status}, "
            f"{node.tokens_in} in / {node.tokens_out} out ({node.cached_tokens} cached), {node.seconds:.2f}s{fate}"
        )
        if node.output:
            lines.append(f"{pad}  - output: `{_clip(node.output, 240)}`")
        if prompts and node.prompt:
            lines.append(f"{pad}  - prompt:\n\n```\n{printable(node.prompt)}\n```\n")
        for child in trace.children(node.id):
            walk(child, indent + 1)

    for root in trace.roots():
        walk(root, 0)
    return "\n".join(lines) + "\n"


# --- fates that follow from the data ---------------------------------------------------
def _said_no(n: dict) -> bool:
    """The node's model output is a "no": a no vote, or a slice marked not relevant."""
    out = str(n.get("output") or "").strip().strip('"\'.').lower()
    data = n.get("data") if isinstance(n.get("data"), dict) else {}
    if n.get("kind") in ("map", "verify") and out == "no":
        return True
    return data.get("relevant") is False and not data.get("answer")


_NOTHING = ("nothing relevant", "no answer in this slice")


def derive_fates(nodes, citations=(), answer: str = "") -> list[dict]:
    """Every node's fate made consistent with what the run produced, after the run:

    - the node behind each [n] of the answer is cited (an answer with citations always
      has cited rows), unless its own output was a "no": a "no" is never cited. Such a
      node (a sentence the model voted against but the ranking in code chose) is
      "merged", and the step that chose it is cited;
    - a node marked cited that no [n] points at, once the answer has citations, is
      "merged" when it said something and "discarded" when it said no;
    - a node the model marked relevant is never "discarded: nothing relevant / no answer
      in this slice": the reason says what really happened.

    Takes TraceNodes or dicts (live or stored) and returns dicts; the strategies' own
    fates stand wherever they agree with the data."""
    out = [dict(n.to_dict() if hasattr(n, "to_dict") else n) for n in nodes]
    by_id = {str(n.get("id")): n for n in out}
    cites: dict[str, list[int]] = {}
    for c in citations or []:
        c = c.to_dict() if hasattr(c, "to_dict") else dict(c)
        if c.get("node_id") is not None:
            cites.setdefault(str(c["node_id"]), []).append(int(c.get("n") or 0))
    cited_ids = set()
    # Prose the model composed may quote a sentence it judged "no" alone (read beside its
    # rivals, it answers): then the composing step chose it, not the ranking in code.
    composed = any(n.get("kind") == "compose" and n.get("fate") == "cited" for n in out)
    chooser = "by the answer the model composed" if composed else "by the ranking in code"
    for nid, ns in cites.items():
        n = by_id.get(nid)
        if n is None:
            continue
        marks = ", ".join(f"[{k}]" for k in sorted(ns))
        if _said_no(n):
            n["fate"], n["fate_reason"] = "merged", (
                f"its text is quoted as {marks}, chosen {chooser}; the model's answer here (no) was not used")
            parent = by_id.get(str(n.get("parent"))) if n.get("parent") is not None else None
            if parent is not None and not _said_no(parent):
                parent["fate"], parent["fate_reason"] = "cited", f"chose the passage quoted as {marks}"
                cited_ids.add(str(parent.get("id")))
        else:
            n["fate"] = "cited"
            if not n.get("fate_reason") or "cited" not in str(n.get("fate_reason")):
                n["fate_reason"] = f"quoted in the answer as {marks}"
            cited_ids.add(nid)
    for n in out:
        nid = str(n.get("id"))
        data = n.get("data") if isinstance(n.get("data"), dict) else {}
        if n.get("fate") == "cited" and nid not in cited_ids:
            if _said_no(n):
                n["fate"], n["fate_reason"] = "discarded", "the model said no here"
            elif cites and n.get("kind") not in ("final", "compose"):  # these wrote the answer itself
                n["fate"], n["fate_reason"] = "merged", "fed the answer, but no [n] of the answer points here"
        if n.get("fate") == "discarded" and data.get("relevant") is True and \
                any(w in str(n.get("fate_reason") or "") for w in _NOTHING):
            n["fate_reason"] = ("the model marked this slice relevant, but gave no answer with a quote the code "
                                "could find in it")
    return out

"""Events a run yields while it goes (the GUI draws them live, the CLI prints them).

    RunStarted(run_id, question, mode)    once, first
    NodeAdded(node)                       a call or step began (node.status == 'running')
    NodeUpdated(node)                     the same node changed (output, tokens, status, fate)
    AnswerDelta(text)                     a piece of the final answer text, in order
    RunFinished(result)                   once, last; result is a RunResult

Nodes are the live TraceNode objects; a consumer in another thread should copy what it
keeps (node.to_dict()).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.rlm.trace import Citation, TraceNode


@dataclass
class RunResult:
    """status: done | budget | cancelled | failed. On anything but 'done', `answer` is the
    best partial answer and `note` says why the run stopped. totals: calls, tokens_in,
    tokens_out, cached_tokens, seconds (wall), model_seconds, depth (deepest level)."""

    run_id: int | None
    answer: str
    citations: list[Citation] = field(default_factory=list)
    status: str = "done"
    note: str = ""
    totals: dict = field(default_factory=dict)
    nodes: list[TraceNode] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "status": self.status,
            "note": self.note,
            "totals": dict(self.totals),
            "nodes": [n.to_dict() for n in self.nodes],
        }


@dataclass
class RunStarted:
    run_id: int | None
    question: str = ""
    mode: str = ""


@dataclass
class NodeAdded:
    node: TraceNode


@dataclass
class NodeUpdated:
    node: TraceNode


@dataclass
class AnswerDelta:
    text: str


@dataclass
class RunFinished:
    result: RunResult


Event = RunStarted | NodeAdded | NodeUpdated | AnswerDelta | RunFinished

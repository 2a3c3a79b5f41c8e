"""The recursive controller (Recursive Language Models, Zhang, Kraska and Khattab 2025).

Public API:
    from app.rlm import Controller, Budget, RunResult
    for event in Controller(store, root_model, sub_model).run(question, doc_ids, mode, budget, cancel): ...
Events: RunStarted, NodeAdded, NodeUpdated, AnswerDelta, RunFinished (app.rlm.events).
Trace types: TraceNode, SliceRef, Citation, Trace and exports (app.rlm.trace).

Modes: guided (guided.py, evidence.py, scan.py), repl (repl.py with sandbox.py and
sandbox_child.py: model code runs in a separate, limited process), direct and rag
(baselines.py). Controller(..., options={...}) tunes them: GuidedOptions fields
(window_chars, max_candidates, map_tokens, plan_call, verify_call, scan_chars, ...),
rag_k, answer_tokens (direct/rag/forced REPL answer), repl_root_tokens.
Test helpers (a store document without PDF, an oracle FakeModel responder): app.rlm.testing.
"""

from app.rlm.budget import Budget, BudgetExceeded
from app.rlm.controller import MODES, NOT_FOUND, Controller
from app.rlm.events import AnswerDelta, Event, NodeAdded, NodeUpdated, RunFinished, RunResult, RunStarted
from app.rlm.trace import Citation, SliceRef, Trace, TraceNode, run_to_dict, run_to_json, run_to_markdown

__all__ = [
    "Controller", "Budget", "BudgetExceeded", "RunResult", "MODES", "NOT_FOUND",
    "RunStarted", "NodeAdded", "NodeUpdated", "AnswerDelta", "RunFinished", "Event",
    "TraceNode", "SliceRef", "Citation", "Trace", "run_to_dict", "run_to_json", "run_to_markdown",
]

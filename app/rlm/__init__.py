"""The recursive controller (Recursive Language Models, Zhang, Kraska and Khattab 2025).

Public API:
    from app.rlm import Controller, Budget, RunResult
    for event in Controller(store, root_model, sub_model).run(question, doc_ids, mode, budget, cancel): ...
Events: RunStarted, NodeAdded, NodeUpdated, AnswerDelta, RunFinished (app.rlm.events).
Trace types: TraceNode, SliceRef, Citation, Trace and exports (app.rlm.trace).
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

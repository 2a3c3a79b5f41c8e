"""One question at a time: starts Engine.run in a worker and turns its events into
signals the panels understand."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.ui.engine import ModelsLoading, ModelsReady, as_dict


def estimate_seconds(tokens: int, mode: str, max_calls: int, n_ctx: int, tps: float, call_seconds: float = 0.0) -> float:
    """Rough wall time before starting: the calls the mode will make over this scope
    times this machine's measured seconds per call (or tokens read divided by its measured
    speed), with a first guess until a question has run here."""
    per_call_ctx = 1200  # guided mode reads small slices: a few sentences for a small model
    if mode == "direct":
        calls, read = 1, min(tokens, n_ctx or 8192)
    elif mode == "rag":
        calls, read = 1, min(tokens, 3000)
    else:  # guided and REPL read the scope slice by slice, within the budget
        calls = min(max_calls, max(2, -(-tokens // per_call_ctx) + 1))
        read = min(tokens, calls * per_call_ctx)
    if call_seconds > 0 and mode not in ("direct", "rag"):
        return calls * call_seconds
    tps = tps if tps > 0 else 150.0  # a first guess for the embedded model on a laptop CPU
    return (read + calls * 300) / tps


def human_seconds(s: float) -> str:
    if s < 60:
        return f"{max(1, round(s))} s"
    if s < 3600:
        return f"{round(s / 60)} min"
    return f"{s / 3600:.1f} h"


class RunSession(QObject):
    started = Signal(object)  # run id
    loading = Signal(str)
    modelsReady = Signal(dict)
    node = Signal(dict)
    answerDelta = Signal(str)
    finished = Signal(dict)  # RunResult as a dict (status, answer, citations, note, totals, nodes)
    failed = Signal(str)  # the run could not start or crashed outside the controller
    stopped = Signal()  # the worker is gone (after finished or failed)

    def __init__(self, engine, tasks, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.tasks = tasks
        self.task = None
        self.run_id = None
        self.result: dict | None = None

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self, question: str, doc_ids, mode: str, budget: dict, model_settings: dict) -> bool:
        if self.task is not None:
            return False
        self.run_id = None
        self.result = None
        self.task = self.tasks.run_generator(
            lambda cancel: self.engine.run(question, doc_ids, mode, budget, model_settings, cancel=cancel),
            on_event=self._event,
            on_failed=self.failed.emit,
            on_finished=self._done,
        )
        return True

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel.cancel()

    def _event(self, ev) -> None:
        name = type(ev).__name__
        if isinstance(ev, ModelsLoading):
            self.loading.emit(ev.message)
        elif isinstance(ev, ModelsReady):
            self.modelsReady.emit(ev.info)
        elif name == "RunStarted":
            self.run_id = getattr(ev, "run_id", None)
            self.started.emit(self.run_id)
        elif name in ("NodeAdded", "NodeUpdated"):
            self.node.emit(as_dict(ev.node))
        elif name == "AnswerDelta":
            self.answerDelta.emit(str(ev.text))
        elif name == "RunFinished":
            res = as_dict(ev.result)
            res["citations"] = [as_dict(c) for c in res.get("citations") or []]
            res["nodes"] = [as_dict(n) for n in res.get("nodes") or []]
            self.result = res
            self.finished.emit(res)

    def _done(self) -> None:
        self.task = None
        self.stopped.emit()

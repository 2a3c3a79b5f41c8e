"""One question at a time: starts Engine.run in a worker and turns its events into
signals the panels understand."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.ui.engine import ModelsLoading, ModelsReady, as_dict


def estimate_seconds(tokens: int, mode: str, max_calls, n_ctx: int, tps: float, call_seconds: float = 0.0,
                     selfcheck_tps: float = 0.0) -> tuple[float, float] | None:
    """(typical, longest) wall seconds before starting, from this machine's measured speed:
    seconds per call from earlier questions here, else the loaded model's self-check
    tokens/s. None when nothing has been measured yet: no made-up constant.

    typical: a lookup (guided stops once a single answer is verified: a plan, a few reads
    and a check). longest: reading the whole scope slice by slice, up to the call budget
    (max_calls None = no limit)."""
    per_call_ctx = 1200  # guided mode reads small slices: a few sentences for a small model
    slices = max(1, -(-tokens // per_call_ctx))
    if mode == "direct":
        calls_lo = calls_hi = 1
        read = min(tokens, n_ctx or 8192)
    elif mode == "rag":
        calls_lo = calls_hi = 1
        read = min(tokens, 3000)
    else:
        calls_hi = slices + 2 if max_calls is None else min(int(max_calls), slices + 2)
        calls_lo = min(calls_hi, 4)
        read = per_call_ctx
    if call_seconds > 0 and mode not in ("direct", "rag"):
        return calls_lo * call_seconds, calls_hi * call_seconds
    if tps > 0:
        per = (read + 300) / tps
        return calls_lo * per, calls_hi * per
    if selfcheck_tps > 0:
        # The self-check measures generation; reading a prompt runs several times faster on
        # a CPU, but each call also writes ~40 tokens: count prompt tokens at a quarter cost.
        per = (read / 4 + 40) / selfcheck_tps
        return calls_lo * per, calls_hi * per
    return None


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

    def start(self, question: str, doc_ids, config, rewritten_from: dict | None = None) -> bool:
        if self.task is not None:
            return False
        self.run_id = None
        self.result = None
        self.task = self.tasks.run_generator(
            lambda cancel: self.engine.run(question, doc_ids, config, cancel=cancel, rewritten_from=rewritten_from),
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

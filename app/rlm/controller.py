"""The recursive controller: one entry point for every mode.

    Controller(store, root_model, sub_model=None).run(question, doc_ids=None,
        mode='guided'|'repl'|'direct'|'rag', budget=Budget(...), cancel=None)

is a generator of events (see app.rlm.events); the last one is RunFinished(RunResult).
`ask(...)` consumes it and returns the RunResult. A run never raises for budget,
cancel or model errors: it finishes with status 'budget' / 'cancelled' / 'failed',
the best partial answer and a note. The run and every node are saved in the Store.
"""

from __future__ import annotations

import logging
import re

from app.cancel import CancelToken, Cancelled
from app.llm.base import ContextOverflow, LLMError, Model
from app.rlm import answerable, hygiene
from app.rlm.budget import Budget, BudgetExceeded
from app.rlm.context import RunContext
from app.rlm.environment import Environment
from app.rlm.events import AnswerDelta, RunFinished, RunResult, RunStarted
from app.rlm.terms import analyse
from app.rlm.trace import derive_fates

log = logging.getLogger(__name__)

MODES = ("guided", "repl", "direct", "rag")
NOT_FOUND = answerable.NOT_FOUND  # kept here too: callers know it from the controller


def _strategy(mode: str):
    # Imported lazily so that a mode's helpers load only when used.
    if mode == "guided":
        from app.rlm.guided import run_guided
        return run_guided
    if mode == "direct":
        from app.rlm.baselines import run_direct
        return run_direct
    if mode == "rag":
        from app.rlm.baselines import run_rag
        return run_rag
    if mode == "repl":
        from app.rlm.repl import run_repl
        return run_repl
    raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")


def _model_info(model: Model) -> dict:
    try:
        return dict(model.info())
    except Exception:
        return {"name": getattr(model, "name", "model")}


def _settle_fates(ctx: RunContext, citations, answer: str):
    """Write the fates the finished run's data implies (trace.derive_fates) back to the
    nodes, so the stored run, `runs show --json`, the CLI and the window all tell one story:
    a sentence the model voted "no" on is never "cited", the node behind each [n] is."""
    nodes = list(ctx.trace.nodes)
    for node, settled in zip(nodes, derive_fates(nodes, citations, answer)):
        fate, reason = settled.get("fate") or "", settled.get("fate_reason") or ""
        if (node.fate, node.fate_reason) != (fate, reason):
            node.fate, node.fate_reason = fate, reason
            yield from ctx.update(node)


def _partial(ctx: RunContext, mode: str) -> tuple[str, list]:
    """The best partial answer of a run that stopped early, held to the gate a finished
    guided answer passes: a list whose items a budget cut off before the gate ran
    ("95% Wald confidence intervals" for a probit model the paper never fits) is not
    shown as an answer."""
    answer = hygiene.strip_protocol(ctx.partial.answer)
    citations = list(ctx.partial.citations) if answer else []
    if answer and citations and mode == "guided" and ctx.options.get("answer_gate", True) \
            and analyse(ctx.question).kind != "aggregate":  # a summary's evidence is the selection
        verdict = answerable.judge(ctx.env, ctx.question, [(c.doc_id, c.char_start, c.char_end) for c in citations])
        if not verdict.ok:
            ctx.notes.append(f"What was read before the stop does not answer the question: {verdict.why}.")
            return answerable.not_found_text(ctx, verdict), []
    return answer, citations


class Controller:
    def __init__(self, store, root_model: Model, sub_model: Model | None = None, options: dict | None = None,
                 embedder: Model | None = None, meaning_unavailable: str = ""):
        """options tune the strategies (see guided.GuidedOptions, baselines.RAG_K ...; RunConfig.options in the CLI and the window);
        unknown keys are ignored. embedder: the sentence-embedding model (manager.load_embedder()),
        read beside the question's words when ranking passages; None reads words only.
        meaning_unavailable: why an embedder that was asked for is missing (runconfig), for the note."""
        self.embedder = embedder
        self.meaning_unavailable = meaning_unavailable
        self.store = store
        self.options = dict(options or {})
        self.root = root_model
        self.sub = sub_model or root_model

    def ask(self, question: str, **kw) -> RunResult:
        result = None
        for ev in self.run(question, **kw):
            if isinstance(ev, RunFinished):
                result = ev.result
        return result

    def run(self, question: str, doc_ids=None, mode: str = "guided", budget: Budget | None = None,
            cancel: CancelToken | None = None):
        question = (question or "").strip()
        if not question:
            raise ValueError("the question is empty")
        strategy = _strategy(mode)  # a bad mode is the caller's error: raise before starting
        budget = budget or Budget()
        cancel = cancel or CancelToken()
        env = Environment(self.store, doc_ids)
        models = {"root": _model_info(self.root), "sub": _model_info(self.sub)}
        if self.embedder is not None:
            models["embedder"] = _model_info(self.embedder)
        run_id = self.store.create_run(question, env.doc_ids, mode, models, {**budget.to_dict(), **self.options})
        ctx = RunContext(store=self.store, run_id=run_id, question=question, env=env, root=self.root,
                         sub=self.sub, budget=budget, cancel=cancel, options=self.options, embedder=self.embedder)
        yield RunStarted(run_id, question, mode)

        status, answer, citations = "done", "", []
        if env.missing:
            ctx.notes.append(f"documents not available (unknown or not ready): {', '.join(map(str, env.missing))}")
        try:
            if not env.docs:
                answer = "No documents are selected (or none is ready): import documents or change the selection."
                status = "failed"
            else:
                answer, citations = yield from strategy(ctx)
        except BudgetExceeded as e:
            status = "budget"
            ctx.notes.append(f"Stopped early: {e.reason}. This is the best partial answer.")
        except Cancelled:
            status = "cancelled"
            ctx.notes.append("Cancelled. This is the best partial answer so far.")
        except ContextOverflow as e:
            status = "failed"
            ctx.notes.append(f"Model error: {e}")
        except LLMError as e:
            status = "failed"
            ctx.notes.append(f"Model error: {e}")
        except Exception as e:  # a bug must end the run cleanly, with the trace kept
            log.exception("run %s failed", run_id)
            status = "failed"
            ctx.notes.append(f"Internal error: {type(e).__name__}: {e}")

        # Whatever a strategy or a model returned, our own protocol's shapes never stand in an
        # answer (a document, or a model copying one, can hold them).
        cleaned = hygiene.strip_protocol(hygiene.printable(answer or ""))
        if answer and not re.sub(r"\[\d+\]", "", cleaned).strip():
            ctx.notes.append("The answer held only fragments of Lectern's own protocol, copied from a document: dropped.")
            answer, citations = NOT_FOUND, []
        else:
            answer = cleaned
        if status != "done" and not answer:
            answer, citations = _partial(ctx, mode)
            answer = answer or (NOT_FOUND if status != "failed" else "")
            if answer and status in ("budget", "cancelled", "failed"):
                yield AnswerDelta(answer)
        try:
            yield from _settle_fates(ctx, citations, answer)
        except Exception as e:  # fates are an explanation: never the reason a run fails
            log.warning("could not settle the fates of run %s: %s", run_id, e)
        words_only = ctx.meaning.failed if ctx.meaning is not None and ctx.meaning.failed else self.meaning_unavailable
        if words_only and mode == "guided":
            ctx.notes.append(f"Passages were ranked by their words only: {words_only}.")
        note = " ".join(ctx.notes)
        try:
            env.label_citations(citations)  # the printed page number ("990"), where the PDF has one
        except Exception as e:  # a label is a nicety: never the reason a run fails
            log.warning("could not label citations of run %s: %s", run_id, e)
        result = RunResult(run_id, answer, citations, status, note, ctx.meter.totals(), ctx.trace.nodes)
        try:
            self.store.finish_run(run_id, answer, status, result.totals, [c.to_dict() for c in citations], note)
        except Exception as e:
            log.warning("could not save run %s: %s", run_id, e)
        yield RunFinished(result)

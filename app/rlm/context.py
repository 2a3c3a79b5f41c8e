"""Per-run state shared by every strategy: the trace, the meter, the store, the cancel
token, and `call()`, the one place a model is called.

Strategies are generators: they `yield from ctx.call(...)` (which yields NodeAdded /
NodeUpdated events and returns the Completion) and `return` their result, so events
stream out of any depth of recursion in order.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field

from app.cancel import CancelToken, Cancelled
from app.llm.base import CompletionRequest, GenerationCancelled, Model
from app.rlm.budget import Budget, BudgetExceeded, Meter
from app.rlm.environment import Environment
from app.rlm.semantic import Meaning
from app.rlm.events import AnswerDelta, NodeAdded, NodeUpdated
from app.rlm.trace import Citation, SliceRef, Trace, TraceNode

log = logging.getLogger(__name__)


@dataclass
class Partial:
    """The best answer so far, kept up to date so a stop at any point has one."""

    answer: str = ""
    citations: list[Citation] = field(default_factory=list)


class RunContext:
    def __init__(
        self,
        *,
        store,
        run_id,
        question: str,
        env: Environment,
        root: Model,
        sub: Model,
        budget: Budget,
        cancel: CancelToken,
        options: dict | None = None,
        embedder: Model | None = None,
    ):
        self.store = store
        self.run_id = run_id
        self.question = question
        self.env = env
        self.root = root
        self.sub = sub
        self.budget = budget
        self.cancel = cancel
        self.options = dict(options or {})
        # Sentence embeddings beside the words (app.rlm.semantic); None: words only.
        self.meaning = Meaning(embedder, question) if embedder is not None else None
        self.meter = Meter(budget)
        self.trace = Trace()
        self.partial = Partial()
        self.notes: list[str] = []
        self._ids = itertools.count(1)

    # --- nodes ---------------------------------------------------------------------------
    def new_node(self, kind: str, label: str = "", *, parent: str | None = None, depth: int = 0,
                 slice: SliceRef | None = None) -> TraceNode:
        node = TraceNode(id=f"n{next(self._ids)}", parent=parent, depth=depth, kind=kind, label=label, slice=slice)
        self.meter.depth = max(self.meter.depth, depth)
        return node

    def save(self, node: TraceNode) -> None:
        if self.store is not None and self.run_id is not None:
            try:
                self.store.save_node(self.run_id, node.to_dict())
            except Exception as e:  # a storage hiccup must not lose the run in memory
                log.warning("could not save trace node %s: %s", node.id, e)

    def add(self, node: TraceNode):
        self.trace.add(node)
        self.save(node)
        yield NodeAdded(node)

    def update(self, node: TraceNode):
        self.save(node)
        yield NodeUpdated(node)

    def step(self, kind: str, label: str, output, *, parent=None, depth=0, slice=None, data=None):
        """A node for work done in code (filtering, checks): no model call."""
        node = self.new_node(kind, label, parent=parent, depth=depth, slice=slice)
        node.output = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
        node.data = dict(data or {})
        node.status = "done"
        yield from self.add(node)
        return node

    def set_fate(self, node: TraceNode, fate: str, reason: str = ""):
        node.fate, node.fate_reason = fate, reason
        yield from self.update(node)

    # --- checks ----------------------------------------------------------------------------
    def checkpoint(self, calls: int = 0) -> None:
        """Between units of work: raise Cancelled or BudgetExceeded."""
        self.cancel.raise_if_cancelled()
        if calls:
            self.meter.check(calls=calls)
        elif self.meter.elapsed >= self.budget.max_seconds:
            raise BudgetExceeded(f"time budget reached ({self.budget.max_seconds:g} s)")

    # --- the one model call --------------------------------------------------------------
    def call(self, node: TraceNode, model: Model, messages: list[dict], *, template: str,
             max_tokens: int, json_schema: dict | None = None, grammar: str | None = None,
             stream_answer: bool = False, choices: tuple[str, ...] = ()):
        """Run one model call as `node`: check budget/cancel, stream events, record usage.
        Returns the Completion. Errors propagate after the node is marked."""
        self.checkpoint(calls=1)
        remaining = self.budget.max_tokens - self.meter.tokens
        max_tokens = max(1, min(max_tokens, remaining))
        if self.meter.tokens + model.count_messages(messages) + 1 > self.budget.max_tokens:
            raise BudgetExceeded(f"token budget reached (the next call would pass {self.budget.max_tokens} tokens)")
        self._running(node, template, messages)
        yield from self.add(node)
        token, timer = self._deadline()
        req = CompletionRequest(messages=messages, max_tokens=max_tokens, json_schema=json_schema,
                                grammar=grammar, cancel=token, choices=choices)
        t0 = time.perf_counter()
        try:
            if stream_answer:
                comp = yield from self._streamed(model, req)
            else:
                comp = model.complete(req)
        except (GenerationCancelled, Cancelled):
            node.status, node.seconds = "cancelled", time.perf_counter() - t0
            self.meter.record(0, 0, 0, node.seconds)
            yield from self.update(node)
            if not self.cancel.cancelled:
                raise BudgetExceeded(f"time budget reached ({self.budget.max_seconds:g} s) during a model call")
            raise Cancelled()
        except Exception as e:
            node.status, node.seconds, node.output = "failed", time.perf_counter() - t0, f"error: {e}"
            self.meter.record(0, 0, 0, node.seconds)
            yield from self.update(node)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        self._record_done(node, comp, t0)
        yield from self.update(node)
        return comp

    @staticmethod
    def _running(node: TraceNode, template: str, messages: list[dict]) -> None:
        node.template = template
        node.prompt = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
        node.status = "running"

    def _deadline(self):
        """A cancel token for a model call: the run's cancel reaches it, and so does the end
        of the wall-time budget (a timer), so one slow call cannot overrun max_seconds.
        Returns (token, timer or None); the caller cancels the timer when the call ends."""
        token = CancelToken()
        self.cancel.on_cancel(token.cancel)
        remaining_s = self.meter.remaining_seconds()
        # No time limit (infinity): no timer, since threading cannot wait forever by number.
        timer = threading.Timer(max(0.0, remaining_s), token.cancel) if math.isfinite(remaining_s) else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        return token, timer

    def _record_done(self, node: TraceNode, comp, t0: float) -> None:
        u = comp.usage
        node.output = comp.text
        node.tokens_in, node.tokens_out, node.cached_tokens = u.prompt_tokens, u.completion_tokens, u.cached_tokens
        node.seconds = u.seconds or (time.perf_counter() - t0)
        node.status = "done"
        if comp.finish_reason == "length":
            node.data["truncated"] = True
        if comp.choice_logprobs:
            node.data["choice_logprobs"] = {k: round(v, 4) for k, v in comp.choice_logprobs.items()}
        self.meter.record(node.tokens_in, node.tokens_out, node.cached_tokens, node.seconds)

    def call_many(self, calls: list[tuple[TraceNode, list[dict]]], model: Model, *, template: str,
                  max_tokens: int, json_schema: dict | None = None, grammar: str | None = None,
                  choices: tuple[str, ...] = (), max_concurrency: int | None = None):
        """call() for independent prompts at once, each (node, messages) its own trace node.
        They run together where the model can (Model.complete_many: threads over an
        endpoint pool, parallel sequences in a local model). Returns, in order, each call's
        Completion or the exception it raised (the node is marked failed), so one failed
        prompt loses no other. The budget is checked for the whole batch before any work;
        Stop or the end of the time budget during the batch raises as call() does, after
        every node has been marked."""
        if not calls:
            return []
        self.checkpoint(calls=len(calls))
        prompt_tokens = [model.count_messages(msgs) for _, msgs in calls]
        remaining = self.budget.max_tokens - self.meter.tokens - sum(prompt_tokens)
        if remaining < len(calls):
            raise BudgetExceeded(f"token budget reached (the next {len(calls)} calls would pass "
                                 f"{self.budget.max_tokens} tokens)")
        # The batch shares what the budget has left; each call gets an equal part at most.
        max_tokens = max(1, min(max_tokens, remaining // len(calls)))
        for node, msgs in calls:
            self._running(node, template, msgs)
            node.data["batch"] = len(calls)
            yield from self.add(node)
        token, timer = self._deadline()  # one token: Stop and the wall-time budget reach every request
        reqs = [CompletionRequest(messages=msgs, max_tokens=max_tokens, json_schema=json_schema, grammar=grammar,
                                  cancel=token, choices=choices) for _, msgs in calls]
        t0 = time.perf_counter()
        try:
            results = model.complete_many(reqs, max_concurrency=int(max_concurrency or self.options.get("parallel", 4)))
        finally:
            if timer is not None:
                timer.cancel()
        stopped = False
        for (node, _), res in zip(calls, results):
            if isinstance(res, (GenerationCancelled, Cancelled)):
                stopped = True
                node.status, node.seconds = "cancelled", time.perf_counter() - t0
                self.meter.record(0, 0, 0, node.seconds)
            elif isinstance(res, BaseException):
                node.status, node.seconds, node.output = "failed", time.perf_counter() - t0, f"error: {res}"
                self.meter.record(0, 0, 0, node.seconds)
            else:
                self._record_done(node, res, t0)
            yield from self.update(node)
        if stopped:
            if self.cancel.cancelled:
                raise Cancelled()
            raise BudgetExceeded(f"time budget reached ({self.budget.max_seconds:g} s) during a model call")
        return results

    def _streamed(self, model: Model, req: CompletionRequest):
        """Run the call on a helper thread and yield AnswerDelta for each piece as it
        arrives, so the answer appears live; the call's result or error comes back here."""
        pieces: queue.Queue = queue.Queue()
        box: dict = {}
        req.on_token = pieces.put

        def work():
            try:
                box["comp"] = model.complete(req)
            except BaseException as e:  # handed back to the generator's thread
                box["error"] = e
            finally:
                pieces.put(None)

        worker = threading.Thread(target=work, name="lectern-answer", daemon=True)
        worker.start()
        while True:
            piece = pieces.get()
            if piece is None:
                break
            yield AnswerDelta(piece)
        worker.join()
        if "error" in box:
            raise box["error"]
        return box["comp"]

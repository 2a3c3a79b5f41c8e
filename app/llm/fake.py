"""A scripted model for deterministic tests of callers (controller, UI, CLI).

Replies come from a queue (`replies=[...]`) or a function (`responder=f(request)`);
every request is recorded in `.requests`. It behaves like a real backend where callers
can observe it: context limits raise ContextOverflow before any work, the cancel token
stops streaming, `on_token` receives pieces, usage is filled in, including cached
prompt tokens for a shared prefix with the previous call (as llama.cpp's KV reuse would).

Tokens are approximated as 4 characters each, so counts are predictable in tests.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Callable, Iterable, Sequence

from app.llm.base import (
    Completion,
    CompletionRequest,
    GenerationCancelled,
    LLMError,
    Message,
    Model,
    Usage,
)
from app.llm.serial import RequestQueue



def _render(messages: Sequence[Message]) -> str:
    # A ChatML-like rendering, so prefix sharing behaves like a real chat template.
    return "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages) + "<|assistant|>\n"


class FakeModel(Model):
    """replies: consumed in order; each a str, a dict/list (sent as JSON), a Completion,
    or an Exception instance (raised). responder: called with the CompletionRequest when
    the queue is empty (or instead of it); returns any of the same. default: reply used
    when both are exhausted (None -> LLMError, so a test notices an unexpected call).
    token_delay: seconds slept per streamed piece, to make cancellation observable."""

    def __init__(
        self,
        replies: Iterable | None = None,
        responder: Callable[[CompletionRequest], object] | None = None,
        *,
        n_ctx: int = 8192,
        name: str = "fake",
        default: object | None = None,
        token_delay: float = 0.0,
        chars_per_token: int = 4,
    ):
        self._replies = list(replies or [])
        self._responder = responder
        self._n_ctx = n_ctx
        self.name = name
        self._default = default
        self.token_delay = token_delay
        self._cpt = max(1, chars_per_token)
        self.requests: list[CompletionRequest] = []
        self.completions: list[Completion] = []
        self._last_prompt = ""
        self._queue = RequestQueue()
        self._lock = threading.Lock()
        self.closed = False

    # --- Model interface -------------------------------------------------------------
    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        return -(-len(text) // self._cpt)  # ceil

    def count_messages(self, messages: Sequence[Message]) -> int:
        return self.count_tokens(_render(messages))

    @property
    def queue_length(self) -> int:
        return self._queue.waiting

    def info(self) -> dict:
        return {
            "backend": "fake",
            "name": self.name,
            "n_ctx": self._n_ctx,
            "calls": len(self.requests),
            "gpu_layers": 0,
        }

    def close(self) -> None:
        self.closed = True

    def add_replies(self, *replies) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def prompts(self) -> list[str]:
        """The last user message of every recorded request (what tests usually check)."""
        out = []
        for r in self.requests:
            users = [m["content"] for m in r.messages if m.get("role") == "user"]
            out.append(users[-1] if users else "")
        return out

    def complete(self, request: CompletionRequest) -> Completion:
        if self.closed:
            raise LLMError(f"model {self.name} is closed")
        prompt_tokens = self.check_fits(request.messages, request.max_tokens)
        with self._queue.turn():
            t0 = time.perf_counter()
            with self._lock:
                self.requests.append(request)
            cancel = request.cancel
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled("cancelled before the prompt was processed")
            reply = self._next_reply(request)
            if isinstance(reply, BaseException):
                raise reply
            rendered = _render(request.messages)
            cached = self.count_tokens(_common_prefix(self._last_prompt, rendered))
            self._last_prompt = rendered
            cached = min(cached, max(0, prompt_tokens - 1))

            if isinstance(reply, Completion):
                text, finish = reply.text, reply.finish_reason
            elif isinstance(reply, (dict, list)):
                text, finish = json.dumps(reply), "stop"
            else:
                text, finish = str(reply), "stop"

            text, finish = self._apply_limits(text, finish, request)
            out = []
            for piece in _pieces(text):
                if cancel is not None and cancel.cancelled:
                    raise GenerationCancelled("cancelled during generation")
                if self.token_delay:
                    time.sleep(self.token_delay)
                out.append(piece)
                if request.on_token is not None:
                    request.on_token(piece)
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled("cancelled during generation")
            usage = Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=self.count_tokens(text),
                cached_tokens=cached,
                seconds=time.perf_counter() - t0,
            )
            completion = Completion(text="".join(out), usage=usage, finish_reason=finish, model=self.name,
                                    choice_logprobs=reply.choice_logprobs if isinstance(reply, Completion) else None)
            with self._lock:
                self.completions.append(completion)
            return completion

    # --- helpers -----------------------------------------------------------------------
    def _next_reply(self, request: CompletionRequest):
        with self._lock:
            if self._replies:
                return self._replies.pop(0)
        if self._responder is not None:
            return self._responder(request)
        if self._default is not None:
            return self._default
        raise LLMError(f"FakeModel {self.name}: no scripted reply left for call {len(self.requests)}")

    def _apply_limits(self, text: str, finish: str, request: CompletionRequest) -> tuple[str, str]:
        cut = len(text)
        for s in request.stop or ():
            i = text.find(s)
            if s and 0 <= i < cut:
                cut, finish = i, "stop"
        text = text[:cut]
        limit = request.max_tokens * self._cpt
        if len(text) > limit:
            text, finish = text[:limit], "length"
        return text, finish


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return a[:n]


def _pieces(text: str) -> list[str]:
    # Word-sized pieces with their leading whitespace, like a tokenizer's stream.
    return re.findall(r"\s*\S+|\s+$", text) or ([text] if text else [])

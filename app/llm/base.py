"""The one small interface every model backend implements.

Callers (the recursive controller, baselines, the CLI) only ever see `Model`.
Backends: `llamacpp.LlamaCppModel` (in-process llama.cpp), `endpoint.EndpointPool`
(OpenAI-compatible servers the user configured) and `fake.FakeModel` (tests of logic).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Callable, Sequence

from app.cancel import CancelToken

Message = dict  # {"role": "system"|"user"|"assistant", "content": str}


class LLMError(Exception):
    """Base for every model-runtime error; its message is meant for the user."""


class ModelLoadError(LLMError):
    """A model file could not be loaded (missing, not GGUF, corrupt, out of memory)."""


class ContextOverflow(LLMError):
    """A request would not fit the model's context window. Never truncated silently."""

    def __init__(self, prompt_tokens: int, max_tokens: int, n_ctx: int, model: str = ""):
        self.prompt_tokens = prompt_tokens
        self.max_tokens = max_tokens
        self.n_ctx = n_ctx
        super().__init__(
            f"request does not fit {model or 'the model'}'s context: "
            f"{prompt_tokens} prompt tokens + {max_tokens} reply tokens > {n_ctx} context tokens"
        )


class GenerationCancelled(LLMError):
    """The cancel token fired during prompt processing or generation."""


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens served from the KV cache (prefix reuse)
    seconds: float = 0.0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
            self.seconds + other.seconds,
        )


@dataclass
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"  # "stop" | "length"
    model: str = ""
    # For a request with `choices`: each choice's log-probability as the first token of the
    # reply, renormalised over the choices; None where the backend cannot tell.
    choice_logprobs: dict[str, float] | None = None


@dataclass
class CompletionRequest:
    messages: Sequence[Message]
    max_tokens: int = 256
    stop: Sequence[str] = ()
    temperature: float = 0.0
    seed: int = 0
    json_schema: dict | None = None  # output must match this schema (grammar-constrained)
    grammar: str | None = None  # or a raw GBNF grammar
    cancel: CancelToken | None = None
    on_token: Callable[[str], None] | None = None  # streaming; called with each text piece
    choices: Sequence[str] = ()  # e.g. ("yes", "no"): also report how likely each was (a confidence)


class Model(abc.ABC):
    """A chat model. One instance serves one request at a time; callers queue."""

    name: str = "model"

    @property
    @abc.abstractmethod
    def n_ctx(self) -> int:
        """Context window in tokens (prompt + reply must fit)."""

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens of plain text with this model's tokenizer."""

    def count_messages(self, messages: Sequence[Message]) -> int:
        """Tokens the chat-templated prompt takes. Backends refine this; the default adds
        a small per-message overhead for role markers."""
        return sum(self.count_tokens(m["content"]) + 6 for m in messages) + 2

    @abc.abstractmethod
    def complete(self, request: CompletionRequest) -> Completion:
        """Run one chat completion. Raises ContextOverflow before doing any work if the
        prompt plus max_tokens cannot fit, GenerationCancelled if cancelled."""

    def complete_many(self, requests: Sequence[CompletionRequest], max_concurrency: int = 4) -> list:
        """Run several independent completions; backends that can overlap them do so (at
        most `max_concurrency` at once). Returns one entry per request, in request order:
        its Completion, or the exception it raised, so one failure loses no other result.
        Each request's own cancel token is honoured; a cancelled one holds
        GenerationCancelled. This default runs them one after another."""
        out: list = []
        for req in requests:
            try:
                out.append(self.complete(req))
            except Exception as e:  # kept in its slot: the caller decides per request
                out.append(e)
        return out

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text; only a model loaded as an encoder has them."""
        raise LLMError(f"{type(self).__name__} does not embed text")

    def chat(self, messages: Sequence[Message], **kw) -> Completion:
        """Convenience: complete(CompletionRequest(messages, **kw))."""
        return self.complete(CompletionRequest(messages=messages, **kw))

    def check_fits(self, messages: Sequence[Message], max_tokens: int) -> int:
        n = self.count_messages(messages)
        if n + max_tokens > self.n_ctx:
            raise ContextOverflow(n, max_tokens, self.n_ctx, self.name)
        return n

    def info(self) -> dict:
        """What really runs: backend, file, context, threads, GPU layers offloaded, load time."""
        return {"name": self.name, "n_ctx": self.n_ctx}

    @property
    def queue_length(self) -> int:
        """Requests waiting for this model (0 when idle)."""
        return 0

    def close(self) -> None:
        pass

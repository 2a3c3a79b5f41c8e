"""OpenAI-compatible inference servers the user configured (llama.cpp's llama-server,
`python -m llama_cpp.server`, vLLM), one or a pool of them.

Nothing here opens a socket until a request is made, and only to the URLs the user
gave: by default Lectern has no endpoints at all. Standard library only.

The pool spreads concurrent sub-queries over its endpoints (at most `concurrency` at a
time on each), keeps per-endpoint health (a failing server is rested with exponential
backoff), and moves a request that fails on one endpoint to another.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Sequence

from app.llm.base import (
    Completion,
    CompletionRequest,
    ContextOverflow,
    GenerationCancelled,
    LLMError,
    Message,
    Model,
    Usage,
)
from app.llm.fanout import fan_out


class EndpointError(LLMError):
    """A server could not be reached or failed; `retryable` says whether another server may succeed."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


@dataclass
class Endpoint:
    """One server. url: its base, e.g. http://127.0.0.1:8080 or http://host:8000/v1."""

    url: str
    model: str = ""  # the "model" field sent (vLLM needs it; llama.cpp ignores it)
    api_key: str = ""
    concurrency: int = 1  # requests this server takes at once (llama-server --parallel)
    timeout: float = 300.0
    # health and statistics, kept by the pool
    in_flight: int = 0
    served: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    down_until: float = 0.0
    last_error: str = ""
    _parsed: tuple = field(default=(), repr=False)

    def __post_init__(self):
        u = urllib.parse.urlsplit(self.url if "://" in self.url else f"http://{self.url}")
        if u.scheme not in ("http", "https") or not u.hostname:
            raise LLMError(f"endpoint URL must look like http://host:port, got {self.url!r}")
        path = u.path.rstrip("/")
        if not path.endswith("/v1"):
            path += "/v1"
        self._parsed = (u.scheme, u.hostname, u.port or (443 if u.scheme == "https" else 80), path)

    @property
    def healthy(self) -> bool:
        return time.monotonic() >= self.down_until

    def health(self) -> dict:
        return {
            "url": self.url, "healthy": self.healthy, "in_flight": self.in_flight, "served": self.served,
            "failures": self.failures, "last_error": self.last_error,
            "rested_for": max(0.0, round(self.down_until - time.monotonic(), 2)),
        }


def _request_body(ep: Endpoint, request: CompletionRequest) -> dict:
    body: dict = {
        "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "seed": request.seed,
        "stream": True,
    }
    if ep.model:
        body["model"] = ep.model
    if request.stop:
        body["stop"] = list(request.stop)
    if request.grammar:
        body["grammar"] = request.grammar  # llama.cpp servers
    elif request.json_schema is not None:
        # llama.cpp servers read "schema" in json_object; vLLM and OpenAI read json_schema.
        body["response_format"] = {"type": "json_object", "schema": request.json_schema}
    return body


def call_endpoint(ep: Endpoint, request: CompletionRequest, on_text=None) -> Completion:
    """One streamed chat completion against one server. Cancellation closes the socket,
    which makes llama.cpp's server stop generating for this request."""
    scheme, host, port, base = ep._parsed
    conn_cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(host, port, timeout=ep.timeout)
    cancel = request.cancel
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if ep.api_key:
        headers["Authorization"] = f"Bearer {ep.api_key}"
    t0 = time.perf_counter()
    text_parts: list[str] = []
    n_chunks = 0
    finish = "stop"
    ended = False
    usage_doc: dict = {}
    try:
        if cancel is not None and cancel.cancelled:
            raise GenerationCancelled("cancelled before the request was sent")
        conn.connect()
        if cancel is not None:
            # Keep the socket itself: http.client drops conn.sock once a response arrives.
            sock = conn.sock
            cancel.on_cancel(lambda: _abort(sock))
        conn.request("POST", f"{base}/chat/completions", body=json.dumps(_request_body(ep, request)), headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            detail = resp.read(2000).decode("utf-8", errors="replace")
            raise EndpointError(f"{ep.url} answered HTTP {resp.status}: {detail[:300]}",
                                retryable=resp.status >= 500 or resp.status in (408, 429))
        for raw in resp:
            line = raw.decode("utf-8", errors="replace").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                ended = True
                break
            chunk = json.loads(data)
            if chunk.get("usage"):
                usage_doc = chunk["usage"]
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece:
                    n_chunks += 1
                    text_parts.append(piece)
                    if on_text is not None:
                        on_text(piece)
                if choice.get("finish_reason"):
                    ended = True
                    finish = "length" if choice["finish_reason"] == "length" else "stop"
        if not ended and not (cancel is not None and cancel.cancelled):
            # The body ended without [DONE] or a finish reason: the server died mid-answer
            # (its socket closed cleanly). Failing lets the pool retry on another server
            # instead of passing off a cut answer, or none, as complete.
            raise EndpointError(f"{ep.url}: the connection closed before the answer was complete")
    except GenerationCancelled:
        raise
    except (OSError, http.client.HTTPException, ValueError) as e:
        if cancel is not None and cancel.cancelled:
            raise GenerationCancelled("cancelled while the server was working") from None
        raise EndpointError(f"{ep.url}: {type(e).__name__}: {e}") from None
    finally:
        conn.close()
    if cancel is not None and cancel.cancelled:
        raise GenerationCancelled("cancelled")
    usage = Usage(
        prompt_tokens=int(usage_doc.get("prompt_tokens") or 0),
        completion_tokens=int(usage_doc.get("completion_tokens") or n_chunks),
        cached_tokens=int((usage_doc.get("prompt_tokens_details") or {}).get("cached_tokens") or 0),
        seconds=time.perf_counter() - t0,
    )
    return Completion(text="".join(text_parts), usage=usage, finish_reason=finish, model=ep.model or ep.url)


def _abort(sock) -> None:
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class EndpointPool(Model):
    """A Model over one or more OpenAI-compatible servers.

    endpoints: URLs or Endpoint objects. n_ctx: the servers' context (they do not all
    report it); prompts are measured with `tokenizer` (any Model, e.g. the same GGUF
    loaded locally) or estimated conservatively at 3 characters per token."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint | str],
        *,
        n_ctx: int = 4096,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        tokenizer: Model | None = None,
        name: str = "endpoints",
    ):
        if not endpoints:
            raise LLMError("an endpoint pool needs at least one server URL")
        self.endpoints = [e if isinstance(e, Endpoint) else Endpoint(str(e)) for e in endpoints]
        self._n_ctx = n_ctx
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.tokenizer = tokenizer
        self.name = name
        self._cond = threading.Condition()
        self._waiting = 0

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is not None:
            return self.tokenizer.count_tokens(text)
        return -(-len(text.encode("utf-8")) // 3)

    def count_messages(self, messages: Sequence[Message]) -> int:
        if self.tokenizer is not None:
            return self.tokenizer.count_messages(messages)
        return super().count_messages(messages)

    @property
    def queue_length(self) -> int:
        return self._waiting

    @property
    def concurrency(self) -> int:
        return sum(e.concurrency for e in self.endpoints)

    def health(self) -> list[dict]:
        with self._cond:
            return [e.health() for e in self.endpoints]

    def info(self) -> dict:
        return {"backend": "endpoints", "name": self.name, "n_ctx": self._n_ctx,
                "concurrency": self.concurrency, "endpoints": self.health()}

    # --- scheduling --------------------------------------------------------------------
    def _acquire(self, avoid: set, cancel) -> Endpoint:
        with self._cond:
            self._waiting += 1
            try:
                while True:
                    if cancel is not None and cancel.cancelled:
                        raise GenerationCancelled("cancelled while waiting for a server")
                    free = [e for e in self.endpoints if e.in_flight < e.concurrency]
                    # Prefer healthy servers this request has not failed on, least busy first.
                    for pool in ([e for e in free if e.healthy and id(e) not in avoid],
                                 [e for e in free if e.healthy]):
                        if pool:
                            ep = min(pool, key=lambda e: (e.in_flight / e.concurrency, e.served))
                            ep.in_flight += 1
                            return ep
                    if free and all(not e.healthy for e in self.endpoints):
                        # Everything is resting: try the one that recovers first.
                        ep = min(free, key=lambda e: e.down_until)
                        wait = ep.down_until - time.monotonic()
                        if wait <= 0:
                            ep.in_flight += 1
                            return ep
                        self._cond.wait(min(wait, 0.25))
                        continue
                    self._cond.wait(0.25)
            finally:
                self._waiting -= 1

    def _release(self, ep: Endpoint, error: Exception | None) -> None:
        with self._cond:
            ep.in_flight -= 1
            if error is None:
                ep.served += 1
                ep.consecutive_failures = 0
                ep.down_until = 0.0
            else:
                ep.failures += 1
                ep.consecutive_failures += 1
                ep.last_error = str(error)
                rest = min(self.max_backoff, self.backoff * 2 ** (ep.consecutive_failures - 1))
                ep.down_until = time.monotonic() + rest
            self._cond.notify_all()

    def complete(self, request: CompletionRequest) -> Completion:
        self.check_fits(request.messages, request.max_tokens)
        emitted = [0]  # characters already passed to the caller's on_token

        def streamer():
            seen = [0]

            def on_text(piece: str) -> None:
                # A retried request streams again from the start: pass on only the new part.
                seen[0] += len(piece)
                if request.on_token is not None and seen[0] > emitted[0]:
                    request.on_token(piece[len(piece) - (seen[0] - emitted[0]):])
                    emitted[0] = seen[0]

            return on_text

        avoid: set = set()
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            ep = self._acquire(avoid, request.cancel)
            error = None
            try:
                return call_endpoint(ep, request, on_text=streamer())
            except EndpointError as e:
                error = last = e
                avoid.add(id(ep))
                if not e.retryable:
                    raise
            except (GenerationCancelled, ContextOverflow):
                raise
            finally:
                self._release(ep, error)
        raise EndpointError(f"all attempts failed ({self.retries + 1}); last error: {last}", retryable=False)

    def complete_many(self, requests: Sequence[CompletionRequest], max_concurrency: int = 4) -> list:
        """The requests over the pool's servers at once: up to max_concurrency threads, and
        _acquire keeps each server within its own `concurrency`, so more threads than
        server slots only wait. Failover and cancel work per request as in complete()."""
        return fan_out(self.complete, requests, min(max_concurrency, self.concurrency))

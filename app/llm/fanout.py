"""Run independent completions on a few threads, results kept in request order.

For backends whose requests wait on something other than this process's CPU (an HTTP
server, a pool of them): a thread per in-flight request overlaps the waits. A local
llama.cpp context cannot be shared this way (serial.py); it batches sequences instead.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from app.llm.base import Completion, CompletionRequest


def fan_out(complete: Callable[[CompletionRequest], Completion], requests: Sequence[CompletionRequest],
            workers: int) -> list:
    """complete() each request with at most `workers` running at once. Each slot holds the
    Completion or the exception its request raised."""
    out: list = [None] * len(requests)
    workers = max(1, min(int(workers), len(requests)))
    if workers == 1:
        for i, req in enumerate(requests):
            out[i] = _one(complete, req)
        return out
    lock = threading.Lock()
    order = iter(range(len(requests)))

    def work() -> None:
        while True:
            with lock:  # each worker takes the next request in order, so early prompts start first
                i = next(order, None)
            if i is None:
                return
            out[i] = _one(complete, requests[i])

    threads = [threading.Thread(target=work, name=f"lectern-fanout-{n}", daemon=True) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _one(complete, req):
    try:
        return complete(req)
    except Exception as e:  # handed back in its slot; the other requests go on
        return e

"""One request at a time per model, with a visible queue.

A loaded llama.cpp context holds one KV cache; two threads decoding into it at once
would corrupt it. Callers therefore queue on a lock, and the number waiting is
exposed so the UI can show "3 calls waiting".
"""

from __future__ import annotations

import threading
from contextlib import contextmanager


class RequestQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    @contextmanager
    def turn(self):
        """Hold the model for one request; blocks while another request runs."""
        with self._count_lock:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._count_lock:
                self._waiting -= 1
        try:
            yield
        finally:
            self._lock.release()

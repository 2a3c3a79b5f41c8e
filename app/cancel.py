"""Cooperative cancellation shared by import, model calls and runs.

One token is handed down the whole call tree; anything long checks it between
units of work (pages, tokens, sub-calls). The GUI and CLI only ever call cancel().
"""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised by CancelToken.raise_if_cancelled() once cancel() was called."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._callbacks: list = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks)
        for cb in callbacks:
            try:
                cb()
            except Exception:  # a failing listener must not stop the others
                pass

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def on_cancel(self, callback) -> None:
        """Run callback once when cancelled (at once if already cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


"""Background work for the window: engine generators run on a thread pool, their
events come back to the GUI thread through queued signals.

Every long engine call (import, run, model load, rendering) is a generator or a plain
function. A `GeneratorTask` iterates it on a pool thread and emits each event; page-level
progress is coalesced so a fast import cannot flood the GUI thread's event queue.
Cancellation is cooperative: the task owns a CancelToken handed to the engine call.
"""

from __future__ import annotations

import time
import traceback
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from app.cancel import CancelToken


class TaskSignals(QObject):
    event = Signal(object)  # one engine event
    result = Signal(object)  # the return value of a function task
    failed = Signal(str)  # a readable message
    finished = Signal()  # always last, after result/failed


class _Task(QRunnable):
    def __init__(self, cancel: CancelToken | None = None):
        super().__init__()
        self.setAutoDelete(False)  # the TaskManager keeps a reference until finished
        self.signals = TaskSignals()
        self.cancel = cancel or CancelToken()
        self.done = False

    def run(self) -> None:  # pragma: no cover - exercised via subclasses
        raise NotImplementedError

    def _finish(self) -> None:
        self.done = True
        self.signals.finished.emit()


class FunctionTask(_Task):
    """Runs fn(cancel) once; emits result or failed."""

    def __init__(self, fn: Callable[[CancelToken], object], cancel: CancelToken | None = None):
        super().__init__(cancel)
        self.fn = fn

    def run(self) -> None:
        try:
            value = self.fn(self.cancel)
        except Exception as e:  # shown to the user in place, never a crash
            self.signals.failed.emit(readable_error(e))
        else:
            self.signals.result.emit(value)
        finally:
            self._finish()


class GeneratorTask(_Task):
    """Iterates make_gen(cancel) and emits each event.

    coalesce(event) -> key|None: events with the same non-None key replace each other
    while they arrive faster than `min_interval` seconds (progress counters are
    cumulative, so only the latest matters); other events are emitted at once, after
    any pending coalesced one so order is kept."""

    def __init__(
        self,
        make_gen: Callable[[CancelToken], object],
        cancel: CancelToken | None = None,
        coalesce: Callable[[object], object] | None = None,
        min_interval: float = 0.05,
    ):
        super().__init__(cancel)
        self.make_gen = make_gen
        self.coalesce = coalesce
        self.min_interval = min_interval

    def run(self) -> None:
        pending = None
        last_emit = 0.0
        try:
            for ev in self.make_gen(self.cancel):
                key = self.coalesce(ev) if self.coalesce else None
                now = time.monotonic()
                if key is not None:
                    if now - last_emit >= self.min_interval:
                        self.signals.event.emit(ev)
                        last_emit, pending = now, None
                    else:
                        pending = ev
                    continue
                if pending is not None:
                    self.signals.event.emit(pending)
                    pending = None
                self.signals.event.emit(ev)
                last_emit = now
            if pending is not None:
                self.signals.event.emit(pending)
        except Exception as e:
            if pending is not None:
                self.signals.event.emit(pending)
            self.signals.failed.emit(readable_error(e))
        finally:
            self._finish()


def readable_error(e: BaseException) -> str:
    """A one-line message for the user; the traceback goes to stderr for bug reports."""
    from app.cancel import Cancelled

    if isinstance(e, Cancelled):
        return "Cancelled."
    msg = str(e).strip() or type(e).__name__
    known = ("LLMError", "ModelLoadError", "ContextOverflow", "GenerationCancelled",
             "SearchSyntaxError", "FileNotFoundError", "PermissionError", "ValueError", "CliError",
             "ReaderError", "ModelCrashed", "LibraryDamaged", "PassphraseError")
    if type(e).__name__ not in known and not any(c.__name__ in known for c in type(e).__mro__):
        traceback.print_exception(e)
        msg = f"{type(e).__name__}: {msg}"
    return msg


class TaskManager(QObject):
    """Owns the pool and every running task, so closing the window can cancel and wait."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._tasks: dict[_Task, _Bridge] = {}

    def start(self, task: _Task, **callbacks) -> _Task:
        bridge = _Bridge(self, task, callbacks)
        self._tasks[task] = bridge
        self.pool.start(task)
        return task

    def _forget(self, task: _Task) -> None:
        bridge = self._tasks.pop(task, None)
        if bridge is not None:
            bridge.deleteLater()

    def run_function(self, fn, *, on_result=None, on_failed=None, on_finished=None) -> FunctionTask:
        task = FunctionTask(fn)
        return self.start(task, on_result=on_result, on_failed=on_failed, on_finished=on_finished)

    def run_generator(self, make_gen, *, on_event=None, on_failed=None, on_finished=None,
                      coalesce=None, cancel: CancelToken | None = None) -> GeneratorTask:
        task = GeneratorTask(make_gen, cancel=cancel, coalesce=coalesce)
        return self.start(task, on_event=on_event, on_failed=on_failed, on_finished=on_finished)

    @property
    def busy(self) -> bool:
        return any(not t.done for t in self._tasks)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel everything and wait for the threads; True if all stopped in time."""
        for t in list(self._tasks):
            t.cancel.cancel()
        return self.pool.waitForDone(timeout_ms)


class _Bridge(QObject):
    """Lives on the GUI thread; receives a task's signals queued and calls the plain
    Python callbacks there (a bare lambda connection could run on the worker thread)."""

    def __init__(self, manager: TaskManager, task: _Task, callbacks: dict):
        super().__init__(manager)
        self.manager = manager
        self.task = task
        self.cb = callbacks
        sig = task.signals
        q = Qt.ConnectionType.QueuedConnection
        sig.event.connect(self._event, q)
        sig.result.connect(self._result, q)
        sig.failed.connect(self._failed, q)
        sig.finished.connect(self._finished, q)

    def _call(self, name, *args):
        cb = self.cb.get(name)
        if cb is not None:
            cb(*args)

    @Slot(object)
    def _event(self, ev):
        self._call("on_event", ev)

    @Slot(object)
    def _result(self, value):
        self._call("on_result", value)

    @Slot(str)
    def _failed(self, msg):
        self._call("on_failed", msg)

    @Slot()
    def _finished(self):
        try:
            self._call("on_finished")
        finally:
            self.manager._forget(self.task)

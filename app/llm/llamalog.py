"""llama.cpp's log, kept off the user's terminal but not lost.

llama.cpp logs hundreds of lines per load. We install one process-wide log callback
that keeps recent lines in memory (so a failed load can say why, and info() can read
"offloaded N/M layers to GPU"), prints only errors to stderr, and drops the error lines
llama.cpp writes when *we* aborted a decode on purpose (a user's cancel is not an error).
Set LECTERN_LLAMA_VERBOSE=1 to see everything.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections import deque
from contextlib import contextmanager

_LEVEL_ERROR = 3
_LEVEL_CONT = 5

_lock = threading.Lock()
_recent: deque = deque(maxlen=400)
_captures: list[list[str]] = []
_last_level = 0
_installed = None  # keeps the ctypes callback alive for the life of the process
_local = threading.local()  # .quiet: this thread turns llama.cpp's errors into exceptions itself


def _on_log(level: int, text: bytes, _user) -> None:
    global _last_level
    try:
        line = text.decode("utf-8", errors="replace") if text else ""
    except Exception:  # a log line must never crash a decode
        return
    if level == _LEVEL_CONT:
        level = _last_level
    _last_level = level
    with _lock:
        _recent.append(line)
        for buf in _captures:
            buf.append(line)
    if os.environ.get("LECTERN_LLAMA_VERBOSE"):
        sys.stderr.write(line)
        return
    if level == _LEVEL_ERROR and not getattr(_local, "quiet", False):
        flag = getattr(_local, "abort_flag", None)
        if flag is not None and flag.is_set:
            return  # llama.cpp reports our own abort (a user's cancel) as a decode failure
        sys.stderr.write(line)


def install() -> None:
    """Route llama.cpp's log through _on_log (idempotent)."""
    global _installed
    if _installed is not None:
        return
    import llama_cpp

    cb = llama_cpp.llama_log_callback(_on_log)
    llama_cpp.llama_log_set(cb, ctypes.c_void_p(0))
    _installed = cb


@contextmanager
def capture(quiet: bool = False):
    """Collect the lines logged while the block runs (from any thread). quiet: errors
    logged by this thread are not printed either (the caller reports them itself)."""
    buf: list[str] = []
    was_quiet = getattr(_local, "quiet", False)
    _local.quiet = was_quiet or quiet
    with _lock:
        _captures.append(buf)
    try:
        yield buf
    finally:
        _local.quiet = was_quiet
        with _lock:
            # By identity: two captures holding the same lines compare equal.
            _captures[:] = [b for b in _captures if b is not buf]


@contextmanager
def aborts_from(flag):
    """While this thread decodes, errors logged after `flag` (an object with .is_set)
    was raised are the unwinding of a deliberate abort and are not printed."""
    previous = getattr(_local, "abort_flag", None)
    _local.abort_flag = flag
    try:
        yield
    finally:
        _local.abort_flag = previous


@contextmanager
def stderr_to(buf: list[str]):
    """Capture what C code writes straight to file descriptor 2 (llama.cpp's grammar
    parser uses fprintf(stderr)); appended to buf. Process-wide, so keep the block short."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield buf
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            buf.extend(tmp.read().decode("utf-8", errors="replace").splitlines())


def errors_in(lines: list[str], limit: int = 3) -> str:
    """The last few lines that look like errors, for a user-facing message."""
    picked = [ln.strip() for ln in lines if any(w in ln.lower() for w in ("error", "failed", "invalid", "corrupt"))]
    return "; ".join(picked[-limit:])

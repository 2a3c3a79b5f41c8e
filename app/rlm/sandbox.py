"""The parent side of the REPL sandbox: a separate process that runs model-written code.

    box = Sandbox(context_docs, cancel=token)
    box.start_exec(code)
    for msg in box.messages(timeout):      # {"op": "call", ...} or the final {"op": "done", ...}
        if msg["op"] == "call": box.reply(value) / box.reply(error="...")
    box.close()

The child (sandbox_child.py) runs with `python -I -S` (no site-packages, no app code),
in a new network namespace when `unshare -rn` works here, with CPU/memory/file-size
limits and an audit hook that refuses writes, sockets and subprocesses. Cancel kills it.
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = Path(__file__).with_name("sandbox_child.py")


class SandboxError(Exception):
    """The sandbox died, timed out or broke the protocol; the message says which."""


@functools.lru_cache(maxsize=1)
def network_isolation() -> list[str]:
    """The command prefix that starts the child without network, when the OS allows it."""
    exe = shutil.which("unshare")
    if not exe or not sys.platform.startswith("linux"):
        return []
    try:
        ok = subprocess.run([exe, "-rn", "true"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return [exe, "-rn", "--"] if ok else []


class Sandbox:
    def __init__(self, context: list[dict], *, cancel=None, cpu_seconds: int = 60, memory_mb: int = 2048,
                 max_output: int = 2000, start_timeout: float = 30.0):
        self._dir = tempfile.mkdtemp(prefix="lectern-sandbox-")
        os.chmod(self._dir, 0o500)  # an empty, read-only working folder
        cmd = network_isolation() + [sys.executable, "-I", "-S", str(CHILD)]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     cwd=self._dir, env=env, text=True, encoding="utf-8", bufsize=1,
                                     start_new_session=True)
        self.isolated_network = bool(network_isolation())
        self._buf = ""
        self.killed_reason = ""
        if cancel is not None:
            cancel.on_cancel(lambda: self.kill("cancelled"))
        self._send({"op": "init", "context": context,
                    "limits": {"cpu_seconds": cpu_seconds, "memory_mb": memory_mb, "max_output": max_output}})
        msg = self._read(start_timeout)
        if msg.get("op") != "ready":
            raise SandboxError(f"the sandbox did not start: {msg}")

    # --- protocol ----------------------------------------------------------------------
    def _send(self, msg: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise SandboxError(self._death())

    def _death(self) -> str:
        if self.killed_reason:
            return f"the sandbox was stopped ({self.killed_reason})"
        code = self.proc.poll()
        if code is not None and code < 0:
            import signal
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            return f"the sandbox process was killed by {name} (CPU or memory limit)"
        return f"the sandbox process ended (exit code {code})"

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        out = self.proc.stdout
        while True:
            line = out.readline() if self._ready(out, deadline) else None
            if line is None:
                self.kill("timed out")
                raise SandboxError(f"the code ran longer than {timeout:.0f} s and was stopped")
            if not line:
                raise SandboxError(self._death())
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # not a protocol line: ignore rather than trust it
            if isinstance(msg, dict) and msg.get("op") in ("ready", "call", "done"):
                return msg

    @staticmethod
    def _ready(out, deadline: float) -> bool:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([out], [], [], min(left, 0.25))
            if r:
                return True

    # --- API ------------------------------------------------------------------------------
    def start_exec(self, code: str) -> None:
        self._send({"op": "exec", "code": code})

    def messages(self, timeout: float):
        """Yield the child's requests, then its 'done' message (last)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read(max(0.1, deadline - time.monotonic()))
            yield msg
            if msg["op"] == "done":
                return

    def reply(self, value=None, error: str | None = None) -> None:
        self._send({"op": "reply", "value": value, "error": error})

    def kill(self, reason: str = "") -> None:
        self.killed_reason = self.killed_reason or reason
        if self.proc.poll() is None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.kill("closed")
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        try:
            os.chmod(self._dir, 0o700)
            shutil.rmtree(self._dir, ignore_errors=True)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

"""The parent side of the REPL sandbox: a separate, OS-confined process runs model-written code.

    ok, why = availability()               # REPL mode runs only when ok
    box = Sandbox(context_docs, cancel=token)
    box.start_exec(code)
    for msg in box.messages(timeout):      # {"op": "call", ...} requests, then {"op": "done", ...}
        if msg["op"] == "call": box.reply(value) / box.reply(error="...")
    box.close()

Why bubblewrap. Audit hooks are not a boundary (PEP 578 says so, and a review switched
ours off with one line of model code, then used `_posixsubprocess.fork_exec` and pidfds,
which no hook sees). The boundary has to be the kernel's. Of the kernel mechanisms, we
chose bubblewrap (Flatpak's sandbox, Debian's `bubblewrap`, 70 KB, no daemon, no root):
one exec gives every namespace at once, an empty root that holds only what we bind, and
capability dropping, with a decade of hostile-code use behind it. seccomp + Landlock
would need two extra Python packages (one a C binding), a filter we would have to write
and keep in step with new syscalls, and Landlock needs kernel 5.13+ and still leaves the
PID, IPC and network namespaces to do by hand; doing the namespaces by hand (`unshare`,
pivot_root) would re-implement bubblewrap's set-up, the part that has to be right.
What the child gets:

- `--unshare-all` plus `--unshare-user`: new user, PID, network (loopback only, none of
  the host's listeners), IPC, UTS and cgroup namespaces; `--disable-userns`, so code
  inside cannot nest a namespace to regain capabilities;
- `--cap-drop ALL` and an unprivileged uid (65534) inside: no mknod, no raising limits;
- an empty root (tmpfs, then remounted read-only) holding read-only binds of only the
  interpreter, its standard library and the system's shared libraries (`/usr/lib`,
  `/lib*`), a minimal /dev, a small private tmpfs at /tmp, and this package's
  sandbox_child.py as /lectern/sandbox_child.py. No /home, /root, /work, /etc, /proc,
  no host /tmp, no library folder, no /bin (so no shell to exec). A PyInstaller bundle
  binds only its own folder; its bootloader was run this way (PyInstaller 6.22, without
  /proc, unpacked under /tmp) and answered the protocol;
- `--die-with-parent` and `--new-session`, and on close the whole process group is
  SIGKILLed: killing bwrap's PID 1 tears down the PID namespace with everything in it;
- inside, the child sets CPU, address-space, file-size, core and process limits itself
  (the kernel exempts a host root from RLIMIT_NPROC, since the sandbox's uid maps to the
  caller's; what such a caller's code forks still lives and dies in the PID namespace).

Without real isolation REPL mode does not run (repl.py then answers in guided mode and
says why): `availability()` starts one confined interpreter and caches the verdict.
Windows and macOS have no bubblewrap and nothing else is wired in yet (no Job Object,
AppContainer or sandbox-exec profile), so there REPL mode is unavailable, not weaker.

The parent treats the child as hostile. Frames are a 4-byte big-endian length and UTF-8
JSON; a frame above MAX_FRAME is refused from its header, before any allocation. Reads
are non-blocking with the deadline on the parent's clock, so a half frame cannot stretch
a budget. Every message is checked against a schema (ops, keys, types, sizes, the exec
id). The final answer is the parent's: `done` carries none, an answer comes only as a
`final` request that the parent validates and records itself. Code can of course call
FINAL(); what it cannot do is have anything accepted that skipped those checks. Any
violation kills the child and raises SandboxViolation, which says what was broken.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

CHILD = Path(__file__).with_name("sandbox_child.py")
CHILD_INSIDE = "/lectern/sandbox_child.py"
BWRAP = "bwrap"  # looked up on PATH; tests point it elsewhere to simulate a missing bubblewrap

MAX_FRAME = 4 * 1024 * 1024  # child -> parent; a prompt batch fits, a memory bomb does not
MAX_ANSWER = 4000
MAX_PROMPTS = 64
TMPFS_BYTES = 16 * 1024 * 1024
_HEADER = struct.Struct(">I")
_FNS = {
    "llm_query": {"prompt": str},
    "llm_query_batched": {"prompts": list},
    "search": {"query": str, "k": int},
    "rlm_query": {"question": str, "text": str},
    "final": {"answer": str, "via": str},
}


class SandboxError(Exception):
    """The sandbox died, timed out or broke the protocol; the message says which."""


class SandboxViolation(SandboxError):
    """The child sent something the protocol does not allow; it has been killed."""


class SandboxUnavailable(SandboxError):
    """No OS isolation here: REPL mode must not run."""


# --- the confinement -----------------------------------------------------------------------
def _interpreter() -> tuple[str, list[str]]:
    """The program that plays Python inside, and the host paths it needs (read-only)."""
    if getattr(sys, "frozen", False):
        # The bundle: its executable plays `python -I -S SCRIPT` (packaging/entry.py
        # run_as_python) and needs only its own folder.
        exe = os.path.realpath(sys.executable)
        return exe, [os.path.dirname(exe)]
    exe = os.path.realpath(sys.executable)  # a venv's python is a link to the base one
    paths = [exe]
    # From the base installation: in a venv, the default scheme points into the venv (and
    # so into the work tree), which the child must not see.
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix,
            "installed_base": sys.base_prefix, "installed_platbase": sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib"):
        paths.append(sysconfig.get_paths(vars=base).get(key) or "")
    for var in ("LIBDIR", "DESTSHARED"):  # libpython*.so, lib-dynload
        paths.append(sysconfig.get_config_var(var) or "")
    return exe, [os.path.realpath(p) for p in paths if p]


def _system_binds() -> list[str]:
    out = []
    for p in ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32"):
        if os.path.islink(p):
            out += ["--symlink", os.readlink(p), p]  # merged /usr: keep the link, bind once
        elif os.path.isdir(p):
            out += ["--ro-bind", p, p]
    return out


def command(bwrap: str) -> list[str]:
    """The full bwrap command line that starts the child."""
    exe, needs = _interpreter()
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--uid", "65534", "--gid", "65534", "--hostname", "sandbox",
            "--tmpfs", "/",
            # the private /tmp first: mounted after the binds, it would hide a program
            # unpacked under the host's /tmp (a portable archive)
            "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp"] + _system_binds()
    bound = [p for p in ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32") if os.path.isdir(p)]
    for p in sorted(set(needs)):
        real = os.path.realpath(p)
        if os.path.exists(real) and not any(real == b or real.startswith(b.rstrip("/") + "/") for b in bound):
            args += ["--ro-bind", real, real]
            bound.append(real)
    args += ["--ro-bind", str(CHILD), CHILD_INSIDE, "--dev", "/dev"]
    args += ["--remount-ro", "/", "--chdir", "/tmp",
             "--clearenv", "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONIOENCODING", "utf-8",
             "--", exe, "-I", "-S", CHILD_INSIDE]
    return args


def _bwrap() -> str | None:
    # A desktop launcher's PATH can be thin; Debian's package puts it in /usr/bin.
    found = shutil.which(BWRAP)
    if found is None and BWRAP == "bwrap" and os.access("/usr/bin/bwrap", os.X_OK):
        found = "/usr/bin/bwrap"
    return found


@functools.lru_cache(maxsize=1)
def availability() -> tuple[bool, str]:
    """(True, "") when a confined child starts here and answers the protocol, else
    (False, why). The probe is the real command with an empty context, so it also
    covers the bundle, whose program plays Python only for `-I -S SCRIPT`."""
    if not sys.platform.startswith("linux"):
        return False, f"REPL mode needs the bubblewrap sandbox, which exists on Linux only (this is {sys.platform})"
    bwrap = _bwrap()
    if not bwrap:
        return False, "REPL mode needs bubblewrap (the `bwrap` program, Debian package `bubblewrap`), which is not installed"
    hello = encode({"op": "init", "context": [], "limits": {"cpu_seconds": 10, "memory_mb": 512, "max_output": 100}})
    try:
        res = subprocess.run(command(bwrap), input=hello, capture_output=True, timeout=30, cwd="/")
    except (OSError, subprocess.SubprocessError) as e:
        return False, f"bubblewrap could not start: {e}"
    out = res.stdout
    n = _HEADER.unpack_from(out)[0] if len(out) >= _HEADER.size else 0
    try:
        ready = json.loads(out[_HEADER.size:_HEADER.size + n]) == {"op": "ready"} if 0 < n <= 100 else False
    except ValueError:
        ready = False
    if not ready:
        why = " ".join(res.stderr.decode("utf-8", "replace").split())[:300] or f"exit code {res.returncode}"
        return False, (f"bubblewrap could not isolate the code ({why}); unprivileged user namespaces may be "
                       "disabled (sysctl kernel.unprivileged_userns_clone or an AppArmor policy)")
    return True, ""


# --- the protocol ------------------------------------------------------------------------------
def encode(msg: dict) -> bytes:
    body = json.dumps(msg, ensure_ascii=False).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise SandboxViolation(f"protocol violation: {what}")


def _validate(msg, exec_id: int | None) -> dict:
    """The message as the parent accepts it, or SandboxViolation."""
    _check(isinstance(msg, dict), f"a message must be an object, not {type(msg).__name__}")
    op = msg.get("op")
    if op == "ready":
        _check(set(msg) == {"op"}, "unexpected keys in 'ready'")
        return msg
    _check(op in ("call", "done"), f"unknown op {str(op)[:40]!r}")
    _check(exec_id is not None and msg.get("id") == exec_id and type(msg.get("id")) is int,
           f"'{op}' for exec {str(msg.get('id'))[:20]} while exec {exec_id} runs")
    if op == "done":
        _check(set(msg) <= {"op", "id", "stdout", "error", "notes"}, f"unexpected keys in 'done': {sorted(set(msg) - {'op', 'id', 'stdout', 'error', 'notes'})}")
        _check(isinstance(msg.get("stdout", ""), str), "'stdout' must be a string")
        _check(msg.get("error") is None or isinstance(msg["error"], str), "'error' must be a string or null")
        notes = msg.get("notes", [])
        _check(isinstance(notes, list) and len(notes) <= 20 and all(isinstance(n, str) for n in notes),
               "'notes' must be a short list of strings")
        return msg
    _check(set(msg) == {"op", "id", "fn", "args"}, "a call has exactly op, id, fn and args")
    fn, args = msg["fn"], msg["args"]
    _check(fn in _FNS, f"unknown function {str(fn)[:40]!r}")
    _check(isinstance(args, dict), f"'args' must be an object, not {type(args).__name__}")
    schema = _FNS[fn]
    _check(set(args) == set(schema), f"{fn} takes {sorted(schema)}, got {sorted(map(str, args))[:8]}")
    for key, typ in schema.items():
        _check(type(args[key]) is typ, f"{fn}: '{key}' must be {typ.__name__}, not {type(args[key]).__name__}")
    if fn == "llm_query_batched":
        _check(len(args["prompts"]) <= MAX_PROMPTS and all(isinstance(p, str) for p in args["prompts"]),
               f"llm_query_batched takes at most {MAX_PROMPTS} strings")
    if fn == "search":
        _check(1 <= args["k"] <= 50, "search: k must be 1 to 50")
    if fn == "final":
        _check(args["via"] in ("FINAL", "FINAL_VAR"), "final: 'via' must be FINAL or FINAL_VAR")
        _check(0 < len(args["answer"].strip()) and len(args["answer"]) <= MAX_ANSWER,
               f"final: the answer must be 1 to {MAX_ANSWER} characters")
    return msg


class Sandbox:
    def __init__(self, context: list[dict], *, cancel=None, cpu_seconds: int = 60, memory_mb: int = 2048,
                 max_output: int = 2000, processes: int = 0, start_timeout: float = 30.0):
        ok, why = availability()
        if not ok:
            raise SandboxUnavailable(why)
        self.killed_reason = ""
        self._kill_lock = threading.Lock()
        self._buf = bytearray()
        self._exec_id = 0
        self._running: int | None = None
        self._final: str | None = None
        self._pending_call = False
        self.max_output = max_output
        try:
            self.proc = subprocess.Popen(command(_bwrap() or BWRAP), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, cwd="/", start_new_session=True)
        except OSError as e:
            raise SandboxUnavailable(f"bubblewrap could not start: {e}") from None
        self._in, self._out = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        if cancel is not None:
            cancel.on_cancel(lambda: self.kill("cancelled"))
        try:
            deadline = time.monotonic() + start_timeout
            self._send({"op": "init", "context": context,
                        "limits": {"cpu_seconds": cpu_seconds, "memory_mb": memory_mb, "max_output": max_output,
                                   "processes": processes}}, deadline)
            msg = self._read(deadline)
        except SandboxViolation:
            self.close()
            raise
        except SandboxError as e:
            err = self._stderr()
            self.close()
            raise SandboxError(f"the sandbox did not start: {e}" + (f" ({err})" if err else "")) from None
        if msg.get("op") != "ready":
            self.kill("protocol violation")
            raise SandboxViolation(f"protocol violation: expected 'ready', got {str(msg.get('op'))[:40]!r}")
        os.set_blocking(self.proc.stderr.fileno(), False)

    def _stderr(self) -> str:
        try:
            os.set_blocking(self.proc.stderr.fileno(), False)
            return " ".join(os.read(self.proc.stderr.fileno(), 2000).decode("utf-8", "replace").split())[:300]
        except (OSError, ValueError):
            return ""

    # --- frames ------------------------------------------------------------------------------
    def _send(self, msg: dict, deadline: float) -> None:
        """Write one frame without ever blocking past the deadline (a child that stops
        reading must not hang the parent)."""
        data = memoryview(encode(msg))
        while data:
            self._wait(self._out, deadline, write=True)
            try:
                n = os.write(self._out, data[:1 << 16])
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError, ValueError):
                raise SandboxError(self._death()) from None
            data = data[n:]

    def _wait(self, fd: int, deadline: float, *, write: bool = False) -> None:
        while True:
            if self.killed_reason:
                self.kill()
                raise SandboxError(self._death())
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill("timed out")
                raise SandboxError("timed out")
            try:
                r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], min(left, 0.25))
            except (OSError, ValueError):
                raise SandboxError(self._death()) from None
            if r or w:
                return

    def _read(self, deadline: float) -> dict:
        """One validated message; the buffer never holds more than one maximal frame."""
        while True:
            if len(self._buf) >= _HEADER.size:
                (n,) = _HEADER.unpack_from(self._buf)
                if n > MAX_FRAME:
                    self.kill("protocol violation")
                    raise SandboxViolation(f"protocol violation: a frame of {n} bytes (the limit is {MAX_FRAME})")
                if len(self._buf) >= _HEADER.size + n:
                    body = bytes(self._buf[_HEADER.size:_HEADER.size + n])
                    del self._buf[:_HEADER.size + n]
                    try:
                        msg = json.loads(body.decode("utf-8"))
                    except (ValueError, RecursionError):
                        self.kill("protocol violation")
                        raise SandboxViolation("protocol violation: a frame that is not UTF-8 JSON") from None
                    try:
                        return _validate(msg, self._running)
                    except SandboxViolation:
                        self.kill("protocol violation")
                        raise
                need = _HEADER.size + n - len(self._buf)
            else:
                need = _HEADER.size - len(self._buf)
            self._wait(self._in, deadline)
            try:
                chunk = os.read(self._in, min(need, 1 << 20))
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                raise SandboxError(self._death()) from None
            if not chunk:
                raise SandboxError(self._death())
            self._buf += chunk

    def _death(self) -> str:
        if self.killed_reason:
            return f"the sandbox was stopped ({self.killed_reason})"
        try:
            code = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            return f"the sandbox process was killed by {name}"
        # bwrap reports the child's own signal death as exit code 128 + signal
        if code is not None and code > 128 and code - 128 in signal.Signals._value2member_map_:
            return f"the sandbox process was killed by {signal.Signals(code - 128).name} (CPU or memory limit)"
        return f"the sandbox process ended (exit code {code})"

    # --- API ------------------------------------------------------------------------------
    def start_exec(self, code: str, timeout: float = 30.0) -> None:
        if self._running is not None:
            raise SandboxError("a cell is still running")
        self._exec_id += 1
        self._running, self._final = self._exec_id, None
        self._send({"op": "exec", "id": self._exec_id, "code": code}, time.monotonic() + timeout)

    def messages(self, timeout: float, *, deadline=None):
        """Yield the child's requests, then its 'done' message (last, with the parent's
        own record of a final answer). `timeout` bounds the time spent waiting for the
        child; time the caller spends serving a request is not charged to it. A
        callable `deadline` (monotonic seconds) bounds every wait as well: the run's."""
        left = timeout
        while True:
            t0 = time.monotonic()
            until = t0 + max(0.0, left)
            if deadline is not None:
                until = min(until, deadline())
            try:
                msg = self._read(until)
            except SandboxError as e:
                if str(e) == "timed out":
                    raise SandboxError(f"the code ran longer than {timeout:.0f} s and was stopped") from None
                raise
            left -= time.monotonic() - t0
            if self._pending_call:
                self.kill("protocol violation")
                raise SandboxViolation("protocol violation: a message while a call waits for its reply")
            if msg["op"] == "done":
                self._running = None
                # The child caps its output; a hostile one does not, and this goes into
                # prompts and the stored trace.
                cap = self.max_output + 200
                error = msg.get("error")
                out = {"op": "done", "stdout": msg.get("stdout", "")[:cap], "error": error[:cap] if error else error,
                       "notes": [n[:500] for n in msg.get("notes", [])], "final": self._final}
                self._final = None
                yield out
                return
            if msg["fn"] == "final":
                if self._final is not None:
                    self.kill("protocol violation")
                    raise SandboxViolation("protocol violation: a second final answer in one cell")
                self._final = msg["args"]["answer"]
                self._send({"op": "reply", "value": None, "error": None}, time.monotonic() + 5)
                continue
            self._pending_call = True
            yield msg

    def reply(self, value=None, error: str | None = None, timeout: float = 30.0) -> None:
        self._pending_call = False
        self._send({"op": "reply", "value": value, "error": error}, time.monotonic() + timeout)

    def kill(self, reason: str = "") -> None:
        """SIGKILL the whole process group: bwrap and its PID 1, whose death takes
        every process of the sandbox's PID namespace with it."""
        with self._kill_lock:  # Stop arrives on another thread; the reader waits for the kill to finish
            self._kill(reason)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _kill(self, reason: str) -> None:
        self.killed_reason = self.killed_reason or reason
        # Until reaped (returncode None), even a dead leader keeps its group id reserved,
        # so the signal cannot reach a stranger that reused the number.
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.kill("closed")
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

"""The REPL sandbox's child process (stdlib only; run as `python -I -S sandbox_child.py`).

It limits itself (CPU, memory, file size, processes), closes the network (the parent
also starts it in a fresh network namespace when `unshare` works), installs an audit
hook that refuses file writes, sockets, subprocesses and native code, and only then runs
model-written code. It talks to the parent over its original stdin/stdout with JSON
lines; model code's own prints are captured and truncated.

This file must not import anything from `app`: the child has no access to the app.
"""

import contextlib
import io
import json
import os
import re
import resource
import sys
import traceback

_PROTO_IN = _PROTO_OUT = None


def _take_over_stdio():
    """Keep private copies of stdin/stdout for the protocol; model code that writes to fd
    0/1/2 directly reaches /dev/null. Done in main(), never at import."""
    global _PROTO_IN, _PROTO_OUT
    _PROTO_IN = os.fdopen(os.dup(0), "r", encoding="utf-8")
    _PROTO_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)


def _send(msg):
    _PROTO_OUT.write(json.dumps(msg) + "\n")
    _PROTO_OUT.flush()


def _recv():
    line = _PROTO_IN.readline()
    if not line:
        os._exit(0)
    return json.loads(line)


def _limit(limits):
    mb = 1024 * 1024
    for name, value in (("RLIMIT_CPU", limits.get("cpu_seconds", 60)),
                        ("RLIMIT_AS", limits.get("memory_mb", 2048) * mb),
                        ("RLIMIT_FSIZE", 0), ("RLIMIT_NPROC", 0), ("RLIMIT_CORE", 0)):
        rid = getattr(resource, name, None)
        if rid is None:
            continue
        try:
            resource.setrlimit(rid, (value, value))
        except (ValueError, OSError):
            pass


_BLOCKED_PREFIXES = ("socket.", "subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                     "os.system", "os.kill", "os.killpg", "os.remove", "os.unlink", "os.rename", "os.rmdir",
                     "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.symlink", "os.link", "os.putenv",
                     "os.unsetenv", "os.listdir", "os.scandir", "os.chdir", "os.startfile", "os.setxattr",
                     "os.removexattr", "os.utime", "shutil.", "ctypes.", "pty.", "resource.setrlimit",
                     "sys.addaudithook", "urllib.", "http.", "ftplib.", "smtplib.", "webbrowser.",
                     "import" + "lib.load", "sqlite3.", "mmap.")
_READ_OK = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__))})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event, args):
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & _WRITE_FLAGS):
            raise PermissionError(f"blocked by the sandbox: writing files ({path})")
        if isinstance(path, (str, bytes)):
            p = os.path.realpath(os.fsdecode(path))
            if not p.startswith(_READ_OK):
                raise PermissionError(f"blocked by the sandbox: reading files outside the Python library ({path})")
        elif isinstance(path, int) and path > 2:
            raise PermissionError("blocked by the sandbox: opening file descriptors")
        return
    if event.startswith(_BLOCKED_PREFIXES):
        raise PermissionError(f"blocked by the sandbox: {event}")


class Page:
    def __init__(self, no, text, start):
        self.no, self.text, self.start = no, text, start

    def __repr__(self):
        return f"<page {self.no}: {len(self.text)} chars>"


class Document:
    """One selected document: .title, .text, .pages (list of Page with .no, .text, .start)."""

    def __init__(self, d):
        self.doc_id, self.title, self.text = d["doc_id"], d["title"], d["text"]
        self.pages = [Page(no, self.text[a:b], a) for no, a, b in d["pages"]]

    def page_of(self, char):
        for p in reversed(self.pages):
            if p.start <= char:
                return p.no
        return 1

    def __len__(self):
        return len(self.text)

    def __repr__(self):
        return f"<document {self.title!r}: {len(self.pages)} pages, {len(self.text)} chars>"


class _Final(Exception):
    pass


def _call(fn, **args):
    _send({"op": "call", "fn": fn, "args": args})
    reply = _recv()
    if reply.get("error"):
        raise RuntimeError(reply["error"])
    return reply.get("value")


def main():
    _take_over_stdio()
    init = _recv()
    limits = init.get("limits", {})
    max_out = int(limits.get("max_output", 2000))
    context = [Document(d) for d in init["context"]]
    state = {"final": None}

    def llm_query(prompt):
        """Ask the sub-model one question (prompt may include text from `context`)."""
        return _call("llm_query", prompt=str(prompt))

    def llm_query_batched(prompts):
        return _call("llm_query_batched", prompts=[str(p) for p in prompts])

    def rlm_query(question, text):
        """A recursive child: another REPL over `text` answers `question`."""
        return _call("rlm_query", question=str(question), text=str(text))

    def search(query, k=5):
        """Full-text search: list of dicts with doc, title, page, text."""
        return _call("search", query=str(query), k=int(k))

    def FINAL(answer):
        state["final"] = str(answer)
        raise _Final()

    namespace = {"__name__": "__repl__", "context": context, "llm_query": llm_query,
                 "llm_query_batched": llm_query_batched, "rlm_query": rlm_query, "search": search,
                 "FINAL": FINAL, "re": re, "json": json}

    def FINAL_VAR(name):
        if name not in namespace:
            raise NameError(f"FINAL_VAR: no variable named {name!r}")
        FINAL(namespace[name])

    namespace["FINAL_VAR"] = FINAL_VAR

    _limit(limits)
    # Modules a program could use to reach the network are gone before any code runs.
    for mod in ("socket", "_socket", "ssl", "_ssl"):
        sys.modules[mod] = None
    sys.addaudithook(_audit)
    _send({"op": "ready"})

    while True:
        msg = _recv()
        if msg.get("op") != "exec":
            continue
        out = io.StringIO()
        error = None
        try:
            code = compile(msg["code"], "<repl>", "exec")
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(code, namespace)
        except _Final:
            pass
        except BaseException as e:  # the program's failure is output for the model, not a crash
            tb = traceback.format_exception_only(type(e), e)
            error = "".join(tb).strip()
        text = out.getvalue()
        if len(text) > max_out:
            text = text[:max_out] + f"\n... [output truncated: {len(text)} chars, showing {max_out}]"
        _send({"op": "done", "stdout": text, "error": error, "final": state["final"]})
        state["final"] = None


if __name__ == "__main__":
    main()

"""HostedModel: a GGUF model served by a model host child process (host.py).

What the app gets from it:
- a crash of llama.cpp (SIGSEGV, SIGILL, out of memory) is a ModelCrashed error with a
  plain message; the run ends with its partial answer and the next call starts a fresh
  host;
- cancel reaches llama.cpp's abort callback through the host, and a host that does not
  answer within CANCEL_GRACE seconds is killed outright;
- the first load of a model on a machine (and after a model or llama.cpp build change)
  runs a short self-check generation; if the CPU variant crashes it, the next variant
  in ggml's order is tried, and the outcome is remembered in runtime.json.
Streaming, prefix reuse (the KV cache lives in the host), choice logprobs and grammars
pass through unchanged.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from app.llm.base import (
    Completion,
    CompletionRequest,
    ContextOverflow,
    GenerationCancelled,
    LLMError,
    Message,
    Model,
    ModelLoadError,
    Usage,
)
from app.llm.serial import RequestQueue

CANCEL_GRACE = 3.0  # seconds a host may take to stop after cancel before it is killed
SELFCHECK_PROMPT = [{"role": "user", "content": "Complete the sentence: The capital of France is"}]
SELFCHECK_TOKENS = 12
_CRASH_SIGNALS = {signal.SIGSEGV: "segmentation fault", signal.SIGILL: "illegal instruction: the CPU lacks an instruction",
                  signal.SIGBUS: "bus error", signal.SIGABRT: "abort", signal.SIGKILL: "killed, often by the system running out of memory",
                  signal.SIGFPE: "arithmetic fault"}


class ModelCrashed(LLMError):
    """The model host process died. Its message is for the user."""

    def __init__(self, message: str, exitcode: int | None = None, variant: str | None = None):
        super().__init__(message)
        self.exitcode = exitcode
        self.variant = variant


def describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            sig = signal.Signals(-code)
        except ValueError:
            return f"was ended by signal {-code}"
        return f"crashed ({sig.name}, {_CRASH_SIGNALS.get(sig, 'signal')})"
    return f"exited with status {code}"


# --- what this machine has proven --------------------------------------------------------
_state_lock = threading.Lock()


def _state_path() -> Path:
    from app.paths import data_home

    return data_home() / "runtime.json"


def _entry(data) -> tuple[str, dict]:
    """This machine and build's key in runtime.json, and its record (empty if none)."""
    from app.llm import backends

    key = f"{backends.machine_id()}-{backends.build_id()}"
    entry = data.get(key) if isinstance(data, dict) else None
    entry = entry if isinstance(entry, dict) else {}
    entry.setdefault("bad", {})
    entry.setdefault("checks", {})
    return key, entry


def _read_file() -> dict:
    try:
        data = json.loads(_state_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_state() -> dict:
    """This machine and build's record: {"bad": {variant: why}, "checks": {model key: result}}."""
    return _entry(_read_file())[1]


def _write_state(update) -> dict:
    with _state_lock:
        key, entry = _entry(_read_file())
        update(entry)
        path = _state_path()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({key: entry}, indent=1))  # records of other machines or builds are stale
        os.replace(tmp, path)
        return entry


def forget_state() -> None:
    try:
        _state_path().unlink()
    except OSError:
        pass


def _model_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}"


class _HostDied(Exception):
    def __init__(self, exitcode, variant):
        self.exitcode, self.variant = exitcode, variant


class HostedModel(Model):
    def __init__(self, path, *, settings, name: str | None = None, progress=None, cancel=None,
                 selfcheck: bool = True):
        self.path = Path(path)
        self.settings = settings
        self.name = name or self.path.stem
        self._queue = RequestQueue()
        self._lock = threading.Lock()  # guards the token-count cache
        self._proc = None
        self._rid = 0
        self._info: dict = {}
        self._closed = False
        self._counts: OrderedDict[str, int] = OrderedDict()
        self.variant: str | None = None
        self.variant_reason = ""
        self.selfcheck: dict | None = None
        self.checked_now = False  # the self-check ran in this process (not taken from runtime.json)
        self.restarts = 0
        self.idle_exits: list[str] = []  # how each host that a new call found dead had ended
        self._start(progress, cancel, selfcheck)

    # --- host lifecycle -----------------------------------------------------------------
    def _spawn(self, skip: dict, prefer: str | None, progress, cancel) -> None:
        from app.llm import host

        mp = multiprocessing.get_context("spawn")
        if os.environ.get("LECTERN_HOST_PYTHON"):
            # The interpreter the host runs under, e.g. a script that runs Python under
            # `qemu-x86_64 -cpu Nehalem` (the emulated-CPU tests): qemu-user does not follow exec.
            mp.set_executable(os.environ["LECTERN_HOST_PYTHON"])
        req_r, req_w = mp.Pipe(duplex=False)
        rep_r, rep_w = mp.Pipe(duplex=False)
        proc = mp.Process(target=host.main, name="lectern-model-host", daemon=True,
                          args=(req_r, rep_w, str(self.path), asdict(self.settings), self.name, skip, prefer))
        proc.start()
        req_r.close()
        rep_w.close()
        self._proc, self._send_conn, self._recv_conn = proc, req_w, rep_r
        variant = None
        while True:
            msg = self._next(cancel, variant)
            kind = msg[0]
            if kind == "variant":
                variant = msg[1]
            elif kind == "progress":
                if progress is not None:
                    try:
                        progress(float(msg[1]))
                    except Exception:
                        pass
            elif kind == "load_error":
                self._reap()
                raise ModelLoadError(msg[1])
            elif kind == "ready":
                self._info = msg[1]
                self.variant = self._info.get("variant")
                return

    def _next(self, cancel, variant, timeout: float | None = None):
        """The host's next message, None after `timeout` seconds of silence; raises
        _HostDied once the host is gone and its pipe drained."""
        t_end = None if timeout is None else time.monotonic() + timeout
        while True:
            if cancel is not None and cancel.cancelled:
                self._kill()
                from app.llm.llamacpp import LoadCancelled

                raise LoadCancelled(f"loading {self.path.name} was cancelled")
            try:
                if self._recv_conn.poll(0.05):
                    return self._recv_conn.recv()
                if self._proc.is_alive():
                    if t_end is not None and time.monotonic() >= t_end:
                        return None
                    continue
            except (EOFError, OSError):
                pass
            raise _HostDied(self._reap(), variant)

    def _start(self, progress, cancel, selfcheck: bool) -> None:
        state = read_state()
        skip = dict(state["bad"])
        key = _model_key(self.path)
        prefer = (state["checks"].get(key) or {}).get("variant")
        while True:
            try:
                self._spawn(skip, prefer, progress, cancel)
            except _HostDied as e:
                if e.variant and e.variant not in skip and e.exitcode is not None and e.exitcode < 0:
                    why = f"the model host {describe_exit(e.exitcode)} while loading {self.path.name}"
                    skip[e.variant] = why
                    _write_state(lambda s, v=e.variant, w=why: s["bad"].__setitem__(v, w))
                    prefer = None
                    continue
                raise ModelLoadError(f"could not load {self.path.name}: the model process {describe_exit(e.exitcode)}") from None
            done = state["checks"].get(key)
            if done and done.get("variant") == self.variant and done.get("ok"):
                self.selfcheck = done
                self.variant_reason = "checked on this machine before: " + _ago(done.get("at"))
                return
            if not selfcheck:
                self.variant_reason = "highest-scoring variant for this CPU (not self-checked)"
                return
            try:
                result = self.run_selfcheck()
            except ModelCrashed as e:
                why = f"the self-check {describe_exit(e.exitcode)}"
                skip[self.variant] = why
                _write_state(lambda s, v=self.variant, w=why: s["bad"].__setitem__(v, w))
                prefer = None
                continue
            _write_state(lambda s: s["checks"].__setitem__(key, result))
            return

    def run_selfcheck(self) -> dict:
        """A short greedy generation in the host; ModelCrashed if the host dies."""
        comp = self.complete(CompletionRequest(messages=SELFCHECK_PROMPT, max_tokens=SELFCHECK_TOKENS))
        gen = comp.usage.completion_tokens
        secs = (self._last_timings or {}).get("generation_seconds") or comp.usage.seconds
        self.selfcheck = {"ok": True, "variant": self.variant, "text": comp.text.strip()[:80],
                          "tokens_per_s": round(gen / secs, 1) if secs and gen else None, "at": time.time()}
        self.checked_now = True
        skipped = read_state()["bad"]
        self.variant_reason = ("highest-scoring variant for this CPU that passed the self-check"
                               + (f" (skipped: {', '.join(skipped)})" if skipped else ""))
        return self.selfcheck

    def _reap(self) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        proc.join(timeout=2)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=2)
        code = proc.exitcode
        for conn in (getattr(self, "_send_conn", None), getattr(self, "_recv_conn", None)):
            try:
                conn and conn.close()
            except OSError:
                pass
        self._proc = None
        return code

    def _kill(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
        self._reap()

    def _ensure_host(self) -> None:
        if self._closed:
            raise LLMError(f"model {self.name} is closed")
        if self._proc is not None and not self._proc.is_alive():
            # It died between calls (the OOM killer, a signal, a suspended laptop's GPU reset):
            # no request was in flight, so this call gets a fresh host instead of the failure.
            self.idle_exits.append(describe_exit(self._reap()))
        if self._proc is None:
            self.restarts += 1
            try:
                self._spawn(dict(read_state()["bad"]), self.variant, None, None)
            except _HostDied as e:
                raise ModelCrashed(f"the model process for {self.name} {describe_exit(e.exitcode)} while "
                                   "restarting", e.exitcode, e.variant) from None

    def _crashed(self, e: _HostDied, during: str) -> ModelCrashed:
        return ModelCrashed(
            f"The model process {describe_exit(e.exitcode)} {during}. The run ends with its best partial "
            f"answer; the next question starts a fresh model process.", e.exitcode, self.variant)

    # --- requests ---------------------------------------------------------------------------
    def _call(self, op: str, payload, *, request: CompletionRequest | None = None,
              batch: Sequence[CompletionRequest] | None = None):
        with self._queue.turn():
            self._ensure_host()
            self._rid += 1
            rid = self._rid
            try:
                self._send_conn.send((op, rid, payload))
            except (OSError, BrokenPipeError):
                pass  # the host is gone: _next reports how
            # A batch's requests are cancelled one by one; the host is killed only once all are.
            cancels = [r.cancel for r in batch] if batch is not None else [request.cancel if request is not None else None]
            sent = [False] * len(cancels)
            cancel_sent_at = None
            while True:
                for i, cancel in enumerate(cancels):
                    if cancel is not None and cancel.cancelled and not sent[i]:
                        sent[i] = True
                        try:
                            self._send_conn.send(("cancel",) if batch is None else ("cancel", i))
                        except OSError:
                            pass
                        if all(sent):
                            cancel_sent_at = time.monotonic()
                if cancel_sent_at is not None and time.monotonic() - cancel_sent_at > CANCEL_GRACE:
                    self._kill()  # stuck in native code: end it outright, the next call restarts it
                    raise GenerationCancelled("cancelled (the model process was stopped)")
                try:
                    msg = self._next(None, self.variant, timeout=0.2)
                except _HostDied as e:
                    raise self._crashed(e, "while answering") from None
                if msg is None:
                    continue
                if msg[0] == "token":
                    if msg[1] == rid and request is not None and request.on_token is not None:
                        request.on_token(msg[2])
                    continue
                if msg[1] != rid:
                    continue  # a late reply to a call that was given up
                if msg[0] == "result":
                    return msg[2]
                kind, args = msg[2], msg[3]
                if kind == "overflow":
                    raise ContextOverflow(*args)
                if kind == "cancelled":
                    raise GenerationCancelled(*args)
                raise LLMError(*args)

    @property
    def n_ctx(self) -> int:
        return int(self._info.get("n_ctx") or self.settings.n_ctx)

    @property
    def queue_length(self) -> int:
        return self._queue.waiting

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        with self._lock:
            n = self._counts.get(text)
        if n is None:
            n = self._call("count", text)
            with self._lock:  # the GUI and a run may count at once
                self._counts[text] = n
                if len(self._counts) > 4096:
                    self._counts.popitem(last=False)
        return n

    def count_messages(self, messages: Sequence[Message]) -> int:
        return self._call("tokens", [dict(m) for m in messages])

    def complete(self, request: CompletionRequest) -> Completion:
        if request.cancel is not None and request.cancel.cancelled:
            raise GenerationCancelled("cancelled before the prompt was processed")
        spec = {"messages": [dict(m) for m in request.messages], "max_tokens": request.max_tokens,
                "stop": list(request.stop or ()), "temperature": request.temperature, "seed": request.seed,
                "json_schema": request.json_schema, "grammar": request.grammar, "choices": tuple(request.choices),
                "stream": request.on_token is not None}
        out = self._call("complete", spec, request=request)
        self._last_timings = out.get("timings")
        self.last_timings = self._last_timings
        return Completion(text=out["text"], usage=Usage(**out["usage"]), finish_reason=out["finish_reason"],
                          model=out["model"], choice_logprobs=out["choice_logprobs"])

    _last_timings: dict | None = None

    def complete_many(self, requests: Sequence[CompletionRequest], max_concurrency: int = 4) -> list:
        """One round trip for the batch: the host decodes it as parallel sequences
        (LlamaCppModel.complete_many). Streaming is not forwarded for a batch: a request's
        on_token gets its whole text when the batch ends."""
        out: list = [None] * len(requests)
        live = []
        for i, r in enumerate(requests):
            if r.cancel is not None and r.cancel.cancelled:
                out[i] = GenerationCancelled("cancelled before the prompt was processed")
            else:
                live.append(i)
        if not live:
            return out
        specs = [{"messages": [dict(m) for m in requests[i].messages], "max_tokens": requests[i].max_tokens,
                  "stop": list(requests[i].stop or ()), "temperature": requests[i].temperature,
                  "seed": requests[i].seed, "json_schema": requests[i].json_schema, "grammar": requests[i].grammar,
                  "choices": tuple(requests[i].choices)} for i in live]
        try:
            replies = self._call("complete_many", (specs, int(max_concurrency)), batch=[requests[i] for i in live])
        except LLMError as e:  # the host was stopped or died: every request of the batch shares that
            for i in live:
                out[i] = e
            return out
        for i, rep in zip(live, replies):
            if rep[0] == "ok":
                res = rep[1]
                out[i] = Completion(text=res["text"], usage=Usage(**res["usage"]), finish_reason=res["finish_reason"],
                                    model=res["model"], choice_logprobs=res["choice_logprobs"])
                if requests[i].on_token is not None and res["text"]:
                    requests[i].on_token(res["text"])
            else:
                kind, args = rep[1], rep[2]
                out[i] = (ContextOverflow(*args) if kind == "overflow" else
                          GenerationCancelled(*args) if kind == "cancelled" else LLMError(*args))
        return out

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self._call("embed", list(texts)) if texts else []

    def info(self) -> dict:
        out = dict(self._info)
        out.update(process="model host (pid %s)" % (self._proc.pid if self._proc is not None else "-"),
                   variant=self.variant, variant_reason=self.variant_reason, selfcheck=self.selfcheck,
                   host_restarts=max(0, self.restarts), host_idle_exits=list(self.idle_exits))
        return out

    def close(self) -> None:
        if self._closed:
            return
        with self._queue.turn():
            self._closed = True
            if self._proc is not None:
                try:
                    self._send_conn.send(("close", 0, None))
                    self._proc.join(timeout=3)
                except OSError:
                    pass
                self._kill()


def _ago(at) -> str:
    if not at:
        return "earlier"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))

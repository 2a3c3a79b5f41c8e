"""The model host: the child process that owns llama.cpp (its parent side is hosted.py).

llama.cpp is native code that can die outright: a CPU kernel that segfaults (AMX),
an instruction the CPU lacks (SIGILL), the kernel's OOM killer. In the app's own
process any of these takes the window and the run with it; here it ends one process,
which the parent reports and replaces.

Protocol: two one-way pipes (no socket), pickled tuples.
  parent -> child: ("count", rid, text) | ("tokens", rid, messages) | ("complete", rid, request)
                   | ("embed", rid, texts)
                   | ("complete_many", rid, (requests, max_concurrency))
                   | ("cancel",) (everything running) | ("cancel", i) (request i of a batch) | ("close", rid)
  child -> parent: ("variant", name) before loading it, ("progress", fraction),
                   ("ready", info) | ("load_error", message), then per request:
                   ("token", rid, piece)*, ("result", rid, value) | ("error", rid, kind, args);
                   a batch's value is a list with, per request, ("ok", result) or ("error", kind, args)
The child is Lectern's own code, not model-written code, so its messages are trusted.
"""

from __future__ import annotations

import os
import queue
import threading

from app.cancel import CancelToken


def main(requests, replies, path: str, settings: dict, name: str, skip: dict, prefer: str | None) -> None:
    # Not PR_SET_PDEATHSIG: the kernel sends it when the *thread* that started this process
    # exits, and the window starts models from worker threads that end (the host was killed
    # 30 s after a run, when Qt retired the thread). The parent's death closes the request
    # pipe instead, and the reader thread below exits on that, even mid-decode.
    send_lock = threading.Lock()

    def send(msg) -> None:
        with send_lock:
            replies.send(msg)

    from app.llm import backends, llamalog

    try:
        llamalog.install()  # before any backend loads: ggml's lines stay off the terminal
        choices = backends.ranked(skip)
        chosen = next((v for v in choices if v.name == prefer), choices[0] if choices else None)
        if chosen is not None:
            send(("variant", chosen.name))
            backends.load_cpu_variant(chosen.path)
            backends.load_gpu_backends()
        elif backends.variant_files():
            send(("load_error", "no llama.cpp CPU variant left to try on this CPU: " +
                  ", ".join(f"{k} ({v})" for k, v in skip.items())))
            return
    except OSError as e:
        send(("load_error", f"llama.cpp's CPU backend could not be loaded: {e}"))
        return

    from app.llm.base import LLMError
    from app.llm.llamacpp import LlamaCppModel, LoadSettings

    try:
        model = LlamaCppModel(path, settings=LoadSettings(**settings), name=name,
                              progress=lambda f: send(("progress", f)))
    except LLMError as e:
        send(("load_error", str(e)))
        return
    info = model.info()
    info.update(variant=chosen.name if chosen else "built-in", variant_score=chosen.score if chosen else None,
                devices=backends.devices(), host_pid=os.getpid())
    send(("ready", info))

    inbox: queue.Queue = queue.Queue()
    running: list[CancelToken] = []  # the running request's token, or a batch's, one per request

    def reader() -> None:
        # Cancel must reach a request while the main thread is inside llama.cpp.
        while True:
            try:
                msg = requests.recv()
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone
            if msg[0] == "cancel":
                tokens = list(running)
                for i, tok in enumerate(tokens):
                    if len(msg) == 1 or msg[1] == i:
                        tok.cancel()
            else:
                inbox.put(msg)

    threading.Thread(target=reader, daemon=True, name="host-reader").start()
    from app.llm.base import CompletionRequest

    while True:
        msg = inbox.get()
        op, rid = msg[0], msg[1]
        try:
            if op == "count":
                send(("result", rid, model.count_tokens(msg[2])))
            elif op == "tokens":
                send(("result", rid, len(model.prompt_tokens(msg[2]))))
            elif op == "complete":
                spec = dict(msg[2])
                stream = spec.pop("stream", False)
                tok = CancelToken()
                running[:] = [tok]
                req = CompletionRequest(**spec, cancel=tok,
                                        on_token=(lambda piece, rid=rid: send(("token", rid, piece))) if stream else None)
                try:
                    comp = model.complete(req)
                finally:
                    running[:] = []
                send(("result", rid, _result(comp, model)))
            elif op == "complete_many":
                specs, max_concurrency = msg[2]
                tokens = [CancelToken() for _ in specs]
                reqs = [CompletionRequest(**{k: v for k, v in spec.items() if k != "stream"}, cancel=tok)
                        for spec, tok in zip(specs, tokens)]
                running[:] = tokens
                try:
                    outs = model.complete_many(reqs, max_concurrency)
                finally:
                    running[:] = []
                send(("result", rid, [("ok", _result(o, model)) if not isinstance(o, BaseException) else _error(o, model)
                                      for o in outs]))
            elif op == "embed":
                send(("result", rid, model.embed(msg[2])))
            elif op == "close":
                model.close()
                send(("result", rid, None))
                return
        except Exception as e:  # a bug here must come back as an error, not a hang
            send(("error", rid) + _error(e, model)[1:])


def _result(comp, model) -> dict:
    return {"text": comp.text, "finish_reason": comp.finish_reason, "model": comp.model,
            "choice_logprobs": comp.choice_logprobs, "usage": vars(comp.usage),
            "timings": getattr(model, "last_timings", {})}


def _error(e: BaseException, model) -> tuple:
    """("error", kind, args): what the parent turns back into the same exception."""
    from app.llm.base import ContextOverflow, GenerationCancelled, LLMError

    if isinstance(e, ContextOverflow):
        return ("error", "overflow", (e.prompt_tokens, e.max_tokens, e.n_ctx, model.name))
    if isinstance(e, GenerationCancelled):
        return ("error", "cancelled", (str(e),))
    if isinstance(e, LLMError):
        return ("error", "llm", (str(e),))
    return ("error", "llm", (f"model host error: {type(e).__name__}: {e}",))

"""The model host process with the real default model: same answers as in-process, a
crash is a message and a restart, a crashing CPU variant is skipped and remembered."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.llm import backends, hosted, manager
from app.llm.base import CompletionRequest, GenerationCancelled, Model
from app.llm.hosted import HostedModel, ModelCrashed
from app.llm.llamacpp import LlamaCppModel, resolve_settings
from app.llm import gguf
from app.cancel import CancelToken

pytestmark = pytest.mark.slow
Q = [{"role": "user", "content": "Name three colours."}]


def _settings(path):
    return resolve_settings(gguf.read_gguf(path), n_ctx=512, n_threads=1, n_gpu_layers=0)


@pytest.fixture
def host(default_model_path):
    m = HostedModel(default_model_path, settings=_settings(default_model_path), name="smol")
    yield m
    m.close()


def test_the_host_answers_exactly_like_the_model_in_process(host, default_model_path):
    local = LlamaCppModel(default_model_path, settings=_settings(default_model_path))
    try:
        pieces = []
        a = host.complete(CompletionRequest(messages=Q, max_tokens=24, on_token=pieces.append))
        b = local.complete(CompletionRequest(messages=Q, max_tokens=24))
        assert a.text == b.text and "".join(pieces) == a.text and a.text.strip()
        assert host.count_tokens("hello world") == local.count_tokens("hello world")
        assert host.count_messages(Q) == local.count_messages(Q)
        # choice logprobs and a JSON-schema grammar pass through
        yn = host.complete(CompletionRequest(messages=Q, max_tokens=1, choices=("yes", "no")))
        assert set(yn.choice_logprobs) == {"yes", "no"}
        js = host.complete(CompletionRequest(messages=Q, max_tokens=40, json_schema={
            "type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}))
        assert isinstance(json.loads(js.text)["colour"], str)
        # prefix reuse: the KV cache lives in the host
        again = host.complete(CompletionRequest(messages=Q, max_tokens=4))
        assert again.usage.cached_tokens > 0
    finally:
        local.close()
    info = host.info()
    assert info["variant"] and info["host_pid"] != os.getpid() and info["devices"]


def _kill_and_wait(pid, sig=signal.SIGSEGV):
    os.kill(pid, sig)
    while _alive(pid):
        time.sleep(0.01)


def _crash_during_next_call(pid, after=1.0):
    """Freeze the host now and crash it (SIGSEGV) `after` seconds later: the next call is
    sent to a live host and is in flight when the crash lands, however short it is."""
    os.kill(pid, signal.SIGSTOP)

    def crash():
        os.kill(pid, signal.SIGSEGV)  # pending until the host runs again
        os.kill(pid, signal.SIGCONT)

    threading.Timer(after, crash).start()


def test_a_host_that_crashes_mid_call_is_a_clear_error_and_the_next_call_restarts_it(host):
    pid = host.info()["host_pid"]
    _crash_during_next_call(pid)
    with pytest.raises(ModelCrashed) as e:
        host.complete(CompletionRequest(messages=Q, max_tokens=8))
    assert "SIGSEGV" in str(e.value) and "partial answer" in str(e.value)
    ok = host.complete(CompletionRequest(messages=Q, max_tokens=8))  # a fresh host
    assert ok.text.strip() and host.info()["host_pid"] != pid and host.restarts == 1
    assert host.idle_exits == []


def test_a_host_that_died_between_calls_is_restarted_without_failing_the_next_call(host):
    pid = host.info()["host_pid"]
    _kill_and_wait(pid, signal.SIGKILL)  # as the OOM killer would, while nothing is asked
    ok = host.complete(CompletionRequest(messages=Q, max_tokens=8))
    assert ok.text.strip() and host.info()["host_pid"] != pid and host.restarts == 1
    assert len(host.idle_exits) == 1 and "SIGKILL" in host.idle_exits[0]
    assert host.info()["host_idle_exits"] == host.idle_exits


def test_cancel_ends_a_call_in_the_host(host):
    tok = CancelToken()
    seen = []

    def on_token(piece):
        seen.append(piece)
        if len(seen) == 3:
            tok.cancel()

    with pytest.raises(GenerationCancelled):
        host.complete(CompletionRequest(messages=Q, max_tokens=200, cancel=tok, on_token=on_token))
    assert 3 <= len(seen) < 50
    assert host.complete(CompletionRequest(messages=Q, max_tokens=4)).text  # still usable


class _KillDuring(Model):
    """Passes calls to a hosted model and crashes its host (SIGSEGV) during call number k."""

    def __init__(self, inner: HostedModel, k: int):
        self.inner, self.k, self.calls, self.name = inner, k, 0, inner.name

    @property
    def n_ctx(self):
        return self.inner.n_ctx

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def count_messages(self, messages):
        return self.inner.count_messages(messages)

    def complete(self, request):
        self.calls += 1
        if self.calls == self.k:
            _crash_during_next_call(self.inner.info()["host_pid"])
        return self.inner.complete(request)


def _alive(pid):
    """Running, as opposed to gone or a zombie (its parent, the model, reaps it). A killed
    process's leader turns zombie while its other threads still exit, and its parent cannot
    reap it until the last is gone: so it counts as alive until then."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            zombie = f.read().split()[2] == "Z"
        return not zombie or len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def test_killing_the_host_mid_run_keeps_the_partial_answer_and_the_next_run_works(store_path_and_sample):
    from app.rlm import Controller

    store = store_path_and_sample
    model = manager.load_model(None, n_ctx=2048)
    q = "How old must the President be?"
    first = list(Controller(store, model).run(q))[-1].result
    n_calls = len(first.nodes)
    assert first.status == "done" and "thirty five" in first.answer.lower()
    killer = _KillDuring(model, k=4)
    broken = list(Controller(store, killer).run(q))[-1].result
    assert killer.calls >= 4
    assert broken.status == "failed"
    assert "SIGSEGV" in broken.note and "fresh model process" in broken.note, broken.note
    assert broken.answer  # the best answer found before the crash
    again = list(Controller(store, model).run(q))[-1].result
    assert again.status == "done" and again.answer == first.answer and n_calls


@pytest.fixture
def store_path_and_sample(tmp_path):
    from app.ingest import import_paths
    from app.paths import sample_pdf
    from app.store import open_store

    path = tmp_path / "lib.sqlite3"
    assert list(import_paths([sample_pdf()], store_path=path, workers=0))[-1].kind == "done"
    s = open_store(path)
    yield s
    s.close()


CRASHY = r"""
#include <signal.h>
int ggml_backend_score(void) { return 1 << 30; }
void *ggml_backend_init(void) { raise(SIGSEGV); return 0; }
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to build the crashing variant")
def test_a_cpu_variant_that_crashes_is_skipped_and_remembered(tmp_path, monkeypatch, default_model_path):
    src = tmp_path / "crashy.c"
    src.write_text(CRASHY)
    extra = tmp_path / "backends"
    extra.mkdir()
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(extra / "libggml-cpu-crashy.so"), str(src)], check=True)
    monkeypatch.setenv("LECTERN_EXTRA_BACKENDS", str(extra))
    assert backends.ranked()[0].name == "crashy"  # it outranks every real variant
    m = HostedModel(default_model_path, settings=_settings(default_model_path))
    try:
        assert m.variant != "crashy" and m.selfcheck["ok"] and m.selfcheck["tokens_per_s"] > 0
        state = hosted.read_state()
        assert "crashy" in state["bad"] and "SIGSEGV" in state["bad"]["crashy"]
    finally:
        m.close()
    # the next load skips it at once and reuses the check
    m2 = HostedModel(default_model_path, settings=_settings(default_model_path))
    try:
        assert m2.variant == m.variant and m2.restarts == 0 and "before" in m2.variant_reason
    finally:
        m2.close()


def test_amx_is_never_chosen():
    assert "sapphirerapids" in backends.DENY
    assert all(v.name != "sapphirerapids" for v in backends.ranked())


def test_a_host_started_from_a_thread_that_ends_keeps_serving(default_model_path):
    """The window loads models in worker threads that Qt retires; the host must not die with them."""
    import threading

    box = {}
    t = threading.Thread(target=lambda: box.update(m=HostedModel(default_model_path, settings=_settings(default_model_path))))
    t.start()
    t.join()
    m = box["m"]
    try:
        time.sleep(0.5)  # a death signal tied to the thread would have landed by now
        assert m.complete(CompletionRequest(messages=Q, max_tokens=4)).text
        assert m.restarts == 0
    finally:
        m.close()


def test_the_host_exits_when_its_parent_process_dies(tmp_path, default_model_path):
    script = (
        "import sys, time\n"
        "from app.llm.hosted import HostedModel\n"
        "from app.llm.llamacpp import resolve_settings\n"
        "from app.llm import gguf\n"
        f"p = {str(default_model_path)!r}\n"
        "m = HostedModel(p, settings=resolve_settings(gguf.read_gguf(p), n_ctx=256, n_threads=1, n_gpu_layers=0))\n"
        "print(m.info()['host_pid'], flush=True)\n"
        "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    host_pid = int(proc.stdout.readline())
    proc.kill()
    proc.wait()
    for _ in range(100):
        if not _alive(host_pid):
            break
        time.sleep(0.1)
    assert not _alive(host_pid)

"""Parallel sub-calls (issue 11 part 3): Model.complete_many keeps results in request
order with errors per request and honours cancel, over an endpoint pool (threads) and
in a local model (llama.cpp parallel sequences); REPL's llm_query_batched runs its
prompts as one batch, each prompt its own trace node with its slice."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.cancel import CancelToken
from app.llm.base import Completion, CompletionRequest, GenerationCancelled, LLMError
from app.llm.endpoint import Endpoint, EndpointPool
from app.llm.fake import FakeModel


class _EchoServer:
    """An OpenAI-compatible stub: answers "echo <prompt>" after `delay(prompt)` seconds,
    HTTP 400 for a prompt containing "bad"; records the peak of requests in flight."""

    def __init__(self, delay=lambda prompt: 0.0, company: int = 1):
        # company: a request waits (up to 5 s) until this many are in flight before it
        # answers, so a client that sends requests at once is seen to, however loaded
        # the machine; a client that sends one at a time only makes each wait.
        self.delay, self.prompts, self.in_flight, self.peak = delay, [], 0, 0
        lock = threading.Lock()
        together = threading.Condition(lock)
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                with lock:
                    outer.prompts.append(prompt)
                    outer.in_flight += 1
                    outer.peak = max(outer.peak, outer.in_flight)
                    together.notify_all()
                    together.wait_for(lambda: outer.in_flight >= company, timeout=5)
                if "bad" not in prompt:
                    time.sleep(outer.delay(prompt))
                # Out of flight before the reply leaves: a client that sends its next request
                # on receiving this one must not be counted twice.
                with lock:
                    outer.in_flight -= 1
                try:
                    if "bad" in prompt:
                        self.send_response(400)
                        self.end_headers()
                        self.wfile.write(b'{"error": "bad prompt"}')
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    chunk = {"choices": [{"delta": {"content": f"echo {prompt}"}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def echo_servers():
    # Early prompts are the slow ones, so completion order is the reverse of request order.
    made = [_EchoServer(delay=lambda p: 0.05 * (8 - int(p.split()[-1])) if p.split()[-1].isdigit() else 0.0)
            for _ in range(2)]
    yield made
    for s in made:
        s.close()


def req(text, **kw):
    return CompletionRequest(messages=[{"role": "user", "content": text}], max_tokens=8, **kw)


# --- the model layer ------------------------------------------------------------------
def test_default_complete_many_keeps_order_and_each_error_in_its_slot():
    model = FakeModel(responder=lambda r: ValueError("boom") if "two" in r.messages[-1]["content"]
                      else r.messages[-1]["content"].upper())
    out = model.complete_many([req("one"), req("two"), req("three")])
    assert [o.text if isinstance(o, Completion) else type(o).__name__ for o in out] == ["ONE", "ValueError", "THREE"]


def test_pool_runs_requests_at_once_over_its_servers_in_request_order():
    # Early prompts are the slow ones, so completion order is the reverse of request order;
    # each server answers only once two requests are in flight there (or after 5 s).
    servers = [_EchoServer(delay=lambda p: 0.05 * (8 - int(p.split()[-1])), company=2) for _ in range(2)]
    try:
        pool = EndpointPool([Endpoint(s.url, concurrency=2) for s in servers])
        out = pool.complete_many([req(f"prompt {i}") for i in range(8)], max_concurrency=4)
        assert [o.text for o in out] == [f"echo prompt {i}" for i in range(8)]
        # Each server held two requests at once, and both servers were used.
        assert all(s.peak == 2 for s in servers), [s.peak for s in servers]
        assert all(s.prompts for s in servers)
    finally:
        for s in servers:
            s.close()


def test_pool_concurrency_is_capped_by_max_concurrency(echo_servers):
    pool = EndpointPool([Endpoint(s.url, concurrency=4) for s in echo_servers])
    pool.complete_many([req(f"prompt {i}") for i in range(8)], max_concurrency=1)
    assert max(s.peak for s in echo_servers) == 1


def test_a_failed_request_keeps_its_error_and_the_others_their_answers(echo_servers):
    pool = EndpointPool([s.url for s in echo_servers], retries=1, backoff=0.01)
    out = pool.complete_many([req("prompt 1"), req("a bad one"), req("prompt 3")], max_concurrency=3)
    assert out[0].text == "echo prompt 1" and out[2].text == "echo prompt 3"
    assert isinstance(out[1], LLMError) and "400" in str(out[1])


def test_cancel_stops_the_whole_batch():
    slow = [_EchoServer(delay=lambda p: 5.0)]
    try:
        pool = EndpointPool([Endpoint(slow[0].url, concurrency=2)])
        token = CancelToken()
        threading.Timer(0.3, token.cancel).start()
        out = pool.complete_many([req(f"prompt {i}", cancel=token) for i in range(6)], max_concurrency=2)
    finally:
        slow[0].close()
    # cancelled, not answered after the servers' 5 s
    assert all(isinstance(o, GenerationCancelled) for o in out), out
    assert len(slow[0].prompts) == 2  # the four waiting for a slot were never sent


# --- REPL mode --------------------------------------------------------------------------
class _RecordingSub(FakeModel):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.batches = []

    def complete_many(self, requests, max_concurrency=4):
        self.batches.append((len(requests), max_concurrency))
        return super().complete_many(requests, max_concurrency)


def _code(src):
    return f"```repl\n{src}\n```\n"


@pytest.fixture
def three_page_doc(store):
    from app.rlm.testing import add_text_document

    pages = [f"Page {n} says that the {word} ledger was closed in {year}. " * 3
             for n, word, year in ((1, "copper", 1901), (2, "silver", 1902), (3, "golden", 1903))]
    return add_text_document(store, "Ledgers", pages), pages


def test_llm_query_batched_is_one_batch_with_a_node_and_slice_per_prompt(store, three_page_doc):
    from app.rlm import Controller
    from app.rlm.sandbox import availability

    if not availability()[0]:
        pytest.skip(f"no OS sandbox here: {availability()[1]}")
    doc, pages = three_page_doc
    root = FakeModel(replies=[
        _code("rs = llm_query_batched(['Year? ' + p.text for p in context[0].pages])\nprint(rs)"),
        _code("FINAL(rs[1])"),
    ])
    sub = _RecordingSub(responder=lambda r: "1902" if "silver" in r.messages[-1]["content"]
                        else LLMError("helper failed") if "golden" in r.messages[-1]["content"] else "1901")
    result = Controller(store, root, sub).ask("When was the silver ledger closed?", doc_ids=[doc], mode="repl")
    assert result.status == "done", result.note
    assert sub.batches == [(3, 4)]
    nodes = [n for n in result.nodes if n.data.get("repl_subcall")]
    assert [n.label for n in nodes] == [f"llm_query_batched[{i}]" for i in range(3)]
    assert [n.slice.page_start for n in nodes] == [1, 2, 3]
    assert [n.status for n in nodes] == ["done", "done", "failed"]
    assert all(n.data["batch"] == 3 for n in nodes)
    # the failed prompt's error reached the program in its slot; the others kept their answers
    printed = [n for n in result.nodes if n.label == "turn 1"][0].data["results"][0]["stdout"]
    assert "'1901', '1902', 'error: helper failed'" in printed
    assert result.answer.startswith("1902")
    assert nodes[1].fate == "cited" and nodes[0].fate == "discarded"


# --- real models --------------------------------------------------------------------------
def _map_requests(n, max_tokens=12, cancel=None):
    return [CompletionRequest(messages=[{"role": "system", "content": "Answer briefly."},
                                        {"role": "user", "content": f"Name a fruit that starts with the letter {c}."}],
                              max_tokens=max_tokens, cancel=cancel) for c in "ABCDEFGH"[:n]]


@pytest.fixture(scope="module")
def local_model(default_model_path):
    from app.llm.llamacpp import LlamaCppModel

    m = LlamaCppModel(default_model_path, n_ctx=2048, n_threads=1, n_threads_batch=1)
    yield m
    m.close()


@pytest.mark.slow
def test_local_parallel_sequences_give_the_greedy_answers_of_one_by_one(local_model):
    reqs = _map_requests(6)
    alone = [local_model.complete(r) for r in reqs]
    together = local_model.complete_many(reqs, max_concurrency=4)
    stats = local_model._parallel.last_stats
    assert stats["slots"] == 4
    # Six requests of 12 tokens in 4 slots: far fewer decode steps than 6 x 12 one by one.
    assert stats["steps"] <= 2 * 12 + 4, stats
    assert [c.usage.completion_tokens for c in together] == [c.usage.completion_tokens for c in alone]
    # Batched matmuls round differently, so a token may flip late; most replies are the same.
    same = sum(a.text == b.text for a, b in zip(alone, together))
    assert same >= 4, [(a.text, b.text) for a, b in zip(alone, together)]
    assert all(t.text[:10] == a.text[:10] for a, t in zip(alone, together))


@pytest.mark.slow
def test_local_batch_decodes_grammars_and_keeps_each_error_in_its_slot(local_model):
    reqs = _map_requests(3)
    reqs.insert(1, CompletionRequest(messages=[{"role": "user", "content": "x " * 3000}], max_tokens=8))
    reqs.append(CompletionRequest(messages=[{"role": "user", "content": "Is water wet?"}], max_tokens=4,
                                  grammar='root ::= "yes" | "no"'))
    schema = {"type": "object", "properties": {"fruit": {"type": "string"}, "sweet": {"type": "boolean"}},
              "required": ["fruit", "sweet"]}
    reqs.append(CompletionRequest(messages=[{"role": "user", "content": "Name a fruit as JSON."}], max_tokens=40,
                                  json_schema=schema))
    reqs.append(CompletionRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=4, grammar="root ::= ("))
    out = local_model.complete_many(reqs, max_concurrency=4)
    from app.llm.base import ContextOverflow

    assert local_model._parallel.last_stats["slots"] == 4  # the grammar requests were in the batch
    assert isinstance(out[1], ContextOverflow)
    assert all(isinstance(out[i], Completion) and out[i].text for i in (0, 2, 3))
    assert out[4].text in ("yes", "no")
    doc = json.loads(out[5].text)
    assert set(doc) == {"fruit", "sweet"} and isinstance(doc["sweet"], bool)
    assert isinstance(out[6], LLMError) and "grammar" in str(out[6])


def _story_requests(n, cancel, on_token=None):
    return [CompletionRequest(messages=[{"role": "user", "content": f"Write a long story about dragon number {i}."}],
                              max_tokens=1000, cancel=cancel, on_token=on_token) for i in range(n)]


@pytest.mark.slow
def test_local_batch_cancel_stops_every_sequence(local_model):
    token = CancelToken()
    pieces = []

    def on_token(piece):
        pieces.append(piece)
        if len(pieces) == 3:
            token.cancel()

    reqs = _story_requests(4, token)
    reqs[0].on_token = on_token
    out = local_model.complete_many(reqs, max_concurrency=4)
    assert all(isinstance(o, GenerationCancelled) for o in out), out
    assert len(pieces) == 3  # stopped at the next step, not after 1000 tokens
    # the model still answers afterwards (the batch context was cleared)
    assert local_model.complete(_map_requests(1)[0]).text


@pytest.mark.slow
def test_hosted_model_decodes_a_batch_in_its_host(default_model_path):
    from app.llm import gguf
    from app.llm.hosted import HostedModel
    from app.llm.llamacpp import resolve_settings

    model = HostedModel(default_model_path, selfcheck=False,
                        settings=resolve_settings(gguf.read_gguf(default_model_path), n_ctx=2048, n_threads=1))
    try:
        reqs = _map_requests(3)
        reqs.insert(1, CompletionRequest(messages=[{"role": "user", "content": "x " * 3000}], max_tokens=8))
        out = model.complete_many(reqs, max_concurrency=3)
        assert [type(o).__name__ for o in out] == ["Completion", "ContextOverflow", "Completion", "Completion"]
        token = CancelToken()
        threading.Timer(0.5, token.cancel).start()
        out = model.complete_many(_story_requests(4, token), max_concurrency=4)
        assert all(isinstance(o, GenerationCancelled) for o in out), out  # not 4 x 1000 tokens
        assert model.complete(_map_requests(1)[0]).text  # the host lives on
    finally:
        model.close()


@pytest.mark.slow
def test_two_real_loopback_servers_both_take_part_of_a_batch(default_model_path):
    from tests.servers import llama_servers

    with llama_servers(default_model_path, 2, threads=1) as urls:
        pool = EndpointPool(urls, n_ctx=1024)
        out = pool.complete_many(_map_requests(6, max_tokens=8), max_concurrency=2)
        assert all(isinstance(o, Completion) and o.text for o in out), out
        served = {h["url"]: h["served"] for h in pool.health()}
        assert all(served[u] >= 1 for u in urls), served
        assert sum(served.values()) == 6

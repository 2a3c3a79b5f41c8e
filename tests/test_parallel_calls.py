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

    def __init__(self, delay=lambda prompt: 0.0):
        self.delay, self.prompts, self.in_flight, self.peak = delay, [], 0, 0
        lock = threading.Lock()
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
                try:
                    if "bad" in prompt:
                        self.send_response(400)
                        self.end_headers()
                        self.wfile.write(b'{"error": "bad prompt"}')
                        return
                    time.sleep(outer.delay(prompt))
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    chunk = {"choices": [{"delta": {"content": f"echo {prompt}"}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with lock:
                        outer.in_flight -= 1

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


def test_pool_runs_requests_at_once_over_its_servers_in_request_order(echo_servers):
    pool = EndpointPool([Endpoint(s.url, concurrency=2) for s in echo_servers])
    t0 = time.perf_counter()
    out = pool.complete_many([req(f"prompt {i}") for i in range(8)], max_concurrency=4)
    took = time.perf_counter() - t0
    assert [o.text for o in out] == [f"echo prompt {i}" for i in range(8)]
    # Each server held two requests at once, and both servers were used.
    assert all(s.peak == 2 for s in echo_servers), [s.peak for s in echo_servers]
    assert all(s.prompts for s in echo_servers)
    sequential = sum(0.05 * (8 - i) for i in range(8))  # 1.8 s one after another
    assert took < sequential * 0.7, took


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
        t0 = time.perf_counter()
        out = pool.complete_many([req(f"prompt {i}", cancel=token) for i in range(6)], max_concurrency=2)
        took = time.perf_counter() - t0
    finally:
        slow[0].close()
    assert all(isinstance(o, GenerationCancelled) for o in out), out
    assert took < 2.0, took  # not 3 rounds of 5 s
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

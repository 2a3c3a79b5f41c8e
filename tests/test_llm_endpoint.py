"""EndpointPool logic against small in-process OpenAI-compatible servers on loopback
(the real llama_cpp.server processes are in test_llm_endpoint_server.py)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.cancel import CancelToken
from app.llm.base import GenerationCancelled, LLMError
from app.llm.endpoint import Endpoint, EndpointError, EndpointPool


class _Server:
    """Streams `reply` word by word; `fail` makes it answer HTTP 500 (or `status`)."""

    def __init__(self, reply="hello from server", delay=0.0, status=200, cut=False):
        self.reply, self.delay, self.status, self.cut = reply, delay, status, cut
        self.bodies = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                if outer.status != 200:
                    self.send_response(outer.status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "nope"}')
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    for w in outer.reply.split(" "):
                        time.sleep(outer.delay)
                        chunk = {"choices": [{"delta": {"content": w + " "}, "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    if outer.cut:
                        return  # the server dies mid-answer: the body ends with no finish
                    end = {"choices": [{"delta": {}, "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
                    self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made = []

    def make(**kw):
        s = _Server(**kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def user(t):
    return [{"role": "user", "content": t}]


def test_streams_text_usage_and_request_fields(servers):
    s = servers(reply="a b c")
    pool = EndpointPool([s.url])
    pieces = []
    c = pool.chat(user("hi"), max_tokens=5, stop=["x"], json_schema={"type": "object"}, on_token=pieces.append)
    assert c.text == "a b c "
    assert "".join(pieces) == c.text
    assert (c.usage.prompt_tokens, c.usage.completion_tokens) == (7, 3)
    body = s.bodies[0]
    assert body["max_tokens"] == 5 and body["stop"] == ["x"] and body["stream"] is True
    assert body["response_format"]["schema"] == {"type": "object"}


def test_concurrent_requests_spread_over_endpoints(servers):
    a, b = servers(delay=0.05), servers(delay=0.05)
    pool = EndpointPool([a.url, b.url])
    threads = [threading.Thread(target=pool.chat, args=(user(str(i)),)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(a.bodies) == 3 and len(b.bodies) == 3
    assert sum(h["served"] for h in pool.health()) == 6


def test_failed_endpoint_request_moves_to_another(servers):
    bad, good = servers(status=500), servers(reply="ok")
    pool = EndpointPool([bad.url, good.url], backoff=5)
    for _ in range(3):
        assert pool.chat(user("q")).text == "ok "
    h = {x["url"]: x for x in pool.health()}
    assert h[bad.url]["failures"] >= 1 and not h[bad.url]["healthy"]
    assert h[good.url]["served"] == 3
    assert len(bad.bodies) == 1  # rested after its failure, not hammered


def test_a_stream_cut_before_its_end_is_a_failure_not_an_answer(servers):
    cut, good = servers(reply="half an", cut=True), servers(reply="ok")
    pool = EndpointPool([cut.url, good.url], backoff=5)
    assert pool.chat(user("q")).text == "ok "
    assert {x["url"]: x for x in pool.health()}[cut.url]["failures"] == 1
    with pytest.raises(EndpointError, match="closed before the answer was complete"):
        EndpointPool([cut.url]).chat(user("q"))


def test_unreachable_endpoint_then_all_down_raises(servers):
    dead = "http://127.0.0.1:9"  # discard port: connection refused
    pool = EndpointPool([dead], retries=1, backoff=0.01)
    with pytest.raises(EndpointError, match="all attempts failed"):
        pool.chat(user("q"))


def test_client_error_is_not_retried(servers):
    s = servers(status=400)
    pool = EndpointPool([s.url], retries=3)
    with pytest.raises(EndpointError, match="HTTP 400"):
        pool.chat(user("q"))
    assert len(s.bodies) == 1


def test_cancel_closes_the_stream(servers):
    s = servers(reply=" ".join(["w"] * 200), delay=0.02)
    pool = EndpointPool([s.url])
    tok = CancelToken()
    threading.Timer(0.2, tok.cancel).start()
    t0 = time.perf_counter()
    with pytest.raises(GenerationCancelled):
        pool.chat(user("q"), cancel=tok)
    assert time.perf_counter() - t0 < 3


def test_overflow_checked_locally_and_no_socket_before_a_call():
    pool = EndpointPool(["http://127.0.0.1:9"], n_ctx=100)  # constructing opens nothing
    from app.llm.base import ContextOverflow

    with pytest.raises(ContextOverflow):
        pool.chat(user("x" * 2000), max_tokens=10)
    with pytest.raises(LLMError):
        EndpointPool([])
    with pytest.raises(LLMError):
        Endpoint("ftp://host")

"""Logic of the scripted FakeModel (callers' tests depend on it behaving like a backend)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from app.cancel import CancelToken
from app.llm.base import Completion, ContextOverflow, GenerationCancelled, LLMError
from app.llm.fake import FakeModel


def user(text):
    return [{"role": "user", "content": text}]


def test_replies_in_order_and_requests_recorded():
    m = FakeModel(replies=["one", {"a": 1}, Completion("three", finish_reason="length")])
    assert m.chat(user("q1")).text == "one"
    assert json.loads(m.chat(user("q2")).text) == {"a": 1}
    c = m.chat(user("q3"))
    assert (c.text, c.finish_reason) == ("three", "length")
    assert m.prompts == ["q1", "q2", "q3"]
    assert len(m.requests) == 3
    with pytest.raises(LLMError, match="no scripted reply"):
        m.chat(user("q4"))


def test_responder_sees_request_and_default():
    m = FakeModel(responder=lambda r: r.messages[-1]["content"].upper())
    assert m.chat(user("hi there")).text == "HI THERE"
    d = FakeModel(default="same")
    assert [d.chat(user(str(i))).text for i in range(3)] == ["same"] * 3


def test_exception_reply_is_raised():
    m = FakeModel(replies=[LLMError("boom"), "ok"])
    with pytest.raises(LLMError, match="boom"):
        m.chat(user("x"))
    assert m.chat(user("x")).text == "ok"


def test_context_overflow_before_any_work():
    m = FakeModel(replies=["never"], n_ctx=50)
    with pytest.raises(ContextOverflow) as e:
        m.chat(user("x" * 400), max_tokens=10)
    assert e.value.n_ctx == 50 and e.value.max_tokens == 10
    assert e.value.prompt_tokens > 50
    assert "context" in str(e.value)
    assert m.requests == []  # nothing was run, reply still queued
    assert m.chat(user("short"), max_tokens=5).text == "never"


def test_streaming_usage_stop_and_max_tokens():
    pieces = []
    m = FakeModel(replies=["alpha beta gamma STOP delta", "x" * 100])
    c = m.chat(user("q"), stop=["STOP"], on_token=pieces.append)
    assert c.text == "alpha beta gamma "
    assert "".join(pieces) == c.text and len(pieces) >= 3
    assert c.usage.prompt_tokens == m.count_messages(user("q"))
    assert c.usage.completion_tokens == m.count_tokens(c.text)
    c2 = m.chat(user("q"), max_tokens=5)
    assert c2.finish_reason == "length" and m.count_tokens(c2.text) == 5


def test_cached_tokens_follow_shared_prefix():
    m = FakeModel(default="ok")
    prefix = "instructions " * 50
    first = m.chat(user(prefix + "slice one"))
    second = m.chat(user(prefix + "slice two"))
    assert first.usage.cached_tokens == 0
    assert second.usage.cached_tokens >= m.count_tokens(prefix)
    assert second.usage.cached_tokens < second.usage.prompt_tokens


def test_cancel_during_streaming():
    m = FakeModel(replies=["word " * 200], token_delay=0.005)
    tok = CancelToken()
    seen = []

    def on_token(p):
        seen.append(p)
        if len(seen) == 3:
            tok.cancel()

    with pytest.raises(GenerationCancelled):
        m.chat(user("q"), cancel=tok, on_token=on_token)
    assert len(seen) == 3


def test_one_request_at_a_time_with_visible_queue():
    m = FakeModel(default="ok", token_delay=0.05)
    threads = [threading.Thread(target=m.chat, args=(user("q"),)) for _ in range(3)]
    for t in threads:
        t.start()
    seen_waiting = 0
    deadline = time.time() + 5
    while any(t.is_alive() for t in threads) and time.time() < deadline:
        seen_waiting = max(seen_waiting, m.queue_length)
        time.sleep(0.005)
    for t in threads:
        t.join()
    assert seen_waiting >= 1
    assert m.queue_length == 0
    assert len(m.completions) == 3

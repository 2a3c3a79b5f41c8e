"""Chunks are sized for the real default model: measured with its own tokenizer, and a
search hit handed to it as context fits and gets an answer."""

from __future__ import annotations

import statistics

import pytest

from app.ingest import import_paths
from app.paths import sample_pdf
from app.store import open_store


@pytest.mark.slow
def test_chunks_fit_the_default_model_and_feed_it(default_model_path):
    from app.llm.manager import load_model

    events = list(import_paths([str(sample_pdf())], workers=0))
    assert events[-1].summary["imported"] == 1
    store = open_store()
    chunks = store.chunks()
    model = load_model(default_model_path, n_ctx=2048)
    tokens = [model.count_tokens(c.text) for c in chunks]
    # About 300 tokens each (1,200 characters); none anywhere near the context size.
    assert 200 <= statistics.mean(tokens) <= 450, statistics.mean(tokens)
    assert max(tokens) <= 600

    hit = store.search("President age thirty five")[0]
    assert hit.page_start >= 1 and "[" in hit.snippet
    messages = [
        {"role": "system", "content": "Answer from the excerpt only, in a few words."},
        {"role": "user", "content": f"Excerpt:\n{hit.text}\n\nHow old must the President be?"},
    ]
    assert model.check_fits(messages, max_tokens=16) < model.n_ctx // 2
    reply = model.chat(messages, max_tokens=16)
    assert reply.text.strip() and reply.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > max(tokens) // 2

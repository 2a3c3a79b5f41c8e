"""LlamaCppModel against the real embedded model (SmolLM2-135M-Instruct Q4_1).

Kept small: one shared model, tiny max_tokens. Timing goals live in
tests/benchmarks/bench_llm.py; here only behaviour is asserted."""

from __future__ import annotations

import json
import threading
import time

import pytest

from app.cancel import CancelToken
from app.llm import manager
from app.llm.base import ContextOverflow, GenerationCancelled, LLMError, ModelLoadError
from app.llm.llamacpp import LlamaCppModel, LoadCancelled, gpu_offload_supported

pytestmark = pytest.mark.slow

N_CTX = 2048


@pytest.fixture(scope="module")
def model(default_model_path):
    # In this process: these tests look inside llama.cpp (KV cache, abort flag). The app's
    # models run in a model host (test_llm_host.py).
    m = LlamaCppModel(default_model_path, n_ctx=N_CTX)
    yield m
    m.close()


def user(text, system=None):
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": "user", "content": text}]


def test_loads_once_per_settings_and_reports_what_runs(model, default_model_path):
    hosted = manager.load_model(n_ctx=N_CTX)
    assert manager.load_model(n_ctx=N_CTX) is hosted and hosted.info()["n_ctx"] == N_CTX
    info = model.info()
    assert info["backend"] == "llama.cpp" and info["file"] == str(default_model_path)
    assert info["n_ctx"] == model.n_ctx == N_CTX
    assert info["architecture"] == "llama" and info["quantisation"] == "Q4_1"
    assert 100e6 < info["parameters"] < 200e6
    assert info["load_seconds"] > 0 and info["model_bytes"] > 50e6
    assert info["chat_template"] == "gguf"
    assert info["n_layers"] >= 30
    if not gpu_offload_supported():
        # A CPU-only build: whatever was asked, nothing is on a GPU, and info says so.
        assert info["gpu_layers"] == 0 and info["device"] == "CPU"
        assert info["note"] == "" or "no GPU support" in info["note"]
    else:
        assert info["gpu_layers"] >= 0


def test_cpu_only_request_is_reported(default_model_path):
    m = LlamaCppModel(default_model_path, n_ctx=256, n_gpu_layers=0, n_threads=1)
    try:
        info = m.info()
        assert info["gpu_layers"] == 0 and info["device"] == "CPU" and info["n_gpu_layers_requested"] == 0
    finally:
        m.close()


def test_chat_usage_and_exact_token_counts(model):
    msgs = user("What is the capital of France? Answer in one word.")
    c = model.chat(msgs, max_tokens=8)
    assert c.text.strip()
    assert c.usage.prompt_tokens == model.count_messages(msgs)
    assert 1 <= c.usage.completion_tokens <= 8
    assert c.finish_reason in ("stop", "length")
    assert c.usage.seconds > 0
    # The template wraps the text: the prompt is longer than the text alone.
    assert model.count_messages(msgs) > model.count_tokens(msgs[0]["content"])


def test_streaming_pieces_add_up_to_the_text(model):
    pieces = []
    c = model.chat(user("Count from one to ten in words."), max_tokens=12, on_token=pieces.append)
    assert len(pieces) >= 2
    assert "".join(pieces) == c.text


def test_stop_string_cuts_output(model):
    c = model.chat(user("Count from 1 to 10, separated by commas."), max_tokens=30, stop=["5"])
    assert "5" not in c.text and "6" not in c.text


def test_json_schema_output_always_parses(model):
    schema = {
        "type": "object",
        "properties": {
            "relevant": {"type": "boolean"},
            "reason": {"type": "string", "maxLength": 40},
        },
        "required": ["relevant", "reason"],
    }
    for q in ("Is the sky blue? Reply as JSON.", "Does this text mention cats: 'dogs bark'?"):
        c = model.chat(user(q), max_tokens=48, json_schema=schema)
        doc = json.loads(c.text)
        assert isinstance(doc["relevant"], bool) and isinstance(doc["reason"], str)


def test_raw_gbnf_and_invalid_grammar(model):
    c = model.chat(user("Is water wet?"), max_tokens=4, grammar='root ::= "yes" | "no"')
    assert c.text in ("yes", "no")
    with pytest.raises(LLMError, match="invalid GBNF grammar"):
        model.chat(user("x"), max_tokens=4, grammar="root ::= (unclosed")


def test_prefix_reuse_reports_cached_tokens(model):
    system = "[prefix test] You read slices of a long document and note facts. " * 30
    first = model.chat(user("Slice: the sky is blue.", system), max_tokens=2)
    second = model.chat(user("Slice: grass is green.", system), max_tokens=2)
    shared = model.count_messages([{"role": "system", "content": system}])
    assert second.usage.cached_tokens >= shared - 8
    assert second.usage.cached_tokens < second.usage.prompt_tokens
    assert first.usage.cached_tokens < shared - 8  # the first call had nothing to reuse


def test_overflow_raised_before_any_work_with_numbers(model):
    model.chat(user("hello"), max_tokens=1)
    before = list(model._llm._input_ids)
    text = "word " * 3000
    with pytest.raises(ContextOverflow) as e:
        model.chat(user(text), max_tokens=100)
    err = e.value
    assert err.n_ctx == N_CTX and err.max_tokens == 100 and err.prompt_tokens > N_CTX
    assert str(err.prompt_tokens) in str(err) and str(N_CTX) in str(err)
    assert list(model._llm._input_ids) == before  # the model never saw it


def test_cancel_stops_prompt_processing_itself(model):
    # A prompt of ~1900 tokens takes far longer than the 50 ms before cancel on this model.
    text = " ".join(f"item{i} is on shelf {i % 7}." for i in range(190))
    msgs = user("List the items on shelf 3. " + text)
    n_prompt = model.count_messages(msgs)
    assert 1000 < n_prompt < N_CTX - 16
    tok = CancelToken()
    threading.Timer(0.05, tok.cancel).start()
    t0 = time.perf_counter()
    with pytest.raises(GenerationCancelled):
        model.chat(msgs, max_tokens=8, cancel=tok)
    elapsed = time.perf_counter() - t0
    # Proof the work stopped inside llama.cpp: fewer tokens are in the KV cache than the
    # prompt has (a stream-only cancel would have processed them all before returning).
    assert model._llm.n_tokens < n_prompt
    print(f"cancel returned after {elapsed * 1000:.0f} ms, {model._llm.n_tokens}/{n_prompt} prompt tokens decoded")
    # And the model is usable at once afterwards.
    assert model.chat(user("Say hi."), max_tokens=3).text.strip()


def test_cancel_during_generation(model):
    tok = CancelToken()
    seen = []

    def on_token(p):
        seen.append(p)
        if len(seen) == 2:
            tok.cancel()

    with pytest.raises(GenerationCancelled):
        model.chat(user("Write a long story about a dragon."), max_tokens=200, cancel=tok, on_token=on_token)
    assert len(seen) == 2
    # A token cancelled earlier does not touch later calls that do not use it.
    assert model.chat(user("Say hi."), max_tokens=3).text.strip()


def test_one_request_at_a_time_with_visible_queue(model):
    results, peak = [], [0]
    threads = [threading.Thread(target=lambda: results.append(model.chat(user("Name a colour."), max_tokens=6)))
               for _ in range(3)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], model.queue_length)
        time.sleep(0.002)
    assert len(results) == 3 and peak[0] >= 1 and model.queue_length == 0


def test_load_progress_and_cancel(default_model_path):
    seen = []
    m = LlamaCppModel(default_model_path, n_ctx=256, n_threads=1, progress=seen.append)
    m.close()
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    tok = CancelToken()

    def cancel_at_once(fraction):
        tok.cancel()

    with pytest.raises(LoadCancelled):
        LlamaCppModel(default_model_path, n_ctx=256, progress=cancel_at_once, cancel=tok)


def test_broken_gguf_is_a_clear_error(tmp_path, default_model_path):
    data = default_model_path.read_bytes()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(data[: len(data) // 2])  # header intact, weights cut short
    with pytest.raises(ModelLoadError, match="could not load broken.gguf"):
        LlamaCppModel(broken, n_ctx=256)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"\x00" * 1024)
    with pytest.raises(ModelLoadError, match="not a GGUF model file"):
        manager.load_model(junk)


def test_gpu_layers_come_from_what_llama_cpp_logged():
    from app.llm.llamacpp import _offload_from_log

    lines = [f"load_tensors: layer {i:3d} assigned to device {'CUDA0' if i >= 2 else 'CPU'}, is_swa = 0\n"
             for i in range(5)]
    assert _offload_from_log(lines) == (3, 5)
    assert _offload_from_log(["load_tensors: offloaded 7/31 layers to GPU\n"]) == (7, 31)
    assert _offload_from_log(["nothing here\n"]) is None


def test_json_cut_by_max_tokens_still_parses(model):
    # An unbounded array invites a tiny model to loop until max_tokens cuts it.
    schema = {"type": "object", "properties": {"facts": {"type": "array", "items": {"type": "string"}}},
              "required": ["facts"]}
    c = model.chat(user("List every fact about the sea, many facts."), max_tokens=12, json_schema=schema)
    doc = json.loads(c.text)
    assert isinstance(doc, dict)
    assert c.finish_reason in ("stop", "length")


def test_choice_probabilities_come_with_the_constrained_answer(model):
    # Greedy decoding under a yes/no grammar picks the likelier choice, so the reported
    # probabilities must agree with the text and add up to one.
    import math

    for question in ("Is Paris the capital of France? Answer yes or no.", "Is the sea made of bread? Answer yes or no."):
        c = model.chat([{"role": "user", "content": question}], max_tokens=1, grammar='root ::= "yes" | "no"',
                       choices=("yes", "no"))
        p = {k: math.exp(v) for k, v in c.choice_logprobs.items()}
        assert set(p) == {"yes", "no"} and abs(sum(p.values()) - 1) < 1e-6
        assert c.text.strip() == max(p, key=p.get)
    plain = model.chat([{"role": "user", "content": "Say hi."}], max_tokens=2)
    assert plain.choice_logprobs is None

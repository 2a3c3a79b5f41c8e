"""Benchmark of the llama.cpp backend on the embedded default model, printed side by side.

1. prompt processing and generation tokens/s through LlamaCppModel vs bare
   llama-cpp-python (create_chat_completion) on the same model, prompt and settings
   (goal: >= 0.95x);
2. speed-up from KV prefix reuse on a map-style workload: 20 calls sharing an
   800-token prefix, each with its own slice (goal: >= 2x);
3. cancel latency during prompt processing of a long prompt, from cancel() to the
   call returning (goal: < 200 ms).

Run: .venv/bin/python tests/benchmarks/bench_llm.py [--threads N] [--reps N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.cancel import CancelToken  # noqa: E402
from app.llm.base import GenerationCancelled  # noqa: E402
from app.llm.llamacpp import LlamaCppModel  # noqa: E402
from app.paths import default_model_path  # noqa: E402

N_CTX = 4096


def long_text(n_items: int, tag: str) -> str:
    return f"[{tag}] " + " ".join(f"Record {i}: item {i * 37 % 1000} is stored on shelf {i % 11}." for i in range(n_items))


def _common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def bench_throughput(ours: LlamaCppModel, bare, reps: int) -> None:
    print("\n== 1. throughput: LlamaCppModel vs bare llama-cpp-python (same model, prompt, settings)")
    # Wall-clock and CPU-time rates both: on a shared machine wall time mostly measures
    # the neighbours, CPU time of this process measures the work each side does.
    rows = {w: {k: [] for k in ("pp", "gen", "pp_cpu", "gen_cpu")} for w in ("ours", "bare")}
    for r in range(reps):
        for who in ("bare", "ours") if r % 2 == 0 else ("ours", "bare"):
            # A fresh first token each time defeats both sides' prefix caches: the whole
            # prompt is processed every time.
            msgs = [{"role": "user", "content": long_text(60, f"{who}-{r}") + "\nSummarise the records."}]
            llm = ours._llm if who == "ours" else bare
            tokens = ours.prompt_tokens(msgs)
            # Both sides reuse the KV cache of the shared template head: count only new tokens.
            n_prompt = len(tokens) - _common_prefix(llm._input_ids.tolist(), tokens)
            mark = {}

            def first_piece():
                if "wall" not in mark:
                    mark["wall"], mark["cpu"] = time.perf_counter(), time.process_time()

            t0, c0 = time.perf_counter(), time.process_time()
            n_gen = 0
            if who == "ours":
                c = ours.chat(msgs, max_tokens=64, temperature=0.0, on_token=lambda _p: first_piece())
                n_gen = c.usage.completion_tokens
            else:
                for chunk in bare.create_chat_completion(messages=msgs, max_tokens=64, temperature=0.0, stream=True):
                    if chunk["choices"][0]["delta"].get("content"):
                        n_gen += 1
                        first_piece()
            end, cend = time.perf_counter(), time.process_time()
            rows[who]["pp"].append(n_prompt / (mark["wall"] - t0))
            rows[who]["pp_cpu"].append(n_prompt / (mark["cpu"] - c0))
            if n_gen > 1:
                rows[who]["gen"].append((n_gen - 1) / (end - mark["wall"]))
                rows[who]["gen_cpu"].append((n_gen - 1) / max(1e-9, cend - mark["cpu"]))
            print(f"  {who} run {r}: {n_prompt} new prompt tokens in {mark['wall'] - t0:.2f} s "
                  f"({mark['cpu'] - c0:.2f} CPU s), {n_gen} tokens generated in {end - mark['wall']:.2f} s "
                  f"({cend - mark['cpu']:.2f} CPU s)", flush=True)
    for kind, label in (("pp", "prompt processing"), ("gen", "generation")):
        for suffix, unit in (("", "tok/s wall"), ("_cpu", "tok/CPU-s")):
            o = statistics.median(rows["ours"][kind + suffix])
            b = statistics.median(rows["bare"][kind + suffix])
            verdict = "OK" if o / b >= 0.95 else "below goal"
            print(f"{label:18} ours {o:8.1f} {unit:10}  bare {b:8.1f} {unit:10}  ratio {o / b:.3f}x  "
                  f"(goal >= 0.95x: {verdict})")


def bench_prefix_reuse(ours: LlamaCppModel) -> None:
    print("\n== 2. prefix reuse: 20 map-style calls sharing an 800-token prefix")
    prefix = ("You are reading one slice of a long inventory. Question: which shelves hold items above 500? "
              + long_text(60, "instructions"))
    # Trim the shared system prompt to about 800 tokens.
    while ours.count_messages([{"role": "system", "content": prefix}]) > 800:
        prefix = prefix[: int(len(prefix) * 0.97)]
    n_prefix = ours.count_messages([{"role": "system", "content": prefix}])
    slices = [long_text(6, f"slice {i}") for i in range(20)]

    def run(reuse: bool) -> tuple[float, int]:
        cached = 0
        t0 = time.perf_counter()
        for s in slices:
            if not reuse:
                ours._llm.reset()  # forget the KV cache: every call processes its whole prompt
            c = ours.chat([{"role": "system", "content": prefix}, {"role": "user", "content": s}], max_tokens=8)
            cached += c.usage.cached_tokens
        took = time.perf_counter() - t0
        print(f"  {'with' if reuse else 'without'} reuse: {took:.2f} s", flush=True)
        return took, cached

    ours._llm.reset()
    t_cold, cached_cold = run(reuse=False)
    ours._llm.reset()
    t_warm, cached_warm = run(reuse=True)
    ratio = t_cold / t_warm
    print(f"shared prefix {n_prefix} tokens; without reuse {t_cold:.2f} s (cached {cached_cold} tokens), "
          f"with reuse {t_warm:.2f} s (cached {cached_warm} tokens)")
    print(f"speed-up {ratio:.2f}x  (goal >= 2x: {'OK' if ratio >= 2 else 'below goal'})")


def bench_cancel(ours: LlamaCppModel, reps: int) -> None:
    print("\n== 3. cancel latency during prompt processing of a long prompt")
    latencies = []
    for r in range(reps):
        msgs = [{"role": "user", "content": long_text(200, f"cancel-{r}") + "\nWhich shelf holds item 5?"}]
        n_prompt = ours.count_messages(msgs)
        tok = CancelToken()
        fired = {}

        def fire():
            fired["t"] = time.perf_counter()
            tok.cancel()

        timer = threading.Timer(0.15, fire)
        timer.start()
        try:
            ours.chat(msgs, max_tokens=8, cancel=tok)
            print("  (prompt finished before cancel fired; not counted)")
            continue
        except GenerationCancelled:
            back = time.perf_counter()
        latencies.append((back - fired["t"]) * 1000)
        print(f"  run {r}: returned {latencies[-1]:.1f} ms after cancel; "
              f"{ours._llm.n_tokens}/{n_prompt} prompt tokens had been decoded", flush=True)
    if latencies:
        worst = max(latencies)
        print(f"cancel latency median {statistics.median(latencies):.1f} ms, worst {worst:.1f} ms "
              f"(goal < 200 ms: {'OK' if worst < 200 else 'above goal'})")


def bench_abort_callback(ours: LlamaCppModel, reps: int) -> None:
    print("\n== 4. cost of the abort callback: native (libc strlen on a flag) vs a Python callback")
    import llama_cpp

    from app.llm.llamacpp import _AbortFlag

    native = ours._abort
    python = _AbortFlag(llama_cpp, native=False)
    msgs = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    rates = {"native": [], "python": []}
    for r in range(reps):
        for label, flag in (("native", native), ("python", python)):
            ours._abort = flag
            llama_cpp.llama_set_abort_callback(ours._llm.ctx, flag.callback, flag.data)
            c = ours.chat(msgs, max_tokens=48)
            t = ours.last_timings
            rates[label].append((t["generated_tokens"] - 1) / t["generation_seconds"])
    ours._abort = native
    llama_cpp.llama_set_abort_callback(ours._llm.ctx, native.callback, native.data)
    n, p = statistics.median(rates["native"]), statistics.median(rates["python"])
    print(f"generation native {n:.1f} tok/s, python callback {p:.1f} tok/s ({p / n:.3f}x)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--parts", default="1,2,3,4", help="which measurements to run, e.g. 2,3")
    args = ap.parse_args()
    path = default_model_path()
    if path is None:
        print("default model not installed (make venv)")
        return 1
    import llama_cpp

    ours = LlamaCppModel(path, n_ctx=N_CTX, n_threads=args.threads, n_gpu_layers=0)
    s = ours.settings
    parts = set(args.parts.split(","))
    bare = None if "1" not in parts else llama_cpp.Llama(model_path=str(path), n_ctx=N_CTX, n_threads=s.n_threads, n_threads_batch=s.n_threads_batch,
                           n_batch=s.n_batch, n_ubatch=s.n_ubatch, n_gpu_layers=0, verbose=False)
    info = ours.info()
    print(f"model {info['name']} ({info['quantisation']}, {info['parameters'] / 1e6:.0f}M params) on {info['device']}, "
          f"threads {s.n_threads}/{s.n_threads_batch}, n_batch {s.n_batch}, abort callback {info['abort_callback']}, "
          f"llama-cpp-python {info['llama_cpp_python']}", flush=True)
    if bare is not None:
        bench_throughput(ours, bare, args.reps)
        bare.close()
    if "2" in parts:
        bench_prefix_reuse(ours)
    if "3" in parts:
        bench_cancel(ours, max(3, args.reps))
    if "4" in parts:
        bench_abort_callback(ours, args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The portable, crash-proof runtime's cost, measured side by side in one run.

1. Model host vs in-process: the same model, settings and prompts through HostedModel
   (llama.cpp in a child process, pipes) and LlamaCppModel (this process), alternating;
   prompt and generation tokens/s as the caller sees them (goal >= 0.95x).
2. Portable vs -march=native (with --native-python PY, a Python whose llama_cpp was
   built with llama.cpp's defaults): bare llama-cpp-python in each, same prompts,
   alternating (goal >= 0.95x). Build one with:
     python3 -m venv /tmp/native && /tmp/native/bin/pip install numpy typing-extensions diskcache jinja2 \
       && /tmp/native/bin/pip install --no-deps --no-cache-dir llama-cpp-python==0.3.36

Run: .venv/bin/python tests/benchmarks/bench_runtime.py [--reps N] [--native-python PY]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

N_CTX = 2048
THREADS = 1


def prompt(tag: str) -> list[dict]:
    text = " ".join(f"Record {i}: item {i * 37 % 1000} is stored on shelf {i % 11}." for i in range(50))
    return [{"role": "user", "content": f"[{tag}] {text}\nSummarise the records."}]


def _measure(model, msgs) -> tuple[float, float]:
    """(prompt tokens/s, generation tokens/s) as the caller sees them: time to the first
    streamed piece, then the rest."""
    from app.llm.base import CompletionRequest

    mark = {}
    n_prompt = model.count_messages(msgs)
    t0 = time.perf_counter()
    comp = model.complete(CompletionRequest(messages=msgs, max_tokens=48,
                                            on_token=lambda _p: mark.setdefault("first", time.perf_counter())))
    end = time.perf_counter()
    new = n_prompt - comp.usage.cached_tokens
    return new / (mark["first"] - t0), (comp.usage.completion_tokens - 1) / max(1e-9, end - mark["first"])


def bench_host(reps: int) -> None:
    from app.llm import gguf
    from app.llm.hosted import HostedModel
    from app.llm.llamacpp import LlamaCppModel, resolve_settings
    from app.paths import default_model_path

    path = default_model_path()
    s = resolve_settings(gguf.read_gguf(path), n_ctx=N_CTX, n_threads=THREADS, n_gpu_layers=0)
    host = HostedModel(path, settings=s)
    local = LlamaCppModel(path, settings=s)
    rows = {"host": ([], []), "in-process": ([], [])}
    for r in range(reps):
        for who in (("host", "in-process") if r % 2 == 0 else ("in-process", "host")):
            m = host if who == "host" else local
            pp, gen = _measure(m, prompt(f"{who}-{r}"))
            rows[who][0].append(pp)
            rows[who][1].append(gen)
    print(f"\n== 1. model host vs in-process (SmolLM2-135M, {THREADS} thread, variant {host.variant}, {reps} runs each)")
    for i, label in ((0, "prompt processing"), (1, "generation")):
        h, p = statistics.median(rows["host"][i]), statistics.median(rows["in-process"][i])
        print(f"{label:18} host {h:8.1f} tok/s   in-process {p:8.1f} tok/s   ratio {h / p:.3f}x "
              f"(goal >= 0.95x: {'OK' if h / p >= 0.95 else 'below goal'})")
    host.close()
    local.close()


_BARE = r"""
import json, sys, time, ctypes
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import llama_cpp
lib = Path(llama_cpp.__file__).parent / "lib"
variant = "built-in"
if any(lib.glob("libggml-cpu-*.so")):
    from app.llm import backends
    variant = backends.ensure_loaded()
llm = llama_cpp.Llama(model_path=sys.argv[2], n_ctx=2048, n_threads=1, n_threads_batch=1, n_gpu_layers=0, verbose=False,
                      logits_all=True)
text = " ".join(f"Record {i}: item {i * 37 % 1000} is stored on shelf {i % 11}." for i in range(50))
out = []
for r in range(int(sys.argv[3])):
    toks = llm.tokenize(f"[run {r}] {text}\nSummarise the records.".encode())
    llm.reset()
    t0 = time.perf_counter(); llm.eval(toks); t1 = time.perf_counter()
    n = 0
    while n < 48:  # greedy decode, one token per eval: what generation speed is
        logits = llm.scores[llm.n_tokens - 1]
        llm.eval([int(logits.argmax())])
        n += 1
    t2 = time.perf_counter()
    out.append((len(toks) / (t1 - t0), n / (t2 - t1)))
print(json.dumps({"variant": variant, "runs": out}))
"""


def bench_native(native_python: str, reps: int) -> None:
    from app.paths import default_model_path

    path = str(default_model_path())
    res = {"portable": ([], []), "native": ([], [])}
    variants = {}
    for r in range(reps):
        for who in (("portable", "native") if r % 2 == 0 else ("native", "portable")):
            py = sys.executable if who == "portable" else native_python
            out = subprocess.run([py, "-c", _BARE, str(ROOT), path, "2"], capture_output=True, text=True, check=True)
            data = json.loads(out.stdout.strip().splitlines()[-1])
            variants[who] = data["variant"]
            for pp, gen in data["runs"]:
                res[who][0].append(pp)
                res[who][1].append(gen)
    print(f"\n== 2. portable build (variant {variants['portable']}) vs -march=native build, bare llama-cpp-python, "
          f"1 thread, {2 * reps} runs each")
    for i, label in ((0, "prompt processing"), (1, "generation")):
        a, b = statistics.median(res["portable"][i]), statistics.median(res["native"][i])
        print(f"{label:18} portable {a:8.1f} tok/s   native {b:8.1f} tok/s   ratio {a / b:.3f}x "
              f"(goal >= 0.95x: {'OK' if a / b >= 0.95 else 'below goal'})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--native-python", default=None)
    args = ap.parse_args()
    bench_host(args.reps)
    if args.native_python:
        bench_native(args.native_python, max(2, args.reps // 2))
    else:
        print("\n== 2. portable vs native: skipped (pass --native-python PY; see the docstring)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

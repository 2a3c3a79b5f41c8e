"""Map throughput with parallel sub-calls (issue 11 part 3), measured side by side in one run.

The workload is a map step: N short prompts, each a slice of a real PDF (R-intro by
default) with the same instruction, max_tokens 32, greedy. It runs through
Model.complete_many, as ctx.call_many does:

1. locally (LlamaCppModel in this process, --threads threads): 1 sequence at a time
   (complete() one by one, with the prefix cache), then 2 and 4 parallel sequences in
   one llama.cpp context;
2. over loopback `python -m app.llm.server` endpoints: one server with 1 thread, one
   server with 2 threads, and two servers with 1 thread each (one request in flight on
   each).

Ratios are against the first row of each part. No goal is asserted here: on a 2-core
machine two servers share the same two cores.

Run: .venv/bin/python tests/benchmarks/bench_parallel.py [--prompts 16] [--model PATH]
     [--pdf PATH] [--threads 1] [--skip-endpoints]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.llm.base import Completion, CompletionRequest  # noqa: E402
from app.paths import default_model_path  # noqa: E402

DEFAULT_PDF = Path.home() / ".cache/lectern/eval-docs/R-intro.pdf"
SLICE_CHARS = 900
INSTRUCTION = "In one short sentence, what does this text explain?"


def slices(pdf: Path | None, n: int) -> list[str]:
    if pdf is not None and pdf.is_file():
        import pymupdf

        with pymupdf.open(pdf) as doc:
            pages = [" ".join(p.get_text().split()) for p in doc]
        pages = [p for p in pages if len(p) >= SLICE_CHARS][5:]  # past the title and contents pages
        return [pages[i % len(pages)][:SLICE_CHARS] for i in range(n)]
    # No PDF: a fixed text, so the figures still compare configurations.
    return [" ".join(f"Record {i}-{j}: shelf {j % 11} holds item {(i * 37 + j) % 1000}." for j in range(40))[:SLICE_CHARS]
            for i in range(n)]


def requests(texts: list[str], max_tokens: int) -> list[CompletionRequest]:
    return [CompletionRequest(messages=[{"role": "system", "content": "Answer briefly."},
                                        {"role": "user", "content": f"Text:\n{t}\n\n{INSTRUCTION}"}],
                              max_tokens=max_tokens) for t in texts]


def measure(model, reqs, concurrency: int) -> dict:
    t0 = time.perf_counter()
    out = model.complete_many(reqs, max_concurrency=concurrency)
    secs = time.perf_counter() - t0
    bad = [o for o in out if not isinstance(o, Completion)]
    if bad:
        raise SystemExit(f"{len(bad)} request(s) failed: {bad[0]!r}")
    return {"seconds": secs, "prompts_s": len(reqs) / secs,
            "gen_tokens": sum(o.usage.completion_tokens for o in out),
            "prompt_tokens": sum(o.usage.prompt_tokens for o in out), "texts": [o.text for o in out]}


def row(label: str, threads: str, m: dict, base: dict) -> str:
    return (f"| {label} | {threads} | {m['seconds']:.1f} | {m['prompts_s']:.2f} | "
            f"{m['gen_tokens'] / m['seconds']:.1f} | {base['seconds'] / m['seconds']:.2f}x |")


HEADER = "| configuration | threads | seconds | prompts/s | generated tok/s | vs first row |\n|---|---|---|---|---|---|"


def local_part(model_path: Path, reqs, threads: int) -> list[str]:
    from app.llm.llamacpp import LlamaCppModel

    model = LlamaCppModel(model_path, n_ctx=2048, n_threads=threads, n_threads_batch=threads)
    try:
        model.complete_many(reqs[:2], max_concurrency=2)  # warm-up: the batch context and caches
        model.complete(reqs[0])
        lines, base, first = [HEADER], None, None
        for p in (1, 2, 4):
            m = measure(model, reqs, p)
            base = base or m
            first = first or m["texts"]
            same = sum(a == b for a, b in zip(first, m["texts"]))
            lines.append(row(f"local, {p} sequence{'s' if p > 1 else ''} at once", str(threads), m, base)
                         + f" same replies as 1 at a time: {same}/{len(reqs)}")
        return lines
    finally:
        model.close()


def endpoint_part(model_path: Path, reqs) -> list[str]:
    from app.llm.endpoint import Endpoint, EndpointPool
    from tests.servers import llama_servers

    lines, base = [HEADER], None
    for label, count, threads in (("1 server", 1, 1), ("1 server", 1, 2), ("2 servers (pool)", 2, 1)):
        with llama_servers(model_path, count, threads=threads, n_ctx=2048) as urls:
            pool = EndpointPool([Endpoint(u, concurrency=1) for u in urls], n_ctx=2048)
            pool.complete_many(reqs[:count], max_concurrency=count)  # warm-up, each server once
            m = measure(pool, reqs, count)
            served = ", ".join(str(h["served"]) for h in pool.health())
            base = base or m
            lines.append(row(label, f"{threads} each" if count > 1 else str(threads), m, base)
                         + f" requests served per server: {served}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="threads of the local model")
    ap.add_argument("--model", type=Path, default=None, help="GGUF (default: the embedded SmolLM2-135M)")
    ap.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    ap.add_argument("--skip-endpoints", action="store_true")
    ap.add_argument("--skip-local", action="store_true")
    a = ap.parse_args()
    model_path = a.model or default_model_path()
    texts = slices(a.pdf, a.prompts)
    reqs = requests(texts, a.max_tokens)
    print(f"model {Path(model_path).name}; {a.prompts} map prompts of {SLICE_CHARS} characters from "
          f"{a.pdf.name if a.pdf and a.pdf.is_file() else 'a fixed text'}, max_tokens {a.max_tokens}, greedy; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    if not a.skip_local:
        print("\nLocal parallel sequences (LlamaCppModel.complete_many, in process):")
        print("\n".join(local_part(Path(model_path), reqs, a.threads)))
    if not a.skip_endpoints:
        print("\nLoopback llama_cpp.server endpoints (EndpointPool.complete_many, one request in flight per server):")
        print("\n".join(endpoint_part(Path(model_path), reqs)))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()

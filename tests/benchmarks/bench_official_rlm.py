"""The official RLM (github.com/alexzhang13/rlm) and Lectern's REPL mode on the same RULER needle.

    # the model behind an OpenAI-compatible endpoint on loopback, for the official RLM:
    .venv/bin/python -m app.llm.server --model M.gguf --host 127.0.0.1 --port 8765 --n_ctx 32768 --n_threads 2
    .venv/bin/python tests/benchmarks/bench_official_rlm.py --official /tmp/official-rlm \\
        --official-python /tmp/rlm-venv/bin/python --endpoint http://127.0.0.1:8765/v1 \\
        --model M.gguf --samples 2 --length 128K

The official code is never vendored: --official names a checkout, put on sys.path at run time,
and it runs in a child process under --official-python (a venv with its own dependencies, such
as openai, which Lectern does not ship). Both systems get bench_ruler's niah_single samples: the
official RLM as its `context` string with the question as root_prompt (its documented Q&A use),
Lectern as the PDF bench_ruler typesets from the same text. Transcripts go to --transcripts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def official_worker(job_file: str) -> int:
    """Child side: one official RLM completion; prints one JSON line. Imports nothing of Lectern."""
    job = json.loads(Path(job_file).read_text())
    sys.path.insert(0, job["official"])
    from rlm import RLM, TimeoutExceededError
    from rlm.logger import RLMLogger

    logger = RLMLogger(log_dir=job["log_dir"], file_name=job["name"])
    # Root and sub-calls both go to the one served model; max_iterations is left at its default.
    rlm = RLM(backend="openai",
              backend_kwargs={"model_name": job["model_name"], "base_url": job["endpoint"], "api_key": "local"},
              environment="local", logger=logger, max_timeout=job["max_seconds"])
    t0 = time.perf_counter()
    status, usage = "done", None
    try:
        res = rlm.completion(job["context"], root_prompt=job["question"])
        answer, usage = res.response or "", res.usage_summary
    except TimeoutExceededError as e:
        answer, status = e.partial_answer or "", "timeout"
    except Exception as e:  # an endpoint error (e.g. prompt past n_ctx) is a result, not a crash
        answer, status = "", f"error: {type(e).__name__}: {e}"[:300]
    calls = sum(m.total_calls for m in usage.model_usage_summaries.values()) if usage else None
    print(json.dumps({"answer": answer, "status": status, "iterations": logger.iteration_count,
                      "calls": calls, "seconds": time.perf_counter() - t0, "log": logger.log_file_path}))
    return 0


def run_official(args, sample, out_dir: Path) -> dict:
    job = {"official": str(args.official), "endpoint": args.endpoint, "model_name": args.model_name,
           "max_seconds": args.max_seconds, "log_dir": str(out_dir), "name": f"official-{sample.name}",
           "context": sample.text, "question": sample.question}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(job, f)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([args.official_python, __file__, "--worker-official", f.name],
                              capture_output=True, text=True, timeout=args.max_seconds + 300)
    except subprocess.TimeoutExpired:
        return {"answer": "", "status": "killed", "iterations": None, "calls": None,
                "seconds": time.perf_counter() - t0}
    finally:
        os.unlink(f.name)
    (out_dir / f"official-{sample.name}.stderr.txt").write_text(proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"answer": "", "status": f"worker failed rc={proc.returncode}: {proc.stderr.strip()[-200:]}",
                "iterations": None, "calls": None, "seconds": time.perf_counter() - t0}
    return json.loads(lines[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official", type=Path, required=True, help="checkout of github.com/alexzhang13/rlm")
    ap.add_argument("--official-python", default=sys.executable,
                    help="interpreter with the official RLM's dependencies (default: this one)")
    ap.add_argument("--endpoint", default="http://127.0.0.1:8765/v1", help="OpenAI-compatible base_url (loopback)")
    ap.add_argument("--model-name", default="qwen2.5-coder-0.5b", help="model id the endpoint serves")
    ap.add_argument("--model", type=Path, required=True, metavar="GGUF", help="the same model, for Lectern and the record")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--length", default="128K")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--systems", default="official,lectern")
    ap.add_argument("--max-seconds", type=float, default=900.0,
                    help="wall-clock cap per official run (its max_timeout; its own default is none)")
    ap.add_argument("--transcripts", type=Path, default=Path(tempfile.gettempdir()) / "official-rlm-transcripts")
    args = ap.parse_args(argv)

    if not (args.official / "rlm" / "core" / "rlm.py").is_file():
        print(f"error: no official RLM checkout at {args.official} (expected rlm/core/rlm.py); "
              f"clone github.com/alexzhang13/rlm there and pass --official", file=sys.stderr)
        return 2
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    args.transcripts.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="lectern-official-rlm-"))
    os.environ["LECTERN_HOME"] = str(home)  # a private library: the user's own is never touched

    for p in (str(HERE), str(ROOT)):
        if p not in sys.path:
            sys.path.insert(0, p)
    from bench_ruler import ANSWER_TOKENS, DATA_DIR, import_pdf, pdf_for, samples_for
    from ruler.tasks import Generator, parse_length
    from ruler.tokens import default_counter
    from ruler.wheel import ensure_wheel

    from app.paths import default_model_path

    length = parse_length(args.length)
    # Counted with the default model's tokenizer, as bench_ruler does, so these are its very samples.
    gen = Generator(ensure_wheel(download=False), default_counter(default_model_path()))
    samples = samples_for(gen, "niah_single", length, args.samples, args.seed, DATA_DIR / "samples")
    sha = hashlib.sha256(args.model.read_bytes()).hexdigest()
    print(f"model {args.model.name} sha256 {sha}; {len(samples)} niah_single sample(s) of {samples[0].tokens} tokens; "
          f"transcripts in {args.transcripts}", flush=True)

    rows = []
    if "official" in systems:
        for s in samples:
            r = run_official(args, s, args.transcripts)
            rows.append(("official RLM", s, r))
            print(f"   official #{s.index}: {r['status']} {r['seconds']:.0f}s {r['answer'][:80]!r}", flush=True)
    if "lectern" in systems:
        from app.llm.manager import load_model
        from app.rlm import Controller
        from app.store import open_store

        store_path = home / "library.sqlite3"
        store = open_store(store_path)
        model = load_model(str(args.model))
        ctl = Controller(store, model, model, options={"answer_tokens": ANSWER_TOKENS["niah"]})
        for s in samples:
            pdf, _pages = pdf_for(s, DATA_DIR / "pdf")
            doc_id = import_pdf(pdf, store_path)
            t0 = time.perf_counter()
            res = ctl.ask(s.question, doc_ids=[doc_id], mode="repl")
            nodes = [n.to_dict() for n in res.nodes]
            (args.transcripts / f"lectern-repl-{s.name}.json").write_text(json.dumps(
                {"question": s.question, "answer": res.answer, "status": res.status, "note": res.note,
                 "totals": res.totals, "nodes": nodes}, indent=1, default=str))
            r = {"answer": res.answer or "", "status": res.status, "iterations": None,
                 "calls": (res.totals or {}).get("calls"), "seconds": time.perf_counter() - t0}
            rows.append(("Lectern repl", s, r))
            print(f"   lectern #{s.index}: {r['status']} {r['seconds']:.0f}s {r['answer'][:80]!r}", flush=True)

    print()
    print("| system | sample | expected | found | status | iterations / calls | seconds | final answer (first 120 chars) |")
    print("|---|---|---|---|---|---|---|---|")
    found = {}
    for system, s, r in rows:
        hit = all(a.lower() in r["answer"].lower() for a in s.answers)
        found.setdefault(system, []).append(hit)
        its = "-" if r["iterations"] is None else r["iterations"]
        calls = "-" if r["calls"] is None else r["calls"]
        shown = " ".join(r["answer"].split())[:120].replace("|", "\\|")
        print(f"| {system} | #{s.index} | {', '.join(s.answers)} | {'yes' if hit else 'no'} | {r['status'][:60]} "
              f"| {its} / {calls} | {r['seconds']:.0f} | {shown} |")
    print()
    print("Found: " + "; ".join(f"{k} {sum(v)} of {len(v)}" for k, v in found.items()))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker-official":
        sys.exit(official_worker(sys.argv[2]))
    sys.exit(main())

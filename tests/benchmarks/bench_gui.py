"""Does the GUI thread stay responsive? A 10 ms heartbeat QTimer runs on the GUI thread of
the real window while it (1) imports a ~1,000-page PDF and (2) answers a question with the
real default model; the worst gap between beats is printed (goal: <= 100 ms).

    .venv/bin/python tests/benchmarks/bench_gui.py [--pages 1000] [--calls 6]

Runs offscreen in a temporary LECTERN_HOME; nothing is written elsewhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GOAL_MS = 100.0


class Heartbeat:
    def __init__(self, interval_ms: int = 10):
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._beat)
        self.gaps: list[float] = []
        self.at: list[float] = []  # when each gap ended, seconds after start()
        self._last = None
        self._t0 = 0.0

    def _beat(self):
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append((now - self._last) * 1000)
            self.at.append(now - self._t0)
        self._last = now

    def start(self):
        self.gaps.clear()
        self.at.clear()
        self._last = None
        self._t0 = time.perf_counter()
        self.timer.start()

    def worst(self, n: int = 3) -> str:
        top = sorted(zip(self.gaps, self.at), reverse=True)[:n]
        return ", ".join(f"{g:.0f} ms at {t:.1f} s" for g, t in top)

    def stop(self) -> dict:
        self.timer.stop()
        g = sorted(self.gaps) or [0.0]
        return {"beats": len(self.gaps), "worst_ms": g[-1], "p99_ms": g[int(0.99 * (len(g) - 1))],
                "median_ms": statistics.median(g)}


def wait_for(signal, timeout_s: float):
    """Run the event loop until signal fires; returns its arguments."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    got = []

    def on(*args):
        got.append(args)
        loop.quit()

    signal.connect(on)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(on)
    if not got:
        raise SystemExit(f"timed out after {timeout_s:.0f} s")
    return got[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=6, help="model-call budget of the question")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="lectern-bench-gui-"))
    os.environ["LECTERN_HOME"] = str(tmp / "home")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    from tests.pdfs import large_pdf

    t = time.perf_counter()
    pdf = large_pdf(tmp / "manual.pdf", pages=args.pages)
    print(f"made a {args.pages}-page PDF in {time.perf_counter() - t:.1f} s")

    from app.ui.app import make_app
    from app.ui.engine import Engine, default_model_provider
    from app.ui.main_window import MainWindow

    # How long the GUI thread itself spends in each handler (vs waiting for the GIL).
    from app.ui import workers

    slow: list = []
    orig_call = workers._Bridge._call

    def timed_call(self, name, *a):
        t0 = time.perf_counter()
        try:
            return orig_call(self, name, *a)
        finally:
            dt = (time.perf_counter() - t0) * 1000
            if dt > 20:
                cb = self.cb.get(name)
                slow.append((round(dt), name, getattr(cb, "__qualname__", str(cb))))

    workers._Bridge._call = timed_call
    app = make_app()
    w = MainWindow(engine=Engine(model_provider=default_model_provider))
    w.resize(1440, 900)
    w.show()
    app.processEvents()
    hb = Heartbeat()

    hb.start()
    t = time.perf_counter()
    w.import_paths([str(pdf)])
    (ids,) = wait_for(w.importFinished, 1800)
    imp = hb.stop()
    imp_s = time.perf_counter() - t
    imp_worst = hb.worst()
    print(f"import: {args.pages} pages in {imp_s:.1f} s, {imp['beats']} beats, worst gap {imp['worst_ms']:.1f} ms, "
          f"p99 {imp['p99_ms']:.1f} ms, median {imp['median_ms']:.1f} ms")
    print(f"  worst gaps during the import: {imp_worst}")

    w.ask.question.setPlainText("What does the manual say about configuring the network?")
    w.ask.budget.setValue(args.calls)
    marks = []
    w.session.modelsReady.connect(lambda _i: marks.append(("model ready", time.perf_counter() - t)))
    w.session.started.connect(lambda _i: marks.append(("run started", time.perf_counter() - t)))
    hb.start()
    t = time.perf_counter()
    w.start_run()
    (result,) = wait_for(w.runFinished, 1800)
    run = hb.stop()
    run_s = time.perf_counter() - t
    print(f"run ({result.get('status')}, {result.get('totals', {}).get('calls', '?')} calls, model load included): "
          f"{run_s:.1f} s, {run['beats']} beats, worst gap {run['worst_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, "
          f"median {run['median_ms']:.1f} ms")
    print(f"  worst gaps during the run: {hb.worst()}; " + ", ".join(f"{m} at {s:.1f} s" for m, s in marks))
    if slow:
        print("  GUI-thread handlers over 20 ms: " + "; ".join(f"{d} ms {n} {q}" for d, n, q in sorted(slow, reverse=True)[:6]))
    w.close()
    worst = max(imp["worst_ms"], run["worst_ms"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end (other work on the machine lengthens gaps)")
    print(f"worst heartbeat gap: {worst:.1f} ms (goal <= {GOAL_MS:.0f} ms): {'OK' if worst <= GOAL_MS else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

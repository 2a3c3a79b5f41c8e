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
        self._last = None

    def _beat(self):
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append((now - self._last) * 1000)
        self._last = now

    def start(self):
        self.gaps.clear()
        self._last = None
        self.timer.start()

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
    print(f"import: {args.pages} pages in {imp_s:.1f} s, {imp['beats']} beats, worst gap {imp['worst_ms']:.1f} ms, "
          f"p99 {imp['p99_ms']:.1f} ms, median {imp['median_ms']:.1f} ms")

    w.ask.question.setPlainText("What does the manual say about configuring the network?")
    w.ask.budget.setValue(args.calls)
    hb.start()
    t = time.perf_counter()
    w.start_run()
    (result,) = wait_for(w.runFinished, 1800)
    run = hb.stop()
    run_s = time.perf_counter() - t
    print(f"run ({result.get('status')}, {result.get('totals', {}).get('calls', '?')} calls, model load included): "
          f"{run_s:.1f} s, {run['beats']} beats, worst gap {run['worst_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, "
          f"median {run['median_ms']:.1f} ms")
    w.close()
    worst = max(imp["worst_ms"], run["worst_ms"])
    print(f"worst heartbeat gap: {worst:.1f} ms (goal <= {GOAL_MS:.0f} ms): {'OK' if worst <= GOAL_MS else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the encrypted library (SQLCipher) costs against the plain one, side by side
(not a test; run it by hand).

Imports the same PDFs into a plain and an encrypted library, alternating, with
extraction in the importing process for both (an encrypted library always extracts
there: its spools live in memory), then runs the same full-text searches on each.
Prints pages/s, CPU seconds, search milliseconds per query and file sizes.

    .venv/bin/python tests/benchmarks/bench_encryption.py [--rounds 2] [PDF...]
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

QUERIES = ["committee", '"quarterly figures"', "revenue AND costs", "travel*", "marker", "bumblebee OR meeting",
           "breakdown NOT harbour", "members", "operating", "harbour"]  # generated manuals' words, one miss


def corpus(folder: Path) -> list[Path]:
    from tests import pdfs

    return [pdfs.large_pdf(folder / f"manual{i}.pdf", pages=400, title=f"Manual {i}") for i in range(4)]


def one_import(files, home: Path, encrypted: bool) -> tuple[float, float, int]:
    from app.ingest import import_paths
    from app.store import Store, crypto

    db = home / "library.sqlite3"
    crypto.set_passphrase("benchmark passphrase" if encrypted else None)
    Store(db, encrypted=encrypted).close()
    t0, c0 = time.perf_counter(), time.process_time()
    events = list(import_paths(files, store_path=db, workers=0))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu, events[-1].summary["pages"]


def searches(home: Path, encrypted: bool, repeats: int = 20) -> float:
    from app.store import crypto, open_store

    crypto.set_passphrase("benchmark passphrase" if encrypted else None)
    s = open_store(home / "library.sqlite3")
    try:
        times = []
        for _ in range(repeats):
            for q in QUERIES:
                t0 = time.perf_counter()
                s.search(q, limit=20)
                times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000
    finally:
        s.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pdfs", nargs="*", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = args.pdfs or corpus(tmp / "corpus")
        results = {False: [], True: []}
        search_ms = {False: [], True: []}
        sizes = {}
        for r in range(args.rounds):
            for encrypted in (False, True) if r % 2 == 0 else (True, False):
                home = tmp / f"lib-{int(encrypted)}-{r}"
                home.mkdir()
                results[encrypted].append(one_import(files, home, encrypted))
                search_ms[encrypted].append(searches(home, encrypted))
                sizes[encrypted] = sum(p.stat().st_size for p in home.iterdir() if p.is_file())
        print(f"load average {os.getloadavg()[0]:.1f}; {len(files)} files, {results[False][0][2]} pages; "
              f"{args.rounds} rounds, best of each")
        best = {}
        for enc in (False, True):
            wall, cpu, pages = min(results[enc])
            best[enc] = (pages / wall, cpu / pages * 1000, min(search_ms[enc]))
            name = "encrypted" if enc else "plain    "
            print(f"{name}  import {pages / wall:7.1f} pages/s  {cpu / pages * 1000:5.2f} ms CPU/page   "
                  f"search median {min(search_ms[enc]):6.3f} ms/query   library {sizes[enc] / 2**20:6.1f} MB")
        print(f"encrypted/plain: import speed {best[True][0] / best[False][0]:.2f}x, CPU per page "
              f"{best[True][1] / best[False][1]:.2f}x, search time {best[True][2] / best[False][2]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

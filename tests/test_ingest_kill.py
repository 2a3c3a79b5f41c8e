"""A killed import leaves every document whole or absent, and the database sound.

An import runs in a subprocess and is killed with SIGKILL at random moments, several
times over the same library; after each kill the library is checked: integrity_check
and the FTS index's own check pass, and every document has all of its pages and
chunks or is not there at all. Finally an import runs to the end and completes the set.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymupdf
import pytest

from app.store import open_store
from tests import pdfs

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import sys
from app.ingest import import_paths
for e in import_paths(sys.argv[2:], workers=int(sys.argv[1])):
    if e.kind == "file-done":
        print("done", e.path, flush=True)
"""


def _check_library(expected_pages: dict[str, int]) -> int:
    store = open_store()
    try:
        assert store.integrity_check() == "ok"
        store.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
        docs = store.list_documents()
        for d in docs:
            assert d.status == "ready", (d.path, d.status, d.error)
            pages = store.pages(d.id)
            assert len(pages) == d.page_count == expected_pages[d.path], d.path
            text = store.document_text(d.id)
            chunks = store.chunks([d.id])
            assert chunks and chunks[-1].char_end <= len(text)
            assert sum(len(c.text) for c in chunks) >= 0.9 * len(text.replace("\n\n", ""))
            # The FTS index holds exactly this document's chunks.
            n = store.conn.execute(
                "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid IN "
                "(SELECT id FROM chunks WHERE doc_id = ?)",
                [pdfs.page_marker(1), d.id],
            ).fetchone()[0]
            assert n >= 1
        orphans = store.conn.execute(
            "SELECT (SELECT COUNT(*) FROM pages WHERE doc_id NOT IN (SELECT id FROM documents)) + "
            "(SELECT COUNT(*) FROM chunks WHERE doc_id NOT IN (SELECT id FROM documents)) + "
            "(SELECT COUNT(*) FROM document_paths WHERE doc_id NOT IN (SELECT id FROM documents))"
        ).fetchone()[0]
        assert orphans == 0
        return len(docs)
    finally:
        store.close()


def _reset(home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):  # start over from an empty library
        (home / f"library.sqlite3{suffix}").unlink(missing_ok=True)


def _corpus(tmp_path):
    corpus = tmp_path / "corpus"
    return [pdfs.multi_page_pdf(corpus / f"doc{i:02d}.pdf", pages=20 + 7 * i, title=f"Doc {i}",
                                 filler_repeats=8) for i in range(6)]


@pytest.mark.slow
def test_sigkill_at_random_points_leaves_whole_documents(tmp_path, lectern_home):
    # Extraction in the writer process: the kill can land anywhere in it, transactions included.
    workers = 0
    corpus = tmp_path / "corpus"
    files = _corpus(tmp_path)
    expected = {str(f): pymupdf.open(f).page_count for f in files}
    env = dict(os.environ, LECTERN_HOME=str(lectern_home), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", SCRIPT, str(workers), str(corpus)]

    # When each document lands in an uninterrupted import here, so kills land all along it.
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    landed = [time.monotonic() - t0 for line in proc.stdout if line.startswith("done")]
    assert proc.wait(timeout=300) == 0
    assert _check_library(expected) == len(files) == len(landed)
    _reset(lectern_home)

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    interrupted = 0
    for attempt in range(4):
        _reset(lectern_home)
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True, text=True)
        # Kill after a random number of documents are in, at a random moment before the next.
        k = rng.randrange(len(files) - 1)
        for _ in range(k):
            if not proc.stdout.readline():
                break
        gap = landed[k] - (landed[k - 1] if k else 0.0)
        time.sleep(rng.uniform(0.0, gap * 0.9))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # any worker left behind
        except ProcessLookupError:
            pass
        interrupted += _check_library(expected) < len(files)
    assert interrupted >= 2, f"the kills came too late to interrupt the import (seed {seed})"

    # A last, uninterrupted run completes the library from wherever the kills left it.
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    assert _check_library(expected) == len(files)


@pytest.mark.slow
def test_sigkill_of_the_writer_with_worker_processes(tmp_path, lectern_home):
    files = _corpus(tmp_path)
    expected = {str(f): pymupdf.open(f).page_count for f in files}
    env = dict(os.environ, LECTERN_HOME=str(lectern_home), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", SCRIPT, "2", str(tmp_path / "corpus")]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True, text=True)
    assert proc.stdout.readline().startswith("done")  # workers are busy with the others now
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    assert 1 <= _check_library(expected) < len(files)
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)
    assert _check_library(expected) == len(files)


IN_TRANSACTION = """
import sys, time
from app.store import open_store
store = open_store()
w = store.begin_document(path="/half.pdf", size=1, mtime=1.0, sha256="half")
for n in range(500):
    start, _ = w.add_page("page %d of a document that is never committed" % n)
    w.add_chunk(n + 1, n + 1, start, start + 10, "page %d of" % n)
w._flush_pages(); w._flush_chunks()
print("in-transaction", flush=True)
time.sleep(60)
"""


def test_sigkill_inside_a_document_transaction_leaves_nothing_of_it(tmp_path, lectern_home):
    pdf = pdfs.multi_page_pdf(tmp_path / "whole.pdf", pages=3)
    from app.ingest import import_paths

    list(import_paths([str(pdf)], workers=0))
    env = dict(os.environ, LECTERN_HOME=str(lectern_home), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", IN_TRANSACTION], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "in-transaction"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _check_library({str(pdf): 3}) == 1
    store = open_store()
    assert store.search("committed") == [] and store.document_for_path("/half.pdf") is None

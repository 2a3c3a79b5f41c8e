"""Hostile files and kills at import (issue 13, item 4): a page of 50 MB of text, random
bytes named .txt, pipes and device links, and an import killed with worker processes.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import pytest

from app.ingest import extract as ex
from app.ingest import import_paths
from app.store import open_store
from tests import pdfs

ROOT = Path(__file__).resolve().parent.parent


def _pdf(path, objs: list[bytes]) -> Path:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    comp = zlib.compress(data, 9)
    return b"<< %s /Length %d /Filter /FlateDecode >>\nstream\n" % (extra, len(comp)) + comp + b"\nendstream"


_TEXT_LINE = b"(" + b"lorem ipsum dolor sit amet consectetur " * 2 + b") Tj 1 0 0 1 10 400 Tm\n"


def _text_ops(mb: float) -> bytes:
    return b"BT /F1 1 Tf 10 400 Td\n" + _TEXT_LINE * int(mb * (1 << 20) // len(_TEXT_LINE)) + b"ET\n"


def huge_page_pdf(path, mb: int = 50) -> Path:
    """One page whose (deflated, ~180 KB) content stream draws `mb` MB of text, all of
    it inside the page, so MuPDF keeps every character."""
    return _pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        _stream(_text_ops(mb)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def form_bomb_pdf(path, form_mb: float = 1, times: int = 100) -> Path:
    """One page that draws a form holding `form_mb` MB of text `times` times: a small
    content stream, `form_mb * times` MB of characters for MuPDF."""
    return _pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> "
        b"/XObject << /X0 6 0 R >> >> /Contents 4 0 R >>",
        _stream(b"q /X0 Do Q\n" * times),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        _stream(_text_ops(form_mb), b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                b"/Resources << /Font << /F1 5 0 R >> >>")])


PEAK_SCRIPT = """
import json, os, resource, sys, threading
from app.ingest import import_paths

def tree_rss_kb():
    # This process and every descendant, summed: what the machine holds at this moment.
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            pass
    mine, grew = {os.getpid()}, True
    while grew:
        more = {p for p, pp in parents.items() if pp in mine} - mine
        grew, mine = bool(more), mine | more
    total = 0
    for pid in mine:
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError):
            pass
    return total

peak, done = [0], threading.Event()
def sample():
    while not done.wait(0.01):
        peak[0] = max(peak[0], tree_rss_kb())
threading.Thread(target=sample, daemon=True).start()
events = list(import_paths(sys.argv[2:], workers=int(sys.argv[1])))
done.set()
files = [dict(path=e.path, kind=e.kind, status=e.status, error=e.error) for e in events
         if e.kind in ("file-done", "file-error", "file-skipped")]
print(json.dumps(dict(files=files, tree_peak_kb=peak[0],
    self_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    child_kb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)))
"""


@pytest.mark.parametrize("workers", [2, 0])
def test_a_50_mb_text_page_next_to_a_normal_file_both_finish_in_bounded_memory(tmp_path, lectern_home, workers):
    big = huge_page_pdf(tmp_path / "big.pdf", 50)
    assert big.stat().st_size < 300_000
    normal = pdfs.multi_page_pdf(tmp_path / "normal.pdf", pages=3, title="Normal Report")
    env = dict(os.environ, LECTERN_HOME=str(lectern_home), PYTHONPATH=str(ROOT))
    # Before the bound the 50 MB page ran past 300 s and 5 GB: the timeout is the failure.
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(workers), str(big), str(normal)], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    by_name = {Path(f["path"]).name: f for f in r["files"]}
    assert by_name["normal.pdf"]["kind"] == "file-done" and by_name["normal.pdf"]["status"] == "ready"
    assert by_name["big.pdf"]["kind"] == "file-done"
    assert "Page 1 holds 50 MB of page content: imported the text of its first 4 MB" in by_name["big.pdf"]["error"]
    # The whole process tree's resident memory, sampled every 10 ms while importing, and each
    # process's own peak (ru_maxrss) as a check on what sampling could miss.
    assert r["tree_peak_kb"] / 1024 < 1024, r
    assert max(r["self_kb"], r["child_kb"]) / 1024 < 1024, r
    with open_store() as store:
        doc = next(d for d in store.list_documents() if d.path == str(big))
        assert 1_000_000 < doc.char_count <= ex.MAX_PAGE_CHARS
        assert store.search("lorem", doc_ids=[doc.id], limit=1)


def test_a_form_drawn_100_times_is_skipped_not_extracted(tmp_path):
    """1 MB of text in a form the page draws 100 times: 100 MB of characters for MuPDF
    from a 4 KB file."""
    bomb = form_bomb_pdf(tmp_path / "forms.pdf", form_mb=1, times=100)
    assert bomb.stat().st_size < 10_000
    normal = pdfs.multi_page_pdf(tmp_path / "normal.pdf", pages=2)
    # A worker: were the bound missing, its address-space limit would still stop MuPDF.
    events = list(import_paths([bomb, normal], workers=1))
    done = {Path(e.path).name: e for e in events if e.kind == "file-done"}
    assert set(done) == {"forms.pdf", "normal.pdf"}
    assert "Page 1 draws 100 MB of text through forms it repeats" in done["forms.pdf"].error
    # A form drawn a few times is ordinary (a letterhead): read as usual.
    few = form_bomb_pdf(tmp_path / "letterhead.pdf", form_mb=0.01, times=3)
    r = ex.extract_range(str(few), "pdf", None, 0, None, str(tmp_path / "s.spool"))
    assert r.chars > 20_000 and not r.notes


def test_random_bytes_named_txt_are_refused_not_imported(tmp_path):
    f = tmp_path / "noise.txt"
    f.write_bytes(os.urandom(200_000))
    md = tmp_path / "noise.md"
    md.write_bytes(bytes(range(1, 32)) * 2000)  # control bytes, no NUL
    events = list(import_paths([f, md], workers=0))
    errors = {Path(e.path).name: e for e in events if e.kind == "file-error"}
    assert set(errors) == {"noise.txt", "noise.md"}, [(e.kind, e.path, e.status) for e in events]
    assert "not a text file" in errors["noise.txt"].error
    assert "control characters" in errors["noise.md"].error
    with open_store() as store:
        assert all(d.status == "error" and d.page_count == 0 for d in store.list_documents())


def test_real_text_files_still_import(tmp_path):
    f = pdfs.txt_file(tmp_path / "minutes.txt")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Caf\xe9 cr\xe8me, na\xefve r\xe9sum\xe9.\n\tTabbed line.\r\n".encode("cp1252") * 50)
    events = list(import_paths([f, latin], workers=0))
    done = [e for e in events if e.kind == "file-done"]
    assert len(done) == 2 and all(e.status == "ready" for e in done)


def test_fifo_socket_and_device_link_say_what_they_are(tmp_path):
    import socket

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.pdf"
    zero.symlink_to("/dev/zero")
    sock_path = tmp_path / "s.txt"
    s = socket.socket(socket.AF_UNIX)  # a filesystem object only: nothing listens or connects
    s.bind(str(sock_path))
    try:
        events = list(import_paths([fifo, zero, sock_path], workers=0))
    finally:
        s.close()
    errors = {Path(e.path).name: e.error for e in events if e.kind == "file-error"}
    assert "named pipe (FIFO)" in errors["pipe.txt"]
    assert "character device" in errors["zero.pdf"] and "/dev/zero" in errors["zero.pdf"]
    assert "socket" in errors["s.txt"]
    assert not any("empty" in e for e in errors.values())


def test_the_per_file_time_limit_keeps_what_was_read_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(ex, "FILE_TIME_LIMIT_S", 0.0)
    f = pdfs.multi_page_pdf(tmp_path / "long.pdf", pages=6)
    events = list(import_paths([f], workers=0))
    done = [e for e in events if e.kind == "file-done"]
    assert done and "the time limit for one file" in done[0].error
    assert "imported the first 1 of 6 pages" in done[0].error
    with open_store() as store:
        assert store.list_documents()[0].page_count == 1


def test_a_worker_stuck_inside_a_page_is_killed_and_the_import_goes_on(tmp_path, monkeypatch):
    """The writer's hard limit, cut to 0.1 s here: reading 4 MB of page content takes
    MuPDF over a second on this machine (and well over 0.1 s on any), inside one call
    that the worker's own between-pages check cannot interrupt."""
    from app.ingest import importer

    monkeypatch.setattr(ex, "FILE_TIME_LIMIT_S", 0.05)  # the writer's clock; workers keep theirs
    monkeypatch.setattr(importer, "HARD_GRACE_S", 0.05)
    slow = huge_page_pdf(tmp_path / "a-slow.pdf", 5)
    normal = pdfs.txt_file(tmp_path / "b-normal.txt")
    events = list(import_paths([slow, normal], workers=1))
    by_name = {Path(e.path).name: e for e in events if e.kind in ("file-done", "file-error")}
    assert by_name["a-slow.pdf"].kind == "file-error"
    assert "the time limit for one file: skipped" in by_name["a-slow.pdf"].error
    assert by_name["b-normal.txt"].kind == "file-done" and by_name["b-normal.txt"].status == "ready"


def test_a_file_swapped_for_a_pipe_in_process_is_an_error_not_a_hang(tmp_path):
    swapped = tmp_path / "notes.txt"
    swapped.write_text("harmless notes\n" * 100)
    events, failure = [], []

    def run():
        try:
            for e in import_paths([swapped], workers=0):
                events.append(e)
                if e.kind == "file-start":
                    swapped.unlink()
                    os.mkfifo(swapped)
        except BaseException as e:  # noqa: BLE001 - reported below
            failure.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=120)
    assert not t.is_alive(), "the import hung on the pipe"
    assert not failure, failure
    errors = [e for e in events if e.kind == "file-error"]
    assert errors and "not a regular file" in errors[0].error


# --- kills -------------------------------------------------------------------------------
def _children(pid: int) -> set[int]:
    out = set()
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.split("/")[2]))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _tmp_spools() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "lectern-import-*")))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_import_leaves_no_worker_and_no_spool_in_tmp(tmp_path, lectern_home, sig):
    corpus = tmp_path / "corpus"
    for i in range(6):
        pdfs.multi_page_pdf(corpus / f"doc{i}.pdf", pages=300, title=f"Doc {i}", filler_repeats=8)
    before = _tmp_spools()
    env = dict(os.environ, LECTERN_HOME=str(lectern_home), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())",
                             "import", "--workers", "2", str(corpus)],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        spools = lectern_home / "spool"
        # Wait until both workers run and have begun spooling text.
        for _ in range(600):
            kids = _children(proc.pid)
            if len(kids) >= 3 and spools.is_dir() and any(spools.rglob("*.spool")):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the import never started its workers")
        tree = kids | {k for c in kids for k in _children(c)}
        os.kill(proc.pid, sig)
        proc.wait(timeout=60)
        for _ in range(200):  # the kernel delivers the death signal; give it a moment
            if not any(_alive(p) for p in tree):
                break
            time.sleep(0.05)
        assert not [p for p in tree if _alive(p)], "worker processes outlived the import"
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _tmp_spools() == before  # nothing of the documents' text in /tmp
    if sig == signal.SIGTERM:
        assert not list(spools.iterdir()), "SIGTERM: the import removes its own spool"
    else:
        assert list(spools.iterdir()), "SIGKILL leaves the spool in the library's folder..."
        open_store().close()
        assert not list(spools.iterdir()), "...and the next start removes it"

"""import_paths(): files and folders into the library, as a generator of ImportEvents.

Shape: this process discovers files, skips unchanged ones (size + mtime, then hash),
probes the rest, and hands page ranges to worker processes that extract text into
spool files. It is the only writer: when all ranges of a document are in, it streams
them into SQLite in one transaction (pages, chunks, FTS), so a crash leaves each
document whole or absent. Cancelling stops workers between pages; documents already
committed stay, the one in flight is dropped.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue as queue_mod
import shutil
import stat as stat_mod
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from app.cancel import CancelToken
from app.ingest import extract as ex
from app.ingest import ocr, structure
from app.ingest.discover import discover, format_of
from app.ingest.furniture import Furniture
from app.ingest.events import ImportEvent
from app.paths import sha256_file

# The version of what the importer stores for a file's text; raise it when the same file
# would be stored differently, and an import or re-scan reads documents again that an
# earlier version wrote. 1: page furniture left out (app.ingest.furniture). 2: ligatures
# as letters (app.ingest.structure.text_flags).
TEXT_READER = 2
# Below this much work, starting worker processes costs more than it saves.
INPROCESS_MAX_BYTES = 4 << 20
INPROCESS_MAX_FILES = 8
MIN_RANGE_PAGES = 64
# Smaller PDFs are read whole by one worker; larger ones are opened here first to split them.
SPLIT_MIN_BYTES = 1 << 20
# Address space of a worker process: a page that slips past extract's content bounds makes
# MuPDF fail an allocation (the page is reported unreadable) instead of taking the machine.
WORKER_ADDRESS_SPACE = 2 << 30
# A worker stops between pages at extract.FILE_TIME_LIMIT_S; one stuck inside a page (or in
# open() on a file swapped for a pipe after it was checked) is killed this much later.
HARD_GRACE_S = 60.0

# --- worker process side -------------------------------------------------------------
_progress_q = None
_cancel_flag = None


def _raise_flag(flag) -> None:
    if flag is not None:
        flag.value = 1


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel SIGKILLs this worker when the importing process dies, even by
    SIGKILL, so a killed import leaves no worker writing spools behind it."""
    import signal
    import sys

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    # The parent may have died before prctl took effect: then nobody would signal us.
    if os.getppid() != parent_pid:
        os._exit(1)


def _limit_memory() -> None:
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = WORKER_ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(hard, WORKER_ADDRESS_SPACE)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # not on Windows; an already lower limit stays
        pass


def _worker_init(progress_q, cancel_flag, parent_pid=None):
    global _progress_q, _cancel_flag
    if parent_pid is not None:
        _die_with_parent(parent_pid)
        _limit_memory()
    _progress_q, _cancel_flag = progress_q, cancel_flag
    # Progress messages are best effort: a worker must be able to exit even if the queue's
    # feeder thread is stuck on a lock a killed sibling held.
    progress_q.cancel_join_thread()
    # Ctrl-C goes to the whole process group; the writer turns it into a clean cancel.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Workers are helpers of an interactive app: keep the GUI and writer responsive.
    try:
        os.nice(5)
    except OSError:
        pass


def _worker_run(task_id, path, fmt, password, start, end, spool, expect_stat):
    def progress(n):
        _progress_q.put((task_id, n))

    def total(n):
        _progress_q.put((task_id, -n))  # negative: the page count of a document probed here

    _progress_q.put((task_id, 0))  # started: the writer's clock for the hard time limit runs from here
    try:
        return ("ok", ex.extract_range(path, fmt, password, start, end, spool,
                                       should_cancel=lambda: _cancel_flag.value != 0, on_progress=progress,
                                       expect_stat=expect_stat, on_total=total))
    except ex.ExtractCancelled:
        return ("cancelled", None)
    except ex.ExtractError as e:
        return ("error", (str(e), e.status))
    except MemoryError:
        return ("error", ("Ran out of memory reading this file.", "error"))
    except Exception as e:  # a per-file failure, never the whole import
        return ("error", (f"Could not read the file: {type(e).__name__}: {e}", "error"))


# --- writer side -----------------------------------------------------------------------
@dataclass
class _Job:
    path: Path
    size: int
    mtime: float
    sha256: str
    probe: ex.Probe
    ranges: list[tuple[int, int]]
    extra_paths: list[tuple[Path, int, float]] = field(default_factory=list)
    next_range: int = 0
    results: dict = field(default_factory=dict)  # range index -> RangeResult
    reported: dict = field(default_factory=dict)  # task id -> pages reported so far
    failed: tuple[str, str] | None = None
    outstanding: int = 0


def _ranges(probe: ex.Probe, workers: int) -> list[tuple[int, int]]:
    """Split a long PDF into one contiguous range per worker.

    Each range costs its worker a fresh open of the file, which for a large PDF
    (tens of thousands of objects) takes about as long as extracting 50-100 pages,
    so ranges are few and large.
    """
    n = probe.page_count
    if not probe.splittable or workers <= 1 or n < 2 * MIN_RANGE_PAGES:
        return [(0, max(n, 1))]
    size = math.ceil(n / workers)
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def import_paths(paths, *, store_path=None, password: str | None = None, workers: int | None = None,
                 cancel: CancelToken | None = None):
    """Import files and folders; yields ImportEvent. See the module docstring.

    workers: None picks automatically (in this process for small jobs, else one worker
    process per core); 0 extracts in this process; N >= 1 uses N worker processes.
    The final event is 'done' (preceded by 'cancelled' when cancel was requested).
    """
    from app.store import open_store

    cancel = cancel or CancelToken()
    t0 = time.monotonic()
    files, problems = discover(paths)
    sizes = {f: _size(f) for f in files}
    total = len(files) + len(problems)
    state = {"files_done": 0, "pages_done": 0, "pages_total": 0}
    summary = {"imported": 0, "skipped": 0, "failed": 0, "pages": 0}

    def ev(kind, **kw):
        return ImportEvent(kind=kind, files_done=state["files_done"], files_total=total,
                           pages_done=state["pages_done"], pages_total=state["pages_total"], **kw)

    yield ev("start", message=f"{len(files)} file(s) to look at")
    for p, problem in problems:
        state["files_done"] += 1
        summary["failed"] += 1
        yield ev("file-error", path=display_path(p), status="error", error=problem)

    store = open_store(store_path)
    try:
        store.check_writable()  # a damaged library takes no more documents: rebuild it first
    except BaseException:
        store.close()
        raise
    if workers is None:
        small = len(files) <= INPROCESS_MAX_FILES and sum(sizes.values()) <= INPROCESS_MAX_BYTES
        workers = 0 if small else default_workers()
    workers = max(0, int(workers))
    if getattr(store, "encrypted", False) and hasattr(os, "memfd_create"):
        # Page text of an encrypted library is spooled in memory only (memfd), which worker
        # processes cannot open by path: extraction stays in this process.
        workers = 0
    spool_dir = _spool_dir(store)
    memory_spools: dict[str, int] = {}

    def spool_path(name: str) -> str:
        if not getattr(store, "encrypted", False) or not hasattr(os, "memfd_create"):
            return os.path.join(spool_dir, name)
        fd = os.memfd_create(f"lectern-{name}")
        path = f"/proc/self/fd/{fd}"
        memory_spools[path] = fd
        return path

    def drop_spool(path: str) -> None:
        fd = memory_spools.pop(path, None)
        if fd is None:
            os.unlink(path)
        else:
            os.close(fd)
    pool = None
    progress_q = cancel_flag = None
    ctx = mp.get_context("spawn") if workers else None  # fork is unsafe in a process running Qt and threads
    if workers:
        cancel.on_cancel(lambda: _raise_flag(cancel_flag))
    in_flight_sha: dict[str, _Job] = {}
    jobs: list[_Job] = []  # jobs with ranges left to submit
    futures: dict[Future, tuple[_Job, int, int]] = {}
    task_counter = 0
    pending = list(files)
    pending_bytes = sum(sizes.values())
    pending.reverse()
    max_inflight = max(1, workers * 2)
    cancelled = False

    retry: list[tuple[_Job, int]] = []  # ranges whose worker process died under them
    started: dict[int, float] = {}  # task id -> when its worker began it
    timed_out: set[int] = set()
    solo: set[int] = set()  # task ids retried alone (a crash then names the culprit)
    careful = False

    def new_pool():
        # Each pool gets its own progress queue and cancel flag. A worker killed while it
        # held the queue's lock (the OOM killer does not wait) would leave that lock taken
        # for good, and the next pool's workers would block on it. The flag is a raw
        # shared byte: reading it takes no lock, so a killed worker cannot poison it.
        nonlocal progress_q, cancel_flag
        if progress_q is not None:
            progress_q.close()
        progress_q = ctx.Queue()
        cancel_flag = ctx.RawValue("b", 1 if cancel.cancelled else 0)
        return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                   initargs=(progress_q, cancel_flag, os.getpid()))

    def submit(job, ri, args) -> bool:
        """Hand one range to the pool; False when the pool broke before it could take it."""
        nonlocal pool
        try:
            fut = pool.submit(_worker_run, *args)
        except BrokenProcessPool:
            # A worker died before any result came back to show it. In-flight futures will
            # report the break and the pool is replaced there; with none, replace it now.
            if futures:
                return False
            pool.shutdown(wait=False, cancel_futures=True)
            pool = new_pool()
            fut = pool.submit(_worker_run, *args)
        futures[fut] = (job, ri, args[0])
        return True

    def finish_file(job_or_path, kind, **kw):
        state["files_done"] += 1
        return ev(kind, path=display_path(job_or_path), **kw)

    if workers:
        pool = new_pool()
    try:
        while pending or jobs or futures or retry:
            if cancel.cancelled:
                cancelled = True
                break
            # 1. keep the workers fed: next range of an open job, else the next file
            while (len(futures) < max_inflight or not workers) and (jobs or pending or retry):
                if cancel.cancelled:
                    break
                if careful and futures:
                    break  # after a crash, one range at a time until the culprit is found
                if not retry and careful:
                    careful = False
                if retry:
                    careful = True
                    job, ri = retry.pop(0)
                    s, e = job.ranges[ri]
                    task_counter += 1
                    job.outstanding += 1
                    spool = spool_path(f"retry-{task_counter}.spool")
                    args = (task_counter, str(job.path), job.probe.format, password, s, e, spool,
                            (job.size, job.mtime))
                    if not submit(job, ri, args):
                        job.outstanding -= 1
                        retry.insert(0, (job, ri))
                        break
                    solo.add(task_counter)
                    continue
                if jobs:
                    job = jobs[0]
                    ri = job.next_range
                    job.next_range += 1
                    if job.next_range >= len(job.ranges):
                        jobs.pop(0)
                    s, e = job.ranges[ri]
                    spool = spool_path(f"{len(futures)}-{task_counter}.spool")
                    task_counter += 1
                    job.outstanding += 1
                    args = (task_counter, str(job.path), job.probe.format, password, s, e, spool,
                            (job.size, job.mtime))
                    if pool:
                        if not submit(job, ri, args):
                            job.outstanding -= 1
                            retry.insert(0, (job, ri))  # it never ran: run it after the break is handled
                            break
                    else:
                        yield from _run_inline(job, ri, args, cancel, state, ev)
                        job.outstanding -= 1
                        if job.outstanding == 0 and job.next_range >= len(job.ranges):
                            yield from _complete(job, store, in_flight_sha, state, summary, ev, finish_file, cancel,
                                                 drop_spool)
                        if not workers:
                            break
                    continue
                path = pending.pop()
                pending_bytes -= sizes.get(path, 0)
                # Splitting a big PDF across workers costs each an extra open of it: worth
                # it only when the other workers would otherwise run out of work.
                other_work = pending_bytes + sum(j.size for j in in_flight_sha.values())
                try:
                    outcome = _prepare(path, store, password, workers, in_flight_sha, other_work=other_work)
                except Exception as e:  # one odd file must not end the whole import
                    outcome = ("file-error", dict(status="error", error=f"Could not import it: {type(e).__name__}: {e}"))
                if isinstance(outcome, _Job):
                    in_flight_sha[outcome.sha256] = outcome
                    jobs.append(outcome)
                    state["pages_total"] += outcome.probe.page_count
                    yield ev("file-start", path=display_path(path), message=outcome.probe.format)
                elif outcome is not None:
                    kind, kw = outcome
                    summary["skipped" if kind == "file-skipped" else "failed" if kind == "file-error" else "imported"] += 1
                    yield finish_file(path, kind, **kw)
            if not futures:
                continue
            # 2. report progress and collect finished ranges
            yield from _drain_progress(progress_q, futures, state, ev, started)
            done, _ = wait(list(futures), timeout=0.1, return_when=FIRST_COMPLETED)
            hard = ex.FILE_TIME_LIMIT_S + HARD_GRACE_S
            late = {tid for _, _, tid in futures.values() if time.monotonic() - started.get(tid, math.inf) > hard}
            if late - timed_out:
                # The pool cannot stop one task: every worker goes, the others' ranges are retried.
                timed_out.update(late)
                _kill_workers(pool)
            broken = False
            for fut in done:
                job, ri, tid = futures.pop(fut)
                job.outstanding -= 1
                try:
                    status, payload = fut.result()
                except BrokenProcessPool:
                    # A worker died (a file that crashes MuPDF, the OOM killer): every range
                    # in flight is lost. They are retried one at a time in a fresh pool, so
                    # the range that kills a worker again is the culprit and fails alone.
                    broken = True
                    state["pages_done"] -= job.reported.pop(tid, 0)
                    if tid in timed_out:
                        status, payload = "error", (
                            f"Reading this file took longer than {hard:.0f} s, the time limit for one file: "
                            "skipped.", "error")
                    elif tid not in solo and not cancel.cancelled:
                        retry.append((job, ri))
                        continue
                    else:
                        status, payload = "error", (
                            "Reading this file crashed the extraction process; it is probably malformed.", "error")
                except Exception as e:
                    status, payload = "error", (f"The extraction process failed: {e}", "error")
                yield from _drain_progress(progress_q, futures, state, ev, started)
                if status == "ok":
                    job.results[ri] = payload
                    extra = payload.pages - job.reported.get(tid, 0)
                    state["pages_done"] += max(0, extra)
                    _set_total(job, payload.pages, state)
                    if extra > 0:
                        yield ev("page", path=str(job.path), message="extracting")
                elif status == "error" and job.failed is None:
                    job.failed = payload
                    if job in jobs:
                        jobs.remove(job)
                        job.next_range = len(job.ranges)
                if (job.outstanding == 0 and job.next_range >= len(job.ranges) and status != "cancelled"
                        and not any(j is job for j, _ in retry)):
                    yield from _complete(job, store, in_flight_sha, state, summary, ev, finish_file, cancel,
                                         drop_spool)
            if broken:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
    finally:
        if pool:
            _raise_flag(cancel_flag)  # also when the caller stopped iterating early
            if futures:
                # Workers stop between pages; one stuck inside a page is not waited for.
                wait(list(futures), timeout=10)
                if not all(f.done() for f in futures):
                    _kill_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
            progress_q.close()
        shutil.rmtree(spool_dir, ignore_errors=True)
        for fd in memory_spools.values():
            os.close(fd)
        store.close()
    summary["seconds"] = round(time.monotonic() - t0, 3)
    if cancelled:
        yield ev("cancelled", message="Import cancelled; documents finished before it are kept.")
    yield ev("done", summary=summary, status="cancelled" if cancelled else "done",
             message=_summary_line(summary, cancelled))


def _spool_dir(store) -> str:
    """A fresh spool folder inside the library's own folder (never /tmp: spools hold the
    documents' text). Folders left by a killed import are removed here first."""
    from app.paths import clean_stale_spools, spool_root

    if not isinstance(store.path, Path):  # an in-memory library (tests): nothing to leave behind
        return tempfile.mkdtemp(prefix="lectern-import-")
    root = spool_root(store.path.parent)
    clean_stale_spools(root)
    return tempfile.mkdtemp(prefix=f"import-{os.getpid()}-", dir=root)


def _summary_line(s: dict, cancelled: bool) -> str:
    line = f"{s['imported']} imported, {s['skipped']} unchanged or duplicate, {s['failed']} failed"
    return line + (" (cancelled)" if cancelled else "")


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _kill_workers(pool) -> None:
    import signal

    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _drain_progress(progress_q, futures, state, ev, started=None):
    if progress_q is None:
        return
    by_tid = {tid: job for job, _, tid in futures.values()}
    moved = 0
    while True:
        try:
            tid, n = progress_q.get_nowait()
        except (queue_mod.Empty, OSError, ValueError):
            break
        job = by_tid.get(tid)
        if job is None:
            continue
        if n == 0 and started is not None:
            started.setdefault(tid, time.monotonic())
        elif n < 0:
            _set_total(job, -n, state)
        else:
            job.reported[tid] = job.reported.get(tid, 0) + n
            state["pages_done"] += n
            moved += n
    if moved:
        yield ev("page", message="extracting")


def _set_total(job: _Job, pages: int, state) -> None:
    """A single-range job learns its real page count (the probe's was an estimate or 0)."""
    if len(job.ranges) == 1 and pages != job.probe.page_count:
        state["pages_total"] += pages - job.probe.page_count
        job.probe.page_count = pages


def _run_inline(job: _Job, ri: int, args, cancel: CancelToken, state, ev):
    """Extract one range in this process (small imports, workers=0)."""
    tid = args[0]
    progress: list[int] = []
    try:
        res = ex.extract_range(*args[1:7], should_cancel=lambda: cancel.cancelled,
                               on_progress=progress.append, expect_stat=args[7])
        job.results[ri] = res
        state["pages_done"] += res.pages
        _set_total(job, res.pages, state)
        job.reported[tid] = res.pages
        yield ev("page", path=str(job.path), message="extracting")
    except ex.ExtractCancelled:
        return
    except ex.ExtractError as e:
        job.failed = (str(e), e.status)
    except Exception as e:
        job.failed = (f"Could not read the file: {type(e).__name__}: {e}", "error")


def display_path(path) -> str:
    """The path as text that can always be printed and stored (undecodable bytes escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _prepare(path: Path, store, password, workers, in_flight_sha, other_work: int = 0):
    """Decide what to do with one file. Returns a _Job to extract, or (event kind, fields)."""
    p = str(path)
    try:
        p.encode("utf-8")
    except UnicodeEncodeError:
        return ("file-error", dict(status="error", error=(
            "The file name is not valid UTF-8 (a name from another system's encoding), so the library "
            "cannot record it. Rename the file and import it again.")))
    try:
        st = path.stat()
    except FileNotFoundError:
        return ("file-error", dict(status="error", error="The file disappeared before it could be imported."))
    except OSError as e:
        return ("file-error", dict(status="error", error=f"Cannot access the file: {e.strerror or e}."))
    if not stat_mod.S_ISREG(st.st_mode):
        return ("file-error", dict(status="error", error=_not_regular(path, st)))
    size, mtime = st.st_size, st.st_mtime
    row = store.path_state(p)
    # A document an earlier text reader wrote is read again (TEXT_READER), though its file is unchanged.
    settled = row is not None and row["reader"] >= TEXT_READER and \
        (row["status"] == "ready" or (row["status"] == "no-text" and not ocr.available()))
    if row is not None and row["size"] == size and row["mtime"] == mtime:
        if settled:
            return ("file-skipped", dict(doc_id=row["doc_id"], status=row["status"], message="unchanged"))
        # Unchanged content that failed before fails the same way: say so without redoing
        # the work. A password given now is a reason to try again, and so is an error
        # that came from reading the file rather than from its content (no hash).
        retry = row["status"] == "needs-password" and password
        if not retry and row["sha256"] and row["status"] in ("error", "needs-password"):
            return ("file-error", dict(doc_id=row["doc_id"], status=row["status"], error=row["error"],
                                       message="unchanged since the last import"))
    fmt_probe_error = None
    if size == 0:
        fmt_probe_error = ("The file is empty (0 bytes).", "error")
        sha = None
    else:
        try:
            sha = sha256_file(path)
        except FileNotFoundError:
            return ("file-error", dict(status="error", error="The file disappeared before it could be imported."))
        except OSError as e:
            return _failure(store, path, size, mtime, None, "", (f"Cannot read the file: {e.strerror or e}.", "error"), row)
    if sha and settled and row["sha256"] == sha:
        store.touch_path(p, size, mtime)
        return ("file-skipped", dict(doc_id=row["doc_id"], status=row["status"], message="unchanged (same content)"))
    if sha:
        same = store.find_content(sha, min_reader=TEXT_READER)
        if same is not None and not (ocr.available() and store.get_document(same).status == "no-text"):
            store.link_path(same, p, size, mtime)
            other = store.get_document(same)
            return ("file-skipped", dict(doc_id=same, status=other.status,
                                         message=f"same content as {other.path}; both paths listed"))
        if sha in in_flight_sha:
            # Reported when the first copy is written (or fails).
            in_flight_sha[sha].extra_paths.append((path, size, mtime))
            return None
    if fmt_probe_error:
        return _failure(store, path, size, mtime, sha, "", fmt_probe_error, row)
    fmt = format_of(path)
    split = fmt == "pdf" and workers >= 2 and size >= SPLIT_MIN_BYTES and other_work < size // 2
    if fmt is not None and not split:
        # One task reads the whole file, probing it there: the file is opened once.
        est = ex.probe(path).page_count if fmt in ("txt", "md") else 0
        probe = ex.Probe(format=fmt, page_count=est)
        return _Job(path=path, size=size, mtime=mtime, sha256=sha, probe=probe, ranges=[(0, None)])
    try:
        probe = ex.probe(path, password)
    except FileNotFoundError:
        return ("file-error", dict(status="error", error="The file disappeared before it could be imported."))
    except Exception as e:
        return _failure(store, path, size, mtime, sha, "", (f"Cannot open the file: {e}", "error"), row)
    if probe.status != "ready":
        return _failure(store, path, size, mtime, sha, probe.format, (probe.error, probe.status), row)
    return _Job(path=path, size=size, mtime=mtime, sha256=sha, probe=probe, ranges=_ranges(probe, workers))


def _not_regular(path: Path, st) -> str:
    m = st.st_mode
    what = ("a named pipe (FIFO)" if stat_mod.S_ISFIFO(m) else "a socket" if stat_mod.S_ISSOCK(m)
            else "a character device" if stat_mod.S_ISCHR(m) else "a block device" if stat_mod.S_ISBLK(m)
            else "not a regular file")
    link = ""
    if path.is_symlink():
        try:
            link = f" (a link to {os.readlink(path)})"
        except OSError:
            link = " (a link)"
    return f"This is {what}{link}, not a document file; Lectern imports regular files only."


def _failure(store, path, size, mtime, sha, fmt, failure, row):
    """Record a failed file; a good earlier version of the same path is kept, not replaced."""
    message, status = failure
    if row is not None and row["status"] in ("ready", "no-text"):
        return ("file-error", dict(doc_id=row["doc_id"], status=status,
                                   error=f"{message} The previously imported version is kept."))
    doc_id = store.record_failure(path=str(path), size=size, mtime=mtime, sha256=sha, status=status,
                                  error=message, format=fmt)
    return ("file-error", dict(doc_id=doc_id, status=status, error=message))


def _complete(job: _Job, store, in_flight_sha, state, summary, ev, finish_file, cancel, drop_spool=os.unlink):
    """All ranges of a job are in: write the document in one transaction (or record its failure)."""
    from app.ingest.chunker import Chunker  # here: worker processes never need the store

    in_flight_sha.pop(job.sha256, None)
    row = store.path_state(str(job.path))
    if job.failed:
        summary["failed"] += 1
        kind, kw = _failure(store, job.path, job.size, job.mtime, job.sha256, job.probe.format, job.failed, row)
        yield finish_file(job.path, kind, **kw)
        for extra, size, mtime in job.extra_paths:
            summary["failed"] += 1
            kind, kw = _failure(store, extra, size, mtime, job.sha256, job.probe.format, job.failed,
                                store.path_state(str(extra)))
            yield finish_file(extra, kind, **kw)
        return
    if cancel.cancelled:
        return
    results = [job.results[i] for i in range(len(job.ranges))]
    first = results[0]
    title, title_source = structure.choose_title(job.probe.title, first, job.path.stem)
    for r in results:
        job.probe.notes.extend(r.notes)
    chars = sum(r.chars for r in results)
    blank = sum(r.blank_pages for r in results)
    pages = sum(r.pages for r in results)
    scanned = sum(r.scanned_pages for r in results)
    notes = list(job.probe.notes)
    bad = [n for r in results for n in r.bad_pages]
    if bad:
        notes.append(f"{len(bad)} page(s) could not be read: {', '.join(map(str, bad[:10]))}"
                     + ("…" if len(bad) > 10 else "") + ".")
    status = "ready"
    if pages and blank == pages:
        status = "no-text"
        notes.insert(0, ocr.NO_OCR_HINT if not ocr.available() else ocr.OCR_EMPTY_HINT)
    elif scanned and not ocr.available() and blank:
        notes.append(f"{blank} page(s) have no text layer; " + ocr.NO_OCR_HINT[ocr.NO_OCR_HINT.index("Install"):])
    ocr_pages = sum(r.ocr_pages for r in results)
    if ocr_pages:
        notes.append(f"{ocr_pages} page(s) read with OCR.")
    chunker = Chunker()
    asm = structure.Assembler([r.structure for r in results], pages)
    notes.extend(asm.notes)
    writer = store.begin_document(path=job.path, size=job.size, mtime=job.mtime, sha256=job.sha256,
                                  title=title, format=job.probe.format)
    # Furniture is a pattern over the whole document: one pass to learn it, one to write.
    furniture = Furniture()
    for r in results:
        for text in ex.read_pages(r.spool):
            furniture.see(text)
    with writer:
        for r in results:
            for text in ex.read_pages(r.spool):
                n = writer.page_count
                text = furniture.strip(n, text)
                start, _ = writer.add_page(text, asm.label(n))
                asm.page(n, text, start)
                for c in chunker.add_page(text, start):
                    writer.add_chunk(*c)
            drop_spool(r.spool)
        for c in chunker.finish():
            writer.add_chunk(*c)
        asm.write(writer)
        note = " ".join(notes) or None
        doc_id = writer.commit(status=status, error=note, title_source=title_source, reader=TEXT_READER)
    for extra, size, mtime in job.extra_paths:
        store.link_path(doc_id, extra, size, mtime)
    summary["imported"] += 1
    summary["pages"] += pages
    yield finish_file(job.path, "file-done", doc_id=doc_id, status=status, error=note, title=title,
                      message=f"{pages} pages, {chars} characters")
    for extra, _, _ in job.extra_paths:
        summary["skipped"] += 1
        yield finish_file(extra, "file-skipped", doc_id=doc_id, status=status,
                          message=f"same content as {job.path}; both paths listed")

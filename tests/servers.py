"""Real `python -m app.llm.server` (llama_cpp.server) processes on loopback, for tests
and benchmarks that need OpenAI-compatible endpoints serving a real GGUF."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited early: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as r:
                json.load(r)
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"llama_cpp.server at {url} did not start within {timeout} s")


@contextmanager
def llama_server_procs(model_path, count: int, *, threads: int = 1, n_ctx: int = 1024):
    """Start `count` servers of model_path, each with `threads` threads; yields (urls,
    processes), so a test can kill one mid-flight; all are stopped on exit."""
    procs, urls = [], []
    try:
        for _ in range(count):
            port = free_port()
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "app.llm.server", "--model", str(model_path), "--host", "127.0.0.1",
                 "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
                 "--n_threads_batch", str(threads), "--verbose", "False"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs):
            wait_ready(url, proc)
        yield urls, procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


@contextmanager
def llama_servers(model_path, count: int, *, threads: int = 1, n_ctx: int = 1024):
    """Start `count` servers of model_path, each with `threads` threads; yields their URLs."""
    with llama_server_procs(model_path, count, threads=threads, n_ctx=n_ctx) as (urls, _procs):
        yield urls

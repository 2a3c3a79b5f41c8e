"""EndpointPool against two real `python -m llama_cpp.server` processes on loopback,
each serving the embedded default model: sub-queries spread over both, and the
requests of a server killed mid-flight finish on the other."""

from __future__ import annotations

import importlib.util
import threading
import time

import pytest

from app.llm.endpoint import EndpointPool
from tests.servers import llama_server_procs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def servers(default_model_path):
    missing = [m for m in ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")
               if importlib.util.find_spec(m) is None]
    assert not missing, f"llama-cpp-python[server] dependencies missing: {missing} (make venv installs them)"
    with llama_server_procs(default_model_path, 2) as (urls, procs):
        yield urls, procs


def _ask_all(pool, n, max_tokens):
    results, errors = [], []

    def one(i):
        try:
            results.append(pool.chat([{"role": "user", "content": f"Name fruit number {i}."}], max_tokens=max_tokens))
        except Exception as e:  # collected, asserted below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results, errors


def test_spread_then_failover_to_the_surviving_server(servers):
    (url_a, url_b), (proc_a, _proc_b) = servers
    pool = EndpointPool([url_a, url_b], n_ctx=1024, backoff=0.2)

    threads, results, errors = _ask_all(pool, 4, max_tokens=4)
    for t in threads:
        t.join(120)
    assert not errors and len(results) == 4 and all(r.text for r in results)
    served = {h["url"]: h["served"] for h in pool.health()}
    assert served[url_a] >= 1 and served[url_b] >= 1  # both servers took sub-queries

    # Kill server A while it is working on a request: that request must finish on B.
    threads, results, errors = _ask_all(pool, 4, max_tokens=32)
    deadline = time.time() + 30
    while time.time() < deadline and not any(h["url"] == url_a and h["in_flight"] for h in pool.health()):
        time.sleep(0.005)
    proc_a.kill()
    for t in threads:
        t.join(180)
    assert not errors, errors
    assert len(results) == 4 and all(r.text for r in results)
    health = {h["url"]: h for h in pool.health()}
    assert health[url_a]["failures"] >= 1
    assert health[url_b]["served"] >= served[url_b] + 3  # it took the killed server's work

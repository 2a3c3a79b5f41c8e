"""`lectern ask` and `lectern runs` on the FakeModel (the real model: test_rlm_real.py)."""

from __future__ import annotations

import json
import re

import pytest

from app.cli import main
from app.llm.fake import FakeModel
from app.rlm.testing import add_text_document, oracle_responder
from app.store import open_store

FACT = "The vault code for project heron is 4417."
FILLER = "The committee reviewed the quarterly figures and noted that revenue remained stable. " * 10


def find_heron(text):
    m = re.search(r"[^.]*heron is (\d+)\.", text)
    return (m.group(1), m.group(0).strip()) if m else None


@pytest.fixture
def library():
    with open_store() as store:
        return add_text_document(store, "Heron Report", [FILLER, FILLER + FACT])


@pytest.fixture
def fake_models(monkeypatch):
    from app.llm import manager

    model = FakeModel(responder=oracle_responder(find_heron))
    loaded = []
    monkeypatch.setattr(manager, "load_role", lambda role, **kw: loaded.append(role) or model)
    monkeypatch.setattr(manager, "load_model", lambda path=None, **kw: loaded.append(path) or model)
    return loaded


def test_ask_prints_answer_with_citations_and_runs_lists_it(library, fake_models, capsys, tmp_path):
    trace = tmp_path / "trace.md"
    assert main(["ask", "What is the vault code for project heron?", "--trace", str(trace)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("4417") and "[1]" in out.splitlines()[0]
    assert "[1] Heron Report, page 2: “The vault code for project heron is 4417.”" in out
    assert "[map]" in err and "cited" in err
    assert fake_models == [None]  # both roles are the embedded default (RunConfig), loaded once
    assert "## Citations" in trace.read_text()

    assert main(["runs"]) == 0
    out, _ = capsys.readouterr()
    assert "done" in out and "What is the vault code" in out
    assert main(["runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    run_id = runs[0]["id"]
    assert main(["runs", "show", str(run_id)]) == 0
    assert "## How the answer was built" in capsys.readouterr().out
    assert main(["runs", "show", str(run_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["answer"].startswith("4417") and shown["nodes"]
    assert main(["runs", "export", str(run_id), str(tmp_path / "run.json")]) == 0
    assert json.loads((tmp_path / "run.json").read_text())["id"] == run_id


def test_ask_with_meaning_on_but_no_embedding_model_says_so_and_answers(library, fake_models, capsys,
                                                                         monkeypatch, tmp_path):
    from app.llm import embedding_model

    monkeypatch.setenv("LECTERN_CACHE", str(tmp_path / "cache"))  # no converted model there
    monkeypatch.setattr(embedding_model, "packaged_zip", lambda: None)  # and no weights installed
    assert main(["ask", "What is the vault code for project heron?", "--meaning", "on"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("4417")
    assert "ranking by words only: the sentence-embedding model is not installed" in err
    assert "ranked by their words only" in out + err  # the run's note too


def test_ask_json_options_and_models(library, fake_models, capsys):
    assert main(["ask", "What is the vault code for project heron?", "--json", "--docs", str(library),
                 "--mode", "rag", "--root-model", "big.gguf", "--sub-model", "small.gguf", "--max-calls", "3"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["mode"] == "rag" and run["scope"] == [library] and run["settings"]["max_calls"] == 3
    assert fake_models == ["big.gguf", "small.gguf"]


def test_ask_budget_is_reported_not_a_traceback(library, fake_models, capsys):
    assert main(["ask", "What is the vault code for project heron?", "--max-calls", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Note: Stopped early: call budget reached" in out and "(budget;" in out


@pytest.mark.parametrize("argv, message", [
    (["ask", "q", "--docs", "a,b"], "--docs takes document ids"),
    (["runs", "show", "999"], "no run 999"),
])
def test_bad_input_is_a_clear_error(library, fake_models, capsys, argv, message):
    assert main(argv) == 1
    assert message in capsys.readouterr().err


def test_ask_with_an_empty_library_says_what_to_do(fake_models, capsys):
    assert main(["ask", "anything"]) == 1
    assert "lectern import" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_cancels_cleanly_with_the_real_model(library):
    """SIGINT during a real run: the run stops, prints its partial answer and note, exit 0."""
    import os
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "app", "ask", "Summarize the document", "--max-calls", "40"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    seen = ""
    deadline = time.monotonic() + 120
    while "run " not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert "run " in seen, seen
    time.sleep(1.0)  # inside the first model call
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "(cancelled;" in out and "Note: Cancelled" in out
    assert "Traceback" not in err
    with open_store() as store:
        assert store.list_runs()[0]["status"] == "cancelled"

"""The controller on the real default model (SmolLM2-135M) over a real PDF imported
through the library path. Few calls each: these tests prove the whole chain works end
to end and that a weak model cannot break a run; guided mode should also be right."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.ingest import import_paths
from app.rlm import Budget, Controller
from app.rlm.controller import NOT_FOUND
from app.rlm.sandbox import availability
from app.store import open_store
from tests.pdfs import make_pdf

pytestmark = pytest.mark.slow

FILLER = ("The committee reviewed the quarterly figures and noted that revenue remained stable "
          "while operating costs rose modestly. Several members asked for a detailed breakdown "
          "of travel expenses before the next meeting. ") * 5
FACT = "The vault code for project heron-7 is 4417."
QUESTION = "What is the vault code for project heron-7?"


@pytest.fixture(scope="module")
def model(default_model_path):
    from app.llm.manager import load_model

    return load_model(default_model_path)


@pytest.fixture
def library(tmp_path):
    pdf = make_pdf(tmp_path / "report.pdf", [FILLER, FILLER, FILLER + FACT + " " + FILLER, FILLER], title="Heron Report")
    events = list(import_paths([pdf], workers=0))
    assert events[-1].kind == "done"
    store = open_store()
    [doc] = store.list_documents()
    assert doc.status == "ready" and doc.page_count == 4
    yield store, doc
    store.close()


def _assert_citations_real(store, result):
    for c in result.citations:
        page = store.get_page(c.doc_id, c.page)
        assert page is not None and " ".join(c.quote.split()) in " ".join(page.text.split())
        assert store.document_text(c.doc_id)[c.char_start:c.char_end] == c.quote


def test_guided_lookup_on_a_real_pdf(library, model):
    store, doc = library
    result = Controller(store, model).ask(QUESTION, doc_ids=[doc.id], budget=Budget(max_calls=8, max_seconds=240))
    assert result.status in ("done", "budget"), result.note
    # "heron-7" is an exact key: the code reads the plan from the question, no model call.
    assert result.nodes and result.nodes[0].kind == "plan" and result.nodes[0].tokens_in == 0
    _assert_citations_real(store, result)
    run = store.get_run(result.run_id)
    assert run["status"] == result.status and len(run["nodes"]) == len(result.nodes)
    # The code finds the key's sentence and checks the quote, so even a 135M model gets this right.
    assert result.status == "done" and result.answer.startswith("4417"), (result.answer, result.note)
    assert result.citations[0].page == 3
    assert result.totals["calls"] <= 8 and result.totals["model_seconds"] <= result.totals["seconds"]


@pytest.mark.parametrize("mode", ["direct", "rag"])
def test_baselines_on_the_real_model(library, model, mode):
    store, doc = library
    result = Controller(store, model, options={"answer_tokens": 32}).ask(QUESTION, doc_ids=[doc.id], mode=mode,
                                                                         budget=Budget(max_calls=2))
    assert result.status == "done", result.note
    assert result.answer and result.totals["calls"] == 1
    _assert_citations_real(store, result)


@pytest.mark.skipif(not availability()[0], reason=f"no OS sandbox here: {availability()[1]}")
def test_repl_with_the_real_model_is_right_or_says_not_found(library, model):
    # A 135M model cannot write useful code, but the first turn already shows the example
    # search's hit; whatever it answers must be the right code or an honest "not found"
    # (a forced answer that is not in the documents next to the question's key is dropped).
    store, doc = library
    result = Controller(store, model, options={"repl_root_tokens": 96, "answer_tokens": 32}).ask(
        QUESTION, doc_ids=[doc.id], mode="repl", budget=Budget(max_calls=4, max_iterations=1, max_seconds=240))
    assert result.status == "done", result.note
    assert any(n.kind == "code" for n in result.nodes)
    assert result.answer.startswith("4417") or result.answer.startswith(NOT_FOUND), (result.answer, result.note)
    if result.answer.startswith("4417"):
        assert result.citations and result.citations[0].page == 3
    _assert_citations_real(store, result)


def test_cli_demo_question_on_the_sample_constitution(capsys):
    # `make demo` asks this; the code finds the sentence, the model reads it, the code checks it.
    from app.paths import sample_pdf

    events = list(import_paths([sample_pdf()], workers=0))
    assert events[-1].kind == "done"
    assert main(["ask", "How old must the President be?", "--json", "--max-calls", "6"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["status"] == "done" and run["nodes"]
    assert run["models"]["root"].get("n_ctx")
    assert "thirty five" in run["answer"].lower(), run["answer"]
    assert run["answer"].startswith("35 years: "), run["answer"]  # the value first, in digits, then the clause
    [c] = run["citations"]
    assert c["page"] == 7 and "Age of thirty five Years" in " ".join(c["quote"].split())


def test_open_question_on_the_constitution_cites_the_clause_that_answers_it(capsys):
    # Once answered with the treason clause ("Power to declare the Punishment of Treason"):
    # ranked sentences weigh "war" (rare) over "power" (everywhere) and cut the run-on list.
    from app.paths import sample_pdf

    events = list(import_paths([sample_pdf()], workers=0))
    assert events[-1].kind == "done"
    assert main(["ask", "Who has the power to declare war?", "--json", "--max-calls", "8"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["status"] == "done"
    [c] = run["citations"]
    assert "declare War" in c["quote"] and "Treason" not in c["quote"] and c["page"] == 5
    checks = [n for n in run["nodes"] if n["kind"] == "map"]
    assert checks and all(0.0 <= n["data"]["p_yes"] <= 1.0 for n in checks)

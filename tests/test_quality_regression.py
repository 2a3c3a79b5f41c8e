"""Quality regression: a fixed handful of DEV-split questions over real documents, real default model.

The full evaluation is a benchmark (tests/benchmarks/bench_quality.py); this runs a small
subset of its dev split in guided mode with the embedded SmolLM2-135M, so a change that
makes ordinary questions worse fails `make test`. Never a test-split question: the test
split is kept for reporting.

The documents are Debian documentation PDFs fetched by tests/benchmarks/quality/fetch.py
(pinned by package version and SHA-256, cached in ~/.cache/lectern/eval-docs). If they
cannot be fetched the test FAILS with the reason; only a machine without apt-get/dpkg
(not Debian, so no Debian registry at all) skips, saying so.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

QUALITY = Path(__file__).resolve().parent / "benchmarks" / "quality"
sys.path.insert(0, str(QUALITY))

import fetch  # noqa: E402
from scoring import TYPES, assign_splits, citation_ok, contains, is_not_found, score_answer  # noqa: E402
from verify import load_questions, page_texts, verify  # noqa: E402


# Dev-split questions, one or two per type, chosen for cheap runs (no whole-library scan) and a
# mix of what the code gets right and wrong today, so both a regression and a fix show.
SUBSET = [
    "rintro-readtable",           # howto, right at 250f424
    "rintro-rm",                  # howto, right
    "deb-upg",                    # howto (definition), wrong: cites the UPG sentence without the definition
    "gp-authors",                 # lookup, right
    "deb-umask",                  # lookup, right
    "rintro-scan-vs-readtable",   # compare, right
    "gp-pow",                     # table-figure, wrong: cites a contents line of another manual
    "un-france",                  # unanswerable, wrong: cites a locale table mentioning France
    "un-ethanol",                 # unanswerable, right (not found) since 250f424
    # Added with the question-type strategies (all right at ee90f3d):
    "rintro-dataframe",           # definition: "A data frame is a list with class…"
    "rfaq-ess",                   # definition by acronym: "ESS, Emacs Speaks Statistics"
    "rfaq-pkg-vs-lib",            # compare: one lookup per side
    "rfaq-foundation-sum",        # summary of a topic from its section
]
# Measured 2026-11-29: at commit 996dda5, 5 of these 9 right (the same five in the full
# dev-split benchmark run and in this test); with the code of 250f424 (the controller's
# "answerable" check), 6 of 9 (un-ethanol now answers not found). The threshold is the
# current code's figure: losing any one fails. Raise it when more are right.
# At ee90f3d (the dev-split benchmark run of the question-type strategies) the nine above
# were 6 of 9 again and the four added ones 4 of 4: 10 of 13.
MIN_RIGHT = 10
# A bounded run: guided mode needed at most 7 calls on these questions.
MAX_CALLS = 12


# --- the scorer itself (no model, no documents) -------------------------------------------

def test_matching_survives_ligatures_quotes_case_and_line_end_hyphens():
    assert contains("Emacs  Speaks\nStatistics", "emacs speaks statistics")
    assert contains("\ufb01ll(path,pen)", "fill(path,pen)")           # the PDF's "fi" ligature
    assert contains("identi- cal material", "identical material")
    assert contains("the \u201cComprehensive R Archive Network\u201d", '"Comprehensive R Archive Network"')
    assert not contains("by=value and length=value", "by=1")


def test_not_found_is_right_only_for_unanswerable_questions():
    un = {"id": "u", "type": "unanswerable"}
    lookup = {"id": "l", "type": "lookup", "accept": ["Kurt Hornik"]}
    nf = "Not found in the selected documents. Searched 5 documents for: capital, France"
    assert score_answer(un, nf) and is_not_found(nf)
    assert not score_answer(un, "UTF-8 French (France) de_DE. [1]")
    assert not score_answer(lookup, nf)
    assert score_answer(lookup, "Kurt Hornik and the R Core Team [1]")
    both = {"id": "c", "type": "compare", "all": ["MTU - 40", "MTU - 60"]}
    assert not score_answer(both, "MSS = MTU - 40 for IPv4")
    some = {"id": "s", "type": "list", "at_least": 2, "of": ["R-announce", "R-help", "R-devel"]}
    assert score_answer(some, "R-help and R-devel") and not score_answer(some, "R-help only")


def test_a_citation_must_be_on_its_page_and_support_a_right_answer():
    q = {"id": "x", "type": "lookup", "doc": "R-FAQ", "pages": [14], "accept": ["GNU General Public License"]}
    page = "R is released under the GNU General Public License (GPL)."
    cit = {"page": 14, "quote": "released under the GNU General Public License"}
    assert citation_ok(q, cit, page, "R-FAQ", True) == (True, True)
    assert citation_ok(q, cit, "another page", "R-FAQ", True) == (False, True)
    assert citation_ok(q, cit, page, "gnuplot", True)[1] is False          # another document
    other = {"page": 14, "quote": "R is released under"}
    assert citation_ok(q, other, page, "R-FAQ", False) == (True, False)  # right page, wrong answer
    assert citation_ok({**q, "type": "unanswerable"}, cit, page, "R-FAQ", False)[1] is False
    # A quote over a page break (pages 13-14): each part on one of its pages, though
    # pymupdf's own text holds the running head and page number between them.
    over = {"page": 13, "page_end": 14, "quote": "R is released\n\n\nunder the GNU General Public License"}
    pages = ["The licence. R is released\n", "Chapter 2: R Basics\n14\nunder the GNU General Public License (GPL)."]
    assert citation_ok(q, over, pages, "R-FAQ", True) == (True, True)
    assert citation_ok(q, over, pages[::-1][:1], "R-FAQ", True)[0] is False


def test_splits_are_deterministic_balanced_and_the_subset_is_dev():
    qs = load_questions()
    assert len(qs) >= 80 and sum(q["type"] == "unanswerable" for q in qs) >= 15
    assert assign_splits(list(reversed(qs))) == {q["id"]: q["split"] for q in qs}  # order does not matter
    for t in TYPES:
        n_dev = sum(q["type"] == t and q["split"] == "dev" for q in qs)
        n_test = sum(q["type"] == t and q["split"] == "test" for q in qs)
        assert n_test >= 1 and n_dev - n_test in (0, 1), t


# --- the documents and the real model ---------------------------------------------------

@pytest.fixture(scope="module")
def docs():
    try:
        return fetch.ensure()
    except fetch.NotDebian as e:
        pytest.skip(f"the evaluation documents come from Debian packages: {e}")
    except fetch.FetchError as e:
        pytest.fail(f"could not fetch the evaluation documents (tests/benchmarks/quality/fetch.py): {e}")


def test_every_expected_answer_is_on_its_verified_pages(docs):
    assert verify(load_questions(), page_texts()) == []


@pytest.fixture
def library(tmp_path, docs):  # function scope: after conftest has pointed LECTERN_HOME at a temp folder
    from app.ingest import import_paths
    from app.store import open_store

    path = tmp_path / "library.sqlite3"
    events = list(import_paths([d.path for d in docs], store_path=path))
    assert events[-1].kind == "done", events[-1]
    store = open_store(path)
    assert len(store.list_documents()) == len(docs)
    yield store
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("ranking", ["words", "meaning"])
def test_dev_subset_accuracy_does_not_drop(library, default_model_path, ranking):
    """Both rankings: by words (the default) and with the sentence-embedding model."""
    from app.llm.manager import embedder_problem, load_embedder, load_model
    from app.rlm import Budget, Controller

    embedder = load_embedder() if ranking == "meaning" else None
    assert ranking == "words" or embedder is not None, embedder_problem()
    questions = {q["id"]: q for q in load_questions()}
    subset = [questions[i] for i in SUBSET]
    assert all(q["split"] == "dev" for q in subset), "the regression subset must come from the dev split"
    controller = Controller(library, load_model(default_model_path), embedder=embedder)
    lines, right = [], 0
    for q in subset:
        result = controller.ask(q["question"], mode="guided", budget=Budget(max_calls=MAX_CALLS))
        ok = score_answer(q, result.answer)
        right += ok
        lines.append(f"{'RIGHT' if ok else 'wrong'} {q['id']}: {' '.join(result.answer.split())[:120]!r}")
    report = "\n".join(lines)
    print(report)
    assert right >= MIN_RIGHT, f"{right} of {len(subset)} right, below the measured {MIN_RIGHT}:\n{report}"

"""The RULER benchmark's own parts: data reading, haystack generation, PDF typesetting, scoring.

Fast and offline: the wheel's layout is rebuilt in a temp zip with a few records,
so these tests never need the 18 MB wheel or the network.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))

from ruler import wheel as ruler_wheel  # noqa: E402
from ruler.pdf import paginate, typeset  # noqa: E402
from ruler.report import Record, goals, summarize, table  # noqa: E402
from ruler.scoring import score, string_match_all, string_match_part  # noqa: E402
from ruler.tasks import DEPTHS, Generator, label, parse_length, read_hotpotqa, read_squad  # noqa: E402
from ruler.text import is_latin, pdf_safe  # noqa: E402
from ruler.tokens import CharCounter  # noqa: E402
from ruler.words import KEYS  # noqa: E402

ESSAY = " ".join(
    f"Essay sentence {i} says the {w} matters more than people think. "
    f"Founders learn this late{'.' if i % 3 else '!'}"
    for i, w in zip(range(3000), ["garden", "river", "market", "startup", "habit"] * 600)
)

SQUAD = {
    "version": "v2.0",
    "data": [
        {"title": "Normans", "paragraphs": [
            {"context": "The Normans gave their name to Normandy, a region in France. Their leader was Rollo.",
             "qas": [
                 {"question": "In what country is Normandy located?", "is_impossible": False,
                  "answers": [{"text": "France"}, {"text": "France"}, {"text": "France "}]},
                 {"question": "What is the capital of Normandy?", "is_impossible": True, "answers": []},
             ]},
            {"context": "Norman architecture used rounded arches. Castles were built of stone.",
             "qas": [{"question": "Who built castles in Ελλάδα?", "is_impossible": False,
                      "answers": [{"text": "Ελλάδα builders"}]}]},
        ]},
        {"title": "Other", "paragraphs": [
            {"context": f"Unrelated paragraph {i} about the topic number {i} and its history in detail."
                        " It mentions several facts that nobody asked about." * 3,
             "qas": []} for i in range(300)
        ]},
    ],
}

HOTPOT = [
    {"question": "Which government position was held by the actress?", "answer": "Chief of Protocol",
     "context": [["Shirley Temple", ["Shirley Temple was an actress.", " She served as Chief of Protocol."]],
                 ["Kiss and Tell", ["Kiss and Tell is a 1945 film."]]]},
    {"question": "Were both films American?", "answer": "yes",
     "context": [["Film A", ["Film A is American."]], ["Film B", ["Film B is American."]]]},
] + [
    {"question": f"Filler question {i}?", "answer": f"Filler {i}",
     "context": [[f"Title {i}", [f"Paragraph {i} talks about filler topic {i}.", " It is long enough." * 5]]]}
    for i in range(300)
]


def _gen(**kw) -> Generator:
    return Generator(None, CharCounter(), essay_text=ESSAY, squad=SQUAD, hotpotqa=HOTPOT, **kw)


# -- scoring -------------------------------------------------------------------------------

def test_string_match_all_counts_each_expected_value():
    assert string_match_all("The numbers are 1234567 and 7654321.", ["1234567", "7654321"]) == 100
    assert string_match_all("Only 1234567.", ["1234567", "7654321", "1111111", "2222222"]) == 25
    assert string_match_all("nothing here", ["1234567"]) == 0


def test_string_match_part_is_case_insensitive_and_takes_any_answer():
    assert string_match_part("It is in FRANCE.", ["france", "French Republic"]) == 100
    assert string_match_part("Germany", ["France", "French Republic"]) == 0


def test_score_handles_a_missing_answer_and_rejects_no_references():
    assert score("all", None, ["1"]) == 0
    assert score("part", "", ["France"]) == 0
    with pytest.raises(ValueError):
        score("all", "x", [])


# -- text folding ----------------------------------------------------------------------------

def test_pdf_safe_folds_typography_and_keeps_latin1():
    assert pdf_safe("a\u2014b \u201cq\u201d it\u2019s") == 'a-b "q" it\'s'
    assert pdf_safe("x\x97y") == "x-y"  # a cp1252 em dash decoded as Latin-1
    assert pdf_safe("Café Ørsted") == "Café Ørsted"
    assert pdf_safe("Łódź") == "Lódz"  # Latin-1 keeps ó; Ł and ź fold
    assert is_latin("Café") and is_latin("What?") and not is_latin("Ελλάδα")


# -- lengths ---------------------------------------------------------------------------------

def test_lengths_parse_and_label_as_ruler_names_them():
    assert parse_length("16K") == 16384 and parse_length("128k") == 131072
    assert parse_length("1M") == 1048576 and parse_length("5000") == 5000
    assert [label(parse_length(x)) for x in ("16K", "128K", "1M")] == ["16K", "128K", "1M"]
    assert DEPTHS[0] == 0 and DEPTHS[-1] == 100 and len(DEPTHS) == 40


# -- NIAH ------------------------------------------------------------------------------------

@pytest.mark.parametrize("task,k,v", [("niah_single", 1, 1), ("niah_multikey", 4, 1), ("niah_multivalue", 1, 4)])
def test_niah_sample_has_its_needles_once_and_fits_the_length(task, k, v):
    s = _gen().sample(task, 4000, 0, seed=7)
    assert 0.95 * 4000 <= s.tokens <= 4000
    assert CharCounter().count(s.text) == s.tokens
    assert len(s.needles) == k * v
    for needle in s.needles:
        assert re.fullmatch(r"One of the special magic numbers for [a-z]+-[a-z]+ is: \d{7}\.", needle)
        assert s.text.count(needle) == 1
    keys = {re.search(r"for (\S+) is", n).group(1) for n in s.needles}
    assert len(keys) == k and all(key in KEYS for key in keys)
    assert len(s.answers) == v and all(re.fullmatch(r"\d{7}", a) for a in s.answers)
    asked = re.search(r"for (\S+) mentioned", s.question).group(1)
    assert asked in keys
    for a in s.answers:
        assert f"for {asked} is: {a}." in s.text
    # Distractor keys (multi-key) carry values that are not the answer.
    others = [n for n in s.needles if f" {asked} " not in n]
    assert len(others) == k - 1 and not any(a in o for a in s.answers for o in others)
    if v == 1:
        assert s.question.startswith("What is the special magic number for ")
    else:
        assert s.question.startswith("What are all the special magic numbers for ")


def test_niah_is_deterministic_per_seed_and_varies_per_index():
    a = _gen().sample("niah_single", 3000, 0, seed=1)
    b = _gen().sample("niah_single", 3000, 0, seed=1)
    c = _gen().sample("niah_single", 3000, 1, seed=1)
    d = _gen().sample("niah_single", 3000, 0, seed=2)
    assert (a.text, a.question, a.answers) == (b.text, b.question, b.answers)
    assert a.answers != c.answers and a.answers != d.answers


def test_niah_haystack_longer_than_the_essays_repeats_them():
    s = _gen().sample("niah_single", 4 * CharCounter().count(ESSAY), 0)
    assert s.tokens > 3 * CharCounter().count(ESSAY)
    assert s.text.count("Essay sentence 17 says") >= 3
    assert s.text.count(s.needles[0]) == 1


# -- QA --------------------------------------------------------------------------------------

def test_read_squad_keeps_answerable_latin_questions_with_article_distractors():
    qas, docs = read_squad(SQUAD)
    assert [q["query"] for q in qas] == ["In what country is Normandy located?"]
    assert qas[0]["outputs"] == ["France"]
    gold = docs[qas[0]["context"][0]]
    assert gold.startswith("The Normans gave")
    assert [docs[i] for i in qas[0]["more_context"]] == [SQUAD["data"][0]["paragraphs"][1]["context"]]


def test_read_hotpotqa_drops_yes_no_questions():
    qas, docs = read_hotpotqa(HOTPOT)
    assert "Were both films American?" not in [q["query"] for q in qas]
    first = qas[0]
    assert first["outputs"] == ["Chief of Protocol"]
    assert [docs[i].split("\n")[0] for i in first["context"]] == ["Shirley Temple", "Kiss and Tell"]


@pytest.mark.parametrize("task", ["qa_squad", "qa_hotpotqa"])
def test_qa_sample_holds_its_gold_paragraphs_among_distractors(task):
    s = _gen().sample(task, 6000, 0, seed=3)
    assert 0.9 * 6000 <= s.tokens <= 6000
    assert s.metric == "part"
    for gold in s.needles:
        assert s.text.count(gold) == 1
    assert s.text.startswith("Document 1:\n")
    n_docs = s.text.count("\n\nDocument ") + 1
    assert n_docs > 10
    assert any(a in s.text for a in s.answers)


def test_qa_haystack_stops_at_the_whole_dataset_as_ruler_does():
    s = _gen().sample("qa_squad", 10**6, 0)
    _, docs = read_squad(SQUAD)
    assert s.text.count("\n\nDocument ") + 1 == len(docs)
    assert s.tokens < 10**6


# -- PDF -------------------------------------------------------------------------------------

def test_paginate_cuts_at_spaces_and_keeps_every_word():
    text = " ".join(f"word{i}" for i in range(3000))
    pages = paginate(text, 3000)
    assert len(pages) > 5 and all(len(p) <= 3000 for p in pages)
    assert " ".join(pages).split() == text.split()


def test_typeset_gives_a_multipage_pdf_whose_text_holds_the_needles(tmp_path):
    import pymupdf

    s = _gen().sample("niah_multikey", 12000, 2, seed=5)
    path = tmp_path / "haystack.pdf"
    pages = typeset(s.text, path)
    doc = pymupdf.open(path)
    assert doc.page_count == pages >= 12000 * 4 // 3000
    assert doc[0].rect.width == 595 and doc[0].rect.height == 842
    extracted = " ".join(" ".join(p.get_text().split()) for p in doc)
    assert all(n in extracted for n in s.needles)
    assert " ".join(s.text.split()) == extracted


def test_typeset_splits_a_page_of_many_short_lines(tmp_path):
    import pymupdf

    text = "\n".join(f"line {i}" for i in range(600))  # ~4,000 chars but 600 lines
    path = tmp_path / "lines.pdf"
    pages = typeset(text, path, chars_per_page=3000)
    doc = pymupdf.open(path)
    assert pages == doc.page_count >= 8
    assert "".join(p.get_text() for p in doc).split() == text.split()


# -- wheel -----------------------------------------------------------------------------------

def test_wheel_json_is_read_from_the_zip_without_installing(tmp_path):
    wheel = tmp_path / ruler_wheel.WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(ruler_wheel.ESSAYS, json.dumps({"text": "April 2012 Essay."}))
        z.writestr(ruler_wheel.SQUAD, json.dumps(SQUAD))
        z.writestr(ruler_wheel.HOTPOTQA, json.dumps(HOTPOT[:3]))
    assert ruler_wheel.ensure_wheel(tmp_path, download=False) == wheel
    g = Generator(wheel, CharCounter())
    assert g.essay_words()[:2] == ["April", "2012"]
    assert g.qa_data("squad")[0][0]["outputs"] == ["France"]
    assert len(g.qa_data("hotpotqa")[0]) == 2


def test_a_missing_wheel_is_a_clear_error_when_downloads_are_off(tmp_path):
    with pytest.raises(ruler_wheel.WheelMissing, match="bench_ruler.py"):
        ruler_wheel.ensure_wheel(tmp_path, download=False)


# -- report ----------------------------------------------------------------------------------

def _rec(mode, score_, length=131072, task="niah_single", tokens_in=1000, wall=10.0, model=9.8):
    return Record(task, length, mode, 0, 200_000, 60, "q", ["1"], "a", score_, "done", "", 3, tokens_in, 50,
                  model, wall)


def test_summary_and_goals_compute_from_records():
    recs = [_rec("guided", 100), _rec("guided", 0), _rec("rag", 0),
            _rec("guided", 100, task="qa_squad"), _rec("rag", 0, task="qa_squad"),
            _rec("direct", 100, task="qa_squad", tokens_in=8000)]
    cells = summarize(recs)
    g = [c for c in cells if c.task == "niah_single" and c.mode == "guided"][0]
    assert g.n == 2 and g.accuracy == 50 and g.tokens == 1050 and g.calls == 3
    assert g.read_pct == pytest.approx(0.5) and g.overhead_pct == pytest.approx(2.0)
    md = table(cells)
    assert md.count("\n") == len(cells) + 1 and "| niah_single | 128K |" in md
    got = {goal: met for goal, _, met in goals(recs)}
    assert got["needle accuracy >= 90% at 128K, guided"] is False
    assert got["QA accuracy above rag and direct at 128K"] is False  # guided 100 vs direct 100
    assert got["model tokens read per lookup < 5% of the corpus at 128K, guided"] is True
    assert got["controller overhead < 5% of wall time, guided"] is True
    # A list question (four values, each read) does not count against the lookup goal.
    heavy = recs + [_rec("guided", 100, task="niah_multivalue", tokens_in=50_000)]
    assert {goal: met for goal, _, met in goals(heavy)}["model tokens read per lookup < 5% of the corpus at 128K, guided"] is True
    heavy.append(_rec("guided", 100, task="niah_multikey", tokens_in=50_000))
    assert {goal: met for goal, _, met in goals(heavy)}["model tokens read per lookup < 5% of the corpus at 128K, guided"] is False


# -- through the real library path -----------------------------------------------------------

def test_a_typeset_haystack_imports_and_its_needle_is_searchable(tmp_path, lectern_home):
    import bench_ruler
    from app.store import open_store

    s = _gen().sample("niah_single", 8000, 0, seed=11)
    pdf, pages = bench_ruler.pdf_for(s, tmp_path / "pdf")
    assert pdf.is_file() and pages > 3
    assert bench_ruler.pdf_for(s, tmp_path / "pdf") == (pdf, pages)  # cached, not typeset again
    store_path = lectern_home / "library.sqlite3"
    doc_id = bench_ruler.import_pdf(pdf, store_path)
    store = open_store(store_path)
    doc = store.get_document(doc_id)
    assert doc.status == "ready" and doc.page_count == pages
    key = re.search(r"for (\S+) is", s.needles[0]).group(1)
    hits = store.search(f'"{key.replace("-", " ")}"', doc_ids=[doc_id])
    assert hits and any(s.answers[0] in h.text for h in hits)
    assert s.answers[0] in " ".join(store.document_text(doc_id).split())


def test_generated_samples_are_cached_as_json(tmp_path):
    import bench_ruler

    g = _gen()
    first = bench_ruler.samples_for(g, "niah_multivalue", 3000, 2, 9, tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2
    g.sample = None  # a second call must not generate again
    again = bench_ruler.samples_for(g, "niah_multivalue", 3000, 2, 9, tmp_path)
    assert [(s.text, s.answers, s.question) for s in again] == [(s.text, s.answers, s.question) for s in first]

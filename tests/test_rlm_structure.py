"""Document structure as the controller sees it (Environment), and printed page labels
in citations (trace, stored runs, `lectern ask`, `lectern runs show`, `lectern title`)."""

from __future__ import annotations

import json
import re

import pytest

from app.cli import main
from app.ingest import import_paths
from app.llm.fake import FakeModel
from app.rlm import navigate
from app.rlm import sentences as sn
from app.rlm.environment import Environment
from app.rlm.testing import add_text_document, oracle_responder
from app.rlm.trace import Citation, run_to_markdown
from app.store import open_store
from tests import pdfs


@pytest.fixture
def manual(tmp_path):
    pdf = pdfs.structured_pdf(tmp_path / "manual.pdf")
    events = list(import_paths([str(pdf)], workers=0))
    (done,) = [e for e in events if e.kind == "file-done"]
    store = open_store()
    yield store, done.doc_id
    store.close()


def _match(env, question):
    wanted = sn.content_words(question)
    return navigate.matching_sections(env, wanted, sn.weights(env, wanted))


def test_sections_section_at_and_matching_titles(manual):
    store, doc_id = manual
    env = Environment(store)
    text = env.text(doc_id)
    secs = env.sections(doc_id)
    assert [(s.title, s.level) for s in secs] == [("1 Lamps and Lenses", 1), ("1.1 Cleaning the lens", 2),
                                                 ("2 Weather Signals", 1), ("2.1 Fog horn codes", 2)]
    at = text.index("never use oil")
    assert env.section_at(doc_id, at).title == "1.1 Cleaning the lens"  # the innermost section
    assert env.section_at(doc_id, text.index("trimmed at midnight")).title == "1 Lamps and Lenses"
    assert env.section_at(doc_id, 0) is None  # the cover comes before any section
    best = _match(env, "What are the fog horn codes?")[0]
    assert best.section.title == "2.1 Fog horn codes" and best.score > 0.5
    assert _match(env, "How do I clean a lens?")[0].section.title == "1.1 Cleaning the lens"
    assert _match(env, "zeppelin mooring") == []
    s = env.section_slice(best.section)
    assert env.slice_text(s).startswith("2.1 Fog horn codes") and (s.page_start, s.page_end) == (6, 6)


def test_section_slices_end_at_section_boundaries_and_cover_the_text(manual):
    store, doc_id = manual
    env = Environment(store)
    text = env.text(doc_id)
    starts = {s.char_start for s in env.sections(doc_id)}
    for size in (300, 500, 800, 10_000):
        slices = env.section_slices(doc_id, size)
        assert slices[0].char_start == 0 and slices[-1].char_end == len(text)
        assert all(a.char_end == b.char_start for a, b in zip(slices, slices[1:]))
        assert all(s.char_end - s.char_start <= size for s in slices)
    # With room for a section, a slice ends where the next section starts.
    slices = env.section_slices(doc_id, 500)
    assert {s.char_end for s in slices} & starts
    for s in slices:
        if s.char_end in starts:
            assert text[s.char_end:].split("\n", 1)[0] in {x.title for x in env.sections(doc_id)}


def test_page_labels_fill_citations_and_tables_are_reachable(manual):
    store, doc_id = manual
    env = Environment(store)
    assert env.page_label(doc_id, 5) == "990" and env.page_label(doc_id, 1) == "i"
    c = Citation(1, "n1", doc_id, "Manual", 5, "Signals are given by flag", 0, 10)
    env.label_citations([c])
    assert c.page_label == "990" and c.page_text() == "page 990 (PDF page 5)"
    assert Citation(1, "n1", doc_id, "T", 3, "q", 0, 1, page_label="3").page_text() == "page 3"
    assert Citation.from_dict(c.to_dict()) == c
    assert Citation.from_dict({k: v for k, v in c.to_dict().items() if k != "page_label"}).page_text() == "page 5"
    (t,) = env.tables(doc_id)
    assert t.header == ["Code", "Meaning", "Blasts"] and env.tables(doc_id, 5) == []
    assert env.outline(doc_id)[0].page_label == "988"


def test_a_document_without_structure_still_slices(tmp_path):
    with open_store() as store:
        doc_id = add_text_document(store, "Plain", ["One sentence here. " * 40, "Another one there. " * 40])
        env = Environment(store)
        assert env.sections(doc_id) == [] and env.section_at(doc_id, 10) is None and env.tables(doc_id) == []
        assert env.page_label(doc_id, 1) == "" and _match(env, "sentence") == []
        slices = env.section_slices(doc_id, 400)
        assert slices[-1].char_end == len(env.text(doc_id)) and all(s.char_end - s.char_start <= 400 for s in slices)
        # Cut at sentence ends, not mid-word.
        assert all(env.text(doc_id)[s.char_end - 1] in ". \n" for s in slices[:-1])


FACT = "The vault code for project heron is 4417."
FILLER = "The committee reviewed the quarterly figures and noted that revenue remained stable. " * 10


def test_ask_and_runs_show_print_the_printed_page_label(capsys, monkeypatch):
    from app.llm import manager

    def find_heron(text):
        m = re.search(r"[^.]*heron is (\d+)\.", text)
        return (m.group(1), m.group(0).strip()) if m else None

    model = FakeModel(responder=oracle_responder(find_heron))
    monkeypatch.setattr(manager, "load_role", lambda role, **kw: model)
    monkeypatch.setattr(manager, "load_model", lambda path=None, **kw: model)
    with open_store() as store:
        add_text_document(store, "Heron Report", [FILLER, FILLER + FACT], labels=["989", "990"])
    assert main(["ask", "What is the vault code for project heron?"]) == 0
    out = capsys.readouterr().out
    assert "[1] Heron Report, page 990 (PDF page 2): “The vault code for project heron is 4417.”" in out
    assert main(["runs", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)[0]["id"]
    with open_store() as store:
        run = store.get_run(run_id)
    assert run["citations"][0]["page_label"] == "990" and run["citations"][0]["page"] == 2
    assert "page 990 (PDF page 2)" in run_to_markdown(run)
    assert main(["runs", "show", str(run_id), "--markdown"]) == 0
    assert "Heron Report, page 990 (PDF page 2)" in capsys.readouterr().out


def test_lectern_title_renames_a_document(capsys):
    with open_store() as store:
        doc_id = add_text_document(store, "Preface", ["Some text."])
    assert main(["title", str(doc_id), "Annual\nReport 2024"]) == 0
    assert '"Annual Report 2024"' in capsys.readouterr().out
    with open_store() as store:
        d = store.get_document(doc_id)
        assert (d.title, d.title_source) == ("Annual Report 2024", "user")
    assert main(["title", str(doc_id), "  ", "--json"]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["title", "999", "X"]) == 1
    assert "no document with id 999" in capsys.readouterr().err


def test_lectern_outline_prints_entries_labels_and_tables(manual, capsys):
    _, doc_id = manual
    assert main(["outline", str(doc_id), "--tables"]) == 0
    out = capsys.readouterr().out
    assert "4 outline entries, 1 tables" in out and "(title from heading)" in out
    assert "1 Lamps and Lenses  [p. 988 (PDF 3)]" in out and "  1.1 Cleaning the lens  [p. 989 (PDF 4)]" in out
    assert "table 1: page 6 (printed 991), 3 rows x 3 columns" in out and "Code | Meaning | Blasts" in out
    assert main(["outline", str(doc_id), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["outline"][0]["page_label"] == "988" and got["tables"][0]["header"] == ["Code", "Meaning", "Blasts"]
    assert main(["outline", "999"]) == 1


def test_a_question_naming_a_document_reads_only_that_document(store):
    fill = "Filler about other matters. " * 30
    card = add_text_document(store, "Asymptote Reference Card",
                             [fill + "The 3D types of Asymptote are triple, path3 and guide3. " + fill])
    add_text_document(store, "gnuplot documentation", [fill + "3D data types in gnuplot are grids and surfaces. " + fill])
    add_text_document(store, "R Data Import", [fill + "Data types of R are vectors and lists. " + fill])
    env = Environment(store)
    assert navigate.named_documents(env, "Which 3D data types does Asymptote provide?") == [card]
    # Lower-case "data" is no name, though a title has "Data"; all named is no narrowing.
    assert navigate.named_documents(env, "How do I import data types?") == []
    assert len(navigate.named_documents(env, "Does gnuplot or Asymptote draw in 3D?")) == 2
    model = FakeModel(responder=oracle_responder(lambda t: None))
    from app.rlm import Controller

    result = Controller(store, model).ask("Which 3D data types are there in Asymptote?")
    assert {c.doc_id for c in result.citations} <= {card}
    assert any(n.label.startswith("the question names “Asymptote Reference Card”") for n in result.nodes)
    # Naming a title's word is not naming the source: a title must not decide what is read.
    result = Controller(store, model).ask("Which 3D data types does Asymptote provide?")
    assert not any(n.label.startswith("the question names") for n in result.nodes)


def test_a_faq_heading_worded_as_the_question_is_its_section():
    # "Why is R named R?" has no content word but the name: the FAQ's own heading is found.
    from app.store.models import Section

    class Env:  # what matching_sections reads
        doc_ids = [1]

        def sections(self, doc_id):
            return [Section(1, 1, "2.1 What is R?", 2, 0, 500, 7), Section(1, 2, "2.2 Why is R named R?", 2, 500, 900, 14)]

    wanted, idf = {"r"}, {"r": 1.0}
    asked = navigate.matching_sections(Env(), wanted, idf, question="Why is R named R?")
    assert asked[0].section.title == "2.2 Why is R named R?" and asked[0].score == 1.0
    # after a scene the user sets first, the sentence that asks is the heading's question
    asked = navigate.matching_sections(Env(), wanted, idf, question="I use R a lot. Why is R named R?")
    assert asked[0].section.title == "2.2 Why is R named R?" and asked[0].worded_as_asked
    # Without the question's wording the two headings are alike, and the first comes first.
    assert navigate.matching_sections(Env(), wanted, idf)[0].section.title == "2.1 What is R?"


def test_the_phrase_naming_the_source_is_not_asked_of_it():
    assert navigate.without_source("Why is R named R according to the R FAQ?", ["R FAQ"]) == "Why is R named R?"
    assert navigate.without_source("In the Debian Reference, which values are notable?",
                                   ["Debian Reference"]) == "Which values are notable?"
    assert navigate.without_source("How do I draw an arrow in Asymptote?", ["Asymptote Reference Card"]) == \
        "How do I draw an arrow?"
    # The subject itself stays: only "according to / in / from <title>" is the source.
    assert navigate.without_source("Which types does Asymptote provide?", ["Asymptote Reference Card"]) == \
        "Which types does Asymptote provide?"


def test_a_title_with_its_version_run_on_is_named_without_it(store):
    # "LATEX2ε" on the title page; readers say "the LaTeX introduction".
    fill = "Plain text about other things. " * 30
    lshort = add_text_document(store, "The Not So Short Introduction to LATEX2ε", [fill + "Lines hold 66 characters. " + fill])
    add_text_document(store, "A Directory Structure for TEX Files", [fill + "Lines of files are short. " + fill])
    env = Environment(store)
    question = "How many characters does a line hold, according to the LaTeX introduction?"
    assert navigate.named_documents(env, question) == [lshort]
    assert navigate.without_source(question, ["The Not So Short Introduction to LATEX2ε"]) == \
        "How many characters does a line hold?"
    # A name that merely ends in figures names nothing more: "x86" is no versioned "x".
    assert "x" not in navigate._name_words("Notes for x86")


def test_a_list_set_as_a_table_is_read_from_its_column(manual):
    store, doc_id = manual
    model = FakeModel(responder=oracle_responder(lambda t: None))
    from app.rlm import Controller

    result = Controller(store, model).ask("Which meanings can a fog horn code have?", doc_ids=[doc_id])
    assert result.answer.startswith("3 items:"), result.answer
    assert [line.split(" [")[0] for line in result.answer.splitlines()[1:]] == \
        ["- Fog ahead", "- Vessel aground", "- Clear passage"]
    whole = store.document_text(doc_id)
    assert all(whole[c.char_start:c.char_end] == c.quote and c.page == 6 for c in result.citations)
    assert any(n.label.startswith("a list set as a table: the column “Meaning”") for n in result.nodes)


def test_only_a_phrase_made_of_the_title_is_the_source():
    assert navigate.without_source("How do I read a file in a loop in R?", ["A Guide to R"]) == \
        "How do I read a file in a loop?"
    assert navigate.without_source("What is a factor according to An Introduction to R?", ["An Introduction to R"]) == \
        "What is a factor?"
    # the title said as the kind of document it is
    assert navigate.without_source("Who was the main author of the R Data Import/Export manual?",
                                   ["R Data Import/Export"]) == "Who was the main author?"
    assert navigate.without_source("What is the value of the R data frame?", ["R Data Import/Export"]) == \
        "What is the value of the R data frame?"


@pytest.fixture
def fleet(tmp_path):
    pdf = pdfs.layout_table_pdf(tmp_path / "fleet.pdf")
    events = list(import_paths([str(pdf)], workers=0))
    (done,) = [e for e in events if e.kind == "file-done"]
    store = open_store()
    yield store, done.doc_id
    store.close()


def _planner(kind):
    """A model that plans `kind`, extracts no list items and confirms nothing: what is
    answered comes from code."""
    def respond(req):
        body = req.messages[-1]["content"]
        if "Plan how to search" in body:
            return {"kind": kind, "terms": []}
        if body.startswith("List the items"):
            return {"items": []}
        return "no" if req.choices else {"relevant": False}
    return respond


_lookup_planner, _list_planner = _planner("lookup"), _planner("list")


def _card_list(store, text: str, tables, question: str, title: str = "Reference card"):
    """A reference card of `text` and its `tables` (lists of rows on page 1), asked a list
    question by a model that extracts nothing: (the answer's items, the result)."""
    from app.rlm import Controller

    add_text_document(store, title, [text + "Filler about the card and its printing. " * 20],
                      tables=[(1, [], rows) for rows in tables])
    result = Controller(store, FakeModel(responder=_list_planner)).ask(question)
    return [line.split(" [")[0] for line in result.answer.splitlines() if line.startswith("- ")], result


def test_a_figure_is_read_from_its_table_row_with_the_column_label_and_cited_on_its_page(fleet):
    store, doc_id = fleet
    from app.rlm import Controller

    result = Controller(store, FakeModel(responder=_lookup_planner)).ask("What is the tonnage of the North Wind?")
    assert result.answer.startswith("2,015 (Tonnage): Vessel: North Wind; Home port: Port Ellery; Tonnage: 2,015"), \
        result.answer
    (c,) = result.citations
    text = store.document_text(doc_id)
    assert c.page == 1 and text[c.char_start:c.char_end] == c.quote
    assert c.quote.startswith("North Wind") and c.quote.endswith("1958")
    # The row is picked by what the question holds, the column by its header.
    result = Controller(store, FakeModel(responder=_lookup_planner)).ask("Which vessel was built in 1962?")
    assert "Morning Gull" in result.answer and "Tide Runner" not in result.answer, result.answer


def test_a_question_the_table_does_not_hold_is_not_answered_from_it(fleet):
    store, _ = fleet
    from app.rlm import cells
    from app.rlm.environment import Environment

    env = Environment(store)
    assert cells.best_row(env, "What is the tonnage of the North Wind?") is not None
    # Its rarest word is in no row: a header word alone ("tonnage") picks no row.
    assert cells.best_row(env, "What is the tonnage of the Iron Duke?") is None
    assert cells.best_row(env, "What is the capital of France?") is None


def test_a_column_is_no_list_for_a_question_whose_rarest_word_is_not_on_its_page(fleet):
    store, _ = fleet
    from app.rlm import Controller

    result = Controller(store, FakeModel(responder=_list_planner)).ask("List the tonnages in the register.")
    assert any(n.label.startswith("a list set as a table") for n in result.nodes), [n.label for n in result.nodes]
    # The column headed "Tonnage" holds a word of the question, not what it asks about,
    # which another document holds.
    add_text_document(store, "Admiralty notice", ["The Admiralty lists the tonnages of its own ships. " * 3])
    add_text_document(store, "Admiralty minutes", ["The Admiralty meets in the old customs house. " * 3])
    result = Controller(store, FakeModel(responder=_list_planner)).ask("Which tonnages does the Admiralty list?")
    assert "2,015" not in result.answer and not any(n.label.startswith("a list set as a table") for n in result.nodes)


def test_a_row_across_two_page_columns_is_cited_for_the_cells_that_stand_together():
    from app.rlm import cells

    text = ("array {0,1,...,n-1}\nsequence(n)\narray {n,n+1,...,m}\nsequence(n,m)\n" + "filler line\n" * 60
            + "RGB pen from a string\nrgb(string)\n")
    row = ["array {0,1,...,n-1}", "sequence(n)", "RGB pen from a string", "rgb(string)"]
    a, b, n = cells.row_span(row, text)
    assert (text[a:b], n) == ("array {0,1,...,n-1}\nsequence(n)", 2)
    assert cells.row_span(["sequence(n)", "nowhere"], text) is None  # one cell is no row
    # Whole cells: the "1" of "1001" is not a cell "1".
    assert cells.row_span(["Pin", "1"], "Pin 1001") is None


def test_an_instruction_is_read_from_a_reference_card_row_only_when_the_row_names_the_call(store):
    from app.rlm import Controller

    rows = [["draw path with pen", "draw(path,pen)"], ["draw labeled path", "draw(Label,path)"],
            ["draw arrow with pen", "draw(path,pen,Arrow)"], ["fill path with pen", "fill(path,pen)"],
            ["colour of the harbour lamp", "amber"]]
    text = "Drawing commands\n" + "\n".join(f"{a}\n{b}" for a, b in rows) + "\n"
    add_text_document(store, "Reference card", [text + "Filler about the card and its printing. " * 20],
                      tables=[(1, [], rows)])
    result = Controller(store, FakeModel(responder=_lookup_planner)).ask("How do I draw an arrow with a pen?")
    assert result.answer.startswith("draw arrow with pen | draw(path,pen,Arrow) [1]"), result.answer
    assert result.citations[0].quote == "draw arrow with pen\ndraw(path,pen,Arrow)"
    # An instruction whose row names no call is prose's to answer, not the table's.
    result = Controller(store, FakeModel(responder=_lookup_planner)).ask("How do I set the colour of the harbour lamp?")
    assert not any(n.label.startswith("a figure from a table") for n in result.nodes)


def test_a_list_set_as_rows_is_the_cells_beside_the_rows_that_hold_the_question(store):
    rows = [["grayscale pen from value", "gray(g)"], ["RGB pen from values", "rgb(r,g,b)"],
            ["CMYK pen from values", "cmyk(c,m,y,k)"], ["invisible pen", "invisible"],
            ["fill path with pen", "fill(path,pen)"]]
    text = "Pens\n" + "\n".join(f"{a}\n{b}" for a, b in rows) + "\n"
    items, result = _card_list(store, text, [rows], "Which calls make a pen from values?")
    assert items == ["- gray(g)", "- rgb(r,g,b)", "- cmyk(c,m,y,k)"], result.answer
    whole = store.document_text(result.citations[0].doc_id)
    for c in result.citations:
        assert whole[c.char_start:c.char_end] == c.quote
    assert any(n.label.startswith("a list set as rows") for n in result.nodes)


def test_a_list_set_as_the_rows_under_a_title_row_is_that_group_only(store):
    rows = [["Pier structures", ""], ["wooden pier", "jetty"], ["stone pier", "mole"],
            ["Harbour craft types (by hull)", ""], ["flat-bottomed boat", "punt"], ["small sailing boat", "dinghy"],
            ["towing vessel", "tug"], ["Lights", ""], ["red lamp", "port"], ["green lamp", "starboard"]]
    text = "Harbour card\n" + "\n".join(f"{a}\n{b}" if b else a for a, b in rows) + "\n"
    items, result = _card_list(store, text, [rows], "Which harbour craft types are there?", title="Harbour card")
    # The one-word names of the group's rows, not its descriptions, nor the rows of the next group.
    assert items == ["- punt", "- dinghy", "- tug"], result.answer
    whole = store.document_text(result.citations[0].doc_id)
    assert [whole[c.char_start:c.char_end] for c in result.citations] == ["punt", "dinghy", "tug"]
    assert any(n.label.startswith("a list set as the rows under “Harbour craft types") for n in result.nodes)


def test_a_row_holding_the_head_of_the_asked_phrase_without_its_modifier_is_about_something_else(fleet):
    store, _ = fleet
    from app.rlm import cells
    from app.rlm.environment import Environment

    env = Environment(store)
    assert cells.best_row(env, "What is the home port of the North Wind in the harbour register?") is not None
    # "Grey Wind" is one name: the row of the "Grey Heron" is another vessel's.
    assert cells.best_row(env, "What is the home port of the Grey Wind in the harbour register?") is None


def test_of_two_tables_listing_rows_the_one_with_more_rows_is_read(store):
    small = [["blue pen from values", "blue(v)"], ["green pen from values", "green(v)"]]
    large = [["grayscale pen from value", "gray(g)"], ["RGB pen from values", "rgb(r,g,b)"],
             ["CMYK pen from values", "cmyk(c,m,y,k)"]]
    text = "\n".join(f"{a}\n{b}" for a, b in small) + "\nmore pens\n" + "\n".join(f"{a}\n{b}" for a, b in large) + "\n"
    items, result = _card_list(store, text, [small, large], "Which calls make a pen from values?")
    assert items == ["- gray(g)", "- rgb(r,g,b)", "- cmyk(c,m,y,k)"], result.answer


def test_an_instruction_row_must_say_what_is_asked_itself_not_through_its_caption(store):
    from app.rlm import cells
    from app.rlm.environment import Environment

    rows = [["/dev/null", "read", "return end-of-file"], ["/dev/zero", "read", "return zeros"],
            ["/dev/random", "read", "return random bytes"]]
    text = "Missing values and how to test for them in special files\n" + \
        "\n".join(" ".join(r) for r in rows) + "\n" + "Filler about devices. " * 20
    add_text_document(store, "Devices", [text], tables=[(1, [], rows)])
    env = Environment(store)
    # The caption holds "test" and "missing values"; the row only "return" and "null".
    question = "How do I test for missing values that return null?"
    assert cells.best_row(env, question, needs_code=True) is None
    assert cells.best_row(env, question) is not None  # as a figure, the caption may name the table


def test_a_table_captioned_below_is_the_list_its_caption_names(tmp_path):
    pdf = pdfs.wrapped_table_pdf(tmp_path / "cannery.pdf")
    (done,) = [e for e in import_paths([str(pdf)], workers=0) if e.kind == "file-done"]
    store = open_store()
    model = FakeModel(responder=oracle_responder(lambda t: None))
    from app.rlm import Controller

    # "Stage" heads the column; the caption below the table says whose stages they are.
    result = Controller(store, model).ask("Which stages does the harbour cannery work in?",
                                          doc_ids=[done.doc_id])
    assert [line.split(" [")[0] for line in result.answer.splitlines()[1:]] == \
        [f"- {row[0]}" for row in pdfs.WRAPPED_ROWS], result.answer
    assert any(n.label.startswith("a list set as a table: the column “Stage”") for n in result.nodes)
    store.close()


def test_a_verb_of_the_question_is_no_half_of_a_phrase_a_row_must_hold(tmp_path):
    # "which tool gives…": "gives" asks, as "give" does; read as a word of the question, it
    # made "tool gives" a phrase that no row holds whole, and no row answered.
    pdf = pdfs.wrapped_table_pdf(tmp_path / "cannery.pdf")
    (done,) = [e for e in import_paths([str(pdf)], workers=0) if e.kind == "file-done"]
    store = open_store()
    from app.rlm import cells

    found = cells.best_row(Environment(store), "Which tool gives each sorted batch a wash in cold sea water?")
    assert found is not None
    table, row, col, _, _ = found
    assert table.rows[row][2] == "rinse" and table.header[col] == "Tool"
    store.close()


def test_a_figure_is_read_from_output_printed_in_a_fixed_pitch_by_its_row_label(tmp_path):
    from app.rlm import Controller

    pdf = pdfs.printed_output_pdf(tmp_path / "session.pdf")
    (done,) = [e for e in import_paths([str(pdf)], workers=0) if e.kind == "file-done"]
    store = open_store()
    # A row label with a figure is an exact key ("fm1"), or a word ("m0"): either way the row
    # it labels is read under the column the question names, and cited where it stands.
    result = Controller(store, FakeModel(responder=_lookup_planner)).ask("What AIC does fm1 have?")
    assert result.answer.startswith("1802.5 (AIC): fm1; npar: 4; AIC: 1802.5; BIC: 1814.9"), result.answer
    (c,) = result.citations
    assert store.document_text(done.doc_id)[c.char_start:c.char_end] == c.quote
    assert c.quote.startswith("fm1") and "1802.5" in c.quote
    result = Controller(store, FakeModel(responder=_lookup_planner)).ask("What is the BIC of m0?")
    assert result.answer.startswith("1919.8 (BIC): m0;"), result.answer
    # A label printed once for its group ("Lost" over "Heron" and "Gull") is the group's rows'.
    result = Controller(store, FakeModel(responder=_lookup_planner)).ask("How many were lost by the gulls at C?")
    assert result.answer.startswith("39 (C): Gear Catch Boat: Lost Gull; A: 2; B: 0; C: 39 [1]"), result.answer
    assert result.citations[0].quote.startswith("Gull")  # where the row stands on the page
    result = Controller(store, FakeModel(responder=_lookup_planner)).ask("How many were lost by the terns at C?")
    assert not any(n.label.startswith("a figure from a table") for n in result.nodes), result.answer
    store.close()

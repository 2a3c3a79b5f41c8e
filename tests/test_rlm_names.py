"""Names as a standard's readers meet them: a name the question spells out that the document
abbreviates ("TeX Directory Structure" / "the TDS"), a name its title page gives, a version
it never had, a book's index, and a small model's bare "true" for an answer."""

from __future__ import annotations

from app.llm.fake import FakeModel
from app.rlm import NOT_FOUND, Controller
from app.rlm import qshape
from app.rlm import sentences as sn
from app.rlm.testing import add_text_document, oracle_responder

FILLER = [f"Section {i}. Implementors keep the files of week {i} in the tree and check each directory again. " * 4
          for i in range(10)]
STANDARD = ["A Layout for Widget Files. Working Group on a Widget Exchange Format (WG-WEF), version 1.1, June 2004. "
            "Compatible tools: AmiWidget 2.0, and the reader version 4.2.0.",
            "History. Version 1.0 of the WEF was released in February 2003. Version 1.1 was released in June 2004, "
            "with new top-level directories."] + FILLER + [
    "Bitmap fonts. Small differences in the resolution are a common cause of frustration among users, so "
    "implementors should allow a fuzz of 0.2% in bitmap font searches."]


def ask(store, question, pages=STANDARD, responder=None):
    doc = add_text_document(store, "A Layout for Widget Files", pages)
    model = FakeModel(responder=responder or oracle_responder(lambda text: None))
    return Controller(store, model).ask(question, doc_ids=[doc])


def test_a_name_the_question_spells_out_is_held_by_its_acronym(store):
    assert qshape.spelled_acronyms("When did version 1.0 of the Widget Exchange Format come out?") == [
        ("WEF", {"widget", "exchang", "format"})]
    result = ask(store, "When did version 1.0 of the Widget Exchange Format come out?")
    assert "February 2003" in result.answer, result.answer
    assert result.citations[0].quote.startswith("Version 1.0 of the WEF")


def test_a_name_the_documents_title_page_gives_need_not_be_repeated_by_the_passage(store):
    result = ask(store, "How much tolerance in the resolution should bitmap font searches allow, according to the WEF?")
    assert "0.2%" in result.answer, result.answer


def test_a_version_no_document_gives_is_not_found(store):
    # "2.0" and "4.2.0" are there, of other things: no document gives the WEF a version 2.0.
    result = ask(store, "When was version 2.0 of the Widget Exchange Format published?")
    assert result.answer.startswith(NOT_FOUND), result.answer
    assert "version 2.0" in result.answer


def test_a_books_index_states_nothing():
    assert sn.is_index_run("\\documentclass, 9, 13, 18 dot, 47 dotless i and j, 23 dots, 47 three, 47 double line spacing, 111")
    assert not sn.is_index_run("The values 1, 2, 5, 10, 20 and 50 are allowed for the step.")
    assert not sn.is_index_run("Copyright 1994, 1995, 1996, 1997 TeX Users Group.")


def test_an_index_page_is_no_answer(store):
    pages = FILLER + ["Line spacing. To make every page of a document double spaced, load the setspace package "
                      "and write \\doublespacing in the preamble."] + FILLER + [
        "Index. dots, 47 whole document, 12 double spaced, 111 make, 4 document class, 9 three, 47"]
    result = ask(store, "How can I make my whole document double spaced?", pages=pages)
    assert "doublespacing" in result.answer and "111" not in result.answer, result.answer


def test_a_bare_true_from_the_model_answers_no_what_question(store):
    pages = FILLER[:5] + ["Panel-corrected standard errors are robust against contemporaneous correlation "
                          "across panels, with sandwich = TRUE by default."] + FILLER[5:]
    inner = oracle_responder(lambda text: "contemporaneous correlation" if "contemporaneous" in text else None)

    def respond(request):
        reply = inner(request)
        if isinstance(reply, dict) and reply.get("answer"):
            return {**reply, "answer": "true"}  # as a 135M model does, from "sandwich = TRUE"
        return reply

    result = ask(store, "What are panel-corrected standard errors robust against?", pages=pages, responder=respond)
    assert not result.answer.lower().startswith("true"), result.answer
    assert "contemporaneous correlation" in result.answer


def test_a_two_word_name_may_be_written_as_one_word(store):
    assert qshape.joined_names("What command makes Widget Live see it?") == [("WidgetLive", {"widget", "live"})]
    assert qshape.joined_names("What does the Bank of England do?") == []  # joined by "of": no one word
    pages = FILLER[:6] + [
        "Refreshing. After a new layout file is copied into the tree, refresh the file-name database. The command "
        "depends on the distribution you use: WidgetLive – widgethash; AmiWidget – rehash --all."] + FILLER[6:]
    result = ask(store, "I copied a new layout file into the tree. What command do I run so that Widget Live notices it?",
                 pages=pages)
    assert not result.answer.startswith(NOT_FOUND), result.answer
    assert result.citations and "refresh the file-name database" in result.citations[0].quote + result.answer


def test_a_term_the_question_spells_out_in_lower_case_is_held_by_its_acronym(store):
    from app.rlm import answerable
    from app.rlm.environment import Environment

    assert ("BOM", {"byte", "order", "mark"}) in qshape.phrase_acronyms("How do I read a file with a byte order mark?")
    assert not [a for a, _ in qshape.phrase_acronyms("How do I read a UTF-8 text file?") if a.startswith("U")]
    page = ("Encodings. A file which the file command reports as UTF-8 Unicode (with BOM) text can be read "
            "by giving the widget reader the encoding UTF-8-BOM." + " " * 400 + "A bom is also a kind of bell in the tower.")
    clerk = "The clerk files each byte count, order form and mark sheet that starts a week."
    doc = add_text_document(store, "Widget Encodings", FILLER + [clerk] + FILLER + [page])
    env = Environment(store, [doc])
    text = env.text(doc)
    at = text.index("A file which")
    verdict = answerable.judge(env, "How do I make the widget reader take a file that starts with a byte order mark?",
                               [(doc, at, at + 110)])
    assert verdict.ok and "mark" in verdict.held, verdict.why
    # only the acronym written in capitals counts: "bom" as a word says nothing of the term
    late = text.index("A bom is")
    far = answerable.judge(env, "Which byte order mark rings in the tower?", [(doc, late, late + 40)])
    assert "mark" not in far.held

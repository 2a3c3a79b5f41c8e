"""A comparison the document states itself ("The main features distinguishing lme4 from nlme
are…", "The main advantage of nlme relative to lme4 is…") is quoted, both ways round, before
each side is looked up on its own."""

from __future__ import annotations

from app.llm.fake import FakeModel
from app.rlm import Controller
from app.rlm.testing import add_text_document, oracle_responder

PAPER = [
    "The quill package fits mixed models in R. The quill package provides functions to fit and analyse "
    "linear mixed models. Quill is a tool for fitting models to grouped data from many studies.",
    "At present, the main alternative to quill for mixed modelling in R is the plume package. The main "
    "features distinguishing quill from plume are (1) more efficient linear algebra tools, giving improved "
    "performance on large problems; (2) simpler syntax for models with crossed random effects; and (3) "
    "profile likelihood confidence intervals. The main advantage of plume relative to quill is a user "
    "interface for fitting models with structure in the residuals, such as autocorrelation. Plume is a "
    "package for nonlinear models as well.",
] + [f"Section {i}. The models are fitted to the grouped data and checked with residual plots of week {i}. " * 4
     for i in range(8)]


def ask(store, question):
    doc = add_text_document(store, "Paper", PAPER)
    model = FakeModel(responder=oracle_responder(lambda text: None))  # the code reads, the model adds nothing
    return Controller(store, model).ask(question, doc_ids=[doc])


def test_the_documents_own_comparison_is_quoted_both_ways_round(store):
    result = ask(store, "How does quill compare with the plume package: what does each do better?")
    assert "distinguishing quill from plume" in result.answer, result.answer
    assert "advantage of plume relative to quill" in result.answer
    assert len(result.citations) == 2 and "crossed random effects" in result.citations[0].quote
    node = next(n for n in result.nodes if n.data.get("direct"))
    assert node.fate == "cited" and node.data["sides"] == ["quill", "plume package"]


def test_without_a_comparing_sentence_each_side_is_looked_up(store):
    # Both are named together, but nothing says how they differ: each side's own sentence.
    pages = [PAPER[0], "At present, the main alternative to quill for mixed modelling in R is the plume package. "
             "Plume is a package for nonlinear models as well."] + PAPER[2:]
    doc = add_text_document(store, "Paper", pages)
    result = Controller(store, FakeModel(responder=oracle_responder(lambda text: None))).ask(
        "What is the difference between quill and plume?", doc_ids=[doc])
    assert not any(n.data.get("direct") for n in result.nodes)
    assert "Quill is a tool" in result.answer or "quill package provides" in result.answer, result.answer
    assert "Plume is a package" in result.answer, result.answer


def test_commands_compared_are_each_read_where_spelled_and_read_whole(store):
    # The trailing "when splitting…" sets the scene for both sides; a command is named by its
    # backslash form only ("Inputs … included" names neither), and each side's statement is
    # read whole: the case before "In this case, use…", "It…" and "Note that…" after.
    pages = ["Inputs for extensions are included under one tree, instead of in their own directories. " * 2,
             "When working on big documents, you might want to split the input file into several parts. "
             "\\include{filename} Use this command in the document body to insert the contents of another file "
             "named filename.tex. Note that the typesetter will start a new page before processing the material.\n\n"
             "Sometimes this might not be desirable. In this case, use the \\input{filename} command. "
             "It simply includes the file specified.\n\n"] + PAPER[2:]
    doc = add_text_document(store, "Guide", pages)
    result = Controller(store, FakeModel(responder=oracle_responder(lambda text: None))).ask(
        "What is the difference between \\include and \\input when splitting a big document into files?", doc_ids=[doc])
    node = next(n for n in result.nodes if n.data.get("sides"))
    assert node.data["sides"] == ["\\include", "\\input"] and not node.data.get("direct")
    lines = result.answer.splitlines()
    assert lines[0].startswith("\\include: \\include{filename} Use this command") and "new page" in lines[0], result.answer
    assert lines[1].startswith("\\input: Sometimes this might not be desirable. In this case, use the \\input{filename}")
    assert lines[1].endswith("It simply includes the file specified. [2]")


def test_the_first_side_stops_short_of_the_statement_quoted_for_the_second(store):
    # "…data frame. hbSendQuery sends…" is one sentence to the splitter (a name in lower case
    # starts the next): the first side does not read on into it, so no text is quoted twice.
    pages = ["Harbour queries can be sent by either hbSendQuery or hbGetQuery. hbGetquery sends the query and "
             "retrieves the results as a data frame. hbSendQuery sends the query and returns a handle of class "
             "\"HBResult\" to fetch the results from.\n\n"] + PAPER[2:]
    doc = add_text_document(store, "Guide", pages)
    result = Controller(store, FakeModel(responder=oracle_responder(lambda text: None))).ask(
        "What is the difference between hbGetQuery and hbSendQuery?", doc_ids=[doc])
    first, second = result.citations
    assert first.char_end <= second.char_start or second.char_end <= first.char_start, result.answer
    assert "HBResult" in second.quote


def test_a_note_after_a_statement_goes_on_saying_it_but_needs_nothing_before_it(store):
    from app.rlm import sentences as sn
    from app.rlm.environment import Environment

    text = ("We have often looked at such files with a hex editor to work out what they hold. Note that utf8 is "
            "no valid encoding name, and macintosh is the name for the Mac Roman encoding.\n\n")
    doc = add_text_document(store, "Guide", [text])
    env = Environment(store, [doc])
    note = text.index("Note that")
    r = sn.Ranked(1.0, 1.0, doc, note, text.index("\n\n"), text[note:text.index("\n\n")], frozenset())
    assert sn.antecedent(env, r) is None
    before = sn.Ranked(1.0, 1.0, doc, 0, note - 1, text[:note - 1], frozenset())
    assert sn.continuation(env, before).end == r.end

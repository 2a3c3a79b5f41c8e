"""Lists set as terms with descriptions (definition lists): a term alone on its line, a
term of code on its description's line, "Label: description" lines; introduced by a colon,
by a table's caption, or by a sentence that names the table. And what a question sets
aside, or the document it names as its subject, is not what the answer must say."""

from __future__ import annotations

from app.llm.fake import FakeModel
from app.rlm import Controller, deflist, navigate
from app.rlm.terms import analyse, strip_framing
from app.rlm.testing import add_text_document, oracle_responder

HANDBOOK = [f"Chapter {i}. The release team reviews the uploads of week {i} and records each decision. "
            f"Look in the tracker for problems of all kinds before an upload. " * 4 for i in range(12)]


def _ask(store, page, at: int, question: str, title: str = "Handbook"):
    """(document id, result) of `question` over a handbook with `page` as page at+1, read by
    code alone: the model adds nothing."""
    doc = add_text_document(store, title, HANDBOOK[1:at] + [page] + HANDBOOK[at:])
    model = FakeModel(responder=oracle_responder(lambda text: None))
    return doc, Controller(store, model).ask(question, doc_ids=[doc])


def _cited_where_it_stands(store, doc, result, page: int) -> None:
    c = result.citations[0]
    assert c.page == page and store.document_text(doc)[c.char_start:c.char_end] == c.quote


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def _items(text: str) -> list[str]:
    return [" ".join(text[a:b].split()) for a, b in deflist.items(text, _lines(text))]


def test_a_term_alone_on_its_line_is_an_item_with_the_description_below_it():
    text = ("tex\nfor TeX files (Section 3.1).\nfonts\nfor font-related files (Section 3.2).\n"
            "source\nfor sources.\nThis includes both traditional program sources and other\nsources alike.\n")
    assert _items(text) == ["tex for TeX files (Section 3.1).", "fonts for font-related files (Section 3.2).",
                            "source for sources."]  # the last item ends with its sentence: prose may follow


def test_a_term_of_code_on_its_descriptions_line_starts_an_item_where_the_line_before_ended():
    text = ("article for articles in scientific journals, presentations, short reports, pro-\n"
            "gram documentation, invitations, …\n"
            "proc a class for proceedings based on the article class.\n"
            "minimal is as small as it can get. It only sets a page size and a base font.\n"
            "It is mainly used for debugging purposes.\n"
            "report for longer reports containing several chapters, small books, PhD\n"
            "theses, …\n"
            "book for real books\n")
    got = _items(text)
    assert [x.split()[0] for x in got] == ["article", "proc", "minimal", "report", "book"]
    assert got[2].endswith("It is mainly used for debugging purposes.")  # a capitalised line carries on


def test_labelled_lines_are_items_and_prose_is_no_list():
    assert [x.split(":")[0] for x in _items("Scope: the whole selection.\nDepth: two levels of sub-queries.\n")] == \
        ["Scope", "Depth"]
    prose = ("The archive keeps many packages and their sources in one place for the project, and the\n"
             "release team reviews the uploads of each week before it records its decisions in the\n"
             "tracker for everyone to see.\n")
    assert _items(prose) == []
    # Lines of a table, one cell each, are not terms with descriptions.
    assert _items("Name\nSize\nDate\nfoo\n12\n2001\n") == []


def test_a_list_named_by_a_table_reference_is_read_from_under_the_tables_caption(store):
    page = (HANDBOOK[0] + "\nThe style parameter of the command defines which one to use. Table 1.4 lists the "
            "predefined page styles.\nTable 1.4: The Predefined Page Styles of LaTeX.\n"
            "plain prints the page numbers on the bottom of the page, in the middle of the\n"
            "footer. This is the default page style.\n"
            "headings prints the current chapter heading and the page number in the header\n"
            "on each page, while the footer remains empty.\n"
            "empty sets both the header and the footer to be empty.\n")
    doc, result = _ask(store, page, 6, "Which page styles are predefined?")
    assert result.answer.startswith("3 items:"), result.answer
    assert [line.split()[1] for line in result.answer.splitlines()[1:]] == ["plain", "headings", "empty"]
    whole = store.document_text(doc)
    assert all(whole[c.char_start:c.char_end] == c.quote and c.page == 6 for c in result.citations)


def test_a_list_keyed_by_a_hyphenated_word_is_read_after_its_lead_in(store):
    page = (HANDBOOK[0] + "\nThe top-level directories specified by the standard are:\ntex\nfor TeX files.\n"
            "fonts\nfor font-related files.\nmetafont\nfor Metafont files which are not fonts.\n"
            "doc\nfor user documentation.\n")
    assert analyse("Which top-level directories does the standard specify?").exact == ["top-level"]
    _, result = _ask(store, page, 4, "Which top-level directories does the standard specify?")
    assert result.answer.startswith("4 items:"), result.answer
    assert [line.split()[1] for line in result.answer.splitlines()[1:]] == ["tex", "fonts", "metafont", "doc"]
    assert all(c.page == 4 for c in result.citations)


def test_what_a_question_sets_aside_is_not_asked_for():
    assert strip_framing("What bootstrap types can it use, besides plain pairs resampling?") == \
        "What bootstrap types can it use?"
    assert strip_framing("Which options, other than -q, silence it?") == "Which options silence it?"
    assert strip_framing("Apart from R, what else is there?") == "What else is there?"
    # Not set off by a comma: part of what is asked.
    assert strip_framing("Which packages other than base are loaded?") == "Which packages other than base are loaded?"
    assert strip_framing("What does except do in Python?") == "What does except do in Python?"


def test_a_document_named_as_the_subject_of_what_a_document_does_is_the_source():
    title = ["The Not So Short Introduction to LATEX2ε"]
    asked = navigate.without_source("Which document classes does the Not So Short Introduction to LaTeX describe?", title)
    assert asked == "Which document classes are there?" and analyse(asked).kind == "list"
    assert navigate.without_source("Which plots does the gnuplot manual describe?", ["gnuplot"]) == \
        "Which plots are there?"
    # What the program does, or a phrase that is more than the title, stays.
    assert navigate.without_source("Which types does Asymptote provide?", ["Asymptote Reference Card"]) == \
        "Which types does Asymptote provide?"
    assert navigate.without_source("Which plots does the new gnuplot terminal describe?", ["gnuplot"]) == \
        "Which plots does the new gnuplot terminal describe?"


def test_one_selected_document_named_in_the_question_is_its_source_too(store):
    page = (HANDBOOK[0] + "\nTo reset the gadget, hold the red button for ten seconds until the lamp blinks.\n")
    _, result = _ask(store, page, 3, "How do I reset the gadget according to the Gadget Owner's Handbook?",
                     title="The Gadget Owner's Handbook")
    named = [n for n in result.nodes if n.kind == "filter" and n.label.startswith("the question names")]
    assert named and named[0].output == "asks of it: How do I reset the gadget?", [n.label for n in result.nodes]
    assert "hold the red button" in result.answer and result.citations[0].page == 3


def test_a_term_on_a_line_of_its_own_is_answered_by_its_entry_in_the_list_the_question_names(store):
    page = (HANDBOOK[0] + "\nParcels are sent in one of the ways below. See Table 3.\n"
            "Table 3: Shipping codes of the depot.\nCode\nMeaning of the code\n"
            "X\nexpress delivery within one day.\nS\nstandard delivery within five days.\n"
            "P\npickup at the depot only, never delivered.\n")
    doc, result = _ask(store, page, 5, "In the table of shipping codes, what does code P mean?")
    assert result.answer == "P: pickup at the depot only, never delivered. [1]", result.answer
    _cited_where_it_stands(store, doc, result, 5)
    assert any(n.label.startswith("a term described in a list") for n in result.nodes)
    # A code the list does not hold is not read from a neighbour's entry.
    model = FakeModel(responder=oracle_responder(lambda text: None))
    other = Controller(store, model).ask("In the table of shipping codes, what does code Q mean?", doc_ids=[doc])
    assert not other.answer.startswith(("X:", "S:", "P:")), other.answer


def test_a_caption_below_its_table_introduces_nothing_after_it_and_a_heading_is_no_term():
    text = ("6\nKERN_INFO\ninformational\n7\nKERN_DEBUG\ndebug-level messages\nTable 3.4: List of kernel error levels\n"
            "3.4\nThe system message\nUnder systemd, both kernel and system messages are logged by the journal.\n")
    at = text.index("Table 3.4")
    assert deflist.caption_below_table(text, at)
    prose = "The style parameter of the command defines which one to use, as the next table shows in full.\n"
    assert not deflist.caption_below_table(prose + "Table 1.4: Page styles.\n", len(prose))
    assert not deflist.term_alone("The system message") and not deflist.term_alone("$ journalctl -b")
    assert deflist.term_alone("metafont") and deflist.term_alone("mft/")
    after = text.index("3.4\n")
    assert _items(text[after:]) == []


def test_a_name_defined_in_a_block_of_code_is_answered_by_its_line(store):
    page = (HANDBOOK[0] + "\nEach signal lamp flashes in a rhythm of on and off beats, measured in seconds. "
            "The harbour's predefined lamp rhythms are:\n"
            "rhythm steady=flash(new real[] {1,0});\n"
            "rhythm quick=flash(new real[] {1,1});\n"
            "rhythm slowblink=flash(new real[] {6,2});\n"
            "The default rhythm is steady.\n")
    doc, result = _ask(store, page, 5, "Which on and off beats make the predefined slowblink lamp rhythm?")
    assert result.answer == "slowblink: rhythm slowblink=flash(new real[] {6,2}); [1]", result.answer
    _cited_where_it_stands(store, doc, result, 5)
    # One assignment alone is a line of an example, not a block of definitions to look a name up in.
    page = (HANDBOOK[0] + "\nEach signal lamp flashes in a rhythm of on and off beats, measured in seconds. "
            "A predefined lamp rhythm is set like this:\nrhythm slowblink=flash(new real[] {6,2});\n"
            "and it is kept until the keeper changes it.\n")
    _, alone = _ask(store, page, 5, "Which on and off beats make the predefined slowblink lamp rhythm?", title="Log")
    assert not alone.answer.startswith("slowblink:"), alone.answer
    # Arguments of a call that runs over several lines define nothing.
    page = (HANDBOOK[0] + "\nEach signal lamp flashes in a rhythm of on and off beats, measured in seconds. "
            "The predefined lamp rhythm is set by a call like:\nlamp(harbour,\nslowblink = TRUE,\n"
            "beats = c(6, 2))\nand it is kept until the keeper changes it.\n")
    _, call = _ask(store, page, 5, "Which on and off beats make the predefined slowblink lamp rhythm?", title="Call")
    assert not call.answer.startswith(("slowblink:", "beats:")), call.answer

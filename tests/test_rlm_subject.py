"""A value stated of a subject named sentences before ("Debian 2.2 Potato (15 August 2000):
… this release consisted of more than 3900 binary packages"): read from the subject's name
on, for a lookup ("How many binary packages did Debian 2.2 have?") and for a comparison of
one attribute across two holders ("How did the number of binary packages in Debian 3.0
compare with Debian 2.2?"), one lookup per side."""

from __future__ import annotations

from app.llm.fake import FakeModel
from app.rlm import Controller
from app.rlm import sentences as sn
from app.rlm.compare import attribute, sides
from app.rlm.testing import add_text_document, oracle_responder

# A history laid out as many release notes are: the release named once, what it held after.
RELEASES = (
    "Release 2.2 Tuber (15 August 2000): Named after a vegetable in a film. This release added support for "
    "two architectures. With Ana still serving as leader, this release consisted of more than 3900 binary "
    "packages derived from over 2600 source packages maintained by more than 450 developers.\n"
    "Release 3.0 Cowboy (19 July 2002): Named after the main character of the film. Even more architectures "
    "were added in this release. This is also the first release to include cryptographic software. With Bo "
    "recently appointed leader, and more than 900 developers, this release contained around 8,500 binary "
    "packages and 7 binary CDs in the official set.\n"
    "Release 3.1 Sergeant (6 June 2005): No new architectures were added to the release. This release "
    "features a new installer, a modular piece of software. It was made by more than nine hundred developers, "
    "and contained around 15,400 binary packages and 14 binary CDs in the official set.\n"
)
FILLER = [f"Chapter {i}. The team reviews the uploads of week {i} and records each decision about the archive. " * 4
          for i in range(10)]


def ask(store, question):
    doc = add_text_document(store, "History", FILLER[:5] + [RELEASES] + FILLER[5:])
    model = FakeModel(responder=oracle_responder(lambda text: None))  # the code reads, the model adds nothing
    return Controller(store, model).ask(question, doc_ids=[doc])


def test_an_attribute_named_on_one_side_is_compared_for_both():
    pair = sides("How did the number of binary packages in Debian 3.0 compare with Debian 2.2?")
    assert attribute(pair) == ("number of binary packages", ("Debian 3.0", "Debian 2.2"))
    assert attribute(sides("How did revenue in 2021 compare with 2020?")) == ("revenue", ("2021", "2020"))
    # Two things compared as wholes have no attribute in common to look up.
    assert attribute(sides("How does lme4 compare with the nlme package: what does each do better?")) is None
    assert attribute(sides("What is the difference between a package and a library?")) is None
    # A second side that repeats the attribute's words is a side of its own.
    assert attribute(("speed of the old parser", "the new parser's speed")) is None


def test_a_statement_is_read_from_the_sentence_naming_its_subject(store):
    from app.rlm.environment import Environment

    doc = add_text_document(store, "History", [RELEASES])
    env = Environment(store, [doc])
    text = env.text(doc)
    a = text.index("With Bo recently")
    b = text.index("official set.", a) + len("official set.")
    r = sn.Ranked(1.0, 1.0, doc, a, b, text[a:b], frozenset())
    got = sn.subject_before(env, r, "Release 3.0")
    assert got is not None and got.text.startswith("Release 3.0 Cowboy") and got.end == b
    # Walking back from 3.1's figure meets "Release 3.1" first: not 3.0's statement.
    a = text.index("It was made by")
    b = text.index("official set.", a) + len("official set.")
    r = sn.Ranked(1.0, 1.0, doc, a, b, text[a:b], frozenset())
    assert sn.subject_before(env, r, "Release 3.0") is None
    assert sn.subject_before(env, r, "Release 3.1").text.startswith("Release 3.1 Sergeant")


def test_each_side_is_answered_with_its_own_value_and_cited_from_its_name_on(store):
    result = ask(store, "How did the number of binary packages in Release 3.0 compare with Release 2.2?")
    lines = result.answer.splitlines()
    assert lines[0].startswith("Release 3.0: around 8,500 binary packages") and lines[0].endswith("[1]")
    assert lines[1].startswith("Release 2.2: more than 3900 binary packages") and lines[1].endswith("[2]")
    quotes = {c.n: c.quote for c in result.citations}
    assert quotes[1].startswith("Release 3.0 Cowboy") and "8,500 binary packages" in quotes[1]
    assert quotes[2].startswith("Release 2.2 Tuber") and "3900 binary packages" in quotes[2]
    assert "15,400" not in result.answer
    node = next(n for n in result.nodes if n.data.get("attribute"))
    assert node.data["sides"] == ["Release 3.0", "Release 2.2"] and node.fate == "cited"


def test_a_numbered_subject_is_a_named_thing_with_its_number_or_a_year():
    assert sn.numbered_subject("How many binary packages did Debian 2.2 have?") == "Debian 2.2"
    assert sn.numbered_subject("What was the revenue in 2021?") == "2021"
    # The document's own parts are references, not subjects.
    assert sn.numbered_subject("What AIC does the model in Table 2 have?") == ""
    assert sn.numbered_subject("How many steps does the installer take?") == ""


def test_a_lookup_reads_a_value_from_the_sentence_naming_its_subject(store):
    result = ask(store, "How many binary packages did Release 2.2 have?")
    assert result.answer.startswith("3900")  # the value its own sentence states, not "2.2" or the date
    quote = result.citations[0].quote
    assert quote.startswith("Release 2.2 Tuber") and "more than 3900 binary packages" in quote
    assert "8,500" not in result.answer and "15,400" not in result.answer


def test_a_quality_the_document_names_otherwise_is_compared_by_what_it_says_of_each_side(store):
    """"that of CTAN" stands for "the purpose of CTAN"; the document speaks of roles, not
    purposes, so each side is looked up on its own rather than read as one lookup."""
    assert attribute(sides("How does the purpose of the TDS differ from that of CTAN?")) == ("purpose", ("the TDS", "CTAN"))
    page = ("The role of the Ledger is to keep every payment made by the society in one place. "
            "The role of the Almanac is to announce the dates of the meetings to members. ")
    doc = add_text_document(store, "History", FILLER[:5] + [page] + FILLER[5:])
    model = FakeModel(responder=oracle_responder(lambda text: None))
    result = Controller(store, model).ask("How does the purpose of the Ledger differ from that of the Almanac?",
                                          doc_ids=[doc])
    assert any(n.label.startswith("a comparison") for n in result.nodes), result.answer
    assert "keep every payment" in result.answer and "announce the dates" in result.answer, result.answer
    assert len(result.citations) == 2

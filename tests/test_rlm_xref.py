"""A sentence that refers elsewhere in its document is followed: the referenced section is
read and ranked for the question, and the answer cites it (app.rlm.xref)."""

from __future__ import annotations

from app.rlm import Controller, xref
from app.rlm.environment import Environment
from app.rlm.testing import add_text_document, unhelpful_model

FILLER = "The harbour office opens at eight and closes at six on weekdays. " * 12


def test_references_as_manuals_write_them():
    assert [(r.title, r.number, r.page) for r in xref.references(
        "Command scripts may place in-line data in a named data block. See inline data (p. 48).")] == \
        [("inline data", "", "48")]
    assert [(r.title, r.number, r.page) for r in xref.references(
        "The non-free-firmware area is described in Section\xa02.1.4.")] == [("", "2.1.4", "")]
    assert [(r.title, r.number, r.page) for r in xref.references(
        "(see Section 3.2 [Lamp care], page 12)")] == [("Lamp care", "3.2", "12")]
    assert [r.number for r in xref.references("Build flags are listed in Appendix B.")] == ["B"]
    assert xref.references("The lamp burns for six hours in section A of the tower.") == []
    assert xref.only_refers("See the lamp log kept in Section 3.2.")
    assert not xref.only_refers("The rules for trimming a lamp wick are covered in Section 3.2.")


def test_a_pointer_is_followed_to_the_section_it_names_and_the_answer_cites_it(store):
    pointer = "The rules for trimming a lamp wick are covered in Section 3.2. "
    doc = add_text_document(store, "Keeper's Handbook", [
        FILLER + pointer + FILLER,
        FILLER,
        "3.1\nLamp oil\nOil is poured through a funnel. " + FILLER + "\n3.2\nLamp care\n"
        "Cut the wick straight with the brass scissors each night, so the lamp burns evenly. " + FILLER,
    ])
    result = Controller(store, unhelpful_model()).ask("How is a lamp wick trimmed?", doc_ids=[doc], budget=None)
    follow = [n for n in result.nodes if n.label.startswith("follow the reference")]
    assert len(follow) == 1 and "section 3.2" in follow[0].label, [n.label for n in result.nodes]
    assert "brass scissors" in result.answer and "covered in Section" not in result.answer, result.answer
    assert [c.page for c in result.citations] == [3]


def test_a_reference_into_the_passage_itself_or_nowhere_is_not_followed(store):
    doc = add_text_document(store, "Keeper's Handbook", [
        FILLER + "The rules for trimming a lamp wick are covered in Section 9.9. " + FILLER])
    result = Controller(store, unhelpful_model()).ask("How is a lamp wick trimmed?", doc_ids=[doc], budget=None)
    assert not [n for n in result.nodes if n.label.startswith("follow the reference")]
    assert "Section 9.9" in result.answer
    env = Environment(store)
    assert xref.resolve(env, doc, xref.Reference("see Lamp care", title="Lamp care"), 0) is None


def test_a_bare_reference_whose_target_holds_less_than_the_next_sentence_gives_way_to_it(store):
    # "See … in Section 2.7.13." ranks first on the question's words; the section it names
    # holds less of the question than the sentence that answers, which then answers.
    doc = add_text_document(store, "Keeper's Handbook", [
        FILLER + "See the lamp wick trimming log kept in Section 3.2. " + FILLER,
        FILLER + "A lamp wick is trimmed with the brass scissors each night. " + FILLER,
        "3.1\nLamp oil\nOil is poured through a funnel. " + FILLER + "\n3.2\nLogs\n"
        "The log of the lamp lists the nights on duty. " + FILLER,
    ])
    result = Controller(store, unhelpful_model()).ask("How is a lamp wick trimmed with the log?", doc_ids=[doc],
                                                       budget=None)
    assert "brass scissors" in result.answer and "See the lamp" not in result.answer, result.answer
    follow = [n for n in result.nodes if n.label.startswith("follow the reference")]
    assert follow and follow[0].fate == "discarded"

"""Honest "not found" (app.rlm.answerable): sharing words with the question is not answering it."""

from __future__ import annotations

from app.llm.fake import FakeModel
from app.rlm import NOT_FOUND, Controller
from app.rlm import answerable
from app.rlm.environment import Environment
from app.rlm.testing import add_text_document, oracle_responder

LAW = ("No person shall be held to answer for a capital, or otherwise infamous crime, unless on an indictment. "
       "The President shall be at least thirty five years of age. The Senate shall have two senators per state. ")
FILL = "The clerk keeps the records of the chamber and reports them each year. " * 30
# Unrelated text around the law, so a passage's context cannot borrow the filler's words.
PAD = "Rain fell on the orchard while the miller counted sacks of barley by lamplight. " * 4


def _yes_man():
    # A sub-model that finds "relevant" text everywhere: the worst case for honesty.
    return FakeModel(responder=oracle_responder(lambda text: ("capital", text.split(".")[0] + ".")))


def test_a_name_the_documents_never_mention_is_not_found_before_any_call(store):
    doc = add_text_document(store, "Law", [FILL + LAW + FILL])
    model = _yes_man()
    result = Controller(store, model).ask("What is the capital of France?", doc_ids=[doc])
    assert result.answer.startswith(NOT_FOUND) and "France" in result.answer and not result.citations
    assert result.totals["calls"] == 0
    check = next(n for n in result.nodes if n.kind == "check")
    assert check.data["missing_names"] == ["France"]


def test_a_passage_sharing_one_word_does_not_answer(store):
    doc = add_text_document(store, "Law", [FILL + PAD + LAW + PAD + FILL])
    env = Environment(store, [doc])
    text = env.text(doc)
    a = text.index("No person shall")
    b = text.index("infamous crime") + len("infamous crime")
    v = answerable.judge(env, "What is the capital of the chamber's records?", [(doc, a, b)])
    assert not v.ok and v.held == ["capital"] and set(v.lacking) == {"chamber", "record"}
    c = text.index("The President shall")
    v = answerable.judge(env, "How old must the President be?", [(doc, c, c + 60)])
    assert v.ok, v  # "how old" names the kind of answer; "President" is what must be there


def test_most_words_unused_by_the_selection_is_not_found(store):
    doc = add_text_document(store, "Law", [FILL + LAW + FILL])
    result = Controller(store, _yes_man()).ask("What is the boiling point of mercury?", doc_ids=[doc])
    assert result.answer.startswith(NOT_FOUND) and "never use" in result.answer
    # the words are named as the user wrote them, not as stems ("boiling", not "boil")
    assert "“boiling”" in result.answer and "“boil”" not in result.answer, result.answer
    assert answerable.as_written("Which lighthouse keepers kept women's records?", ["lighthous", "keeper", "women"]) == [
        "lighthouse", "keepers", "women"]
    # one written word that two stems come from is named once
    assert answerable.as_written("Does a well-made lamp last?", ["make", "well", "lamp"]) == ["well-made", "lamp"]


def test_an_answerable_question_still_gets_its_answer(store):
    doc = add_text_document(store, "Law", [FILL + LAW + FILL])
    model = FakeModel(responder=oracle_responder(
        lambda t: ("thirty five years", "The President shall be at least thirty five years of age.") if "President" in t else None))
    result = Controller(store, model).ask("How old must the President be?", doc_ids=[doc])
    assert "thirty five" in result.answer and result.citations
    check = next(n for n in result.nodes if n.kind == "check")
    assert check.data["ok"]


def test_a_name_in_another_word_form_or_split_by_a_line_break_is_not_absent(store):
    doc = add_text_document(store, "History", [FILL + "The S language was developed at Bell Labora-\ntories by John Chambers. "
                                               + "Several laboratories took it up. " + FILL])
    env = Environment(store, [doc])
    assert answerable.absent_names(env, "Who developed the S language at Bell Laboratories?") == []
    assert answerable.absent_names(env, "Who developed it at Murray Hill?") == ["Murray", "Hill"]
    # a possessive is no part of the name ("Chambers's language" over "…by John Chambers")
    assert answerable.absent_names(env, "Which was John Chambers's language?") == []
    assert answerable.absent_names(env, "Which was Murray’s language?") == ["Murray"]


def test_a_passage_that_never_names_what_is_asked_for_does_not_answer(store):
    # "France" is in the passage, "capital" is not: a table of country codes is not the
    # capital of France, however rare "France" is in the selection.
    codes = "Country codes in a locale name: FR is France, DE is Germany, US is the United States. "
    doc = add_text_document(store, "Locales", [FILL + PAD + codes + PAD + LAW + FILL])
    env = Environment(store, [doc])
    text = env.text(doc)
    a = text.index("Country codes")
    v = answerable.judge(env, "What is the capital of France?", [(doc, a, a + len(codes))])
    assert not v.ok and v.lacking[0] == "capital" and "what the question asks for" in v.why
    # the same passage does answer what it names
    assert answerable.judge(env, "What is the country code of France?", [(doc, a, a + len(codes))]).ok
    # relation nouns a passage rarely repeats are not required
    assert answerable.asked_head("What is the effect of a Pin-Priority of 1001?") == ""
    assert answerable.asked_head("How many bitcoins exist?") == "bitcoin"


def test_what_is_asked_for_never_used_by_the_selection_is_not_found(store):
    doc = add_text_document(store, "Law", [FILL + LAW + FILL])
    result = Controller(store, _yes_man()).ask("How many senators does each state have?", doc_ids=[doc])
    assert not result.answer.startswith(NOT_FOUND) and result.citations  # answerable: "senators" is there
    result = Controller(store, _yes_man()).ask("How many bitcoins does the clerk keep?", doc_ids=[doc])
    assert result.answer.startswith(NOT_FOUND) and "bitcoin" in result.answer and not result.citations


def test_a_tool_the_question_says_to_use_that_the_selection_never_names_is_not_found(store):
    doc = add_text_document(store, "Law", [FILL + LAW + FILL])
    env = Environment(store, [doc])
    assert answerable.absent_names(env, "How do I file the records with winget?") == ["winget"]
    assert answerable.absent_names(env, "How are the records kept using a ledger?") == ["ledger"]
    assert answerable.absent_names(env, "How does the clerk report with the records?") == []  # named there
    result = Controller(store, _yes_man()).ask("How do I file the records with winget?", doc_ids=[doc])
    assert result.answer.startswith(NOT_FOUND) and "winget" in result.answer and result.totals["calls"] == 0


def test_a_passage_that_never_mentions_the_name_asked_about_does_not_answer(store):
    # "Capital" is there, and "Norland" is in the document, but not in or around the passage.
    capital = "Capital letters begin the names of provinces and towns. "
    norland = "Norland exports timber and furs every autumn. "
    doc = add_text_document(store, "Atlas", [FILL + PAD + capital + PAD + FILL + PAD + norland + PAD + FILL])
    env = Environment(store, [doc])
    text = env.text(doc)
    a = text.index("Capital letters")
    v = answerable.judge(env, "What is the capital of Norland?", [(doc, a, a + len(capital))])
    assert not v.ok and "norland" in v.lacking and "which the question is about" in v.why
    b = text.index("Norland exports")
    assert answerable.judge(env, "What does Norland export?", [(doc, b, b + len(norland))]).ok


def test_the_scene_a_user_sets_is_context_the_answer_need_not_repeat(store):
    from app.rlm import sentences as sn

    assert sn.scene_words("I use Quill a lot. Why is Quill named Quill?") == {"use", "lot"}
    # Where the asking sentence refers back, the scene holds what is asked about.
    assert sn.scene_words("I built Quill from source. How do I uninstall it?") == set()
    assert sn.scene_words("Why is Quill named Quill?") == set()
    text = ("Quill is named after the feather pen its first authors wrote with. " + "Filler about pens. " * 40 +
            "If you use Quill a lot, its cache grows and uses a lot of memory. " * 3)
    doc = add_text_document(store, "Quill notes", [text])
    env = Environment(store)
    a = text.index("Quill is named")
    b = text.index(".", a) + 1
    verdict = answerable.judge(env, "I use Quill a lot. Why is Quill named Quill?", [(doc, a, b)])
    assert verdict.ok, verdict.why
    # The same words in the sentence that asks are what the answer must say.
    assert not answerable.judge(env, "Why does Quill use a lot of memory?", [(doc, a, b)]).ok


def test_rare_words_found_nowhere_that_carry_most_of_the_question_are_not_found(store):
    # Four of ten words are nowhere in the selection, fewer than half; but they are what
    # the question is about, and by rarity they weigh most of it.
    page = ("Clustered standard errors are reported for the linear model of firm investment. "
            "The paper reports the model with clustered errors by firm and by year. ") * 12
    # About fifty pages: rarity is weighed only over enough text (a short memo's words are in
    # every block of it).
    other = [f"Section {i}. The survey team visited each site in week {i} and filed notes on the harbour. " * 30
             for i in range(50)]
    doc = add_text_document(store, "Clustered Errors", other[:20] + [page] * 10 + other[20:])
    env = Environment(store, [doc])
    q = "What clustered standard errors does the paper report for a probit model of women's labour participation?"
    verdict = answerable.precheck(env, q)
    assert verdict is not None and not verdict.ok and "probit" in verdict.why
    # one word found nowhere ("altogether") among many is a paraphrase, not a missing subject
    assert answerable.precheck(env, "Which clustered standard errors does the paper report altogether for the firm model?") is None
    # the same question over a short memo is not weighed: every block holds its words
    memo = add_text_document(store, "Memo", [page])
    assert answerable.precheck(Environment(store, [memo]), q.replace("women's labour ", "")) is None

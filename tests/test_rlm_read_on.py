"""The value a question asks for, read where the document states it: past the sentence
that matches the question's words, past a question the document asks itself, past the
sentence that introduces a list; and the question's own wording read for what it asks."""

from __future__ import annotations

import re

from app.llm.fake import FakeModel
from app.rlm import Controller
from app.rlm.checks import sentences
from app.rlm.compare import sides
from app.rlm.listing import LIST_TEMPLATE
from app.rlm.terms import analyse, states_number
from app.rlm import sentences as sn
from app.rlm.testing import add_text_document, oracle_responder

FILLER = "The archive keeps many packages and their sources in one place for the project. " * 3
# Pages of a handbook around the one that answers, so that word rarity means something.
HANDBOOK = [f"Chapter {i}. The release team reviews the uploads of week {i} and records each decision. "
            f"Look in the tracker for problems of all kinds before an upload. " * 4 for i in range(12)]


def ask(store, pages, question):
    doc = add_text_document(store, "Handbook", pages)
    model = FakeModel(responder=oracle_responder(lambda text: None))  # the code reads, the model adds nothing
    return Controller(store, model).ask(question, doc_ids=[doc])


def test_a_number_is_a_quantity_not_digits_in_a_name_a_section_number_or_a_reference_year():
    assert states_number("they were restricted to 3 hours of sleep")
    assert states_number("a key of at least 2048 bits") and states_number("version 1.5-2.1")
    assert states_number("about three years")
    assert not states_number("Throughout our discussion of lme4 we use IPv6")
    assert not states_number("5.15.5 How long must a package be maintained?")
    assert not states_number("a sleep deprivation study (Belenky et al. 2003).")


def test_a_sections_number_is_no_value_to_lead_an_answer_with():
    from app.rlm.evidence import number_phrase

    plan = analyse("What version number should my non-maintainer upload get?")
    assert number_phrase("5.11 Non-Maintainer Uploads (NMUs) Every package has maintainers, see version 2.", plan) == "2"
    assert number_phrase("For example, an NMU of 1.5-2 would get version 1.5-2.1.", plan) in ("1.5-2.1", "1.5-2")
    assert states_number("3.5 million people use it")  # a value at a sentence's start is one
    # "of" after a version is no unit
    assert number_phrase("The functions were added in version 2.4-0 of the package.",
                         analyse("From which version of the package on are the functions available?")) == "2.4-0"


def test_et_al_ends_no_sentence():
    text = "We use a data set (Belenky et al. 2003). On day 0 they slept."
    assert [text[a:b].strip() for a, b in sentences(text)] == [
        "We use a data set (Belenky et al. 2003).", "On day 0 they slept."]


def test_an_email_address_asked_for_is_read_in_the_next_sentence(store):
    page = (FILLER + "Looking up the email address of the maintainer for the package can be distracting. "
            "Fortunately, there is a simple alias, pkg@packages.example.org, which reaches them whatever "
            "their own address is. " + FILLER)
    result = ask(store, [page], "What email address can I use to reach the maintainer of a package?")
    assert "pkg@packages.example.org" in result.answer
    assert result.citations and "pkg@packages.example.org" in result.citations[0].quote


def test_a_quantity_is_read_on_to_the_sentence_that_states_it_and_holds_the_question_words(store):
    page = (FILLER + "Throughout this paper we use a data set on reaction times in a sleep deprivation study "
            "(Belenky et al. 2003). On day 0 the subjects had their normal amount of sleep. Starting that "
            "night they were restricted to 3 hours of sleep per night. " + FILLER)
    result = ask(store, HANDBOOK + [page], "In the sleep deprivation study used as the example, how much sleep per night "
                                "were the subjects allowed once the restriction started?")
    assert result.answer.startswith("3 hours"), result.answer
    assert "2003" not in result.answer.split(":")[0]


def test_the_sentence_stating_the_value_may_be_long(store):
    long_one = ("The maintainer, any current uploader or any member of the associated packaging team of the "
                "package in question, and indeed anyone else who follows the project closely, may object publicly "
                "in response to the bug you have filed within 21 days, and an objection from any of them ends the "
                "whole salvaging process at once, whatever stage it had reached by then. ")
    assert len(long_one) > 300
    page = (FILLER + "In this step of salvaging a package you need to wait in case any objections to the "
            "salvaging are raised. " + long_one + FILLER)
    result = ask(store, HANDBOOK + [page], "How long do I have to wait for objections to salvaging a package?")
    assert "within 21 days" in result.answer and "within 21 days" in result.citations[0].quote, result.answer


def test_the_items_after_a_lead_in_introduced_by_the_next_sentence_are_the_list(store):
    page = ("9.2.6 duck\nduck processes several fields in debian/control, debian/upstream and debian/copyright "
            "and checks that URLs are valid.\n9.2.7 adequate\nadequate checks packages installed on the system "
            "and reports bugs and policy violations.\nThe following checks are currently implemented:\n"
            "• broken symlinks\n• missing copyright file\n• obsolete conffiles\n• license conflicts\n"
            "9.2.8 blhc\nblhc is a tool which checks build logs for missing hardening flags.\n")
    doc = add_text_document(store, "Handbook", HANDBOOK + [page])
    inner = oracle_responder(lambda text: None)

    def respond(request):  # as a 135M model does: the nearest verbatim names, not the checks
        if request.messages[-1]["content"].startswith(LIST_TEMPLATE.split("\n", 1)[0]):
            return {"items": ["9.2.6 duck", "debian/upstream", "debian/copyright"]}
        return inner(request)

    result = Controller(store, FakeModel(responder=respond)).ask(
        "What kinds of problems does the adequate tool look for in installed packages?", doc_ids=[doc])
    for item in ("broken symlinks", "missing copyright file", "obsolete conffiles", "license conflicts"):
        assert item in result.answer, result.answer
    assert "debian/upstream" not in result.answer


def test_the_place_a_question_reads_is_context_not_what_it_asks():
    assert analyse("In the fixed-effects part of the sleep study model summary, what is the standard "
                   "error for Days?").kind == "lookup"
    assert analyse("Summarise what the R Foundation does.").kind == "aggregate"
    assert analyse("Give me a summary of the release history.").kind == "aggregate"


def test_a_users_contractions_are_no_names_and_a_version_is_one_word():
    assert sn.names_in("I'm going away. How should I tell the other Debian developers that I’m away?") == {"debian"}
    assert {"3.0", "2.2"} <= sn.content_words("How did Debian 3.0 compare with Debian 2.2?")
    assert "3.0" in analyse("How did Debian 3.0 compare with Debian 2.2?").terms


def test_how_did_x_compare_with_y_is_a_comparison():
    assert sides("How did the number of binary packages in Debian 3.0 compare with Debian 2.2?") == (
        "number of binary packages in Debian 3.0", "Debian 2.2")
    assert sides("How does lme4 compare with the nlme package: what does each do better?") == ("lme4", "nlme package")


def test_a_finding_is_not_led_by_the_section_number_its_quote_opens_with():
    from app.rlm.evidence import Finding
    from app.rlm.reading import _shown

    plan = analyse("What version number should my non-maintainer upload get?")
    quote = "5.10.2.2 When to do a source NMU if you are a porter Porters doing a source NMU follow the guidelines."
    shown = _shown(Finding(None, None, "5.10.2.2", quote, (0, len(quote)), 1, {"answer_repaired": {}}), plan)
    assert not shown.startswith("5.10.2.2:") and shown.startswith("5.10.2.2 When to do")
    # A value the quote states is still led with.
    quote = "The MSS = MTU - 40 for IPv4 packets on the link."
    assert _shown(Finding(None, None, "40", quote, (0, len(quote)), 1, {"answer_repaired": {}}), plan).startswith("40: ")


def test_a_list_item_must_stand_in_the_passage_as_whole_words(store):
    page = ("Exporting data. The documentation lists the export formats the tool writes. The tool writes "
            "tables as spreadsheet workbooks. It also writes them as fixed-width text. "
            "Each export format keeps the column names.\n")
    doc = add_text_document(store, "Handbook", HANDBOOK + [page])
    inner = oracle_responder(lambda text: None)

    def respond(request):  # a fragment of a longer word, copied from the prompt's fence
        if request.messages[-1]["content"].startswith(LIST_TEMPLATE.split("\n", 1)[0]):
            return {"items": ["Doc", "spreadsheet workbooks", "fixed-width text"]}
        return inner(request)

    result = Controller(store, FakeModel(responder=respond)).ask(
        "Which export formats does the tool write tables in?", doc_ids=[doc])
    assert "spreadsheet workbooks" in result.answer and "fixed-width text" in result.answer, result.answer
    assert "doc" not in result.answer.lower().replace("document", ""), result.answer


def test_a_question_led_by_its_tool_is_read_past_it_and_a_how_tos_all_asks_no_list():
    from app.rlm import qshape

    q = "With Kpathsea, how do I say that a directory should be searched together with all its subdirectories?"
    assert qshape.shape_of(q).kind == "howto" and analyse(q).kind == "lookup"
    assert qshape.shape_of("In R, how do I read a CSV file?").kind == "howto"
    assert analyse("How do I list all installed packages?").kind == "lookup"
    assert analyse("What are all the options of seq?").kind == "list"  # a question for all of them is one
    assert analyse("Which functions make a pen?").kind == "list"


def test_a_lead_in_that_runs_into_its_first_item_without_a_colon_carries_the_items(store):
    page = (FILLER + "\nDatabase management systems are designed to do all of these things well. Their strengths are\n"
            "1. To provide fast access to selected parts of large databases.\n"
            "2. Powerful ways to summarize and cross-tabulate columns in databases.\n"
            "3. Store data in more organized ways than the rectangular grid model.\n" + FILLER)
    result = ask(store, HANDBOOK[:4] + [page] + HANDBOOK[4:], "What are database management systems designed to do well?")
    assert "Powerful ways to summarize" in result.answer and "more organized ways" in result.answer, result.answer
    c = result.citations[0]
    assert c.page == 5 and c.quote.rstrip().endswith("rectangular grid model.")


def test_a_sentence_speaking_through_the_one_before_holds_its_subject(store):
    # "They are robust against…" says it of the errors the sentence before names; another
    # sentence with "robust" and "errors" of something else must not win over it.
    pages = HANDBOOK[:5] + [
        "Tracker-corrected standard errors were proposed by the release team. They are intended for uploads "
        "with many architectures. They are robust against stale mirrors and broken clocks, with the assumption "
        "that mirrors are synced daily."] + HANDBOOK[5:8] + [
        "Robust standard errors of the build times are reported in the tracker for each week."] + HANDBOOK[8:]
    result = ask(store, pages, "What are tracker-corrected standard errors designed to be robust against?")
    assert "stale mirrors and broken clocks" in result.answer, result.answer


def test_a_how_to_is_answered_by_the_instruction_after_the_situation_it_names(store):
    # The sentence with the question's words states the situation; the next one says what
    # to do about it, and that is what a "how do I" asks for.
    pages = HANDBOOK[:6] + [
        "Unfilled lines. It is quite common for an export from a ledger to have all trailing empty cells "
        "omitted. To read such exports set pad = TRUE. Blank lines are skipped by default."] + HANDBOOK[6:]
    result = ask(store, pages, "My ledger export drops the trailing empty cells. How do I still read it?")
    assert "pad = TRUE" in result.answer, result.answer
    assert result.answer.startswith("pad = TRUE: It is quite common"), result.answer


def test_a_version_in_the_question_is_one_exact_key_found_with_its_dots(store):
    from app.rlm.evidence import Finding
    from app.rlm.reading import _shown
    from app.rlm.terms import key_pattern

    question = "A non-native package is currently at version 1.5-2. What version number should my non-maintainer upload get?"
    plan = analyse(question)
    # The version is the key ("5-2" was cut from it); beside it, hyphenated words are words.
    assert plan.exact == ["1.5-2"], plan.exact
    rx = re.compile(key_pattern("1.5-2"))
    assert rx.search("if the current version is\n1.5-2, then") and not rx.search("version 1.5-2.1 or 11.5-2")
    # A small model's "2.1" is a piece of the number the quote gives: the answer leads with it whole.
    quote = "For example, if the current version is 1.5-2, then an NMU would get version 1.5-2.1."
    shown = _shown(Finding(None, None, "2.1", quote, (0, len(quote)), 1, {"answer_repaired": {}}), plan)
    assert shown.startswith("1.5-2.1: For example"), shown
    # And the sentence naming the version is read, where another one says more of the words.
    pages = HANDBOOK[:6] + [
        "The way to version uploads differs for native and non-native packages. If the package is a native "
        "package, the version number must be the version of the last maintainer upload plus +nmuX. If the "
        "package is not a native package, add a minor number to the revision. For example, if the current "
        "version is 1.5-2, then an upload would get version 1.5-2.1."] + HANDBOOK[6:]
    result = ask(store, pages, question)
    assert "1.5-2.1" in result.answer, result.answer


def test_a_value_stated_after_the_commands_a_lead_in_introduces_is_read_on_to(store):
    # The figures inside the commands are code; the value asked for is in the sentence after.
    pages = HANDBOOK[:6] + [
        "For example, checking the release fit by its posterior predictive value, choosing the interquartile range "
        "of the upload delays as the summary statistic:\n"
        "> spread <- sapply(simulate(fit, 1000), IQR)\n"
        "> p <- mean(observed >= c(observed, spread))\n"
        "A result of 0.78 indicates that it is adequate."] + HANDBOOK[6:]
    result = ask(store, pages, "What posterior predictive p value did the release fit get when the interquartile "
                               "range was used as the check statistic?")
    assert "0.78" in result.answer, result.answer


def test_a_question_asking_which_release_is_answered_by_the_release_number(store):
    """"Since which release…" asks for a number: the sentence naming the release answers, not
    the next one that shares more of the question's other words."""
    assert analyse("Since which R release are packages byte-compiled by default?").expects_number
    assert analyse("What version of the tracker is needed?").expects_number
    assert analyse("I use the tracker a lot. Since which release is it installed by default?").expects_number
    assert not analyse("What is a release?").expects_number
    # "when" asks for a time only as the question's own word
    assert analyse("I use the tracker. When did release 2.2 come out?").expects_number
    assert not analyse("Who took over as leader when the first leader's term ended?").expects_number
    assert not analyse("What happens when a package is orphaned?").expects_number
    assert analyse("What p value did the release fit get?").expects_number
    assert not analyse("The tracker shows no p values. Where does it point me to for them?").expects_number
    assert not analyse("How do I see which version of a package the tracker will pick?").expects_number
    page = (FILLER + "Byte-compilation. As from release 3.6.0, all packages are by default byte-compiled. "
            "Byte-compilation of packages can be controlled by default on a per-package basis by a field. " + FILLER)
    result = ask(store, HANDBOOK + [page], "Since which release are packages byte-compiled by default?")
    assert result.answer.startswith("3.6.0"), result.answer
    assert result.citations and "3.6.0" in result.citations[0].quote


def test_a_question_about_what_holds_when_nothing_is_given_is_answered_by_the_stated_default(store):
    """"If I don't pass any … option" is answered where the document says what is assumed
    when no option is specified, though that sentence holds few of the question's words."""
    from app.rlm import qshape

    assert qshape.asks_default("If I don't pass any margin option, what margin is used?")
    assert qshape.asks_default("What does the ties argument default to?")
    assert not qshape.asks_default("How do I pass a margin option to the report style?")
    assert qshape.states_default("If no option is specified, 2cm is assumed.")
    assert not qshape.states_default("Pass the option to the report style.")
    page = (FILLER + "The actual width of each margin is a design issue and depends on the report style and its "
            "options. " + FILLER + "\n\n2cm, 3cm, 4cm\nSets the width of the margins of the report. "
            "If no option is specified, 2cm is assumed. " + FILLER)
    result = ask(store, HANDBOOK + [page],
                 "If I don't pass any margin width option to the report style, what margin width will it use?")
    assert "2cm is assumed" in result.answer, result.answer
    assert result.citations and "2cm" in result.citations[-1].quote


def test_a_question_asking_for_a_limit_is_answered_by_the_sentence_that_states_one(store):
    """"What is the biggest upload batch allowed?" is answered where the document states the
    bound ("…allowed to hold at most 40 packages"), not by a sentence holding as many of its
    words that states none."""
    from app.rlm import qshape

    assert qshape.asks_bound("Is there an upper limit on how many packages one batch can hold?")
    assert qshape.asks_bound("What's the most packages a single batch can hold?")
    assert not qshape.asks_bound("What is the most common upload problem?")
    assert qshape.states_bound("n should be an unsigned integer from 1 to 20.")
    assert qshape.states_bound("The maximum number of students per test is limited to 4,095.")
    assert not qshape.states_bound("The maximum is reached quickly.")  # no figure: not a stated bound
    page = (FILLER + "Each upload batch allowed into the archive is reviewed by the team. "
            + FILLER + "\n\nBatch limits. An upload batch is allowed to hold at most 40 packages. " + FILLER)
    result = ask(store, HANDBOOK + [page], "What is the biggest upload batch allowed?")
    assert "at most 40" in result.answer, result.answer

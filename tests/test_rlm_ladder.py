"""The ladder by model strength (app.rlm.ladder): what the model decides grows with it."""

from __future__ import annotations

import math

from app.llm.base import Completion
from app.llm.fake import FakeModel
from app.rlm import NOT_FOUND, Controller
from app.rlm import ladder
from app.rlm.compose import check_sentences
from app.rlm.testing import add_text_document, kind_of, oracle_responder, slice_of

COMMON = ("The harbour of Veldt has piers and cranes, and ships call there every week. "
          "Merchants of Veldt trade grain and wool along the quays. ") * 4
EAST = "The harbour master of Veldt keeps the eastern gate."
WEST = "The harbour master of Veldt keeps the western gate."
Q = "Which gate does the harbour master of Veldt keep?"


class Sized(FakeModel):
    def __init__(self, parameters, **kw):
        super().__init__(**kw)
        self.parameters = parameters

    def info(self):
        return {**super().info(), "parameters": self.parameters}


def test_rungs_follow_the_size_read_from_the_model():
    assert ladder.rung_for(Sized(134_515_008)).name == "tie-break"
    assert ladder.rung_for(Sized(494_032_768)).name == "veto"  # Qwen2.5-0.5B counts 494M
    assert ladder.rung_for(Sized(1_543_714_304)).name == "compose"
    assert ladder.rung_for(Sized(7_615_616_512)).name == "repl"
    assert ladder.rung_for(Sized(1_543_714_304), "tie-break").name == "tie-break"  # the user's override
    failed = {"ok": False, "why": "picked sentence 1"}
    assert ladder.rung_for(Sized(1_543_714_304), probe_result=failed).name == "veto"


def test_the_probe_checks_json_and_the_right_sentence():
    def respond(request):
        if request.json_schema:
            return {"colour": "blue"}
        return Completion(text="2", choice_logprobs={"1": math.log(0.1), "2": math.log(0.8), "3": math.log(0.1)})

    assert ladder.probe(FakeModel(responder=respond))["ok"]
    wrong = lambda r: {"colour": "blue"} if r.json_schema else Completion(text="1", choice_logprobs={"1": 0.0, "2": -3.0, "3": -3.0})
    out = ladder.probe(FakeModel(responder=wrong))
    assert not out["ok"] and "picked sentence 1" in out["why"]


def _voter(p_east, p_west, compose=None, verify=True):
    base = oracle_responder(lambda t: None, compose=compose, verify=verify)

    def respond(request):
        if kind_of(request) == "sentence":
            p = p_east if "eastern" in slice_of(request) else p_west
            return Completion(text="yes" if p >= 0.5 else "no", choice_logprobs={"yes": math.log(p), "no": math.log(1 - p)})
        return base(request)

    return respond


def test_on_the_veto_rung_a_clear_no_drops_the_sentence(store):
    doc = add_text_document(store, "Veldt", [COMMON + EAST + " " + COMMON + WEST + " " + COMMON])
    # tie-break rung: the code's first sentence stands whatever the model says
    model = FakeModel(responder=_voter(0.05, 0.3))
    r = Controller(store, model, options={"ladder": "tie-break"}).ask(Q, doc_ids=[doc])
    assert "eastern" in r.answer
    # veto rung: the model's clear "no" to the eastern gate removes it
    r = Controller(store, FakeModel(responder=_voter(0.05, 0.3)), options={"ladder": "veto"}).ask(Q, doc_ids=[doc])
    assert "western" in r.answer and "eastern" not in r.answer
    veto = next(n for n in r.nodes if n.kind == "veto")
    assert any(n.fate == "discarded" and n.fate_reason.startswith("vetoed") for n in r.nodes if n.kind == "map")
    assert veto.data["threshold"] == 0.2
    # both vetoed, and the verification call (map reading's check) says no too: not found
    r = Controller(store, FakeModel(responder=_voter(0.05, 0.05, verify=False)), options={"ladder": "veto"}).ask(Q, doc_ids=[doc])
    assert r.answer.startswith(NOT_FOUND)


def test_on_the_compose_rung_only_cited_checkable_sentences_survive(store):
    doc = add_text_document(store, "Veldt", [COMMON + EAST + " " + COMMON])
    prose = lambda quotes: ("The harbour master keeps the eastern gate of Veldt [1]. "
                            "He has kept it for 40 years [1]. He is also a poet.")
    r = Controller(store, FakeModel(responder=_voter(0.9, 0.9, compose=prose)), options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    assert r.answer == "The harbour master keeps the eastern gate of Veldt [1]."
    node = next(n for n in r.nodes if n.kind == "compose")
    assert node.fate == "cited"
    whys = [d["why"] for d in node.data["dropped"]]
    assert any("40" in w for w in whys) and "no citation" in whys
    assert r.citations[0].quote == EAST
    # a reply with nothing checkable in it leaves the quoted answer standing
    r = Controller(store, FakeModel(responder=_voter(0.9, 0.9, compose=lambda q: "He is also a poet.")),
                   options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    assert r.answer == EAST + " [1]"
    assert next(n for n in r.nodes if n.kind == "compose").fate == "discarded"
    # a model that finds no answer in the best passages does not overrule the code's checked
    # evidence; the trace says it doubted
    r = Controller(store, FakeModel(responder=_voter(0.9, 0.9, compose=lambda q: "Not found.")),
                   options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    assert r.answer == EAST + " [1]" and r.citations
    node = next(n for n in r.nodes if n.kind == "compose")
    assert node.fate == "discarded" and "found no answer" in node.fate_reason


def test_on_the_compose_rung_prose_that_leaves_out_the_best_ranked_passage_is_not_used(store):
    # The model answers from another passage only: code and the model's vote ranked a
    # different one first, so the best-ranked sentence stands and the trace says why.
    near = "The harbour master of Veldt keeps a ledger of ships. "
    doc = add_text_document(store, "Veldt", [COMMON + near + COMMON + EAST + " " + COMMON])

    seen = {}

    def prose(quotes):
        other = next(line for line in quotes.splitlines() if line.startswith("[") and not line.startswith("[1]"))
        seen["other"] = other[4:]
        return f"{other[4:]} {other[:3]}"

    r = Controller(store, FakeModel(responder=_voter(0.9, 0.9, compose=prose)), options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    node = next(n for n in r.nodes if n.kind == "compose")
    assert node.fate == "discarded" and "not from the best-ranked one" in node.fate_reason
    assert len(r.citations) == 1 and r.answer == r.citations[0].quote + " [1]"
    assert r.citations[0].quote not in seen["other"]


def test_on_the_compose_rung_the_model_reads_the_best_passages_not_only_the_first(store):
    # The model answers from the best-ranked passage and the citation points at it, renumbered [1].
    near = "The harbour master of Veldt keeps a ledger of ships. "
    doc = add_text_document(store, "Veldt", [COMMON + near + COMMON + EAST + " " + COMMON])
    seen = {}

    def prose(quotes):
        seen["quotes"] = quotes
        n = next(line[1] for line in quotes.splitlines() if line.startswith("[") and "eastern gate" in line)
        return f"[{n}] The harbour master keeps the eastern gate."

    r = Controller(store, FakeModel(responder=_voter(0.9, 0.9, compose=prose)), options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    assert "[2]" in seen["quotes"], "more than one passage was offered"
    assert r.answer == "The harbour master keeps the eastern gate. [1]"
    assert [c.quote for c in r.citations] == [EAST]


def test_check_sentences_rules():
    quotes = {1: "The Senate has two Senators from each State, chosen for six Years."}
    kept, dropped = check_sentences("Each state has two senators [1]. Terms last six years [1]. "
                                    "Terms last nine years [1]. See [3]. Unsourced claim.", quotes)
    assert kept == ["Each state has two senators [1].", "Terms last six years [1]."]
    assert [w for _, w in dropped] == ["states nine, which its quote does not", "cites [3], which is not one of the quotes",
                                       "no citation"]


def test_composed_sentences_carry_no_protocol_or_control_characters():
    quotes = {1: "The harbour master keeps the eastern gate."}
    kept, _ = check_sentences('The master keeps the eastern\u202e gate {"final": "west"} [1].', quotes)
    assert kept == ["The master keeps the eastern gate [1]."]


def test_not_found_with_a_citation_is_still_a_decline():
    from app.rlm.compose import declines

    assert declines("Not found. [1]") and declines("[2] Not found.") and declines("not found")
    kept, dropped = check_sentences("The gate is east [1]. Not found [1].", {1: "The eastern gate."})
    assert kept == ["The gate is east [1]."] and dropped == [("Not found [1].", "says not found")]


def test_a_command_the_quote_does_not_spell_is_dropped():
    # A user copies a command as written: "set term png" is not what the manual says.
    quotes = {1: "Syntax: set terminal png {{no}enhanced} {{no}transparent}",
              2: "The default is “set output 'plot.png'” for files."}
    kept, dropped = check_sentences("Use `set term png` [1]. Use `set terminal png` [1]. "
                                    "Then `set output 'plot.png'` [2].", quotes)
    assert kept == ["Use `set terminal png` [1].", "Then `set output 'plot.png'` [2]."]
    assert dropped == [("Use `set term png` [1].", "writes “set term png”, which its quote does not")]


def _picker(p_west: float, voter):
    """Sentence votes from `voter`; on the pick call, P(p_west) for the passage about the
    western gate and the rest spread over the other numbers."""
    def respond(request):
        if kind_of(request) != "pick":
            return voter(request)
        passages = dict((n, t) for n, t in (line[1:].split("] ", 1) for line in slice_of(request).splitlines()
                                             if line.startswith("[")))
        west = next(n for n, t in passages.items() if "western" in t)
        rest = (1 - p_west) / len(passages)
        lp = {n: math.log(rest) for n in ["0", *passages]}
        lp[west] = math.log(p_west)
        return Completion(text=max(lp, key=lp.get), choice_logprobs=lp)

    return respond


def test_on_the_veto_rung_the_model_picks_among_the_best_passages(store):
    doc = add_text_document(store, "Veldt", [COMMON + EAST + " " + COMMON + WEST + " " + COMMON])
    voter = _voter(0.6, 0.6)
    # tie-break rung: no pick call; the code's first sentence stands
    model = FakeModel(responder=_picker(0.9, voter))
    r = Controller(store, model, options={"ladder": "tie-break"}).ask(Q, doc_ids=[doc])
    assert "eastern" in r.answer and not any(kind_of(q) == "pick" for q in model.requests)
    # veto rung: a sure pick of the other passage replaces the code's choice, and is cited
    r = Controller(store, FakeModel(responder=_picker(0.9, voter)), options={"ladder": "veto"}).ask(Q, doc_ids=[doc])
    assert "western" in r.answer and "eastern" not in r.answer
    assert [c.quote for c in r.citations] == [WEST]
    pick = next(n for n in r.nodes if n.kind == "pick")
    assert pick.data["overruled"] and pick.data["picked"] != "1"
    assert any(n.fate == "discarded" and "picked passage" in n.fate_reason for n in r.nodes if n.kind == "map")
    # a pick the model is not sure of leaves the code's choice standing, and says so
    r = Controller(store, FakeModel(responder=_picker(0.45, voter)), options={"ladder": "veto"}).ask(Q, doc_ids=[doc])
    assert "eastern" in r.answer
    pick = next(n for n in r.nodes if n.kind == "pick")
    assert "not surely" in pick.fate_reason and not pick.data.get("overruled")


def test_a_name_the_quote_does_not_write_is_dropped():
    quotes = {1: "AUTHORS Original Software: Thomas Williams, Colin Kelley."}
    kept, dropped = check_sentences("The authors are Thomas Williams and Colin Kelley [1]. "
                                    "Gnuplot was written by Robert Gentleman and Ross Ihaka [1].", quotes,
                                    "Who wrote gnuplot?")
    assert kept == ["The authors are Thomas Williams and Colin Kelley [1]."]
    assert dropped == [("Gnuplot was written by Robert Gentleman and Ross Ihaka [1].",
                        "names “Robert”, which its quote does not")]


def test_prose_that_is_a_fragment_leaves_the_quoted_answer(store):
    doc = add_text_document(store, "Veldt", [COMMON + EAST + " " + COMMON])
    r = Controller(store, FakeModel(responder=_voter(0.9, 0.9, compose=lambda q: "Eastern [1].")),
                   options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    assert r.answer == EAST + " [1]"
    node = next(n for n in r.nodes if n.kind == "compose")
    assert node.fate == "discarded" and "fragment" in node.fate_reason


def test_prose_that_only_restates_the_question_is_dropped():
    # "Yes, there is a way… [1]" cites a quote but says nothing the question did not: the
    # package that answers it is in the quote, not in the prose.
    question = "Is there a way to have LaTeX just check my document for errors quickly?"
    quotes = {1: "To make LaTeX quickly check your document use the syntonly package."}
    kept, dropped = check_sentences("Yes, there is a way to have LaTeX just check your document for errors quickly [1]. "
                                    "Use the syntonly package [1].", quotes, question)
    assert kept == ["Use the syntonly package [1]."]
    assert [w for _, w in dropped] == ["only restates the question"]


def test_on_the_compose_rung_prose_may_leave_out_a_best_ranked_passage_the_model_doubted(store):
    # The code ranks the ledger sentence first; judged alone the model leans "no" on it (not
    # a veto), and its prose answers from the eastern gate: two of its judgements agree
    # against the ranking, so the prose stands, cited to the passage it used.
    near = "The harbour master of Veldt keeps the gate ledger and the gate keys of the harbour of Veldt."
    doc = add_text_document(store, "Veldt", [COMMON + near + " " + COMMON + EAST + " " + COMMON])
    seen = {}

    def prose(quotes):
        seen["quotes"] = quotes
        east = [line[1] for line in quotes.splitlines() if line.startswith("[") and "eastern gate" in line]
        return f"The harbour master keeps the eastern gate [{east[0]}]." if east else "Not found."

    r = Controller(store, FakeModel(responder=_voter(0.5, 0.5, compose=prose)), options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    assert seen["quotes"].startswith("[1] ") and "ledger" in seen["quotes"].splitlines()[0]
    assert "eastern" not in r.answer, "a model that did not doubt the ledger cannot overrule the ranking"
    doubting = _voter(0.5, 0.5, compose=prose)

    def respond(request):
        if kind_of(request) == "sentence" and "ledger" in slice_of(request):
            return Completion(text="no", choice_logprobs={"yes": math.log(0.45), "no": math.log(0.55)})
        return doubting(request)

    r = Controller(store, FakeModel(responder=respond), options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    assert r.answer == "The harbour master keeps the eastern gate [1]."
    assert [c.quote for c in r.citations] == [EAST]
    node = next(n for n in r.nodes if n.kind == "compose")
    assert node.fate == "cited" and "said the best-ranked one does not answer" in node.fate_reason
    # A model that says "no" to every sentence doubts none in particular: the ranking stands.
    def all_no(request):
        if kind_of(request) == "sentence":
            return Completion(text="no", choice_logprobs={"yes": math.log(0.3), "no": math.log(0.7)})
        return doubting(request)

    r = Controller(store, FakeModel(responder=all_no), options={"ladder": "compose"}).ask(Q, doc_ids=[doc])
    assert "eastern" not in r.answer and "ledger" in r.answer
    node = next(n for n in r.nodes if n.kind == "compose")
    assert node.fate == "discarded" and "not from the best-ranked one" in node.fate_reason


def test_how_to_prose_that_leaves_out_the_command_the_passage_gives_is_not_used(store):
    howto = "To open the eastern gate of Veldt, run the command ”gate-ctl open east” at the harbour office."
    doc = add_text_document(store, "Veldt", [COMMON + howto + " " + COMMON])
    q = "How do I open the eastern gate of Veldt?"
    vague = lambda quotes: "To open the eastern gate of Veldt, you run the command at the harbour office [1]."
    r = Controller(store, FakeModel(responder=_voter(0.9, 0.9, compose=vague)), options={"ladder": "compose"}).ask(q, doc_ids=[doc])
    node = next(n for n in r.nodes if n.kind == "compose")
    assert node.fate == "discarded" and "gate-ctl open east" in node.fate_reason, node.fate_reason
    assert "gate-ctl open east" in r.answer and r.citations[0].quote == howto
    # Prose that gives the command is the answer.
    named = lambda quotes: "Run “gate-ctl open east” at the harbour office of Veldt to open the eastern gate [1]."
    r = Controller(store, FakeModel(responder=_voter(0.9, 0.9, compose=named)), options={"ladder": "compose"}).ask(q, doc_ids=[doc])
    assert next(n for n in r.nodes if n.kind == "compose").fate == "cited"
    assert r.answer.startswith("Run “gate-ctl open east”"), r.answer

"""A truthful trace, checked on the engine's own trace (Controller runs on the FakeModel),
not only in the view: the nodes behind every [n] are cited, a "no" is never cited, and a
slice the model marked relevant is never "nothing relevant / no answer in this slice".
Also the Qt-free helpers of the conversation and the report."""

from __future__ import annotations

import re
import unicodedata

from app.conversation import is_follow_up, standalone
from app.llm.fake import FakeModel
from app.report import report_markdown, write_pdf
from app.rlm import Controller
from app.rlm.testing import add_text_document, kind_of, oracle_responder
from app.rlm.trace import derive_fates, run_to_markdown

CONSTITUTION = [
    "The Senate shall be composed of two Senators from each State, chosen for six Years. "
    "No Person shall be a Senator who shall not have attained to the Age of thirty Years.",
    "No Person except a natural born Citizen shall be eligible to the Office of President; neither shall any "
    "Person be eligible to that Office who shall not have attained to the Age of thirty five Years.",
]


def _said_no(n: dict) -> bool:
    out = str(n.get("output") or "").strip().strip('"').lower()
    return out == "no" or ((n.get("data") or {}).get("relevant") is False and not (n.get("data") or {}).get("answer"))


def _check(nodes, citations):
    by_id = {n["id"]: n for n in nodes}
    for n in nodes:
        if n.get("fate") == "cited":
            assert not _said_no(n), f"a 'no' is cited: {n['id']} {n.get('output')!r}"
        data = n.get("data") or {}
        if data.get("relevant") is True and n.get("fate") == "discarded":
            reason = str(n.get("fate_reason"))
            assert "nothing relevant" not in reason and "no answer in this slice" not in reason, reason
    for c in citations:
        c = c.to_dict() if hasattr(c, "to_dict") else c
        n = by_id[c["node_id"]]
        parent = by_id.get(n.get("parent"))
        assert n["fate"] == "cited" or (n["fate"] == "merged" and parent is not None and parent["fate"] == "cited"), \
            (n["id"], n["fate"], n.get("fate_reason"))
    if citations:
        assert any(n.get("fate") == "cited" for n in nodes), "an answer with citations has a cited row"


def says_no(req):
    """A 135M model: "no" to nearly everything, nothing relevant in any slice."""
    k = kind_of(req)
    if k == "plan":
        return {"kind": "lookup", "terms": []}
    if k in ("map", "scan"):
        return {"relevant": False, "quote": "", "answer": ""}
    return "no"


def test_a_ranked_sentence_the_model_said_no_to_is_never_cited(store):
    add_text_document(store, "Constitution", CONSTITUTION)

    res = Controller(store, FakeModel(responder=says_no)).ask("How old must the President be?")
    raw = [n.to_dict() for n in res.nodes]
    cited_no = [n for n in raw if n["fate"] == "cited" and _said_no(n)]
    nodes = derive_fates(res.nodes, res.citations, res.answer)
    _check(nodes, res.citations)
    if cited_no:  # the strategy's own fate was the bug; the derived one fixes it
        fixed = {n["id"]: n for n in nodes}
        assert all(fixed[n["id"]]["fate"] != "cited" for n in cited_no)


def test_every_citation_of_a_lookup_is_behind_a_cited_node(store):
    add_text_document(store, "Heron Report", ["Filler about the committee.", "The vault code for project heron is 4417."])

    def find(text):
        m = re.search(r"[^.]*heron is (\d+)\.", text)
        return (m.group(1), m.group(0).strip()) if m else None

    res = Controller(store, FakeModel(responder=oracle_responder(find))).ask("What is the vault code for project heron?")
    assert res.citations
    nodes = derive_fates(res.nodes, res.citations, res.answer)
    _check(nodes, res.citations)
    assert {c.node_id for c in res.citations} <= {n["id"] for n in nodes if n["fate"] == "cited"}


def test_relevant_true_is_never_reported_as_nothing_relevant(store):
    add_text_document(store, "Heron Report", ["The vault of project heron is old.", "More text about herons."])

    def respond(req):
        k = kind_of(req)
        if k == "plan":
            return {"kind": "lookup", "terms": ["heron"]}
        if k in ("map", "scan"):
            return {"relevant": True, "quote": "", "answer": ""}  # relevant, but no quote
        return "no"

    res = Controller(store, FakeModel(responder=respond)).ask("What is the vault code for project heron?")
    nodes = derive_fates(res.nodes, res.citations, res.answer)
    _check(nodes, res.citations)
    # and on a made-up node, the rule itself
    [n] = derive_fates([{"id": "x", "kind": "map", "output": "{}", "data": {"relevant": True},
                         "fate": "discarded", "fate_reason": "no answer in this slice"}])
    assert "relevant" in n["fate_reason"] and "no answer in this slice" not in n["fate_reason"]


def test_a_cited_no_without_a_citation_is_discarded_and_markdown_reports_derived_fates():
    nodes = [{"id": "a", "kind": "filter", "output": "ranked", "fate": ""},
             {"id": "b", "kind": "map", "parent": "a", "output": "no", "fate": "cited", "fate_reason": "best-ranked sentence"},
             {"id": "c", "kind": "map", "parent": "a", "output": "no", "fate": "cited"}]
    cites = [{"n": 1, "node_id": "b", "doc_id": 1, "title": "T", "page": 1, "quote": "q", "char_start": 0, "char_end": 1}]
    out = {n["id"]: n for n in derive_fates(nodes, cites)}
    assert out["a"]["fate"] == "cited" and out["b"]["fate"] == "merged" and out["c"]["fate"] == "discarded"
    md = run_to_markdown({"id": 1, "question": "q", "answer": "x [1]", "citations": cites, "nodes": nodes})
    # the exported report shows the derived fates, not the strategy's raw ones
    assert "**filter**" in md and md.count("→ cited") == 1 and "→ merged" in md and "→ discarded" in md


def test_follow_ups_become_standalone_questions():
    thread = [{"question": "Who is the commander in chief of the Army?", "answer": "The President [1]"}]
    assert standalone("And how old must he be?", thread) == "How old must the President be?"
    thread = [{"question": "How old must the President be?", "answer": "thirty five Years [1]"}]
    assert standalone("What about a Senator?", thread) == "How old must a Senator be?"
    assert standalone("What is his term of office?", thread) == "What is the President's term of office?"
    assert standalone("Who may vote?", thread) == "Who may vote?"  # not a follow-up
    assert not is_follow_up("And how old must he be?", [])  # nothing to lean on
    # a whole sentence answered "who": its subject is who "he" is (not "the Army" of the question)
    thread = [{"question": "Who shall be Commander in Chief of the Army and Navy?",
               "answer": "The President shall be Commander in Chief of the Army and Navy of the United States [1]"}]
    assert standalone("And how old must he be?", thread) == "How old must the President be?"


def test_report_is_clean_markdown_and_pdf(tmp_path):
    import pymupdf

    turns = [{"question": "And how old must he be?", "standalone": "How old must the President be?",
              "answer": "thirty five Years [1]",
              "citations": [{"n": 1, "title": "Constitution", "file": "sample.pdf", "page": 9, "page_label": "7",
                             "quote": "who shall not have attained to the Age of thirty five Years"}]}]
    md = report_markdown(turns)
    assert "Asked as: How old must the President be?" in md and "sample.pdf" in md and "page 7 (PDF page 9)" in md
    assert "> who shall not have attained" in md and "[user]" not in md and "prompt" not in md.lower()
    pdf = write_pdf(turns, str(tmp_path / "r.pdf"))
    with pymupdf.open(pdf) as doc:
        text = unicodedata.normalize("NFKC", " ".join(p.get_text() for p in doc))  # "ﬁ" ligatures
    assert "thirty five Years" in " ".join(text.split()) and "Sources" in text


def test_the_stored_run_and_the_result_carry_the_settled_fates(store):
    """Not only the window: `runs show --json` and the result's nodes say what the data says."""
    add_text_document(store, "Constitution", CONSTITUTION)

    res = Controller(store, FakeModel(responder=says_no)).ask("How old must the President be?")
    assert res.citations
    live = [n.to_dict() for n in res.nodes]
    stored = store.get_run(res.run_id)["nodes"]
    for nodes in (live, stored):
        _check(nodes, res.citations)
        assert not [n for n in nodes if n.get("fate") == "cited" and _said_no(n)]
    assert {n["id"]: n["fate"] for n in live} == {n["id"]: n["fate"] for n in stored}


def test_the_plan_row_says_what_the_run_used_when_code_overrules_the_model(store):
    doc = add_text_document(store, "Harbour", ["The harbour master keeps the eastern gate. " * 20])
    model = FakeModel(responder=oracle_responder(lambda t: None, plan={"kind": "lookup", "terms": ["gate"]}))
    result = Controller(store, model).ask("Summarize this document.", doc_ids=[doc])
    plan = next(n for n in result.nodes if n.kind == "plan")
    assert "used: aggregate question" in plan.fate_reason and "the model said “lookup”" in plan.fate_reason

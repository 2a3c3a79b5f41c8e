"""direct and rag baselines through the same interface, and trace exports."""

from __future__ import annotations

import json

from app.llm.fake import FakeModel
from app.rlm import Controller, Trace, TraceNode, run_to_json, run_to_markdown
from app.rlm.testing import add_text_document, kind_of, slice_of
from app.rlm.trace import Citation, SliceRef

FILLER = "The committee reviewed the quarterly figures and noted that revenue remained stable. " * 10
FACT = "The vault code for project heron is 4417."


def test_direct_states_truncation_and_cites_an_answer_it_saw(store):
    doc = add_text_document(store, "Heron", [FACT + " " + FILLER, FILLER * 20])
    model = FakeModel(responder=lambda r: "4417", n_ctx=600)
    result = Controller(store, model).ask("What is the vault code for project heron?", doc_ids=[doc], mode="direct")
    assert result.status == "done" and result.answer == "4417 [1]"
    assert "Warning: direct mode cut the selection" in result.note and "%" in result.note
    step = [n for n in result.nodes if n.kind == "filter"][0]
    assert "truncated" in step.label and json.loads(step.output)["chars_seen"] < json.loads(step.output)["chars_total"]
    [c] = result.citations
    assert c.page == 1 and c.quote == FACT
    # what the model got fits its context (FakeModel would raise otherwise) and is a prefix
    assert slice_of(model.requests[0]).startswith("# Heron\n" + FACT)


def test_direct_without_truncation_has_no_warning(store):
    doc = add_text_document(store, "Heron", [FACT])
    model = FakeModel(responder=lambda r: "Not found in the selected documents.")
    result = Controller(store, model).ask("Who is the mayor?", doc_ids=[doc], mode="direct")
    assert result.status == "done" and result.note == "" and result.citations == []


def test_rag_uses_top_k_chunks_and_maps_its_citations(store):
    doc = add_text_document(store, "Heron", [FILLER, FILLER + FACT, FILLER], chunk_chars=400)
    model = FakeModel(responder=lambda r: "The code is 4417 [1].")
    result = Controller(store, model, options={"rag_k": 3}).ask("What is the vault code for project heron?",
                                                                doc_ids=[doc], mode="rag")
    assert result.status == "done" and "4417" in result.answer
    body = slice_of(model.requests[0])
    assert body.startswith("[1] (Heron, p. 2)") and "heron is 4417" in body
    assert len(model.requests) == 1 and kind_of(model.requests[0]) == "rag"
    assert result.citations[0].page == 2


def test_rag_with_no_hits_says_not_found_without_a_call(store):
    doc = add_text_document(store, "Heron", [FILLER])
    model = FakeModel()
    result = Controller(store, model).ask("What about zeppelins?", doc_ids=[doc], mode="rag")
    assert result.answer.startswith("Not found") and model.requests == []


def test_trace_round_trip_and_exports(store):
    node = TraceNode(id="n1", kind="map", label="read", slice=SliceRef(1, "T", 2, 3, 10, 20), output="{}",
                     data={"checks": {"quote_in_slice": True}}, tokens_in=5, fate="cited", fate_reason="r")
    child = TraceNode(id="n2", parent="n1", depth=1, kind="verify", output="yes")
    t = Trace([node, child])
    again = Trace.from_dict(json.loads(json.dumps(t.to_dict())))
    assert [n.to_dict() for n in again] == [n.to_dict() for n in t]
    assert again.children("n1")[0].id == "n2" and [r.id for r in again.roots()] == ["n1"]
    c = Citation(1, "n1", 1, "T", 2, "a quote", 10, 17)
    assert Citation.from_dict(c.to_dict()) == c

    doc = add_text_document(store, "Heron", [FILLER, FACT])
    model = FakeModel(responder=lambda r: "4417")
    result = Controller(store, model).ask("What is the vault code for project heron?", doc_ids=[doc], mode="direct")
    run = store.get_run(result.run_id)
    md = run_to_markdown(run, prompts=True)
    assert "What is the vault code for project heron?" in md and "## Citations" in md and "heron is 4417" in md
    assert "**final**" in md and "```" in md
    exported = json.loads(run_to_json(run))
    assert exported["answer"] == result.answer and exported["nodes"][-1]["kind"] == "final"


def test_final_answer_streams_as_it_is_generated(store):
    from app.rlm import AnswerDelta, RunFinished

    doc = add_text_document(store, "Heron", [FACT])
    model = FakeModel(responder=lambda r: "The code is four four one seven")
    events, statuses = [], []
    for e in Controller(store, model).run("What is the vault code?", doc_ids=[doc], mode="direct"):
        events.append(e)
        node = getattr(e, "node", None)
        statuses.append((node.kind, node.status) if node is not None else None)
    deltas = [e.text for e in events if isinstance(e, AnswerDelta)]
    assert len(deltas) > 3 and "".join(deltas).strip() == "The code is four four one seven"
    # pieces arrive before the run finishes and before the call's node is updated as done
    first = next(i for i, e in enumerate(events) if isinstance(e, AnswerDelta))
    done_at = statuses.index(("final", "done"))
    assert first < done_at < len(events) - 1 and isinstance(events[-1], RunFinished)

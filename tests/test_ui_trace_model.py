"""The trace panel's item model, checked by pytest-qt's model tester while it grows."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from app.rlm.trace import SliceRef, TraceNode  # noqa: E402
from app.ui.trace_model import NODE_ROLE, TraceModel, slice_label  # noqa: E402


def nodes():
    sl = SliceRef(doc_id=1, title="R-intro.pdf", page_start=12, page_end=14, char_start=100, char_end=900)
    return [
        TraceNode(id="n1", kind="plan", prompt="Plan the question", status="done", tokens_in=40, tokens_out=8),
        TraceNode(id="n2", kind="filter", parent="n1", prompt="filter", status="done"),
        TraceNode(id="n3", kind="map", parent="n2", depth=1, prompt="Read this slice", slice=sl,
                  status="done", fate="cited", tokens_in=300, tokens_out=20, seconds=1.5),
        TraceNode(id="n4", kind="map", parent="n2", depth=1, prompt="Read another", slice=sl, status="done",
                  fate="discarded", fate_reason="not relevant"),
        TraceNode(id="n5", kind="final", prompt="answer", status="running"),
    ]


def test_trace_model_passes_the_model_tester_while_growing(qapp, qtmodeltester):
    model = TraceModel()
    qtmodeltester.check(model)
    for n in nodes():
        model.upsert(n)  # live dataclasses are accepted and copied to dicts
    qtmodeltester.check(model)
    # a node update keeps structure, changes data
    model.upsert({"id": "n5", "status": "done", "tokens_in": 10, "tokens_out": 5, "fate": "merged"})
    qtmodeltester.check(model)
    assert model.rowCount() == 2  # n1 and n5 at the top
    n1 = model.index(0, 0)
    assert model.rowCount(n1) == 1
    n2 = model.index(0, 0, n1)
    assert model.rowCount(n2) == 2
    n3 = model.index(0, 0, n2)
    assert model.parent(n3) == n2 and model.parent(n2) == n1
    assert n3.data(NODE_ROLE)["id"] == "n3"
    assert model.index(0, 2, n2).data() == "R-intro.pdf p.12-14"
    assert model.index(0, 3, n2).data() == "cited"
    assert model.index(0, 4, n2).data() == "320"
    assert model.index(1, 0, n2).data(Qt.ItemDataRole.FontRole).italic()  # discarded looks different
    assert model.index(0, 0, n2).data(Qt.ItemDataRole.FontRole).bold()  # cited stands out
    assert model.index(1, 3).data() == "merged"
    # rows read "asked: … / found: …" in plain words
    assert model.index(0, 1).data() == "asked: what is the question asking?"
    assert model.index(0, 1, n2).data() == "asked: does this slice answer the question?"
    t = model.totals()
    assert t["tokens_in"] == 350 and t["depth"] == 1 and t["calls"] == 5
    assert model.pages_read() == {1: {12, 13, 14}}
    assert model.chars_read() == {1: 800}  # two reads of one slice count once
    assert model.index_for_id("n4").row() == 1


def test_rebuilding_from_stored_dicts(qapp, qtmodeltester):
    model = TraceModel()
    model.set_nodes([n.to_dict() for n in nodes()])
    qtmodeltester.check(model)
    assert len(model.nodes()) == 5
    model.clear()
    assert model.rowCount() == 0
    qtmodeltester.check(model)


def test_slice_labels():
    assert slice_label({"title": "a.pdf", "page_start": 3, "page_end": 3}) == "a.pdf p.3"
    assert slice_label(None) == ""


def test_a_pick_row_says_which_passage_the_model_named():
    from app.ui.trace_model import sub_query_text

    node = {"kind": "pick", "label": "which of the 4 best passages answers?", "prompt": "…", "output": "3",
            "data": {"picked": "3", "p": {"0": 0.02, "1": 0.05, "3": 0.91}}}
    assert sub_query_text(node) == "asked: which of the 4 best passages answers? / found: passage 3 (P 0.91)"
    node["data"] = {"picked": "0", "p": {"0": 0.7}}
    assert sub_query_text(node).endswith("found: none of them (P 0.70)")

"""The desktop window (pytest-qt, offscreen): drops, import errors, asking, stopping,
citations into the reader, history and settings. Logic runs on the FakeModel; the real
default model has its own test at the end. No sleeps: every wait is on a signal or a
condition."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.llm.fake import FakeModel  # noqa: E402
from app.rlm.testing import oracle_responder  # noqa: E402
from app.ui.engine import Engine  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.settings import Settings  # noqa: E402
from tests.pdfs import corrupt_pdf, multi_page_pdf, not_a_pdf, page_marker  # noqa: E402

WAIT = 90_000  # ms: generous for a loaded 2-core machine; waits end as soon as the condition holds


def find_marker(word):
    def find(text):
        m = re.search(rf"Page (\d+) marker {word}\.", text)
        return (m.group(1), m.group(0)) if m else None

    return find


def fake_provider(model):
    return lambda _settings: (model, None)


@pytest.fixture
def make_window(qtbot):
    windows = []

    def make(model=None, **kw):
        engine = Engine(model_provider=fake_provider(model or FakeModel(default="Not found.")))
        w = MainWindow(engine=engine, **kw)
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        # the first library refresh and history load
        qtbot.waitUntil(lambda: not w.tasks.busy, timeout=WAIT)
        return w

    yield make
    for w in windows:
        w.close()
        # closing cancels and waits for every worker: nothing may be left running
        assert w.tasks.pool.activeThreadCount() == 0


def drop(widget, paths):
    """A real drop: QMimeData with file URLs, delivered as drag-enter then drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    # PySide6 6.11 takes a QPoint; later releases prefer a QPointF (pyproject keeps below 6.12).
    pos = QPoint(10, 10)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    ev = QDropEvent(pos.toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)
    assert ev.isAccepted()


def import_by_drop(qtbot, w, widget, paths):
    with qtbot.waitSignal(w.importFinished, timeout=WAIT * 4) as blocker:
        drop(widget, paths)
    qtbot.waitUntil(lambda: not w.tasks.busy, timeout=WAIT)
    return blocker.args[0]


def ask(qtbot, w, question, *, mode="guided", calls=12):
    w.ask.question.setPlainText(question)
    w.ask.mode.setCurrentIndex(w.ask.mode.findData(mode))
    w.ask.budget.setValue(calls)
    with qtbot.waitSignal(w.runFinished, timeout=WAIT * 8) as blocker:
        assert w.start_run()
    qtbot.waitUntil(lambda: not w.session.running, timeout=WAIT)
    return blocker.args[0]


@pytest.fixture
def pdf(tmp_path):
    return multi_page_pdf(tmp_path / "docs" / "report.pdf", pages=6)


# --- library -----------------------------------------------------------------------------
def test_dropping_files_and_a_folder_imports_them(make_window, qtbot, tmp_path, pdf):
    w = make_window()
    folder = tmp_path / "folder"
    multi_page_pdf(folder / "a.pdf", pages=3, title="Alpha Notes")
    multi_page_pdf(folder / "sub" / "b.pdf", pages=2, title="Beta Notes")
    ids = import_by_drop(qtbot, w, w.library.view.viewport(), [pdf, folder])
    assert len(ids) == 3
    model = w.library.model
    statuses = {it.data(Qt.ItemDataRole.UserRole + 3) for it in model.doc_items()}
    assert statuses == {"ready"}
    pages = sorted(it.data(Qt.ItemDataRole.UserRole + 4) for it in model.doc_items())
    assert pages == [2, 3, 6]
    # search-as-you-type over titles keeps only matching documents
    w.library.search.setText("alpha")
    visible = []
    proxy = w.library.proxy
    for r in range(proxy.rowCount()):
        parent = proxy.index(r, 0)
        visible += [proxy.index(c, 0, parent).data() for c in range(proxy.rowCount(parent))]
    assert visible == ["Alpha Notes"]
    w.library.search.clear()
    # the scope: all documents, shown on the Ask panel with the page total
    assert "all 3 documents" in w.ask.scope_label.text() and "11 pages" in w.ask.scope_label.text()
    qtbot.waitUntil(lambda: "tokens in scope" in w.ask.meter.text(), timeout=WAIT)


def test_a_bad_file_in_the_drop_shows_its_error_in_the_library(make_window, qtbot, tmp_path, pdf):
    w = make_window()
    bad = not_a_pdf(tmp_path / "docs" / "notes.pdf")
    broken = corrupt_pdf(tmp_path / "docs" / "broken.pdf")
    ids = import_by_drop(qtbot, w, w.library.view.viewport(), [pdf, bad, broken])
    assert len(ids) >= 1
    for path in (bad, broken):
        status, error = w.library.status_of(str(path))
        assert status == "error", (path, status, error)
        assert error and "Traceback" not in error
    assert w.library.status_of(str(pdf))[0] == "ready"
    rows = [it.data(Qt.ItemDataRole.UserRole + 2) for it in w.library.model.doc_items()]
    assert sorted(rows) == sorted(str(p) for p in (pdf, bad, broken))  # one row per file
    # the row's status column says "error", whole; the full error is its tooltip and,
    # once the row is selected, the panel's message line (a narrow dock cut it to "error: N")
    item = w.library.model.item_for_path(str(bad))
    status_item = item.parent().child(item.row(), 2)
    assert status_item.text() == "error"
    assert status_item.toolTip().startswith("error: ") and len(status_item.toolTip()) > 12
    w.library.view.setCurrentIndex(w.library.proxy.mapFromSource(item.index()))
    assert w.library.message.isVisible() and "notes.pdf could not be imported: " in w.library.message.text()


def test_dropping_on_the_question_box_makes_the_files_the_scope(make_window, qtbot, tmp_path, pdf):
    w = make_window()
    other = multi_page_pdf(tmp_path / "other.pdf", pages=2, title="Other Paper")
    import_by_drop(qtbot, w, w.library.view.viewport(), [other])
    ids = import_by_drop(qtbot, w, w.ask.question.viewport(), [pdf])
    assert w.library.scope()[0] == ids
    assert "Multi Page Report" in w.ask.scope_label.text() and "Other Paper" not in w.ask.scope_label.text()


def test_a_protected_pdf_asks_for_its_password(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from tests.pdfs import DEFAULT_PASSWORD, encrypted_pdf

    locked = encrypted_pdf(tmp_path / "locked.pdf")
    asked = []

    def answer(*args, **kw):
        asked.append(args[2] if len(args) > 2 else "")
        return DEFAULT_PASSWORD, True

    monkeypatch.setattr(QInputDialog, "getText", answer)
    w = make_window()
    # the first import finds it locked and prompts; the prompt's password re-imports it
    with qtbot.waitSignal(w.importFinished, timeout=WAIT * 2):
        drop(w.library.view.viewport(), [locked])
    assert asked and "locked.pdf" in asked[0]
    qtbot.waitUntil(lambda: w.library.status_of(str(locked))[0] == "ready" and not w.tasks.busy, timeout=WAIT)


def test_rescanning_a_folder_picks_up_new_files(make_window, qtbot, tmp_path):
    folder = tmp_path / "papers"
    multi_page_pdf(folder / "one.pdf", pages=2, title="First Paper")
    w = make_window()
    import_by_drop(qtbot, w, w.library.view.viewport(), [folder])
    multi_page_pdf(folder / "two.pdf", pages=3, title="Second Paper")
    w.library.view.setCurrentIndex(w.library.proxy.index(0, 0))  # the folder row
    with qtbot.waitSignal(w.importFinished, timeout=WAIT * 2):
        w.library.rescan_selected()
    qtbot.waitUntil(lambda: not w.tasks.busy, timeout=WAIT)
    titles = sorted(it.text() for it in w.library.model.doc_items())
    assert titles == ["First Paper", "Second Paper"]


def test_reader_find_goes_to_the_page_with_the_word(make_window, qtbot, pdf):
    w = make_window()
    [doc_id] = import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT):
        w._open_page(doc_id, 1)
    qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # Ctrl+F opens the find bar
    assert w.reader.find_bar.isVisible()
    w.reader.find_edit.setText(page_marker(5))
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT, check_params_cb=lambda p: p == 5):
        qtbot.keyClick(w.reader.find_edit, Qt.Key.Key_Return)
    assert w.reader.canvas.found, "the match is marked on the page"
    zoom = w.reader.zoom
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT):
        w.reader.zoom_in_btn.click()
    assert w.reader.zoom > zoom


def test_removing_a_document_leaves_the_file_on_disk(make_window, qtbot, pdf):
    w = make_window()
    [doc_id] = import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    with qtbot.waitSignal(w.library.documentsChanged, timeout=WAIT):
        w.library.remove_documents([doc_id])
    assert list(w.library.model.doc_items()) == []
    assert pdf.is_file()


# --- asking ------------------------------------------------------------------------------
def test_ask_with_the_fake_model_streams_answer_trace_and_citations(make_window, qtbot, pdf):
    word = page_marker(4)
    model = FakeModel(responder=oracle_responder(find_marker(word)))
    w = make_window(model)
    import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    result = ask(qtbot, w, f"Which page has the marker {word}?")
    assert result["status"] == "done", result.get("note")
    assert "4" in w.ask.answer_text() and "[1]" in w.ask.answer_text()
    html = w.ask.answer.toHtml()
    assert "cite:1" in html  # the citation is a link
    tm = w.trace.model
    kinds = {n["kind"] for n in tm.nodes()}
    assert {"plan", "map", "final"} <= kinds
    assert any(n.get("fate") == "cited" for n in tm.nodes())
    assert f"<b>{result['totals']['calls']}</b> calls" in w.trace.totals.text()
    # the coverage strip knows which pages were read
    assert w.trace.coverage.rows and 4 in w.trace.coverage.rows[0][3]
    assert w.ask.ask_btn.isEnabled() and not w.ask.stop_btn.isEnabled()


def test_meaning_on_without_the_embedding_model_is_said_in_the_status_line(qtbot, pdf):
    from app.runconfig import RunConfig

    RunConfig.load().replace(meaning=True).save()
    word = page_marker(4)
    engine = Engine(model_provider=fake_provider(FakeModel(responder=oracle_responder(find_marker(word)))),
                    embedder_provider=lambda config: None)  # as when the model cannot be loaded
    w = MainWindow(engine=engine)
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(lambda: not w.tasks.busy, timeout=WAIT)
        import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
        result = ask(qtbot, w, f"Which page has the marker {word}?")
        assert result["status"] == "done" and "4" in w.ask.answer_text()
        assert "ranked by their words only" in w.ask.status.text()
        RunConfig.load().replace(meaning=False).save()
        ask(qtbot, w, f"Which page has the marker {word}?")
        assert "words only" not in w.ask.status.text()
    finally:
        w.close()


def test_citation_click_selects_its_node_and_highlights_its_page(make_window, qtbot, pdf):
    word = page_marker(3)
    w = make_window(FakeModel(responder=oracle_responder(find_marker(word))))
    import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    result = ask(qtbot, w, f"Which page has the marker {word}?")
    [c] = result["citations"]
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT, check_params_cb=lambda p: p == c["page"]):
        w.ask.click_citation(c["n"])
    assert w.trace.current_node()["id"] == c["node_id"]
    assert w.reader.page == 3 == c["page"]
    assert w.reader.highlights, "the quote is highlighted on the page"
    assert w.reader.canvas.image is not None and not w.reader.canvas.image.isNull()
    # the node's details show the slice text it read
    qtbot.waitUntil(lambda: word in w.trace.details.toPlainText(), timeout=WAIT)
    # selecting another node jumps the reader to that node's slice
    plan_idx = next(i for i in range(w.trace.model.rowCount())
                    if w.trace.model.node(w.trace.model.index(i, 0))["kind"] == "plan")
    w.trace.tree.setCurrentIndex(w.trace.model.index(plan_idx, 0))
    assert w.trace.current_node()["kind"] == "plan"


def test_stop_in_the_middle_of_a_run_keeps_the_partial_trace(make_window, qtbot, tmp_path):
    big = multi_page_pdf(tmp_path / "big.pdf", pages=20)
    # a slow model: each streamed word waits, so the run is still going when Stop is pressed
    model = FakeModel(responder=oracle_responder(lambda _t: None, plan={"kind": "aggregate", "terms": []},
                                                 reduce=lambda notes: "nothing"),
                      token_delay=0.05)
    w = make_window(model)
    import_by_drop(qtbot, w, w.library.view.viewport(), [big])
    w.ask.question.setPlainText("Summarise every page of the report in detail.")
    w.ask.budget.setValue(50)
    with qtbot.waitSignal(w.runFinished, timeout=WAIT * 4) as blocker:
        assert w.start_run()
        qtbot.waitUntil(lambda: w.trace.model.rowCount() >= 2, timeout=WAIT)
        assert w.ask.stop_btn.isEnabled()
        qtbot.keyClick(w, Qt.Key.Key_Escape)  # Esc stops
    result = blocker.args[0]
    assert result["status"] == "cancelled"
    qtbot.waitUntil(lambda: w.ask.ask_btn.isEnabled(), timeout=WAIT)
    assert w.trace.model.rowCount() >= 1
    assert "Stopped" in w.ask.status.text()


def test_a_failed_run_shows_its_reason_and_partial_trace(make_window, qtbot, pdf):
    from app.llm.base import LLMError

    w = make_window(FakeModel(replies=[{"kind": "lookup", "terms": []}], default=LLMError("the model crashed")))
    import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    result = ask(qtbot, w, "What is on page two?")
    assert result["status"] == "failed"
    assert "the model crashed" in w.ask.status.text()
    assert w.trace.model.rowCount() >= 1


def test_bad_input_gets_a_message_in_place(make_window, qtbot):
    w = make_window()
    assert not w.start_run()
    assert "Type a question" in w.ask.status.text()
    w.ask.question.setPlainText("Anything?")
    assert not w.start_run()
    assert "import a PDF first" in w.ask.status.text()


def test_reopening_a_past_run_from_history(make_window, qtbot, pdf):
    word = page_marker(2)
    w = make_window(FakeModel(responder=oracle_responder(find_marker(word))))
    import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    result = ask(qtbot, w, f"Which page has the marker {word}?")
    answer = w.ask.answer_text()
    n_nodes = len(w.trace.model.nodes())
    qtbot.waitUntil(lambda: w.history.list.topLevelItemCount() >= 1, timeout=WAIT)
    w.trace.clear()
    w.ask.clear_answer()
    with qtbot.waitSignal(w.history.runOpened, timeout=WAIT):
        w.history.open_run(result["run_id"])
    assert w.ask.answer_text() == answer
    assert len(w.trace.model.nodes()) == n_nodes
    assert w.ask.question.toPlainText() == f"Which page has the marker {word}?"
    # and the reopened citation still leads to its page
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT):
        w.ask.click_citation(1)
    assert w.reader.page == 2


def test_exporting_a_run_as_markdown_and_json(make_window, qtbot, pdf, tmp_path):
    import json

    word = page_marker(5)
    w = make_window(FakeModel(responder=oracle_responder(find_marker(word))))
    import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    result = ask(qtbot, w, f"Which page has the marker {word}?")
    md, js = tmp_path / "run.md", tmp_path / "run.json"
    w.history.export(result["run_id"], "md", str(md))
    w.history.export(result["run_id"], "json", str(js))
    qtbot.waitUntil(lambda: md.is_file() and js.is_file() and not w.tasks.busy, timeout=WAIT)
    assert word in md.read_text() or "5" in md.read_text()
    data = json.loads(js.read_text())
    assert data["question"].startswith("Which page") and data["nodes"]


# --- settings ----------------------------------------------------------------------------
def test_settings_and_layout_persist_across_windows(make_window, qtbot):
    from app.runconfig import RunConfig
    from app.ui.settings_dialog import SettingsDialog

    w1 = make_window()
    w1.ask.mode.setCurrentIndex(w1.ask.mode.findData("rag"))
    w1.ask.budget.setValue(7)
    w1.history_dock.hide()  # the dock layout is part of the remembered window state
    dlg = SettingsDialog(w1.settings, w1.engine, w1.tasks, w1)
    dlg.max_depth.setValue(3)
    dlg.threads.setValue(2)
    dlg.accept()
    w1.close()

    w2 = make_window(settings=Settings())
    assert w2.ask.mode.currentData() == "rag"
    assert w2.ask.budget.value() == 7
    assert w2.history_dock.isHidden() and not w2.library_dock.isHidden()
    cfg = RunConfig.load()  # what `lectern ask` reads
    assert cfg.max_depth == 3 and cfg.n_threads == 2 and cfg.mode == "rag" and cfg.max_calls == 7


def test_dropping_a_gguf_adds_it_to_the_model_library(make_window, qtbot, default_model_path, tmp_path):
    import shutil

    gguf = tmp_path / "my-model.gguf"
    shutil.copyfile(default_model_path, gguf)
    w = make_window()
    drop(w, [gguf])
    qtbot.waitUntil(lambda: "Added the model my-model" in w.statusBar().currentMessage(), timeout=WAIT)
    from app.ui.settings_dialog import library_models

    assert "my-model" in [name for name, _p in library_models()]


# --- the real default model --------------------------------------------------------------
@pytest.mark.slow
def test_ask_with_the_real_default_model(qtbot, pdf):
    from app.ui.engine import default_model_provider

    w = MainWindow(engine=Engine(model_provider=default_model_provider))
    qtbot.addWidget(w)
    w.show()
    try:
        with qtbot.waitSignal(w.importFinished, timeout=WAIT * 4):
            drop(w.library.view.viewport(), [pdf])
        word = page_marker(2)
        w.ask.question.setPlainText(f"Which page has the marker word {word}?")
        w.ask.mode.setCurrentIndex(w.ask.mode.findData("guided"))
        w.ask.budget.setValue(3)
        with qtbot.waitSignal(w.runFinished, timeout=300_000) as blocker:
            assert w.start_run()
        result = blocker.args[0]
        assert result["status"] in ("done", "budget"), result.get("note")
        assert w.trace.model.rowCount() >= 1
        assert result["totals"]["calls"] >= 1 and result["totals"]["tokens_in"] > 0
        assert "SmolLM2" in w.model_label.text()
        assert w.ask.answer_text().strip()
        # Stop in the middle of a real run: the cancel token reaches llama.cpp
        qtbot.waitUntil(lambda: not w.session.running, timeout=WAIT)
        w.ask.budget.setValue(8)
        with qtbot.waitSignal(w.runFinished, timeout=300_000) as blocker:
            assert w.start_run()
            qtbot.waitUntil(lambda: any(n.get("status") == "running" for n in w.trace.model.nodes()), timeout=120_000)
            w.stop_run()
        assert blocker.args[0]["status"] == "cancelled"
        qtbot.waitUntil(lambda: w.ask.ask_btn.isEnabled(), timeout=WAIT)
    finally:
        w.close()
    assert w.tasks.pool.activeThreadCount() == 0


def test_a_quote_over_a_page_break_is_highlighted_on_both_pages(make_window, qtbot, tmp_path):
    from tests.pdfs import FURNITURE_RUN_ON, furniture_pdf

    w = make_window()
    [doc_id] = import_by_drop(qtbot, w, w.library.view.viewport(), [furniture_pdf(tmp_path / "manual.pdf")])
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT, check_params_cb=lambda p: p == 3):
        w._open_page(doc_id, 3, FURNITURE_RUN_ON, last_page=4)
    assert w.reader.highlights, "the quote's first part is highlighted on its first page"
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT, check_params_cb=lambda p: p == 4):
        w.reader.show_page(4)
    assert w.reader.highlights, "and its second part on the next page"
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT, check_params_cb=lambda p: p == 5):
        w.reader.show_page(5)
    assert not w.reader.highlights

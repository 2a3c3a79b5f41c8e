"""Issue 12, the window an analyst trusts: one run configuration, answer first, a
truthful trace, errors a person can act on, the runtime in view, conversations and
plain-word modes. Each test fails on the window as it was before the fix it names."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QHeaderView  # noqa: E402

from app.llm.fake import FakeModel  # noqa: E402
from app.rlm.testing import oracle_responder  # noqa: E402
from app.runconfig import RunConfig  # noqa: E402
from app.ui.engine import Engine  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from tests.pdfs import multi_page_pdf, page_marker  # noqa: E402
from tests.test_ui import WAIT, ask, drop, find_marker, import_by_drop, make_window, pdf  # noqa: E402,F401


class RecordingProvider:
    """A model provider that remembers the run configuration the window passed."""

    def __init__(self, model):
        self.model = model
        self.configs = []

    def __call__(self, config):
        self.configs.append(config)
        return self.model, None


def window_with(qtbot, provider, size=None):
    w = MainWindow(engine=Engine(model_provider=provider))
    qtbot.addWidget(w)
    if size:
        w.resize(*size)
    w.show()
    qtbot.waitUntil(lambda: not w.tasks.busy and w.library_loaded, timeout=WAIT)
    return w


def close(w):
    w.close()
    assert w.tasks.pool.activeThreadCount() == 0


def oracle_for(page):
    return FakeModel(responder=oracle_responder(find_marker(page_marker(page))))


# --- 7. one run configuration ------------------------------------------------------------
def test_no_limit_in_the_settings_dialog_really_means_no_limit(qtbot, pdf):
    from app.ui.settings_dialog import SettingsDialog

    prov = RecordingProvider(oracle_for(2))
    w = window_with(qtbot, prov)
    try:
        dlg = SettingsDialog(w.settings, w.engine, w.tasks, w)
        dlg.max_tokens.setValue(0)  # "No limit"
        dlg.max_seconds.setValue(0)
        assert not dlg.meaning.isChecked()  # ranking by meaning is off by default
        dlg.meaning.setChecked(True)
        dlg.accept()
        import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
        result = ask(qtbot, w, f"Which page has the marker {page_marker(2)}?")
        assert result["status"] == "done"
        budget = prov.configs[-1].budget()
        assert budget.max_tokens == float("inf") and budget.max_seconds == float("inf")  # was 200,000 and 600 s
        run = w.engine.get_run(result["run_id"])
        assert run["settings"]["max_tokens"] is None and run["settings"]["max_seconds"] is None
        assert prov.configs[-1].meaning is True  # the checkbox reached the run's configuration
    finally:
        close(w)


def test_the_window_and_the_cli_share_defaults_and_models_use(qtbot):
    from app.llm import manager

    prov = RecordingProvider(FakeModel(default="Not found."))
    w = window_with(qtbot, prov)
    try:
        assert w.ask.budget.value() == RunConfig().max_calls == 48  # the window said 12, the CLI 48
        # `lectern models use` and endpoints, made while the window is open, apply to its next question
        manager.add_endpoint("http://127.0.0.1:9")
        manager.set_choice(root="endpoints")
        cfg = w._config()
        assert cfg.root == "endpoints" and cfg.endpoints == ["http://127.0.0.1:9"]
    finally:
        close(w)


# --- 2. answer first ---------------------------------------------------------------------
def test_answer_first_layout_at_1280x800(qtbot, pdf):
    w = window_with(qtbot, RecordingProvider(oracle_for(3)), size=(1280, 800))
    try:
        assert w.trace_dock.isHidden(), "the trace stays closed until a run starts"
        import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
        result = ask(qtbot, w, f"Which page has the marker {page_marker(3)}?")
        assert result["citations"]
        assert w.trace_dock.isVisible() and w.ask.trace_btn.isChecked()
        QApplication.processEvents()
        # the answer pane is the largest: wider than the reader and taller than the trace
        assert w.ask.width() > w.reader.width()
        assert w.ask.answer.height() > w.trace_dock.height()
        # answer and sources readable without scrolling
        assert w.ask.answer.verticalScrollBar().maximum() == 0
        html = w.ask.answer.toHtml()
        assert "Sources" in html and "report.pdf" in html  # the file name is in the sources list
        # the Sub-query column stretches; the others fit their content
        hdr = w.trace.tree.header()
        assert hdr.sectionResizeMode(1) == QHeaderView.ResizeMode.Stretch
        assert hdr.sectionSize(1) > max(hdr.sectionSize(c) for c in (0, 2, 3, 4, 5))
        # the trace can be toggled
        w.ask.trace_btn.click()
        assert w.trace_dock.isHidden()
    finally:
        close(w)


def test_the_first_window_fits_a_small_screen():
    from PySide6.QtCore import QRect

    from app.ui.main_window import default_size

    class Screen:
        def availableGeometry(self):
            return QRect(0, 0, 1280, 720)

    w, h = default_size(Screen())
    assert w <= 1280 and h <= 720 - 40


# --- 4. a truthful trace -----------------------------------------------------------------
def test_a_no_is_never_shown_as_cited_and_coverage_counts_only_model_reads(qtbot, tmp_path):
    from tests.test_trace_fates import says_no  # a small model that says "no" to every sentence

    doc = multi_page_pdf(tmp_path / "c.pdf", pages=8)
    w = window_with(qtbot, RecordingProvider(FakeModel(responder=says_no)))
    try:
        import_by_drop(qtbot, w, w.library.view.viewport(), [doc])
        result = ask(qtbot, w, f"Which page has the marker {page_marker(5)}?")
        nodes = w.trace.model.nodes()
        for n in nodes:
            if str(n.get("output") or "").strip().lower() == "no":
                assert n.get("fate") != "cited", n
        if result["citations"]:
            assert any(n.get("fate") == "cited" for n in nodes)
        # rows read "asked: … / found: …"
        row = w.trace.model.index(0, 1).data()
        assert row.startswith("asked: ") and " / found: " in row
        # coverage: only characters a model read, never 100% from a search step
        read = w.trace.model.chars_read()
        total = w.library.model.documents[next(iter(w.library.model.documents))].char_count
        assert all(0 < v < total for v in read.values())
        # details lead with the summary; the raw prompt sits behind a toggle
        idx = next(w.trace.model.index(i, 0) for i in range(w.trace.model.rowCount()))
        w.trace.tree.setCurrentIndex(idx)
        text = w.trace.details.toPlainText()
        assert text.startswith("Asked:") and "[user]" not in text and "Show raw prompt" in text
        w.trace._detail_link(type("U", (), {"toString": lambda self: "toggle:raw"})())
        assert "Hide raw prompt" in w.trace.details.toPlainText()
    finally:
        close(w)


# --- 6. errors a person can act on -------------------------------------------------------
def test_a_corrupt_model_file_gives_a_readable_error_and_a_settings_button(qtbot, pdf, monkeypatch):
    from app.llm.base import ModelLoadError

    def broken(_config):
        raise ModelLoadError("bad.gguf is not a GGUF model file (llama.cpp models end in .gguf and "
                             "start with 'GGUF'; this one starts with b'\\xcbAR\\xe6')")

    w = window_with(qtbot, broken)
    try:
        import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
        opened = []
        monkeypatch.setattr(w, "open_settings", lambda: opened.append(1))
        w.ask.settingsRequested.disconnect()
        w.ask.settingsRequested.connect(w.open_settings)
        result = ask(qtbot, w, "What is on page two?")
        assert result["status"] == "failed"
        status = w.ask.status_text()
        assert "bad.gguf" in status and "b'" not in status and "\\x" not in status
        assert w.ask.status.toolTip() == status  # the whole text, also as a tooltip
        assert w.ask.action_btn.isVisible() and w.ask.action_btn.text() == "Open model settings"
        w.ask.action_btn.click()
        assert opened
    finally:
        close(w)


def test_stop_says_so_once_and_a_progress_bar_runs(qtbot, tmp_path):
    big = multi_page_pdf(tmp_path / "big.pdf", pages=20)
    model = FakeModel(responder=oracle_responder(lambda _t: None, plan={"kind": "aggregate", "terms": []},
                                                 reduce=lambda notes: "nothing"), token_delay=0.05)
    w = window_with(qtbot, RecordingProvider(model))
    try:
        import_by_drop(qtbot, w, w.library.view.viewport(), [big])
        w.ask.question.setPlainText("Summarise every page of the report in detail.")
        w.ask.budget.setValue(50)
        with qtbot.waitSignal(w.runFinished, timeout=WAIT * 4):
            assert w.start_run()
            qtbot.waitUntil(lambda: w.ask.progress.maximum() > 1 and w.ask.progress.value() >= 1, timeout=WAIT)
            assert "planned slices read" in w.ask.progress.format()
            w.stop_run()
        qtbot.waitUntil(lambda: w.ask.ask_btn.isEnabled(), timeout=WAIT)
        status = w.ask.status_text()
        assert status.count("Stopped") == 1 and "Cancelled" not in status
        assert w.ask.progress.isHidden()
    finally:
        close(w)


def test_time_estimate_comes_from_this_machine_not_a_constant():
    from app.ui.run_session import estimate_seconds

    assert estimate_seconds(100_000, "guided", 48, 8192, 0.0, 0.0, 0.0) is None  # nothing measured yet
    slow = estimate_seconds(2_000, "guided", 48, 8192, 0.0, 0.0, 10.0)
    fast = estimate_seconds(2_000, "guided", 48, 8192, 0.0, 0.0, 100.0)
    assert slow[0] == pytest.approx(10 * fast[0])
    lo, hi = estimate_seconds(1_000_000, "guided", None, 8192, 0.0, 1.5)
    assert lo == 4 * 1.5 and hi > 100 * 1.5  # a lookup vs reading everything, with no call limit


def test_a_wrong_password_says_so(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from tests.pdfs import DEFAULT_PASSWORD, encrypted_pdf

    locked = encrypted_pdf(tmp_path / "locked.pdf")
    prompts = []

    def answer(*args, **kw):
        prompts.append(args[2])
        return ("wrong" if len(prompts) == 1 else DEFAULT_PASSWORD), True

    monkeypatch.setattr(QInputDialog, "getText", answer)
    w = make_window()
    with qtbot.waitSignal(w.importFinished, timeout=WAIT * 2):
        drop(w.library.view.viewport(), [locked])
    qtbot.waitUntil(lambda: w.library.status_of(str(locked))[0] == "ready" and not w.tasks.busy, timeout=WAIT * 2)
    assert len(prompts) == 2
    assert "Wrong password" not in prompts[0] and prompts[1].startswith("Wrong password, try again")


def test_a_locked_file_shows_an_unlock_page_not_another_documents_page(make_window, qtbot, tmp_path, pdf, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from tests.pdfs import DEFAULT_PASSWORD, encrypted_pdf

    locked = encrypted_pdf(tmp_path / "locked.pdf")
    w = make_window()
    [doc_id] = import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT):
        w._open_page(doc_id, 1)
    w.reader.open_document(str(locked), title="Locked", page=1)
    qtbot.waitUntil(lambda: w.reader.unlock_btn.isVisible(), timeout=WAIT)
    assert not w.reader.scroll.isVisible(), "the other document's page is not left on screen"
    assert "locked" in w.reader.placeholder.text() and "ReaderError" not in w.reader.placeholder.text()
    answers = iter([("nope", True), (DEFAULT_PASSWORD, True)])
    seen = []
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (seen.append(a[2]), next(answers))[1])
    with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT):
        w.reader.unlock_btn.click()
    assert seen[1].startswith("Wrong password, try again")
    assert w.reader.scroll.isVisible() and not w.reader.unlock_btn.isVisible()


# --- issue 9 item 3: the runtime in the status bar and the settings dialog ---------------
class RuntimeModel(FakeModel):
    def info(self):
        return dict(super().info(), name="SmolLM2-135M-Instruct", variant="haswell",
                    variant_reason="highest-scoring variant for this CPU that passed the self-check",
                    gpu_layers=0, n_layers=30, gpu_offload_supported=False,
                    selfcheck={"ok": True, "tokens_per_s": 48.2, "variant": "haswell"})


def test_the_runtime_is_shown_in_the_status_bar_and_settings(qtbot, pdf):
    from app.ui.settings_dialog import SettingsDialog

    w = window_with(qtbot, RecordingProvider(RuntimeModel(responder=oracle_responder(find_marker(page_marker(2))))))
    try:
        import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
        ask(qtbot, w, f"Which page has the marker {page_marker(2)}?")
        label = w.model_label.text()
        assert "CPU haswell" in label and "0 GPU layers" in label and "self-check passed, 48 tok/s" in label
        assert "passed the self-check" in w.model_label.toolTip()
        dlg = SettingsDialog(w.settings, w.engine, w.tasks, w, runtime_info=w.runtime_info)
        text = dlg.runtime.text()
        assert "CPU variant: haswell" in text and "GPU layers offloaded: 0 of 30" in text and "48.2 tokens/s" in text
        dlg.reject()
        # and the measured speed now drives the time estimate
        assert w.settings.get("perf/selfcheck_tps") == pytest.approx(48.2)
    finally:
        close(w)


# --- 3. conversations --------------------------------------------------------------------
def test_a_follow_up_is_rewritten_kept_in_the_thread_copied_and_exported(qtbot, tmp_path, monkeypatch):
    doc = multi_page_pdf(tmp_path / "d.pdf", pages=4)

    def find(text):
        m = re.search(r"Page (\d+) marker (\w+)\.", text)
        return (m.group(1), m.group(0)) if m and m.group(2) == page_marker(2) else None

    w = window_with(qtbot, RecordingProvider(FakeModel(responder=oracle_responder(find))))
    try:
        import_by_drop(qtbot, w, w.library.view.viewport(), [doc])
        first = ask(qtbot, w, f"Which page has the marker {page_marker(2)}?")
        assert first["citations"]
        with qtbot.waitSignal(w.reader.pageShown, timeout=WAIT):
            w.ask.click_citation(1)
        assert w.reader.highlights
        ask(qtbot, w, "And what does it say?")
        # the rewrite is a node of the trace; the previous answer stays in the thread
        rewrite = [n for n in w.trace.model.nodes() if n.get("id") == "rewrite"]
        assert rewrite and "marker" in rewrite[0]["output"]
        assert "Conversation" in w.ask.thread_label.text() and page_marker(2) in w.ask.thread_label.text()
        assert not w.reader.quote, "the previous answer's highlight is gone"
        # copy and export
        w.ask.set_answer(first["answer"], first["citations"])
        text = w.copy_answer()
        assert QApplication.clipboard().text() == text and "Sources:" in text and "[1]" in text
        md, pdf_out = tmp_path / "a.md", tmp_path / "a.pdf"
        w.export_answer("md", str(md))
        w.export_answer("pdf", str(pdf_out))
        qtbot.waitUntil(lambda: md.is_file() and pdf_out.is_file() and not w.tasks.busy, timeout=WAIT)
        assert "Sources" in md.read_text() and "[user]" not in md.read_text()
        # a new conversation forgets the thread
        w.new_conversation()
        assert w.thread == [] and not w.ask.thread_label.isVisible()
    finally:
        close(w)


def test_history_search_filters_with_previews(make_window, qtbot, pdf):
    w = make_window(oracle_for(4))
    import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    ask(qtbot, w, f"Which page has the marker {page_marker(4)}?")
    w.new_conversation()
    ask(qtbot, w, "Who signed the report?")
    ask(qtbot, w, "And when did they sign it?")  # a follow-up in the second conversation
    qtbot.waitUntil(lambda: len(w.history.runs) == 3, timeout=WAIT)
    hl = w.history.list
    assert hl.topLevelItemCount() == 2  # two conversations
    newest = hl.topLevelItem(0)
    assert newest.text(0) == "Who signed the report?" and newest.childCount() == 1
    assert "Asked: And when did they sign it?" in newest.child(0).toolTip(0)
    w.history.search.setText("marker")
    assert newest.isHidden() and not hl.topLevelItem(1).isHidden()
    w.history.search.setText("")
    first = hl.topLevelItem(1)
    run = next(r for r in w.history.runs if r["id"] == first.data(0, Qt.ItemDataRole.UserRole + 1))
    assert first.text(1) and first.text(1) in " ".join(run["answer"].split())  # the answer's preview
    assert "[1]" not in first.text(1)
    # reopening the follow-up brings its conversation back
    with qtbot.waitSignal(w.history.runOpened, timeout=WAIT):
        w.history.open_run(newest.child(0).data(0, Qt.ItemDataRole.UserRole + 1))
    assert [t["question"] for t in w.thread] == ["Who signed the report?", "And when did they sign it?"]


# --- 8. plain words ----------------------------------------------------------------------
def test_modes_have_plain_names_and_repl_with_the_small_model_says_so_before_running(make_window, qtbot, pdf):
    w = make_window()
    names = [w.ask.mode.itemText(i) for i in range(w.ask.mode.count())]
    assert "Read and quote (recommended)" in names and "REPL" not in names
    import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    w.ask.mode.setCurrentIndex(w.ask.mode.findData("repl"))
    assert "135M" in w.ask.mode_hint.text()
    w.ask.question.setPlainText("What is on page two?")
    assert not w.start_run()  # nothing ran
    assert "REPL mode needs" in w.ask.status_text() and w.ask.action_btn.isVisible()
    assert w.trace.model.rowCount() == 0


# --- scripting race ------------------------------------------------------------------------
def test_scripted_ask_without_files_waits_for_the_library(qtbot, pdf):
    from app.ui.automation import Script

    w = window_with(qtbot, RecordingProvider(oracle_for(2)))
    import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
    close(w)
    w2 = MainWindow(engine=Engine(model_provider=RecordingProvider(oracle_for(2))))
    qtbot.addWidget(w2)
    try:
        script = Script(w2, [], f"Which page has the marker {page_marker(2)}?", None, None, False)
        with qtbot.waitSignal(w2.runFinished, timeout=WAIT * 4) as blocker:
            script.start()  # at once, before the library has loaded
        assert blocker.args[0]["status"] == "done", w2.ask.status_text()
        qtbot.waitUntil(lambda: not w2.tasks.busy, timeout=WAIT)
    finally:
        close(w2)


def test_which_model_names_count_as_too_small_for_repl():
    from app.ui.main_window import SMALL_MODEL_RE

    assert SMALL_MODEL_RE.search("SmolLM2-135M-Instruct") and SMALL_MODEL_RE.search("llama-3.2-3b-q4")
    assert not SMALL_MODEL_RE.search("Qwen2.5-32B-Instruct") and not SMALL_MODEL_RE.search("mistral-7b")


def test_a_locked_row_says_what_to_do_and_double_click_asks_for_the_password(make_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from tests.pdfs import DEFAULT_PASSWORD, encrypted_pdf

    locked = encrypted_pdf(tmp_path / "locked.pdf")
    w = make_window()
    w.library.ask_passwords = False  # no prompt after the import: the row itself offers it
    import_by_drop(qtbot, w, w.library.view.viewport(), [locked])
    item = w.library.model.item_for_path(str(locked))
    assert item.parent().child(item.row(), 2).text() == "locked"  # whole, not "needs p"
    index = w.library.proxy.mapFromSource(item.index())
    w.library.view.setCurrentIndex(index)
    assert "double-click it to type the password" in w.library.message.text()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (DEFAULT_PASSWORD, True))
    with qtbot.waitSignal(w.importFinished, timeout=WAIT * 2):
        w._library_double_clicked(index)
    qtbot.waitUntil(lambda: w.library.status_of(str(locked))[0] == "ready" and not w.tasks.busy, timeout=WAIT)


def test_the_settings_dialog_can_load_the_model_and_show_its_runtime(qtbot):
    from app.ui.settings_dialog import SettingsDialog

    w = window_with(qtbot, RecordingProvider(RuntimeModel(default="Not found.")))
    try:
        dlg = SettingsDialog(w.settings, w.engine, w.tasks, w, runtime_info=w.runtime_info)
        dlg.runtimeChecked.connect(w._runtime_checked)
        assert "after the model has loaded" in dlg.runtime.text()
        with qtbot.waitSignal(dlg.runtimeChecked, timeout=WAIT):
            dlg.check_btn.click()
        assert "Self-check: passed, 48.2 tokens/s" in dlg.runtime.text()
        assert "CPU haswell" in w.model_label.text()
        dlg.reject()
    finally:
        close(w)


def test_sources_give_the_printed_page_label_and_the_file_name(qtbot, tmp_path):
    import pymupdf

    plain = multi_page_pdf(tmp_path / "plain.pdf", pages=4)
    labelled = tmp_path / "labelled.pdf"
    with pymupdf.open(str(plain)) as doc:  # front matter numbered i, ii, iii, iv
        doc.set_page_labels([{"startpage": 0, "prefix": "", "style": "r", "firstpagenum": 1}])
        doc.save(str(labelled))
    w = window_with(qtbot, RecordingProvider(oracle_for(3)))
    try:
        import_by_drop(qtbot, w, w.library.view.viewport(), [labelled])
        result = ask(qtbot, w, f"Which page has the marker {page_marker(3)}?")
        assert result["citations"]
        # The label comes with the run's citations; the file name is filled in by a worker after.
        qtbot.waitUntil(lambda: "page iii (PDF page 3)" in w.ask.answer.toPlainText()
                        and "labelled.pdf" in w.ask.answer.toPlainText(), timeout=WAIT)
        assert "page iii (PDF page 3)" in w.copy_answer()
    finally:
        close(w)


def test_settings_from_before_the_run_configuration_are_carried_over_once():
    """A window upgraded from the version that kept budgets in QSettings keeps the analyst's
    choices (0 meant "no limit"), and the old keys go."""
    from app.runconfig import RunConfig, config_path
    from app.ui.settings import Settings, _qsettings

    q = _qsettings()
    for key, value in {"budget/max_calls": 30, "budget/max_tokens": 0, "budget/max_seconds": "0",
                       "llm/n_threads": 3, "ask/mode": "rag", "budget/max_depth": "nonsense"}.items():
        q.setValue(key, value)
    q.sync()
    assert not config_path().exists()
    Settings()
    cfg = RunConfig.load()
    assert (cfg.max_calls, cfg.max_tokens, cfg.max_seconds, cfg.n_threads, cfg.mode) == (30, None, None, 3, "rag")
    assert cfg.max_depth == RunConfig().max_depth  # an unreadable old value leaves the default
    q = _qsettings()
    assert not any(q.contains(k) for k in ("budget/max_calls", "ask/mode", "llm/n_threads"))
    # once: a later change made with the CLI is not overwritten by anything left behind
    cfg.replace(max_calls=7).save(models=False)
    Settings()
    assert RunConfig.load().max_calls == 7


def test_the_models_role_is_chosen_in_the_settings_dialog_and_shared_with_the_cli(qtbot):
    from app.runconfig import RunConfig
    from app.ui.settings_dialog import SettingsDialog

    prov = RecordingProvider(FakeModel(default="Not found."))
    w = window_with(qtbot, prov)
    try:
        dlg = SettingsDialog(w.settings, w.engine, w.tasks, w)
        assert dlg.ladder.currentData() == ""  # automatic
        dlg.ladder.setCurrentIndex(dlg.ladder.findData("compose"))
        dlg.accept()
        assert RunConfig.load().options.get("ladder") == "compose"  # what `lectern ask` reads too
        dlg = SettingsDialog(w.settings, w.engine, w.tasks, w)
        assert dlg.ladder.currentData() == "compose"
        dlg.ladder.setCurrentIndex(0)
        dlg.accept()
        assert "ladder" not in RunConfig.load().options
    finally:
        close(w)


def test_a_document_is_renamed_from_the_library_with_f2_and_cited_by_its_new_title(qtbot, pdf, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    prov = RecordingProvider(oracle_for(2))
    w = window_with(qtbot, prov)
    try:
        import_by_drop(qtbot, w, w.library.view.viewport(), [pdf])
        lib = w.library
        doc_index = next(lib.proxy.index(r, 0, lib.proxy.index(0, 0)) for r in range(1))
        lib.view.setCurrentIndex(doc_index)
        lib.view.selectionModel().select(doc_index, lib.view.selectionModel().SelectionFlag.ClearAndSelect
                                         | lib.view.selectionModel().SelectionFlag.Rows)
        monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Harbour\nregister [2] forged", True))
        lib.view.setFocus()
        qtbot.keyClick(lib.view, Qt.Key.Key_F2)
        qtbot.waitUntil(lambda: not w.tasks.busy and any(d.title == "Harbour register [2] forged"
                                                         for d in w.engine.list_documents()), timeout=WAIT)
        result = ask(qtbot, w, f"Which page has the marker {page_marker(2)}?")
        run = w.engine.get_run(result["run_id"])
        assert run["citations"] and run["citations"][0]["title"] == "Harbour register [2] forged"
    finally:
        close(w)

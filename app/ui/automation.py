"""Scripted use of the window (`lectern gui FILES --ask Q --screenshot PNG --quit`):
import, ask, wait for the answer, show the first citation, save a screenshot, quit.
Each step waits on a signal, never on a sleep."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer

from app.ui.main_window import MainWindow


class Script(QObject):
    def __init__(self, window: MainWindow, files, question: str | None, mode: str | None,
                 screenshot: str | None, quit_after: bool, timeout_s: float = 1800):
        super().__init__(window)
        self.w = window
        self.files = [str(f) for f in files or []]
        self.question = question
        self.mode = mode
        self.screenshot = screenshot
        self.quit_after = quit_after
        self.exit_code = 0
        self.result: dict | None = None
        self._timer = QTimer(self, singleShot=True, timeout=self._timeout)
        self._timer.start(int(timeout_s * 1000))
        self._guard = QTimer(self, singleShot=True, timeout=self._finish)

    def start(self) -> None:
        self.w.library.ask_passwords = False
        if self.mode:
            i = self.w.ask.mode.findData(self.mode)
            if i < 0:
                self._fail(f"unknown mode {self.mode!r} (guided, repl, direct, rag)")
                return
            self.w.ask.mode.setCurrentIndex(i)
        if self.files:
            self.w.importFinished.connect(self._imported)
            self.w.import_paths(self.files, as_scope=True)
        elif not self.w.library_loaded:
            # Asking before the library has loaded finds "no ready document": wait for it.
            self.w.libraryReady.connect(self._library_ready)
        else:
            self._ask()

    def _library_ready(self) -> None:
        self.w.libraryReady.disconnect(self._library_ready)
        QTimer.singleShot(0, self._ask)

    def _imported(self, ids) -> None:
        self.w.importFinished.disconnect(self._imported)
        failed = [p for p in self.files if self.w.library.status_of(p)[0] == "error"]
        for p in failed:
            print(f"lectern: could not import {p}: {self.w.library.status_of(p)[1]}", file=sys.stderr)
        if self.files and not ids:
            self.exit_code = 1
        # Let the scope label and context meter settle before asking.
        QTimer.singleShot(0, self._ask)

    def _ask(self) -> None:
        if not self.question:
            self._finish()
            return
        self.w.ask.question.setPlainText(self.question)
        self.w.runFinished.connect(self._answered)
        if not self.w.start_run():
            self.w.runFinished.disconnect(self._answered)
            self._fail(self.w.ask.status_text())  # plain text: no HTML on stderr

    def _answered(self, result: dict) -> None:
        self.w.runFinished.disconnect(self._answered)
        self.result = result
        print(result.get("answer", ""))
        for c in result.get("citations") or []:
            print(f"[{c.get('n')}] {c.get('title')} p.{c.get('page')}: {' '.join(str(c.get('quote', '')).split())[:160]}")
        if result.get("status") not in ("done", "budget"):
            print(f"lectern: run {result.get('status')}: {result.get('note', '')}", file=sys.stderr)
            self.exit_code = 1
        cites = result.get("citations") or []
        node = self._node_to_show(result)
        if cites or node:
            # Show what the answer rests on: the cited node and its page (or, with no
            # citation, the first sub-query that read a slice).
            self.w.reader.pageShown.connect(self._page_shown)
            if cites:
                self.w.ask.click_citation(int(cites[0].get("n")))
            else:
                self.w.trace.select_node(node["id"])
            self._guard.start(20000)  # a page that cannot render must not hang the script
        else:
            self._finish()

    def _node_to_show(self, result):
        nodes = self.w.trace.model.nodes()
        for fate in ("cited", "merged", ""):
            for n in nodes:
                if (n.get("fate") or "") == fate and n.get("slice"):
                    return n
        return None

    def _page_shown(self, _page) -> None:
        self.w.reader.pageShown.disconnect(self._page_shown)
        self._guard.start(100)  # let the trace details and highlight paint

    def _timeout(self) -> None:
        self._fail("timed out waiting for the window")

    def _fail(self, message: str) -> None:
        print(f"lectern: {message}", file=sys.stderr)
        self.exit_code = 1
        self._finish()

    def _finish(self) -> None:
        if getattr(self, "_finished", False):
            return
        self._finished = True
        self._timer.stop()
        self._guard.stop()
        if self.screenshot:
            save_screenshot(self.w, self.screenshot)
        if self.quit_after:
            self.w.close()


def save_screenshot(window, path: str) -> bool:
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    ok = window.grab().save(str(path))
    if ok:
        print(f"screenshot: {path}")
    else:
        print(f"lectern: could not write the screenshot {path}", file=sys.stderr)
    return ok

"""The window and an encrypted or damaged library (issue 13): the passphrase is asked
for in a dialog before anything opens the library; a wrong one says so and asks again;
Quit leaves the file untouched; the passphrase reaches no file. A damaged library is a
message naming the rebuild, with a Rebuild button, never a traceback. Every library
here is real: imported through the importer, encrypted through app/store/crypto."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ingest import import_paths  # noqa: E402
from app.llm.fake import FakeModel  # noqa: E402
from app.store import crypto, health, open_store  # noqa: E402
from app.ui.engine import Engine  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.unlock import WRONG, PassphraseDialog, unlock_library  # noqa: E402
from tests import pdfs  # noqa: E402

pytestmark = pytest.mark.skipif(not crypto.available(), reason="sqlcipher3-binary is a declared dependency")

PASSPHRASE = "Harbour-Lantern-4471 keeps the key"
WAIT = 90_000


@pytest.fixture(autouse=True)
def no_passphrase_held():
    """The passphrase is process-wide: no test may inherit one from another."""
    crypto.set_passphrase(None)
    yield
    crypto.set_passphrase(None)


@pytest.fixture
def encrypted_library(tmp_path, lectern_home):
    doc = pdfs.make_pdf(tmp_path / "src" / "memo.pdf", ["Page 1 marker aardvark.", "Page 2 marker bumblebee."],
                        title="Harbour memo")
    assert list(import_paths([doc], workers=0))[-1].summary["imported"] == 1
    db = lectern_home / "library.sqlite3"
    crypto.encrypt_library(db, PASSPHRASE)
    health.forget(db)
    assert crypto.is_encrypted(db)
    return db


def _engine():
    return Engine(model_provider=lambda _c: (FakeModel(default="Not found."), None))


def _fingerprint(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() + str(p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir()) if p.is_file()}


def _drive(steps):
    """Act on the modal dialog from inside its own event loop (exec() blocks the test)."""
    def tick():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, PassphraseDialog):
            QTimer.singleShot(20, tick)
            return
        step = steps.pop(0)
        step(dlg)
        if steps:
            QTimer.singleShot(20, tick)
    QTimer.singleShot(0, tick)


def _type_and_unlock(phrase):
    def step(dlg):
        dlg.field.setText(phrase)
        dlg.unlock_btn.click()
    return step


def test_a_plain_library_opens_without_a_dialog(lectern_home):
    open_store().close()
    assert unlock_library(_engine()) is True


def test_wrong_passphrase_says_so_and_asks_again_then_the_right_one_opens_the_window(
        qtbot, encrypted_library, capfd, caplog):
    engine = _engine()
    assert engine.needs_passphrase()
    seen = {}

    def after_wrong(dlg):
        seen["error"] = dlg.error.text() if dlg.error.isVisible() else ""
        seen["field"] = dlg.field.text()
        seen["echo"] = dlg.field.echoMode()
        seen["still_open"] = dlg.isVisible()

    _drive([_type_and_unlock("not the passphrase"), after_wrong, _type_and_unlock(PASSPHRASE)])
    assert unlock_library(engine) is True
    assert seen == {"error": WRONG, "field": "", "echo": dlg_password(), "still_open": True}
    assert crypto.passphrase() == PASSPHRASE

    w = MainWindow(engine=engine)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.library_loaded and not w.tasks.busy, timeout=WAIT)
    assert [d.title for d in w.library.model.documents.values()] == ["Harbour memo"]
    assert w.damage is None and w.damage_box is None
    w.close()

    # Not in QSettings, not in a log line, not in any file Lectern or Qt wrote.
    out, err = capfd.readouterr()
    assert PASSPHRASE not in out + err + caplog.text
    needle = PASSPHRASE.encode()
    home = encrypted_library.parent.parent
    written = [p for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]
    assert not written, written
    assert list((home / "xdg-config").rglob("*")), "the window saved its settings (the check above saw them)"


def dlg_password():
    from PySide6.QtWidgets import QLineEdit

    return QLineEdit.EchoMode.Password


def test_quit_at_the_passphrase_exits_cleanly_and_touches_nothing(qtbot, encrypted_library, monkeypatch):
    before = _fingerprint(encrypted_library.parent)
    made = []
    monkeypatch.setattr("app.ui.main_window.MainWindow.__init__",
                        lambda *a, **k: made.append(1) or pytest.fail("no window for a locked library"))
    _drive([_type_and_unlock("wrong one"), lambda dlg: dlg.quit_btn.click()])
    from app.ui.app import run_gui

    assert run_gui(engine=_engine()) == 0
    assert not made
    assert crypto.passphrase() is None, "a wrong try is forgotten"
    assert _fingerprint(encrypted_library.parent) == before, "no -wal, -shm, lock or spool was created"


def test_closing_the_dialog_is_quit(qtbot, encrypted_library):
    _drive([lambda dlg: dlg.reject()])
    assert unlock_library(_engine()) is False
    assert crypto.passphrase() is None


def test_a_wrong_passphrase_from_the_environment_still_asks(qtbot, encrypted_library):
    crypto.set_passphrase("left in LECTERN_PASSPHRASE, wrong")
    engine = _engine()
    assert engine.needs_passphrase()
    _drive([_type_and_unlock(PASSPHRASE)])
    assert unlock_library(engine) is True


def test_the_cli_leaves_the_window_to_ask(encrypted_library, monkeypatch):
    """`lectern gui` without LECTERN_PASSPHRASE and without a terminal must reach the
    window's dialog, not stop with 'give its passphrase'."""
    import app.cli as cli

    monkeypatch.delenv("LECTERN_PASSPHRASE", raising=False)
    reached = []
    monkeypatch.setattr("app.cli.gui._run", lambda files, **kw: reached.append(files) or 0)
    assert cli.main(["gui"]) == 0 and reached == [[]]
    assert crypto.passphrase() is None
    assert cli.main(["docs"]) == 1  # a headless command still needs the passphrase first


# --- a damaged library ------------------------------------------------------------------
def _damage(db) -> None:
    """64 KB of random bytes inside the file, the review's probe."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db.stat().st_size
    assert size > 3 * 65536
    with open(db, "r+b") as f:
        f.seek(size // 2)
        f.write(random.Random(13).randbytes(65536))


def test_a_damaged_library_is_a_message_naming_the_rebuild_and_the_button_rebuilds_it(
        qtbot, tmp_path, lectern_home, capfd):
    files = [pdfs.multi_page_pdf(tmp_path / "src" / f"d{i}.pdf", pages=30, title=f"Doc {i}") for i in range(4)]
    assert list(import_paths(files, workers=0))[-1].summary["imported"] == 4
    db = lectern_home / "library.sqlite3"
    _damage(db)
    health.forget(db)

    w = MainWindow(engine=_engine())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.damage_box is not None, timeout=WAIT)
    box = w.damage_box
    assert box.isVisible() and box.windowModality() != Qt.WindowModality.NonModal
    assert "lectern library rebuild" in box.informativeText()
    assert "is damaged" in w.library.message.text()
    assert "Traceback" not in capfd.readouterr().err

    with qtbot.waitSignal(w.libraryRebuilt, timeout=WAIT * 4) as blocker:
        box.rebuild_btn.click()
    assert blocker.args[0].get("imported") == 4
    qtbot.waitUntil(lambda: not w.tasks.busy, timeout=WAIT)
    assert sorted(d.path for d in w.library.model.documents.values()) == sorted(map(str, files))
    assert w.damage is None and "Rebuilt the library" in w.library.message.text()
    assert list(lectern_home.glob("library.sqlite3.damaged-*")), "the damaged file is kept aside"
    w.close()
    assert "Traceback" not in capfd.readouterr().err
    with open_store() as s:
        assert s.integrity_check() == "ok"


def test_a_healthy_library_shows_no_damage_message(qtbot, tmp_path, lectern_home):
    """The check above can fail: the same library undamaged raises nothing."""
    files = [pdfs.multi_page_pdf(tmp_path / "src" / "d.pdf", pages=3)]
    list(import_paths(files, workers=0))
    w = MainWindow(engine=_engine())
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.library_loaded and not w.tasks.busy, timeout=WAIT)
    assert w.damage is None and w.damage_box is None
    w.close()


@pytest.mark.skipif(not os.environ.get("LECTERN_SCREENSHOT_DIR"), reason="writes a picture for a person to look at")
def test_screenshot_of_the_dialog(qtbot, encrypted_library):
    from pathlib import Path

    from PySide6.QtGui import QPainter

    plain = Engine(store_path=encrypted_library.parent / "plain.sqlite3")
    w = MainWindow(engine=plain)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: w.library_loaded and not w.tasks.busy, timeout=WAIT)
    dlg = PassphraseDialog(_engine(), w)
    dlg.field.setText("wrong")
    dlg.try_unlock()
    dlg.field.setText("typed")
    dlg.show()
    qtbot.waitExposed(dlg)
    shot = w.grab()
    inner = dlg.grab()
    p = QPainter(shot)
    p.fillRect(shot.rect(), Qt.GlobalColor.transparent)
    p.drawPixmap((shot.width() - inner.width()) // 2, (shot.height() - inner.height()) // 3, inner)
    p.end()
    shot.save(str(Path(os.environ["LECTERN_SCREENSHOT_DIR"]) / "lectern-unlock-dialog.png"))
    dlg.reject()
    w.close()

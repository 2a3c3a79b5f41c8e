"""Before the window opens: an encrypted library's passphrase, and a damaged library's
way out (rebuild from the source files) instead of a traceback.

The passphrase goes from the line edit to Engine.unlock and nowhere else: not to
QSettings, not to a log, not to disk. The field is cleared as soon as it was tried.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
)

from app.meta import APP_NAME

WRONG = "Wrong passphrase, try again."


class PassphraseDialog(QDialog):
    def __init__(self, engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.tries = 0
        self.setWindowTitle(f"{APP_NAME}: unlock the library")
        self.setModal(True)
        self.setMinimumWidth(440)
        lay = QVBoxLayout(self)
        intro = QLabel(f"This library is encrypted. Give its passphrase to open it.\n"
                       f"{engine.library_path()}")
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(intro)
        self.field = QLineEdit()
        self.field.setObjectName("passphrase")
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setPlaceholderText("Passphrase")
        lay.addWidget(self.field)
        self.error = QLabel("")
        self.error.setObjectName("passphraseError")
        self.error.setStyleSheet("color: #c0392b;")
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.unlock_btn = buttons.addButton("Unlock", QDialogButtonBox.ButtonRole.AcceptRole)
        self.quit_btn = buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.unlock_btn.setDefault(True)
        self.unlock_btn.clicked.connect(self.try_unlock)
        self.quit_btn.clicked.connect(self.reject)
        lay.addWidget(buttons)
        self.field.setFocus()

    def try_unlock(self) -> None:
        phrase = self.field.text()
        self.field.clear()  # the text lives no longer than this try
        self.tries += 1
        if phrase and self.engine.unlock(phrase):
            self.accept()
            return
        self.error.setText(WRONG if phrase else "Type the passphrase, or Quit.")
        self.error.show()
        self.field.setFocus()


def unlock_library(engine, parent=None) -> bool:
    """True when the library can be opened (plain, or unlocked now); False when the
    person chose Quit, and then nothing of the library was opened."""
    if not engine.needs_passphrase():
        return True
    dlg = PassphraseDialog(engine, parent)
    return dlg.exec() == QDialog.DialogCode.Accepted


def damage_box(message: str, parent=None, can_rebuild: bool = True) -> QMessageBox:
    """The damaged-library notice: the store's own message (which names
    `lectern library rebuild`), with a Rebuild button that does the same here."""
    box = QMessageBox(parent)
    box.setObjectName("damageBox")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(f"{APP_NAME}: the library is damaged")
    box.setText("The library is damaged, so Lectern will not write to it.")
    box.setInformativeText(" ".join(str(message).split()))
    box.rebuild_btn = box.addButton("Rebuild", QMessageBox.ButtonRole.AcceptRole) if can_rebuild else None
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    return box

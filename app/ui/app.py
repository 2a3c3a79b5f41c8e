"""Starting the desktop application."""

from __future__ import annotations

import sys

from app.meta import APP_ID, APP_NAME, ORG_NAME


def make_app(argv=None):
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QCoreApplication.setOrganizationName(ORG_NAME)
        QCoreApplication.setApplicationName(APP_ID)
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv or [sys.argv[0] if sys.argv else APP_ID]))
        app.setApplicationDisplayName(APP_NAME)
        from app.ui.theme import app_icon, apply_style

        apply_style(app)
        app.setWindowIcon(app_icon())
        # Light and dark follow the system, also when it switches while we run.
        hints = app.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(lambda *_: apply_style(app))
    return app


def run_gui(files=(), *, ask: str | None = None, mode: str | None = None, screenshot: str | None = None,
            quit_after: bool = False, size: tuple[int, int] | None = None, engine=None) -> int:
    """Open the window (importing files), optionally ask, screenshot and quit."""
    app = make_app()
    from app.ui.automation import Script
    from app.ui.main_window import MainWindow

    from app.ui.engine import Engine
    from app.ui.unlock import unlock_library

    engine = engine or Engine()
    if not unlock_library(engine):
        return 0  # Quit at the passphrase: nothing of the library was opened
    w = MainWindow(engine=engine)
    if size:
        w.resize(*size)
    w.show()
    script = Script(w, files, ask, mode, screenshot, quit_after)
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, script.start)
    rc = app.exec()
    return script.exit_code or rc

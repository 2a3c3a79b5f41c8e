"""`lectern gui` as a script: import, screenshot, quit; readable errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from tests.pdfs import multi_page_pdf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def lectern(*args, timeout=300):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_gui_imports_files_saves_a_screenshot_and_quits(tmp_path):
    from PySide6.QtGui import QImage

    pdf = multi_page_pdf(tmp_path / "report.pdf", pages=3)
    png = tmp_path / "shot.png"
    out = lectern("gui", str(pdf), "--screenshot", str(png), "--size", "1200x800", "--quit")
    assert out.returncode == 0, out.stderr
    img = QImage(str(png))
    assert (img.width(), img.height()) == (1200, 800)
    # the import went through the engine into the library the CLI also sees
    from app.store import open_store

    with open_store() as s:
        [doc] = s.list_documents()
    assert doc.page_count == 3 and doc.status == "ready"


def test_gui_reports_a_missing_file_without_a_traceback(tmp_path):
    out = lectern("gui", str(tmp_path / "nope.pdf"), "--quit")
    assert out.returncode == 1
    assert "not found" in out.stderr and "Traceback" not in out.stderr


def test_gui_rejects_a_bad_size():
    out = lectern("gui", "--size", "big", "--quit")
    assert out.returncode == 1 and "--size" in out.stderr

"""The opt-in encrypted library (issue 13, item 6): no page text, run or trace can be
read in any file of its folder; the passphrase is needed, and a wrong one is a clear
error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import crypto
from tests import pdfs

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Quokka-Zebrafish 7731 is the vault combination"
PASSPHRASE = "correct horse battery staple"

pytestmark = pytest.mark.skipif(not crypto.available(), reason="sqlcipher3-binary is a declared dependency")


def lectern(*argv, home, passphrase=PASSPHRASE):
    env = dict(os.environ, LECTERN_HOME=str(home), PYTHONPATH=str(ROOT))
    env.pop("LECTERN_PASSPHRASE", None)
    if passphrase:
        env["LECTERN_PASSPHRASE"] = passphrase
    return subprocess.run([sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", *argv],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def _needles() -> list[bytes]:
    words = ["Quokka-Zebrafish", "vault combination", pdfs.page_marker(2), pdfs.page_marker(3), "who holds"]
    out = []
    for w in words:
        out += [w.encode("utf-8"), w.encode("utf-16-le"), w.encode("utf-16-be")]
    return out


def _readable(home: Path) -> list[str]:
    hits = []
    for p in home.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            hits += [f"{p.name}: {n!r}" for n in _needles() if n in data]
    return hits


def test_nothing_of_the_text_is_readable_in_an_encrypted_librarys_folder(tmp_path, lectern_home):
    doc = pdfs.make_pdf(tmp_path / "memo.pdf", ["Page 1 marker x.", f"Page 2 {pdfs.page_marker(2)}. {SECRET}.",
                                                  f"Page 3 {pdfs.page_marker(3)}."], title="Memo")
    r = lectern("library", "encrypt", home=lectern_home)
    assert r.returncode == 0, r.stderr
    r = lectern("import", str(doc), home=lectern_home)
    assert r.returncode == 0, r.stderr
    r = lectern("search", "Quokka", home=lectern_home)
    assert r.returncode == 0 and "Quokka" in r.stdout
    # A run and its trace, saved the way `ask` saves them.
    script = ("from app.store import crypto, open_store; crypto.set_passphrase(%r); s = open_store(); "
              "r = s.create_run('who holds the vault combination?'); "
              "s.save_node(r, {'id': 'n1', 'kind': 'map', 'output': %r}); s.finish_run(r, %r, 'done')"
              % (PASSPHRASE, SECRET, SECRET))
    env = dict(os.environ, LECTERN_HOME=str(lectern_home), PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, timeout=120)
    r = lectern("runs", home=lectern_home)
    assert "vault combination" in r.stdout

    assert (lectern_home / "library.sqlite3").read_bytes()[:16] != crypto.SQLITE_HEADER
    assert not _readable(lectern_home)

    r = lectern("docs", home=lectern_home, passphrase=None)
    assert r.returncode == 1 and "encrypted" in r.stderr and "Traceback" not in r.stderr
    r = lectern("docs", home=lectern_home, passphrase="not the passphrase")
    assert r.returncode == 1 and "passphrase does not open" in r.stderr and "Traceback" not in r.stderr


def test_the_same_import_in_a_plain_library_is_readable(tmp_path, lectern_home):
    """The check above can fail: in a plain library the same needles are found."""
    doc = pdfs.make_pdf(tmp_path / "memo.pdf", ["Page 1.", f"Page 2 {pdfs.page_marker(2)}. {SECRET}."], title="Memo")
    assert lectern("import", str(doc), home=lectern_home, passphrase=None).returncode == 0
    assert _readable(lectern_home)

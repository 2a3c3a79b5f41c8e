"""`lectern import / docs / search / remove`, through app.cli.main and as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.store import open_store
from tests import pdfs

ROOT = Path(__file__).resolve().parent.parent


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def lectern(*argv, home):
    env = dict(os.environ, LECTERN_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "app", *argv], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_import_docs_search_remove_round_trip(tmp_path, capsys):
    pdf = pdfs.multi_page_pdf(tmp_path / "report.pdf", pages=4)
    code, out, err = cli(capsys, "import", str(pdf))
    assert code == 0 and "Multi Page Report" in out and "1 imported" in out
    assert err == ""  # no progress bar when stderr is not a terminal

    code, out, _ = cli(capsys, "docs", "--json")
    (doc,) = json.loads(out)
    assert doc["title"] == "Multi Page Report" and doc["page_count"] == 4 and doc["paths"] == [str(pdf)]

    code, out, _ = cli(capsys, "docs")
    assert code == 0 and "Multi Page Report" in out and str(pdf) in out

    code, out, _ = cli(capsys, "search", pdfs.page_marker(3))
    assert code == 0 and f"[{pdfs.page_marker(3)}]" in out and "#%d" % doc["id"] in out

    code, out, _ = cli(capsys, "search", f'"marker {pdfs.page_marker(2)}" OR {pdfs.page_marker(4)[:4]}*', "--json",
                       "--limit", "5", "--docs", str(doc["id"]))
    hits = json.loads(out)
    assert code == 0 and hits and {h["doc_id"] for h in hits} == {doc["id"]}
    assert all("[" in h["snippet"] for h in hits)

    code, out, _ = cli(capsys, "remove", str(doc["id"]))
    assert code == 0 and "files on disk untouched" in out
    assert pdf.exists()
    assert open_store().list_documents() == []


def test_import_json_reports_each_file_and_fails_when_one_failed(tmp_path, capsys):
    good = pdfs.multi_page_pdf(tmp_path / "good.pdf", pages=2)
    bad = pdfs.not_a_pdf(tmp_path / "bad.pdf")
    code, out, _ = cli(capsys, "import", str(good), str(bad), "--json", "--workers", "0")
    result = json.loads(out)
    assert code == 1
    kinds = {Path(f["path"]).name: (f["kind"], f["status"]) for f in result["files"]}
    assert kinds == {"good.pdf": ("file-done", "ready"), "bad.pdf": ("file-error", "error")}
    assert result["summary"]["imported"] == 1 and result["summary"]["failed"] == 1


def test_import_with_password(tmp_path, capsys):
    pdf = pdfs.encrypted_pdf(tmp_path / "memo.pdf")
    code, _, err = cli(capsys, "import", str(pdf))
    assert code == 1 and "--password" in err
    code, out, _ = cli(capsys, "import", str(pdf), "--password", pdfs.DEFAULT_PASSWORD)
    assert code == 0 and "Confidential Memo" in out


@pytest.mark.parametrize("argv, message", [
    (["search", '"unclosed'], "Unbalanced quote"),
    (["search", "harbour AND"], "Cannot understand"),
    (["search", "x", "--docs", "one,two"], "comma"),
    (["search", "x", "--docs", "99"], "no document with id 99"),
    (["remove", "42"], "no document with id 42"),
])
def test_bad_input_is_a_clear_error_with_exit_1(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 1
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["search", "x", "--limit", "0"], "--limit"),
    (["import", "--workers", "-1", "x"], "--workers"),
])
def test_an_out_of_range_number_is_a_usage_error_with_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        main(argv)
    _, err = capsys.readouterr()
    assert e.value.code == 2 and message in err and "Traceback" not in err


def test_help_everywhere(capsys):
    for argv in (["--help"], ["import", "--help"], ["docs", "--help"], ["search", "--help"], ["remove", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        out, _ = capsys.readouterr()
        assert "usage: lectern" in out
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    assert "phrase" in capsys.readouterr().out


def test_exit_codes_as_a_real_process(tmp_path, lectern_home):
    pdf = pdfs.multi_page_pdf(tmp_path / "a.pdf", pages=2)
    ok = lectern("import", str(pdf), "--workers", "1", home=lectern_home)
    assert ok.returncode == 0, ok.stderr
    again = lectern("import", str(pdf), home=lectern_home)
    assert again.returncode == 0 and "unchanged" in again.stdout
    failed = lectern("import", str(tmp_path / "missing.pdf"), home=lectern_home)
    assert failed.returncode == 1 and "No such file" in failed.stderr and "Traceback" not in failed.stderr
    bad_query = lectern("search", "(((", home=lectern_home)
    assert bad_query.returncode == 1 and "lectern:" in bad_query.stderr and "Traceback" not in bad_query.stderr
    found = lectern("search", pdfs.page_marker(1), "--json", home=lectern_home)
    assert found.returncode == 0 and json.loads(found.stdout)[0]["page_start"] == 1


def test_progress_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    pdf = pdfs.multi_page_pdf(tmp_path / "a.pdf", pages=3)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, out, err = cli(capsys, "import", str(pdf), "--workers", "0")
    assert code == 0
    assert "\r[" in err and "files" in err and "3/3 pages" in err


def test_ctrl_c_cancels_cleanly_and_keeps_finished_documents(tmp_path, lectern_home):
    import signal

    for i in range(6):
        pdfs.multi_page_pdf(tmp_path / "in" / f"d{i}.pdf", pages=30, title=f"D{i}")
    env = dict(os.environ, LECTERN_HOME=str(lectern_home), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "app", "import", str(tmp_path / "in"), "--workers", "0"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("imported")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "cancelled" in out and "Traceback" not in err
    store = open_store()
    docs = store.list_documents()
    assert 1 <= len(docs) < 6 and all(d.page_count == 30 and d.status == "ready" for d in docs)

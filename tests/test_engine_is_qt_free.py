"""The engine (everything outside app/ui) must import and run without Qt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import app

ENGINE = [
    m.name
    for m in pkgutil.walk_packages(app.__path__, "app.")
    if not m.name.startswith("app.ui") and m.name != "app.__main__"
]


def test_engine_modules_exist():
    assert "app.store" in ENGINE and "app.llm.base" in ENGINE


def test_importing_every_engine_module_loads_no_qt():
    code = (
        "import importlib, sys\n"
        f"for name in {ENGINE!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6') or m.startswith('app.ui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(app.__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"engine imported Qt: {out.stdout.strip()}"


def test_import_linter_contract_holds():
    """The static check (pyproject [tool.importlinter]) catches lazy imports the runtime test misses."""
    root = Path(app.__file__).parent.parent
    linter = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(linter)], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]

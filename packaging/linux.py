"""Linux targets: the .deb (installed under /opt/lectern) and the portable archive's extras.

The .deb's Depends is computed from the bundle itself: every shared library the
bundled binaries load from the system (not from the bundle) is mapped to its
Debian package with `dpkg -S`, so the list matches what this build really needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from app.meta import APP_ID, APP_NAME, DESCRIPTION, VERSION

MAINTAINER = f"{APP_NAME} maintainers <lectern@example.invalid>"
INSTALL_DIR = f"/opt/{APP_ID}"

DESKTOP_ENTRY = f"""[Desktop Entry]
Type=Application
Version=1.5
Name={APP_NAME}
GenericName=Document questions
Comment={DESCRIPTION}
Exec={{exec}} gui %F
Icon={{icon}}
Terminal=false
Categories=Office;Viewer;
Keywords=PDF;question;answer;search;offline;
MimeType=application/pdf;
StartupWMClass={APP_ID}
"""

# Keep the menu and icon caches current where the tools exist; desktop-file-utils'
# dpkg trigger covers most systems already, so failures here are never fatal.
POSTINST = """#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""

POSTRM = """#!/bin/sh
set -e
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
fi
# User data (~/.local/share/lectern) belongs to the user: never removed here.
exit 0
"""


def deb_arch() -> str:
    try:
        return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def _elf_files(root: Path) -> list[Path]:
    out = []
    for f in root.rglob("*"):
        if f.is_file() and not f.is_symlink():
            with open(f, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    out.append(f)
    return out


def system_libraries(bundle: Path) -> tuple[set[str], set[str]]:
    """(paths of system libraries the bundle loads, sonames not found on this machine)."""
    internal = bundle / "_internal"
    env = dict(os.environ, LD_LIBRARY_PATH=str(internal))
    found: set[str] = set()
    missing: set[str] = set()
    inside = str(bundle.resolve())
    for elf in _elf_files(bundle):
        try:
            res = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=env, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        for m in re.finditer(r"^\s*(\S+)\s+=>\s+(\S+)", res.stdout, re.M):
            soname, where = m.groups()
            if where == "not":
                missing.add(soname)
                continue
            if not os.path.realpath(where).startswith(inside):
                found.add(where)
    return found, missing


def dpkg_owners(paths) -> dict[str, list[str]]:
    """Debian package -> file names it owns among paths ({} off Debian).

    Merged-/usr systems list a file under /lib or /usr/lib depending on the package,
    so both spellings of every real path are asked for."""
    ask: dict[str, str] = {}
    for p in paths:
        real = os.path.realpath(p)
        ask[real] = Path(p).name
        if real.startswith("/usr/lib/"):
            ask[real[4:]] = Path(p).name
    if not ask:
        return {}
    try:
        res = subprocess.run(["dpkg", "-S", *sorted(ask)], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    owners: dict[str, set[str]] = {}
    for line in res.stdout.splitlines():
        if ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        for pkg in pkgs.split(","):
            owners.setdefault(pkg.strip().split(":")[0], set()).add(ask.get(path.strip(), Path(path).name))
    return {pkg: sorted(names) for pkg, names in owners.items()}


def _guess_package(soname: str) -> str:
    """Debian's library package naming: libfoo-bar.so.0 -> libfoo-bar0."""
    m = re.match(r"^(lib[\w+.-]*?)\.so\.(\d+)", soname)
    if not m:
        return ""
    name, major = m.group(1).lower().replace("_", "-"), m.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def debian_relations(bundle: Path) -> tuple[list[str], list[str]]:
    """(Depends, Recommends): packages of the system libraries the bundle links against.

    Libraries missing on the build machine belong to optional plugins (the Wayland
    platform, for one), so their packages are only recommended, named by Debian's
    convention."""
    libs, missing = system_libraries(bundle)
    depends = set(dpkg_owners(libs))
    recommends = {_guess_package(s) for s in missing} - depends - {""}
    # REPL mode runs model-written code only under bubblewrap (app/rlm/sandbox.py);
    # without it guided mode answers, so it is recommended, not required.
    recommends.add("bubblewrap")
    return sorted(depends), sorted(recommends)


def _normalise_modes(root: Path) -> None:
    """Debian policy modes: 0755 for folders and executables, 0644 for the rest."""
    for p in [root, *root.rglob("*")]:
        if p.is_symlink():
            continue
        if p.is_dir() or os.access(p, os.X_OK):
            p.chmod(0o755)
        else:
            p.chmod(0o644)


def build_deb(bundle: Path, dist: Path, work: Path, icon_png: Path, arch: str) -> Path:
    root = work / "deb"
    if root.exists():
        shutil.rmtree(root)
    opt = root / INSTALL_DIR.lstrip("/")
    shutil.copytree(bundle, opt, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin" / APP_ID).symlink_to(f"{INSTALL_DIR}/{APP_ID}")
    apps = root / "usr/share/applications"
    apps.mkdir(parents=True)
    (apps / f"{APP_ID}.desktop").write_text(DESKTOP_ENTRY.format(exec=APP_ID, icon=APP_ID))
    hicolor = root / "usr/share/icons/hicolor"
    (hicolor / "256x256/apps").mkdir(parents=True)
    shutil.copy2(icon_png, hicolor / "256x256/apps" / f"{APP_ID}.png")
    (hicolor / "scalable/apps").mkdir(parents=True)
    shutil.copy2(bundle / "_internal/resources/icons/lectern.svg", hicolor / "scalable/apps" / f"{APP_ID}.svg")
    doc = root / "usr/share/doc" / APP_ID
    doc.mkdir(parents=True)
    shutil.copy2(bundle / "THIRD-PARTY-NOTICES.txt", doc / "copyright")

    control = root / "DEBIAN"
    control.mkdir()
    size_kib = sum(f.stat().st_size for f in root.rglob("*") if f.is_file() and not f.is_symlink()) // 1024
    depends, recommends = debian_relations(bundle)
    fields = {
        "Package": APP_ID,
        "Version": VERSION,
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(size_kib),
        "Depends": ", ".join(depends),
        "Recommends": ", ".join(recommends),
        "Section": "utils",
        "Priority": "optional",
        "Description": f"{DESCRIPTION}\n"
        " Lectern answers questions over long PDF documents with a local language model,\n"
        " fully offline, and shows every sub-query it made and the passage it cited.\n"
        " It bundles its own Python, Qt, MuPDF, llama.cpp and a small default model.",
    }
    (control / "control").write_text("".join(f"{k}: {v}\n" for k, v in fields.items() if v))
    (control / "postinst").write_text(POSTINST)
    (control / "postrm").write_text(POSTRM)
    _normalise_modes(root)
    (control / "postinst").chmod(0o755)
    (control / "postrm").chmod(0o755)

    target = dist / f"{APP_ID}_{VERSION}_{arch}.deb"
    # gzip -3: the model and the libraries barely shrink further at higher levels or under xz,
    # which take several times longer.
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z3", "--build", str(root), str(target)],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(root)  # a second full copy of the bundle
    return target


INSTALL_SCRIPT = f"""#!/bin/sh
# Adds {APP_NAME} to your desktop menu and to "Open with" for PDFs, for this user only.
# The program stays where you unpacked it; run this again if you move the folder.
set -e
here=$(cd "$(dirname "$0")" && pwd)
apps="${{XDG_DATA_HOME:-$HOME/.local/share}}/applications"
mkdir -p "$apps"
sed -e "s|^Exec=.*|Exec=\\"$here/{APP_ID}\\" gui %F|" -e "s|^Icon=.*|Icon=$here/{APP_ID}.png|" \\
    "$here/{APP_ID}.desktop" > "$apps/{APP_ID}.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
echo "Installed $apps/{APP_ID}.desktop"
"""


def portable_extras(folder: Path) -> Path:
    """Files added at the top of the portable archive, next to the executable."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / f"{APP_ID}.desktop").write_text(DESKTOP_ENTRY.format(exec=APP_ID, icon=APP_ID))
    script = folder / "install-desktop-entry.sh"
    script.write_text(INSTALL_SCRIPT)
    script.chmod(0o755)
    from icons import render_png

    (folder / f"{APP_ID}.png").write_bytes(render_png(256))
    return folder

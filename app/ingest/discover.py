"""Finding the files to import: single files, several files, folders (recursive).

Symlinked folders are followed once: a folder already visited (same device and inode)
is never entered again, so symlink loops end. Paths are made absolute, not resolved,
so the library shows the path the person chose.
"""

from __future__ import annotations

import os
from pathlib import Path

# What pymupdf opens well, plus plain text formats read directly.
PYMUPDF_FORMATS = {
    ".pdf": "pdf", ".epub": "epub", ".xps": "xps", ".oxps": "xps", ".fb2": "fb2", ".fbz": "fb2",
    ".cbz": "cbz", ".mobi": "mobi", ".html": "html", ".htm": "html", ".xhtml": "html",
}
TEXT_FORMATS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md"}
SUPPORTED = {**PYMUPDF_FORMATS, **TEXT_FORMATS}


def format_of(path) -> str | None:
    return SUPPORTED.get(Path(path).suffix.lower())


def discover(paths) -> tuple[list[Path], list[tuple[str, str]]]:
    """(files to import in a stable order, [(path, problem)] for arguments that cannot be used).

    Files named directly are taken whatever their extension (the importer says if the
    type is unsupported); inside folders only supported types are collected, hidden
    files and folders are left out.
    """
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    seen_files: set[str] = set()
    seen_dirs: set[tuple[int, int]] = set()

    def add(p: Path) -> None:
        key = str(p)
        if key not in seen_files:
            seen_files.add(key)
            files.append(p)

    for raw in paths:
        p = Path(os.path.abspath(os.fspath(raw)))
        try:
            st = p.stat()
        except FileNotFoundError:
            problems.append((str(p), "No such file or folder."))
            continue
        except OSError as e:
            problems.append((str(p), f"Cannot access it: {e.strerror or e}."))
            continue
        if p.is_dir():
            _walk(p, st, seen_dirs, add, problems)
        else:
            add(p)
    return files, problems


def _walk(root: Path, st, seen_dirs, add, problems) -> None:
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        return
    seen_dirs.add(key)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as e:
        problems.append((str(root), f"Cannot read the folder: {e.strerror or e}."))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=True):
                _walk(path, entry.stat(follow_symlinks=True), seen_dirs, add, problems)
            elif entry.is_file(follow_symlinks=True) and format_of(path):
                add(path)
        except OSError:
            # A dangling symlink or a file that vanished while listing: nothing to import.
            continue

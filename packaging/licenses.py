"""Licence texts for everything the bundle ships, gathered from what PyInstaller collected.

Called from lectern.spec after the analysis: for every Python distribution with a
module in the bundle it copies the distribution's own licence files, and on Debian
family systems, for every shared library copied from the system, that package's
/usr/share/doc/<package>/copyright. The result lands in the bundle as
licenses/<name>/..., with licenses/INDEX.txt listing name, version and licence.
THIRD-PARTY-NOTICES (hand-written) summarises the same for readers.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
from pathlib import Path

TEXTS = Path(__file__).resolve().parent / "license-texts"
# Distributions whose wheels carry no licence file, and the texts that apply to them.
FALLBACK_TEXTS = {
    "pyside6_essentials": ["LGPL-3.0.txt", "GPL-3.0.txt"],
    "shiboken6": ["LGPL-3.0.txt", "GPL-3.0.txt"],
    "llama_cpp_python": ["llama.cpp-MIT.txt"],
}

_LICENSE_FILE = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT)[^/]*$", re.I)


def _licence_of(dist: md.Distribution) -> str:
    meta = dist.metadata
    expr = meta.get("License-Expression")
    if expr:
        return expr
    lic = (meta.get("License") or "").strip()
    if lic and len(lic) < 80 and "\n" not in lic:
        return lic
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return "; ".join(classifiers) or "see files"


def python_distributions(top_level_names: set[str]) -> list[md.Distribution]:
    mapping = md.packages_distributions()
    names = sorted({d for top in top_level_names for d in mapping.get(top, [])})
    out = []
    for name in names:
        try:
            out.append(md.distribution(name))
        except md.PackageNotFoundError:
            continue
    return out


def _system_packages(binary_sources: list[str]) -> dict[str, list[str]]:
    """Debian package -> system libraries it provided (empty off Debian)."""
    from linux import dpkg_owners

    return dpkg_owners([s for s in binary_sources if s.startswith(("/usr/lib", "/lib"))])


def collect(top_level_names: set[str], binary_sources: list[str], own: set[str] = frozenset({"lectern"})):
    """(source, dest-folder) pairs for PyInstaller's datas, plus the INDEX text."""
    datas: list[tuple[str, str]] = []
    index = [f"{'Component':32} {'Version':14} Licence", "-" * 78]
    for dist in python_distributions(top_level_names):
        name = dist.metadata["Name"]
        if name.lower() in own:
            continue
        index.append(f"{name:32} {dist.version:14} {_licence_of(dist)}")
        for f in dist.files or []:
            if _LICENSE_FILE.search(str(f)):
                src = Path(dist.locate_file(f))
                if src.is_file():
                    # Keep the path inside the distribution: numpy has several LICENSE.txt.
                    datas.append((str(src), str(Path("licenses", name, *Path(str(f)).parts[:-1]))))
        for text in FALLBACK_TEXTS.get(name.lower(), []):
            datas.append((str(TEXTS / text), f"licenses/{name}"))
    index.append(f"{'Python':32} {sys.version.split()[0]:14} PSF-2.0")
    for stdlib_licence in (Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "LICENSE.txt",
                           Path(f"/usr/share/doc/python{sys.version_info[0]}.{sys.version_info[1]}/copyright"),
                           Path(sys.base_prefix) / "LICENSE.txt"):
        if stdlib_licence.is_file():
            datas.append((str(stdlib_licence), "licenses/Python"))
            break
    for pkg, libs in sorted(_system_packages(binary_sources).items()):
        copyright_file = Path("/usr/share/doc") / pkg / "copyright"
        index.append(f"{pkg:32} {'(system)':14} see licenses/{pkg}/copyright ({', '.join(sorted(libs))})")
        if copyright_file.is_file():
            datas.append((str(copyright_file), f"licenses/{pkg}"))
    return datas, "\n".join(index) + "\n"

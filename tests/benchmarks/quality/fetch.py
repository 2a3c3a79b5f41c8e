"""Fetch the evaluation documents: real PDFs from Debian documentation packages, never committed.

    .venv/bin/python tests/benchmarks/quality/fetch.py          # fetch (if needed) and check
    .venv/bin/python tests/benchmarks/quality/fetch.py --list   # what is pinned
    .venv/bin/python tests/benchmarks/quality/fetch.py --holdout  # the held-out split's documents
    .venv/bin/python tests/benchmarks/quality/fetch.py --holdout2  # the second held-out split's documents
    .venv/bin/python tests/benchmarks/quality/fetch.py --holdout3  # the third held-out split's documents
    .venv/bin/python tests/benchmarks/quality/fetch.py --holdout4  # the fourth held-out split's documents
    .venv/bin/python tests/benchmarks/quality/fetch.py --holdout5  # the fifth held-out split's documents

Each document is pinned by its Debian package version and by the SHA-256 of the PDF inside
it. Packages are fetched with `apt-get download <pkg>=<version>` (the ordinary client, no
root needed) and unpacked with `dpkg -x` into a temporary folder; only the pinned PDFs are
kept, in ~/.cache/lectern/eval-docs (or $LECTERN_EVAL_DOCS). A later call finds them
there and only re-checks their hashes.

Errors are typed so the regression test can tell "this is not a Debian machine" (skip,
with the reason) from "the registry or the pinned version is unreachable" (fail).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("LECTERN_EVAL_DOCS", Path.home() / ".cache" / "lectern" / "eval-docs"))


@dataclass(frozen=True)
class Doc:
    key: str        # the name questions use
    package: str
    version: str    # Debian 12 (bookworm) versions
    member: str     # path inside the package
    sha256: str
    pages: int
    kind: str

    @property
    def path(self) -> Path:
        return CACHE / f"{self.key}.pdf"


DOCS = [
    Doc("gnuplot", "gnuplot-doc", "5.4.4+dfsg1-2", "usr/share/doc/gnuplot/gnuplot.pdf",
        "df68dd0613f043141512fc4436d17aaf96727d5a758d85233915ac5056a97206", 311,
        "software manual and command reference (gnuplot 5.4)"),
    Doc("debian-reference", "debian-reference-en", "2.100",
        "usr/share/doc/debian-reference-en/docs/debian-reference.en.pdf",
        "32775deeca0770ac25282b0c894cbaae83f4dd4ab00e891b94e8f009c0366728", 261,
        "system administration reference, many package tables (Osamu Aoki)"),
    Doc("R-intro", "r-doc-pdf", "4.2.2.20221110-2", "usr/share/R/doc/manual/R-intro.pdf",
        "337ccd0b490b1e66f7e783b45f4588d0599730b4206c0c051edfe1419c568c51", 113,
        "tutorial (An Introduction to R, R 4.2.2)"),
    Doc("R-FAQ", "r-doc-pdf", "4.2.2.20221110-2", "usr/share/R/doc/manual/R-FAQ.pdf",
        "de8768520d4fb90dad64c28483ffb92dca7dd9d8dc8556905b35c2e62a939255", 52,
        "questions and answers (R FAQ)"),
    Doc("asyRefCard", "asymptote-doc", "2.85+ds-1", "usr/share/doc/asymptote/asyRefCard.pdf",
        "ead5a51e5a6b1c30697a1ec14ec5929122fddcd64c4f2bea6e65a8f1e35b64d8", 3,
        "two-column reference card (Asymptote)"),
]
# The held-out split's documents (holdout.json): never part of the dev/test library, so the
# dev and test figures are unchanged; `bench_quality.py --split holdout --final` imports
# only these into a library of their own.
HOLDOUT = [
    Doc("R-data", "r-doc-pdf", "4.2.2.20221110-2", "usr/share/R/doc/manual/R-data.pdf",
        "9381a39ffeb8545a745c2618ba955b4ae4e10b9c8373cd5bc1984fff8318f8ca", 41,
        "data import/export manual (R Data Import/Export, R 4.2.2)"),
    Doc("R-admin", "r-doc-pdf", "4.2.2.20221110-2", "usr/share/R/doc/manual/R-admin.pdf",
        "50e256b5f873bbee4c8482df3754fa8654f02ef693409fe5e30b2f114e3efe9f", 85,
        "installation and administration manual (R Installation and Administration, R 4.2.2)"),
    Doc("asymptote", "asymptote-doc", "2.85+ds-1", "usr/share/doc/asymptote/asymptote.pdf",
        "e17165321f74a5ec1b884cf20773cc43361df8f7fc707b071debf4ef707de051", 196,
        "language manual (Asymptote 2.85)"),
]
# The second held-out split's documents (holdout2.json), likewise never in the dev/test library;
# `bench_quality.py --split holdout2 --final` imports only these. r-cran-survival is an amd64
# package: its vignette PDF is the one built upstream (CRAN), pinned here from the amd64 .deb.
HOLDOUT2 = [
    Doc("octave", "octave-doc", "7.3.0-2", "usr/share/doc/octave/octave.pdf",
        "ddd24489f87b46fbf99c15cc34aa865ae66775fb7c21927f7f2d6be9470becb8", 1158,
        "software manual (GNU Octave 7.3.0)"),
    Doc("R-lang", "r-doc-pdf", "4.2.2.20221110-2", "usr/share/R/doc/manual/R-lang.pdf",
        "4a6120ba505021d7c208078b575fe3f5d5dc91636dcf17de8a4208adda90d7dc", 69,
        "language reference (R Language Definition, R 4.2.2)"),
    Doc("survival", "r-cran-survival", "3.5-3-1", "usr/lib/R/library/survival/doc/survival.pdf",
        "d8e4cac102d76e25b9e0e224eb262e7db542c351e0f81b9c1c3f3fcf0a81436c", 98,
        "package vignette with printed result tables (A package for survival analysis in R, T. Therneau)"),
]
# The third held-out split's documents (holdout3.json), likewise never in the dev/test library;
# `bench_quality.py --split holdout3 --final` imports only these. Three genres: a project history,
# a procedures handbook, and a statistics paper with result tables. r-cran-lme4 is an amd64
# package: its vignette PDF is the one built upstream (CRAN), pinned here from the amd64 .deb.
HOLDOUT3 = [
    Doc("debian-history", "debian-history", "2.28", "usr/share/doc/debian-history/docs/project-history.en.pdf",
        "d3d263affc69ec9c994fe1d06b3cf7dddb78f84e24849d87a4aefe3a4ed15e77", 27,
        "history of an organisation (A Brief History of Debian)"),
    Doc("developers-reference", "developers-reference", "12.18",
        "usr/share/developers-reference/developers-reference.pdf",
        "88e5ac4d15444fd3adb821dc863bd91b820e99a27e65728e74975ab1752652f5", 114,
        "procedures handbook (Debian Developer's Reference)"),
    Doc("lme4", "r-cran-lme4", "1.1-31-1", "usr/lib/R/site-library/lme4/doc/lmer.pdf",
        "d13d6caf549b44c3543d01a7445c327ac472d266a8aee24f68a8d31d45d02ec9", 51,
        "statistics paper with result tables (Fitting Linear Mixed-Effects Models using lme4, Bates et al.)"),
]
# The fourth held-out split's documents (holdout4.json), likewise never in the dev/test library;
# `bench_quality.py --split holdout4 --final` imports only these. Three genres: a book-length
# tutorial, a standard, and an econometrics paper with result tables and a simulation study.
# The first two come from one (large, ~180 MB) package, fetched once.
HOLDOUT4 = [
    Doc("lshort", "texlive-lang-english", "2022.20230122-1",
        "usr/share/doc/texlive-doc/latex/lshort-english/lshort.pdf",
        "ecef13f225de55549ee5214f70cca30998f3251dee65c6b00931aae18b7736c2", 153,
        "book-length tutorial (The Not So Short Introduction to LaTeX2e, T. Oetiker et al., version 6.4)"),
    Doc("tds", "texlive-lang-english", "2022.20230122-1", "usr/share/doc/texlive-doc/generic/tds/tds.pdf",
        "aecf6407f766d60e30d0519a33ccaea67bd0ba7f7c6e925a520748319bbb4666", 22,
        "standard (A Directory Structure for TeX Files, TDS version 1.1, TUG working group)"),
    Doc("sandwich-CL", "r-cran-sandwich", "3.0-2-1", "usr/lib/R/site-library/sandwich/doc/sandwich-CL.pdf",
        "f3a765482a629c8c9369020d13632ec5c37520df17e22266eb9e2928270e94bb", 36,
        "econometrics paper with result tables and a simulation study (Various Versatile Variances: "
        "clustered covariances in R, Zeileis, Koll and Graham)"),
]
# The fifth held-out split's documents (holdout5.json), likewise never in the dev/test library;
# `bench_quality.py --split holdout5 --final` imports only these. Three genres: a software user
# manual, a language specification, and a statistics paper with result tables. The GLPK and AMC
# documents ship uncompressed; r-cran-pscl is an amd64 package: its vignette PDF is the one built
# upstream (CRAN), pinned here from the amd64 .deb.
HOLDOUT5 = [
    Doc("amc", "auto-multiple-choice-doc-pdf", "1.6.0-1",
        "usr/share/doc/auto-multiple-choice/auto-multiple-choice.en.pdf",
        "dc69b1bcd7b2b601ae05d84cd52f155d12eb8d340407c7e2eb469ce4647ef0f8", 101,
        "software user manual (Auto Multiple Choice 1.6.0: design of MCQ tests with automated correction and grading)"),
    Doc("gmpl", "glpk-doc", "5.0-1", "usr/share/doc/glpk-doc/gmpl.pdf",
        "df54ba811d1fe3c041447b575997298d63b0a6366e39454ef2efc382f08203c2", 74,
        "language specification (Modeling Language GNU MathProg: Language Reference, GLPK 5.0)"),
    Doc("countreg", "r-cran-pscl", "1.5.5-1+b1", "usr/lib/R/site-library/pscl/doc/countreg.pdf",
        "8ff9cb8331837ff2d21c4a840efbe4e5bdc10a1008edc0c39b8ba47d145cea04", 25,
        "statistics paper with result tables (Regression Models for Count Data in R, Zeileis, Kleiber and Jackman)"),
]
# Each held-out split by name (its questions are quality/<name>.json).
HELD_OUT = {"holdout": HOLDOUT, "holdout2": HOLDOUT2, "holdout3": HOLDOUT3, "holdout4": HOLDOUT4, "holdout5": HOLDOUT5}
BY_KEY = {d.key: d for d in DOCS + [d for docs in HELD_OUT.values() for d in docs]}


class FetchError(RuntimeError):
    """The documents could not be fetched or do not match their pins: a failure."""


class NotDebian(FetchError):
    """No apt-get/dpkg here: the Debian registry is absent on this machine (a reason to skip)."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _ok(doc: Doc) -> bool:
    return doc.path.is_file() and sha256_file(doc.path) == doc.sha256


def _fetch_package(package: str, version: str, docs: list[Doc]) -> None:
    if not (shutil.which("apt-get") and shutil.which("dpkg")):
        raise NotDebian("apt-get and dpkg are not on PATH: the evaluation documents come from Debian packages")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lectern-eval-", dir=CACHE) as tmp:
        tmp = Path(tmp)
        # apt-get download writes into the current folder; its "unsandboxed as root" warning is harmless.
        p = subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=tmp,
                           capture_output=True, text=True)
        debs = list(tmp.glob("*.deb"))
        if p.returncode != 0 or not debs:
            raise FetchError(
                f"apt-get download {package}={version} failed (exit {p.returncode}): "
                f"{(p.stderr or p.stdout).strip()[-600:]}\nIs the Debian registry reachable (apt-get update), "
                f"and does it still carry version {version}?")
        out = tmp / "x"
        subprocess.run(["dpkg", "-x", str(debs[0]), str(out)], check=True)
        for d in docs:
            src = out / d.member
            if not src.is_file():
                raise FetchError(f"{package} {version} has no {d.member}")
            digest = sha256_file(src)
            if digest != d.sha256:
                raise FetchError(f"{d.member} from {package} {version}: SHA-256 {digest} != pinned {d.sha256}")
            shutil.copyfile(src, d.path)


def ensure(keys=None) -> list[Doc]:
    """The pinned documents, fetched if missing, every hash checked. Raises FetchError / NotDebian."""
    docs = [BY_KEY[k] for k in keys] if keys else list(DOCS)
    missing = [d for d in docs if not _ok(d)]
    by_pkg: dict[tuple[str, str], list[Doc]] = {}
    for d in missing:
        by_pkg.setdefault((d.package, d.version), []).append(d)
    for (pkg, ver), ds in by_pkg.items():
        _fetch_package(pkg, ver, ds)
    bad = [d.key for d in docs if not _ok(d)]
    if bad:
        raise FetchError(f"documents still missing or altered after fetching: {bad}")
    return docs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="print the pinned documents and exit")
    for name in HELD_OUT:
        ap.add_argument(f"--{name}", action="store_true", help=f"the documents of the held-out split {name} instead")
    args = ap.parse_args(argv)
    chosen = next((HELD_OUT[n] for n in reversed(list(HELD_OUT)) if getattr(args, n)), DOCS)
    if args.list:
        for d in chosen:
            print(f"{d.key:17s} {d.package} {d.version}  {d.pages:4d} pages  {d.kind}\n{'':17s} {d.member}  {d.sha256}")
        return 0
    try:
        docs = ensure([d.key for d in chosen])
    except FetchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for d in docs:
        print(f"ok {d.path} ({d.package} {d.version}, {d.pages} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

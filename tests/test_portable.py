"""The same install on other CPUs, emulated by qemu-user (Debian's qemu-user, installed
by `make`): the portable llama.cpp build picks the variant each CPU can run.

qemu-user does not follow exec, so the model host, a child process, is started through a
small script that runs Python under the same emulated CPU (LECTERN_HOST_PYTHON)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from app.ingest import import_paths
from app.paths import sample_pdf

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("qemu-x86_64") is None, reason="qemu-user is not installed (make installs it)"),
              pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86 CPU models")]


def _emulated(tmp_path, cpu: str) -> tuple[list[str], dict]:
    wrapper = tmp_path / f"python-{cpu}"
    wrapper.write_text(f'#!/bin/sh\nexec qemu-x86_64 -cpu {cpu} "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    # OpenBLAS (inside NumPy, which llama-cpp-python imports) picks its kernels from CPUID,
    # and under qemu-user on an AMD host it reads "Haswell" for an emulated Nehalem, then
    # executes AVX2 (SIGILL); a real Nehalem reports itself. Name the emulated core, as
    # OpenBLAS documents for a CPU it cannot detect, so the emulation is faithful.
    env = dict(os.environ, LECTERN_HOST_PYTHON=str(wrapper), OPENBLAS_CORETYPE=cpu)
    return ["qemu-x86_64", "-cpu", cpu, sys.executable, "-m", "app"], env


def test_the_sample_question_is_answered_right_on_a_cpu_without_avx(tmp_path):
    """Nehalem: SSE4.2, no AVX. The whole CLI and the model host run emulated."""
    assert list(import_paths([sample_pdf()], workers=0))[-1].kind == "done"
    cmd, env = _emulated(tmp_path, "Nehalem")
    out = subprocess.run(cmd + ["ask", "How old must the President be?", "--json", "--max-calls", "6"],
                         env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    run = json.loads(out.stdout)
    assert run["status"] == "done" and "thirty five" in run["answer"].lower(), run["answer"]
    assert run["citations"][0]["page"] == 7
    from app.llm import hosted

    checks = list(json.loads((hosted._state_path()).read_text()).values())[0]["checks"]
    assert [c["variant"] for c in checks.values()] == ["sse42"]


def test_doctor_self_checks_the_haswell_variant_on_an_avx2_cpu(tmp_path):
    """Haswell: AVX2, no AVX-512. Emulated AVX2 is slow, so this is only the self-check."""
    cmd, env = _emulated(tmp_path, "Haswell")
    out = subprocess.run(cmd + ["doctor", "--json"], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:] + out.stdout[-2000:]
    r = json.loads(out.stdout)
    assert r["ok"] and r["chosen_variant"] == "haswell"
    assert r["selfcheck"]["tokens_per_s"] > 0 and "Paris" in r["selfcheck"]["text"]
    scores = {v["name"]: v["score"] for v in r["variants"]}
    assert scores["haswell"] > 0 and scores.get("skylakex", 0) == 0  # no AVX-512 on this CPU

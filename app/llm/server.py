"""`python -m app.llm.server ARGS`: llama-cpp-python's OpenAI-compatible server with the
CPU variant this machine should run (backends.py) loaded first.

The portable llama.cpp build has no CPU backend linked in, and `python -m llama_cpp.server`
alone fails with "no backends are loaded". Arguments are llama_cpp.server's own."""

from __future__ import annotations

import runpy

from app.llm import backends, hosted, llamalog

if __name__ == "__main__":
    llamalog.install()
    backends.ensure_loaded(skip=hosted.read_state()["bad"])
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)

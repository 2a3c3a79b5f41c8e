"""The bundled app's entry script: the same `lectern` command as app.cli:main."""

import multiprocessing
import os
import sys


def _commands() -> set[str]:
    import argparse

    from app.cli import build_parser

    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def route_documents(argv: list[str]) -> list[str]:
    """`lectern FILE...` means `lectern gui FILE...`.

    Finder (through argv emulation) and some file managers hand a document over as
    the only argument, with no sub-command."""
    if argv and not argv[0].startswith("-") and os.path.exists(argv[0]) and argv[0] not in _commands():
        return ["gui", *argv]
    return argv


def run_as_python(argv: list[str]) -> bool:
    """`lectern -I -S SCRIPT`: run SCRIPT the way `python -I -S SCRIPT` would.

    The REPL sandbox (app/rlm/sandbox.py) starts its child as sys.executable with
    those flags, inside bubblewrap with only this bundle's folder bound read-only; in
    the bundle sys.executable is this program, not a Python, so it plays one for that
    single form. The confinement is bubblewrap's, around this program, and the child
    script sets its own resource limits first thing, as under a real interpreter."""
    if len(argv) < 3 or argv[:2] != ["-I", "-S"] or not argv[2].endswith(".py"):
        return False
    import runpy

    sys.argv = argv[2:]
    runpy.run_path(argv[2], run_name="__main__")
    return True


if __name__ == "__main__":
    if run_as_python(sys.argv[1:]):
        sys.exit(0)
    # Worker processes (PDF extraction) start from this same executable in the bundle;
    # freeze_support lets such a child run its task instead of the CLI.
    multiprocessing.freeze_support()
    from app.cli import main

    sys.exit(main(route_documents(sys.argv[1:])))

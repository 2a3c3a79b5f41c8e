"""The `lectern` entry point: no arguments opens the window, a sub-command works headless.

Each sub-command lives in its own module with a `register(subparsers)` function that
adds its parser and sets `func`; this file only wires them together. Keep it thin:
parse arguments, call the engine, print.
"""

from __future__ import annotations

import argparse
import sys

from app.meta import APP_NAME, VERSION

# Modules that contribute sub-commands, in the order `--help` lists them.
_COMMAND_MODULES = ("library", "maintenance", "models", "ask", "doctor", "gui")


class CliError(Exception):
    """A user-facing failure: printed without a traceback, exit code 1 (or .code)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="lectern",
        description=f"{APP_NAME}: ask questions over your own documents, offline. "
        "With no command, opens the desktop window.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"app.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        # No sub-command: the desktop window, the way a double-click starts it.
        from app.cli.gui import open_window

        return open_window([])
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"lectern: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("lectern: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        from app.store.health import LibraryDamaged

        if not isinstance(e, LibraryDamaged):
            raise
        print(f"lectern: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `lectern docs | head`: the reader left; stop quietly like other Unix tools.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # python -m app.cli
    sys.exit(main())

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
_COMMAND_MODULES = ("library", "maintenance", "models", "ask", "config", "doctor", "gui")


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

        try:
            _ask_passphrase(args)  # LECTERN_PASSPHRASE, if set; else the window asks
        except CliError as e:
            print(f"lectern: {e}", file=sys.stderr)
            return e.code
        return open_window([])
    try:
        _ask_passphrase(args)
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"lectern: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("lectern: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `lectern docs | head`: the reader left; stop quietly like other Unix tools.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as e:
        from app.store.crypto import PassphraseError
        from app.store.health import LibraryDamaged

        if not isinstance(e, (LibraryDamaged, PassphraseError)):
            raise
        print(f"lectern: {e}", file=sys.stderr)
        return 1


# Commands that open the library; an encrypted one needs its passphrase first.
_LIBRARY_COMMANDS = {None, "import", "docs", "search", "remove", "ask", "runs", "library", "gui", "title"}


def _ask_passphrase(args) -> None:
    """An encrypted library's passphrase, asked once at start (LECTERN_PASSPHRASE, else
    the terminal). It stays in this process's memory only."""
    import os

    from app.paths import db_path
    from app.store import crypto

    if args.command not in _LIBRARY_COMMANDS or crypto.passphrase() or not crypto.is_encrypted(db_path()):
        return
    phrase = os.environ.get("LECTERN_PASSPHRASE")
    if not phrase and args.command in (None, "gui"):
        return  # the window asks in its own dialog (a double-click has no terminal)
    if not phrase and sys.stdin.isatty():
        import getpass

        phrase = getpass.getpass("Passphrase for the Lectern library: ")
    if not phrase:
        raise CliError("the library is encrypted: give its passphrase (at the prompt, or in LECTERN_PASSPHRASE)")
    crypto.set_passphrase(phrase)


if __name__ == "__main__":  # python -m app.cli
    sys.exit(main())

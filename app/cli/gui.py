"""`lectern gui`: the desktop window, also scriptable for demos, tests and screenshots.

Qt is imported only inside the functions: the rest of the CLI runs without it.
"""

from __future__ import annotations

import os


def register(sub) -> None:
    p = sub.add_parser(
        "gui",
        help="open the desktop window (optionally import, ask, screenshot and quit)",
        description="Open the Lectern window. With FILES, import them and make them the question's "
        "scope; with --ask, ask once they are imported; with --screenshot, save an image of the "
        "whole window when the answer is in; with --quit, close afterwards. Works under "
        "QT_QPA_PLATFORM=offscreen and Xvfb.",
    )
    p.add_argument("files", nargs="*", metavar="FILES", help="documents or folders to import")
    p.add_argument("--ask", metavar="QUESTION", help="ask this question once the files are imported")
    p.add_argument("--mode", choices=["guided", "repl", "direct", "rag"], help="how to answer (default: the last used)")
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the whole window when done")
    p.add_argument("--size", metavar="WxH", help="window size for the screenshot, e.g. 1440x900")
    p.add_argument("--quit", action="store_true", help="close the window when done")
    p.set_defaults(func=_handler)


def _handler(args) -> int:
    from app.cli import CliError

    size = None
    if args.size:
        try:
            w, h = (int(x) for x in args.size.lower().split("x"))
            if not (1 <= w <= 16384 and 1 <= h <= 16384):  # larger than any screen; far larger overflows Qt
                raise ValueError
            size = (w, h)
        except ValueError:
            raise CliError(f"--size must look like 1440x900 (1 to 16384 each), not {args.size!r}") from None
    missing = [f for f in args.files if not os.path.exists(f)]
    if missing:
        raise CliError("not found: " + ", ".join(missing))
    return _run(args.files, ask=args.ask, mode=args.mode, screenshot=args.screenshot, quit_after=args.quit, size=size)


def _run(files, **kw) -> int:
    from app.cli import CliError

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")) \
            and os.name == "posix" and not _is_macos():
        raise CliError("no display found: run under a desktop session, xvfb-run, or set QT_QPA_PLATFORM=offscreen")
    try:
        from app.ui.app import run_gui
    except ImportError as e:
        raise CliError(f"the desktop window needs PySide6: {e}") from None
    return run_gui(files, **kw)


def _is_macos() -> bool:
    import sys

    return sys.platform == "darwin"


def open_window(files) -> int:
    """`lectern` with no arguments: the window, the way a double-click starts it."""
    from app.cli import CliError

    try:
        return _run(list(files or []))
    except CliError as e:
        import sys

        print(f"lectern: {e}", file=sys.stderr)
        return e.code
